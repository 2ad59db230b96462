#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: fernet_rotate
short_description: Re-encrypt every token column of a WebOps database under a new Fernet key
version_added: 0.1.0
description:
  - Re-encrypts under O(new_key) every token that opens with one of O(old_keys), in every token column of the
    database (with O(profile=webops), every one of the WebOps control panel, including each sensitive key of the
    JSON credentials column), on PostgreSQL or SQLite.
  - Before anything is written, a scan checks every value by HMAC. Values that no key opens are reported by table,
    column and row id; with O(on_unknown=fail) nothing is written. A PostgreSQL C(varchar) column too narrow
    for the tokens it would receive is refused with the C(ALTER TABLE) that widens it; nothing is truncated.
  - Rows are walked in primary-key order and written in batches, each in one transaction that commits only after
    every new token has been decrypted again and compared with the original plaintext. The decrypt and encrypt work
    runs in O(workers) processes while the previous batch is written.
  - Tokens already under O(new_key) are left alone, so running again after success, a crash, a kill or a dropped
    connection finishes the job and then reports C(changed=false).
  - One run per database at a time (a PostgreSQL advisory lock, a file lock for SQLite); a second run fails at once.
  - The running application reads only C(ENCRYPTION_KEY), so stop it (or make sure it holds the new key) before
    rotating; rows it writes with the old key meanwhile are taken by the next run.
author:
  - webops.encryption contributors (@webops)
options:
  new_key:
    description:
      - The key to re-encrypt under. When not given, C(ENCRYPTION_KEY) from O(env_file).
    type: str
  old_keys:
    description:
      - The keys the data may be under now. When not given, C(OLD_ENCRYPTION_KEY) from O(env_file).
    type: list
    elements: str
  on_unknown:
    description:
      - What to do when values are found that no key opens (neither O(new_key) nor O(old_keys)).
      - V(fail) writes nothing and fails, naming the table, column and row ids (up to 20 per column).
      - V(skip) leaves them as they are, rotates the rest and reports them.
    type: str
    choices: [fail, skip]
    default: fail
  encrypt_plaintext:
    description:
      - Also encrypt plaintext values (legacy rows written before encryption) under O(new_key).
      - With V(false) they are counted as C(plaintext) and left alone (M(webops.encryption.fernet_encrypt) does that job).
    type: bool
    default: false
  workers:
    description:
      - Processes that do the cryptography. Default is the number of CPUs this host gives the module.
      - V(1) does everything in the module's own process.
    type: int
extends_documentation_fragment:
  - webops.encryption.connection
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  check_mode:
    support: full
    details:
      - Runs the scan, with the same checks and the same counts, and writes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
  action_group:
    support: full
    membership:
      - webops.encryption.database
seealso:
  - module: webops.encryption.fernet_audit
  - module: webops.encryption.fernet_encrypt
  - module: webops.encryption.fernet_recover
"""

EXAMPLES = r"""
- name: Re-encrypt under the new key (ENCRYPTION_KEY and OLD_ENCRYPTION_KEY come from the .env)
  webops.encryption.fernet_rotate:
    env_file: /opt/webops/.env
  register: webops_rotation

- name: Rotate with keys from the vault, leaving rows no key opens for later
  webops.encryption.fernet_rotate:
    database_url: "{{ webops_database_url }}"
    new_key: "{{ webops_encryption_key_next }}"
    old_keys:
      - "{{ webops_encryption_key }}"
    on_unknown: skip
    batch_size: 5000
    workers: 4
  no_log: false

- name: A column of an app outside the built-in profile
  webops.encryption.fernet_rotate:
    env_file: /opt/webops/.env
    columns:
      - table: billing_gateway
        column: api_secret
        where: "deleted_at IS NULL OR deleted_at IS NOT NULL"
"""

RETURN = r"""
columns:
  description:
    - One entry per column, in the order they were processed. Counts are values; for a JSON column every sensitive
      key of every row is one value, and O(columns[].json_keys) decides which keys count.
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
    rows:
      description: Rows read.
      type: int
    total:
      description: Values seen (the sum of the five counts below).
      type: int
    already_current:
      description: Tokens already under O(new_key), left alone.
      type: int
    rotated:
      description: Tokens re-encrypted from an old key (in check mode, that would be).
      type: int
    plaintext:
      description: Plaintext values left as they are.
      type: int
    encrypted_plaintext:
      description: Plaintext values encrypted under O(new_key) (O(encrypt_plaintext=true)).
      type: int
    empty:
      description: Empty or NULL values.
      type: int
    unknown:
      description: Values no given key opens.
      type: int
    unknown_ids:
      description: Primary keys of up to 20 rows holding such values.
      type: list
      elements: raw
    rows_written:
      description: Rows updated (in check mode, that would be).
      type: int
    conflicts:
      description: Rows the application changed between read and write; they were left alone, and the next run takes them.
      type: int
  sample:
    - {table: core_two_factor_auth, column: secret, rows: 5, total: 5, already_current: 0, rotated: 5, plaintext: 0,
       encrypted_plaintext: 0, empty: 0, unknown: 0, unknown_ids: [], rows_written: 5, conflicts: 0}
totals:
  description: The counts of RV(columns) summed, and C(columns), the number of columns.
  returned: success
  type: dict
  sample: {columns: 10, rows: 120, total: 140, already_current: 0, rotated: 131, plaintext: 2, encrypted_plaintext: 0,
           empty: 7, unknown: 0, rows_written: 112, conflicts: 0}
new_key_fingerprint:
  description: Fingerprint of the new key.
  returned: always
  type: str
  sample: sha256:5f2b0c1d9e8a7b6c
old_key_fingerprints:
  description: Fingerprints of the old keys, in order.
  returned: always
  type: list
  elements: str
database:
  description: The database worked on, without its password.
  returned: always
  type: str
  sample: postgresql://webops@localhost:5432/webops_db
workers:
  description: Worker processes used.
  returned: success
  type: int
batch_size:
  description: Rows per batch.
  returned: success
  type: int
elapsed_seconds:
  description: Run time.
  returned: success
  type: float
unknown:
  description: When values no key opens stopped the run, each column with some (C(table), C(column), C(count), C(ids)).
  returned: failure
  type: list
  elements: dict
too_narrow:
  description: When a column is too narrow, C(table), C(column), C(data_type), C(max_length), C(needed) and the C(fix) SQL.
  returned: failure
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.webops.encryption.plugins.module_utils import engine
from ansible_collections.webops.encryption.plugins.module_utils.connection import (
    CONNECTION_REQUIRED_ONE_OF, CURRENT_KEY_NAME, OLD_KEY_NAME, DatabaseTask, connection_argument_spec)


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        new_key=dict(type="str", no_log=True),
        old_keys=dict(type="list", elements="str", no_log=True),
        on_unknown=dict(type="str", default="fail", choices=["fail", "skip"]),
        encrypt_plaintext=dict(type="bool", default=False),
        workers=dict(type="int"),
    )
    module = AnsibleModule(argument_spec=argument_spec, required_one_of=CONNECTION_REQUIRED_ONE_OF, supports_check_mode=True)
    task = DatabaseTask(module)
    new_key = task.key("new_key", CURRENT_KEY_NAME)
    old_keys = task.keys("old_keys", OLD_KEY_NAME)
    if not old_keys:
        module.fail_json(msg="%s not configured: give old_keys or set %s in env_file (the key the data is under now)"
                         % (OLD_KEY_NAME, OLD_KEY_NAME))
    params = module.params
    result = task.run(lambda db, specs: engine.rotate(
        db, specs, new_key, old_keys, on_unknown=params["on_unknown"], encrypt_plaintext=params["encrypt_plaintext"],
        batch_size=params["batch_size"], workers=params["workers"], check_mode=module.check_mode,
        progress=task.progress, scan_progress=task.progress),
        new_key_fingerprint=new_key.fingerprint, old_key_fingerprints=[k.fingerprint for k in old_keys])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
