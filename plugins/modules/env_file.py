#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: env_file
short_description: Set and remove several variables of a .env file in one atomic write
version_added: 0.1.0
description:
  - Sets and removes variables of the application's C(.env) in a single atomic write, so readers see either the
    old file or the new one. A key rotation needs this, as C(ENCRYPTION_KEY) and C(OLD_ENCRYPTION_KEY) change together.
  - Every other line (comments, blank lines, quoting, CRLF line endings, a missing final newline) is kept byte for byte.
  - Values are written so that python-decouple and systemd C(EnvironmentFile=) read the same string; a value that
    cannot be written that way is refused.
  - Values never appear in results or diffs. The diff lists names; a Fernet key shows as its fingerprint.
author:
  - webops.encryption contributors (@webops)
options:
  set:
    description:
      - Variables to set, as a mapping of name to value. Values are written as text (numbers and booleans as
        Python prints them).
      - The whole option is C(no_log).
    type: dict
    default: {}
  remove:
    description:
      - Names of variables to remove. A name that is not there is not an error.
    type: list
    elements: str
    default: []
  key_names:
    description:
      - Variables whose new value must be a valid Fernet key. A value given in O(set) for one of them that the
        application would refuse fails the task before anything is written.
    type: list
    elements: str
    default: [ENCRYPTION_KEY, OLD_ENCRYPTION_KEY]
extends_documentation_fragment:
  # Ours first: the first fragment to define an option or attribute wins (mode defaults to 0600 here).
  - webops.encryption.keys
  - webops.encryption.keys.attributes
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
  - ansible.builtin.files
seealso:
  - module: webops.encryption.fernet_key
  - module: webops.encryption.fernet_key_info
"""

EXAMPLES = r"""
- name: Switch to the new key and keep the previous one for the rotation, in one write
  webops.encryption.env_file:
    path: /opt/webops/.env
    set:
      ENCRYPTION_KEY: "{{ webops_encryption_key_next }}"
      OLD_ENCRYPTION_KEY: "{{ webops_encryption_key }}"
    backup: true
    owner: webops
    group: webops

- name: Drop the previous key once the audit shows no row uses it
  webops.encryption.env_file:
    path: /opt/webops/.env
    remove:
      - OLD_ENCRYPTION_KEY
"""

RETURN = r"""
changed_names:
  description: Variables whose value was (or, in check mode, would be) set or added, sorted.
  returned: success
  type: list
  elements: str
  sample: [ENCRYPTION_KEY, OLD_ENCRYPTION_KEY]
removed_names:
  description: Variables that were (or would be) removed, sorted.
  returned: success
  type: list
  elements: str
  sample: [OLD_ENCRYPTION_KEY]
path:
  description:
    - The file written (the target when O(path) is a symlink). Ansible adds its C(mode), C(owner), C(group),
      C(size) and C(state) next to it.
  returned: success
  type: str
  sample: /opt/webops/.env
backup_file:
  description: Name of the backup file made before the change.
  returned: changed and O(backup=true)
  type: str
  sample: /opt/webops/.env.4242.2026-11-29@21:15:03~
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.webops.encryption.plugins.module_utils._dotenv import DotEnvError, format_value, valid_name
from ansible_collections.webops.encryption.plugins.module_utils.fernet import InvalidKeyError, MissingKeyError, parse_key
from ansible_collections.webops.encryption.plugins.module_utils._keyfile import FILE_ARGUMENT_SPEC, EnvFile


def main():
    argument_spec = dict(
        path=dict(type="path", required=True),
        set=dict(type="dict", default={}, no_log=True),
        remove=dict(type="list", elements="str", default=[]),
        key_names=dict(type="list", elements="str", default=["ENCRYPTION_KEY", "OLD_ENCRYPTION_KEY"], no_log=False),
        backup=dict(type="bool", default=False),
        create=dict(type="bool", default=True),
    )
    argument_spec.update(FILE_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, add_file_common_args=True, supports_check_mode=True)
    params = module.params

    wanted = _validated_values(module, params["set"], params["remove"], params["key_names"])
    env_file = EnvFile(module, params["path"], params["create"])
    result = dict(changed=False, path=env_file.target, changed_names=[], removed_names=[])
    if not env_file.existed and params["create"] and not wanted:
        # Only removals asked for, and there is no file: nothing to do.
        module.exit_json(**result)

    env = env_file.load()
    for name in sorted(wanted):
        if env.set(name, wanted[name]):
            result["changed_names"].append(name)
    for name in sorted(set(params["remove"])):
        if env.remove(name):
            result["removed_names"].append(name)

    changed, backup_file, attribute_diff = env_file.commit(backup=params["backup"])
    result["changed"] = changed
    if backup_file:
        result["backup_file"] = backup_file
    if module._diff:
        result["diff"] = env_file.diff(attribute_diff)
    module.exit_json(**result)


def _validated_values(module, values, remove, key_names):
    """Check every name and value before the file is even read, and return {name: text}."""
    bad_names = sorted(str(n) for n in list(values) + list(remove) if not valid_name(str(n)))
    if bad_names:
        module.fail_json(msg="not valid variable names (letters, digits and _, not starting with a digit): %s"
                             % ", ".join(bad_names))
    both = sorted(set(values) & set(remove))
    if both:
        module.fail_json(msg="variables both set and removed: %s; choose one" % ", ".join(both))
    wanted = {}
    for name, value in values.items():
        if value is None:
            module.fail_json(msg="set.%s has no value; use remove to delete a variable, or give an empty string" % name)
        if isinstance(value, bool):
            text = "True" if value else "False"
        elif isinstance(value, (str, int, float)):
            text = str(value)
        else:
            module.fail_json(msg="set.%s must be text, a number or a boolean, not a %s" % (name, type(value).__name__))
        try:
            format_value(text)
        except DotEnvError as exc:
            module.fail_json(msg="set.%s: %s" % (name, exc))
        if name in key_names:
            try:
                parse_key(text, name)
            except (MissingKeyError, InvalidKeyError) as exc:
                module.fail_json(msg="set.%s: %s. Nothing was changed." % (name, exc))
        wanted[name] = text
    return wanted


if __name__ == "__main__":
    main()
