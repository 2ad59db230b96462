# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""The token codec: Fernet tokens sealed and opened in bulk, checked against cryptography's Fernet.

Fernet() builds a new AES-CBC context per token, which costs more than the cipher itself; here
each call of a codec uses one CBC stream for all the tokens it seals and one ECB context for
all it opens (CBC decryption is ECB decryption XORed with the previous ciphertext block), made
for that call alone so no state outlives it. Every codec checks itself against cryptography's
Fernet when it is made, the first value of every chunk is cross-checked with Fernet, and every
new token is decrypted again before its batch is written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import hashlib
import hmac
import os
import struct
import time

try:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
except ImportError:
    Cipher = None

from ansible_collections.webops.encryption.plugins.module_utils import fernet as fernet_utils
from ansible_collections.webops.encryption.plugins.module_utils._engine.errors import VerificationError


def token_length(plaintext_bytes):
    """Characters of the Fernet token of a plaintext of that many UTF-8 bytes."""
    raw = 1 + 8 + 16 + 16 * (plaintext_bytes // 16 + 1) + 32
    return 4 * ((raw + 2) // 3)


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


class Codec:
    """Bulk HMAC checks, decryption and encryption under one Fernet key (``key``, a FernetKey)."""

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
