# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""fernet_encrypt, fernet_rotate, fernet_audit and fernet_recover through real ansible-playbook runs,
on a SQLite file and on the test PostgreSQL server."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

from cryptography.fernet import Fernet

from support import webops_db
from support.ansible_runs import run_tasks, write_env
from support.engine_api import plaintexts, readable_values, seeded
from support.keys import new_key
from support.leaks import assert_no_secrets


def _task(name, module, args, **extra):
    task = {"name": name, "webops.encryption.%s" % module: args}
    task.update(extra)
    return task


def test_modules_end_to_end(db_url, tmp_path):
    lost = new_key()
    old = seeded(db_url, users=15, legacy_plaintext=2, unknown=2, unknown_key=lost)
    new = new_key()
    env_file = write_env(tmp_path / ".env", DATABASE_URL=db_url, ENCRYPTION_KEY=new, OLD_ENCRYPTION_KEY=old)
    export = str(tmp_path / "unreadable.jsonl")
    from_env = {"env_file": env_file}
    rotate = dict(from_env, on_unknown="skip")
    recover = dict(from_env, export_path=export, confirm=True)
    tasks = [
        # The legacy plaintext is encrypted under the key the data is under now (keys from the vars file).
        _task("encrypt plan", "fernet_encrypt", {"database_url": "{{ db_url }}", "key": "{{ old_key }}"}, check_mode=True),
        _task("encrypt", "fernet_encrypt", {"database_url": "{{ db_url }}", "key": "{{ old_key }}", "workers": 2, "batch_size": 4}),
        _task("encrypt again", "fernet_encrypt", {"database_url": "{{ db_url }}", "key": "{{ old_key }}"}),
        # Rotation with everything from the .env (ENCRYPTION_KEY new, OLD_ENCRYPTION_KEY old).
        _task("audit before", "fernet_audit", from_env),
        _task("rotate refuses unknown tokens", "fernet_rotate", from_env, ignore_errors=True),
        _task("rotate plan", "fernet_rotate", dict(rotate, workers=2), check_mode=True),
        _task("rotate", "fernet_rotate", dict(rotate, workers=2, batch_size=5)),
        _task("rotate again", "fernet_rotate", rotate),
        _task("audit after", "fernet_audit", dict(from_env, fail_on_keys=["old"])),
        # The values under the lost key: report, export and clear, then nothing left to do.
        _task("recover report", "fernet_recover", dict(from_env, export_path=export)),
        _task("recover plan", "fernet_recover", recover, check_mode=True),
        _task("recover", "fernet_recover", recover),
        _task("recover again", "fernet_recover", recover),
        _task("audit final", "fernet_audit", dict(from_env, fail_on_keys=["old"], fail_on_unknown=True)),
    ]
    readable_before = readable_values(db_url, [old])
    results, proc = run_tasks(tmp_path, tasks, {"db_url": db_url, "old_key": old})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    plan, done, again = results["encrypt plan"], results["encrypt"], results["encrypt again"]
    assert plan["changed"] and done["changed"] and not again["changed"]
    assert plan["totals"] == done["totals"]
    assert done["totals"]["newly_encrypted"] == 4  # two legacy 2FA secrets, two legacy webhook secrets
    assert again["totals"]["already_encrypted"] == done["totals"]["already_encrypted"] + 4

    audit_before = results["audit before"]
    assert audit_before["totals"]["by_key"]["current"] == 0 and not audit_before["changed"]
    assert audit_before["totals"]["by_key"]["old"] == again["totals"]["already_encrypted"]
    assert audit_before["totals"]["unknown"] == 4

    refused = results["rotate refuses unknown tokens"]
    assert refused["failed"] and "nothing was written" in refused["msg"]
    assert dict((d["table"], d["ids"]) for d in refused["unknown"]) == {"core_webhook": [14, 15], "databases": [14, 15]}

    plan, done, again = results["rotate plan"], results["rotate"], results["rotate again"]
    assert plan["changed"] and done["changed"] and not again["changed"]
    for field in ("total", "rotated", "already_current", "plaintext", "empty", "unknown", "rows_written"):
        assert plan["totals"][field] == done["totals"][field], field
    assert done["totals"]["rotated"] == audit_before["totals"]["by_key"]["old"]
    assert again["totals"]["already_current"] == done["totals"]["rotated"]
    assert done["new_key_fingerprint"] == results["audit after"]["fingerprints"]["current"]
    after = results["audit after"]
    assert after["totals"]["by_key"] == {"current": done["totals"]["rotated"], "old": 0} and after["totals"]["unknown"] == 4

    report, plan = results["recover report"], results["recover plan"]
    recovered, again = results["recover"], results["recover again"]
    assert not report["changed"] and not report["confirmed"] and report["totals"]["unreadable"] == 4
    assert plan["changed"] and not plan["confirmed"]
    assert recovered["changed"] and recovered["confirmed"] and not again["changed"]
    for field in ("reset", "cleared", "unreadable"):
        assert report["totals"][field] == plan["totals"][field] == recovered["totals"][field], field
    assert recovered["totals"]["reset"] == 2 and recovered["totals"]["cleared"] == 2
    assert stat.S_IMODE(os.stat(export).st_mode) == 0o600
    assert results["audit final"]["totals"]["unknown"] == 0 and not results["audit final"].get("failed")

    # Every token under the new key, and every value that was readable still reads the same.
    assert webops_db.not_under(db_url, new) == []
    assert readable_before <= readable_values(db_url, [new])
    assert_no_secrets(proc.stdout + proc.stderr, [old, new, lost], plaintexts(db_url, [new]))


def test_module_errors_are_clear_and_write_nothing(pg_url, tmp_path):
    old = seeded(pg_url, users=4)
    raw = webops_db.raw_digest(pg_url)
    env_file = write_env(tmp_path / ".env", DATABASE_URL=pg_url, ENCRYPTION_KEY=new_key())
    tasks = [
        _task("no old key", "fernet_rotate", {"env_file": env_file}, ignore_errors=True),
        _task("bad key", "fernet_encrypt", {"env_file": env_file, "key": "{{ bad_key }}"}, ignore_errors=True),
        _task("bad column", "fernet_audit", {"env_file": env_file, "profile": "none",
                                             "columns": [{"table": "databases; DROP TABLE x", "column": "password"}]},
              ignore_errors=True),
        _task("bad password", "fernet_audit", {"database_url": "{{ bad_url }}", "keys": {"current": "{{ old_key }}"}},
              ignore_errors=True),
        _task("no key", "fernet_audit", {"database_url": "{{ bad_url }}"}, ignore_errors=True),
        _task("unknown key name", "fernet_audit", {"env_file": env_file, "fail_on_keys": ["old"]}, ignore_errors=True),
        _task("old data left", "fernet_audit", {"env_file": env_file, "keys": {"current": "{{ old_key }}", "old": "{{ spare_key }}"},
                                                "fail_on_unknown": True}),
    ]
    bad_password = "wr0ng-Pa55word"
    bad_url = pg_url.replace("postgres:", "webops:", 1).split("@")[0].rsplit(":", 1)[0] + ":" + bad_password + "@" + pg_url.split("@")[1]
    results, proc = run_tasks(tmp_path, tasks, {"bad_key": "0" * 64, "bad_url": bad_url, "old_key": old, "spare_key": new_key()})
    assert webops_db.raw_digest(pg_url) == raw
    assert "OLD_ENCRYPTION_KEY not configured" in results["no old key"]["msg"]
    assert "Invalid ENCRYPTION_KEY" in results["bad key"]["msg"] and "hex" in results["bad key"]["msg"]
    assert "not a plain SQL identifier" in results["bad column"]["msg"]
    assert "cannot connect" in results["bad password"]["msg"] and bad_password not in proc.stdout
    assert results["no key"]["msg"] == "ENCRYPTION_KEY not configured: give keys or ENCRYPTION_KEY in env_file"
    assert "fail_on_keys names old" in results["unknown key name"]["msg"]
    assert results["old data left"]["totals"]["by_key"]["old"] == 0 and not results["old data left"].get("failed")
    assert old not in proc.stdout + proc.stderr


def test_recover_names_the_fix_for_a_column_too_narrow_for_a_new_secret(pg_url, tmp_path):
    """fernet_recover replaces a lost webhook secret with a new one (a 64-character secret,
    encrypted): a column too narrow for it is refused with the ALTER TABLE that fixes it, not with
    an option only fernet_encrypt and fernet_rotate have."""
    key = seeded(pg_url, users=3)
    lost = Fernet(new_key().encode("ascii"))
    with webops_db.Database(pg_url) as db:
        ids = [row[0] for row in db.query("SELECT id FROM core_webhook")]
        # Secrets under a key nobody holds, each token shorter than a new secret's.
        for pk in ids:
            db.execute("UPDATE core_webhook SET secret = ? WHERE id = ?", (lost.encrypt(b"lost %d" % pk).decode("ascii"), pk))
        width = len(lost.encrypt(b"lost 1"))
        db.execute("ALTER TABLE core_webhook ALTER COLUMN secret TYPE varchar(%d)" % width)
        db.commit()
    assert ids
    raw = webops_db.raw_digest(pg_url)
    env_file = write_env(tmp_path / ".env", DATABASE_URL=pg_url, ENCRYPTION_KEY=key)
    tasks = [_task("recover", "fernet_recover", {"env_file": env_file, "export_path": str(tmp_path / "lost.jsonl"),
                                                 "confirm": True}, ignore_errors=True)]
    results, proc = run_tasks(tmp_path, tasks, {})
    assert webops_db.raw_digest(pg_url) == raw
    recover = results["recover"]
    assert recover.get("failed"), recover
    assert [(d["table"], d["column"]) for d in recover["too_narrow"]] == [("core_webhook", "secret")]
    assert "core_webhook.secret is varchar(%d)" % width in recover["msg"], recover["msg"]
    assert "ALTER TABLE" in recover["msg"] and "widen_columns" not in recover["msg"], recover["msg"]
    assert key not in proc.stdout + proc.stderr
