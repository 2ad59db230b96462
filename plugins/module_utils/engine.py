# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Encrypt, rotate, audit and recover every token column of a database.

Plain Python over a database adapter (``connect(url)``) and a list of ``columns.ColumnSpec``;
the modules and the benchmark call the same five functions:

    encrypt(db, specs, key, other_keys=(), batch_size=5000, workers=None, check_mode=False, progress=None,
            scan_progress=None)
    rotate(db, specs, new_key, old_keys, on_unknown='fail', encrypt_plaintext=False, batch_size=5000,
           workers=None, check_mode=False, progress=None, scan_progress=None, widen=False)
    audit(db, specs, keys, batch_size=5000, secret_keyring=None, progress=None)
    purge_unreadable(db, specs, key, export_path, check_mode=False, batch_size=5000, other_keys=())
    discover(db, covered_specs, keys, ignore=(), batch_size=5000, progress=None)
    rotate_family(db, specs, family, target, on_unknown='fail', batch_size=5000, workers=1, check_mode=False,
                  progress=None, scan_progress=None, fingerprints=(), previous=None)

A key family other than ENCRYPTION_KEY (secret_key.DerivedKeyring: the keys derived from
SECRET_KEYs) brings its own decoding and classification; rotate_family() runs it through the
same pipeline, with the same scan, refusals, counts, lock and guarded writes.

``progress`` and ``scan_progress`` are optional callables ``(table, column, rows_done, rows_total)``:
after each committed batch, and after each batch of the scan before any write.

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

This module is the stable front; the work is done in the private package ``_engine`` (one
concern per file: errors, codec, jobs, scan, pipeline, audit, recovery, ...). Everything a
caller may use is importable from here and listed in __all__.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.webops.encryption.plugins.module_utils._db import connect
from ansible_collections.webops.encryption.plugins.module_utils._engine.arguments import (
    DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE, as_key, check_batch_size, check_workers, default_workers, make_keyring)
from ansible_collections.webops.encryption.plugins.module_utils._engine.audit import audit
from ansible_collections.webops.encryption.plugins.module_utils._engine.codec import Codec, token_length
from ansible_collections.webops.encryption.plugins.module_utils._engine.discovery import discover
from ansible_collections.webops.encryption.plugins.module_utils._engine.errors import (
    ColumnTooNarrow, DatabaseError, EngineError, InvalidArgument, LockHeld, UnknownTokens, VerificationError)
from ansible_collections.webops.encryption.plugins.module_utils._engine.jobs import (
    EncryptJob, FamilyRotateJob, FamilyScanJob, RotateJob, ScanJob)
from ansible_collections.webops.encryption.plugins.module_utils._engine.pipeline import RunSettings, run
from ansible_collections.webops.encryption.plugins.module_utils._engine.recovery import purge_unreadable
from ansible_collections.webops.encryption.plugins.module_utils._engine.results import (
    AUDIT_COUNTS, ENCRYPT_COUNTS, MAX_IDS, RECOVER_COUNTS, ROTATE_COUNTS, column_result, note_id, totals)
from ansible_collections.webops.encryption.plugins.module_utils._engine.scan import (
    WIDEN_MARGIN, WIDEN_MINIMUM, unknown_details, widen_columns, widened_width)

ON_UNKNOWN = ("fail", "skip")


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
    check_batch_size(batch_size)
    workers = check_workers(workers)
    new_key = as_key(new_key, "new_key")
    old_keys = [as_key(k, "old_keys[%d]" % i) for i, k in enumerate(old_keys or ())]
    if not old_keys and not encrypt_plaintext:
        raise InvalidArgument("give old_keys (the keys the data is under now)")
    old_names = ["old%d" % i for i in range(len(old_keys))]
    make_keyring([("new_key", new_key)] + [("old_keys[%d]" % i, k) for i, k in enumerate(old_keys)])  # refuses a key listed twice
    new_codec = Codec(new_key)
    old_codecs = [Codec(k) for k in old_keys]
    # The new key first, as in RotateJob.
    scan_job = ScanJob([("new", new_codec)] + list(zip(old_names, old_codecs)), set(old_names), encrypt_plaintext)

    def check_tallies(tallies):
        details = unknown_details(tallies)
        if details and on_unknown == "fail":
            raise UnknownTokens(details)

    # The scan's counts by key fingerprint too: an evidence record's "after" is this check pass, not another count.
    fingerprints = dict([("new", new_key.fingerprint)] + [(name, k.fingerprint) for name, k in zip(old_names, old_keys)])

    def scan_counts(tally):
        result = column_result(tally.spec, {
            "rows": tally.rows, "total": tally.values, "already_current": tally.by_key.get("new", 0),
            "rotated": sum(tally.by_key.get(name, 0) for name in old_names),
            "plaintext": 0 if encrypt_plaintext else tally.plaintext,
            "encrypted_plaintext": tally.plaintext if encrypt_plaintext else 0, "empty": tally.empty,
            "unknown": tally.unknown, "unknown_ids": tally.unknown_ids, "rows_written": tally.rows_to_write,
            "conflicts": 0}, ROTATE_COUNTS)
        result["by_key"] = dict((fingerprints[name], count) for name, count in sorted(tally.by_key.items()) if count)
        return result

    started = time.time()
    widened = [] if widen else None
    columns = run(db, specs, RunSettings(
        scan_job, RotateJob(new_codec, old_codecs, encrypt_plaintext), check_tallies, scan_counts, batch_size, workers,
        check_mode=check_mode, progress=progress, scan_progress=scan_progress, widened=widened))
    result = _write_result(columns, ROTATE_COUNTS, widened, check_mode, workers, batch_size, started,
                           new_key_fingerprint=new_key.fingerprint, old_key_fingerprints=[k.fingerprint for k in old_keys])
    if not check_mode and on_unknown == "fail" and result["totals"]["unknown"]:
        # Only a token whose HMAC matches an old key but whose body does not decrypt gets here.
        raise UnknownTokens([{"table": c["table"], "column": c["column"], "count": c["unknown"], "ids": c["unknown_ids"]}
                             for c in columns if c["unknown"]], written=True)
    return result


def rotate_family(db, specs, family, target, on_unknown="fail", batch_size=DEFAULT_BATCH_SIZE, workers=1, check_mode=False,
                  progress=None, scan_progress=None, fingerprints=(), previous=None):
    """Re-encrypt under the key named ``target`` of a key ``family`` every value of the columns
    keyed by ``family.keyed_by`` that another key of the family opens, as rotate() does for
    ENCRYPTION_KEY: values under ``target`` are left alone, so a re-run finishes the job.

    ``family`` provides ``keyed_by``, ``names`` (its keys' names), ``classify(value)`` (kind, name,
    plaintext as fernet.Keyring.classify), ``seal(name, plaintext)`` (a stored value),
    ``reads_back(name, stored, plaintext)``, ``unreadable(details)`` (the UnknownTokens to raise
    for values no key opens) and ``unverified`` (the message of a value that did not read back,
    ``%s.%s`` for its table and column). Its columns are few rows: ``workers`` defaults to one,
    in this process. ``fingerprints``: (name, value) pairs the result carries, never a key.
    ``previous``: the result of rotate() earlier in the same task; the result returned covers both.
    """
    if on_unknown not in ON_UNKNOWN:
        raise InvalidArgument("on_unknown must be fail or skip")
    check_batch_size(batch_size)
    workers = check_workers(workers)
    others = [name for name in family.names if name != target]

    def check_tallies(tallies):
        details = unknown_details(tallies)
        if details and on_unknown == "fail":
            raise family.unreadable(details)

    def scan_counts(tally):
        return column_result(tally.spec, {
            "rows": tally.rows, "total": tally.values, "already_current": tally.by_key.get(target, 0),
            "rotated": sum(tally.by_key.get(name, 0) for name in others), "plaintext": tally.plaintext,
            "encrypted_plaintext": 0, "empty": tally.empty, "unknown": tally.unknown, "unknown_ids": tally.unknown_ids,
            "rows_written": tally.rows_to_write, "conflicts": 0}, ROTATE_COUNTS, keyed_by=True)

    started = time.time()
    columns = run(db, specs, RunSettings(
        FamilyScanJob(family, others), FamilyRotateJob(family, target), check_tallies, scan_counts, batch_size, workers,
        check_mode=check_mode, progress=progress, scan_progress=scan_progress, keyed_by=family.keyed_by))
    changed = sum(c["rows_written"] for c in columns) > 0
    result = {}
    if previous is not None:
        result.update(previous)
        columns = previous["columns"] + columns
        changed = changed or previous["changed"]
    result.update(changed=changed, check_mode=bool(check_mode), columns=columns, totals=totals(columns, ROTATE_COUNTS))
    result.update(fingerprints)
    result["elapsed_seconds"] = round(time.time() - started, 3)
    return result


def encrypt(db, specs, key, other_keys=(), batch_size=DEFAULT_BATCH_SIZE, workers=None, check_mode=False, progress=None,
            scan_progress=None, widen=False):
    """Encrypt every plaintext value under ``key``. Tokens under ``key`` are left alone; tokens
    under one of ``other_keys`` (counted as other_key) and token-shaped values no key opens
    (unknown) are reported and never encrypted again. Empty and NULL stay as they are.
    ``widen``: widen columns too narrow for the new tokens (widen_columns()) instead of refusing."""
    check_batch_size(batch_size)
    workers = check_workers(workers)
    key = as_key(key, "key")
    other_keys = [as_key(k, "other_keys[%d]" % i) for i, k in enumerate(other_keys or ())]
    other_names = ["other%d" % i for i in range(len(other_keys))]
    make_keyring([("key", key)] + [("other_keys[%d]" % i, k) for i, k in enumerate(other_keys)])  # refuses a key listed twice
    codec = Codec(key)
    other_codecs = [Codec(k) for k in other_keys]
    scan_job = ScanJob([("key", codec)] + list(zip(other_names, other_codecs)), (), True)

    def scan_counts(tally):
        return column_result(tally.spec, {
            "rows": tally.rows, "total": tally.values, "already_encrypted": tally.by_key.get("key", 0),
            "newly_encrypted": tally.plaintext, "other_key": sum(tally.by_key.get(n, 0) for n in other_names),
            "empty": tally.empty, "unknown": tally.unknown, "unknown_ids": tally.unknown_ids,
            "rows_written": tally.rows_to_write, "conflicts": 0}, ENCRYPT_COUNTS)

    started = time.time()
    widened = [] if widen else None
    columns = run(db, specs, RunSettings(
        scan_job, EncryptJob(codec, other_codecs), lambda tallies: None, scan_counts, batch_size, workers,
        check_mode=check_mode, progress=progress, scan_progress=scan_progress, widened=widened))
    return _write_result(columns, ENCRYPT_COUNTS, widened, check_mode, workers, batch_size, started,
                         key_fingerprint=key.fingerprint, other_key_fingerprints=[k.fingerprint for k in other_keys])


def _write_result(columns, fields, widened, check_mode, workers, batch_size, started, **fingerprints):
    """The result of encrypt() and rotate(): counts per column and in total, then the keys'
    ``fingerprints`` (in the order given), never a key."""
    summed = totals(columns, fields)
    result = {"changed": summed["rows_written"] > 0 or bool(widened), "check_mode": bool(check_mode), "columns": columns,
              "totals": summed, "widened": widened or []}
    result.update(fingerprints)
    result.update(workers=workers, batch_size=batch_size, elapsed_seconds=round(time.time() - started, 3))
    return result


__all__ = ["encrypt", "rotate", "rotate_family", "audit", "purge_unreadable", "discover", "token_length", "default_workers", "EngineError",
           "DatabaseError", "LockHeld", "UnknownTokens", "ColumnTooNarrow", "VerificationError", "InvalidArgument",
           "widen_columns", "widened_width", "connect", "DEFAULT_BATCH_SIZE", "MAX_BATCH_SIZE", "MAX_IDS", "ON_UNKNOWN",
           "WIDEN_MARGIN", "WIDEN_MINIMUM", "ROTATE_COUNTS", "ENCRYPT_COUNTS", "AUDIT_COUNTS", "RECOVER_COUNTS",
           "note_id"]
