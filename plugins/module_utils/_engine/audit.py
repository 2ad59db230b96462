# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""The audit: which key opens each value (full decryption), read-only and without the run lock."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.webops.encryption.plugins.module_utils._engine.arguments import DEFAULT_BATCH_SIZE, as_key, check_batch_size, make_keyring
from ansible_collections.webops.encryption.plugins.module_utils._engine.errors import InvalidArgument
from ansible_collections.webops.encryption.plugins.module_utils._engine.results import AUDIT_COUNTS, column_result, count_value, totals
from ansible_collections.webops.encryption.plugins.module_utils._engine.scan import iter_values

_CONFIG_TOKEN_PREFIX = "Z0FBQUFB"  # base64 of "gAAAAA": the SECRET_KEY-derived tokens of core_configuration


def audit(db, specs, keys, batch_size=DEFAULT_BATCH_SIZE, secret_keyring=None, progress=None):
    """Per column, how many values each named key opens (full decryption), plaintext, empty and
    unknown (with up to 20 row ids). ``keys``: {name: FernetKey or key text}. Read-only, no lock,
    so it can watch a rotation in progress. Columns keyed by SECRET_KEY are reported with their
    SECRET_KEY-format tokens under ``unverified`` (this engine does not hold SECRET_KEY), unless
    ``secret_keyring`` (a secret_key.DerivedKeyring) is given: then their values are counted per
    named SECRET_KEY under ``secret_keys``. With ``keys`` empty, only those columns are audited."""
    check_batch_size(batch_size)
    if not keys and secret_keyring is None:
        raise InvalidArgument("give at least one key to audit with (keys: {current: ..., old: ...})")
    named = [(name, as_key(value, name)) for name, value in sorted((keys or {}).items())]
    keyring = make_keyring(named)
    if not keys:
        specs = [spec for spec in specs if not spec.uses_encryption_key]
    columns = []
    counted = {}
    if progress is not None and hasattr(progress, "plan"):
        # One pass over every column checked with ENCRYPTION_KEY's keyring: the job the lines measure.
        counted = dict((id(spec), db.count_rows(spec)) for spec in specs
                       if not (secret_keyring is not None and not spec.uses_encryption_key))
        progress.plan(list(counted.values()), 1)
    for spec in specs:
        if secret_keyring is not None and not spec.uses_encryption_key:
            columns.append(_audit_secret_key_column(db, spec, secret_keyring, batch_size))
            continue
        info = db.column_info(spec)
        counts = dict.fromkeys(AUDIT_COUNTS, 0)
        by_key = dict.fromkeys((name for name, _key in named), 0)
        unknown_ids = []
        secret_key_column = not spec.uses_encryption_key
        total = (counted[id(spec)] if id(spec) in counted else db.count_rows(spec)) if progress is not None else None
        for rows in db.iter_batches(spec, info, batch_size):
            counts["rows"] += len(rows)
            if progress is not None:
                progress(spec.table, spec.column, counts["rows"], total)
            for pk, _name, value in iter_values(spec, rows):
                counts["total"] += 1
                if secret_key_column and value and value.startswith(_CONFIG_TOKEN_PREFIX):
                    counts["unverified"] += 1
                    continue
                count_value(keyring.classify(value), pk, counts, by_key, unknown_ids)
        result = column_result(spec, counts, AUDIT_COUNTS)
        result.update(keyed_by=spec.keyed_by, by_key=by_key, unknown_ids=unknown_ids)
        columns.append(result)
    summed = totals(columns, AUDIT_COUNTS)
    summed["by_key"] = dict((name, sum(c["by_key"].get(name, 0) for c in columns)) for name, _key in named)
    result = {"changed": False, "columns": columns, "totals": summed,
              "fingerprints": dict((name, key.fingerprint) for name, key in named)}
    if secret_keyring is not None:
        summed["secret_keys"] = dict((name, sum(c.get("secret_keys", {}).get(name, 0) for c in columns))
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
            count_value(secret_keyring.classify(value), pk, counts, by_key, unknown_ids)
    result = column_result(spec, counts, AUDIT_COUNTS)
    result.update(keyed_by=spec.keyed_by, by_key={}, secret_keys=by_key, unknown_ids=unknown_ids)
    return result
