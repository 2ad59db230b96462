# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile keys and tokens against module_utils/fernet.py.

Every bad key must raise MissingKeyError/InvalidKeyError with the guide's text and
no key material; every malformed token must classify as unknown (never plaintext,
so it is never encrypted a second time).
"""

import base64
import os
import secrets

import pytest

from ansible_collections.webops.encryption.plugins.module_utils import fernet

from support.leaks import Needles


def _urlsafe_key():
    return fernet.generate_key()


def _standard_key_with_alphabet():
    """A standard-base64 key that really uses '+' or '/' (what openssl rand -base64 32 makes)."""
    while True:
        raw = os.urandom(32)
        text = base64.b64encode(raw).decode("ascii")
        if "+" in text or "/" in text:
            return raw, text


def _bad_keys():
    good = _urlsafe_key()
    raw = os.urandom(32)
    return [
        ("empty", "", fernet.MissingKeyError),
        ("whitespace", "   \t ", fernet.MissingKeyError),
        ("none", None, fernet.MissingKeyError),
        ("short-31-bytes", base64.urlsafe_b64encode(os.urandom(31)).decode(), fernet.InvalidKeyError),
        ("long-33-bytes", base64.urlsafe_b64encode(os.urandom(33)).decode(), fernet.InvalidKeyError),
        ("long-64-bytes", base64.urlsafe_b64encode(os.urandom(64)).decode(), fernet.InvalidKeyError),
        ("truncated", good[:-2], fernet.InvalidKeyError),
        ("hex-lower", raw.hex(), fernet.InvalidKeyError),
        ("hex-upper", raw.hex().upper(), fernet.InvalidKeyError),
        ("mixed-alphabets", "+" + good[1:-2] + "_=", fernet.InvalidKeyError),
        ("inline-comment", good + " # prod key", fernet.InvalidKeyError),
        ("quoted-inside", '"%s' % good, fernet.InvalidKeyError),
        ("non-ascii", good[:-2] + "é=", fernet.InvalidKeyError),
        ("bytes-non-ascii", b"\xff" * 44, fernet.InvalidKeyError),
        ("nul-byte", good[:20] + "\x00" + good[21:], fernet.InvalidKeyError),
        ("newline-inside", good[:20] + "\n" + good[20:], fernet.InvalidKeyError),
        ("no-padding", good.rstrip("="), fernet.InvalidKeyError),
        ("huge", "A" * 1000000, fernet.InvalidKeyError),
    ]


@pytest.mark.parametrize("label", [case[0] for case in _bad_keys()])
def test_bad_key_is_refused_with_guide_text_and_no_material(label, tally):
    case = [c for c in _bad_keys() if c[0] == label][0]
    value, expected = case[1], case[2]
    needles = Needles()
    if isinstance(value, str) and len(value) >= 8:
        needles.add_plaintext("bad key", value[:200])
    clean = False
    message = ""
    try:
        fernet.parse_key(value)
    except expected as exc:
        message = str(exc)
        leaks = needles.scan(message + repr(exc), "exception")
        if expected is fernet.MissingKeyError:
            clean = message == "ENCRYPTION_KEY not configured" and not leaks
        else:
            clean = message.startswith("Invalid ENCRYPTION_KEY: must be 32 url-safe base64-encoded bytes (") \
                and not leaks and len(message) < 300
    except Exception as exc:  # any other exception type is a finding
        message = "unexpected %s" % type(exc).__name__
    tally.input("key:" + label, clean, message)
    assert clean, "%s: %s" % (label, message)
    info = fernet.key_info(value)
    assert info["valid"] is False and info["fingerprint"] is None
    assert info["configured"] is (expected is not fernet.MissingKeyError)


def test_standard_base64_key_is_accepted_and_reported_standard(tally):
    raw, standard = _standard_key_with_alphabet()
    key = fernet.parse_key(standard)
    urlsafe_twin = fernet.parse_key(base64.urlsafe_b64encode(raw).decode())
    ok = key.encoding == "standard" and urlsafe_twin.encoding == "urlsafe" and key == urlsafe_twin \
        and key.fingerprint == urlsafe_twin.fingerprint
    # A token made under one spelling opens under the other: the same 32 bytes.
    token = key.encrypt("standard-spelling-secret")
    ok = ok and urlsafe_twin.decrypt(token) == "standard-spelling-secret"
    info = fernet.key_info(standard)
    ok = ok and info == {"valid": True, "configured": True, "fingerprint": key.fingerprint,
                         "encoding": "standard", "error": None}
    tally.input("key:standard-base64-accepted", ok)
    assert ok
    # The key object never prints its material in either spelling.
    leaks = Needles().add_key("k", standard).scan(repr(key) + str(key), "repr")
    assert leaks == []


def test_surrounding_whitespace_is_tolerated_like_decouple():
    good = _urlsafe_key()
    assert fernet.parse_key("  %s\n" % good).urlsafe == good


def test_same_key_twice_in_keyring_is_refused_with_fingerprints_only(tally):
    text = _urlsafe_key()
    standard = base64.b64encode(base64.urlsafe_b64decode(text)).decode()
    k1, k2 = fernet.parse_key(text), fernet.parse_key(standard)
    with pytest.raises(ValueError) as info:
        fernet.Keyring([("new", k1), ("old", k2)])
    leaks = Needles().add_key("k", text).scan(str(info.value), "exception")
    ok = k1.fingerprint in str(info.value) and not leaks
    tally.input("keyring:old-equals-new (spelled differently)", ok, str(info.value))
    assert ok


def _hostile_tokens(key, other):
    token = key.encrypt("a secret that must stay put")
    data = bytearray(base64.urlsafe_b64decode(token))
    cases = []
    for at in (0, 1, 9, 12, 30, len(data) // 2, len(data) - 33, len(data) - 1):
        flipped = bytearray(data)
        flipped[at] ^= 0x01
        cases.append(("bitflip@%d" % at, base64.urlsafe_b64encode(bytes(flipped)).decode()))
    cases += [
        ("truncated-1", token[:-1]),
        ("truncated-4", token[:-4]),
        ("truncated-half", token[:len(token) // 2]),
        ("truncated-40", token[:40]),
        ("extra-char", token + "A"),
        ("extra-block", base64.urlsafe_b64encode(bytes(data) + os.urandom(16)).decode()),
        ("garbage-after-prefix", "gAAAAA" + "!@#$%^&*()" * 5),
        ("non-ascii-after-prefix", "gAAAAA" + "é" * 60),
        ("prefix-random-base64", "gAAAAA" + base64.urlsafe_b64encode(os.urandom(90)).decode()[6:]),
        ("prefix-no-hmac", base64.urlsafe_b64encode(bytes(data[:-32]) + os.urandom(32)).decode()),
        ("prefix-zero-hmac", base64.urlsafe_b64encode(bytes(data[:-32]) + b"\x00" * 32).decode()),
        ("other-key", other.encrypt("a secret that must stay put")),
        ("whitespace-inside", token[:50] + " " + token[50:]),
        ("standard-alphabet", token.replace("-", "+").replace("_", "/") if ("-" in token or "_" in token)
         else token[:-3] + "+/="),
    ]
    # A body whose HMAC is right but which does not decrypt (bad padding): sign garbage with the key.
    import hashlib
    import hmac as hmac_mod
    body = bytes(data[:25]) + os.urandom(32)
    mac = hmac_mod.new(key.raw[:16], body, hashlib.sha256).digest()
    cases.append(("valid-hmac-bad-ciphertext", base64.urlsafe_b64encode(body + mac).decode()))
    return cases


_TOKEN_LABELS = [c[0] for c in _hostile_tokens(fernet.parse_key(fernet.generate_key()), fernet.parse_key(fernet.generate_key()))]


@pytest.mark.parametrize("label", _TOKEN_LABELS)
def test_malformed_token_is_unknown_never_plaintext(label, tally):
    key = fernet.parse_key(_urlsafe_key())
    other = fernet.parse_key(_urlsafe_key())
    value = dict(_hostile_tokens(key, other))[label]
    ring = fernet.Keyring([("current", key)])
    kind, name, plain = ring.classify(value)
    # The oracle is the application itself: Fernet(key).decrypt. What it opens must classify
    # as the key with the same plaintext (cryptography's base64 decoder skips stray characters
    # and accepts '+' and '/'); what it cannot open is unknown, never plaintext: a value that
    # was a token (even one whose corrupted first bytes lost the 'gAAAAA' prefix) must never be
    # encrypted a second time.
    try:
        app_plain = key.fernet.decrypt(value.encode("utf-8")).decode("utf-8")
    except Exception:  # InvalidToken, or a value the app cannot even encode
        app_plain = None
    if app_plain is not None:
        expected = (fernet.KEY, "current", app_plain)
    elif label == "truncated-half" and len(value) < 40:
        expected = (fernet.PLAINTEXT, None, None)  # below the app's 40-character test: not token-shaped
    else:
        expected = (fernet.UNKNOWN, None, None)
    ok = (kind, name, plain) == expected
    tally.input("token:" + label, ok, "classified %s, the app %s" % (kind, "opens it" if app_plain else "cannot"))
    assert ok, "%s classified %s, expected %s" % (label, kind, expected[0])


def test_signer_and_classify_agree_on_genuine_tokens():
    keys = [fernet.parse_key(_urlsafe_key()) for _index in range(3)]
    ring = fernet.Keyring([("k%d" % i, k) for i, k in enumerate(keys)])
    for i, key in enumerate(keys):
        for text in ("", "x", "é" * 1000, "gAAAAA", "\u0000\u0001binary\uffff", secrets.token_hex(32)):
            token = key.encrypt(text)
            assert ring.signer(token) == (fernet.KEY, "k%d" % i)
            assert ring.classify(token) == (fernet.KEY, "k%d" % i, text)
