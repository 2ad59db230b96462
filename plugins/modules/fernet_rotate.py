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
  - A new token keeps the timestamp of the token it replaces, as C(MultiFernet.rotate) does, so readers that
    check a token's age (a TTL) see the same age as before. A token stored with stray whitespace or other characters
    the application's reader skips is treated as the token it holds and written back clean.
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
  new_secret_key:
    description:
      - A new Django C(SECRET_KEY). The sensitive C(core_configuration) values (the columns keyed by
        C(SECRET_KEY)) are re-encrypted from the Fernet key derived from one of O(old_secret_keys) to the one
        derived from it, in the application's format (PBKDF2-HMAC-SHA256 derivation, token base64-encoded again).
      - It must pass the application's check (at least 50 characters, not a default-looking value) and hold no
        character a C(.env) or systemd's C(EnvironmentFile=) would change (quotes, C(#), C($), C(\\), C(%), spaces).
      - When it is given and neither O(new_key) nor O(old_keys) is, only the C(SECRET_KEY) columns are worked on
        and the C(ENCRYPTION_KEY) columns are left untouched; give O(new_key) too to rotate both in one run.
      - Without it, the C(SECRET_KEY) columns are never written.
    type: str
  old_secret_keys:
    description:
      - The C(SECRET_KEY) values the configuration values may be under now (the current one, and retired ones a
        restored backup may use). When not given, C(SECRET_KEY) from O(env_file).
      - Only used with O(new_secret_key).
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
      - Runs the scan, with the same checks and the same counts, and writes nothing (RV(widened) lists what would be widened).
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

- name: Columns of an app outside the built-in profile
  webops.encryption.fernet_rotate:
    env_file: /opt/webops/.env
    columns:
      - table: billing_gateway
        column: api_secret
      # The app encrypts a setting's value only when is_secret is set; the other rows hold plain
      # values. Rows outside `where` are neither read nor rotated, so it must take in every row
      # that can hold a token: one left outside would stay under the old key.
      - table: billing_setting
        column: value
        where: is_secret
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
    by_key:
      description:
        - In check mode, the scan's tokens per key fingerprint (O(new_key) and each of O(old_keys)); keys opening no value
          are left out. An evidence record takes them as its counts after the run.
      type: dict
      returned: check mode
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
  returned: when the ENCRYPTION_KEY columns were worked on
  type: str
  sample: sha256:5f2b0c1d9e8a7b6c
old_key_fingerprints:
  description: Fingerprints of the old keys, in order (not returned when only O(new_secret_key) work was asked).
  returned: when the ENCRYPTION_KEY columns were worked on
  type: list
  elements: str
new_secret_key_fingerprint:
  description: Fingerprint (SHA-256 of the text, 16 hex digits) of O(new_secret_key).
  returned: when O(new_secret_key) is given
  type: str
old_secret_key_fingerprints:
  description:
    - Fingerprints of O(old_secret_keys), in order.
    - A weak or invalid one has no fingerprint (an unsalted hash of a guessable secret can be reversed); it is named
      C(a weak SECRET_KEY) with the reason instead, numbered when several differ.
  returned: when O(new_secret_key) is given
  type: list
  elements: str
database:
  description: The database worked on, as its URL with only the password replaced by C(***).
  returned: always
  type: str
  sample: postgresql://webops:***@localhost:5432/webops_db
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
from ansible_collections.webops.encryption.plugins.module_utils import secret_key as secret_key_utils
from ansible_collections.webops.encryption.plugins.module_utils.connection import (
    CONNECTION_REQUIRED_ONE_OF, CURRENT_KEY_NAME, OLD_KEY_NAME, DatabaseTask, connection_argument_spec, option_message)


def message(exc):
    """An engine error's message in this module's options: unknown values are fixed with old_keys
    or on_unknown (UnreadableValues, of the SECRET_KEY work, names its own)."""
    if isinstance(exc, engine.UnknownTokens) and not isinstance(exc, secret_key_utils.UnreadableValues):
        if exc.written:
            return "%s. Find the key that made them and run again with it in old_keys" % exc.finding
        return ("%s. Add the key that made them to old_keys, or set on_unknown=skip to leave them as they are "
                "(fernet_recover clears lost values)" % exc.finding)
    return option_message(exc)


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        new_key=dict(type="str", no_log=True),
        old_keys=dict(type="list", elements="str", no_log=True),
        on_unknown=dict(type="str", default="fail", choices=["fail", "skip"]),
        encrypt_plaintext=dict(type="bool", default=False),
        workers=dict(type="int"),
        widen_columns=dict(type="bool", default=False),
        new_secret_key=dict(type="str", no_log=True),
        old_secret_keys=dict(type="list", elements="str", no_log=True),
    )
    module = AnsibleModule(argument_spec=argument_spec, required_one_of=CONNECTION_REQUIRED_ONE_OF, supports_check_mode=True)
    task = DatabaseTask(module)
    params = module.params
    secret_work = bool(params["new_secret_key"])
    encryption_work = not secret_work or bool(params["new_key"] or params["old_keys"])
    if params["old_secret_keys"] and not secret_work:
        module.fail_json(msg="old_secret_keys is given without new_secret_key: give the new SECRET_KEY too")
    extra = {}
    new_key = old_keys = old_secret_keys = None
    if encryption_work:
        new_key = task.key("new_key", CURRENT_KEY_NAME)
        old_keys = task.keys("old_keys", OLD_KEY_NAME)
        if not old_keys:
            module.fail_json(msg="%s not configured: give old_keys or set %s in env_file (the key the data is under now)"
                             % (OLD_KEY_NAME, OLD_KEY_NAME))
        extra.update(new_key_fingerprint=new_key.fingerprint, old_key_fingerprints=[k.fingerprint for k in old_keys])
    if secret_work:
        try:
            secret_key_utils.check(params["new_secret_key"], "new_secret_key")
        except ValueError as exc:
            module.fail_json(msg=str(exc))
        old_secret_keys = params["old_secret_keys"] or [task.env_value(secret_key_utils.SECRET_KEY_NAME)]
        if not all(old_secret_keys):
            module.fail_json(msg="SECRET_KEY not configured: give old_secret_keys or env_file whose SECRET_KEY is set "
                                 "(the SECRET_KEY the configuration values are under now)")
        # A weak old key is named, never fingerprinted (the rule of secret_key_info).
        names = secret_key_utils.labels(dict([("new", params["new_secret_key"])]
                                             + [("old%d" % i, k) for i, k in enumerate(old_secret_keys)]))
        extra.update(new_secret_key_fingerprint=names["new"],
                     old_secret_key_fingerprints=[names["old%d" % i] for i in range(len(old_secret_keys))])

    def operation(db, specs):
        result = None
        if encryption_work:
            result = engine.rotate(
                db, specs, new_key, old_keys, on_unknown=params["on_unknown"], encrypt_plaintext=params["encrypt_plaintext"],
                batch_size=params["batch_size"], workers=params["workers"], check_mode=module.check_mode,
                widen=params["widen_columns"], progress=task.progress.phase("write"), scan_progress=task.progress.phase("scan"))
        if secret_work:
            # The same engine, the SECRET_KEY family; its result covers the ENCRYPTION_KEY run's too.
            result = secret_key_utils.rotate(
                db, specs, params["new_secret_key"], old_secret_keys, on_unknown=params["on_unknown"],
                batch_size=params["batch_size"], check_mode=module.check_mode, previous=result)
        return result

    module.exit_json(**task.run(operation, messages=message, **extra))


if __name__ == "__main__":
    main()
