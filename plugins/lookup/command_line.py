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
  - Returns an empty string when the command cannot be known for sure (not run by C(ansible-playbook)) or when an
    extra var looks like it holds a secret (a name ending in C(key), C(password), C(secret), C(token) or C(url)); the
    caller then says "run the same command again" instead of printing a wrong or leaking command.
  - Takes no terms.
options:
  playbook:
    description:
      - The name of another playbook of this collection (for example V(rotate_secret_key)) to put in place of the one
        that ran, in the same form the operator used - a path keeps its directory, a collection name its namespace -
        for a message that names the command finishing one part of the job.
    type: str
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
import re
import shlex

from ansible import context
from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

# Extra vars named like this may carry a secret: a command line holding one is never printed.
_SECRET_NAME = re.compile(r"(?i)(^|_)(key|keys|password|passwd|passphrase|secret|token|url)$")
_VAR_NAME = re.compile(r"""["']?([A-Za-z_][A-Za-z0-9_]*)["']?\s*[:=]""")

# (CLIARGS name, flag): options repeated once per value, in the order given.
_REPEATED = (("inventory", "-i"), ("vault_ids", "--vault-id"), ("vault_password_files", "--vault-password-file"),
             ("extra_vars", "-e"))
# (CLIARGS name, flag): switches.
_SWITCHES = (("ask_vault_pass", "--ask-vault-pass"), ("check", "--check"), ("diff", "--diff"), ("become", "--become"),
             ("ask_become_pass", "--ask-become-pass"), ("ask_pass", "--ask-pass"))
# (CLIARGS name, flag): options with one value.
_VALUED = (("subset", "--limit"), ("remote_user", "--user"), ("private_key_file", "--private-key"),
           ("become_user", "--become-user"), ("become_method", "--become-method"))


def _may_hold_secret(extra_var):
    if extra_var.startswith("@"):
        return False  # a file name
    return any(_SECRET_NAME.search(name) for name in _VAR_NAME.findall(extra_var))


def _swap_playbook(named, playbook):
    """``playbook`` in the form ``named`` was given in: a path, a collection name or a bare name."""
    if named.endswith((".yml", ".yaml")) or "/" in named:
        return os.path.join(os.path.dirname(named), playbook + ".yml")
    if named.count(".") >= 2:
        return named.rsplit(".", 1)[0] + "." + playbook
    return playbook


def command_line(cliargs, program="ansible-playbook", playbook=None):
    """The command line for a parsed ``cliargs`` mapping, or '' when it cannot be printed safely.
    ``playbook``: a playbook name put in place of the one that ran (see _swap_playbook())."""
    playbooks = list(cliargs.get("args") or ())
    if not playbooks:
        return ""
    if playbook:
        playbooks = [_swap_playbook(named, playbook) for named in playbooks]
    argv = [program] + playbooks
    for name, flag in _REPEATED:
        for value in cliargs.get(name) or ():
            if name == "extra_vars" and _may_hold_secret(value):
                return ""
            argv += [flag, value]
    for name, flag in _VALUED:
        value = cliargs.get(name)
        if value:
            argv += [flag, str(value)]
    for name, tags in (("tags", "--tags"), ("skip_tags", "--skip-tags")):
        values = [t for t in cliargs.get(name) or () if t]
        if values and values != ["all"]:
            argv += [tags, ",".join(values)]
    for name, flag in _SWITCHES:
        if cliargs.get(name):
            argv.append(flag)
    return " ".join(shlex.quote(part) for part in argv)


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if terms:
            raise AnsibleLookupError("command_line takes no terms")
        cliargs = dict(context.CLIARGS)
        # Only ansible-playbook parses playbooks into 'args'; the ad-hoc and API callers have none.
        playbook = self.get_option("playbook")
        return [command_line(cliargs, playbook=playbook) if "args" in cliargs and "inventory" in cliargs else ""]
