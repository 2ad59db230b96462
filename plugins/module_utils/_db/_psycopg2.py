# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""PostgreSQL through psycopg2: the driver-specific bits of the PostgreSQL adapter, and the array
literals it passes (psycopg2 has no binary arrays)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.webops.encryption.plugins.module_utils._db._postgres import PostgresAdapter


class Psycopg2Adapter(PostgresAdapter):
    """``driver`` is the psycopg2 module."""

    def _connect(self, url, connect_timeout):
        conn = self.driver.connect(url, connect_timeout=connect_timeout)
        conn.autocommit = True
        return conn

    def _arrays(self, *columns):
        return [array_literal(column) for column in columns], "%s"


# Used with fullmatch: "$" alone would also match before a final newline, which PostgreSQL trims.
_ARRAY_SAFE_RE = re.compile(r"[A-Za-z0-9_=.:+/-]+")


def array_literal(values):
    """A PostgreSQL array literal of text values, passed as one parameter and cast server-side
    (psycopg2 has no binary arrays). Tokens and integer keys need no quoting (checked for the
    whole list at once, in C); anything else is quoted and escaped."""
    texts = [value if isinstance(value, str) else _plain_text(value) for value in values]
    if texts and _ARRAY_SAFE_RE.fullmatch("".join(texts)) and all(texts) and not any(
            len(text) == 4 and text.upper() == "NULL" for text in texts):
        return "{%s}" % ",".join(texts)
    return "{%s}" % ",".join('"%s"' % text.replace("\\", "\\\\").replace('"', '\\"') for text in texts)


def _plain_text(value):
    if value is None:
        raise ValueError("NULL has no place in an engine array")
    return str(value)
