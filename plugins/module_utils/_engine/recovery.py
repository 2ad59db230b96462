# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""Disaster recovery after a key is lost: export the values no key opens, then apply each
column's on_lost rule (delete the row, a new random secret, or clear the value)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import secrets
import tempfile
import time

from ansible_collections.webops.encryption.plugins.module_utils import fernet as fernet_utils
from ansible_collections.webops.encryption.plugins.module_utils._engine.arguments import (
    DEFAULT_BATCH_SIZE, as_key, check_batch_size, make_keyring, prepare)
from ansible_collections.webops.encryption.plugins.module_utils._engine.codec import Codec, token_length
from ansible_collections.webops.encryption.plugins.module_utils._engine.errors import ColumnTooNarrow, InvalidArgument, VerificationError
from ansible_collections.webops.encryption.plugins.module_utils._engine.jsondoc import splice, string_members
from ansible_collections.webops.encryption.plugins.module_utils._engine.results import RECOVER_COUNTS, column_result, plain_id, totals
from ansible_collections.webops.encryption.plugins.module_utils._engine.scan import scan, width_problems
from ansible_collections.webops.encryption.plugins.module_utils.columns import ON_LOST_DELETE_ROW, ON_LOST_NEW_SECRET


class Export:
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
        record = {"table": spec.table, "column": spec.column, "pk": plain_id(pk)}
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
    check_batch_size(batch_size)
    key = as_key(key, "key")
    other_keys = [as_key(k, "other_keys[%d]" % i) for i, k in enumerate(other_keys or ())]
    if not export_path:
        raise InvalidArgument("export_path is required: unreadable values are saved there before they are cleared")
    keyring = make_keyring([("key", key)] + [("other_keys[%d]" % i, k) for i, k in enumerate(other_keys)])
    codec = Codec(key)
    started = time.time()
    export = None
    with db.lock():
        prepared = prepare(db, specs)
        try:
            if not check_mode:
                export = Export(export_path)
            tallies = []
            for spec, info in prepared:
                width = token_length(64) if spec.on_lost == ON_LOST_NEW_SECRET else 0
                tallies.append(scan(db, spec, info, keyring, batch_size, unknown_width=width,
                                    on_unknown_value=export.add if export is not None else None))
            problems = width_problems(tallies)
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
            result = column_result(spec, counts, RECOVER_COUNTS)
            del result["unknown_ids"]  # counts only: the ids are in the export
            result["on_lost"] = spec.on_lost
            columns.append(result)
    summed = totals(columns, RECOVER_COUNTS)
    changed = (summed["deleted"] + summed["reset"] + summed["cleared"]) > 0
    return {"changed": changed, "check_mode": bool(check_mode), "columns": columns, "totals": summed,
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
                cleared = [(start, end, "") for _name, value, start, end in string_members(stored, spec.json_re.search)
                           if keyring.signer(value)[0] == unreadable]
                if cleared:
                    updates.append((pk, stored, splice(stored, cleared)))
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
