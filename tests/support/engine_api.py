# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine's Python API on seeded WebOps databases, and what the tests read back with the keys."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from cryptography.fernet import Fernet

from ansible_collections.webops.encryption.plugins.module_utils import _db as db, columns, engine
from support import webops_db
from support.keys import new_key


def seeded(url, users=30, unknown=0, legacy_plaintext=2, unknown_key=None, narrow=False):
    """Create the WebOps schema at ``url`` and seed it under a fresh key; returns that key."""
    key = new_key()
    webops_db.create_schema(url, narrow=narrow)
    webops_db.seed(url, key, users=users, unknown=unknown, legacy_plaintext=legacy_plaintext,
                   unknown_key=unknown_key.encode("ascii") if unknown_key else None)
    return key


def specs():
    return columns.resolve("webops")


def run(operation, url, *args, **kwargs):
    """Run one engine operation on a fresh connection."""
    with db.connect(url) as adapter:
        return getattr(engine, operation)(adapter, specs(), *args, **kwargs)


def plaintexts(url, keys):
    """Every logical plaintext in the database (decrypted with any of ``keys``), for leak checks."""
    fernets = [Fernet(k.encode("ascii")) for k in keys]
    found = set()
    for _table, _column, _pk, _name, value in webops_db.iter_values(url):
        where, plain = webops_db.open_value(value, fernets)
        if where != "unknown" and plain:
            found.add(plain)
    return found


def by_column(result):
    return dict(("%s.%s" % (c["table"], c["column"]), c) for c in result["columns"])


def readable_values(url, keys):
    """{(table, column, pk, json_key, plaintext)} of every value that is plaintext or opens with one of ``keys``."""
    fernets = [Fernet(k.encode("ascii")) for k in keys]
    found = set()
    for table, column, pk, name, value in webops_db.iter_values(url):
        where, plain = webops_db.open_value(value, fernets)
        if where != "unknown":
            found.add((table, column, pk, name, plain))
    return found
