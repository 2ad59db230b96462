#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: fernet_audit
short_description: Count, per token column, which key each value of a WebOps database is under
version_added: 0.1.0
description:
  - For every token column of the database (PostgreSQL or SQLite), counts the values each named key in O(keys) opens
    (by decrypting them), the plaintext values, the empty ones, and the values no key opens (with up to 20 row ids).
    A half-finished rotation, legacy plaintext and data nothing opens show at once.
  - C(core_configuration.value) is keyed from the application's C(SECRET_KEY), not C(ENCRYPTION_KEY). Without
    O(new_secret_key) its tokens are counted as C(unverified) and its plaintext as C(plaintext); with it, each value
    is opened with the keys derived from O(new_secret_key) and O(old_secret_keys), and values none opens are C(unknown).
  - Reads only, takes no lock, so it can watch a rotation in progress.
author:
  - webops.encryption contributors (@webops)
options:
  keys:
    description:
      - Named keys to test each value with, a dict of name and key, for example with names C(current) and C(old).
      - When not given, C(current) is C(ENCRYPTION_KEY) from O(env_file) and C(old) is C(OLD_ENCRYPTION_KEY) from it
        when it is set.
    type: dict
  fail_on_unknown:
    description:
      - Fail (after the full count, which is returned) when any value opens with none of O(keys).
    type: bool
    default: false
  fail_on_keys:
    description:
      - Names from O(keys); fail (after the full count, which is returned) when any value is still under one of them.
        V([old]) after a rotation proves the old key can be dropped.
    type: list
    elements: str
    default: []
  new_secret_key:
    description:
      - The Django C(SECRET_KEY) in use (or being rotated to). With it, the sensitive C(core_configuration) values
        (the columns keyed by C(SECRET_KEY)) are opened with the Fernet key the application derives from it and
        counted under the name C(current) of RV(columns[].secret_keys), instead of being reported as C(unverified).
      - When it is given and O(keys) is not, only the C(SECRET_KEY) columns are audited.
    type: str
  old_secret_keys:
    description:
      - Earlier C(SECRET_KEY) values; values they open are counted under C(old0), C(old1), ... in order.
      - Only used with O(new_secret_key).
    type: list
    elements: str
  fail_on_old_secret_keys:
    description:
      - Fail (after the full count, which is returned) when any value is still under one of O(old_secret_keys).
    type: bool
    default: false
extends_documentation_fragment:
  - webops.encryption.connection
  - webops.encryption._attributes.database
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  check_mode:
    details:
      - Never writes, so it runs the same in check mode.
seealso:
  - module: webops.encryption.fernet_rotate
"""

EXAMPLES = r"""
- name: Prove that nothing is left under the old key before dropping it
  webops.encryption.fernet_audit:
    env_file: /opt/webops/.env
    fail_on_keys: [old]
    fail_on_unknown: true
  register: webops_audit

- name: Audit with keys from the vault
  webops.encryption.fernet_audit:
    database_url: "{{ webops_database_url }}"
    keys:
      current: "{{ webops_encryption_key }}"
      next: "{{ webops_encryption_key_next }}"
  register: webops_audit
"""

RETURN = r"""
columns:
  description: One entry per column. Counts are values; for a JSON column each sensitive key of each row is one value.
  returned: always
  type: list
  elements: dict
  contains:
    table:
      description: Table name.
      type: str
    column:
      description: Column name.
      type: str
    keyed_by:
      description: C(ENCRYPTION_KEY), or C(SECRET_KEY) for C(core_configuration.value).
      type: str
    rows:
      description: Rows read.
      type: int
    total:
      description: Values seen.
      type: int
    by_key:
      description: For each name of O(keys), how many values it opens.
      type: dict
    plaintext:
      description: Plaintext values.
      type: int
    empty:
      description: Empty or NULL values.
      type: int
    unknown:
      description: Token-shaped values none of O(keys) opens.
      type: int
    unknown_ids:
      description: Primary keys of up to 20 rows holding such values.
      type: list
      elements: raw
    unverified:
      description: C(SECRET_KEY) tokens, which this module opens only with O(new_secret_key).
      type: int
    secret_keys:
      description: For a C(SECRET_KEY) column audited with O(new_secret_key), how many values each SECRET_KEY opens
        (C(current), C(old0), ...).
      type: dict
      returned: with O(new_secret_key)
  sample:
    - {table: core_webhook, column: secret, keyed_by: ENCRYPTION_KEY, rows: 3, total: 3, by_key: {current: 2, old: 1},
       plaintext: 0, empty: 0, unknown: 0, unknown_ids: [], unverified: 0}
totals:
  description: The counts of RV(columns) summed (C(by_key) per name), and C(columns), the number of columns.
  returned: always
  type: dict
  sample: {columns: 11, rows: 120, total: 140, by_key: {current: 131, old: 0}, plaintext: 2, empty: 7, unknown: 0,
           unverified: 2}
fingerprints:
  description: The fingerprint of each key of O(keys), by name.
  returned: always
  type: dict
  sample: {current: "sha256:5f2b0c1d9e8a7b6c", old: "sha256:0a1b2c3d4e5f6a7b"}
secret_key_fingerprints:
  description:
    - The fingerprint of each SECRET_KEY (C(current), C(old0), ...), by name.
    - A weak or invalid one has no fingerprint; it is named C(a weak SECRET_KEY) with the reason instead.
  returned: with O(new_secret_key)
  type: dict
database:
  description: The database audited, as its URL with only the password replaced by C(***).
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.webops.encryption.plugins.module_utils import engine
from ansible_collections.webops.encryption.plugins.module_utils import fernet as fernet_utils
from ansible_collections.webops.encryption.plugins.module_utils import secret_key as secret_key_utils
from ansible_collections.webops.encryption.plugins.module_utils.connection import (
    CONNECTION_REQUIRED_ONE_OF, CURRENT_KEY_NAME, OLD_KEY_NAME, DatabaseTask, connection_argument_spec)


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        keys=dict(type="dict", no_log=True),
        fail_on_unknown=dict(type="bool", default=False),
        fail_on_keys=dict(type="list", elements="str", default=[], no_log=False),
        new_secret_key=dict(type="str", no_log=True),
        old_secret_keys=dict(type="list", elements="str", no_log=True),
        fail_on_old_secret_keys=dict(type="bool", default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, required_one_of=CONNECTION_REQUIRED_ONE_OF, supports_check_mode=True)
    task = DatabaseTask(module)
    params = module.params
    keys = {}
    secret_keyring = None
    if params["new_secret_key"]:
        named = [("current", params["new_secret_key"])]
        named += [("old%d" % index, value) for index, value in enumerate(params["old_secret_keys"] or ()) if value]
        try:
            secret_keyring = secret_key_utils.DerivedKeyring(named)
        except ValueError as exc:
            module.fail_json(msg=str(exc))
    elif params["old_secret_keys"] or params["fail_on_old_secret_keys"]:
        module.fail_json(msg="old_secret_keys and fail_on_old_secret_keys need new_secret_key (the SECRET_KEY in use)")
    if params["keys"]:
        for name, value in params["keys"].items():
            try:
                keys[name] = fernet_utils.parse_key(value, "keys.%s" % name)
            except ValueError as exc:
                module.fail_json(msg=str(exc))
    elif secret_keyring is None:
        keys["current"] = task.key("keys", CURRENT_KEY_NAME)
        old = task.key("keys", OLD_KEY_NAME, required=False)
        if old is not None and old != keys["current"]:
            keys["old"] = old
    missing = [name for name in params["fail_on_keys"] if name not in keys]
    if missing:
        module.fail_json(msg="fail_on_keys names %s, which keys does not have (it has %s)"
                         % (", ".join(missing), ", ".join(sorted(keys))))
    result = task.run(lambda db, specs: engine.audit(
        db, specs, keys, batch_size=params["batch_size"], secret_keyring=secret_keyring, progress=task.progress.phase("scan")))
    problems = []
    if params["fail_on_old_secret_keys"]:
        for name, still in sorted(result["totals"]["secret_keys"].items()):
            if name != "current" and still:
                problems.append("%s configuration values are still under SECRET_KEY %s (%s)"
                                % (still, name, result["secret_key_fingerprints"][name]))
    for name in params["fail_on_keys"]:
        still = result["totals"]["by_key"][name]
        if still:
            problems.append("%s values are still under %s (%s)" % (still, name, result["fingerprints"][name]))
    if params["fail_on_unknown"] and result["totals"]["unknown"]:
        problems.append("%s values open with none of the keys (%s)" % (result["totals"]["unknown"], ", ".join(
            "%s.%s ids %s" % (c["table"], c["column"], c["unknown_ids"]) for c in result["columns"] if c["unknown"])))
    if problems:
        module.fail_json(msg="; ".join(problems), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
