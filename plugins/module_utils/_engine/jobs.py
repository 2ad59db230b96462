# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""Jobs: what a worker does to a list of stored values. They run in forked workers (which get
the keys by inheriting the runner's state, never through pickling) or inline when workers == 1.
A job's process() takes the values of a batch (or a chunk of it) and returns plain data:
(writes [(index, new_value)], counts {category: n}, unknown_indexes, extra)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.webops.encryption.plugins.module_utils import fernet as fernet_utils
from ansible_collections.webops.encryption.plugins.module_utils._engine.codec import token_bytes, token_length
from ansible_collections.webops.encryption.plugins.module_utils._engine.errors import VerificationError
from ansible_collections.webops.encryption.plugins.module_utils._engine.jsondoc import splice, string_members
from ansible_collections.webops.encryption.plugins.module_utils._engine.results import ENCRYPT_COUNTS, ROTATE_COUNTS, count_value

_SEAL = object()


class Job:
    """Base: classify each value, produce replacements. Subclasses define ``categories``,
    ``opened`` (the category of a token decrypted to be re-encrypted) and ``_classify``."""

    categories = ()
    opened = None
    # Whether the columns of the result name their keyed_by (a key family's do).
    keyed_by_result = False

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
        classify = self._classify
        if json_pattern is None:
            slots = enumerate(values)
        else:
            slots = _json_slots(values, re.compile(json_pattern).search)
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
            for (index, start, end), token in renewed:
                changed.setdefault(index, []).append((start, end, token))
            writes = [(index, splice(values[index], changed[index])) for index in sorted(changed)]
        return writes, counts, sorted(unknown), 0

    def written_categories(self, stored, json_search=None):
        """The category of each value of one stored value (a JSON document: each member ``json_search``
        matches) that this job rewrites, e.g. ["rotated"]: what a row not written must not count."""
        slots = _json_slots([stored], json_search) if json_search is not None else [(0, stored)]
        return [category for category, source, _data in (self._classify(value) for _slot, value in slots)
                if source is not None]

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


def _json_slots(values, matches):
    """((index, start, end), value) for each token-bearing value of the JSON objects in ``values``:
    the slot names the document and the span of the value's literal in it."""
    for index, text in enumerate(values):
        for _name, value, start, end in string_members(text, matches):
            yield (index, start, end), value


class RotateJob(Job):
    categories = ("empty", "plaintext", "already_current", "rotated", "encrypted_plaintext", "unknown")
    opened = "rotated"
    result_fields = ROTATE_COUNTS

    def __init__(self, target, sources, encrypt_plaintext):
        super(RotateJob, self).__init__(target)
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


class EncryptJob(Job):
    categories = ("empty", "already_encrypted", "newly_encrypted", "other_key", "unknown")
    result_fields = ENCRYPT_COUNTS

    def __init__(self, target, others):
        super(EncryptJob, self).__init__(target)
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


class ScanJob:
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
                items = [value for _name, value, _start, _end in string_members(stored, matches)]
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


class FamilyUnverified(VerificationError):
    """A value a family sealed did not read back; ``template`` (its message, ``%s.%s`` for the table
    and column of the batch) is filled in by the runner, which knows the column (for_column)."""

    def __init__(self, template):
        super(FamilyUnverified, self).__init__(template)
        self.template = template

    def for_column(self, spec):
        return VerificationError(self.template % (spec.table, spec.column))


class FamilyScanJob:
    """The scan of the columns of a key family (an object with ``names``, ``classify``, ``seal`` and
    ``reads_back``, such as secret_key.DerivedKeyring): counts per key name and the values no key
    opens, by the family's own decoding. A family's values are whole column values."""

    def __init__(self, family, rewrite):
        self.family = family
        self.rewrite = frozenset(rewrite)

    def process(self, values, _json_pattern):
        counts = {"values": len(values), "rows_to_write": 0, "empty": 0, "plaintext": 0, "unknown": 0}
        for name in self.family.names:
            counts[name] = 0
        unknown = []
        for index, value in enumerate(values):
            classified = self.family.classify(value)
            # The counts per key name sit beside the others (pooled_scan takes them apart).
            count_value(classified, index, counts, counts, unknown)
            if classified[1] in self.rewrite:
                counts["rows_to_write"] += 1
        # A rewritten value holds the same plaintext as the one it replaces: it needs no wider column.
        return [], counts, unknown, 0


class FamilyRotateJob:
    """Re-encrypt, under the family's key named ``target``, every value another key of the family
    opens; each new value is read back as the application will before its batch is written."""

    categories = RotateJob.categories
    result_fields = ROTATE_COUNTS
    keyed_by_result = True

    def __init__(self, family, target):
        self.family = family
        self.target = target

    def _classify(self, value):
        """(category, plaintext to re-encrypt or None) for one stored value."""
        kind, name, plaintext = self.family.classify(value)
        if kind != fernet_utils.KEY:
            return kind, None
        if name == self.target:
            return "already_current", None
        return "rotated", plaintext

    def process(self, values, _json_pattern):
        counts = dict.fromkeys(self.categories, 0)
        writes, unknown = [], []
        family, target = self.family, self.target
        for index, value in enumerate(values):
            category, plaintext = self._classify(value)
            counts[category] += 1
            if category == "unknown":
                unknown.append(index)
            elif category == "rotated":
                stored = family.seal(target, plaintext)
                if not family.reads_back(target, stored, plaintext):
                    raise FamilyUnverified(family.unverified)
                writes.append((index, stored))
        return writes, counts, unknown, 0

    def written_categories(self, stored, _json_search=None):
        category, plaintext = self._classify(stored)
        return [category] if plaintext is not None else []
