# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fernet key validation, fingerprints and token classification.

Plain Python with no Ansible imports, so it is unit-tested on its own and usable
from the benchmark. Nothing here ever puts key material or plaintext into an
exception message: callers pass these messages straight to Ansible results.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import hashlib
import hmac
import os
import traceback

try:
    from cryptography.fernet import Fernet, InvalidToken
except ImportError:
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None

# The texts WebOps operators know from the control panel's own key checks.
MSG_NOT_CONFIGURED = "ENCRYPTION_KEY not configured"
MSG_INVALID_KEY = "Invalid ENCRYPTION_KEY: must be 32 url-safe base64-encoded bytes"

ENCODING_URLSAFE = "urlsafe"
ENCODING_STANDARD = "standard"

# Classification kinds of a stored value.
EMPTY = "empty"
PLAINTEXT = "plaintext"
UNKNOWN = "unknown"
KEY = "key"

_FERNET_VERSION = 0x80
_TOKEN_PREFIX = "gAAAAA"
# version(1) + timestamp(8) + iv(16) + one AES block(16) + hmac(32)
_MIN_TOKEN_BYTES = 1 + 8 + 16 + 16 + 32


class InvalidKeyError(ValueError):
    """A key that the application would refuse. The message never holds the key."""

    def __init__(self, reason, name="ENCRYPTION_KEY"):
        self.reason = reason
        self.name = name
        base = MSG_INVALID_KEY.replace("ENCRYPTION_KEY", name)
        super(InvalidKeyError, self).__init__("%s (%s)" % (base, reason))


class MissingKeyError(ValueError):
    def __init__(self, name="ENCRYPTION_KEY"):
        self.name = name
        super(MissingKeyError, self).__init__(MSG_NOT_CONFIGURED.replace("ENCRYPTION_KEY", name))


class FernetKey:
    """A validated key. ``repr`` and ``str`` show only the fingerprint."""

    __slots__ = ("raw", "encoding", "fingerprint", "urlsafe", "_fernet", "_signing_key")

    def __init__(self, raw, encoding):
        self.raw = raw
        self.encoding = encoding
        self.fingerprint = fingerprint_bytes(raw)
        # The canonical url-safe text, which is what Fernet() is given.
        self.urlsafe = base64.urlsafe_b64encode(raw).decode("ascii")
        self._fernet = None
        self._signing_key = raw[:16]

    def __repr__(self):
        return "FernetKey(fingerprint=%r, encoding=%r)" % (self.fingerprint, self.encoding)

    __str__ = __repr__

    def __eq__(self, other):
        return isinstance(other, FernetKey) and hmac.compare_digest(self.raw, other.raw)

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self.fingerprint)

    @property
    def fernet(self):
        if self._fernet is None:
            require_cryptography()
            self._fernet = Fernet(self.urlsafe.encode("ascii"))
        return self._fernet

    def signs(self, token_bytes):
        """True when the token's HMAC was made with this key (no decryption)."""
        mac = hmac.new(self._signing_key, token_bytes[:-32], hashlib.sha256).digest()
        return hmac.compare_digest(mac, token_bytes[-32:])

    def encrypt(self, plaintext):
        """Encrypt text, return the token as text."""
        return self.fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token):
        """Decrypt a text token as the app does (its UTF-8 bytes), return text. Raises InvalidToken."""
        return self.fernet.decrypt(token.encode("utf-8")).decode("utf-8")


def require_cryptography():
    if not HAS_CRYPTOGRAPHY:
        raise ImportError("the Python library 'cryptography' is required (Debian: python3-cryptography)")


def fingerprint_bytes(raw):
    """The collection's one fingerprint: ``sha256:`` and the first 16 hex digits of the SHA-256 of ``raw``.

    ``raw`` is a Fernet key's 32 decoded bytes, a SECRET_KEY's UTF-8 text, or any other value
    that must be named without being shown.
    """
    return "sha256:" + hashlib.sha256(raw).hexdigest()[:16]


def parse_key(value, name="ENCRYPTION_KEY"):
    """Validate ``value`` exactly as the application will, and return a FernetKey.

    Accepts url-safe base64 (what Fernet.generate_key() makes) and standard base64
    with ``+``/``/`` (what ``openssl rand -base64 32`` makes; the app accepts it).
    Rejects hex keys and anything that does not decode to exactly 32 bytes.
    """
    if value is None:
        raise MissingKeyError(name)
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            raise InvalidKeyError("not ASCII text", name)
    text = value.strip()
    if not text:
        raise MissingKeyError(name)
    if len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text):
        raise InvalidKeyError("looks like a hex key (openssl rand -hex 32); generate a Fernet key instead", name)
    has_standard = "+" in text or "/" in text
    has_urlsafe = "-" in text or "_" in text
    if has_standard and has_urlsafe:
        raise InvalidKeyError("mixes standard and url-safe base64 alphabets", name)
    try:
        if has_standard:
            raw = base64.b64decode(text.encode("ascii"), validate=True)
        else:
            # b64decode with altchars validates the alphabet, urlsafe_b64decode does not.
            raw = base64.b64decode(text.encode("ascii"), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise InvalidKeyError("not valid base64 (%d characters)" % len(text), name)
    if len(raw) != 32:
        raise InvalidKeyError("decodes to %d bytes, not 32" % len(raw), name)
    return FernetKey(raw, ENCODING_STANDARD if has_standard else ENCODING_URLSAFE)


def key_fingerprint(value):
    """The fingerprint of ``value`` when it is a valid Fernet key as text, else None (never an error)."""
    if not isinstance(value, str):
        return None
    try:
        return parse_key(value).fingerprint
    except ValueError:
        return None


def key_info(value, name="ENCRYPTION_KEY"):
    """A dict describing a key, safe to return from a module."""
    try:
        key = parse_key(value, name)
    except MissingKeyError as exc:
        return {"valid": False, "configured": False, "fingerprint": None, "encoding": None, "error": str(exc)}
    except InvalidKeyError as exc:
        return {"valid": False, "configured": True, "fingerprint": None, "encoding": None, "error": str(exc)}
    return {"valid": True, "configured": True, "fingerprint": key.fingerprint, "encoding": key.encoding, "error": None}


def generate_key():
    """A new url-safe Fernet key as text.

    The same as ``Fernet.generate_key()`` (url-safe base64 of 32 bytes from
    ``os.urandom``), without needing cryptography on the host that makes it.
    """
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


def key_material_at(value, where="entry", depth=0, max_depth=20):
    """The location (a dotted path) of the first value in a JSON-like structure that is a Fernet
    key or looks like a token, or None: records and audit lines must name keys by fingerprint."""
    if depth > max_depth:
        return where
    if isinstance(value, dict):
        for name, item in value.items():
            found = (key_material_at(name, "%s (a name)" % where, depth + 1, max_depth)
                     or key_material_at(item, "%s.%s" % (where, name), depth + 1, max_depth))
            if found:
                return found
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = key_material_at(item, "%s[%d]" % (where, index), depth + 1, max_depth)
            if found:
                return found
    elif isinstance(value, str) and value:
        if looks_like_token(value.strip()):
            return where
        for candidate in (value, value + "="):
            try:
                parse_key(candidate)
            except ValueError:
                continue
            return where
    return None


def looks_like_token(value):
    """True for any value that must never be treated as plaintext (so never encrypted twice).

    The app's own test (``len >= 40`` and the ``gAAAAA`` prefix); any value the app's reader
    decodes to a Fernet token (see decode_token); and any strict url-safe base64 text that
    decodes to a Fernet-shaped length: a token damaged in its first bytes loses the prefix but
    keeps that shape, which no WebOps plaintext has.
    """
    if not value or len(value) < 40:
        return False
    if value.startswith(_TOKEN_PREFIX) or decode_token(value) is not None:
        return True
    if len(value) % 4:
        return False
    try:
        data = base64.b64decode(value.encode("ascii"), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return False
    return len(data) >= _MIN_TOKEN_BYTES and (len(data) - 57) % 16 == 0


def decode_token(value):
    """The token bytes the application's reader finds in ``value``, or None if they are not a Fernet token.

    The app calls ``Fernet(key).decrypt(value.encode())``: on that path cryptography's base64
    decoding drops every byte outside the alphabet (whitespace, punctuation, non-ASCII), so a
    token with a stray newline or byte still opens in the app and is the token it holds.
    """
    if not isinstance(value, str) or len(value) < 40:
        return None
    try:
        data = base64.urlsafe_b64decode(value.encode("utf-8"))
    except (binascii.Error, ValueError):  # UnicodeEncodeError (a lone surrogate) is a ValueError
        return None
    if len(data) < _MIN_TOKEN_BYTES or data[0] != _FERNET_VERSION or (len(data) - 57) % 16:
        return None
    return data


class Keyring:
    """An ordered list of named keys to classify stored values against."""

    def __init__(self, named_keys):
        """``named_keys``: iterable of (name, FernetKey)."""
        self.named = list(named_keys)
        seen = {}
        for name, key in self.named:
            if key.fingerprint in seen:
                raise ValueError("keys %r and %r are the same key (%s)" % (seen[key.fingerprint], name, key.fingerprint))
            seen[key.fingerprint] = name
        # A token passes the HMAC of any key with the same signing half and would then be
        # decrypted with the wrong AES key; no generated keys ever share a half.
        halves = {}
        for name, key in self.named:
            for half, part in (("signing", key.raw[:16]), ("encryption", key.raw[16:])):
                other = halves.setdefault((half, part), (name, key))
                if other[0] != name:
                    raise ValueError("keys %r (%s) and %r (%s) share their %s half (the same 16 bytes); such keys cannot "
                                     "be told apart: generate a new key" % (other[0], other[1].fingerprint, name,
                                                                            key.fingerprint, half))

    def signer(self, value):
        """Classify by HMAC only (fast, no decryption): returns (kind, key_name)."""
        if value is None or value == "":
            return EMPTY, None
        if not looks_like_token(value):
            return PLAINTEXT, None
        data = decode_token(value)
        if data is None:
            return UNKNOWN, None
        for name, key in self.named:
            if key.signs(data):
                return KEY, name
        return UNKNOWN, None

    def classify(self, value):
        """Classify by full decryption: returns (kind, key_name, plaintext_or_None)."""
        kind, name = self.signer(value)
        if kind != KEY:
            return kind, None, None
        key = dict(self.named)[name]
        try:
            return KEY, name, key.decrypt(value)
        except (InvalidToken, UnicodeDecodeError):
            # A valid MAC over a body that does not decrypt to text: treat as unreadable.
            return UNKNOWN, None, None
