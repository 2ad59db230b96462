# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cases an independent review of the codec, the classifier and the drivers reproduced, on
real databases and through the module files: values the app reads that look odd, a final
newline through psycopg2's array literals, JSON numbers, keys sharing a half, DATABASE_URLs
with unencoded password characters and the database each result names, non-text values,
codec state between calls, and the timestamps of rotated tokens."""

import base64
import decimal
import json
import os
import sqlite3
import struct

import pytest
from cryptography.fernet import Fernet

from ansible_collections.webops.encryption.plugins.module_utils import _db as db
from ansible_collections.webops.encryption.plugins.module_utils import columns, engine, fernet
from ansible_collections.webops.encryption.plugins.module_utils._engine.codec import Codec

from hardening.harness.modules import run_module
from support import webops_db
from support.leaks import Needles

WEBOPS = columns.resolve("webops")
API_KEY = columns.ColumnSpec("databases", "api_key")
CREDENTIALS = [spec for spec in WEBOPS if spec.table == "automation_data_source_credentials"]


def _seeded(url, users=12):
    key = fernet.generate_key()
    webops_db.create_schema(url)
    webops_db.seed(url, key, users=users)
    return key


def _set(url, table, column, values):
    """values: {id: stored value}."""
    conn = webops_db.Database(url)
    for pk, value in values.items():
        conn.execute("UPDATE %s SET %s = ? WHERE id = ?" % (table, column), (value, pk))
    conn.commit()
    conn.close()


def _get(url, table, column):
    """{id: stored value}, as text (jsonb too, as PostgreSQL prints it)."""
    conn = webops_db.Database(url)
    try:
        return dict(conn.query("SELECT id, CAST(%s AS TEXT) FROM %s" % (column, table)))
    finally:
        conn.close()


def _odd_tokens(key_text, plaintext):
    """Tokens the app still reads (Fernet(key).decrypt(value.encode()) drops what is outside the alphabet)."""
    token = Fernet(key_text.encode()).encrypt(plaintext.encode()).decode()
    return {
        "leading newline": "\n" + token,
        "leading space": " " + token,
        "trailing CRLF": token + "\r\n",
        "non-ASCII byte inside": token[:33] + "\u00e9" + token[33:],
        "line separator inside": token[:50] + "\u2028" + token[50:],
    }


def _refused(tally, label, call, needles, words=(), exc_types=(engine.EngineError,)):
    try:
        call()
    except exc_types as exc:
        message = str(exc)
        leaks = needles.scan(message + repr(exc), label)
        ok = not leaks and all(word in message for word in words)
        tally.input(label, ok, message[:160])
        tally.leak_check("engine error messages", leaks, label)
        return ok, message
    tally.input(label, False, "accepted")
    return False, "accepted"


def test_values_the_app_reads_are_rotated_clean_never_wrapped_or_cleared(db_url, tmp_path, tally):
    key = _seeded(db_url, users=12)
    new = fernet.generate_key()
    odd_old = _odd_tokens(key, "odd-old-secret")
    odd_new = _odd_tokens(new, "odd-new-secret")
    rows_old = dict(zip(range(1, 6), sorted(odd_old)))
    rows_new = dict(zip(range(6, 11), sorted(odd_new)))
    _set(db_url, "databases", "api_key", dict((pk, odd_old[label]) for pk, label in rows_old.items()))
    with db.connect(db_url) as adapter:
        encrypted = engine.encrypt(adapter, [API_KEY], key, workers=1)
        kept = _get(db_url, "databases", "api_key")
        rotated = engine.rotate(adapter, WEBOPS, new, [key], encrypt_plaintext=True, batch_size=4)
    after = _get(db_url, "databases", "api_key")
    new_fernet = Fernet(new.encode())
    for pk, label in rows_old.items():
        never_wrapped = kept[pk] == odd_old[label]
        clean = after[pk].startswith("gAAAAA") and after[pk].isascii() and after[pk].strip() == after[pk]
        opens = clean and new_fernet.decrypt(after[pk].encode()) == b"odd-old-secret"
        tally.input("odd token (%s): encrypt never wraps it, rotation writes it back clean" % label,
                    never_wrapped and opens, after[pk][:0])
        assert never_wrapped and opens, label
    assert encrypted["totals"]["newly_encrypted"] == 0
    assert rotated["totals"]["unknown"] == 0
    # Values under the current key that the app reads: recovery must never clear them.
    _set(db_url, "databases", "api_key", dict((pk, odd_new[label]) for pk, label in rows_new.items()))
    with db.connect(db_url) as adapter:
        recovered = engine.purge_unreadable(adapter, WEBOPS, new, str(tmp_path / "export.jsonl"))
        audit = engine.audit(adapter, [API_KEY], {"current": new})
    stored = _get(db_url, "databases", "api_key")
    for pk, label in rows_new.items():
        ok = stored[pk] == odd_new[label]
        tally.input("odd token (%s): recovery never clears a value the app reads" % label, ok)
        assert ok, label
    assert recovered["totals"]["cleared"] == 0 and recovered["totals"]["deleted"] == 0
    assert audit["totals"]["plaintext"] == 0 and audit["totals"]["unknown"] == 0


def test_a_value_ending_in_a_newline_through_psycopg2_is_written_once(pg_url, monkeypatch, tally):
    psycopg2 = pytest.importorskip("psycopg2")
    monkeypatch.setattr(db, "psycopg", None)
    monkeypatch.setattr(db, "psycopg2", psycopg2)
    key = _seeded(pg_url, users=6)
    _set(pg_url, "databases", "api_key", {6: "legacy-secret-ending-in-newline\n"})
    with db.connect(pg_url) as adapter:
        assert isinstance(adapter.conn, psycopg2.extensions.connection)
        first = engine.encrypt(adapter, [API_KEY], key, workers=1)
        second = engine.encrypt(adapter, [API_KEY], key, workers=1)
    value = _get(pg_url, "databases", "api_key")[6]
    ok = first["totals"]["conflicts"] == 0 and first["totals"]["rows_written"] == 1 and not second["changed"] and \
        Fernet(key.encode()).decrypt(value.encode()) == b"legacy-secret-ending-in-newline\n"
    tally.input("psycopg2 array literal: last value ends in a newline", ok, repr(first["totals"]))
    assert ok, (first["totals"], second["totals"])


_DOCUMENT = ('{"host":"db.example", "ratio":0.12345678901234567891,  "huge": 1e400, "tiny": 5e-400, "zero": -0.0,\n'
             ' "big": 123456789012345678901234567890, "port": 5432, "nested": {"password": "not top level"},'
             ' "name": "caf\\u00e9", "password": "%s", "api_key": "legacy plain key"}')


def test_json_documents_keep_every_non_secret_byte(db_url, tally):
    key = _seeded(db_url, users=4)
    new = fernet.generate_key()
    token = Fernet(key.encode()).encrypt(b"json-secret").decode()
    document = _DOCUMENT % token
    _set(db_url, "automation_data_source_credentials", "credentials", {1: document})
    try:
        with db.connect(db_url) as adapter:
            engine.rotate(adapter, CREDENTIALS, new, [key], encrypt_plaintext=True)
        stored = _get(db_url, "automation_data_source_credentials", "credentials")[1]
        message = ""
    except engine.EngineError as exc:
        stored, message = None, str(exc)
    ok = False
    if stored is not None:
        after = json.loads(stored, parse_float=decimal.Decimal)
        before = json.loads(document, parse_float=decimal.Decimal)
        opened = [Fernet(new.encode()).decrypt(after[name].encode()) for name in ("password", "api_key")]
        rest_equal = dict((k, v) for k, v in after.items() if k not in ("password", "api_key")) == \
            dict((k, v) for k, v in before.items() if k not in ("password", "api_key"))
        if db_url.startswith("sqlite"):  # text storage: byte for byte
            rest_equal = rest_equal and stored == document.replace(token, after["password"]).replace(
                '"legacy plain key"', '"%s"' % after["api_key"])
        ok = opened == [b"json-secret", b"legacy plain key"] and rest_equal
    tally.input("JSON credentials: numbers and layout kept (0.1234...891, 1e400, -0.0, big ints)", ok, message[:160])
    assert ok, message


def test_keys_sharing_a_half_are_refused(sqlite_url, tmp_path, tally):
    key = _seeded(sqlite_url, users=3)
    raw_digest = webops_db.raw_digest(sqlite_url)
    raw = base64.urlsafe_b64decode(key)
    twins = {
        "signing": base64.urlsafe_b64encode(raw[:16] + os.urandom(16)).decode(),
        "encryption": base64.urlsafe_b64encode(os.urandom(16) + raw[16:]).decode(),
    }
    bad = []
    with db.connect(sqlite_url) as adapter:
        for half, twin in sorted(twins.items()):
            needles = Needles().add_key("key", key).add_key("twin", twin)
            fingerprints = (fernet.parse_key(key).fingerprint, fernet.parse_key(twin).fingerprint)
            for label, call in (
                    ("rotate", lambda: engine.rotate(adapter, WEBOPS, twin, [key])),
                    ("encrypt", lambda: engine.encrypt(adapter, WEBOPS, key, other_keys=[twin])),
                    ("audit", lambda: engine.audit(adapter, WEBOPS, {"current": twin, "old": key})),
                    ("recover", lambda: engine.purge_unreadable(adapter, WEBOPS, twin, str(tmp_path / "x.jsonl"),
                                                                other_keys=[key]))):
                ok, message = _refused(tally, "%s: keys sharing their %s half" % (label, half), call, needles,
                                       words=fingerprints + (half,), exc_types=(engine.InvalidArgument,))
                if not ok:
                    bad.append((label, half, message))
    assert bad == []
    assert webops_db.raw_digest(sqlite_url) == raw_digest


@pytest.mark.parametrize("value", [b"gAAAAA-a-blob", 4242, 2.5], ids=["blob", "integer", "real"])
def test_non_text_values_get_a_message_and_nothing_is_written(value, tmp_path, tally):
    path = str(tmp_path / "app.sqlite3")
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE vault (id INTEGER PRIMARY KEY, secret)")
        conn.executemany("INSERT INTO vault VALUES (?, ?)", [(1, "plain one"), (2, value), (3, "plain three")])
    conn.close()
    url = "sqlite:///" + path
    spec = [columns.ColumnSpec("vault", "secret")]
    key = fernet.generate_key()
    bad = []
    with db.connect(url) as adapter:
        for label, call in (("encrypt", lambda: engine.encrypt(adapter, spec, key)),
                            ("rotate", lambda: engine.rotate(adapter, spec, fernet.generate_key(), [key])),
                            ("audit", lambda: engine.audit(adapter, spec, {"current": key})),
                            ("recover", lambda: engine.purge_unreadable(adapter, spec, key, str(tmp_path / "x.jsonl")))):
            ok, message = _refused(tally, "%s: %s value in a token column" % (label, type(value).__name__), call,
                                   Needles().add_key("key", key), words=("vault.secret", "row 2"),
                                   exc_types=(db.DatabaseError,))
            if not ok:
                bad.append((label, message))
    conn = sqlite3.connect(path)
    stored = conn.execute("SELECT secret FROM vault ORDER BY id").fetchall()
    conn.close()
    assert bad == []
    assert stored == [("plain one",), (value,), ("plain three",)]


def test_a_sqlite_unique_index_with_an_odd_name_is_used(tmp_path, tally):
    path = str(tmp_path / "app.sqlite3")
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE vault (n INTEGER, uid TEXT, secret TEXT)")
        conn.execute('CREATE UNIQUE INDEX "uid-index; ""quoted"" ü" ON vault (uid)')
        conn.executemany("INSERT INTO vault VALUES (?, ?, ?)", [(1, "a", "plain a"), (2, "b", "plain b")])
    conn.close()
    key = fernet.generate_key()
    try:
        with db.connect("sqlite:///" + path) as adapter:
            result = engine.encrypt(adapter, [columns.ColumnSpec("vault", "secret", pk="uid")], key)
        ok, message = result["totals"]["newly_encrypted"] == 2, ""
    except Exception as exc:  # a traceback here is the finding
        ok, message = False, "%s: %s" % (type(exc).__name__, exc)
    tally.input("SQLite unique index whose name is not a plain identifier", ok, message[:160])
    assert ok, message


def test_codec_calls_stand_alone_after_a_failure(tally):
    key = fernet.parse_key(fernet.generate_key())
    codec = Codec(key)
    try:
        codec.seal_many([b"sealed", b"x" * 33, "text, not bytes"])
    except TypeError:
        pass
    plaintexts = [b"after the failure", b"y" * 50]
    tokens = codec.seal_many(plaintexts)
    survived = [key.fernet.decrypt(token.encode()) for token in tokens] == plaintexts
    tally.fault("codec: seal_many fails halfway, next call", survived)
    good = base64.urlsafe_b64decode(key.encrypt("good"))
    misaligned = good[:-32] + b"\0" * 7 + good[-32:]
    first = codec.open_many([misaligned, good])
    later = codec.open_many([good, good])
    survived_open = first == [None, b"good"] and later == [b"good", b"good"]
    tally.fault("codec: a body that is not block-aligned, then later calls", survived_open, repr(first))
    assert survived and survived_open


def test_rotation_keeps_each_tokens_timestamp(db_url, tally):
    key = _seeded(db_url, users=6)
    new = fernet.generate_key()
    stamps = {1: 1262304000, 2: 1600000000, 3: 1700000000}
    old = Fernet(key.encode())
    _set(db_url, "databases", "api_key",
         dict((pk, old.encrypt_at_time(b"timed secret %d" % pk, stamp).decode()) for pk, stamp in stamps.items()))
    with db.connect(db_url) as adapter:
        engine.rotate(adapter, WEBOPS, new, [key])
    stored = _get(db_url, "databases", "api_key")
    kept = dict((pk, struct.unpack(">Q", base64.urlsafe_b64decode(stored[pk])[1:9])[0]) for pk in stamps)
    ok = kept == stamps and all(Fernet(new.encode()).decrypt(stored[pk].encode()) == b"timed secret %d" % pk
                                for pk in stamps)
    tally.input("rotation keeps each token's timestamp (as MultiFernet.rotate)", ok, repr(kept))
    assert ok, kept


# --- the database a module run names ----------------------------------------------------------

def _masked(url):
    if "://" not in url or "@" not in url or url.startswith("sqlite"):
        return url
    scheme, rest = url.split("://", 1)
    userinfo, location = rest.rsplit("@", 1)
    return "%s://%s:***@%s" % (scheme, userinfo.split(":", 1)[0], location)


def test_modules_name_the_database_with_only_the_password_masked(db_url, tmp_path, tally):
    key = _seeded(db_url, users=3)
    env_file = tmp_path / ".env"
    env_file.write_text("DATABASE_URL=%s\nENCRYPTION_KEY=%s\n" % (db_url, key))
    os.chmod(str(env_file), 0o600)
    expected = _masked(db_url)
    needles = Needles().add_key("key", key)
    if "@" in db_url:
        needles.add_plaintext("database password", db_url.split("://", 1)[1].rsplit("@", 1)[0].split(":", 1)[1])
    bad = []
    for label, args in (
            ("database_url", {"database_url": db_url, "keys": {"current": key}}),
            ("env_file", {"env_file": str(env_file)}),
            ("database_url, failing", {"database_url": db_url, "keys": {"current": key}, "profile": "none",
                                       "columns": [{"table": "missing_table", "column": "secret"}]}),
            ("env_file, failing", {"env_file": str(env_file), "profile": "none",
                                   "columns": [{"table": "missing_table", "column": "secret"}]})):
        result, proc = run_module("fernet_audit", args, tmp_path)
        leaks = needles.scan(proc.stdout + proc.stderr, label)
        shown = (result or {}).get("database")
        ok = shown == expected and not leaks and "Traceback" not in proc.stdout + proc.stderr
        if "failing" in label:
            ok = ok and result.get("failed") is True and "missing_table" in result.get("msg", "")
        tally.input("module result names the database (%s)" % label, ok, repr(shown))
        tally.leak_check("database shown in module results", leaks, label)
        if not ok:
            bad.append((label, shown, leaks, (result or {}).get("msg"), proc.stderr[-300:]))
    assert bad == []


@pytest.mark.parametrize("password", ["123/secretpart", "abc/def?ghi", "pz#wqk:97", "12?34#56/78", "x:y/z@w"])
def test_unencoded_password_characters_are_refused_without_showing_the_password(password, pg_server, tmp_path, tally):
    url = "postgresql://webops:%s@127.0.0.1:%d/webops_db" % (password, pg_server.port)
    env_file = tmp_path / ".env"
    env_file.write_text("DATABASE_URL=%s\nENCRYPTION_KEY=%s\n" % (url, fernet.generate_key()))
    os.chmod(str(env_file), 0o600)
    pieces = [password] + [piece for piece in password.replace("/", " ").replace("?", " ").replace("#", " ")
                           .replace(":", " ").replace("@", " ").split() if len(piece) >= 3]
    bad = []
    for label, args in (("database_url", {"database_url": url, "keys": {"current": fernet.generate_key()}}),
                        ("env_file", {"env_file": str(env_file)})):
        result, proc = run_module("fernet_audit", args, tmp_path)
        output = proc.stdout + proc.stderr
        shown = [piece for piece in pieces if piece in output.replace("webops_db", "")]
        msg = (result or {}).get("msg", "")
        ok = bool(result) and result.get("failed") is True and "percent-encode" in msg and not shown and \
            "Traceback" not in output and (result or {}).get("database") == "postgresql://webops:***@127.0.0.1:%d/webops_db" \
            % pg_server.port
        what = "DATABASE_URL password with unencoded / ? # : (%s, %s)" % (label, "".join(c for c in password if c in "/?#:@"))
        tally.input(what, ok, msg[:160])
        tally.leak_check("database shown in module results", ["password piece shown"] * len(shown), what)
        if not ok:
            bad.append((label, msg, (result or {}).get("database"), len(shown)))
    assert bad == []
