# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A child process running the engine for fault injection (killed, cut off, raced).

Reads one JSON object on stdin (keys travel there, never in argv):
    {"op": "rotate"|"encrypt"|"audit", "url": ..., "new": KEY, "old": [KEY...], "batch_size": 50,
     "on_unknown": "fail", "encrypt_plaintext": false, "check_mode": false, "profile": "webops",
     "columns": [...], "wait_go": false}
Prints "READY" once connected (then waits for a line "go" when wait_go), "BATCH table.column rows"
after each committed batch of a rotation (with "pause": true it then waits for a line "next" before
the run goes on: the parent acts at a point the run reached and holds), then one JSON line:
the engine's result, or {"error": CLASS, "msg": MESSAGE}. Exit 0 on success, 2 on a refused run.
The collection is imported from the PYTHONPATH its parent (faults.Child) gives it.
"""

import json
import sys

from ansible_collections.webops.encryption.plugins.module_utils import _db as db, columns, engine, fernet


PAUSE = []


def _progress(table, column, rows_done, _rows_total=None):
    """Called by the engine after each committed batch: lets the parent kill after batch N."""
    sys.stdout.write("BATCH %s.%s %d\n" % (table, column, rows_done))
    sys.stdout.flush()
    if PAUSE:
        sys.stdin.readline()


def main():
    cfg = json.loads(sys.stdin.readline())
    if cfg.get("pause"):
        PAUSE.append(True)
    new = fernet.parse_key(cfg["new"]) if cfg.get("new") else None
    olds = [fernet.parse_key(k) for k in cfg.get("old", [])]
    specs = columns.resolve(cfg.get("profile", "webops"), cfg.get("columns"))
    try:
        with db.connect(cfg["url"]) as adapter:
            sys.stdout.write("READY\n")
            sys.stdout.flush()
            if cfg.get("wait_go"):
                sys.stdin.readline()
            if cfg["op"] == "rotate":
                result = engine.rotate(adapter, specs, new, olds, on_unknown=cfg.get("on_unknown", "fail"),
                                       encrypt_plaintext=cfg.get("encrypt_plaintext", False),
                                       batch_size=cfg.get("batch_size", 50), workers=cfg.get("workers"),
                                       check_mode=cfg.get("check_mode", False), progress=_progress)
            elif cfg["op"] == "encrypt":
                result = engine.encrypt(adapter, specs, new, other_keys=olds, batch_size=cfg.get("batch_size", 50),
                                        workers=cfg.get("workers"), check_mode=cfg.get("check_mode", False))
            else:
                keys = {"current": new}
                if olds:
                    keys["old"] = olds[0]
                result = engine.audit(adapter, specs, keys=keys)
    except (engine.EngineError, db.DatabaseError, columns.ColumnSpecError, ValueError) as exc:
        sys.stdout.write(json.dumps({"error": type(exc).__name__, "msg": str(exc)}) + "\n")
        return 2
    sys.stdout.write(json.dumps(result, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
