# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""Two small database adapters (SQLite through the stdlib, PostgreSQL through psycopg 3 or
psycopg2) behind one interface the engine uses:

    with connect(url) as db:
        with db.lock():                              # one run per database, or LockHeld
            info = db.column_info(spec)              # type, width, pk type; checks `where`
            for rows in db.iter_batches(spec, 1000): # keyset pagination: [(pk, value), ...]
                db.update_batch(spec, [(pk, old, new), ...])   # one transaction, guarded by old

Identifiers come from validated ColumnSpecs and are quoted; values only ever travel as
parameters. Error messages carry the driver's primary message only: PostgreSQL's DETAIL
lines can quote row values (``Key (secret)=(...) already exists``), which may be secrets.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import hashlib
import os
import re
import sqlite3
import struct
import traceback

from urllib.parse import unquote, urlsplit

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None

try:
    import psycopg
    PSYCOPG_IMPORT_ERROR = None
except ImportError:
    psycopg = None
    PSYCOPG_IMPORT_ERROR = traceback.format_exc()

if psycopg is None:
    try:
        import psycopg2
    except ImportError:
        psycopg2 = None
    else:
        PSYCOPG_IMPORT_ERROR = None
else:
    psycopg2 = None

from ansible_collections.webops.encryption.plugins.module_utils._engine.errors import DatabaseError, LockHeld
from ansible_collections.webops.encryption.plugins.module_utils.columns import quote_identifier

HAS_PSYCOPG = psycopg is not None or psycopg2 is not None
# The name missing_required_lib() shows, and what to install.
PSYCOPG_LIBRARY = "psycopg (3) or psycopg2"

# pg_try_advisory_lock() takes a bigint: a stable one derived from the collection's name.
ADVISORY_LOCK_ID = struct.unpack(">q", hashlib.sha256(b"webops.encryption engine").digest()[:8])[0]

_PG_INT_TYPES = ("int2", "int4", "int8")
# Keyset pagination walks the table by pk: equal values at a batch boundary would be skipped.
_NOT_UNIQUE = ("%s.%s is neither the primary key nor covered by a unique index, so the table cannot be walked by it; "
               "give a unique column as pk")
_PG_TEXT_TYPES = ("varchar", "text")
_PG_JSON_TYPES = ("json", "jsonb")
# How long widening waits for a table lock before it gives up (and changes nothing): short, because
# every query on the table queues behind an ALTER that waits.
WIDEN_LOCK_TIMEOUT = "5s"


def _qualified(schema, table):
    """A PostgreSQL table as discovery names it: ``table`` in public, ``schema.table`` elsewhere."""
    return table if schema == "public" else "%s.%s" % (schema, table)


class _Named:
    """The two names _has_unique_index() reads from a spec."""

    __slots__ = ("table", "pk")

    def __init__(self, table, pk):
        self.table = table
        self.pk = pk


class ColumnInfo:
    __slots__ = ("data_type", "max_length", "pk_type", "is_json_type")

    def __init__(self, data_type, max_length, pk_type, is_json_type=False):
        self.data_type = data_type        # e.g. 'varchar', 'text', 'jsonb', or SQLite's declared type
        self.max_length = max_length      # enforced character limit, or None
        self.pk_type = pk_type            # 'bigint' | 'text' | 'uuid' (the array cast for PostgreSQL)
        self.is_json_type = is_json_type  # PostgreSQL json/jsonb: read as text, written back as JSON


def _mask(text, secrets, mask="********"):
    """``text`` with each secret replaced, the longest first (one may hold another)."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, mask)
    return text


def _greedy_userinfo(rest):
    """The userinfo read up to the LAST '@': a password with an unencoded '@', '/', '?', '#' or ':'
    is taken whole, never split into a host or a path."""
    userinfo, at, location = rest.rpartition("@")
    return (userinfo, location) if at else (None, rest)


def _standard_userinfo(rest):
    """The userinfo as URL parsers read it (the netloc up to its last '@'), if libpq reads the same
    (it ends the userinfo at the first '@' before any '/'), and no '@' lies outside the values of
    the query string; else None. Only then may an '@' follow the host: ``?password=s3cr@t``."""
    netloc_end = min([rest.index(c) for c in "/?#" if c in rest] or [len(rest)])
    userinfo, at, _host = rest[:netloc_end].rpartition("@")
    standard = userinfo if at else None
    libpq_end = min([rest.index(c) for c in "@/" if c in rest] or [len(rest)])
    libpq = rest[:libpq_end] if rest[libpq_end:libpq_end + 1] == "@" else None
    if standard != libpq:
        return None
    tail = rest[netloc_end:]
    path, _question, query = tail.split("#", 1)[0].partition("?")
    if "@" in path or "@" in tail.partition("#")[2]:
        return None
    if any("@" in parameter.partition("=")[0] for parameter in query.split("&")):
        return None
    return (standard, rest[len(standard) + 1:]) if at else (None, rest)


def _split_userinfo(url):
    """(scheme, user, password or None, what follows the userinfo) of a DATABASE_URL, or None if
    it is not a URL. A URL every parser reads alike is split where they split it; any other is
    read up to the last '@' (see _greedy_userinfo), which _refuse_unencoded then refuses."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    userinfo, location = _standard_userinfo(rest) or _greedy_userinfo(rest)
    if userinfo is None:
        return scheme, None, None, location
    user, colon, password = userinfo.partition(":")
    return scheme, user, password if colon else None, location


# libpq's connection parameters that hold a secret (password, sslpassword, oauth_client_secret, ...);
# any parameter so named is masked, whatever its spelling.
_SECRET_PARAMETER_RE = re.compile(r"pass|secret|token|pwd", re.IGNORECASE)


def _is_password_parameter(parameter):
    return bool(_SECRET_PARAMETER_RE.search(unquote(parameter.partition("=")[0])))


def _query_passwords(location):
    query = location.split("#", 1)[0].partition("?")[2]
    return [parameter.partition("=")[2] for parameter in query.split("&") if _is_password_parameter(parameter)]


def describe_url(url):
    """A DATABASE_URL to show in results and messages: as written, with only the password (and
    any secret query parameter: password, sslpassword, ...) replaced by ``***``, e.g.
    postgresql://webops:***@localhost:5432/webops_db?sslpassword=***."""
    parts = _split_userinfo(url)
    if parts is None:
        return "(a DATABASE_URL that is not a URL)"
    scheme, user, password, location = parts
    if scheme.lower() == "sqlite":
        return url
    path, question, query = location.split("#", 1)[0].partition("?")
    if question:
        query = "?" + "&".join(parameter.partition("=")[0] + "=***" if _is_password_parameter(parameter) else parameter
                               for parameter in query.split("&"))
    shown_user = "" if user is None else user + (":***" if password is not None else "") + "@"
    shown = "%s://%s%s%s" % (scheme, shown_user, path, query)
    # Whatever another reading of the URL takes for a password goes too (a password with an
    # unencoded '/' or '?' that a parser reads as a host and a path).
    masked = set()
    for candidate in [password] + _query_passwords(location):
        masked.update((candidate, unquote(candidate or "")))
    return _mask(shown, [candidate for candidate in url_passwords(url) if candidate not in masked], "***")


def url_passwords(url):
    """Every form of the password(s) in a DATABASE_URL that must never be shown: as written and
    percent-decoded, in the userinfo as every reading takes it (up to the last '@', as a URL parser
    and as libpq read it) and in secret query parameters."""
    found = []
    parts = _split_userinfo(url)
    if parts is None or parts[0].lower() == "sqlite":
        return found
    rest = url.partition("://")[2]
    candidates = [parts[2]] + _query_passwords(parts[3])
    greedy, location = _greedy_userinfo(rest)
    candidates.append(greedy.partition(":")[2] if greedy is not None else None)
    candidates.extend(_query_passwords(location))
    libpq_end = min([rest.index(c) for c in "@/" if c in rest] or [len(rest)])
    if rest[libpq_end:libpq_end + 1] == "@":
        candidates.append(rest[:libpq_end].partition(":")[2])
    candidates.extend(_query_passwords(rest))
    try:
        candidates.append(urlsplit(url).password)
    except ValueError:  # an unbalanced '[': the robust reading above still holds the password
        pass
    for candidate in candidates:
        for form in (candidate, unquote(candidate or "")):
            if form and form not in found:
                found.append(form)
    return found


def _refuse_unencoded(url):
    """A password with an unencoded '/', '?' or '#' is read by URL parsers (the application's too)
    as the end of the host, and libpq ends the password at its first '@': refuse any URL they read
    differently, naming the fix, before anything connects. An '@' in a query value is fine."""
    if _standard_userinfo(url.partition("://")[2]) is None:
        raise DatabaseError("DATABASE_URL %s: the user name or password holds an unencoded '/', '?', '#' or '@' (or "
                            "an '@' follows them), which URL parsers read as the end of the password or the host; "
                            "percent-encode these characters (/ as %%2F, ? as %%3F, # as %%23, @ as %%40) and run again"
                            % describe_url(url))


def connect(url, connect_timeout=10):
    """Open an adapter for a DATABASE_URL (``sqlite:////abs/path`` or ``postgresql://user:pass@host:port/db``)."""
    if not isinstance(url, str) or not url:
        raise DatabaseError("no database URL: give database_url, or env_file with DATABASE_URL in it")
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        return SQLiteAdapter(url, connect_timeout=connect_timeout)
    if scheme in ("postgresql", "postgres", "pgsql"):
        _refuse_unencoded(url)
        return PostgresAdapter(url, connect_timeout=connect_timeout)
    raise DatabaseError("unsupported DATABASE_URL scheme %r: use sqlite:////absolute/path or "
                        "postgresql://user:password@host:port/dbname" % scheme)


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
        return connect(self._url, self._connect_timeout)

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        raise NotImplementedError

    def _fetch(self, sql, params=()):
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
            raise DatabaseError(_NOT_UNIQUE % (spec.table, spec.pk))
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

    def _write(self, sql, params_seq):
        cur = self.conn.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE")
            try:
                cur.executemany(sql, params_seq)
                count = cur.rowcount
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            return cur, count
        except sqlite3.Error as exc:
            raise DatabaseError("SQLite: %s" % exc)

    def _commit(self, cur):
        try:
            cur.execute("COMMIT")
        except sqlite3.Error as exc:
            raise DatabaseError("SQLite: %s" % exc)

    def update_batch(self, spec, info, rows, before_commit=None):
        """rows: [(pk, old, new)]. One transaction; a row whose value changed since it was read
        is left alone (the guard on the old value). Returns the number of rows written."""
        sql = "UPDATE %s SET %s = ? WHERE %s = ? AND %s = ?" % (
            quote_identifier(spec.table), quote_identifier(spec.column), quote_identifier(spec.pk), quote_identifier(spec.column))
        cur, count = self._write(sql, [(new, pk, old) for pk, old, new in rows])
        return self._finish(cur, count, before_commit)

    def delete_batch(self, spec, info, rows, before_commit=None):
        """rows: [(pk, old)]. Deletes rows still holding ``old``."""
        sql = "DELETE FROM %s WHERE %s = ? AND %s = ?" % (
            quote_identifier(spec.table), quote_identifier(spec.pk), quote_identifier(spec.column))
        cur, count = self._write(sql, list(rows))
        return self._finish(cur, count, before_commit)

    def _finish(self, cur, count, before_commit):
        try:
            if before_commit is not None:
                before_commit(count)
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        self._commit(cur)
        return count

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


class PostgresAdapter(Adapter):
    kind = "postgresql"

    def __init__(self, url, connect_timeout=10):
        super(PostgresAdapter, self).__init__(url, connect_timeout)
        if not HAS_PSYCOPG:
            raise ImportError("the Python library psycopg (3) or psycopg2 is required for PostgreSQL "
                              "(Debian: python3-psycopg2)")
        # Strings that must never appear in an error message.
        self._secrets = [url] + url_passwords(url)
        url = "postgresql" + url[url.index(":"):]
        try:
            if psycopg is not None:
                self.conn = psycopg.connect(url, autocommit=True, connect_timeout=connect_timeout)
            else:
                self.conn = psycopg2.connect(url, connect_timeout=connect_timeout)
                self.conn.autocommit = True
        except Exception as exc:  # the drivers raise several kinds here; all get masked
            raise DatabaseError("cannot connect to %s: %s" % (self.description, self._message(exc)))
        self._locked = False

    def _message(self, exc):
        diag = getattr(exc, "diag", None)
        primary = getattr(diag, "message_primary", None) if diag is not None else None
        text = primary or str(exc).strip().split("\n", maxsplit=1)[0]
        return _mask(text, self._secrets)

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
        if psycopg is not None and isinstance(exc, psycopg.Error) or psycopg2 is not None and isinstance(exc, psycopg2.Error):
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
            raise DatabaseError(_NOT_UNIQUE % (spec.table, spec.pk))
        if spec.where:
            self._fetch("SELECT 1 FROM %s WHERE (%s) LIMIT 0" % (quote_identifier(spec.table), spec.where))
        return ColumnInfo(typname, max_length, pk_type, typname in _PG_JSON_TYPES)

    def _write(self, sql, params, before_commit):
        cur = self.conn.cursor()
        try:
            cur.execute("BEGIN")
            try:
                cur.execute(sql, params)
                count = cur.rowcount
                if before_commit is not None:
                    before_commit(count)
            except BaseException:
                if not getattr(self.conn, "closed", False):
                    cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
            return count
        except Exception as exc:
            raise self._error(exc)
        finally:
            cur.close()

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
                cur.execute("SET LOCAL lock_timeout = '%s'" % WIDEN_LOCK_TIMEOUT)
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
                if not getattr(self.conn, "closed", False):
                    cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
        except Exception as exc:
            if getattr(exc, "sqlstate", None) == "55P03" or getattr(exc, "pgcode", None) == "55P03":
                raise DatabaseError("could not lock %s within %s to widen its token column: the application, a "
                                    "migration or a backup holds the table. Nothing was changed; run again when it "
                                    "is free (or widen the column by hand)"
                                    % (", ".join(sorted(set(spec.table for spec, _info, _width in changes))),
                                       WIDEN_LOCK_TIMEOUT))
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

    @staticmethod
    def _arrays(*columns):
        """Array parameters and their placeholder: binary lists with psycopg 3 (neither side parses
        text), array literals with psycopg2."""
        if psycopg is not None:
            return [list(column) for column in columns], "%b"
        return [array_literal(column) for column in columns], "%s"

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
