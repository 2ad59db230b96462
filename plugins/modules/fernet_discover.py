#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: fernet_discover
short_description: Find Fernet tokens in database columns no rotation covers
version_added: 0.2.0
description:
  - Reads every text-like column of every table outside the covered columns (the O(profile)'s and O(columns)) and
    O(ignore), and counts, per column, the values each named key in O(keys) opens (by key fingerprint) and the values
    shaped like Fernet tokens that none of them opens, with a few row ids and the O(columns) entry that covers it.
  - On PostgreSQL, C(text), C(varchar), C(char), C(json), C(jsonb) and C(citext) columns, and columns of a domain over
    one of them, of every schema but the system ones that the connection may read (tables outside C(public) are named
    C(schema.table)); on SQLite, every column that can hold text. M(webops.encryption.fernet_rotate) rewrites only
    C(text), C(varchar), C(json) and C(jsonb) columns, so a C(citext) or domain column comes with a note saying so.
  - A value counts when the application's reader takes it as a token (the whole value), when it is the string value
    of a top-level member of a JSON object, or when a token-shaped run sits inside a longer text or a nested JSON
    value (counted as C(unreachable), since a column entry cannot rotate it).
  - The database sends only values containing C(gAAAAA), the start of every Fernet token; memory stays within
    O(batch_size) rows. Reads only, takes no lock.
  - Use it before a key is retired; a value under that key outside the covered columns would be lost with it.
author:
  - webops.encryption contributors (@webops)
options:
  keys:
    description:
      - Named keys to open each token with, a dict of name and key, for example C(current), C(next) and the keys
        earlier rotations retired.
      - When not given, C(current) is C(ENCRYPTION_KEY) from O(env_file) and C(old) is C(OLD_ENCRYPTION_KEY) from it
        when it is set.
    type: dict
  ignore:
    description:
      - Columns not to read, each with the reason its tokens may stay where they are.
    type: list
    elements: dict
    default: []
    suboptions:
      table:
        description: Table name, C(schema.table) outside PostgreSQL's C(public) schema.
        type: str
        required: true
      column:
        description: Column name.
        type: str
        required: true
      reason:
        description: Why the column's tokens may stay (shown in the results, and recorded by the roles' audit trail).
        type: str
        required: true
  fail_on_keys:
    description:
      - Names from O(keys); fail (after the full scan, whose results are returned) when a column found holds values
        under one of them.
    type: list
    elements: str
    default: []
  fail_on_unknown:
    description:
      - Fail (after the full scan, whose results are returned) when a column found holds tokens none of O(keys) opens.
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
  - module: webops.encryption.fernet_audit
  - module: webops.encryption.fernet_rotate
"""

EXAMPLES = r"""
- name: Refuse to retire the current key while a column outside the list holds values under it
  webops.encryption.fernet_discover:
    env_file: /opt/webops/.env
    columns: "{{ webops_database_columns }}"
    ignore:
      - table: audit_archive
        column: payload
        reason: archived copies, kept under the key of their day on purpose
    fail_on_keys: [current]
  register: webops_discovery
"""

RETURN = r"""
columns:
  description: One entry per column outside the covered ones that holds at least one token-shaped value.
  returned: always
  type: list
  elements: dict
  contains:
    table:
      description: Table name (C(schema.table) outside PostgreSQL's C(public) schema).
      type: str
    column:
      description: Column name.
      type: str
    data_type:
      description: The column's type; a PostgreSQL domain is named with its base type, as in C(sealed_text (domain over text)).
      type: str
    pk:
      description: The table's single-column unique key, or null when it has none (a rotation cannot cover it then).
      type: str
    rows:
      description: Rows holding at least one token-shaped value in this column.
      type: int
    tokens:
      description: Token-shaped values.
      type: int
    by_key:
      description: For each key fingerprint, how many values that key opens.
      type: dict
    by_name:
      description: The same counts by the names of O(keys).
      type: dict
    unknown:
      description: Token-shaped values no key of O(keys) opens.
      type: int
    unreachable:
      description: Tokens inside a longer text or a nested JSON value, which a column entry cannot rotate.
      type: int
    ids:
      description: Up to 20 row ids holding values a key opens (the primary key; C(ctid) or C(rowid) without one).
      type: list
      elements: raw
    unknown_ids:
      description: Up to 20 row ids holding values no key opens.
      type: list
      elements: raw
    entry:
      description: The O(columns) (C(webops_database_columns)) entry that covers the column.
      type: dict
    notes:
      description: What keeps the entry from covering every token, if anything.
      type: list
      elements: str
  sample:
    - {table: plugins_vault_item, column: sealed, data_type: text, pk: id, rows: 40, tokens: 40,
       by_key: {"sha256:5f2b0c1d9e8a7b6c": 40}, by_name: {current: 40}, unknown: 0, unreachable: 0, ids: [1, 2, 3],
       unknown_ids: [], entry: {table: plugins_vault_item, column: sealed, pk: id}, notes: []}
totals:
  description: The columns found, their tokens, the unknown ones, and C(by_key) summed per fingerprint.
  returned: always
  type: dict
  sample: {columns: 1, tokens: 40, unknown: 0, by_key: {"sha256:5f2b0c1d9e8a7b6c": 40}}
columns_scanned:
  description: How many columns were read.
  returned: always
  type: int
tables_scanned:
  description: How many tables were read.
  returned: always
  type: int
ignored:
  description: The columns of O(ignore) that exist, with their reasons; they were not read.
  returned: always
  type: list
  elements: dict
not_read:
  description: Tables or columns the scan could not read (no privilege, or a name that is not a plain identifier), with why.
  returned: always
  type: list
  elements: dict
fingerprints:
  description: The fingerprint of each key of O(keys), by name.
  returned: always
  type: dict
database:
  description: The database read, as its URL with only the password replaced by C(***).
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.webops.encryption.plugins.module_utils import engine
from ansible_collections.webops.encryption.plugins.module_utils import fernet as fernet_utils
from ansible_collections.webops.encryption.plugins.module_utils.connection import (
    CONNECTION_REQUIRED_ONE_OF, CURRENT_KEY_NAME, OLD_KEY_NAME, DatabaseTask, connection_argument_spec)


def describe(column):
    return "%s.%s" % (column["table"], column["column"])


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        keys=dict(type="dict", no_log=True),
        ignore=dict(type="list", elements="dict", default=[], options=dict(
            table=dict(type="str", required=True),
            column=dict(type="str", required=True),
            reason=dict(type="str", required=True),
        )),
        fail_on_keys=dict(type="list", elements="str", default=[], no_log=False),
        fail_on_unknown=dict(type="bool", default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, required_one_of=CONNECTION_REQUIRED_ONE_OF, supports_check_mode=True)
    task = DatabaseTask(module)
    params = module.params
    keys = {}
    if params["keys"]:
        for name, value in params["keys"].items():
            try:
                keys[name] = fernet_utils.parse_key(value, "keys.%s" % name)
            except ValueError as exc:
                module.fail_json(msg=str(exc))
    else:
        keys["current"] = task.key("keys", CURRENT_KEY_NAME)
        old = task.key("keys", OLD_KEY_NAME, required=False)
        if old is not None and old != keys["current"]:
            keys["old"] = old
    missing = [name for name in params["fail_on_keys"] if name not in keys]
    if missing:
        module.fail_json(msg="fail_on_keys names %s, which keys does not have (it has %s)"
                         % (", ".join(missing), ", ".join(sorted(keys))))
    result = task.run(lambda db, specs: engine.discover(
        db, specs, keys, ignore=params["ignore"], batch_size=params["batch_size"], progress=task.progress))
    problems = []
    for name in params["fail_on_keys"]:
        fingerprint = result["fingerprints"][name]
        held = [c for c in result["columns"] if c["by_key"].get(fingerprint)]
        if held:
            problems.append("values under %s (%s) outside the covered columns: %s" % (name, fingerprint, ", ".join(
                "%s (%d, ids %s)" % (describe(c), c["by_key"][fingerprint], c["ids"]) for c in held)))
    if params["fail_on_unknown"] and result["totals"]["unknown"]:
        problems.append("tokens no key opens: %s" % ", ".join(
            "%s (%d, ids %s)" % (describe(c), c["unknown"], c["unknown_ids"]) for c in result["columns"] if c["unknown"]))
    if problems:
        module.fail_json(msg="%s. Add each column to columns (the entry is in columns[].entry), or list it in ignore "
                             "with the reason its tokens may stay" % "; ".join(problems), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
