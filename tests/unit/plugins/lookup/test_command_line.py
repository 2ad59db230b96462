# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The resume command: rebuilt from the parsed command line, never with a secret in it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import shlex

import pytest

from ansible_collections.webops.encryption.plugins.lookup.command_line import command_line


def test_the_operators_own_command_comes_back_with_every_option_as_given():
    cliargs = {
        "args": ("webops.encryption.rotate_keys",), "inventory": ("/srv/ops/hosts.yml", "/srv/ops/extra.yml"),
        "vault_ids": ("prod@prompt",), "vault_password_files": ("/srv/ops/pass file",), "ask_vault_pass": False,
        "extra_vars": ("env=prod", '{"reason": "compromise"}', "@/srv/ops/vars.yml"), "subset": None,
        "check": False, "diff": True, "tags": ("all",), "skip_tags": (), "become": True, "remote_user": "deploy",
    }
    argv = shlex.split(command_line(cliargs))
    assert argv == ["ansible-playbook", "webops.encryption.rotate_keys", "-i", "/srv/ops/hosts.yml", "-i",
                    "/srv/ops/extra.yml", "--vault-id", "prod@prompt", "--vault-password-file", "/srv/ops/pass file",
                    "-e", "env=prod", "-e", '{"reason": "compromise"}', "-e", "@/srv/ops/vars.yml",
                    "--user", "deploy", "--diff", "--become"]


def test_a_path_playbook_ask_vault_pass_and_check_mode_are_kept():
    argv = shlex.split(command_line({"args": ("playbooks/rotate_keys.yml",), "inventory": ("inv",), "ask_vault_pass": True,
                                     "check": True, "extra_vars": ("env=dev",), "tags": ("db",)}))
    assert argv == ["ansible-playbook", "playbooks/rotate_keys.yml", "-i", "inv", "-e", "env=dev", "--tags", "db",
                    "--ask-vault-pass", "--check"]


def test_nothing_is_printed_when_an_extra_var_may_hold_a_secret_or_no_playbook_is_known():
    for secret in ("webops_database_url=postgresql://u:p@h/db", "webops_encryption_key=abc",
                   '{"db_password": "x"}', "api_token: x"):
        assert command_line({"args": ("p.yml",), "inventory": ("i",), "extra_vars": ("env=prod", secret)}) == ""
    assert command_line({"args": (), "inventory": ("i",)}) == ""
    # Names that merely contain the words are fine.
    assert command_line({"args": ("p.yml",), "extra_vars": ("webops_keep_env_backups=true",)}) != ""


def test_another_playbook_is_named_in_the_form_the_operator_used():
    for named, expected in (("webops.encryption.rotate_keys", "webops.encryption.rotate_secret_key"),
                            ("playbooks/rotate_keys.yml", "playbooks/rotate_secret_key.yml"),
                            ("/opt/c/rotate_keys.yaml", "/opt/c/rotate_secret_key.yml"),
                            ("rotate_keys.yml", "rotate_secret_key.yml")):
        argv = shlex.split(command_line({"args": (named,), "inventory": ("inv",), "extra_vars": ("env=prod",)},
                                        playbook="rotate_secret_key"))
        assert argv == ["ansible-playbook", expected, "-i", "inv", "-e", "env=prod"]


SECRET_EXTRA_VARS = (
    "ansible_become_pass=hunter2-become", "ansible_become_password=hunter2-become", "ansible_ssh_pass=hunter2-ssh",
    "ansible_password=hunter2-conn", '{"webops_encryption_key_next": "k"}', "webops_secret_key_next=s3cret",
    "webops_database_url=postgresql://u:p@h/db", "webops_custody_key=k", "some_future_variable=anything",
    # An allow-listed name with a structured value (may nest anything) is hidden too.
    '{"env": {"password": "x"}}', "env=prod webops_secret_key=s3cret",
)


def test_only_allow_listed_variables_and_files_are_shown_anything_else_hides_the_command():
    for secret in SECRET_EXTRA_VARS:
        assert command_line({"args": ("p.yml",), "inventory": ("i",), "extra_vars": ("env=prod", secret)}) == "", secret
    argv = shlex.split(command_line({"args": ("p.yml",), "inventory": ("i",),
                                     "extra_vars": ("env=prod reason=compromise", "@vars.yml",
                                                    '{"rotate_secret_key": true, "webops_widen_columns": true}')}))
    assert argv[-6:] == ["-e", "env=prod reason=compromise", "-e", "@vars.yml",
                         "-e", '{"rotate_secret_key": true, "webops_widen_columns": true}']


def test_options_at_their_configured_default_are_not_shown():
    defaults = {"become_method": "sudo", "become": False, "remote_user": None, "inventory": ["/etc/ansible/hosts"]}
    cliargs = {"args": ("p.yml",), "inventory": ["/etc/ansible/hosts"], "become_method": "sudo", "become": False,
               "extra_vars": ("env=dev",)}
    assert shlex.split(command_line(cliargs, defaults=defaults)) == ["ansible-playbook", "p.yml", "-e", "env=dev"]
    cliargs.update(become_method="su", become=True, inventory=["inv"])
    assert shlex.split(command_line(cliargs, defaults=defaults)) == [
        "ansible-playbook", "p.yml", "-i", "inv", "-e", "env=dev", "--become-method", "su", "--become"]


def test_a_recommended_variable_is_added_to_the_command():
    argv = shlex.split(command_line({"args": ("p.yml",), "inventory": ("i",), "extra_vars": ("env=dev",)},
                                    add_vars={"webops_widen_columns": True}))
    assert argv == ["ansible-playbook", "p.yml", "-i", "i", "-e", "env=dev", "-e", "webops_widen_columns=true"]
    with pytest.raises(ValueError):
        command_line({"args": ("p.yml",), "inventory": ("i",)}, add_vars={"webops_encryption_key": "k"})
