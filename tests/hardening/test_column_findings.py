# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Token columns the engine cannot rewrite, and rows it did not write: a char(n) column is refused
before anything is written (its padding defeats the guard on the old value), and a result never
counts as rotated or encrypted a row that the guard left alone. Real PostgreSQL and SQLite; a
trigger that skips the update of one row makes the conflict deterministic."""

import pytest
from cryptography.fernet import Fernet

from ansible_collections.webops.encryption.plugins.module_utils import _db as db
from ansible_collections.webops.encryption.plugins.module_utils import columns, engine, fernet

from support import webops_db

SPEC = columns.ColumnSpec("vault_item", "secret")


def _query(url, sql, params=()):
    conn = webops_db.Database(url)
    try:
        return conn.query(sql, params)
    finally:
        conn.close()


def _execute(url, *statements):
    conn = webops_db.Database(url)
    try:
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


def _insert(url, values):
    conn = webops_db.Database(url)
    try:
        for pk, value in values.items():
            conn.execute("INSERT INTO vault_item (id, secret) VALUES (?, ?)", (pk, value))
        conn.commit()
    finally:
        conn.close()


def test_a_char_column_is_refused_before_anything_is_written(pg_url, tally):
    old = fernet.generate_key()
    _execute(pg_url, "CREATE TABLE vault_item (id integer PRIMARY KEY, secret char(200))")
    _insert(pg_url, {1: Fernet(old.encode()).encrypt(b"one").decode(), 2: Fernet(old.encode()).encrypt(b"two").decode()})
    before = _query(pg_url, "SELECT id, secret FROM vault_item ORDER BY id")
    with db.connect(pg_url) as adapter:
        try:
            result = engine.rotate(adapter, [SPEC], fernet.generate_key(), [old])
        except engine.EngineError as exc:
            message, result = str(exc), None
        else:
            message = ""
    ok = result is None and "char(200)" in message and "TYPE varchar(200);" in message and "Nothing was written" in message
    tally.input("char(n) token column (refused with the ALTER that fixes it)", ok, message or repr(result)[:160])
    assert result is None, result
    assert "char(200)" in message and 'ALTER TABLE "vault_item" ALTER COLUMN "secret" TYPE varchar(200);' in message
    assert _query(pg_url, "SELECT id, secret FROM vault_item ORDER BY id") == before


def test_the_preflight_audit_refuses_a_char_column_too(pg_url):
    _execute(pg_url, "CREATE TABLE vault_item (id integer PRIMARY KEY, secret character)")
    with db.connect(pg_url) as adapter:
        with pytest.raises(engine.EngineError) as caught:
            engine.audit(adapter, [SPEC], {"current": fernet.generate_key()})
    assert "char(1)" in str(caught.value) and "varchar(1)" in str(caught.value)


_SKIP_ROW_2 = {
    "postgresql": ("CREATE FUNCTION keep_row_2() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN IF OLD.id = 2 THEN RETURN NULL; END IF; RETURN NEW; END $$",
                   "CREATE TRIGGER keep_row_2 BEFORE UPDATE ON vault_item FOR EACH ROW EXECUTE FUNCTION keep_row_2()"),
    "sqlite": ("CREATE TRIGGER keep_row_2 BEFORE UPDATE ON vault_item FOR EACH ROW WHEN OLD.id = 2 "
               "BEGIN SELECT RAISE(IGNORE); END",),
}


@pytest.mark.parametrize("operation", ["rotate", "encrypt"])
def test_a_row_the_guard_left_alone_is_never_counted_as_written(db_url, operation, tally):
    backend = "sqlite" if db_url.startswith("sqlite") else "postgresql"
    old, new = fernet.generate_key(), fernet.generate_key()
    _execute(db_url, "CREATE TABLE vault_item (id integer PRIMARY KEY, secret text)", *_SKIP_ROW_2[backend])
    if operation == "rotate":
        _insert(db_url, dict((pk, Fernet(old.encode()).encrypt(b"secret %d" % pk).decode()) for pk in (1, 2, 3)))
    else:
        _insert(db_url, dict((pk, "plaintext secret %d" % pk) for pk in (1, 2, 3)))
    with db.connect(db_url) as adapter:
        if operation == "rotate":
            result = engine.rotate(adapter, [SPEC], new, [old], workers=1)
            written_field = "rotated"
        else:
            result = engine.encrypt(adapter, [SPEC], new, workers=1)
            written_field = "newly_encrypted"
    column = result["columns"][0]
    still_old = _query(db_url, "SELECT secret FROM vault_item WHERE id = 2")[0][0]
    ok = (column[written_field] == 2 and column["rows_written"] == 2 and column["conflicts"] == 1 and column["total"] == 3
          and result["totals"][written_field] == 2)
    tally.input("row left alone by the guard (%s, %s): never counted as written" % (operation, backend), ok, repr(column))
    assert still_old.startswith("gAAAAA") if operation == "rotate" else still_old == "plaintext secret 2"
    assert (column[written_field], column["rows_written"], column["conflicts"], column["total"]) == (2, 2, 1, 3), column


def test_a_secret_key_rotation_counts_only_the_rows_it_wrote(sqlite_url, tally):
    from ansible_collections.webops.encryption.plugins.module_utils import secret_key
    old = "django-insecure-test"
    webops_db.create_schema(sqlite_url)
    webops_db.seed(sqlite_url, fernet.generate_key(), users=2, secret_key=old)
    held = _query(sqlite_url, "SELECT min(id) FROM core_configuration WHERE is_sensitive")[0][0]
    _execute(sqlite_url, "CREATE TRIGGER keep_one BEFORE UPDATE ON core_configuration FOR EACH ROW WHEN OLD.id = %d "
                         "BEGIN SELECT RAISE(IGNORE); END" % held)
    with db.connect(sqlite_url) as adapter:
        result = secret_key.rotate(adapter, columns.resolve("webops"), secret_key.generate(), [old])
    totals = result["totals"]
    ok = totals["conflicts"] == 1 and totals["rotated"] == totals["rows_written"] and totals["rows_written"] >= 1
    tally.input("row left alone by the guard (SECRET_KEY rotation): never counted as rotated", ok, repr(totals))
    assert ok, totals
