# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""Discovery: Fernet tokens in columns outside the ones a run covers.

Every text-like column of every table the connection can read (PostgreSQL text, varchar, char,
json, jsonb, citext and domains over them in every schema but the system ones; every SQLite
column that can hold text) is read once, table by table, and only values containing the token
mark travel (the server filters).
Each value is taken as the application's reader takes it (fernet.decode_token: a whole value,
stray bytes dropped); other values are searched for token-shaped runs (a token inside a JSON
document or a longer text). Every token is tried with each held key by HMAC, then decrypted with
the engine's codec. Reads only, takes no lock, holds at most one batch of rows.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.webops.encryption.plugins.module_utils import fernet as fernet_utils
from ansible_collections.webops.encryption.plugins.module_utils._engine.arguments import (
    DEFAULT_BATCH_SIZE, as_key, check_batch_size, make_keyring)
from ansible_collections.webops.encryption.plugins.module_utils._engine.codec import Codec, token_bytes
from ansible_collections.webops.encryption.plugins.module_utils._engine.errors import InvalidArgument
from ansible_collections.webops.encryption.plugins.module_utils._engine.jsondoc import string_members
from ansible_collections.webops.encryption.plugins.module_utils._engine.results import note_id
from ansible_collections.webops.encryption.plugins.module_utils.columns import ColumnSpecError, validate_identifier, validate_table

# A token inside a longer text: the mark, then base64 of at least the 73 bytes of the shortest token.
_EMBEDDED_RE = re.compile(r"gAAAAA[A-Za-z0-9_+/-]{92,}={0,2}")
_ANY_NAME = re.compile("").search


def _tokens(value):
    """[(json member name or None, token bytes)] of one stored value, and how many of them sit
    where a column spec cannot reach them (inside a longer text, or nested in a JSON document)."""
    data = fernet_utils.decode_token(value)
    if data is not None:
        return [(None, data)], 0
    found, reachable = [], 0
    if value.lstrip().startswith("{"):
        for name, member, _start, _end in string_members(value, _ANY_NAME):
            data = fernet_utils.decode_token(member)
            if data is not None:
                found.append((name, data))
        reachable = len(found)
    embedded = [token_bytes(match) for match in _EMBEDDED_RE.findall(value)]
    embedded = [data for data in embedded if data is not None and data[0] == 0x80]
    # The members found above are among the embedded runs; the rest are out of reach.
    extra = max(0, len(embedded) - reachable)
    found.extend((None, data) for data in embedded[reachable:reachable + extra])
    return found, extra


class _Finding:
    """What discovery found in one column."""

    def __init__(self, table, column, data_type):
        self.table = table
        self.column = column
        self.data_type = data_type
        self.rows = 0
        self.tokens = 0
        self.by_key = {}
        self.unknown = 0
        self.unreachable = 0
        self.ids = []
        self.unknown_ids = []
        self.json_names = set()
        self.whole = 0

    def result(self, table, names):
        entry = {"table": self.table, "column": self.column}
        if table.pk:
            entry["pk"] = table.pk
        if self.json_names:
            entry["json_keys"] = "^(%s)$" % "|".join(re.escape(name) for name in sorted(self.json_names))
        notes = [table.notes[self.column]] if self.column in table.notes else []
        if not table.pk:
            notes.append("the table has no single-column unique key: add one (a primary key) before a rotation can cover it")
        if self.unreachable:
            notes.append("%d token(s) sit inside a longer text or a nested JSON value, which a column entry cannot rotate"
                         % self.unreachable)
        if self.json_names and self.whole:
            notes.append("the column holds whole tokens and JSON documents with tokens; an entry with json_keys "
                         "rotates only the JSON members")
        return {"table": self.table, "column": self.column, "data_type": self.data_type, "pk": table.pk,
                "rows": self.rows, "tokens": self.tokens, "by_key": dict(sorted(self.by_key.items())),
                "by_name": dict((names[fp], count) for fp, count in sorted(self.by_key.items())),
                "unknown": self.unknown, "unreachable": self.unreachable, "ids": self.ids, "unknown_ids": self.unknown_ids,
                "entry": entry, "notes": notes}


def discover(db, covered, keys, ignore=(), batch_size=DEFAULT_BATCH_SIZE, progress=None):
    """Tokens in every text column of ``db`` outside ``covered`` (ColumnSpecs) and ``ignore``
    ([{table, column, reason}]): per column, the values each key of ``keys`` ([(name, key)] or
    {name: key}; current, next, history, old keys) opens, by fingerprint, and the token-shaped
    values none opens (``unknown``), with a few row ids and the column entry that covers it.
    Columns without a token are not listed. ``progress(table, column, rows_done, None)`` after
    each batch. Never writes; nothing returned holds a key, a token or a plaintext."""
    check_batch_size(batch_size)
    named = sorted(keys.items()) if isinstance(keys, dict) else list(keys or ())
    named = [(name, as_key(value, name)) for name, value in named]
    make_keyring(named)  # refuses a key listed twice
    ignoring = []
    for item in ignore or ():
        if not isinstance(item, dict) or not item.get("table") or not item.get("column") or not str(item.get("reason") or "").strip():
            raise InvalidArgument("each entry of ignore needs table, column and reason (why its tokens may stay)")
        try:
            ignoring.append((validate_table(item["table"]), validate_identifier(item["column"], "column"),
                             str(item["reason"]).strip()))
        except ColumnSpecError as exc:
            raise InvalidArgument("ignore: %s" % exc)
    codecs = [Codec(key) for _name, key in named]
    names = dict((key.fingerprint, name) for name, key in named)
    # Tables as the database resolves them (search_path, SQLite's case-blind names).
    ignored = dict(((db.table_name(table), column), reason) for table, column, reason in ignoring)
    skip = set((db.table_name(spec.table), spec.column) for spec in covered)
    tables, unreadable = db.discovery_tables()
    findings, ignored_found, scanned, tables_read = [], [], 0, 0
    for table in tables:
        columns = []
        for column in table.columns:
            where = (table.name, column[0])
            if where in skip:
                continue
            if where in ignored:
                ignored_found.append({"table": table.name, "column": column[0], "reason": ignored[where]})
                continue
            columns.append(column)
        if not columns:
            continue
        scanned += len(columns)
        tables_read += 1
        reading = _Table(table, columns)
        tallies = [_Finding(table.name, name, data_type) for name, data_type, _text in columns]
        for rows in db.iter_candidates(reading, batch_size):
            _count(rows, tallies, codecs)
            if progress is not None:
                progress(table.name, "*", sum(t.rows for t in tallies), None)
        findings.extend(tally.result(table, names) for tally in tallies if tally.tokens)
    totals = {"columns": len(findings), "tokens": sum(f["tokens"] for f in findings),
              "unknown": sum(f["unknown"] for f in findings),
              "by_key": dict((fp, sum(f["by_key"].get(fp, 0) for f in findings)) for fp in sorted(names))}
    return {"changed": False, "columns": findings, "totals": totals, "columns_scanned": scanned,
            "tables_scanned": tables_read,
            "ignored": ignored_found, "not_read": [{"name": name, "reason": reason} for name, reason in unreadable],
            "fingerprints": dict((name, key.fingerprint) for name, key in named)}


class _Table:
    """A DiscoveryTable narrowed to the columns to read."""

    __slots__ = ("name", "pk", "row_id", "columns")

    def __init__(self, table, columns):
        self.name, self.pk, self.row_id, self.columns = table.name, table.pk, table.row_id, columns


def _count(rows, tallies, codecs):
    """Count the tokens of one batch of (row id, value, ...): each opened by the first key whose
    HMAC it carries (decrypted with the codec to be sure), or unknown."""
    for position, tally in enumerate(tallies, 1):
        pending = []  # (row id, token bytes, codec index)
        for row in rows:
            value = row[position]
            if not isinstance(value, str):
                continue
            tokens, unreachable = _tokens(value)
            if not tokens:
                continue
            tally.rows += 1
            tally.unreachable += unreachable
            for name, data in tokens:
                tally.tokens += 1
                if name is not None:
                    tally.json_names.add(name)
                elif not unreachable:
                    tally.whole += 1
                signer = next((index for index, codec in enumerate(codecs) if codec.signs(data)), None)
                if signer is None:
                    tally.unknown += 1
                    note_id(tally.unknown_ids, row[0])
                else:
                    pending.append((row[0], data, signer))
        for index, codec in enumerate(codecs):
            group = [(pk, data) for pk, data, signer in pending if signer == index]
            if not group:
                continue
            fingerprint = codec.key.fingerprint
            for (pk, _data), plaintext in zip(group, codec.open_many([data for _pk, data in group])):
                if plaintext is None:  # its HMAC, a body that does not decrypt: no key opens it
                    tally.unknown += 1
                    note_id(tally.unknown_ids, pk)
                else:
                    tally.by_key[fingerprint] = tally.by_key.get(fingerprint, 0) + 1
                    note_id(tally.ids, pk)
