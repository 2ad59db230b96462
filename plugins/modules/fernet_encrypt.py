#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: fernet_encrypt
short_description: Encrypt the plaintext secrets left in a WebOps database
version_added: 0.1.0
description:
  - Encrypts under O(key) every plaintext value (legacy rows written before the application encrypted them) in every
    token column of the database, on PostgreSQL or SQLite. This is the job of the application's C(encrypt_secrets)
    command, for all token columns instead of two.
  - A value that opens with O(key) is already encrypted and left alone. A value that opens with one of O(other_keys)
    (C(other_key)), or looks like a Fernet token but opens with no key (C(unknown)), is reported and never encrypted
    a second time. Empty and NULL values stay as they are.
  - Checks column widths first (a plaintext TOTP secret fits the migrations' C(varchar(32)), its token does not) and
    fails with the C(ALTER TABLE) that fixes it before anything is written.
  - Writes in batches, each one transaction committed only after every new token has been decrypted again and
    compared with the plaintext; a re-run after a crash finishes the job, and then reports C(changed=false).
author:
  - webops.encryption contributors (@webops)
options:
  key:
    description:
      - The key to encrypt under. When not given, C(ENCRYPTION_KEY) from O(env_file).
    type: str
  other_keys:
    description:
      - Other keys tokens may be under (for example the previous key during a rotation). Their tokens are counted as
        C(other_key) and left alone. When not given, C(OLD_ENCRYPTION_KEY) from O(env_file) if it is set.
    type: list
    elements: str
extends_documentation_fragment:
  - webops.encryption.connection
  - webops.encryption._attributes.database
  - webops.encryption._attributes.write
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  check_mode:
    details:
      - Scans with the same checks and counts, and writes nothing.
seealso:
  - module: webops.encryption.fernet_rotate
  - module: webops.encryption.fernet_audit
"""

EXAMPLES = r"""
- name: Encrypt legacy plaintext secrets (key and database from the application's .env)
  webops.encryption.fernet_encrypt:
    env_file: /opt/webops/.env
  register: webops_encrypted

- name: Show what would be encrypted, writing nothing
  webops.encryption.fernet_encrypt:
    env_file: /opt/webops/.env
  check_mode: true
  register: webops_encrypt_plan

- name: Report the counts the way the encrypt_secrets command of WebOps does
  ansible.builtin.debug:
    msg: >-
      {{ item.table }}.{{ item.column }}: total {{ item.total }}, already encrypted {{ item.already_encrypted }},
      newly encrypted {{ item.newly_encrypted }}
  loop: "{{ webops_encrypt_plan.columns }}"
  loop_control:
    label: "{{ item.table }}.{{ item.column }}"
"""

RETURN = r"""
columns:
  description:
    - One entry per column. Counts are values; for a JSON column each sensitive key of each row is one value.
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
    already_encrypted:
      description: Tokens under O(key), left alone.
      type: int
    newly_encrypted:
      description: Plaintext values encrypted (in check mode, that would be).
      type: int
    other_key:
      description: Tokens under one of O(other_keys), left alone.
      type: int
    empty:
      description: Empty or NULL values.
      type: int
    unknown:
      description: Token-shaped values no given key opens, left alone.
      type: int
    unknown_ids:
      description: Primary keys of up to 20 rows holding such values.
      type: list
      elements: raw
    rows_written:
      description: Rows updated (in check mode, that would be).
      type: int
    conflicts:
      description: Rows changed by the application between read and write, left for the next run.
      type: int
  sample:
    - {table: core_two_factor_auth, column: secret, rows: 5, total: 5, already_encrypted: 3, newly_encrypted: 2,
       other_key: 0, empty: 0, unknown: 0, unknown_ids: [], rows_written: 2, conflicts: 0}
totals:
  description: The counts of RV(columns) summed, and C(columns), the number of columns.
  returned: success
  type: dict
  sample: {columns: 10, rows: 8, total: 8, already_encrypted: 5, newly_encrypted: 3, other_key: 0, empty: 0, unknown: 0,
           rows_written: 3, conflicts: 0}
key_fingerprint:
  description: Fingerprint of O(key).
  returned: always
  type: str
  sample: sha256:5f2b0c1d9e8a7b6c
other_key_fingerprints:
  description: Fingerprints of O(other_keys).
  returned: always
  type: list
  elements: str
database:
  description: The database worked on, as its URL with only the password replaced by C(***).
  returned: always
  type: str
  sample: sqlite:////opt/webops/control-panel/db.sqlite3
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
widened:
  description:
    - Columns widened for the tokens (O(widen_columns=true)); in check mode, the ones that would be. C(from) and C(to)
      are widths in characters.
  returned: success
  type: list
  elements: dict
  sample: [{table: core_two_factor_auth, column: secret, from: 32, to: 255}]
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
        key=dict(type="str", no_log=True),
        other_keys=dict(type="list", elements="str", no_log=True),
        workers=dict(type="int"),
        widen_columns=dict(type="bool", default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, required_one_of=CONNECTION_REQUIRED_ONE_OF, supports_check_mode=True)
    task = DatabaseTask(module)
    key = task.key("key", CURRENT_KEY_NAME)
    other_keys = [k for k in task.keys("other_keys", OLD_KEY_NAME) if k != key]
    params = module.params
    result = task.run(lambda db, specs: engine.encrypt(
        db, specs, key, other_keys=other_keys, batch_size=params["batch_size"], workers=params["workers"],
        check_mode=module.check_mode, widen=params["widen_columns"], progress=task.progress.phase("write"), scan_progress=task.progress.phase("scan")),
        key_fingerprint=key.fingerprint, other_key_fingerprints=[k.fingerprint for k in other_keys])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
