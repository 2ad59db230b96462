# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: command_line
short_description: The ansible-playbook command line this run was started with
version_added: 0.2.0
author: webops.encryption contributors (@webops)
description:
  - Returns the command the operator ran, rebuilt from the controller's parsed command line - the playbooks as they
    were named (a path or a collection name), inventory sources, vault options, extra vars, C(--limit), tags, check
    and diff mode, and the connection and privilege options - so a failure message can print the command that
    resumes the job.
  - Shows only options the operator typed - an option whose value is the configured default (C(--become-method sudo))
    is left out, as it changes nothing.
  - Shows an extra var (C(-e)) only when it is a file reference (C(@file)) or sets nothing but the variables known to
    hold no secret (C(env), C(reason), C(rotate_secret_key), C(webops_widen_columns), C(confirm_data_loss) and a few
    more switches). Any other extra var may hold a secret - a password, a key, a URL with credentials - whatever
    its name, so the command is not printed at all - an empty string is returned and the caller says "run the same
    command again with the same extra variables".
  - Returns an empty string too when the command cannot be known for sure (not run by C(ansible-playbook)).
  - Takes no terms.
options:
  playbook:
    description:
      - The name of another playbook of this collection (for example V(rotate_secret_key)) to put in place of the one
        that ran, in the same form the operator used - a path keeps its directory, a collection name its namespace -
        for a message that names the command finishing one part of the job.
    type: str
  add_vars:
    description:
      - Variables to add at the end as C(-e name=value), for a message that recommends them (for example
        C(webops_widen_columns) set to V(true)). Only variables known to hold no secret are accepted.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Tell the operator how to resume
  ansible.builtin.debug:
    msg: "Resume with: {{ lookup('webops.encryption.command_line') or 'the same command as before' }}"

- name: Name the playbook that finishes the SECRET_KEY part
  ansible.builtin.debug:
    msg: "Finish with: {{ lookup('webops.encryption.command_line', playbook='rotate_secret_key') or 'the same command' }}"
"""

RETURN = r"""
_raw:
  description: A list with one string, the shell-quoted command line, or an empty string.
  type: list
  elements: str
"""

import os
import shlex

import yaml

from ansible import constants as C
from ansible import context
from ansible.errors import AnsibleLookupError
from ansible.parsing.splitter import parse_kv
from ansible.plugins.lookup import LookupBase

# Extra vars shown in the command: none of them ever holds a secret. Any other -e hides the command.
SAFE_VARIABLES = frozenset((
    "env", "reason", "rotate_secret_key", "confirm_data_loss", "fail_on_overdue",
    "webops_widen_columns", "webops_keep_env_backups", "webops_rotation_strategy", "webops_manage_services",
    "webops_encrypt_existing", "webops_rotation_encrypt_plaintext", "webops_verify_custody",
    "webops_custody_unreadable_vault", "webops_progress_interval", "webops_audit_controller_log", "webops_audit_host_log",
))

# (CLIARGS name, flag): options repeated once per value, in the order given.
_REPEATED = (("inventory", "-i"), ("vault_ids", "--vault-id"), ("vault_password_files", "--vault-password-file"))
# (CLIARGS name, flag): switches.
_SWITCHES = (("ask_vault_pass", "--ask-vault-pass"), ("check", "--check"), ("diff", "--diff"), ("become", "--become"),
             ("become_ask_pass", "--ask-become-pass"), ("ask_pass", "--ask-pass"))
# (CLIARGS name, flag): options with one value.
_VALUED = (("subset", "--limit"), ("remote_user", "--user"), ("private_key_file", "--private-key"),
           ("become_user", "--become-user"), ("become_method", "--become-method"))


def _safe_scalar(value):
    return value is None or isinstance(value, (bool, int, float)) or (isinstance(value, str) and "\n" not in value)


def shown_extra_var(extra_var):
    """``extra_var`` as given when it is a file reference or sets only SAFE_VARIABLES to plain values, else None."""
    text = extra_var.strip()
    if text.startswith("@"):
        return extra_var  # a file name
    if not text:
        return None
    if text[0] in "{[":
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            return None
    else:
        try:
            data = parse_kv(text)
        except Exception:  # pylint: disable=broad-except
            return None
    if not isinstance(data, dict) or not data:
        return None
    if all(name in SAFE_VARIABLES and _safe_scalar(value) for name, value in data.items()):
        return extra_var
    return None


def _typed(cliargs, name, defaults):
    """The value of option ``name`` when it differs from the configured default (so the operator typed it)."""
    value = cliargs.get(name)
    if name in defaults and value == defaults[name]:
        return None
    return value


def _swap_playbook(named, playbook):
    """``playbook`` in the form ``named`` was given in: a path, a collection name or a bare name."""
    if named.endswith((".yml", ".yaml")) or "/" in named:
        return os.path.join(os.path.dirname(named), playbook + ".yml")
    if named.count(".") >= 2:
        return named.rsplit(".", 1)[0] + "." + playbook
    return playbook


def command_line(cliargs, program="ansible-playbook", playbook=None, defaults=None, add_vars=None):
    """The command line for a parsed ``cliargs`` mapping, or '' when it cannot be printed safely.
    ``playbook``: a playbook name put in place of the one that ran (see _swap_playbook()).
    ``defaults``: the configured defaults of the options (an option at its default is left out).
    ``add_vars``: SAFE_VARIABLES to add as -e name=value."""
    defaults = defaults or {}
    playbooks = list(cliargs.get("args") or ())
    if not playbooks:
        return ""
    if playbook:
        playbooks = [_swap_playbook(named, playbook) for named in playbooks]
    argv = [program] + playbooks
    for name, flag in _REPEATED:
        values = list(cliargs.get(name) or ())
        if name in defaults and values == list(defaults[name] or ()):
            continue
        for value in values:
            argv += [flag, value]
    for value in cliargs.get("extra_vars") or ():
        if shown_extra_var(value) is None:
            return ""
        argv += ["-e", value]
    for name, value in sorted((add_vars or {}).items()):
        if name not in SAFE_VARIABLES or not _safe_scalar(value):
            raise ValueError("%s is not a variable the command line may show" % name)
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        argv += ["-e", "%s=%s" % (name, text)]
    for name, flag in _VALUED:
        value = _typed(cliargs, name, defaults)
        if value:
            argv += [flag, str(value)]
    for name, tags in (("tags", "--tags"), ("skip_tags", "--skip-tags")):
        values = [t for t in cliargs.get(name) or () if t]
        if values and values != ["all"]:
            argv += [tags, ",".join(values)]
    for name, flag in _SWITCHES:
        if _typed(cliargs, name, defaults):
            argv.append(flag)
    return " ".join(shlex.quote(part) for part in argv)


def configured_defaults():
    """What each option is when the operator does not type it (ansible-playbook's parser defaults)."""
    return dict(
        inventory=list(C.DEFAULT_HOST_LIST or ()), subset=C.DEFAULT_SUBSET, remote_user=C.DEFAULT_REMOTE_USER,
        private_key_file=C.DEFAULT_PRIVATE_KEY_FILE, become_user=None, become_method=C.DEFAULT_BECOME_METHOD,
        become=C.DEFAULT_BECOME, become_ask_pass=C.DEFAULT_BECOME_ASK_PASS, ask_pass=C.DEFAULT_ASK_PASS,
        ask_vault_pass=C.DEFAULT_ASK_VAULT_PASS,
    )


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if terms:
            raise AnsibleLookupError("command_line takes no terms")
        cliargs = dict(context.CLIARGS)
        # Only ansible-playbook parses playbooks into 'args'; the ad-hoc and API callers have none.
        if "args" not in cliargs or "inventory" not in cliargs:
            return [""]
        try:
            return [command_line(cliargs, playbook=self.get_option("playbook"), defaults=configured_defaults(),
                                 add_vars=self.get_option("add_vars"))]
        except ValueError as exc:
            raise AnsibleLookupError(str(exc))
