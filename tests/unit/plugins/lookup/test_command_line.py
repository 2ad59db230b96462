# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The resume command: rebuilt from the parsed command line, never with a secret in it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import shlex

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
