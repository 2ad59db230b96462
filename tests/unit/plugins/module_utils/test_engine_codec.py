# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine's token codec and jobs, checked against cryptography's own Fernet."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.webops.encryption.plugins.module_utils import engine
from ansible_collections.webops.encryption.plugins.module_utils._db import array_literal
from ansible_collections.webops.encryption.plugins.module_utils._engine import jobs
from ansible_collections.webops.encryption.plugins.module_utils._engine.codec import Codec, token_bytes
from ansible_collections.webops.encryption.plugins.module_utils.fernet import decode_token as fernet_decode_token
from ansible_collections.webops.encryption.plugins.module_utils.fernet import generate_key, parse_key

OLD = parse_key(generate_key())
NEW = parse_key(generate_key())
OTHER = parse_key(generate_key())
SHARED = Codec(NEW)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_codec_agrees_with_fernet_both_ways(plaintext):
    codec = SHARED  # one codec for every example: its CBC stream carries on from token to token
    ours = codec.seal_many([plaintext])[0]
    assert NEW.fernet.decrypt(ours.encode()) == plaintext
    theirs = NEW.fernet.encrypt(plaintext).decode()
    assert codec.decrypt(theirs) == plaintext
    assert len(ours) == len(theirs) == engine.token_length(len(plaintext))
    assert Codec(OLD).decrypt(theirs) is None
    assert SHARED.seal_many([plaintext])[0] != ours, "every token has its own IV"


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=120), max_size=40))
def test_batched_codec_agrees_with_fernet_for_whole_lists(plaintexts):
    """seal_many chains one CBC stream through the list and open_many decrypts the list with one
    ECB call: every token must still be standard Fernet, one by one."""
    ours = SHARED.seal_many(plaintexts)
    assert [NEW.fernet.decrypt(token.encode()) for token in ours] == plaintexts
    theirs = [NEW.fernet.encrypt(plaintext) for plaintext in plaintexts]
    assert SHARED.open_many([bytes(base64.urlsafe_b64decode(token)) for token in theirs]) == plaintexts
    assert SHARED.reads_back(ours, plaintexts)
    if plaintexts != plaintexts[::-1]:
        assert not SHARED.reads_back(ours[::-1], plaintexts), "a token in the wrong place does not read back"


def test_open_many_marks_only_the_bad_body():
    """A body whose padding is wrong (a valid HMAC over it is possible only with the key) is None
    at its own position; its neighbours still decrypt."""
    good = [token_bytes(token) for token in SHARED.seal_many([b"first", b"second secret", b"third"])]
    codec = Codec(NEW)
    bad = bytearray(good[1])
    # The byte 16 before the last ciphertext byte (here the IV's last) is XORed into the last plaintext
    # byte: the padding byte 0x03 becomes 0xFC, never valid. Flipping a ciphertext byte instead would
    # scramble the whole block, and one time in about 256 leave a valid padding.
    bad[-49] ^= 0xFF
    assert codec.open_many([good[0], bytes(bad), good[2]]) == [b"first", None, b"third"]
    assert codec.open_many([]) == []


def test_codec_refuses_bad_padding_and_foreign_tokens():
    codec = Codec(NEW)
    token = NEW.fernet.encrypt(b"secret").decode()
    data = bytearray(base64.urlsafe_b64decode(token))
    data[30] ^= 1  # body changed, HMAC now wrong
    assert codec.decrypt(base64.urlsafe_b64encode(bytes(data)).decode()) is None
    assert codec.decrypt("gAAAAA" + "A" * 60) is None
    assert codec.decrypt("plaintext") is None


def test_token_length_of_the_real_secrets():
    assert engine.token_length(32) == 140  # TOTP secret (WebOps stores 32 characters)
    assert engine.token_length(64) == 184  # webhook secret


def test_rotate_job_classifies_and_reencrypts():
    job = jobs.RotateJob(Codec(NEW), [Codec(OLD)], encrypt_plaintext=False)
    values = [OLD.encrypt("a-secret"), NEW.encrypt("current"), "", None, "plaintext-legacy", OTHER.encrypt("foreign"),
              "gAAAAA" + "x" * 50, "ünïcødé"]
    writes, counts, unknown, _details = job.process(values, None)
    assert counts == {"empty": 2, "plaintext": 2, "already_current": 1, "rotated": 1, "encrypted_plaintext": 0, "unknown": 2}
    assert unknown == [5, 6]
    assert [index for index, _new in writes] == [0]
    assert NEW.decrypt(writes[0][1]) == "a-secret"

    plain_too = jobs.RotateJob(Codec(NEW), [Codec(OLD)], encrypt_plaintext=True)
    writes, counts, _unknown, _details = plain_too.process(values, None)
    assert counts["encrypted_plaintext"] == 2
    assert sorted(NEW.decrypt(new) for _index, new in writes) == sorted(["a-secret", "plaintext-legacy", "ünïcødé"])


def test_jobs_touch_only_sensitive_string_values_of_json():
    document = {"api_key": OLD.encrypt("k"), "username": "svc", "port": 5432, "enabled": True, "client_secret": None,
                "refresh_token": "", "options": {"token_hint": OLD.encrypt("nested")}, "password": "legacy-plain"}
    text = json.dumps(document)
    job = jobs.RotateJob(Codec(NEW), [Codec(OLD)], encrypt_plaintext=False)
    writes, counts, unknown, _details = job.process([text, None, "not json", "[1, 2]"], "(?i)api_key|token|private_key|password|secret")
    assert counts["rotated"] == 1 and counts["empty"] == 1 and counts["plaintext"] == 1 and unknown == []
    assert [index for index, _new in writes] == [0]
    after = json.loads(writes[0][1])
    assert list(after) == list(document), "key order is kept"
    assert NEW.decrypt(after["api_key"]) == "k"
    for name in ("username", "port", "enabled", "client_secret", "refresh_token", "options", "password"):
        assert after[name] == document[name]

    scan = jobs.ScanJob([("new", Codec(NEW)), ("old0", Codec(OLD))], {"old0"}, False)
    _writes, counts, unknown, needed = scan.process([text, None], "(?i)api_key|token|private_key|password|secret")
    assert counts["old0"] == 1 and counts["values"] == 3 and counts["rows_to_write"] == 1 and needed == len(document["api_key"])


def test_encrypt_job_never_encrypts_a_token_twice():
    job = jobs.EncryptJob(Codec(NEW), [Codec(OLD)])
    values = ["legacy", NEW.encrypt("done"), OLD.encrypt("other"), "gAAAAA" + "y" * 60, "", None]
    writes, counts, unknown, _details = job.process(values, None)
    assert counts == {"empty": 2, "already_encrypted": 1, "newly_encrypted": 1, "other_key": 1, "unknown": 1}
    assert [index for index, _new in writes] == [0] and unknown == [3]
    assert NEW.decrypt(writes[0][1]) == "legacy"


def test_a_codec_that_disagrees_with_fernet_stops_the_batch():
    class Broken(Codec):
        __slots__ = ()

        def seal_many(self, plaintexts, timestamps=None):
            return super(Broken, self).seal_many([plaintext[:-1] + b"?" for plaintext in plaintexts], timestamps)

    with pytest.raises(engine.VerificationError) as caught:
        Broken(NEW)
    assert NEW.urlsafe not in str(caught.value)


def test_array_literal_quotes_what_needs_it():
    assert array_literal([1, 2]) == "{1,2}"
    assert array_literal(["gAAAA-_=", "b", 7]) == "{gAAAA-_=,b,7}"
    assert array_literal(["gAAAA-_=", "NULL", 'a"b', "c\\d", "", "x y", "{}"]) == '{"gAAAA-_=","NULL","a\\"b","c\\\\d","","x y","{}"}'
    assert array_literal(["null"]) == '{"null"}' and array_literal([""]) == '{""}' and array_literal([]) == '{}'
    with pytest.raises(ValueError):
        array_literal([None])


def test_bad_arguments_are_refused_before_any_database_work():
    with pytest.raises(engine.InvalidArgument):
        engine.rotate(None, [], NEW, [OLD], on_unknown="ignore")
    with pytest.raises(engine.InvalidArgument):
        engine.rotate(None, [], NEW, [OLD], batch_size=0)
    with pytest.raises(engine.InvalidArgument):
        engine.rotate(None, [], NEW, [OLD], workers=0)
    with pytest.raises(engine.InvalidArgument) as caught:
        engine.rotate(None, [], NEW, [NEW])
    assert "same key" in str(caught.value) and NEW.urlsafe not in str(caught.value)
    with pytest.raises(engine.InvalidArgument):
        engine.rotate(None, [], NEW, [])


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.text(max_size=120),
    st.binary(min_size=0, max_size=160).map(lambda raw: base64.urlsafe_b64encode(b"\x80" + raw).decode()),
    st.binary(min_size=0, max_size=160).map(lambda raw: "gAAAAA" + base64.b64encode(raw).decode()),
))
def test_token_bytes_matches_fernet_decode_token(value):
    assert token_bytes(value) == fernet_decode_token(value)
