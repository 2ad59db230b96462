# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The codec, classifier and drivers against the cases an independent review reproduced:
values the app reads that look odd, array literals, JSON numbers, keys that share a half,
DATABASE_URLs with unencoded characters, non-text values, codec state and token timestamps.
Every database here is a real SQLite file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import sqlite3
import struct
import time

import pytest
from cryptography.fernet import Fernet

from ansible_collections.webops.encryption.plugins.module_utils import _db as db
from ansible_collections.webops.encryption.plugins.module_utils import columns, engine, fernet
from ansible_collections.webops.encryption.plugins.module_utils._db import array_literal, describe_url
from ansible_collections.webops.encryption.plugins.module_utils._engine.codec import Codec, token_bytes

OLD = fernet.parse_key(fernet.generate_key())
NEW = fernet.parse_key(fernet.generate_key())
SPEC = columns.ColumnSpec("secrets", "value")
JSON_SPEC = columns.ColumnSpec("secrets", "value", json_keys="password|token")


def _database(tmp_path, values, declared="TEXT"):
    path = str(tmp_path / "app.sqlite3")
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE secrets (id INTEGER PRIMARY KEY, value %s)" % declared)
        conn.executemany("INSERT INTO secrets (id, value) VALUES (?, ?)", list(enumerate(values, 1)))
    conn.close()
    return "sqlite:///" + path


def _stored(url):
    conn = sqlite3.connect(url[len("sqlite:///"):])
    try:
        return [row[0] for row in conn.execute("SELECT value FROM secrets ORDER BY id")]
    finally:
        conn.close()


def _app_reads(key, value):
    """What the application does: Fernet(key).decrypt(value.encode())."""
    return Fernet(key.urlsafe.encode()).decrypt(value.encode())


def _odd_tokens(key, plaintext=b"s3cret"):
    """Tokens the app still reads: cryptography's base64 decoding drops what is not in the alphabet."""
    token = key.fernet.encrypt(plaintext).decode()
    odd = ["\n" + token, " " + token, token + "\n", token[:20] + "\u00e9" + token[20:], token[:30] + "\u2028" + token[30:]]
    for value in odd:
        assert _app_reads(key, value) == plaintext
    return odd


# --- 1. values the app reads are tokens -------------------------------------------------------

def test_odd_tokens_the_app_reads_are_tokens_under_their_key():
    keyring = fernet.Keyring([("new", NEW), ("old", OLD)])
    for value in _odd_tokens(OLD):
        assert fernet.looks_like_token(value)
        assert keyring.signer(value) == (fernet.KEY, "old")
        assert keyring.classify(value) == (fernet.KEY, "old", "s3cret")
        assert token_bytes(value) == base64.urlsafe_b64decode(value.encode())


def test_rotation_writes_odd_tokens_back_clean_under_the_new_key(tmp_path):
    odd = _odd_tokens(OLD)
    url = _database(tmp_path, odd)
    with db.connect(url) as adapter:
        result = engine.rotate(adapter, [SPEC], NEW, [OLD], workers=1, encrypt_plaintext=True)
    assert result["totals"]["rotated"] == len(odd) and result["totals"]["plaintext"] == 0
    assert result["totals"]["encrypted_plaintext"] == 0 and result["totals"]["unknown"] == 0
    for value in _stored(url):
        assert value.startswith("gAAAAA") and value.strip() == value and value.isascii()
        assert NEW.fernet.decrypt(value.encode()) == b"s3cret"  # one token, not a token of a token


def test_encrypt_never_wraps_odd_tokens(tmp_path):
    odd = _odd_tokens(NEW)
    url = _database(tmp_path, odd + ["legacy plaintext"])
    with db.connect(url) as adapter:
        result = engine.encrypt(adapter, [SPEC], NEW, workers=1)
    assert result["totals"]["already_encrypted"] == len(odd) and result["totals"]["newly_encrypted"] == 1
    assert _stored(url)[:len(odd)] == odd


def test_recover_never_clears_a_value_the_app_reads(tmp_path):
    odd = _odd_tokens(NEW)
    url = _database(tmp_path, odd)
    with db.connect(url) as adapter:
        result = engine.purge_unreadable(adapter, [SPEC], NEW, str(tmp_path / "export.jsonl"))
        audit = engine.audit(adapter, [SPEC], {"current": NEW})
    assert result["totals"]["readable"] == len(odd) and result["totals"]["cleared"] == 0
    assert audit["totals"]["by_key"]["current"] == len(odd) and audit["totals"]["plaintext"] == 0
    assert _stored(url) == odd


# --- 2. array literals and identifiers: a final newline is not "safe" --------------------------

def test_array_literal_quotes_a_value_ending_in_a_newline():
    assert array_literal(["gAAAA", "abc\n"]) == '{"gAAAA","abc\n"}'
    assert array_literal(["abc\n"]) == '{"abc\n"}'


@pytest.mark.parametrize("name", ["users\n", "id\n"])
def test_identifier_with_a_final_newline_is_refused(name):
    with pytest.raises(columns.ColumnSpecError):
        columns.validate_identifier(name)


# --- 3. JSON documents: only the secret values change -----------------------------------------

def test_json_rewrite_keeps_everything_but_the_secrets_byte_for_byte(tmp_path):
    token = OLD.encrypt("hunter2")
    document = ('{"ratio":0.12345678901234567891,  "huge": 1e400, "n":-0, "big": 123456789012345678901234567890,'
                '\n "password": "%s", "name":"caf\\u00e9", "token":"plain"}' % token)
    url = _database(tmp_path, [document])
    with db.connect(url) as adapter:
        result = engine.rotate(adapter, [JSON_SPEC], NEW, [OLD], workers=1, encrypt_plaintext=True)
    assert result["totals"]["rotated"] == 1 and result["totals"]["encrypted_plaintext"] == 1
    stored = _stored(url)[0]
    after = json.loads(stored)
    assert NEW.decrypt(after["password"]) == "hunter2" and NEW.decrypt(after["token"]) == "plain"
    expected = document.replace(token, after["password"]).replace('"plain"', '"%s"' % after["token"])
    assert stored == expected


def test_recover_clears_only_the_lost_json_secret(tmp_path):
    lost = OLD.encrypt("gone")
    document = '{"x": 1.10, "password": "%s", "y": 1e400}' % lost
    url = _database(tmp_path, [document])
    with db.connect(url) as adapter:
        engine.purge_unreadable(adapter, [JSON_SPEC], NEW, str(tmp_path / "export.jsonl"))
    assert _stored(url) == ['{"x": 1.10, "password": "", "y": 1e400}']


# --- 4. keys that share a half ----------------------------------------------------------------

@pytest.mark.parametrize("shared", ["signing", "encryption"])
def test_keyring_with_keys_sharing_a_half_is_refused(shared):
    raw = os.urandom(32)
    other = raw[:16] + os.urandom(16) if shared == "signing" else os.urandom(16) + raw[16:]
    first = fernet.FernetKey(raw, fernet.ENCODING_URLSAFE)
    second = fernet.FernetKey(other, fernet.ENCODING_URLSAFE)
    with pytest.raises(ValueError) as caught:
        fernet.Keyring([("new", first), ("old", second)])
    message = str(caught.value)
    assert first.fingerprint in message and second.fingerprint in message and shared in message
    assert first.urlsafe not in message and second.urlsafe not in message
    with pytest.raises(engine.InvalidArgument):
        engine.rotate(None, [], first, [second])


# --- 5 and 8. the database shown: the URL with only the password replaced ---------------------

@pytest.mark.parametrize("url, shown", [
    ("postgresql://webops:s3cret@localhost:5432/webops_db", "postgresql://webops:***@localhost:5432/webops_db"),
    ("postgres://webops:p%2Fw@db.example:5432/app?sslmode=require&password=x",
     "postgres://webops:***@db.example:5432/app?sslmode=require&password=***"),
    ("postgresql://webops@localhost/webops_db", "postgresql://webops@localhost/webops_db"),
    ("postgresql://webops:a:b@c@localhost/x", "postgresql://webops:***@localhost/x"),
    ("postgresql://webops:123/456?7#8@localhost:5432/db", "postgresql://webops:***@localhost:5432/db"),
    ("sqlite:////srv/app/db.sqlite3", "sqlite:////srv/app/db.sqlite3"),
])
def test_describe_url_replaces_only_the_password(url, shown):
    assert describe_url(url) == shown


@pytest.mark.parametrize("password", ["123/456", "ab/cd", "x?y", "x#y", "12#34", "1:2/3", "ab@cd"])
def test_unencoded_password_characters_are_refused_with_the_fix(password):
    url = "postgresql://webops:%s@localhost:1/webops_db" % password
    with pytest.raises(db.DatabaseError) as caught:
        db.connect(url)
    message = str(caught.value)
    assert "percent-encode" in message and "postgresql://webops:***@localhost:1/webops_db" in message
    for part in [password] + [piece for piece in password.replace("/", " ").replace("?", " ").replace("#", " ")
                              .replace(":", " ").split() if len(piece) > 1]:
        assert part not in message.replace("webops_db", "")


def test_url_password_finds_every_form_of_the_password():
    assert set(db.url_passwords("postgresql://u:12/3%41@h/d")) >= {"12/3%41", "12/3A"}
    assert db.url_passwords("sqlite:////x") == []


# --- 6. messages, not tracebacks --------------------------------------------------------------

def test_sqlite_unique_index_with_an_odd_name_works(tmp_path):
    path = str(tmp_path / "app.sqlite3")
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE secrets (rowkey INTEGER, uid TEXT, value TEXT)")
        conn.execute('CREATE UNIQUE INDEX "uid index; ""x""" ON secrets (uid)')
        conn.execute("INSERT INTO secrets VALUES (1, 'a', 'plain')")
    conn.close()
    with db.connect("sqlite:///" + path) as adapter:
        result = engine.audit(adapter, [columns.ColumnSpec("secrets", "value", pk="uid")], {"current": NEW})
    assert result["totals"]["plaintext"] == 1


@pytest.mark.parametrize("value", [b"gAAAAA binary", 12345, 1.5])
def test_non_text_values_are_refused_with_a_message_and_nothing_written(tmp_path, value):
    url = _database(tmp_path, ["plain one", value, "plain two"], declared="")
    before = _stored(url)
    with db.connect(url) as adapter:
        for call in (lambda: engine.encrypt(adapter, [SPEC], NEW, workers=1),
                     lambda: engine.rotate(adapter, [SPEC], NEW, [OLD], workers=1),
                     lambda: engine.audit(adapter, [SPEC], {"current": NEW}),
                     lambda: engine.purge_unreadable(adapter, [SPEC], NEW, str(tmp_path / "export.jsonl"))):
            with pytest.raises(db.DatabaseError) as caught:
                call()
            assert "secrets.value" in str(caught.value) and "row 2" in str(caught.value)
    assert _stored(url) == before


# --- 7. each codec call stands alone ----------------------------------------------------------

def test_a_failed_seal_many_does_not_spoil_the_next_tokens():
    codec = Codec(NEW)
    with pytest.raises(TypeError):
        codec.seal_many([b"fine", b"x" * 40, "not bytes"])
    tokens = codec.seal_many([b"after", b"the failure" * 3])
    assert [NEW.fernet.decrypt(t.encode()) for t in tokens] == [b"after", b"the failure" * 3]


def test_a_misaligned_body_does_not_poison_later_calls():
    codec = Codec(NEW)
    good = base64.urlsafe_b64decode(NEW.encrypt("good"))
    assert codec.open_many([good[:-32] + b"\x00" * 5 + good[-32:]]) == [None]
    assert codec.open_many([good]) == [b"good"]
    assert codec.open_many([good, good]) == [b"good", b"good"]


# --- 9. rotation keeps each token's timestamp, as MultiFernet.rotate does ---------------------

def test_rotation_keeps_each_tokens_timestamp(tmp_path):
    stamps = [1500000000, 1700000000]
    tokens = [OLD.fernet.encrypt_at_time(b"secret %d" % i, stamp).decode() for i, stamp in enumerate(stamps)]
    url = _database(tmp_path, tokens + ["legacy"])
    started = int(time.time())
    with db.connect(url) as adapter:
        engine.rotate(adapter, [SPEC], NEW, [OLD], workers=1, encrypt_plaintext=True)
    stored = _stored(url)
    times = [struct.unpack(">Q", base64.urlsafe_b64decode(value)[1:9])[0] for value in stored]
    assert times[:2] == stamps
    assert times[2] >= started  # a newly encrypted plaintext gets the current time
    assert [NEW.fernet.extract_timestamp(v.encode()) for v in stored[:2]] == stamps
