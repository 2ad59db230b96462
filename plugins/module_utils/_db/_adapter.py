# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""The interface the engine uses, shared by every adapter: batches read by keyset pagination,
writes in one transaction per batch (the drivers differ only in small hooks), and what discovery
reads. The drivers are in _sqlite, _postgres (with _psycopg and _psycopg2)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.webops.encryption.plugins.module_utils._db._urls import describe_url
from ansible_collections.webops.encryption.plugins.module_utils._errors import DatabaseError
from ansible_collections.webops.encryption.plugins.module_utils.columns import quote_identifier

# Keyset pagination walks the table by pk: equal values at a batch boundary would be skipped.
NOT_UNIQUE = ("%s.%s is neither the primary key nor covered by a unique index, so the table cannot be walked by it; "
              "give a unique column as pk")


class ColumnInfo:
    __slots__ = ("data_type", "max_length", "pk_type", "is_json_type")

    def __init__(self, data_type, max_length, pk_type, is_json_type=False):
        self.data_type = data_type        # e.g. 'varchar', 'text', 'jsonb', or SQLite's declared type
        self.max_length = max_length      # enforced character limit, or None
        self.pk_type = pk_type            # 'bigint' | 'text' | 'uuid' (the array cast for PostgreSQL)
        self.is_json_type = is_json_type  # PostgreSQL json/jsonb: read as text, written back as JSON


class Adapter:
    kind = None
    placeholder = "%s"

    def __init__(self, url, connect_timeout=10):
        self.description = describe_url(url)
        self._url = url
        self._connect_timeout = connect_timeout

    def __enter__(self):
        return self

    def reopen(self):
        """A second connection to the same database, for the thread that commits batches."""
        return type(self)(self._url, self._connect_timeout)

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        raise NotImplementedError

    def _fetch(self, sql, params=()):
        raise NotImplementedError

    def _error(self, exc):
        """``exc`` as the DatabaseError to raise, if it is the driver's; else ``exc`` itself."""
        raise NotImplementedError

    def widen_columns(self, changes):
        """Widen [(spec, info, width)] in one transaction. Only a database that enforces widths has any."""
        raise DatabaseError("%s does not enforce column widths: nothing to widen" % self.kind)

    # -- helpers shared by both adapters -------------------------------------------------------
    def _select_sql(self, spec, info, first):
        value = quote_identifier(spec.column) + ("::text" if info.is_json_type else "")
        conditions = [] if first else ["%s > %s" % (quote_identifier(spec.pk), self.placeholder)]
        if spec.where:
            # psycopg reads every % of a query with parameters as a placeholder.
            conditions.append("(%s)" % (spec.where.replace("%", "%%") if self.placeholder == "%s" else spec.where))
        return "SELECT %s, %s FROM %s%s ORDER BY %s LIMIT %s" % (
            quote_identifier(spec.pk), value, quote_identifier(spec.table),
            " WHERE " + " AND ".join(conditions) if conditions else "",
            quote_identifier(spec.pk), self.placeholder)

    def count_rows(self, spec):
        """How many rows iter_batches will yield for ``spec`` (the total of a progress report)."""
        sql = "SELECT count(*) FROM %s" % quote_identifier(spec.table)
        if spec.where:
            sql += " WHERE (%s)" % spec.where
        return self._fetch(sql)[0][0]

    def stored_values(self, spec, info, pks):
        """{pk: value} of the rows ``pks`` as they are now (to tell written rows from conflicts)."""
        found = {}
        value = quote_identifier(spec.column) + ("::text" if info.is_json_type else "")
        for start in range(0, len(pks), 500):
            chunk = list(pks[start:start + 500])
            found.update(self._fetch("SELECT %s, %s FROM %s WHERE %s IN (%s)" % (
                quote_identifier(spec.pk), value, quote_identifier(spec.table), quote_identifier(spec.pk),
                ", ".join([self.placeholder] * len(chunk))), chunk))
        return found

    def iter_batches(self, spec, info, batch_size):
        """Yield lists of (pk, value) in primary-key order: keyset pagination, never OFFSET,
        at most ``batch_size`` rows in memory, each SELECT its own short transaction."""
        last = None
        while True:
            if last is None:
                rows = self._fetch(self._select_sql(spec, info, True), (batch_size,))
            else:
                rows = self._fetch(self._select_sql(spec, info, False), (last, batch_size))
            if not rows:
                return
            _check_text(spec, rows)
            yield rows
            if len(rows) < batch_size:
                return
            last = rows[-1][0]

    # -- writes: one transaction per batch ------------------------------------------------------
    # What the drivers do differently in it: how the transaction begins, how the statement runs
    # (SQLite once per row, PostgreSQL once per batch) and whether the connection is still there
    # to roll back on.
    begin = "BEGIN"

    def _execute_write(self, cur, sql, params):
        cur.execute(sql, params)

    def _is_open(self):
        return True

    def _write(self, sql, params, before_commit):
        """Run one write statement in its own transaction and return the rows it changed.
        ``before_commit(count)`` runs before the COMMIT; if it raises, the batch is rolled back."""
        cur = self.conn.cursor()
        try:
            cur.execute(self.begin)
            try:
                self._execute_write(cur, sql, params)
                count = cur.rowcount
                if before_commit is not None:
                    before_commit(count)
            except BaseException:
                if self._is_open():
                    cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
            return count
        except Exception as exc:
            raise self._error(exc)
        finally:
            cur.close()

    # -- discovery: every text column outside the token columns, read for candidates only -------

    def iter_candidates(self, table, batch_size):
        """Yield lists of (row id, value or None per column of ``table``, a DiscoveryTable): one
        pass over the table that sends only values holding TOKEN_MARK (the server filters and
        blanks the rest), at most ``batch_size`` rows in memory. Reads only."""
        tests = [self._holds_mark(quote_identifier(name) + ("::text" if as_text else "")) for name, _type, as_text in table.columns]
        values = ["CASE WHEN %s THEN %s%s END" % (test, quote_identifier(name), "::text" if as_text else "")
                  for test, (name, _type, as_text) in zip(tests, table.columns)]
        sql = "SELECT %s, %s FROM %s WHERE %s" % (table.row_id, ", ".join(values), quote_identifier(table.name), " OR ".join(tests))
        return self._stream(sql, batch_size)

    def _holds_mark(self, expression):
        raise NotImplementedError

    def _stream(self, sql, batch_size):
        raise NotImplementedError


class DiscoveryTable:
    """A table discovery reads: its name (``schema.table`` outside PostgreSQL's public schema),
    the unique column that names its rows (or None), the SQL of the row id it reports, and its
    text columns [(name, declared type, read as text)]."""

    __slots__ = ("name", "pk", "row_id", "columns", "notes")

    def __init__(self, name, pk, row_id, columns):
        self.name = name
        self.pk = pk
        self.row_id = row_id
        self.columns = columns
        self.notes = {}  # {column: what a rotation needs before it can cover the column}


# Every Fernet token begins with it (version byte 0x80 and a timestamp below 2**32 seconds), in
# both base64 alphabets; discovery reads only values that contain it.
TOKEN_MARK = "gAAAAA"
_PLAIN_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def plain_name(name):
    """True when ``name`` can be quoted by quote_identifier (others are reported, never read)."""
    return isinstance(name, str) and _PLAIN_NAME_RE.fullmatch(name) is not None


_TYPE_NAMES = {bytes: "BLOB", int: "integer", float: "real"}


def _check_text(spec, rows):
    """Token columns hold text (or NULL): refuse any other value by its row, never showing it."""
    if {type(row[1]) for row in rows} <= {str, type(None)}:
        return
    for pk, value in rows:
        if value is not None and not isinstance(value, str):
            raise DatabaseError("%s.%s holds a %s value in row %s, where tokens and secrets are text; nothing was "
                                "written: convert that value to text or remove it, then run again"
                                % (spec.table, spec.column, _TYPE_NAMES.get(type(value), type(value).__name__), pk))
