# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""The PostgreSQL adapter, whichever driver (psycopg 3 in _psycopg, psycopg2 in _psycopg2), and its
run lock (a session-level advisory lock). Error messages carry the driver's primary message only:
DETAIL lines can quote row values, which may be secrets."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import struct

from ansible_collections.webops.encryption.plugins.module_utils._db._adapter import (
    NOT_UNIQUE, TOKEN_MARK, Adapter, ColumnInfo, DiscoveryTable, plain_name)
from ansible_collections.webops.encryption.plugins.module_utils._db._urls import mask, url_passwords
from ansible_collections.webops.encryption.plugins.module_utils._errors import DatabaseError, LockHeld
from ansible_collections.webops.encryption.plugins.module_utils.columns import quote_identifier

# pg_try_advisory_lock() takes a bigint: a stable one derived from the collection's name.
ADVISORY_LOCK_ID = struct.unpack(">q", hashlib.sha256(b"webops.encryption engine").digest()[:8])[0]

_PG_INT_TYPES = ("int2", "int4", "int8")
_PG_TEXT_TYPES = ("varchar", "text")
_PG_JSON_TYPES = ("json", "jsonb")
# How long widening waits for a table lock before it gives up (and changes nothing): short, because
# every query on the table queues behind an ALTER that waits.
WIDEN_LOCK_TIMEOUT = "5s"


def _qualified(schema, table):
    """A PostgreSQL table as discovery names it: ``table`` in public, ``schema.table`` elsewhere."""
    return table if schema == "public" else "%s.%s" % (schema, table)


class PostgresAdapter(Adapter):
    kind = "postgresql"

    def __init__(self, url, driver, connect_timeout=10, widen_lock_timeout=WIDEN_LOCK_TIMEOUT):
        """``driver``: the psycopg or psycopg2 module (connect() chose it)."""
        super(PostgresAdapter, self).__init__(url, connect_timeout)
        self.driver = driver
        self._widen_lock_timeout = widen_lock_timeout
        # Strings that must never appear in an error message.
        self._secrets = [url] + url_passwords(url)
        url = "postgresql" + url[url.index(":"):]
        try:
            self.conn = self._connect(url, connect_timeout)
        except Exception as exc:  # the drivers raise several kinds here; all get masked
            raise DatabaseError("cannot connect to %s: %s" % (self.description, self._message(exc)))
        self._locked = False

    def _connect(self, url, connect_timeout):
        """A connection in autocommit mode (each statement its own transaction unless BEGIN)."""
        raise NotImplementedError

    def reopen(self):
        return type(self)(self._url, self.driver, self._connect_timeout, self._widen_lock_timeout)

    def _message(self, exc):
        diag = getattr(exc, "diag", None)
        primary = getattr(diag, "message_primary", None) if diag is not None else None
        text = primary or str(exc).strip().split("\n", maxsplit=1)[0]
        return mask(text, self._secrets)

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            finally:
                self.conn = None

    def _execute(self, sql, params=None):
        cur = self.conn.cursor()
        try:
            cur.execute(sql, params)
        except Exception as exc:
            cur.close()
            raise self._error(exc)
        return cur

    def _error(self, exc):
        if isinstance(exc, DatabaseError):
            return exc
        if isinstance(exc, self.driver.Error):
            lost = getattr(self.conn, "closed", False)
            suffix = " (connection lost: committed batches are complete; run again to finish)" if lost else ""
            return DatabaseError("PostgreSQL: %s%s" % (self._message(exc), suffix))
        return exc

    def _fetch(self, sql, params=None):
        cur = self._execute(sql, params)
        try:
            return cur.fetchall()
        finally:
            cur.close()

    def lock(self):
        return _PostgresLock(self)

    def column_info(self, spec):
        rows = self._fetch(
            "SELECT a.attname, t.typname, a.atttypmod FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
            "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped AND a.attname = ANY(%s)",
            (quote_identifier(spec.table), [spec.column, spec.pk]))
        found = dict((name, (typname, typmod)) for name, typname, typmod in rows)
        if not found and not self._fetch("SELECT to_regclass(%s) IS NOT NULL", (quote_identifier(spec.table),))[0][0]:
            raise DatabaseError("table %s does not exist in %s" % (spec.table, self.description))
        for name in (spec.column, spec.pk):
            if name not in found:
                raise DatabaseError("column %s.%s does not exist in %s" % (spec.table, name, self.description))
        typname, typmod = found[spec.column]
        if typname == "bpchar":
            # char(n) pads every value with spaces: the guard on the old value never matches the
            # padded text, so no token would ever be written. Casting to varchar drops the padding.
            declared, varchar = ("char(%d)" % (typmod - 4), "varchar(%d)" % (typmod - 4)) if typmod > 4 else ("bpchar", "text")
            raise DatabaseError("column %s.%s is %s, which pads every value with spaces: tokens cannot be rewritten "
                                "in place there. Nothing was written; change it to varchar first (this drops the "
                                "padding), then run again: ALTER TABLE %s ALTER COLUMN %s TYPE %s;"
                                % (spec.table, spec.column, declared, quote_identifier(spec.table),
                                   quote_identifier(spec.column), varchar))
        if typname not in _PG_TEXT_TYPES + _PG_JSON_TYPES:
            raise DatabaseError("column %s.%s has type %s; tokens are stored in varchar, text, json or jsonb columns"
                                % (spec.table, spec.column, typname))
        if spec.is_json != (typname in _PG_JSON_TYPES) and typname in _PG_JSON_TYPES:
            raise DatabaseError("column %s.%s is %s: give json_keys to say which keys hold tokens" % (spec.table, spec.column, typname))
        max_length = typmod - 4 if typname == "varchar" and typmod > 4 else None
        if spec.is_json and max_length is not None:
            raise DatabaseError("column %s.%s is %s(%d): a JSON column with json_keys must be text, json or jsonb"
                                % (spec.table, spec.column, typname, max_length))
        pk_typname = found[spec.pk][0]
        if pk_typname in _PG_INT_TYPES:
            pk_type = "bigint"
        elif pk_typname in ("uuid",):
            pk_type = "uuid"
        elif pk_typname in ("text", "varchar"):
            pk_type = "text"
        else:
            raise DatabaseError("primary key %s.%s has type %s; integer, text and uuid keys are supported"
                                % (spec.table, spec.pk, pk_typname))
        unique = self._fetch(
            "SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
            "WHERE i.indrelid = to_regclass(%s) AND i.indisunique AND i.indnatts = 1 AND i.indpred IS NULL AND a.attname = %s)",
            (quote_identifier(spec.table), spec.pk))[0][0]
        if not unique:
            raise DatabaseError(NOT_UNIQUE % (spec.table, spec.pk))
        if spec.where:
            self._fetch("SELECT 1 FROM %s WHERE (%s) LIMIT 0" % (quote_identifier(spec.table), spec.where))
        return ColumnInfo(typname, max_length, pk_type, typname in _PG_JSON_TYPES)

    def _is_open(self):
        return not getattr(self.conn, "closed", False)

    def widen_columns(self, changes):
        """Widen each (spec, info, width) to varchar(width), all in one transaction that first takes
        each table's lock (waiting at most WIDEN_LOCK_TIMEOUT: a running application may hold it, and
        every query on the table queues behind a waiting ALTER) and then re-reads the column's width:
        a column a migration widened or made text since the scan read it is never narrowed. Growing
        a varchar rewrites no row and keeps NOT NULL, defaults, unique constraints and indexes.
        Returns [(spec, width before, width after)], width None for an unlimited column."""
        done = []
        cur = self.conn.cursor()
        try:
            cur.execute("BEGIN")
            try:
                cur.execute("SET LOCAL lock_timeout = '%s'" % self._widen_lock_timeout)
                for spec, _info, width in changes:
                    table, column = quote_identifier(spec.table), quote_identifier(spec.column)
                    cur.execute("LOCK TABLE %s IN ACCESS EXCLUSIVE MODE" % table)
                    cur.execute("SELECT t.typname, a.atttypmod FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
                                "WHERE a.attrelid = to_regclass(%s) AND a.attname = %s AND NOT a.attisdropped",
                                (table, spec.column))
                    typname, typmod = cur.fetchone()
                    current = typmod - 4 if typname == "varchar" and typmod > 4 else None
                    if current is not None and current < int(width):
                        cur.execute("ALTER TABLE %s ALTER COLUMN %s TYPE varchar(%d)" % (table, column, int(width)))
                        done.append((spec, current, int(width)))
                    else:
                        done.append((spec, current, current))
            except BaseException:
                if self._is_open():
                    cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
        except Exception as exc:
            if getattr(exc, "sqlstate", None) == "55P03" or getattr(exc, "pgcode", None) == "55P03":
                raise DatabaseError("could not lock %s within %s to widen its token column: the application, a "
                                    "migration or a backup holds the table. Nothing was changed; run again when it "
                                    "is free (or widen the column by hand)"
                                    % (", ".join(sorted(set(spec.table for spec, _info, _width in changes))),
                                       self._widen_lock_timeout))
            raise self._error(exc)
        finally:
            cur.close()
        return done

    def update_batch(self, spec, info, rows, before_commit=None):
        """rows: [(pk, old, new)] in primary-key order. One set-based UPDATE in one transaction; a
        row whose value changed since it was read is left alone (the guard on the old value).
        Returns rows written."""
        arrays, placeholder = self._arrays([row[0] for row in rows], [row[1] for row in rows], [row[2] for row in rows])
        sql = ("UPDATE {table} AS t SET {column} = {new} FROM unnest({p}::{pk_type}[], {p}::text[], {p}::text[]) "
               "AS v(pk, old, new) WHERE {match}").format(
            table=quote_identifier(spec.table), column=quote_identifier(spec.column),
            new="v.new::%s" % info.data_type if info.is_json_type else "v.new", p=placeholder, pk_type=info.pk_type,
            match=self._match(spec, info))
        return self._write(sql, arrays + [rows[0][0], rows[-1][0]], before_commit)

    def delete_batch(self, spec, info, rows, before_commit=None):
        """rows: [(pk, old)] in primary-key order. Deletes rows still holding ``old``."""
        arrays, placeholder = self._arrays([row[0] for row in rows], [row[1] for row in rows])
        sql = "DELETE FROM {table} AS t USING unnest({p}::{pk_type}[], {p}::text[]) AS v(pk, old) WHERE {match}".format(
            table=quote_identifier(spec.table), p=placeholder, pk_type=info.pk_type, match=self._match(spec, info))
        return self._write(sql, arrays + [rows[0][0], rows[-1][0]], before_commit)

    @staticmethod
    def _match(spec, info):
        """The join to the batch, the guard on the old value, and the batch's key range (without
        which the planner may hash the whole table for every batch). Two parameters: first, last key."""
        pk, column = quote_identifier(spec.pk), quote_identifier(spec.column)
        return "t.{pk} = v.pk AND t.{column}{as_text} = v.old AND t.{pk} BETWEEN %s::{pk_type} AND %s::{pk_type}".format(
            pk=pk, column=column, as_text="::text" if info.is_json_type else "", pk_type=info.pk_type)

    def _arrays(self, *columns):
        """Array parameters and their placeholder (binary lists with psycopg 3, literals with psycopg2)."""
        raise NotImplementedError

    # -- discovery ----------------------------------------------------------------------------

    def table_name(self, table):
        """The name discovery gives ``table`` (a validated name): as the server resolves it
        (search_path), schema-qualified outside public; None if it does not exist."""
        rows = self._fetch("SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                           "WHERE c.oid = to_regclass(%s)", (quote_identifier(table),))
        return _qualified(*rows[0]) if rows else None

    def discovery_tables(self):
        """(tables to read, [(table, reason)] not read): every table of every schema but the
        system ones whose text, varchar, char, json, jsonb or citext columns (or columns of a
        domain over one of them) this connection may read (a partitioned table is read through
        its parent)."""
        # A domain's base type may itself be a domain: walk down to the type that stores it.
        found = self._fetch(
            "WITH RECURSIVE texty(oid, base) AS ("
            "SELECT t.oid, t.typname::text FROM pg_type t WHERE (t.typnamespace = 'pg_catalog'::regnamespace "
            "AND t.typname IN ('text', 'varchar', 'bpchar', 'json', 'jsonb')) OR (t.typname = 'citext' AND t.typtype = 'b') "
            "UNION ALL SELECT d.oid, texty.base FROM pg_type d JOIN texty ON d.typbasetype = texty.oid WHERE d.typtype = 'd') "
            "SELECT c.oid, n.nspname, c.relname, a.attname, t.typname, texty.base, "
            "has_column_privilege(c.oid, a.attnum, 'SELECT') FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
            "JOIN texty ON texty.oid = a.atttypid JOIN pg_type t ON t.oid = a.atttypid "
            "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
            "AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' "
            "ORDER BY n.nspname, c.relname, a.attnum")
        keys = {}
        for oid, name, typname, primary in self._fetch(
                "SELECT i.indrelid, a.attname, t.typname, i.indisprimary FROM pg_index i "
                "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
                "JOIN pg_type t ON t.oid = a.atttypid "
                "WHERE i.indisunique AND i.indnatts = 1 AND i.indpred IS NULL AND i.indexprs IS NULL "
                "ORDER BY i.indisprimary DESC"):
            if typname in _PG_INT_TYPES + ("text", "varchar", "uuid") and plain_name(name):
                keys.setdefault(oid, name)
        tables, skipped, by_oid = [], [], {}
        for oid, schema, relname, column, typname, base, readable in found:
            name = _qualified(schema, relname)
            if not (plain_name(schema) and plain_name(relname)):
                if (name, "its name is not a plain SQL identifier") not in skipped:
                    skipped.append((name, "its name is not a plain SQL identifier"))
                continue
            if not plain_name(column) or not readable:
                skipped.append(("%s.%s" % (name, column), "this connection may not read it" if not readable
                                else "its name is not a plain SQL identifier"))
                continue
            if oid not in by_oid:
                pk = keys.get(oid)
                by_oid[oid] = DiscoveryTable(name, pk, quote_identifier(pk) if pk else "ctid::text", [])
                tables.append(by_oid[oid])
            plain = typname == base and base in _PG_TEXT_TYPES + ("bpchar",)
            if typname != base or base == "citext":
                typname = typname if typname == base else "%s (domain over %s)" % (typname, base)
                by_oid[oid].notes[column] = (
                    "fernet_rotate rewrites text, varchar, json and jsonb columns only; change the column to one "
                    "of them (ALTER TABLE ... ALTER COLUMN ... TYPE) before a rotation can cover it")
            # Read as text: json and jsonb, a domain (the driver does not know its type), and citext,
            # whose own strpos() ignores case.
            by_oid[oid].columns.append((column, typname, not plain))
        return tables, skipped

    def _holds_mark(self, expression):
        return "strpos(%s, '%s') > 0" % (expression, TOKEN_MARK)

    def _stream(self, sql, batch_size):
        """A server-side cursor in one read-only transaction: FETCH batch after batch."""
        cur = self.conn.cursor()
        try:
            cur.execute("BEGIN READ ONLY")
            try:
                cur.execute("DECLARE webops_discovery NO SCROLL CURSOR FOR " + sql)
                while True:
                    cur.execute("FETCH FORWARD %d FROM webops_discovery" % int(batch_size))
                    rows = cur.fetchall()
                    if not rows:
                        break
                    yield rows
            finally:
                if not getattr(self.conn, "closed", False):
                    cur.execute("ROLLBACK")
        except Exception as exc:
            raise self._error(exc)
        finally:
            cur.close()


class _PostgresLock:
    """A session-level advisory lock, held for the run; a dropped connection releases it."""

    def __init__(self, adapter):
        self.adapter = adapter

    def __enter__(self):
        got = self.adapter._fetch("SELECT pg_try_advisory_lock(%s)", (ADVISORY_LOCK_ID,))[0][0]
        if not got:
            raise LockHeld("another webops.encryption run is working on %s (advisory lock %d held); wait for it to "
                           "finish, then run again" % (self.adapter.description, ADVISORY_LOCK_ID))
        return self

    def __exit__(self, *exc_info):
        if self.adapter.conn is not None and not getattr(self.adapter.conn, "closed", True):
            try:
                self.adapter._fetch("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_ID,))
            except DatabaseError:
                pass  # the session is gone, and the lock with it
