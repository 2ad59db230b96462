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

This is the package's face: connect() and what callers name. The work is in one file per concern:
_urls (DATABASE_URL parsing and masking), _adapter (the shared interface and batched writes),
_sqlite, _postgres (with the drivers' bits in _psycopg and _psycopg2); each lock lives with its
database. Its errors come from _errors, which the engine shares, so this layer never imports the engine.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible_collections.webops.encryption.plugins.module_utils._db._adapter import (
    TOKEN_MARK, Adapter, ColumnInfo, DiscoveryTable, plain_name)
from ansible_collections.webops.encryption.plugins.module_utils._db._postgres import (
    ADVISORY_LOCK_ID, WIDEN_LOCK_TIMEOUT, PostgresAdapter)
from ansible_collections.webops.encryption.plugins.module_utils._db._psycopg import PsycopgAdapter
from ansible_collections.webops.encryption.plugins.module_utils._db._psycopg2 import Psycopg2Adapter, array_literal
from ansible_collections.webops.encryption.plugins.module_utils._db._sqlite import SQLiteAdapter
from ansible_collections.webops.encryption.plugins.module_utils._db._urls import (
    describe_url, refuse_unencoded, url_passwords)
from ansible_collections.webops.encryption.plugins.module_utils._errors import DatabaseError, LockHeld

# The drivers are imported on the first PostgreSQL connection, not with this package: an import of
# psycopg costs a database module's process about 0.2 s, which a SQLite database never needs.
# None: not installed. Tests set these names to pick a driver.
_NOT_LOADED = object()
psycopg = psycopg2 = _NOT_LOADED
PSYCOPG_IMPORT_ERROR = None
# The name missing_required_lib() shows, and what to install.
PSYCOPG_LIBRARY = "psycopg (3) or psycopg2"

__all__ = ["connect", "has_psycopg", "Adapter", "ColumnInfo", "DiscoveryTable", "SQLiteAdapter", "PostgresAdapter",
           "PsycopgAdapter", "Psycopg2Adapter", "DatabaseError", "LockHeld", "describe_url", "url_passwords", "array_literal",
           "plain_name", "TOKEN_MARK", "ADVISORY_LOCK_ID", "WIDEN_LOCK_TIMEOUT", "PSYCOPG_LIBRARY", "PSYCOPG_IMPORT_ERROR"]


def _load_drivers():
    """Import psycopg 3, or psycopg2 when psycopg 3 is missing, once; PSYCOPG_IMPORT_ERROR keeps why neither loads."""
    global psycopg, psycopg2, PSYCOPG_IMPORT_ERROR
    if psycopg is _NOT_LOADED:
        try:
            import psycopg as driver
        except ImportError:
            driver = None
            PSYCOPG_IMPORT_ERROR = traceback.format_exc()
        psycopg = driver
    if psycopg is None and psycopg2 is _NOT_LOADED:
        try:
            import psycopg2 as driver
        except ImportError:
            driver = None
        psycopg2 = driver
    if psycopg is not None or psycopg2 is not None:
        PSYCOPG_IMPORT_ERROR = None


def has_psycopg():
    """Whether a PostgreSQL driver loads (psycopg 3 or psycopg2); imports it the first time."""
    _load_drivers()
    return psycopg is not None or psycopg2 is not None


def connect(url, connect_timeout=10):
    """Open an adapter for a DATABASE_URL (``sqlite:////abs/path`` or ``postgresql://user:pass@host:port/db``).
    The driver and the widening lock timeout are read here, at each call, from this package's names."""
    if not isinstance(url, str) or not url:
        raise DatabaseError("no database URL: give database_url, or env_file with DATABASE_URL in it")
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        return SQLiteAdapter(url, connect_timeout=connect_timeout)
    if scheme in ("postgresql", "postgres", "pgsql"):
        refuse_unencoded(url)
        _load_drivers()
        if psycopg is not None:
            return PsycopgAdapter(url, psycopg, connect_timeout, WIDEN_LOCK_TIMEOUT)
        if psycopg2 is not None:
            return Psycopg2Adapter(url, psycopg2, connect_timeout, WIDEN_LOCK_TIMEOUT)
        raise ImportError("the Python library psycopg (3) or psycopg2 is required for PostgreSQL "
                          "(Debian: python3-psycopg2)")
    raise DatabaseError("unsupported DATABASE_URL scheme %r: use sqlite:////absolute/path or "
                        "postgresql://user:password@host:port/dbname" % scheme)
