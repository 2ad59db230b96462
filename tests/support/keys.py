# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keys made at test time (the tree never holds a literal key), and what the tests compute from them
independently of the collection: the other base64 alphabet and the fingerprint."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import os


def new_key(standard=False):
    """A fresh Fernet key (32 random bytes, url-safe base64); standard=True uses + and /."""
    while True:
        raw = os.urandom(32)
        text = (base64.b64encode if standard else base64.urlsafe_b64encode)(raw).decode("ascii")
        # A standard-alphabet key must really show its alphabet, or the test proves nothing.
        if not standard or "+" in text or "/" in text:
            return text


def other_form(key_text):
    """The same key in the other base64 alphabet."""
    raw = base64.b64decode(key_text.replace("-", "+").replace("_", "/"))
    if "-" in key_text or "_" in key_text:
        return base64.b64encode(raw).decode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii")


def sha256_16(data):
    """The collection's fingerprint format, computed independently: sha256 of the bytes, 16 hex digits."""
    return "sha256:" + hashlib.sha256(data).hexdigest()[:16]


def fingerprint(key):
    """The fingerprint of a Fernet key: of its 32 bytes, whichever base64 alphabet it is written in."""
    return sha256_16(base64.urlsafe_b64decode(key.encode()))
