# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SECRET_KEY family: the Django SECRET_KEY, the Fernet key WebOps derives from it for its
sensitive configuration values, and the rotation and audit of the columns keyed by it.

WebOps derives that key with PBKDF2-HMAC-SHA256 (salt ``webops-config``, 100,000 rounds) and
stores each token base64-encoded a second time (so values start ``Z0FBQUFB``). Here is what is
particular to that family: validation, fingerprints, the derived key and that format, with
cryptography's Fernet. DerivedKeyring is the family the engine's pipeline runs
(engine.rotate_family): the scan, refusals, counts, results, run lock and guarded, batched writes
are the engine's.

Nothing returned or raised here holds a SECRET_KEY, a derived key, a token or a plaintext.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import hashlib
import hmac
import secrets

from ansible_collections.webops.encryption.plugins.module_utils import engine
from ansible_collections.webops.encryption.plugins.module_utils import fernet as fernet_utils
from ansible_collections.webops.encryption.plugins.module_utils.columns import KEYED_BY_SECRET_KEY

SECRET_KEY_NAME = "SECRET_KEY"
DERIVATION_SALT = b"webops-config"
DERIVATION_ROUNDS = 100000
MIN_LENGTH = 50
# Django's own check wants at least 5 distinct characters.
MIN_UNIQUE_CHARACTERS = 5
GENERATED_LENGTH = 64
# Letters, digits and the punctuation a .env holds unquoted and that python-decouple and systemd's
# EnvironmentFile= both read as it is (the dotenv module's safe set, without '%' and '='): never a
# quote, '#', '$', '\\', '%', white space or backtick.
GENERATION_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.,:+/@"
UNSAFE_CHARACTERS = "'\"#$\\% `"
# Values Django, the WebOps installer and sample files ship, which the app refuses.
DEFAULT_LOOKING = ("django-insecure", "changeme", "change-me", "change_me", "change-this", "your-secret-key",
                   "secret-key-here", "insecure", "replace-me", "example")
WRAPPED_PREFIX = "Z0FBQUFB"  # base64 of "gAAAAA"


class InvalidSecretKey(ValueError):
    """A SECRET_KEY the application would refuse. The message never holds the key."""

    def __init__(self, reason, name=SECRET_KEY_NAME):
        self.reason = reason
        super(InvalidSecretKey, self).__init__("Invalid %s: %s" % (name, reason))


def fingerprint(secret_key):
    """Short, printable SHA-256 fingerprint of a SECRET_KEY (its UTF-8 text)."""
    return fernet_utils.fingerprint_bytes(secret_key.encode("utf-8"))


def check(secret_key, name=SECRET_KEY_NAME):
    """Validate a SECRET_KEY as the application does (and as a new one must be written to a .env).

    Returns the key; raises InvalidSecretKey with a reason that names no character of it."""
    if secret_key is None or not str(secret_key).strip():
        raise InvalidSecretKey("not configured", name)
    if not isinstance(secret_key, str):
        raise InvalidSecretKey("not text", name)
    if secret_key != secret_key.strip():
        raise InvalidSecretKey("has leading or trailing white space", name)
    if len(secret_key) < MIN_LENGTH:
        raise InvalidSecretKey("%d characters; the application wants at least %d" % (len(secret_key), MIN_LENGTH), name)
    if len(set(secret_key)) < MIN_UNIQUE_CHARACTERS:
        raise InvalidSecretKey("fewer than %d distinct characters" % MIN_UNIQUE_CHARACTERS, name)
    lowered = secret_key.lower()
    if any(marker in lowered for marker in DEFAULT_LOOKING):
        raise InvalidSecretKey("looks like a default or sample value; generate a random one", name)
    unsafe = sorted(set(c for c in secret_key if c in UNSAFE_CHARACTERS or not c.isprintable() or ord(c) > 126))
    if unsafe:
        raise InvalidSecretKey("holds characters a .env or systemd's EnvironmentFile= would change (quotes, hash, dollar, "
                               "backslash, percent, backtick, white space or non-ASCII)", name)
    return secret_key


def weakness(secret_key):
    """Why the application would refuse ``secret_key`` (check()'s reason), or None when it is valid."""
    try:
        check(secret_key)
    except InvalidSecretKey as exc:
        return exc.reason
    return None


class Labels:
    """Names for SECRET_KEYs, the rule info() follows: the fingerprint of a valid one; 'a weak
    SECRET_KEY (why)' otherwise, since an unsalted hash of a guessable secret is reversed by trying
    candidates. Numbered only when several different weak keys are in play."""

    def __init__(self, values):
        self.weak = []
        for value in values:
            if value and weakness(value) is not None and value not in self.weak:
                self.weak.append(value)

    def __call__(self, value):
        if not value:
            return None
        why = weakness(value)
        if why is None:
            return fingerprint(value)
        if len(self.weak) == 1:
            return "a weak SECRET_KEY (not fingerprinted: %s)" % why
        return "weak SECRET_KEY #%d (not fingerprinted: %s)" % (self.weak.index(value) + 1, why)


def labels(named):
    """{name: label} of named SECRET_KEYs ({new: key, old0: key}), labelled together (see Labels)."""
    label = Labels(list(named.values()))
    return dict((name, label(value)) for name, value in named.items())


def match_id(secret_key, salt):
    """``hmac:`` + 16 hex digits of HMAC-SHA256(salt, key): tells two SECRET_KEYs apart, weak ones too,
    and cannot be reversed by trying candidate keys without ``salt`` (a secret of one run)."""
    return "hmac:" + hmac.new(salt.encode("utf-8"), secret_key.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def info(secret_key, name=SECRET_KEY_NAME, salt=None):
    """A dict describing a SECRET_KEY, safe to return from a module. Only a valid key has a
    fingerprint: an unsalted hash of a weak key (a word and a year) is reversed by trying
    candidates. With ``salt``, ``match_id`` compares any configured key (see match_id)."""
    configured = bool(secret_key) and (not isinstance(secret_key, str) or bool(secret_key.strip()))
    result = {"configured": configured, "valid": True, "error": None, "fingerprint": None}
    try:
        check(secret_key, name)
    except InvalidSecretKey as exc:
        result.update(valid=False, error=str(exc))
    else:
        result["fingerprint"] = fingerprint(secret_key)
    if salt is not None:
        result["match_id"] = match_id(secret_key, salt) if configured and isinstance(secret_key, str) else None
    return result


def generate(length=GENERATED_LENGTH):
    """A new SECRET_KEY from ``secrets``, valid by check(); retried on the (astronomically rare)
    draw that contains a default-looking word."""
    if length < MIN_LENGTH:
        raise ValueError("a SECRET_KEY needs at least %d characters" % MIN_LENGTH)
    while True:
        candidate = "".join(secrets.choice(GENERATION_ALPHABET) for _position in range(length))
        try:
            return check(candidate)
        except InvalidSecretKey:
            continue


_DERIVED = {}


def derive(secret_key):
    """The Fernet key WebOps derives from ``secret_key`` for its sensitive configuration values.

    PBKDF2 over 100,000 rounds costs tens of milliseconds: each key is derived once per process.
    The cache is keyed by the key's SHA-256, so it never holds a SECRET_KEY as a dict key."""
    if not isinstance(secret_key, str) or not secret_key:
        raise InvalidSecretKey("not configured")
    digest = hashlib.sha256(secret_key.encode("utf-8")).digest()
    key = _DERIVED.get(digest)
    if key is None:
        raw = hashlib.pbkdf2_hmac("sha256", secret_key.encode("utf-8"), DERIVATION_SALT, DERIVATION_ROUNDS, 32)
        key = _DERIVED[digest] = fernet_utils.FernetKey(raw, fernet_utils.ENCODING_URLSAFE)
    return key


def wrap(token):
    """The stored form of a Fernet token: its text base64-encoded again."""
    return base64.b64encode(token.encode("ascii")).decode("ascii")


def unwrap(value):
    """The Fernet token text inside a stored value, or None if the value is not one.

    Accepts either base64 alphabet; only a value that decodes to a well-formed token counts."""
    if not value or not value.startswith(WRAPPED_PREFIX):
        return None
    text = value.strip()
    try:
        if "-" in text or "_" in text:
            decoded = base64.b64decode(text.encode("ascii"), altchars=b"-_", validate=True)
        else:
            decoded = base64.b64decode(text.encode("ascii"), validate=True)
        token = decoded.decode("ascii")
    except (binascii.Error, ValueError):  # UnicodeError is a ValueError
        return None
    return token if fernet_utils.decode_token(token) is not None else None


def encrypt(key, plaintext):
    """A stored value: ``plaintext`` (text) encrypted under derived ``key`` and wrapped."""
    return wrap(key.encrypt(plaintext))


class DerivedKeyring:
    """Named SECRET_KEYs, classified against through their derived keys: the SECRET_KEY family
    the engine's pipeline runs (engine.rotate_family)."""

    keyed_by = KEYED_BY_SECRET_KEY
    unverified = ("a re-encrypted configuration value did not read back; that batch of %s.%s was not written (every "
                  "value still opens with one of the keys)")

    def __init__(self, named_secret_keys):
        """``named_secret_keys``: iterable of (name, SECRET_KEY text)."""
        named_secret_keys = list(named_secret_keys)
        # Names, not fingerprints: a weak key is never fingerprinted (see Labels).
        self.fingerprints = labels(dict(named_secret_keys))
        named = []
        seen = {}
        for name, secret_key in named_secret_keys:
            if secret_key in seen:
                raise ValueError("SECRET_KEYs %r and %r are the same key (%s)" % (seen[secret_key], name, self.fingerprints[name]))
            seen[secret_key] = name
            named.append((name, derive(secret_key)))
        self.keys = dict(named)
        self.names = [name for name, _key in named]
        self.keyring = fernet_utils.Keyring(named)

    def classify(self, value):
        """(kind, name, plaintext): kind is one of fernet's EMPTY, PLAINTEXT, KEY, UNKNOWN.

        A value that is neither wrapped nor token-shaped is plaintext; a bare Fernet token (not
        wrapped) or a wrapped one no key opens is unknown."""
        if value is None or value == "":
            return fernet_utils.EMPTY, None, None
        token = unwrap(value)
        if token is None:
            if value.startswith(WRAPPED_PREFIX) or fernet_utils.looks_like_token(value):
                return fernet_utils.UNKNOWN, None, None
            return fernet_utils.PLAINTEXT, None, None
        kind, name, plaintext = self.keyring.classify(token)
        return (kind, name, plaintext) if kind == fernet_utils.KEY else (fernet_utils.UNKNOWN, None, None)

    def seal(self, name, plaintext):
        """A stored value: ``plaintext`` under the key derived from SECRET_KEY ``name``."""
        return encrypt(self.keys[name], plaintext)

    def reads_back(self, name, stored, plaintext):
        """Whether ``stored`` reads as the application will (unwrap, then Fernet under the key
        derived from ``name``) to ``plaintext``."""
        token = unwrap(stored)
        return token is not None and self.keys[name].decrypt(token) == plaintext

    def unreadable(self, details):
        return UnreadableValues(details)


class UnreadableValues(engine.UnknownTokens):
    """Values that no given SECRET_KEY opens; ``details`` is a list of {table, column, count, ids}."""

    def __init__(self, details):
        super(UnreadableValues, self).__init__(details)
        where = "; ".join("%s.%s: %d (ids %s)" % (d["table"], d["column"], d["count"], ", ".join(str(i) for i in d["ids"]))
                          for d in details)
        # The engine's message speaks of old_keys; these values need a SECRET_KEY.
        self.args = ("nothing was written: values that no given SECRET_KEY opens were found: %s. Add the SECRET_KEY that "
                     "made them to old_secret_keys, or set on_unknown=skip to leave them as they are" % where,)


def rotate(db, specs, new_secret_key, old_secret_keys, on_unknown="fail", batch_size=5000, check_mode=False, previous=None):
    """Re-encrypt, under the key derived from ``new_secret_key``, every value of the SECRET_KEY-keyed
    columns of ``specs`` that a key derived from one of ``old_secret_keys`` opens. Values already
    under the new key are left alone, so a re-run after any interruption finishes the job.

    Refuses (before writing) a new SECRET_KEY the app would reject, a key given twice, and, with
    on_unknown='fail', values no key opens. Results hold counts and fingerprints only.
    ``previous``: the result of engine.rotate() earlier in the same task; the result covers both.
    The work is the engine's (engine.rotate_family), with a DerivedKeyring as the key family."""
    try:
        check(new_secret_key, "new_secret_key")
    except InvalidSecretKey as exc:
        raise engine.InvalidArgument(str(exc))
    old_secret_keys = [k for k in (old_secret_keys or ()) if k]
    if not old_secret_keys:
        raise engine.InvalidArgument("give old_secret_keys (the SECRET_KEY the configuration values are under now)")
    names = ["new"] + ["old%d" % i for i in range(len(old_secret_keys))]
    try:
        keyring = DerivedKeyring(zip(names, [new_secret_key] + list(old_secret_keys)))
    except ValueError as exc:
        raise engine.InvalidArgument(str(exc))
    fingerprints = [("new_secret_key_fingerprint", keyring.fingerprints["new"]),
                    ("old_secret_key_fingerprints", [keyring.fingerprints[name] for name in names[1:]])]
    return engine.rotate_family(db, specs, keyring, "new", on_unknown=on_unknown, batch_size=batch_size, check_mode=check_mode,
                                fingerprints=fingerprints, previous=previous)
