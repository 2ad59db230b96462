# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile keys, tokens, values, identifiers and URLs against the engine, on SQLite and PostgreSQL.

"Nothing written" is proven with webops_db.raw_digest (a hash of every stored value as it
is), "nothing lost" with webops_db.digest (a hash of every plaintext).
"""

import base64
import json
import os
import sqlite3
from urllib.parse import quote

import pytest

from ansible_collections.webops.encryption.plugins.module_utils import _db as db
from ansible_collections.webops.encryption.plugins.module_utils import columns, engine, fernet

from support import webops_db
from support.leaks import Needles

WEBOPS = columns.resolve("webops")


def _seeded(url, users=12):
    key = fernet.generate_key()
    webops_db.create_schema(url)
    webops_db.seed(url, key, users=users)
    return key


def _expect_refusal(tally, label, call, needles, exc_types=(engine.EngineError,), words=()):
    """Run ``call``; it must raise one of ``exc_types`` with a clean message. Returns the message."""
    try:
        call()
    except exc_types as exc:
        message = str(exc)
        leaks = needles.scan(message + repr(exc), label)
        ok = not leaks and all(w in message for w in words) and len(message) < 4000
        tally.input(label, ok, message[:160])
        tally.leak_check("engine error messages", leaks, label)
        assert ok, message
        return message
    tally.input(label, False, "accepted")
    raise AssertionError("%s was accepted" % label)


def test_old_key_equal_to_new_key_is_refused(db_url, tally):
    key = _seeded(db_url)
    raw = webops_db.raw_digest(db_url)
    standard = base64.b64encode(base64.urlsafe_b64decode(key)).decode()
    with db.connect(db_url) as adapter:
        for label, old in (("same text", key), ("same key, standard alphabet", standard)):
            _expect_refusal(tally, "rotate: old key == new key (%s)" % label,
                            lambda: engine.rotate(adapter, WEBOPS, key, [old], batch_size=7),
                            Needles().add_key("key", key), words=("same key",))
    assert webops_db.raw_digest(db_url) == raw


def test_wrong_old_key_writes_nothing_and_names_rows(db_url, tally):
    key = _seeded(db_url)
    raw = webops_db.raw_digest(db_url)
    wrong, new = fernet.generate_key(), fernet.generate_key()
    with db.connect(db_url) as adapter:
        message = _expect_refusal(tally, "rotate: wrong old key",
                                  lambda: engine.rotate(adapter, WEBOPS, new, [wrong], batch_size=5),
                                  Needles().add_key("key", key).add_key("new", new).add_key("wrong", wrong),
                                  exc_types=(engine.UnknownTokens,), words=("nothing was written", "core_webhook"))
        # Check mode with the wrong key says the same, also writing nothing.
        with pytest.raises(engine.UnknownTokens):
            engine.rotate(adapter, WEBOPS, new, [wrong], check_mode=True)
    assert "ids" in message
    assert webops_db.raw_digest(db_url) == raw


@pytest.mark.parametrize("bad", ["", "short", "hex", "standard-ok"])
def test_bad_new_key_is_refused_before_connecting_anything(bad, sqlite_url, tally):
    key = _seeded(sqlite_url)
    raw = webops_db.raw_digest(sqlite_url)
    value = {"": "", "short": base64.urlsafe_b64encode(os.urandom(20)).decode(), "hex": os.urandom(32).hex()}.get(bad)
    with db.connect(sqlite_url) as adapter:
        if bad == "standard-ok":
            # A standard-base64 new key is valid (the app accepts it): the rotation works and reads back.
            while True:
                std = base64.b64encode(os.urandom(32)).decode()
                if "+" in std or "/" in std:
                    break
            before = webops_db.digest(sqlite_url, [key])
            result = engine.rotate(adapter, WEBOPS, std, [key], batch_size=4)
            ok = result["totals"]["unknown"] == 0 and webops_db.digest(
                sqlite_url, [base64.urlsafe_b64encode(base64.b64decode(std)).decode()], include_unknown=False) == before
            tally.input("rotate: standard-base64 new key accepted", ok)
            assert ok
            return
        _expect_refusal(tally, "rotate: %s new key" % (bad or "empty"),
                        lambda: engine.rotate(adapter, WEBOPS, value, [key]), Needles().add_key("key", key),
                        exc_types=(engine.EngineError, ValueError), words=("must be 32",) if bad else ())
    assert webops_db.raw_digest(sqlite_url) == raw


def _malformed(key):
    token = key.encrypt("victim-secret-%s" % os.urandom(4).hex())
    data = bytearray(base64.urlsafe_b64decode(token))
    flipped = bytearray(data)
    flipped[40] ^= 0x10
    body = bytes(data[:-32])
    return {
        "truncated": token[:-6],
        "bit-flipped": base64.urlsafe_b64encode(bytes(flipped)).decode(),
        "base64-garbage": "gAAAAA" + "%%%garbage!!" * 8,
        "prefix-no-valid-hmac": base64.urlsafe_b64encode(body + os.urandom(32)).decode(),
    }


def test_malformed_tokens_are_unknown_never_rewritten(db_url, tally):
    key = _seeded(db_url, users=10)
    k = fernet.parse_key(key)
    bad = _malformed(k)
    conn = webops_db.Database(db_url)
    ids = {}
    for offset, (label, value) in enumerate(sorted(bad.items())):
        pk = 3 + offset
        conn.execute("UPDATE databases SET api_key = ? WHERE id = ?", (value, pk))
        ids[label] = pk
    conn.commit()
    conn.close()
    raw = webops_db.raw_digest(db_url)
    new = fernet.generate_key()
    with db.connect(db_url) as adapter:
        # on_unknown=fail: refused before anything is written, the four rows named.
        message = _expect_refusal(tally, "rotate: malformed tokens with on_unknown=fail",
                                  lambda: engine.rotate(adapter, WEBOPS, new, [key], on_unknown="fail", batch_size=3),
                                  Needles().add_key("key", key).add_key("new", new)
                                  .add_plaintext("victim", "victim-secret-"),
                                  exc_types=(engine.UnknownTokens,), words=("nothing was written", "databases.api_key"))
        assert webops_db.raw_digest(db_url) == raw
        for pk in ids.values():
            assert str(pk) in message
        # encrypt must never encrypt them a second time.
        result = engine.encrypt(adapter, WEBOPS, key, batch_size=3)
        api = [c for c in result["columns"] if (c["table"], c["column"]) == ("databases", "api_key")][0]
        assert api["unknown"] == 4 and sorted(api["unknown_ids"]) == sorted(ids.values())
        # on_unknown=skip: everything else rotates, the malformed values stay byte for byte.
        engine.rotate(adapter, WEBOPS, new, [key], on_unknown="skip", batch_size=3)
    conn = webops_db.Database(db_url)
    stored = dict(conn.query("SELECT id, api_key FROM databases"))
    conn.close()
    kept = all(stored[ids[label]] == value for label, value in bad.items())
    for label in bad:
        tally.input("engine: malformed token %s stays unknown" % label, stored[ids[label]] == bad[label])
    assert kept
    # Every readable value moved to the new key; only the four malformed ones open with nothing.
    missing = webops_db.not_under(db_url, new)
    assert sorted(m[2] for m in missing) == sorted(ids.values()) and all(m[:2] == ("databases", "api_key") for m in missing)


_ODD_PLAINTEXTS = [
    "ünïcödé-пароль-密码-🔑-\u202eRTL-\u0301",
    "\x01\x02\x7f\x1b[31m-control-chars",
    "ÿþýüû" * 20,
    "gAAAAA-short-but-prefixed",           # below the app's 40 characters: plaintext
    base64.b64encode(os.urandom(60)).decode(),
    "'; DROP TABLE databases; --",
    "{\"json\": \"looking\"}",
    "\\x00\\xff not really bytes",
    "  leading and trailing spaces  ",
    "tab\tand\nnewline\r\n",
]


def test_unicode_binary_looking_null_and_huge_values_round_trip(db_url, tally):
    key = _seeded(db_url, users=len(_ODD_PLAINTEXTS) + 2)
    conn = webops_db.Database(db_url)
    backend = conn.backend
    # The databases.password column (varchar(500) on PostgreSQL) gets odd plaintexts, api_key NULLs.
    for pk, text in enumerate(_ODD_PLAINTEXTS, start=1):
        conn.execute("UPDATE databases SET password = ?, api_key = NULL WHERE id = ?", (text, pk))
    # A 1 MB secret in a text column of its own table.
    conn.execute("CREATE TABLE big_secrets (id integer PRIMARY KEY, payload text, note text)")
    huge = ("0123456789abcdef-ü" * 60000)[:1024 * 1024]
    conn.execute("INSERT INTO big_secrets (id, payload, note) VALUES (1, ?, 'huge'), (2, NULL, 'null'), "
                 "(3, '', 'empty')", (huge,))
    conn.commit()
    conn.close()
    specs = columns.resolve("webops", [{"table": "big_secrets", "column": "payload"}])
    with db.connect(db_url) as adapter:
        encrypted = engine.encrypt(adapter, specs, key, batch_size=4)
    before = webops_db.digest(db_url, [key], include_unknown=False)
    conn = webops_db.Database(db_url)
    token = conn.query("SELECT payload FROM big_secrets WHERE id = 1")[0][0]
    conn.close()
    new = fernet.generate_key()
    with db.connect(db_url) as adapter:
        rotated = engine.rotate(adapter, specs, new, [key], encrypt_plaintext=True, batch_size=4)
    after = webops_db.digest(db_url, [new], include_unknown=False)
    conn = webops_db.Database(db_url)
    rows = dict(conn.query("SELECT id, payload FROM big_secrets"))
    passwords = dict(conn.query("SELECT id, password FROM databases"))
    nulls = conn.query("SELECT count(*) FROM databases WHERE api_key IS NULL")[0][0]
    conn.close()
    newkey = fernet.parse_key(new)
    ok_huge = fernet.parse_key(key).decrypt(token) == huge and newkey.decrypt(rows[1]) == huge \
        and rows[2] is None and rows[3] == ""
    ok_odd = all(newkey.decrypt(passwords[pk]) == text for pk, text in enumerate(_ODD_PLAINTEXTS, start=1))
    ok = ok_huge and ok_odd and before == after and nulls == len(_ODD_PLAINTEXTS) \
        and encrypted["totals"]["unknown"] == 0 and rotated["totals"]["unknown"] == 0
    tally.input("engine: 1 MB value, NULL, empty (%s)" % backend, ok_huge)
    tally.input("engine: unicode/binary-looking plaintexts (%s)" % backend, ok_odd)
    assert ok, (ok_huge, ok_odd, before == after, nulls)


_JSON_DOCS = {
    "array": "[1, 2, 3]",
    "string": "\"just a string\"",
    "number": "42",
    "json-null": "null",
    "nested": json.dumps({"secret": {"token": "nested-plain"}, "options": {"password": "inner"}, "name": "n"}),
    "numbers-under-secret-keys": json.dumps({"api_key": 12345, "password": 0.5, "token": True, "secret": None}),
    "empty-object": "{}",
    "list-under-token": json.dumps({"token": ["a", "b"]}),
}


def test_json_credentials_that_are_not_plain_objects_are_left_alone(db_url, tally):
    key = _seeded(db_url, users=4)
    # The independent check (webops_db.digest) reads object documents only: take it before the odd rows go in.
    before = webops_db.digest(db_url, [key])
    conn = webops_db.Database(db_url)
    pk = 100
    for label, text in sorted(_JSON_DOCS.items()):
        conn.execute("INSERT INTO automation_data_source_credentials (id, name, credentials) VALUES (?, ?, ?)",
                     (pk, label, text))
        pk += 1
    if conn.backend == "sqlite":
        conn.execute("INSERT INTO automation_data_source_credentials (id, name, credentials) VALUES (?, ?, ?)",
                     (pk, "not-json", "{not json"))
    conn.commit()
    before_rows = dict(conn.query("SELECT id, credentials FROM automation_data_source_credentials WHERE id >= 100"))
    conn.close()
    new = fernet.generate_key()
    with db.connect(db_url) as adapter:
        # encrypt (with plaintext to encrypt) and rotate both run over the odd documents.
        engine.encrypt(adapter, WEBOPS, key, batch_size=3)
        engine.rotate(adapter, WEBOPS, new, [key], batch_size=3)
    conn = webops_db.Database(db_url)
    after_rows = dict(conn.query("SELECT id, credentials FROM automation_data_source_credentials WHERE id >= 100"))
    conn.execute("DELETE FROM automation_data_source_credentials WHERE id >= 100")
    conn.commit()
    conn.close()
    unchanged = after_rows == before_rows
    tally.input("engine: odd JSON credentials left unchanged (%d kinds)" % len(before_rows), unchanged)
    assert unchanged, [(k, before_rows[k], after_rows[k]) for k in before_rows if before_rows[k] != after_rows[k]]
    assert webops_db.digest(db_url, [new], include_unknown=False) == before


_INJECTIONS = [
    {"table": "victim; DROP TABLE victim; --", "column": "secret"},
    {"table": "victim", "column": "secret\"; DROP TABLE victim; --"},
    {"table": "victim", "column": "secret", "pk": "id) OR 1=1 --"},
    {"table": "victim\" --", "column": "secret"},
    {"table": "pg_catalog.pg_class", "column": "relname"},
    {"table": "victim", "column": "secret", "where": "true; DROP TABLE victim"},
    {"table": "victim", "column": "secret", "where": "true -- comment"},
    {"table": "victim", "column": "secret", "where": "true /* x */"},
    {"table": "v" * 64, "column": "secret"},
    {"table": "", "column": "secret"},
    {"table": "victim", "column": "secret", "extra_field": "x"},
]


@pytest.mark.parametrize("index", range(len(_INJECTIONS)))
def test_sql_injection_in_identifiers_is_rejected_and_victim_survives(index, db_url, tally):
    spec = _INJECTIONS[index]
    key = fernet.generate_key()
    conn = webops_db.Database(db_url)
    conn.execute("CREATE TABLE victim (id integer PRIMARY KEY, secret text)")
    conn.execute("INSERT INTO victim (id, secret) VALUES (1, ?)", (fernet.parse_key(key).encrypt("s"),))
    conn.commit()
    conn.close()
    label = "identifier injection #%d (%s)" % (index, ",".join("%s" % k for k in sorted(spec)))
    # Rejected by validation, before any SQL is built (a database error would mean the text
    # reached a statement, however well the driver then refused it).
    try:
        specs = columns.resolve("none", [spec])
        with db.connect(db_url) as adapter:
            engine.rotate(adapter, specs, fernet.generate_key(), [key])
        refused, message = False, "accepted"
    except columns.ColumnSpecError as exc:
        refused, message = True, str(exc)
    except engine.EngineError as exc:
        refused, message = False, "reached the database: %s" % exc
    conn = webops_db.Database(db_url)
    survived = conn.query("SELECT count(*) FROM victim")[0][0] == 1
    conn.close()
    tally.input(label, refused and survived, message[:120])
    assert refused, message
    assert survived


def test_reserved_word_identifiers_are_quoted_not_refused(pg_url, tally):
    """Quoting, not just refusing: a table called "order" with a column called "select" works."""
    key = fernet.generate_key()
    conn = webops_db.Database(pg_url)
    conn.execute('CREATE TABLE "order" (id integer PRIMARY KEY, "select" text)')
    conn.execute('INSERT INTO "order" (id, "select") VALUES (1, ?), (2, ?)',
                 (fernet.parse_key(key).encrypt("one"), "plain-two"))
    conn.commit()
    conn.close()
    new = fernet.generate_key()
    specs = columns.resolve("none", [{"table": "order", "column": "select"}])
    with db.connect(pg_url) as adapter:
        result = engine.rotate(adapter, specs, new, [key], encrypt_plaintext=True)
    conn = webops_db.Database(pg_url)
    values = [fernet.parse_key(new).decrypt(v) for (v,) in conn.query('SELECT "select" FROM "order" ORDER BY id')]
    conn.close()
    ok = values == ["one", "plain-two"] and result["totals"]["rows_written"] == 2
    tally.input("identifiers: reserved words quoted", ok)
    assert ok


_ODD_PASSWORDS = ["p@ss:w/o%rd#1?&=+", "spaces and 'quotes' \"double\"", "ünï-パス-\\back\\slash", "%41%%25@@::"]


@pytest.mark.parametrize("index", range(len(_ODD_PASSWORDS)))
def test_database_url_with_odd_password_characters(index, pg_server, pg_url, tally):
    password = _ODD_PASSWORDS[index] + os.urandom(3).hex()
    role = "odd_role_%d_%s" % (index, os.urandom(3).hex())
    dbname = pg_url.rsplit("/", 1)[1]
    with pg_server.admin() as admin:
        from psycopg import sql
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))
        admin.execute('ALTER DATABASE "%s" OWNER TO %s' % (dbname, role))
    url = "postgresql://%s:%s@127.0.0.1:%d/%s" % (role, quote(password, safe=""), pg_server.port, dbname)
    key = _seeded(url, users=3)
    before = webops_db.digest(url, [key])
    new = fernet.generate_key()
    with db.connect(url) as adapter:
        engine.rotate(adapter, WEBOPS, new, [key])
    works = webops_db.digest(url, [new], include_unknown=False) == before
    # A wrong password with the same odd characters: a clear message with neither password in it.
    wrong = password[::-1] + "x"
    bad_url = "postgresql://%s:%s@127.0.0.1:%d/%s" % (role, quote(wrong, safe=""), pg_server.port, dbname)
    needles = Needles().add_plaintext("password", password).add_plaintext("wrong", wrong) \
        .add_plaintext("encoded", quote(wrong, safe="")).add_plaintext("url", bad_url)
    try:
        with db.connect(bad_url):
            pass
        message = "connected with a wrong password"
        clean = False
    except engine.EngineError as exc:
        message = str(exc)
        clean = "cannot connect" in message and not needles.scan(message, "message")
    tally.input("DATABASE_URL odd password #%d" % index, works and clean, message[:120])
    tally.leak_check("connection error messages", needles.scan(message, "message"))
    assert works
    assert clean, message


def test_sqlite_path_with_odd_characters(tmp_path, tally):
    odd = tmp_path / "we%ird #dir?x=1 &é"
    odd.mkdir()
    path = odd / "db.sqlite3"
    url = "sqlite:///" + quote(str(path), safe="/")
    sqlite3.connect(str(path)).close()
    key = _seeded("sqlite:///" + str(path), users=3)
    before = webops_db.digest("sqlite:///" + str(path), [key])
    new = fernet.generate_key()
    try:
        with db.connect(url) as adapter:
            engine.rotate(adapter, WEBOPS, new, [key])
        ok = webops_db.digest("sqlite:///" + str(path), [new], include_unknown=False) == before
        message = ""
    except engine.EngineError as exc:
        ok, message = False, str(exc)
    stray = sorted(p.name for p in tmp_path.iterdir() if p.name != odd.name)
    tally.input("DATABASE_URL sqlite path with %, #, ?, space", ok and not stray, message[:120] or repr(stray))
    assert ok, message
    assert stray == []
