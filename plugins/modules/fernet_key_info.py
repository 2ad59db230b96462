#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: fernet_key_info
short_description: Tell whether a Fernet key is valid, and its fingerprint
version_added: 0.1.0
description:
  - Checks a key the same way the WebOps control panel does when it builds C(Fernet(ENCRYPTION_KEY)), and reports
    whether it is configured and valid, its fingerprint and its base64 alphabet. The key is never returned.
  - The key is given inline with O(key), or read from a variable of a C(.env) file with O(path) and O(name).
  - Never changes anything.
author:
  - webops.encryption contributors (@webops)
options:
  key:
    description:
      - The key to check. Mutually exclusive with O(path).
    type: str
  path:
    description:
      - A C(.env) file to read the key from (symlinks are followed). Mutually exclusive with O(key).
      - A missing file means the key is not configured. A file that cannot be read safely (a variable defined
        twice, C(export ) lines, not UTF-8, not a regular file, unreadable) is an error.
    type: path
  name:
    description:
      - The variable of O(path) that holds the key; also the name used in messages.
    type: str
    default: ENCRYPTION_KEY
  fail_on_invalid:
    description:
      - "Fail when the key is missing or invalid, with the message WebOps operators know
        (C(ENCRYPTION_KEY not configured) or C(Invalid ENCRYPTION_KEY: must be 32 url-safe base64-encoded bytes),
        followed by the reason and the remedy)."
      - With V(false), the result describes the problem and the task succeeds.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  check_mode:
    support: full
    details:
      - The module never changes anything, so it runs the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
  action_group:
    support: full
    membership:
      - webops.encryption.keys
seealso:
  - module: webops.encryption.fernet_key
  - plugin: webops.encryption.fernet_key_info
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Stop here unless the host's .env holds a key the application accepts
  webops.encryption.fernet_key_info:
    path: /opt/webops/.env
    fail_on_invalid: true
  register: webops_key_state

- name: Make sure the host holds the environment's key
  ansible.builtin.assert:
    that:
      - webops_key_state.fingerprint == (webops_encryption_key | webops.encryption.fernet_fingerprint)
    fail_msg: "The host holds {{ webops_key_state.fingerprint }}, not the vault's key"

- name: Check a key before distributing it
  webops.encryption.fernet_key_info:
    key: "{{ webops_encryption_key }}"
    fail_on_invalid: true
"""

RETURN = r"""
valid:
  description: Whether the key is a valid Fernet key.
  returned: success
  type: bool
  sample: true
configured:
  description: Whether a non-empty value was found (a present but invalid value is configured and not valid).
  returned: success
  type: bool
  sample: true
fingerprint:
  description: C(sha256:) and 16 hex digits of the SHA-256 of the key bytes; V(null) unless the key is valid.
  returned: success
  type: str
  sample: sha256:5f2b9c0e1d7a4b3c
encoding:
  description: V(urlsafe) or V(standard) (the alphabet of the key text); V(null) unless the key is valid.
  returned: success
  type: str
  sample: urlsafe
error:
  description: Why the key is not usable, in the words WebOps operators know; V(null) when it is valid.
  returned: success
  type: str
  sample: "Invalid ENCRYPTION_KEY: must be 32 url-safe base64-encoded bytes (decodes to 31 bytes, not 32)"
name:
  description: The variable name checked (O(name)).
  returned: success
  type: str
  sample: ENCRYPTION_KEY
path:
  description: The file read (the target when O(path) is a symlink); V(null) when O(key) was given.
  returned: success
  type: str
  sample: /opt/webops/.env
exists:
  description: Whether O(path) exists; V(null) when O(key) was given.
  returned: success
  type: bool
  sample: true
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.webops.encryption.plugins.module_utils._dotenv import DotEnvError, read_env_file, resolve
from ansible_collections.webops.encryption.plugins.module_utils.fernet import key_info

REMEDY = ("Generate a key with the webops.encryption.fernet_generate lookup (or Fernet.generate_key()) and write it "
          "with webops.encryption.fernet_key.")


def main():
    module = AnsibleModule(
        argument_spec=dict(
            key=dict(type="str", no_log=True),
            path=dict(type="path"),
            name=dict(type="str", default="ENCRYPTION_KEY"),
            fail_on_invalid=dict(type="bool", default=False),
        ),
        mutually_exclusive=[("key", "path")],
        required_one_of=[("key", "path")],
        supports_check_mode=True,
    )
    name = module.params["name"]
    result = dict(changed=False, name=name, path=None, exists=None)
    if module.params["path"] is not None:
        path = module.params["path"]
        result["path"] = resolve(path)
        result["exists"] = os.path.exists(result["path"])
        value = None
        if result["exists"]:
            try:
                value = read_env_file(path).get(name)
            except DotEnvError as exc:
                module.fail_json(msg=str(exc), **result)
    else:
        value = module.params["key"]

    result.update(key_info(value, name))
    if result["error"] and module.params["path"] is not None:
        if result["exists"]:
            result["error"] = "%s in %s" % (result["error"], path)
        else:
            result["error"] = "%s (%s does not exist)" % (result["error"], path)
    if module.params["fail_on_invalid"] and not result["valid"]:
        module.fail_json(msg="%s. %s" % (result["error"], REMEDY), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
