# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""The SQLite adapter, through the standard library's sqlite3, and its run lock (flock on the
database file)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import sqlite3

from urllib.parse import unquote

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None

from ansible_collections.webops.encryption.plugins.module_utils._db._adapter import (
    NOT_UNIQUE, TOKEN_MARK, Adapter, ColumnInfo, DiscoveryTable, plain_name)
from ansible_collections.webops.encryption.plugins.module_utils._errors import DatabaseError, LockHeld
from ansible_collections.webops.encryption.plugins.module_utils.columns import quote_identifier


class _Named:
    """The two names _has_unique_index() reads from a spec."""

    __slots__ = ("table", "pk")

    def __init__(self, table, pk):
        self.table = table
        self.pk = pk


class SQLiteAdapter(Adapter):
    kind = "sqlite"
    placeholder = "?"

    def __init__(self, url, connect_timeout=10):
        super(SQLiteAdapter, self).__init__(url, connect_timeout)
        if not url.startswith("sqlite:///"):
            raise DatabaseError("a SQLite DATABASE_URL looks like sqlite:////absolute/path/db.sqlite3")
        path = unquote(url[len("sqlite:///"):].split("?", 1)[0])
        if not os.path.isabs(path):
            raise DatabaseError("SQLite path in DATABASE_URL must be absolute (sqlite:////absolute/path/db.sqlite3)")
        if not os.path.isfile(path):
            raise DatabaseError("SQLite database %s does not exist" % path)
        self.path = path
        self._lock_fd = None
        try:
            # mode=rw: never create an empty database because of a typo in the path. Any thread may
            # use the connection (the engine's committer thread does), one at a time.
            self.conn = sqlite3.connect("file:%s?mode=rw" % path.replace("?", "%3f").replace("#", "%23"),
                                        uri=True, isolation_level=None, timeout=30, check_same_thread=False)
        except sqlite3.Error as exc:
            raise DatabaseError("cannot open SQLite database %s: %s" % (path, exc))

    def reopen(self):
        # The committer's connection updates the token indexes at random places: a 32 MiB page
        # cache (SQLite's default is 2 MiB) keeps their pages in memory. It lasts as long as the connection.
        other = super(SQLiteAdapter, self).reopen()
        other._fetch("PRAGMA cache_size = -32768")
        return other

    def close(self):
        # Close the connection before the lock file descriptor: closing any descriptor of
        # the database file drops the POSIX locks SQLite holds on it in this process.
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _fetch(self, sql, params=()):
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise DatabaseError("SQLite: %s" % exc)

    def lock(self):
        return _SQLiteLock(self)

    def column_info(self, spec):
        rows = self._fetch("PRAGMA table_info(%s)" % quote_identifier(spec.table))
        if not rows:
            raise DatabaseError("table %s does not exist in %s" % (spec.table, self.description))
        types = dict((row[1], row[2] or "") for row in rows)
        for name in (spec.column, spec.pk):
            if name not in types:
                raise DatabaseError("column %s.%s does not exist in %s" % (spec.table, name, self.description))
        primary = [row[1] for row in sorted(rows, key=lambda row: row[5]) if row[5]]
        if primary != [spec.pk] and not self._has_unique_index(spec):
            raise DatabaseError(NOT_UNIQUE % (spec.table, spec.pk))
        # Let SQLite parse the operator's condition now, before anything is written.
        if spec.where:
            self._fetch("SELECT 1 FROM %s WHERE (%s) LIMIT 0" % (quote_identifier(spec.table), spec.where))
        # SQLite ignores declared widths: nothing is ever too narrow.
        return ColumnInfo(types[spec.column].lower(), None, "any")

    def _has_unique_index(self, spec):
        for _seq, name, unique, _origin, partial in self._fetch("PRAGMA index_list(%s)" % quote_identifier(spec.table)):
            if unique and not partial:
                # Index names come from the schema, not from operators: quote any of them.
                quoted = '"%s"' % name.replace('"', '""')
                if [row[2] for row in self._fetch("PRAGMA index_info(%s)" % quoted)] == [spec.pk]:
                    return True
        return False

    # Each batch takes BEGIN IMMEDIATE, so the app's own writers queue behind a batch, not a run.
    begin = "BEGIN IMMEDIATE"

    def _execute_write(self, cur, sql, params):
        cur.executemany(sql, params)

    def _error(self, exc):
        return DatabaseError("SQLite: %s" % exc) if isinstance(exc, sqlite3.Error) else exc

    def update_batch(self, spec, info, rows, before_commit=None):
        """rows: [(pk, old, new)]. One transaction; a row whose value changed since it was read
        is left alone (the guard on the old value). Returns the number of rows written."""
        sql = "UPDATE %s SET %s = ? WHERE %s = ? AND %s = ?" % (
            quote_identifier(spec.table), quote_identifier(spec.column), quote_identifier(spec.pk), quote_identifier(spec.column))
        return self._write(sql, [(new, pk, old) for pk, old, new in rows], before_commit)

    def delete_batch(self, spec, info, rows, before_commit=None):
        """rows: [(pk, old)]. Deletes rows still holding ``old``."""
        sql = "DELETE FROM %s WHERE %s = ? AND %s = ?" % (
            quote_identifier(spec.table), quote_identifier(spec.pk), quote_identifier(spec.column))
        return self._write(sql, list(rows), before_commit)

    # -- discovery ----------------------------------------------------------------------------

    def table_name(self, table):
        """The name discovery gives ``table`` (a validated name; SQLite names ignore case)."""
        return table.lower()

    def discovery_tables(self):
        """(tables to read, [(table, reason)] not read): every table and every column that can hold
        text (all but an INTEGER PRIMARY KEY, which is the rowid)."""
        tables, skipped = [], []
        for (name,) in self._fetch("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
                                   "ESCAPE '\\' ORDER BY name"):
            if not plain_name(name):
                skipped.append((name, "its name is not a plain SQL identifier"))
                continue
            info = self._fetch("PRAGMA table_info(%s)" % quote_identifier(name))
            primary = [row for row in info if row[5]]
            rowid_alias = primary[0][1] if len(primary) == 1 and (primary[0][2] or "").upper() == "INTEGER" else None
            pk = None
            if len(primary) == 1:
                pk = primary[0][1]
            else:
                for row in info:
                    if self._has_unique_index(_Named(name, row[1])):
                        pk = row[1]
                        break
            columns = [(row[1], (row[2] or "").lower(), False) for row in info if row[1] != rowid_alias]
            bad = [column for column, _type, _text in columns if not plain_name(column)]
            if bad:
                skipped.append((name, "column name(s) %s are not plain SQL identifiers" % ", ".join(bad)))
                columns = [c for c in columns if plain_name(c[0])]
            if columns:
                tables.append(DiscoveryTable(name.lower(), pk, quote_identifier(pk) if pk and plain_name(pk) else "rowid", columns))
        return tables, skipped

    def _holds_mark(self, expression):
        return "(typeof(%s) = 'text' AND instr(%s, '%s') > 0)" % (expression, expression, TOKEN_MARK)

    def _stream(self, sql, batch_size):
        try:
            cursor = self.conn.execute(sql)
            while True:
                rows = cursor.fetchmany(batch_size)
                if not rows:
                    return
                yield rows
        except sqlite3.Error as exc:
            raise DatabaseError("SQLite: %s" % exc)


class _SQLiteLock:
    """flock() on the database file for the whole run: a second run fails at once. Each batch
    also takes BEGIN IMMEDIATE, so the app's own writers queue behind a batch, not a run."""

    def __init__(self, adapter):
        self.adapter = adapter

    def __enter__(self):
        if fcntl is None:
            return self
        adapter = self.adapter
        if adapter._lock_fd is None:
            adapter._lock_fd = os.open(adapter.path, os.O_RDONLY)
        try:
            fcntl.flock(adapter._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (IOError, OSError) as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise LockHeld("another webops.encryption run is working on %s (file lock held); wait for it to "
                               "finish, then run again" % adapter.path)
            raise DatabaseError("cannot lock %s: %s" % (adapter.path, exc.strerror))
        return self

    def __exit__(self, *exc_info):
        if fcntl is not None and self.adapter._lock_fd is not None:
            fcntl.flock(self.adapter._lock_fd, fcntl.LOCK_UN)
