# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Encrypt, rotate, audit and recover every token column of a database.

Plain Python over a ``db`` adapter and a list of ``columns.ColumnSpec``; the modules and the
benchmark call the same four functions:

    encrypt(db, specs, key, other_keys=(), batch_size=5000, workers=None, check_mode=False, progress=None,
            scan_progress=None)
    rotate(db, specs, new_key, old_keys, on_unknown='fail', encrypt_plaintext=False, batch_size=5000,
           workers=None, check_mode=False, progress=None, scan_progress=None, widen=False)
    audit(db, specs, keys, batch_size=5000, secret_keyring=None, progress=None)

``progress`` and ``scan_progress`` are optional callables ``(table, column, rows_done, rows_total)``:
after each committed batch, and after each batch of the scan before any write.
    purge_unreadable(db, specs, key, export_path, check_mode=False, batch_size=5000, other_keys=())

How a writing run goes (encrypt, rotate, purge_unreadable):
1. Take the run lock (a second run fails at once with LockHeld).
2. Scan every column with HMAC checks only (fast): count what is there, find values no key
   opens and the width the new tokens need. Refuse (UnknownTokens, ColumnTooNarrow) before
   anything is written. Check mode stops here: its counts are the scan's.
3. Write pass, column after column, in primary-key batches, as a pipeline: the main thread reads
   batches a few ahead; worker processes decrypt each batch, re-encrypt it and decrypt every new
   token again (compared to the original plaintext); a committer thread, on a second connection,
   writes each verified batch in one transaction guarded by the old value, in key order. A kill
   at any moment leaves committed batches under the new key and the rest under the old one,
   and the next run skips tokens already under the new key.

Nothing returned or raised here holds a key, a token or a plaintext: results carry counts,
row ids and key fingerprints.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import collections
import hashlib
import hmac
import json
import os
import queue
import re
import secrets
import signal
import struct
import tempfile
import threading
import time

try:
    import multiprocessing
except ImportError:  # pragma: no cover
    multiprocessing = None

try:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
except ImportError:
    Cipher = None

from ansible_collections.webops.encryption.plugins.module_utils import fernet as fernet_utils
from ansible_collections.webops.encryption.plugins.module_utils.db import DatabaseError, EngineError, LockHeld  # noqa: F401
from ansible_collections.webops.encryption.plugins.module_utils.columns import ON_LOST_DELETE_ROW, ON_LOST_NEW_SECRET, quote_identifier

MAX_IDS = 20
MAX_BATCH_SIZE = 100000
# Rows per batch: big enough that per-statement and per-commit costs vanish, small enough that
# a few batches in flight stay within tens of MB.
DEFAULT_BATCH_SIZE = 5000
MIN_CHUNK = 50
# A column widened for tokens (widen_columns) gets room for secrets somewhat longer than today's
# longest: WIDEN_MARGIN more characters of token (48 more bytes of plaintext), never under
# WIDEN_MINIMUM. The ALTER TABLE a refusal suggests uses the same width.
WIDEN_MARGIN = 64
WIDEN_MINIMUM = 255
ON_UNKNOWN = ("fail", "skip")
# How long a worker may take over one chunk before the run gives up (it is milliseconds normally).
WORKER_TIMEOUT = 600
WORKER_POLL = 2
# Batches read and handed to the workers ahead of the one being written, and batches the
# committer may hold: together they bound memory at a few batches.
BATCHES_AHEAD = 2

# The counts of each result's columns[] entries and totals, in order.
ROTATE_COUNTS = ("rows", "total", "already_current", "rotated", "plaintext", "encrypted_plaintext", "empty", "unknown",
                 "rows_written", "conflicts")
ENCRYPT_COUNTS = ("rows", "total", "already_encrypted", "newly_encrypted", "other_key", "empty", "unknown",
                  "rows_written", "conflicts")
AUDIT_COUNTS = ("rows", "total", "plaintext", "empty", "unknown", "unverified")
RECOVER_COUNTS = ("rows", "total", "readable", "plaintext", "empty", "unreadable", "deleted", "reset", "cleared", "conflicts")


class UnknownTokens(EngineError):
    """Values no key opens were found; ``details`` is a list of {table, column, count, ids}."""

    def __init__(self, details, written=False):
        self.details = details
        where = "; ".join("%s.%s: %d (ids %s%s)" % (d["table"], d["column"], d["count"], ", ".join(str(i) for i in d["ids"]),
                                                    ", ..." if d["count"] > len(d["ids"]) else "") for d in details)
        if written:
            text = ("values that no given key opens were found while writing (every other value was rotated): %s. "
                    "Find the key that made them and run again with it in old_keys" % where)
        else:
            text = ("nothing was written: values that no given key opens were found: %s. Add the key that made them to "
                    "old_keys, or set on_unknown=skip to leave them as they are (fernet_recover clears lost values)" % where)
        super(UnknownTokens, self).__init__(text)


class ColumnTooNarrow(EngineError):
    """Target columns cannot hold the tokens they would receive; ``details`` lists them."""

    def __init__(self, details):
        self.details = details
        text = "nothing was written: %s" % "; ".join(
            "%s.%s is %s(%d) but the tokens it would receive need %d characters; widen it first: %s"
            % (d["table"], d["column"], d["data_type"], d["max_length"], d["needed"], d["fix"]) for d in details)
        text += " (or set widen_columns=true to have it done, in its own transaction, before any token is written)"
        super(ColumnTooNarrow, self).__init__(text)


class VerificationError(EngineError):
    """A new token did not decrypt back to the original plaintext; its batch was not written."""


class InvalidArgument(EngineError):
    """Bad input to the engine (keys, sizes, choices)."""


def token_length(plaintext_bytes):
    """Characters of the Fernet token of a plaintext of that many UTF-8 bytes."""
    raw = 1 + 8 + 16 + 16 * (plaintext_bytes // 16 + 1) + 32
    return 4 * ((raw + 2) // 3)


# ---------------------------------------------------------------------------------------------
# Token codec. Fernet() builds a new AES-CBC context per token, which costs more than the
# cipher itself; here each call of a codec uses one CBC stream for all the tokens it seals and
# one ECB context for all it opens (CBC decryption is ECB decryption XORed with the previous
# ciphertext block), made for that call alone so no state outlives it. Every codec
# checks itself against cryptography's Fernet when it is made, the first value of every chunk
# is cross-checked with Fernet, and every new token is decrypted again before its batch is
# written.
# ---------------------------------------------------------------------------------------------
_PACK_TIME = struct.Struct(">Q").pack
_COMPARE = hmac.compare_digest
_TO_STANDARD_B64 = bytes.maketrans(b"-_", b"+/")
_TO_URLSAFE_B64 = bytes.maketrans(b"+/", b"-_")
_PADDING = [bytes((size,)) * size for size in range(17)]


def token_bytes(value):
    """fernet.decode_token() for the hot loops: a clean ASCII token is decoded without base64's
    generic wrappers; anything else takes the app's own lenient reading (fernet.decode_token)."""
    if value and len(value) >= 40 and value.startswith("gAAAAA"):
        try:
            data = binascii.a2b_base64(value.encode("ascii").translate(_TO_STANDARD_B64))
        except (binascii.Error, ValueError):  # UnicodeEncodeError is a ValueError
            data = None
        if data is not None and len(data) >= 73 and data[0] == 0x80 and not (len(data) - 57) % 16:
            return data
    return fernet_utils.decode_token(value)


class _Codec:
    __slots__ = ("key", "_inner", "_outer", "_aes")

    def __init__(self, key):
        if Cipher is None:
            fernet_utils.require_cryptography()
        self.key = key
        # HMAC-SHA256 (RFC 2104) from two precomputed hash states: copying hashlib objects is
        # cheaper than any of the hmac module's entry points, and this runs for every token.
        signing_key = key.raw[:16].ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in signing_key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in signing_key))
        self._aes = algorithms.AES(key.raw[16:])
        self._self_test()

    def mac(self, message):
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def signs(self, data):
        return _COMPARE(self.mac(data[:-32]), data[-32:])

    def open_many(self, datas):
        """Plaintext bytes of each token (as bytes) whose HMAC this key made; None where the body is bad.

        CBC decryption is ECB decryption XORed with the previous ciphertext block (the IV for the
        first block): one ECB call and one XOR for the whole list.
        """
        # Only whole blocks go in: a body of another length would shift every block after it.
        whole = [data for data in datas if len(data) >= 73 and not (len(data) - 57) % 16]
        if not whole:
            return [None] * len(datas)
        bodies = b"".join([data[25:-32] for data in whole])
        chains = b"".join([data[9:-48] for data in whole])
        size = len(bodies)
        decryptor = Cipher(self._aes, modes.ECB()).decryptor()  # nosec B305 - CBC decryption built on it
        padded = (int.from_bytes(decryptor.update(bodies) + decryptor.finalize(), "big")
                  ^ int.from_bytes(chains, "big")).to_bytes(size, "big")
        plaintexts = []
        end = 0
        for data in datas:
            if len(data) < 73 or (len(data) - 57) % 16:
                plaintexts.append(None)
                continue
            start = end
            end += len(data) - 57
            pad = padded[end - 1]
            if 1 <= pad <= 16 and padded.startswith(_PADDING[pad], end - pad):
                plaintexts.append(padded[start:end - pad])
            else:
                plaintexts.append(None)
        return plaintexts

    def decrypt(self, token):
        """Plaintext bytes of a text token, or None if this key did not make it."""
        data = token_bytes(token)
        if data is None or not self.signs(data):
            return None
        return self.open_many([data])[0]

    def seal_many(self, plaintexts, timestamps=None):
        """New tokens (text) for a list of plaintext bytes, each under its own random IV.

        One CBC stream, made for this call, chains each block to the last ciphertext block it
        produced (``chain``); XORing that block and the new IV into a token's first plaintext
        block makes the stream compute exactly E(P1 xor IV), E(P2 xor C1), ...: standard CBC
        with that token's IV. ``timestamps``: for each plaintext, the 8 timestamp bytes to keep
        (those of the token it came from, as MultiFernet.rotate keeps them) or None for now.
        """
        ivs = os.urandom(16 * len(plaintexts))
        now = b"\x80" + _PACK_TIME(int(time.time()))
        stamps = [now if kept is None else b"\x80" + kept for kept in timestamps] if timestamps else [now] * len(plaintexts)
        encrypt, mac, chain = Cipher(self._aes, modes.CBC(bytes(16))).encryptor().update, self.mac, 0
        sealed = []
        for offset, plaintext, stamp in zip(range(0, len(ivs), 16), plaintexts, stamps):
            iv = ivs[offset:offset + 16]
            padded = plaintext + _PADDING[16 - len(plaintext) % 16]
            first = int.from_bytes(padded[:16], "big") ^ int.from_bytes(iv, "big") ^ chain
            ciphertext = encrypt(first.to_bytes(16, "big") + padded[16:])
            chain = int.from_bytes(ciphertext[-16:], "big")
            body = stamp + iv + ciphertext
            sealed.append(body + mac(body))
        return [binascii.b2a_base64(raw, newline=False).translate(_TO_URLSAFE_B64).decode("ascii") for raw in sealed]

    def reads_back(self, tokens, plaintexts):
        """True if every token (text) decrypts under this key to its plaintext, as an app would read it."""
        datas = [token_bytes(token) for token in tokens]
        signs = self.signs
        return all(data is not None and signs(data) for data in datas) and self.open_many(datas) == list(plaintexts)

    def cross_check(self, token, plaintext):
        """Fernet itself must agree that ``token`` holds ``plaintext``."""
        try:
            return self.key.fernet.decrypt(token.encode("utf-8")) == plaintext  # the app's own reading
        except Exception:  # InvalidToken and friends: a disagreement either way
            return False

    def _self_test(self):
        samples = [os.urandom(size) for size in (0, 15, 16, 37)]
        ours = self.seal_many(samples)
        theirs = [self.key.fernet.encrypt(sample).decode("ascii") for sample in samples]
        if not all(self.cross_check(token, sample) for token, sample in zip(ours, samples)) or \
                not self.reads_back(theirs, samples):
            raise VerificationError("the token codec disagrees with cryptography's Fernet for key %s; nothing was written"
                                    % self.key.fingerprint)


# ---------------------------------------------------------------------------------------------
# Jobs: what a worker does to a list of stored values. They run in forked workers (which get
# the keys by inheriting _STATE, never through pickling) or inline when workers == 1.
# ---------------------------------------------------------------------------------------------
_STATE = {}
_SEAL = object()


class _Job:
    """Base: classify each value, produce replacements. Subclasses define ``categories``,
    ``opened`` (the category of a token decrypted to be re-encrypted) and ``_classify``."""

    categories = ()
    opened = None

    def __init__(self, target):
        self.target = target

    def process(self, values, json_pattern):
        """Returns (writes [(index, new_value)], counts {category: n}, unknown_indexes, 0).

        Three steps, each over the whole list: classify (HMAC checks), decrypt the tokens to
        renew (one call per key), then seal every plaintext under the target key and prove that
        each new token decrypts back to it. A list with a bad new token raises VerificationError.
        """
        counts = dict.fromkeys(self.categories, 0)
        unknown = set()
        sources = {}  # codec -> [(slot, token data, token)]
        plaintexts = []  # (slot, plaintext bytes, timestamp bytes to keep or None)
        documents = {}
        classify = self._classify
        if json_pattern is None:
            slots = enumerate(values)
        else:
            slots = _json_slots(values, re.compile(json_pattern).search, documents)
        for slot, value in slots:
            category, source, data = classify(value)
            counts[category] += 1
            if source is _SEAL:
                plaintexts.append((slot, data, None))
            elif source is not None:
                sources.setdefault(source, []).append((slot, data, value))
            elif category == "unknown":
                unknown.add(slot if json_pattern is None else slot[0])
        for source, items in sources.items():
            checked = False
            for (slot, data, token), plaintext in zip(items, source.open_many([data for _slot, data, _token in items])):
                if plaintext is None:
                    # An HMAC that matches over a body that does not decrypt: unreadable.
                    counts[self.opened] -= 1
                    counts["unknown"] += 1
                    unknown.add(slot if json_pattern is None else slot[0])
                    continue
                if not checked:
                    # Once per list and key, cryptography's own Fernet reads an old token too.
                    checked = True
                    if not source.cross_check(token, plaintext):
                        raise VerificationError("cryptography's Fernet disagrees with the token codec")
                # The new token keeps the old one's timestamp, as MultiFernet.rotate does.
                plaintexts.append((slot, plaintext, data[1:9]))
        renewed = zip((item[0] for item in plaintexts),
                      self._renew([item[1] for item in plaintexts], [item[2] for item in plaintexts]))
        if json_pattern is None:
            writes = sorted(renewed)
        else:
            changed = {}
            for (index, position), token in renewed:
                _name, _value, start, end = documents[index][position]
                changed.setdefault(index, []).append((start, end, token))
            writes = [(index, _splice(values[index], changed[index])) for index in sorted(changed)]
        return writes, counts, sorted(unknown), 0

    def _classify(self, value):
        """(category, source, data) for one stored value: source is a codec whose token ``data``
        (bytes) is to be decrypted and re-encrypted, _SEAL for plaintext ``data`` to encrypt, or None."""
        raise NotImplementedError

    def _renew(self, plaintexts, timestamps=None):
        """Encrypt under the target key and prove every new token opens to the same plaintext."""
        if not plaintexts:
            return []
        tokens = self.target.seal_many(plaintexts, timestamps)
        if not self.target.reads_back(tokens, plaintexts):
            raise VerificationError("a new token did not decrypt back to its plaintext")
        # Once per list, cryptography's own Fernet reads a new token.
        if not self.target.cross_check(tokens[0], plaintexts[0]):
            raise VerificationError("cryptography's Fernet disagrees with the token codec")
        return tokens


def _json_slots(values, matches, documents):
    """((index, member position), value) for each token-bearing value of JSON objects; the
    members of each object (see _json_members) go to ``documents``."""
    for index, text in enumerate(values):
        members = _json_members(text)
        if members is None:
            continue
        documents[index] = members
        for position, (name, value, _start, _end) in enumerate(members):
            if matches(name):
                yield (index, position), value


class _RotateJob(_Job):
    categories = ("empty", "plaintext", "already_current", "rotated", "encrypted_plaintext", "unknown")
    opened = "rotated"
    result_fields = ROTATE_COUNTS

    def __init__(self, target, sources, encrypt_plaintext):
        super(_RotateJob, self).__init__(target)
        self.sources = sources
        self.encrypt_plaintext = encrypt_plaintext

    def _classify(self, value):
        if value is None or value == "":
            return "empty", None, None
        if not fernet_utils.looks_like_token(value):
            if self.encrypt_plaintext:
                return "encrypted_plaintext", _SEAL, value.encode("utf-8")
            return "plaintext", None, None
        data = token_bytes(value)
        if data is None:
            return "unknown", None, None
        # The new key first: the keyring refuses keys that share a half, and this order keeps a
        # token under the new key from ever being opened with an old one.
        if self.target.signs(data):
            return "already_current", None, None
        for source in self.sources:
            if source.signs(data):
                return "rotated", source, data
        return "unknown", None, None


class _EncryptJob(_Job):
    categories = ("empty", "already_encrypted", "newly_encrypted", "other_key", "unknown")
    result_fields = ENCRYPT_COUNTS

    def __init__(self, target, others):
        super(_EncryptJob, self).__init__(target)
        self.others = others

    def _classify(self, value):
        if value is None or value == "":
            return "empty", None, None
        if not fernet_utils.looks_like_token(value):
            return "newly_encrypted", _SEAL, value.encode("utf-8")
        data = token_bytes(value)
        if data is None:
            return "unknown", None, None
        if self.target.signs(data):
            return "already_encrypted", None, None
        for other in self.others:
            if other.signs(data):
                return "other_key", None, None
        return "unknown", None, None


class _ScanJob:
    """Classify by HMAC only (no decryption): counts per key name, the width of the tokens the
    write pass will produce, and the values no key opens."""

    def __init__(self, named_codecs, rewrite, write_plaintext):
        self.named = named_codecs
        self.rewrite = frozenset(rewrite)
        self.write_plaintext = write_plaintext

    def kind(self, value):
        if value is None or value == "":
            return "empty"
        if not fernet_utils.looks_like_token(value):
            return "plaintext"
        data = token_bytes(value)
        if data is not None:
            for name, codec in self.named:
                if codec.signs(data):
                    return name
        return "unknown"

    def process(self, values, json_pattern):
        counts = {"values": 0, "rows_to_write": 0, "empty": 0, "plaintext": 0, "unknown": 0}
        for name, _codec in self.named:
            counts[name] = 0
        unknown = []
        needed = 0
        rewrite, write_plaintext = self.rewrite, self.write_plaintext
        matches = re.compile(json_pattern).search if json_pattern is not None else None
        for index, stored in enumerate(values):
            if matches is None:
                items = (stored,)
            else:
                members = _json_members(stored)
                if members is None:
                    continue
                items = [value for name, value, _start, _end in members if matches(name)]
            write = has_unknown = False
            for value in items:
                kind = self.kind(value)
                counts[kind] += 1
                if kind in rewrite:
                    write = True
                    needed = max(needed, len(value))
                elif kind == "plaintext" and write_plaintext:
                    write = True
                    needed = max(needed, token_length(len(value.encode("utf-8"))))
                elif kind == "unknown":
                    has_unknown = True
            counts["values"] += len(items)
            if write:
                counts["rows_to_write"] += 1
            if has_unknown:
                unknown.append(index)
        return [], counts, unknown, needed


_JSON_SPACE = re.compile(r"[ \t\n\r]*")
_JSON_VALUE = json.JSONDecoder()


def _json_members(text):
    """[(name, value, start, end)] for each string member of a JSON object, ``start:end`` being
    the span of the value's literal in ``text``; None if ``text`` is not a JSON object.

    Secrets are replaced in place (_splice): every other byte of the document, numbers
    included, stays as it was (a float round trip would change 0.12345678901234567891 and turn
    1e400 into Infinity, which is not JSON).
    """
    if not isinstance(text, str) or not text:
        return None
    try:
        document = json.loads(text)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    # The text is a valid JSON object: walk its top level.
    members = []
    space = _JSON_SPACE.match
    index = space(text, 0).end() + 1  # past '{'
    while True:
        index = space(text, index).end()
        if text[index] == "}":
            return members
        name, index = json.decoder.scanstring(text, index + 1)
        index = space(text, space(text, index).end() + 1).end()  # past ':'
        if text[index] == '"':
            value, end = json.decoder.scanstring(text, index + 1)
            members.append((name, value, index, end))
        else:
            end = _JSON_VALUE.raw_decode(text, index)[1]
        index = space(text, end).end()
        if text[index] == ",":
            index += 1


def _splice(text, replacements):
    """``text`` with each (start, end, new string) put in as a JSON string literal."""
    parts = []
    last = 0
    for start, end, value in sorted(replacements):
        parts.append(text[last:start])
        parts.append(json.dumps(value))
        last = end
    parts.append(text[last:])
    return "".join(parts)


def _work(args):
    name, values, json_pattern = args
    return _STATE["jobs"][name].process(values, json_pattern)


def _worker_init():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Die with the parent: a SIGKILLed run must not leave workers behind.
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def default_workers():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover
        return max(1, os.cpu_count() or 1)


class _Runner:
    """Runs jobs over chunks of a batch, in a fork pool or inline (workers == 1)."""

    def __init__(self, jobs, workers):
        self.jobs = jobs
        self.workers = workers
        self.pool = None
        if workers > 1:
            # Set before the fork: the workers inherit the keys, nothing secret is pickled.
            _STATE["jobs"] = jobs
            self.pool = multiprocessing.get_context("fork").Pool(workers, initializer=_worker_init)

    def submit(self, name, values, json_pattern):
        if self.pool is None:
            return [(0, self.jobs[name].process(values, json_pattern))], False
        # Chunks below a few dozen rows cost more to ship than to crunch.
        size = max(-(-len(values) // self.workers), MIN_CHUNK)
        return [(start, self.pool.apply_async(_work, ((name, values[start:start + size], json_pattern),)))
                for start in range(0, len(values), size)], True

    def collect(self, handle):
        """Merge the chunks' (writes, counts, unknown_indexes, extra) with indexes made batch-relative."""
        parts, pooled = handle
        if not pooled:
            return parts[0][1]
        writes, unknown, counts, extra = [], [], {}, 0
        for start, result in parts:
            part_writes, part_counts, part_unknown, part_extra = self._wait(result)
            writes.extend((start + index, new) for index, new in part_writes)
            unknown.extend(start + index for index in part_unknown)
            for category, count in part_counts.items():
                counts[category] = counts.get(category, 0) + count
            extra = max(extra, part_extra)
        return writes, counts, unknown, extra

    def _wait(self, result):
        # A worker that dies takes its chunk with it and the pool quietly replaces it: poll,
        # and give up as soon as the set of worker processes changes instead of waiting it out.
        workers = set(process.pid for process in self.pool._pool)  # pylint: disable=protected-access
        deadline = time.time() + WORKER_TIMEOUT
        while True:
            try:
                return result.get(WORKER_POLL)
            except multiprocessing.TimeoutError:
                if set(process.pid for process in self.pool._pool) != workers:  # pylint: disable=protected-access
                    raise EngineError("a worker process died; nothing of this batch was written")
                if time.time() > deadline:
                    raise EngineError("a worker process did not answer within %d s; nothing of this batch was written"
                                      % WORKER_TIMEOUT)

    def stream(self, db, prepared, name, batch_size):
        """Yield (position in ``prepared``, pks, values, outcome of job ``name``) for every batch of
        every column, in key order. Reading runs BATCHES_AHEAD batches ahead of the caller, across
        column boundaries, so the workers always have the next batches while one is written."""
        pending = collections.deque()
        for position, (spec, info) in enumerate(prepared):
            pattern = spec.json_re.pattern if spec.is_json else None
            for rows in db.iter_batches(spec, info, batch_size):
                values = [row[1] for row in rows]
                pending.append((position, [row[0] for row in rows], values, self.submit(name, values, pattern)))
                if len(pending) > BATCHES_AHEAD:
                    yield self._collected(prepared, pending.popleft())
        while pending:
            yield self._collected(prepared, pending.popleft())

    def _collected(self, prepared, item):
        position, pks, values, handle = item
        try:
            return position, pks, values, self.collect(handle)
        except VerificationError as exc:
            raise VerificationError("%s in %s: that batch was not written (batches before it are complete and every row "
                                    "still opens with one of the keys); do not drop any key, and report this"
                                    % (exc, prepared[position][0].name))

    def close(self):
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None
        _STATE.clear()


# ---------------------------------------------------------------------------------------------
# Scan (HMAC only) and checks before anything is written.
# ---------------------------------------------------------------------------------------------
class _Tally:
    """What the scan found in one column."""

    def __init__(self, spec, info):
        self.spec = spec
        self.info = info
        self.rows = 0
        self.values = 0
        self.empty = 0
        self.plaintext = 0
        self.unknown = 0
        self.unknown_ids = []
        self.by_key = {}
        self.rows_to_write = 0
        self.needed = 0

    def add_unknown_id(self, pk):
        pk = _plain_id(pk)
        if len(self.unknown_ids) < MAX_IDS and (not self.unknown_ids or self.unknown_ids[-1] != pk):
            self.unknown_ids.append(pk)


def _plain_id(pk):
    return pk if isinstance(pk, (int, str)) else str(pk)


def _iter_values(spec, rows):
    """(pk, json_key, value) for every token-bearing value in a batch of (pk, stored)."""
    if not spec.is_json:
        for pk, value in rows:
            yield pk, None, value
        return
    for pk, text in rows:
        for name, value, _start, _end in _json_members(text) or ():
            if spec.json_key_matches(name):
                yield pk, name, value


def _scan(db, spec, info, keyring, batch_size, rewrite=(), write_plaintext=False, unknown_width=None, on_unknown_value=None):
    """Count a column by HMAC only. ``rewrite``: key names whose tokens will be re-encrypted;
    ``write_plaintext``: plaintext will be encrypted; ``unknown_width``: width written in place of
    an unknown value (recovery), None if unknown values are left alone."""
    tally = _Tally(spec, info)
    signer = keyring.signer
    for rows in db.iter_batches(spec, info, batch_size):
        tally.rows += len(rows)
        marked = None
        for pk, json_key, value in _iter_values(spec, rows):
            tally.values += 1
            kind, name = signer(value)
            write = False
            if kind == fernet_utils.KEY:
                tally.by_key[name] = tally.by_key.get(name, 0) + 1
                if name in rewrite:
                    write = True
                    tally.needed = max(tally.needed, len(value))
            elif kind == fernet_utils.EMPTY:
                tally.empty += 1
            elif kind == fernet_utils.PLAINTEXT:
                tally.plaintext += 1
                if write_plaintext:
                    write = True
                    tally.needed = max(tally.needed, token_length(len(value.encode("utf-8"))))
            else:
                tally.unknown += 1
                tally.add_unknown_id(pk)
                if unknown_width is not None:
                    write = True
                    tally.needed = max(tally.needed, unknown_width)
                if on_unknown_value is not None:
                    on_unknown_value(spec, pk, json_key, value)
            if write and pk != marked:
                tally.rows_to_write += 1
                marked = pk
    return tally


def widened_width(needed):
    """The width a column that must hold tokens of ``needed`` characters is widened to."""
    return max(WIDEN_MINIMUM, needed + WIDEN_MARGIN)


def _width_problems(tallies):
    problems = []
    for tally in tallies:
        info, spec = tally.info, tally.spec
        if info.max_length is not None and tally.needed > info.max_length:
            problems.append({
                "table": spec.table, "column": spec.column, "data_type": info.data_type, "max_length": info.max_length,
                "needed": tally.needed,
                "fix": "ALTER TABLE %s ALTER COLUMN %s TYPE varchar(%d);" % (
                    quote_identifier(spec.table), quote_identifier(spec.column), widened_width(tally.needed)),
            })
    return problems


def widen_columns(db, tallies, check_mode=False):
    """Widen every column the scan found too narrow for the tokens it will receive (PostgreSQL
    varchar/char; SQLite never has one), all in one transaction, before any token is written.
    Type, NOT NULL, defaults, unique constraints and indexes stay. Returns [{table, column, from, to}]
    (in check mode, what would be widened; nothing is changed)."""
    widened = []
    changes = []
    for tally in tallies:
        info = tally.info
        if info.max_length is not None and tally.needed > info.max_length:
            width = widened_width(tally.needed)
            widened.append({"table": tally.spec.table, "column": tally.spec.column, "from": info.max_length, "to": width})
            changes.append((tally.spec, info, width))
    if changes and not check_mode:
        db.widen_columns(changes)
        for _spec, info, width in changes:
            info.max_length = width
    return widened


def _unknown_details(tallies):
    return [{"table": t.spec.table, "column": t.spec.column, "count": t.unknown, "ids": list(t.unknown_ids)}
            for t in tallies if t.unknown]


def _check_batch_size(batch_size):
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise InvalidArgument("batch_size must be an integer from 1 to %d" % MAX_BATCH_SIZE)


def _check_workers(workers):
    if workers is None:
        return default_workers()
    if not isinstance(workers, int) or isinstance(workers, bool) or not 1 <= workers <= 256:
        raise InvalidArgument("workers must be an integer from 1 to 256 (or left out: one per CPU)")
    return workers


def _as_key(value, name):
    if isinstance(value, fernet_utils.FernetKey):
        return value
    try:
        return fernet_utils.parse_key(value, name)
    except ValueError as exc:
        raise InvalidArgument(str(exc))


def _keyring(named):
    try:
        return fernet_utils.Keyring(named)
    except ValueError as exc:
        raise InvalidArgument(str(exc))


def _prepare(db, specs):
    """Column info for the ENCRYPTION_KEY columns (validates tables, columns, types and `where`)."""
    prepared = []
    for spec in specs:
        if spec.uses_encryption_key:
            prepared.append((spec, db.column_info(spec)))
    if not prepared:
        raise InvalidArgument("none of the columns is keyed by ENCRYPTION_KEY; nothing to do")
    return prepared


def _totals(columns, fields):
    totals = dict.fromkeys(fields, 0)
    for column in columns:
        for field in fields:
            totals[field] += column[field]
    totals["columns"] = len(columns)
    return totals


def _pooled_scan(db, prepared, runner, batch_size, progress=None, totals=None):
    """The HMAC-only scan of every column, in the workers."""
    tallies = [_Tally(spec, info) for spec, info in prepared]
    for position, pks, _values, outcome in runner.stream(db, prepared, "scan", batch_size):
        tally = tallies[position]
        _writes, counts, unknown, needed = outcome
        tally.rows += len(pks)
        if progress is not None:
            progress(tally.spec.table, tally.spec.column, tally.rows, totals[position])
        tally.values += counts.pop("values")
        tally.rows_to_write += counts.pop("rows_to_write")
        tally.empty += counts.pop("empty")
        tally.plaintext += counts.pop("plaintext")
        tally.unknown += counts.pop("unknown")
        for name, count in counts.items():
            tally.by_key[name] = tally.by_key.get(name, 0) + count
        for index in unknown:
            tally.add_unknown_id(pks[index])
        tally.needed = max(tally.needed, needed)
    return tallies


def _write_pass(db, prepared, runner, batch_size, progress=None, totals=None):
    """Stream every column through the write job; each batch is one transaction, committed in
    order by the committer while the next batches are read and crunched."""
    columns = [_ColumnWriter(spec, info, runner.jobs["write"].categories, progress) for spec, info in prepared]
    for column, total in zip(columns, totals or ()):
        column.total = total
    with _Committer(db) as committer:
        for position, pks, values, outcome in runner.stream(db, prepared, "write", batch_size):
            committer.put(columns[position], pks, values, outcome)
    return [column.result() for column in columns]


class _Committer:
    """Writes batches in the order given, each in its own transaction, on a second connection
    and in a thread: the database's write work overlaps the reading of the next batches and the
    workers' crypto. The first error stops it; nothing queued after a failure is written, and
    the error is raised in the caller's thread."""

    def __init__(self, db):
        self.db = db
        self.queue = queue.Queue(maxsize=BATCHES_AHEAD)
        self.error = None
        self.abandoned = False
        self.thread = threading.Thread(target=self._run, name="webops-encryption-committer")
        self.thread.daemon = True

    def __enter__(self):
        self.connection = self.db.reopen()
        self.thread.start()
        return self

    def put(self, column, pks, values, outcome):
        while True:
            self._raise()
            try:
                self.queue.put((column, pks, values, outcome), timeout=WORKER_POLL)
                return
            except queue.Full:
                continue

    def _run(self):
        while True:
            item = self.queue.get()
            if item is None:
                return
            if self.error is not None or self.abandoned:
                continue
            column, pks, values, outcome = item
            try:
                column.write(self.connection, pks, values, outcome)
            except BaseException as exc:  # handed to the caller's thread by _raise()
                self.error = exc

    def _raise(self):
        if self.error is not None:
            raise self.error

    def __exit__(self, exc_type, exc_value, traceback):
        self.abandoned = exc_type is not None
        self.queue.put(None)
        self.thread.join()
        self.connection.close()
        if exc_type is None:
            self._raise()


class _ColumnWriter:
    """Writes the outcome of one batch of one column and keeps the column's counts."""

    def __init__(self, spec, info, categories, progress):
        self.spec, self.info, self.categories, self.progress = spec, info, categories, progress
        self.total = None
        self.counts = dict.fromkeys(categories, 0)
        self.counts.update(rows=0, rows_written=0, conflicts=0)
        self.unknown_ids = []

    def write(self, db, pks, values, outcome):
        writes, part_counts, unknown, _extra = outcome
        counts = self.counts
        counts["rows"] += len(pks)
        for category, count in part_counts.items():
            counts[category] += count
        for index in unknown:
            if len(self.unknown_ids) < MAX_IDS:
                self.unknown_ids.append(_plain_id(pks[index]))
        if writes:
            rows = [(pks[index], values[index], new) for index, new in writes]
            written = db.update_batch(self.spec, self.info, rows)
            counts["rows_written"] += written
            # The guard left alone rows that changed since they were read; the next run takes them.
            counts["conflicts"] += len(rows) - written
        if self.progress is not None:
            self.progress(self.spec.table, self.spec.column, counts["rows"], self.total)

    def result(self):
        self.counts["total"] = sum(self.counts[c] for c in self.categories)
        self.counts["unknown_ids"] = self.unknown_ids
        return self.counts


def _column_result(spec, counts, order):
    result = {"table": spec.table, "column": spec.column}
    for field in order:
        result[field] = counts[field]
    result["unknown_ids"] = list(counts.get("unknown_ids", ()))
    return result


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def _run(db, specs, scan_job, write_job, batch_size, workers, check_mode, progress, check_tallies, scan_counts,
         scan_progress=None, widened=None):
    """Lock, scan, refuse bad data, then (unless check mode) write. Returns the column results.
    ``widened``: a list to widen too-narrow columns (before the write pass) and record them in;
    None refuses them."""
    with db.lock():
        prepared = _prepare(db, specs)
        runner = _Runner({"scan": scan_job, "write": write_job}, workers)
        try:
            # Counting the rows first costs one query per column; only a progress report needs it.
            totals = [db.count_rows(spec) for spec, _info in prepared] if scan_progress is not None else None
            tallies = _pooled_scan(db, prepared, runner, batch_size, scan_progress, totals)
            check_tallies(tallies)
            problems = _width_problems(tallies)
            if problems and widened is None:
                raise ColumnTooNarrow(problems)
            if problems:
                widened.extend(widen_columns(db, tallies, check_mode))
            if check_mode:
                return [scan_counts(tally) for tally in tallies]
            written = _write_pass(db, prepared, runner, batch_size, progress, [tally.rows for tally in tallies])
            return [_column_result(spec, counts, write_job.result_fields) for (spec, _info), counts in zip(prepared, written)]
        finally:
            runner.close()


def rotate(db, specs, new_key, old_keys, on_unknown="fail", encrypt_plaintext=False, batch_size=DEFAULT_BATCH_SIZE, workers=None,
           check_mode=False, progress=None, scan_progress=None, widen=False):
    """Re-encrypt under ``new_key`` every token that opens with one of ``old_keys``.

    ``widen``: widen columns too narrow for the new tokens (widen_columns()) instead of refusing.

    Keys are FernetKey objects or key text. ``progress(table, column, rows_done, rows_total)`` is
    called after each committed batch, ``scan_progress`` (the same signature) after each batch of
    the scan before anything is written. Raises UnknownTokens (on_unknown='fail'), ColumnTooNarrow, LockHeld,
    DatabaseError, InvalidArgument before writing anything.
    """
    if on_unknown not in ON_UNKNOWN:
        raise InvalidArgument("on_unknown must be fail or skip")
    _check_batch_size(batch_size)
    workers = _check_workers(workers)
    new_key = _as_key(new_key, "new_key")
    old_keys = [_as_key(k, "old_keys[%d]" % i) for i, k in enumerate(old_keys or ())]
    if not old_keys and not encrypt_plaintext:
        raise InvalidArgument("give old_keys (the keys the data is under now)")
    old_names = ["old%d" % i for i in range(len(old_keys))]
    _keyring([("new_key", new_key)] + [("old_keys[%d]" % i, k) for i, k in enumerate(old_keys)])  # refuses a key listed twice
    new_codec = _Codec(new_key)
    old_codecs = [_Codec(k) for k in old_keys]
    # The new key first, as in _RotateJob.
    scan_job = _ScanJob([("new", new_codec)] + list(zip(old_names, old_codecs)), set(old_names), encrypt_plaintext)

    def check_tallies(tallies):
        details = _unknown_details(tallies)
        if details and on_unknown == "fail":
            raise UnknownTokens(details)

    def scan_counts(tally):
        return _column_result(tally.spec, {
            "rows": tally.rows, "total": tally.values, "already_current": tally.by_key.get("new", 0),
            "rotated": sum(tally.by_key.get(name, 0) for name in old_names),
            "plaintext": 0 if encrypt_plaintext else tally.plaintext,
            "encrypted_plaintext": tally.plaintext if encrypt_plaintext else 0, "empty": tally.empty,
            "unknown": tally.unknown, "unknown_ids": tally.unknown_ids, "rows_written": tally.rows_to_write,
            "conflicts": 0}, ROTATE_COUNTS)

    started = time.time()
    widened = [] if widen else None
    columns = _run(db, specs, scan_job, _RotateJob(new_codec, old_codecs, encrypt_plaintext), batch_size, workers,
                   check_mode, progress, check_tallies, scan_counts, scan_progress, widened)
    totals = _totals(columns, ROTATE_COUNTS)
    if not check_mode and on_unknown == "fail" and totals["unknown"]:
        # Only a token whose HMAC matches an old key but whose body does not decrypt gets here.
        raise UnknownTokens([{"table": c["table"], "column": c["column"], "count": c["unknown"], "ids": c["unknown_ids"]}
                             for c in columns if c["unknown"]], written=True)
    return {
        "changed": totals["rows_written"] > 0 or bool(widened), "check_mode": bool(check_mode), "columns": columns,
        "totals": totals, "widened": widened or [], "new_key_fingerprint": new_key.fingerprint,
        "old_key_fingerprints": [k.fingerprint for k in old_keys],
        "workers": workers, "batch_size": batch_size, "elapsed_seconds": round(time.time() - started, 3),
    }


def encrypt(db, specs, key, other_keys=(), batch_size=DEFAULT_BATCH_SIZE, workers=None, check_mode=False, progress=None,
            scan_progress=None, widen=False):
    """Encrypt every plaintext value under ``key``. Tokens under ``key`` are left alone; tokens
    under one of ``other_keys`` (counted as other_key) and token-shaped values no key opens
    (unknown) are reported and never encrypted again. Empty and NULL stay as they are.
    ``widen``: widen columns too narrow for the new tokens (widen_columns()) instead of refusing."""
    _check_batch_size(batch_size)
    workers = _check_workers(workers)
    key = _as_key(key, "key")
    other_keys = [_as_key(k, "other_keys[%d]" % i) for i, k in enumerate(other_keys or ())]
    other_names = ["other%d" % i for i in range(len(other_keys))]
    _keyring([("key", key)] + [("other_keys[%d]" % i, k) for i, k in enumerate(other_keys)])  # refuses a key listed twice
    codec = _Codec(key)
    other_codecs = [_Codec(k) for k in other_keys]
    scan_job = _ScanJob([("key", codec)] + list(zip(other_names, other_codecs)), (), True)

    def scan_counts(tally):
        return _column_result(tally.spec, {
            "rows": tally.rows, "total": tally.values, "already_encrypted": tally.by_key.get("key", 0),
            "newly_encrypted": tally.plaintext, "other_key": sum(tally.by_key.get(n, 0) for n in other_names),
            "empty": tally.empty, "unknown": tally.unknown, "unknown_ids": tally.unknown_ids,
            "rows_written": tally.rows_to_write, "conflicts": 0}, ENCRYPT_COUNTS)

    started = time.time()
    widened = [] if widen else None
    columns = _run(db, specs, scan_job, _EncryptJob(codec, other_codecs), batch_size, workers, check_mode, progress,
                   lambda tallies: None, scan_counts, scan_progress, widened)
    totals = _totals(columns, ENCRYPT_COUNTS)
    return {
        "changed": totals["rows_written"] > 0 or bool(widened), "check_mode": bool(check_mode), "columns": columns,
        "totals": totals, "widened": widened or [],
        "key_fingerprint": key.fingerprint, "other_key_fingerprints": [k.fingerprint for k in other_keys],
        "workers": workers, "batch_size": batch_size, "elapsed_seconds": round(time.time() - started, 3),
    }


_CONFIG_TOKEN_PREFIX = "Z0FBQUFB"  # base64 of "gAAAAA": the SECRET_KEY-derived tokens of core_configuration


def audit(db, specs, keys, batch_size=DEFAULT_BATCH_SIZE, secret_keyring=None, progress=None):
    """Per column, how many values each named key opens (full decryption), plaintext, empty and
    unknown (with up to 20 row ids). ``keys``: {name: FernetKey or key text}. Read-only, no lock,
    so it can watch a rotation in progress. Columns keyed by SECRET_KEY are reported with their
    SECRET_KEY-format tokens under ``unverified`` (this engine does not hold SECRET_KEY), unless
    ``secret_keyring`` (a secret_key.DerivedKeyring) is given: then their values are counted per
    named SECRET_KEY under ``secret_keys``. With ``keys`` empty, only those columns are audited."""
    _check_batch_size(batch_size)
    if not keys and secret_keyring is None:
        raise InvalidArgument("give at least one key to audit with (keys: {current: ..., old: ...})")
    named = [(name, _as_key(value, name)) for name, value in sorted((keys or {}).items())]
    keyring = _keyring(named)
    if not keys:
        specs = [spec for spec in specs if not spec.uses_encryption_key]
    columns = []
    for spec in specs:
        if secret_keyring is not None and not spec.uses_encryption_key:
            columns.append(_audit_secret_key_column(db, spec, secret_keyring, batch_size))
            continue
        info = db.column_info(spec)
        counts = dict.fromkeys(AUDIT_COUNTS, 0)
        by_key = dict.fromkeys((name for name, _key in named), 0)
        unknown_ids = []
        secret_key_column = not spec.uses_encryption_key
        total = db.count_rows(spec) if progress is not None else None
        for rows in db.iter_batches(spec, info, batch_size):
            counts["rows"] += len(rows)
            if progress is not None:
                progress(spec.table, spec.column, counts["rows"], total)
            for pk, _name, value in _iter_values(spec, rows):
                counts["total"] += 1
                if secret_key_column and value and value.startswith(_CONFIG_TOKEN_PREFIX):
                    counts["unverified"] += 1
                    continue
                kind, name, _plaintext = keyring.classify(value)
                if kind == fernet_utils.KEY:
                    by_key[name] += 1
                elif kind == fernet_utils.EMPTY:
                    counts["empty"] += 1
                elif kind == fernet_utils.PLAINTEXT:
                    counts["plaintext"] += 1
                else:
                    counts["unknown"] += 1
                    pk = _plain_id(pk)
                    if len(unknown_ids) < MAX_IDS and (not unknown_ids or unknown_ids[-1] != pk):
                        unknown_ids.append(pk)
        result = _column_result(spec, counts, AUDIT_COUNTS)
        result.update(keyed_by=spec.keyed_by, by_key=by_key, unknown_ids=unknown_ids)
        columns.append(result)
    totals = _totals(columns, AUDIT_COUNTS)
    totals["by_key"] = dict((name, sum(c["by_key"].get(name, 0) for c in columns)) for name, _key in named)
    result = {"changed": False, "columns": columns, "totals": totals,
              "fingerprints": dict((name, key.fingerprint) for name, key in named)}
    if secret_keyring is not None:
        totals["secret_keys"] = dict((name, sum(c.get("secret_keys", {}).get(name, 0) for c in columns))
                                     for name in secret_keyring.fingerprints)
        result["secret_key_fingerprints"] = dict(secret_keyring.fingerprints)
    return result


def _audit_secret_key_column(db, spec, secret_keyring, batch_size):
    """audit() of one SECRET_KEY-keyed column: values per named SECRET_KEY (full decryption)."""
    info = db.column_info(spec)
    counts = dict.fromkeys(AUDIT_COUNTS, 0)
    by_key = dict.fromkeys(secret_keyring.fingerprints, 0)
    unknown_ids = []
    for rows in db.iter_batches(spec, info, batch_size):
        counts["rows"] += len(rows)
        for pk, value in rows:
            counts["total"] += 1
            kind, name, _plaintext = secret_keyring.classify(value)
            if kind == fernet_utils.KEY:
                by_key[name] += 1
            elif kind == fernet_utils.EMPTY:
                counts["empty"] += 1
            elif kind == fernet_utils.PLAINTEXT:
                counts["plaintext"] += 1
            else:
                counts["unknown"] += 1
                if len(unknown_ids) < MAX_IDS:
                    unknown_ids.append(_plain_id(pk))
    result = _column_result(spec, counts, AUDIT_COUNTS)
    result.update(keyed_by=spec.keyed_by, by_key={}, secret_keys=by_key, unknown_ids=unknown_ids)
    return result


# ---------------------------------------------------------------------------------------------
# Disaster recovery
# ---------------------------------------------------------------------------------------------
class _Export:
    """JSON lines of unreadable values, written to a 0600 temp file beside ``path`` and renamed
    into place before anything is cleared. Lines of an earlier export at ``path`` are kept, so
    a recovery interrupted after its export never loses what the first run saved."""

    def __init__(self, path):
        self.path = os.path.abspath(path)
        directory = os.path.dirname(self.path)
        if not os.path.isdir(directory):
            raise InvalidArgument("the directory of export_path (%s) does not exist" % directory)
        fd, self.tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(self.path), dir=directory)
        os.fchmod(fd, 0o600)
        self.handle = os.fdopen(fd, "w", encoding="utf-8")
        self.seen = set()
        self.count = 0
        if os.path.exists(self.path):
            with open(self.path, encoding="utf-8") as previous:
                for line in previous:
                    if line.strip():
                        self._line(line.rstrip("\n"))

    def _line(self, line):
        digest = hashlib.sha256(line.encode("utf-8")).digest()
        if digest not in self.seen:
            self.seen.add(digest)
            self.handle.write(line + "\n")
            self.count += 1

    def add(self, spec, pk, json_key, value):
        record = {"table": spec.table, "column": spec.column, "pk": _plain_id(pk)}
        if json_key is not None:
            record["json_key"] = json_key
        record["value"] = value
        self._line(json.dumps(record, sort_keys=True))

    def commit(self):
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        os.rename(self.tmp, self.path)
        dir_fd = os.open(os.path.dirname(self.path), os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def discard(self):
        if not self.handle.closed:
            self.handle.close()
        if os.path.exists(self.tmp):
            os.unlink(self.tmp)


def _new_hex_secret():
    return secrets.token_hex(32)


def purge_unreadable(db, specs, key, export_path, check_mode=False, batch_size=DEFAULT_BATCH_SIZE, other_keys=()):
    """After a key is lost: export every value that neither ``key`` nor ``other_keys`` opens (a
    0600 JSON-lines file at ``export_path``, written before anything changes), then apply each
    column's on_lost rule: delete the row (2FA), give it a new random secret under ``key``
    (webhooks), or clear it (''). Plaintext and values a key opens are left alone. With
    check_mode nothing is written, not even the export. Results hold counts only."""
    _check_batch_size(batch_size)
    key = _as_key(key, "key")
    other_keys = [_as_key(k, "other_keys[%d]" % i) for i, k in enumerate(other_keys or ())]
    if not export_path:
        raise InvalidArgument("export_path is required: unreadable values are saved there before they are cleared")
    keyring = _keyring([("key", key)] + [("other_keys[%d]" % i, k) for i, k in enumerate(other_keys)])
    codec = _Codec(key)
    started = time.time()
    export = None
    with db.lock():
        prepared = _prepare(db, specs)
        try:
            if not check_mode:
                export = _Export(export_path)
            tallies = []
            for spec, info in prepared:
                width = token_length(64) if spec.on_lost == ON_LOST_NEW_SECRET else 0
                tallies.append(_scan(db, spec, info, keyring, batch_size, unknown_width=width,
                                     on_unknown_value=export.add if export is not None else None))
            problems = _width_problems(tallies)
            if problems:
                raise ColumnTooNarrow(problems)
            found = sum(t.unknown for t in tallies)
            if export is not None:
                if found:
                    export.commit()
                else:
                    export.discard()
        except BaseException:
            if export is not None:
                export.discard()
            raise
        columns = []
        for tally in tallies:
            spec, info = tally.spec, tally.info
            counts = {"rows": tally.rows, "total": tally.values, "readable": sum(tally.by_key.values()),
                      "plaintext": tally.plaintext, "empty": tally.empty, "unreadable": tally.unknown,
                      "deleted": 0, "reset": 0, "cleared": 0, "conflicts": 0}
            action = "deleted" if spec.on_lost == ON_LOST_DELETE_ROW else "reset" if spec.on_lost == ON_LOST_NEW_SECRET else "cleared"
            if check_mode:
                counts[action] = tally.rows_to_write if action == "deleted" else tally.unknown
            elif tally.unknown:
                counts[action], counts["conflicts"] = _purge_column(db, spec, info, keyring, codec, batch_size)
            result = _column_result(spec, counts, RECOVER_COUNTS)
            del result["unknown_ids"]  # counts only: the ids are in the export
            result["on_lost"] = spec.on_lost
            columns.append(result)
    totals = _totals(columns, RECOVER_COUNTS)
    changed = (totals["deleted"] + totals["reset"] + totals["cleared"]) > 0
    return {"changed": changed, "check_mode": bool(check_mode), "columns": columns, "totals": totals,
            "key_fingerprint": key.fingerprint, "other_key_fingerprints": [k.fingerprint for k in other_keys],
            "export_path": os.path.abspath(export_path) if changed and not check_mode else None,
            "exported": sum(t.unknown for t in tallies), "elapsed_seconds": round(time.time() - started, 3)}


def _purge_column(db, spec, info, keyring, codec, batch_size):
    """Apply the on_lost rule to one column. Returns (rows deleted or values changed, rows left alone
    because they changed while the run was reading them)."""
    done = conflicts = 0
    unreadable = fernet_utils.UNKNOWN
    for rows in db.iter_batches(spec, info, batch_size):
        if spec.on_lost == ON_LOST_DELETE_ROW:
            doomed = [(pk, value) for pk, value in rows if keyring.signer(value)[0] == unreadable]
            if doomed:
                deleted = db.delete_batch(spec, info, doomed)
                done += deleted
                conflicts += len(doomed) - deleted
            continue
        updates = []
        changed_values = 0
        for pk, stored in rows:
            if spec.is_json:
                cleared = [(start, end, "") for name, value, start, end in _json_members(stored) or ()
                           if spec.json_key_matches(name) and keyring.signer(value)[0] == unreadable]
                if cleared:
                    updates.append((pk, stored, _splice(stored, cleared)))
                    changed_values += len(cleared)
            elif keyring.signer(stored)[0] == unreadable:
                if spec.on_lost == ON_LOST_NEW_SECRET:
                    plaintext = _new_hex_secret().encode("ascii")
                    new = codec.seal_many([plaintext])[0]
                    if not codec.reads_back([new], [plaintext]) or not codec.cross_check(new, plaintext):
                        raise VerificationError("a new secret did not decrypt back; nothing of this batch was written")
                else:
                    new = ""
                updates.append((pk, stored, new))
                changed_values += 1
        if updates:
            written = db.update_batch(spec, info, updates)
            done += changed_values if written == len(updates) else written
            conflicts += len(updates) - written
    return done, conflicts


__all__ = ["encrypt", "rotate", "audit", "purge_unreadable", "token_length", "default_workers", "EngineError",
           "DatabaseError", "LockHeld", "UnknownTokens", "ColumnTooNarrow", "VerificationError", "InvalidArgument",
           "widen_columns", "widened_width"]
