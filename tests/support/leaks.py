# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checks that nothing secret is printed.

``Needles`` (the thorough leak scan): every printable form a key or a plaintext secret could
take. A key leaks in url-safe or standard base64, with or without padding, or as the
20-character prefix the application's own rotate command prints. A plaintext leaks as itself,
JSON-escaped, or repr-escaped. ``assert_no_secret`` and ``assert_no_secrets``: the quick
assertions the integration tests make on every output.
"""

import base64
import json
import os
import re


def key_needles(key_text):
    """All forms of one key (text in either alphabet) that must never be printed."""
    raw = base64.b64decode(key_text.replace("-", "+").replace("_", "/").encode("ascii"))
    urlsafe = base64.urlsafe_b64encode(raw).decode("ascii")
    standard = base64.b64encode(raw).decode("ascii")
    forms = {urlsafe, standard, urlsafe.rstrip("="), standard.rstrip("="), urlsafe[:20], standard[:20], raw.hex()}
    return sorted(forms)


def plaintext_needles(plaintext):
    if plaintext is None or len(plaintext) < 8:
        # Too short to tell a leak from a coincidence; the suite seeds long, marked secrets.
        return []
    forms = {plaintext, json.dumps(plaintext)[1:-1], repr(plaintext)[1:-1]}
    return sorted(f for f in forms if len(f) >= 8)


# ansible-core's own ANSIBLE_DEBUG line that prints every module's raw arguments, no_log or not
# (ansible/plugins/action/__init__.py; config DEFAULT_DEBUG documents that debug output "can also
# include secret information despite no_log settings"). No collection can mask it.
_CORE_DEBUG_ECHO = re.compile(r"^.*done with _execute_module \(.*$", re.M)


def split_core_debug_echo(text):
    """Return (text without ansible-core's module-argument debug lines, those lines)."""
    lines = _CORE_DEBUG_ECHO.findall(text or "")
    return _CORE_DEBUG_ECHO.sub("", text or ""), lines


class Needles:
    def __init__(self):
        self._items = []   # (needle, label)

    def add_key(self, label, key_text):
        for form in key_needles(key_text):
            self._items.append((form, "key %s" % label))
        return self

    def add_plaintext(self, label, plaintext):
        for form in plaintext_needles(plaintext):
            self._items.append((form, "plaintext %s" % label))
        return self

    def __len__(self):
        return len(self._items)

    def scan(self, text, where):
        """Return a list of findings 'LABEL in WHERE at offset N' (never the needle itself)."""
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        found = []
        seen = set()
        for needle, label in self._items:
            at = text.find(needle)
            if at >= 0 and label not in seen:
                seen.add(label)
                found.append("%s in %s at offset %d: ...%s..." % (label, where, at, self._context(text, at, needle)))
        return found

    def _context(self, text, at, needle):
        """Up to 60 characters either side, every needle masked: a finding never repeats the secret."""
        piece = text[max(0, at - 60):at + len(needle) + 60]
        for other, label in sorted(self._items, key=lambda item: -len(item[0])):
            piece = piece.replace(other, "<%s>" % label)
        # A key cut by the window's edge is no needle any more: hide every base64-looking run.
        piece = re.sub(r"[A-Za-z0-9+/_=-]{16,}", lambda m: m.group(0) if m.group(0).startswith("<") else "<b64>", piece)
        return piece.replace("\n", " ")

    def scan_tree(self, top, skip=()):
        """Scan every file's name and content under ``top``, except paths in ``skip``."""
        found = []
        for base, dirs, files in os.walk(top):
            for name in dirs + files:
                found.extend(self.scan(name, "file name %s" % os.path.join(base, name)))
            for name in files:
                path = os.path.join(base, name)
                if path in skip or os.path.islink(path):
                    continue
                try:
                    with open(path, "rb") as handle:
                        data = handle.read()
                except OSError:
                    continue
                found.extend(self.scan(data, path))
        return found


def assert_no_secret(text, keys):
    """No key (url-safe or standard alphabet, with or without padding) appears in ``text``."""
    for key in keys:
        if not key:
            continue
        standard = key.replace("-", "+").replace("_", "/")
        assert key not in text and standard not in text and key.rstrip("=") not in text, "a key leaked into the output"


def assert_no_secrets(obj, keys, secrets):
    """``obj`` (a result, or text) shows no key, no token and no plaintext secret (8 characters or more)."""
    text = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False)
    for key in keys:
        assert key not in text, "a key appears in the output"
        assert key.rstrip("=") not in text, "a key appears in the output"
    assert "gAAAAA" not in text, "a token appears in the output"
    for secret in secrets:
        if len(secret) >= 8:
            assert secret not in text, "a plaintext secret appears in the output"
