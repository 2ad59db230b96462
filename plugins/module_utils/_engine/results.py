# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""What results hold: the counts of each column, in a fixed order, and a few row ids of the
values no key opens (never the values)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.webops.encryption.plugins.module_utils import fernet as fernet_utils

# The counts of each result's columns[] entries and totals, in order.
ROTATE_COUNTS = ("rows", "total", "already_current", "rotated", "plaintext", "encrypted_plaintext", "empty", "unknown",
                 "rows_written", "conflicts")
ENCRYPT_COUNTS = ("rows", "total", "already_encrypted", "newly_encrypted", "other_key", "empty", "unknown",
                  "rows_written", "conflicts")
AUDIT_COUNTS = ("rows", "total", "plaintext", "empty", "unknown", "unverified")
RECOVER_COUNTS = ("rows", "total", "readable", "plaintext", "empty", "unreadable", "deleted", "reset", "cleared", "conflicts")
# Row ids a result or a message names per column; the count says how many there are in all.
MAX_IDS = 20


def plain_id(pk):
    """A primary key as results show it: integers and text as they are, anything else (uuid) as text."""
    return pk if isinstance(pk, (int, str)) else str(pk)


def note_id(ids, pk):
    """Append ``pk`` to the list ``ids`` unless it holds MAX_IDS already or ends with that row
    (a JSON document with several unreadable values is one row)."""
    pk = plain_id(pk)
    if len(ids) < MAX_IDS and (not ids or ids[-1] != pk):
        ids.append(pk)


def count_value(classified, pk, counts, by_key, unknown_ids):
    """Count one value classified as fernet.Keyring.classify does: under the key that opens it
    (``by_key``), or as empty, plaintext or unknown (``pk`` noted in ``unknown_ids``)."""
    kind, name, _plaintext = classified
    if kind == fernet_utils.KEY:
        by_key[name] += 1
    elif kind == fernet_utils.EMPTY:
        counts["empty"] += 1
    elif kind == fernet_utils.PLAINTEXT:
        counts["plaintext"] += 1
    else:
        counts["unknown"] += 1
        note_id(unknown_ids, pk)


def column_result(spec, counts, order, keyed_by=False):
    """A column's entry of a result: table, column (then keyed_by, when asked), the counts in ``order``, unknown_ids."""
    result = {"table": spec.table, "column": spec.column}
    if keyed_by:
        result["keyed_by"] = spec.keyed_by
    for field in order:
        result[field] = counts[field]
    result["unknown_ids"] = list(counts.get("unknown_ids", ()))
    return result


def totals(columns, fields):
    summed = dict.fromkeys(fields, 0)
    for column in columns:
        for field in fields:
            summed[field] += column[field]
    summed["columns"] = len(columns)
    return summed
