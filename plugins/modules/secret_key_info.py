#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: secret_key_info
short_description: Tell whether a Django SECRET_KEY is set and acceptable, and its fingerprint
version_added: 0.2.0
description:
  - Reads C(SECRET_KEY) from a C(.env) file (or takes it inline) and reports whether it is configured, whether it passes
    the application's check (at least 50 characters, not default-looking, nothing a C(.env) or systemd's
    C(EnvironmentFile=) would change), and, for a valid key, its fingerprint. The key is never returned.
  - The fingerprint is C(sha256:) and the first 16 hex digits of the SHA-256 of the key's text, the same as
    P(webops.encryption.secret_key_fingerprint#filter) returns for a vaulted key, so a playbook can compare the two.
  - A key that fails the check has no fingerprint, because an unsalted hash of a weak key is reversed by trying candidates.
    To compare such keys, give O(salt) and compare RV(match_id).
  - Never changes anything.
author:
  - webops.encryption contributors (@webops)
options:
  key:
    description:
      - The key to check, as text. Mutually exclusive with O(path).
      - Any other type is refused with a message that does not show it.
    type: raw
  path:
    description:
      - A C(.env) file to read the key from (symlinks are followed). Mutually exclusive with O(key).
      - A missing file means the key is not configured.
    type: path
  name:
    description:
      - The variable of O(path) that holds the key; also the name used in messages.
    type: str
    default: SECRET_KEY
  fail_on_invalid:
    description:
      - Fail when the key is missing or does not pass the application's check. With V(false), the result describes
        the problem and the task succeeds (an old, weak key can still be fingerprinted and replaced).
    type: bool
    default: false
  salt:
    description:
      - A random secret of this run (never stored). With it, RV(match_id) is returned for any configured key, valid
        or not, so the hosts' keys can be compared with each other and with
        P(webops.encryption.secret_key_fingerprint#filter)C((salt=...)) of a vaulted one.
    type: str
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - The module never changes anything, so it runs the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - plugin: webops.encryption.secret_key_generate
    plugin_type: lookup
  - plugin: webops.encryption.secret_key_fingerprint
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Read the host's SECRET_KEY (fingerprint only)
  webops.encryption.secret_key_info:
    path: /opt/webops/.env
  register: webops_secret_key_state
"""

RETURN = r"""
configured:
  description: Whether a non-empty value was found.
  returned: success
  type: bool
valid:
  description: Whether it passes the application's check.
  returned: success
  type: bool
fingerprint:
  description: C(sha256:) and 16 hex digits of the SHA-256 of the key's text; V(null) when the key is not configured
    or not valid.
  returned: success
  type: str
  sample: sha256:5f2b9c0e1d7a4b3c
error:
  description: Why the key is not acceptable; V(null) when it is.
  returned: success
  type: str
match_id:
  description: C(hmac:) and 16 hex digits of the HMAC-SHA256 of the key's text under O(salt), for any configured key;
    V(null) when not configured. Comparable only with values made with the same O(salt).
  returned: when O(salt) is given
  type: str
  sample: hmac:9a0c4e7d21b3f580
name:
  description: The variable name checked (O(name)).
  returned: success
  type: str
path:
  description: The file read (the target when O(path) is a symlink); V(null) when O(key) was given.
  returned: success
  type: str
exists:
  description: Whether O(path) exists; V(null) when O(key) was given.
  returned: success
  type: bool
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.webops.encryption.plugins.module_utils._dotenv import DotEnvError, read_env_file, resolve
from ansible_collections.webops.encryption.plugins.module_utils.secret_key import info


def main():
    module = AnsibleModule(
        argument_spec=dict(
            key=dict(type="raw", no_log=True),
            path=dict(type="path"),
            name=dict(type="str", default="SECRET_KEY"),
            fail_on_invalid=dict(type="bool", default=False),
            salt=dict(type="str", no_log=True),
        ),
        mutually_exclusive=[("key", "path")],
        required_one_of=[("key", "path")],
        supports_check_mode=True,
    )
    name = module.params["name"]
    result = dict(changed=False, name=name, path=None, exists=None)
    value = module.params["key"]
    if value is not None and not isinstance(value, str):
        # Never echo it: a key of the wrong type is still a key.
        module.fail_json(msg="key must be the SECRET_KEY as text, got a %s; quote it in YAML" % type(value).__name__,
                         **result)
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
        if value:
            module.no_log_values.add(value)
    result.update(info(value, name, module.params["salt"]))
    if module.params["fail_on_invalid"] and not result["valid"]:
        module.fail_json(msg="%s. Generate one with the webops.encryption.secret_key_generate lookup." % result["error"],
                         **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
