# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""The scan, by HMAC only, that runs before anything is written: what each column holds, which
values no key opens, and the width the new tokens need; the checks and the widening of columns
too narrow for them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.webops.encryption.plugins.module_utils import fernet as fernet_utils
from ansible_collections.webops.encryption.plugins.module_utils._engine.codec import token_length
from ansible_collections.webops.encryption.plugins.module_utils._engine.jsondoc import string_members
from ansible_collections.webops.encryption.plugins.module_utils._engine.results import note_id
from ansible_collections.webops.encryption.plugins.module_utils.columns import quote_identifier

# A column widened for tokens (widen_columns) gets room for secrets somewhat longer than today's
# longest: WIDEN_MARGIN more characters of token (48 more bytes of plaintext), never under
# WIDEN_MINIMUM. The ALTER TABLE a refusal suggests uses the same width.
WIDEN_MARGIN = 64
WIDEN_MINIMUM = 255


class Tally:
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


def iter_values(spec, rows):
    """(pk, json_key, value) for every token-bearing value in a batch of (pk, stored)."""
    if not spec.is_json:
        for pk, value in rows:
            yield pk, None, value
        return
    matches = spec.json_re.search
    for pk, text in rows:
        for name, value, _start, _end in string_members(text, matches):
            yield pk, name, value


def scan(db, spec, info, keyring, batch_size, rewrite=(), write_plaintext=False, unknown_width=None, on_unknown_value=None):
    """Count a column by HMAC only. ``rewrite``: key names whose tokens will be re-encrypted;
    ``write_plaintext``: plaintext will be encrypted; ``unknown_width``: width written in place of
    an unknown value (recovery), None if unknown values are left alone."""
    tally = Tally(spec, info)
    signer = keyring.signer
    for rows in db.iter_batches(spec, info, batch_size):
        tally.rows += len(rows)
        marked = None
        for pk, json_key, value in iter_values(spec, rows):
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
                note_id(tally.unknown_ids, pk)
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


def too_narrow(tallies):
    """(tally, width to widen to) for each column too narrow for the tokens it will receive."""
    return [(tally, widened_width(tally.needed)) for tally in tallies
            if tally.info.max_length is not None and tally.needed > tally.info.max_length]


def width_problems(tallies):
    """The details of ColumnTooNarrow: each column too narrow, with the ALTER TABLE that fixes it."""
    return [{"table": tally.spec.table, "column": tally.spec.column, "data_type": tally.info.data_type,
             "max_length": tally.info.max_length, "needed": tally.needed,
             "fix": "ALTER TABLE %s ALTER COLUMN %s TYPE varchar(%d);" % (
                 quote_identifier(tally.spec.table), quote_identifier(tally.spec.column), width)}
            for tally, width in too_narrow(tallies)]


def widen_columns(db, tallies, check_mode=False):
    """Widen every column the scan found too narrow for the tokens it will receive (PostgreSQL
    varchar; SQLite never has one), all in one transaction, before any token is written. The
    adapter re-reads each width under the table's lock and never narrows a column. Type, NOT NULL,
    defaults, unique constraints and indexes stay. Returns [{table, column, from, to}] of the
    columns widened (in check mode, what would be widened; nothing is changed)."""
    changes = [(tally.spec, tally.info, width) for tally, width in too_narrow(tallies)]
    if check_mode or not changes:
        return [{"table": spec.table, "column": spec.column, "from": info.max_length, "to": width}
                for spec, info, width in changes]
    infos = dict((id(spec), info) for spec, info, _width in changes)
    widened = []
    for spec, before, after in db.widen_columns(changes):
        infos[id(spec)].max_length = after
        if before != after:
            widened.append({"table": spec.table, "column": spec.column, "from": before, "to": after})
    return widened


def unknown_details(tallies):
    return [{"table": t.spec.table, "column": t.spec.column, "count": t.unknown, "ids": list(t.unknown_ids)}
            for t in tallies if t.unknown]


def pooled_scan(db, prepared, runner, batch_size, progress=None, totals=None):
    """The HMAC-only scan of every column, in the workers."""
    tallies = [Tally(spec, info) for spec, info in prepared]
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
            note_id(tally.unknown_ids, pks[index])
        tally.needed = max(tally.needed, needed)
    return tallies
