# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Key validation, fingerprints and token classification, checked against cryptography's own Fernet."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import os
import re

import pytest
from cryptography.fernet import Fernet
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.webops.encryption.plugins.module_utils import fernet
from ansible_collections.webops.encryption.plugins.module_utils.fernet import (
    EMPTY,
    KEY,
    MSG_INVALID_KEY,
    MSG_NOT_CONFIGURED,
    PLAINTEXT,
    UNKNOWN,
    InvalidKeyError,
    Keyring,
    MissingKeyError,
    decode_token,
    fingerprint_bytes,
    generate_key,
    key_fingerprint,
    key_info,
    looks_like_token,
    parse_key,
)

raw_keys = st.binary(min_size=32, max_size=32)
FIXED_REASONS = re.compile(r"^(not valid base64 \(\d+ characters\)|decodes to \d+ bytes, not 32|not ASCII text|"
                           r"mixes standard and url-safe base64 alphabets|looks like a hex key \(openssl rand -hex 32\); "
                           r"generate a Fernet key instead)$")


def app_accepts(text):
    """What the application does: Fernet(ENCRYPTION_KEY.encode())."""
    try:
        Fernet(text.encode("utf-8"))
    except (ValueError, TypeError):
        return False
    return True


@settings(max_examples=200, deadline=None)
@given(raw_keys)
def test_urlsafe_and_standard_forms_are_one_key(raw):
    urlsafe = base64.urlsafe_b64encode(raw).decode("ascii")
    standard = base64.b64encode(raw).decode("ascii")
    a = parse_key(urlsafe)
    b = parse_key(standard)
    assert a.raw == b.raw == raw
    assert a == b
    assert a.fingerprint == b.fingerprint == "sha256:" + hashlib.sha256(raw).hexdigest()[:16]
    assert a.urlsafe == b.urlsafe == urlsafe
    assert a.encoding == fernet.ENCODING_URLSAFE
    # Without + or / the two texts are identical, and the alphabet cannot be told.
    assert b.encoding == (fernet.ENCODING_STANDARD if ("+" in standard or "/" in standard) else fernet.ENCODING_URLSAFE)
    # The application accepts both forms: we must not refuse what it accepts.
    assert app_accepts(urlsafe) and app_accepts(standard)


@pytest.mark.parametrize("size", [0, 1, 16, 31, 33, 48, 64])
def test_wrong_length_is_refused_with_the_guide_text(size):
    for encode in (base64.urlsafe_b64encode, base64.b64encode):
        text = encode(os.urandom(size)).decode("ascii")
        if not text:
            continue
        with pytest.raises(InvalidKeyError) as info:
            parse_key(text)
        message = str(info.value)
        assert message.startswith(MSG_INVALID_KEY)
        assert "decodes to %d bytes, not 32" % size in message or "hex" in message
        assert text not in message and text[:20] not in message
        assert not app_accepts(text)


def test_hex_key_is_refused_with_a_hint():
    text = os.urandom(32).hex()
    with pytest.raises(InvalidKeyError) as info:
        parse_key(text)
    assert str(info.value).startswith(MSG_INVALID_KEY)
    assert "openssl rand -hex 32" in str(info.value)
    assert text not in str(info.value) and text[:20] not in str(info.value)
    assert not app_accepts(text)


@pytest.mark.parametrize("value", [None, "", "   ", b"", "\n"])
def test_missing_key_gives_the_guide_text(value):
    with pytest.raises(MissingKeyError) as info:
        parse_key(value)
    assert str(info.value) == MSG_NOT_CONFIGURED


def test_messages_name_the_variable():
    with pytest.raises(MissingKeyError) as missing:
        parse_key("", "OLD_ENCRYPTION_KEY")
    assert str(missing.value) == "OLD_ENCRYPTION_KEY not configured"
    with pytest.raises(InvalidKeyError) as invalid:
        parse_key("short", "OLD_ENCRYPTION_KEY")
    assert str(invalid.value).startswith("Invalid OLD_ENCRYPTION_KEY: must be 32 url-safe base64-encoded bytes (")


def test_unpadded_and_mixed_alphabet_keys_are_refused():
    raw = os.urandom(32)
    unpadded = base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
    with pytest.raises(InvalidKeyError):
        parse_key(unpadded)
    assert not app_accepts(unpadded)
    # Stricter than the app on purpose: no tool writes a key mixing both alphabets.
    mixed = "-+" + base64.b64encode(raw).decode("ascii")[2:]
    assert app_accepts(mixed)
    with pytest.raises(InvalidKeyError) as info:
        parse_key(mixed)
    assert "mixes standard and url-safe base64 alphabets" in str(info.value)


def test_non_ascii_bytes_are_refused():
    with pytest.raises(InvalidKeyError) as info:
        parse_key(b"\xff" * 44)
    assert "not ASCII" in str(info.value)


def test_surrounding_whitespace_is_ignored_like_decouple():
    key = generate_key()
    assert parse_key("  %s\n" % key).urlsafe == key


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=60), st.binary(max_size=60).map(lambda b: base64.b64encode(b).decode("ascii"))))
def test_never_accepts_what_the_app_refuses_and_never_echoes_input(text):
    try:
        key = parse_key(text)
    except MissingKeyError as exc:
        assert str(exc) == MSG_NOT_CONFIGURED
        assert not text.strip()
    except InvalidKeyError as exc:
        # The message is fixed text and numbers only: nothing of the input can be in it.
        assert str(exc) == "%s (%s)" % (MSG_INVALID_KEY, exc.reason)
        assert FIXED_REASONS.match(exc.reason), exc.reason
    else:
        assert app_accepts(text.strip())
        assert len(key.raw) == 32


def test_generate_key_makes_distinct_valid_urlsafe_keys():
    keys = {generate_key() for _count in range(50)}
    assert len(keys) == 50
    for text in keys:
        assert len(text) == 44 and text.endswith("=")
        assert parse_key(text).encoding == fernet.ENCODING_URLSAFE
        assert app_accepts(text)


def test_repr_and_str_hold_only_the_fingerprint():
    text = generate_key()
    key = parse_key(text)
    for shown in (repr(key), str(key), "%s" % key):
        assert text not in shown and text[:20] not in shown
        assert key.fingerprint in shown


def test_key_info_dicts():
    text = generate_key()
    assert key_info(text) == {"valid": True, "configured": True, "fingerprint": parse_key(text).fingerprint,
                              "encoding": "urlsafe", "error": None}
    assert key_info(None) == {"valid": False, "configured": False, "fingerprint": None, "encoding": None,
                              "error": MSG_NOT_CONFIGURED}
    bad = key_info(os.urandom(31).hex()[:44])
    assert bad["valid"] is False and bad["configured"] is True and bad["error"].startswith(MSG_INVALID_KEY)


def test_fingerprint_bytes_format():
    assert fingerprint_bytes(b"\0" * 32) == "sha256:" + hashlib.sha256(b"\0" * 32).hexdigest()[:16]


def test_key_fingerprint_names_valid_keys_in_either_alphabet_and_nothing_else():
    raw = os.urandom(32)
    expected = "sha256:" + hashlib.sha256(raw).hexdigest()[:16]
    assert key_fingerprint(base64.urlsafe_b64encode(raw).decode("ascii")) == expected
    assert key_fingerprint(" %s\n" % base64.b64encode(raw).decode("ascii")) == expected
    # Anything that is not a key as text is None, never an error: callers describe any stored value.
    for value in (None, "", "   ", raw.hex(), base64.urlsafe_b64encode(raw[:31]).decode("ascii"),
                  base64.urlsafe_b64encode(raw), 42, ["x"], {"key": "value"}):
        assert key_fingerprint(value) is None


def test_encrypt_decrypt_interoperate_with_cryptography():
    text = generate_key()
    key = parse_key(text)
    reference = Fernet(text.encode("ascii"))
    token = key.encrypt(u"s\u00e9cret \u2603")
    assert reference.decrypt(token.encode("ascii")).decode("utf-8") == u"s\u00e9cret \u2603"
    assert key.decrypt(reference.encrypt(b"plain").decode("ascii")) == "plain"
    # The same key given in standard base64 opens the same tokens.
    standard = parse_key(base64.b64encode(key.raw).decode("ascii"))
    assert standard.decrypt(token) == u"s\u00e9cret \u2603"


def test_signs_checks_the_hmac_only():
    key, other = parse_key(generate_key()), parse_key(generate_key())
    token = key.encrypt("x")
    data = decode_token(token)
    assert key.signs(data)
    assert not other.signs(data)
    tampered = data[:-1] + bytes([data[-1] ^ 1])
    assert not key.signs(tampered)


def test_looks_like_token_is_the_app_heuristic():
    key = parse_key(generate_key())
    assert looks_like_token(key.encrypt("x"))
    assert not looks_like_token("gAAAAA")  # too short
    assert not looks_like_token("x" * 60)
    assert not looks_like_token("")
    assert not looks_like_token(None)
    assert looks_like_token("gAAAAA" + "!" * 40)
    assert decode_token("gAAAAA" + "!" * 40) is None


def test_keyring_classifies_by_key():
    current, old, stranger = (parse_key(generate_key()) for _count in range(3))
    ring = Keyring([("current", current), ("old", old)])
    assert ring.signer(None) == (EMPTY, None)
    assert ring.signer("") == (EMPTY, None)
    assert ring.signer("JBSWY3DPEHPK3PXP") == (PLAINTEXT, None)
    assert ring.signer(current.encrypt("a")) == (KEY, "current")
    assert ring.signer(old.encrypt("b")) == (KEY, "old")
    assert ring.signer(stranger.encrypt("c")) == (UNKNOWN, None)
    assert ring.signer("gAAAAA" + "A" * 80) == (UNKNOWN, None)
    assert ring.classify(old.encrypt(u"\u00fcber")) == (KEY, "old", u"\u00fcber")
    assert ring.classify(stranger.encrypt("c")) == (UNKNOWN, None, None)
    assert ring.classify("plain") == (PLAINTEXT, None, None)


def test_keyring_refuses_the_same_key_twice_by_fingerprint():
    text = generate_key()
    a = parse_key(text)
    b = parse_key(base64.b64encode(a.raw).decode("ascii"))
    with pytest.raises(ValueError) as info:
        Keyring([("current", a), ("old", b)])
    assert a.fingerprint in str(info.value)
    assert text not in str(info.value)
