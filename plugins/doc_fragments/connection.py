# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Options shared by the database modules (fernet_encrypt, fernet_rotate, fernet_audit, fernet_recover, fernet_discover).
    DOCUMENTATION = r"""
options:
  database_url:
    description:
      - The application's C(DATABASE_URL), in the format the control panel reads, either
        C(postgresql://user:password@host:port/dbname) (URL-encode special characters in the password) or
        C(sqlite:////absolute/path/db.sqlite3).
      - A password holding an unencoded C(/), C(?), C(#) or C(@) is refused before anything connects, with a message that
        says to percent-encode it (C(/) as C(%2F), C(?) as C(%3F), C(#) as C(%23), C(@) as C(%40)).
      - Results and messages name the database by this URL with only the password replaced by C(***).
      - Takes precedence over C(DATABASE_URL) in O(env_file).
      - One of O(database_url) and O(env_file) is required.
    type: str
  env_file:
    description:
      - The application's C(.env), for example C(/opt/webops/.env) (symlinks are followed).
      - C(DATABASE_URL) is read from it when O(database_url) is not given.
      - When the module's key option is not given, the keys are read from it too, C(ENCRYPTION_KEY) as the
        current key and C(OLD_ENCRYPTION_KEY) as the previous one.
      - The file is only read, never written.
    type: path
  profile:
    description:
      - Which built-in list of token columns to work on.
      - V(webops) is every column of the WebOps control panel that holds Fernet tokens, including each
        sensitive top-level key of C(automation_data_source_credentials.credentials) (names containing
        C(api_key), C(token), C(private_key), C(password) or C(secret)).
        C(core_configuration.value) (sensitive rows) is keyed from C(SECRET_KEY), so only the audit reports it.
      - V(none) uses only O(columns).
    type: str
    choices: [webops, none]
    default: webops
  columns:
    description:
      - More token columns, added to the profile's; an entry naming a column the profile has replaces it.
      - Table, column and primary key names must be plain identifiers (letters, digits, C(_); at most 63).
        On PostgreSQL a table outside the search path is named C(schema.table), as M(webops.encryption.fernet_discover)
        names it.
    type: list
    elements: dict
    default: []
    suboptions:
      table:
        description: Table name, or C(schema.table) (PostgreSQL).
        type: str
        required: true
      column:
        description: Column that holds tokens (text or varchar; json/jsonb with O(columns[].json_keys)).
        type: str
        required: true
      pk:
        description:
          - Column the table is walked by, in order (integer, text or uuid). It must be the primary key or have a
            unique index of its own.
        type: str
        default: id
      where:
        description:
          - An SQL condition that limits the rows, for example C(is_sensitive). Written by the operator,
            never from untrusted input; C(;) and comments are refused.
          - For a column that holds tokens only in some rows. Rows outside it are neither read, rotated
            nor audited, so it must take in every row that can hold a token, or those rows keep the old key.
        type: str
      json_keys:
        description:
          - Marks a JSON column. A regular expression searched in each top-level key name; the string
            values of matching keys are tokens. Other keys and non-string values are left alone.
        type: str
      on_lost:
        description:
          - What M(webops.encryption.fernet_recover) does with a value no key opens.
          - V(clear) sets it to an empty string, V(delete_row) deletes the row, V(new_secret) stores a new
            random 64-hex-character secret encrypted under the key.
        type: str
        choices: [clear, delete_row, new_secret]
        default: clear
  batch_size:
    description:
      - Rows per batch. Each batch is read by primary key (keyset pagination) and written in one
        transaction, so memory stays bounded and a crash loses at most the batch in flight.
    type: int
    default: 5000
  progress_file:
    description:
      - Where to keep a small status file (counts only, mode C(0600)) while the module runs; removed when it ends.
      - The path must not exist. An existing file is refused, never overwritten or removed. The module creates the
        file without ever replacing one, and removes only the file it created.
      - Set by the collection's action plugin, which reads it while the module runs and prints a progress line
        every C(webops_progress_interval) seconds (default 5, V(0) for none). Not needed in a playbook.
    type: path
requirements:
  - cryptography
  - psycopg (3) or psycopg2, for PostgreSQL (Debian C(python3-psycopg2))
notes:
  - Keys never appear in results, warnings or errors; results name keys by fingerprint (C(sha256:) and 16 hex digits).
  - Row ids are reported for values no key opens, never the values.
"""
