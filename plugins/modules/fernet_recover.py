#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: fernet_recover
short_description: After a lost key, clear the secrets no key can open so the application works again
version_added: 0.1.0
description:
  - Disaster recovery after a lost key, for every token column. Finds every value that neither O(key) nor
    O(other_keys) opens and, with O(confirm=true), saves them all to O(export_path) first, then per column
    as O(columns[].on_lost) says.
  - C(core_two_factor_auth) rows whose secret is unreadable are deleted, and those users enable 2FA again.
  - C(core_webhook.secret) gets a new random 64-hex-character secret encrypted under O(key); those webhooks must be
    set up again with their senders.
  - Every other token column, and each unreadable sensitive value of the JSON credentials column, is set to an empty
    string; those connections must be made again.
  - Plaintext values and values a key opens are left alone, so a second run changes nothing.
  - Without O(confirm=true) (and in check mode), it only reports what it would do and writes nothing, not even the
    export.
author:
  - webops.encryption contributors (@webops)
options:
  key:
    description:
      - The new key, the one C(ENCRYPTION_KEY) now holds. When not given, C(ENCRYPTION_KEY) from O(env_file).
    type: str
  other_keys:
    description:
      - More keys whose tokens are readable and must be kept. When not given, C(OLD_ENCRYPTION_KEY) from O(env_file)
        if it is set.
    type: list
    elements: str
  export_path:
    description:
      - A file for the unreadable values, one JSON object per line (C(table), C(column), C(pk), C(json_key) for a JSON
        column, C(value)), written with mode C(0600) through a temporary file and a rename, before anything is cleared.
        Lines of an existing export at this path are kept, so a re-run never loses what an earlier one saved.
      - The file is written only when there is something to clear. Keep it, and the lost key if it is ever found,
        the values can still be decrypted from it.
    type: path
    required: true
  confirm:
    description:
      - V(true) to export and clear. V(false) reports the counts and writes nothing.
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
      - Reports the counts it would change and writes nothing, whatever O(confirm) says.
seealso:
  - module: webops.encryption.fernet_audit
"""

EXAMPLES = r"""
- name: See what a recovery would clear
  webops.encryption.fernet_recover:
    env_file: /opt/webops/.env
    export_path: /root/webops-unreadable.jsonl
  register: webops_recovery_plan

- name: Export and clear what the lost key made unreadable
  webops.encryption.fernet_recover:
    env_file: /opt/webops/.env
    export_path: /root/webops-unreadable.jsonl
    confirm: true
"""

RETURN = r"""
columns:
  description: One entry per column. Counts are values (for the JSON column, each sensitive key of each row) or rows (C(deleted)).
  returned: success
  type: list
  elements: dict
  contains:
    table:
      description: Table name.
      type: str
    column:
      description: Column name.
      type: str
    on_lost:
      description: The rule applied, C(clear), C(delete_row) or C(new_secret).
      type: str
    rows:
      description: Rows read.
      type: int
    total:
      description: Values seen.
      type: int
    readable:
      description: Values a key opens.
      type: int
    plaintext:
      description: Plaintext values, left alone.
      type: int
    empty:
      description: Empty or NULL values.
      type: int
    unreadable:
      description: Values no key opens.
      type: int
    deleted:
      description: Rows deleted (or that would be).
      type: int
    reset:
      description: Values given a new random secret (or that would be).
      type: int
    cleared:
      description: Values set to an empty string (or that would be).
      type: int
    conflicts:
      description: Rows changed by the application while the run read them, left for the next run.
      type: int
totals:
  description: The counts of RV(columns) summed, and C(columns), the number of columns.
  returned: success
  type: dict
exported:
  description: Unreadable values found (and, with O(confirm=true), saved to O(export_path)).
  returned: success
  type: int
export_path:
  description: The export file written, or null when nothing was written.
  returned: success
  type: str
confirmed:
  description: Whether the run exported and cleared (O(confirm=true) and not check mode).
  returned: success
  type: bool
key_fingerprint:
  description: Fingerprint of O(key).
  returned: always
  type: str
other_key_fingerprints:
  description: Fingerprints of O(other_keys).
  returned: success
  type: list
  elements: str
database:
  description: The database worked on, as its URL with only the password replaced by C(***).
  returned: always
  type: str
too_narrow:
  description:
    - When a column is too narrow for the new secret an unreadable value would be replaced with
      (C(on_lost=new_secret)), C(table), C(column), C(data_type), C(max_length), C(needed) and the
      C(fix) SQL. Nothing is written; run the C(fix), then this module again.
  returned: failure
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.webops.encryption.plugins.module_utils import engine
from ansible_collections.webops.encryption.plugins.module_utils.connection import (
    CONNECTION_REQUIRED_ONE_OF, CURRENT_KEY_NAME, OLD_KEY_NAME, DatabaseTask, connection_argument_spec)


def message(exc):
    """An engine error's message in this module's options. This module widens no column: a column
    too narrow for the new secrets it would write is fixed by the ALTER TABLE the finding names."""
    if isinstance(exc, engine.ColumnTooNarrow):
        return exc.finding
    return str(exc)


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        key=dict(type="str", no_log=True),
        other_keys=dict(type="list", elements="str", no_log=True),
        export_path=dict(type="path", required=True),
        confirm=dict(type="bool", default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, required_one_of=CONNECTION_REQUIRED_ONE_OF, supports_check_mode=True)
    task = DatabaseTask(module)
    key = task.key("key", CURRENT_KEY_NAME)
    other_keys = [k for k in task.keys("other_keys", OLD_KEY_NAME) if k != key]
    params = module.params
    confirmed = params["confirm"] and not module.check_mode
    result = task.run(lambda db, specs: engine.purge_unreadable(
        db, specs, key, params["export_path"], check_mode=not confirmed, batch_size=params["batch_size"], other_keys=other_keys),
        messages=message, key_fingerprint=key.fingerprint)
    result["confirmed"] = confirmed
    if not confirmed and not module.check_mode:
        # A report: nothing was written, so nothing changed.
        result["changed"] = False
    module.exit_json(**result)


if __name__ == "__main__":
    main()
