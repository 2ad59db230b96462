# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kills, dropped connections and too-narrow columns: nothing is lost, a re-run finishes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import multiprocessing
import os
import signal
import time

import pytest
from cryptography.fernet import Fernet

from support import webops_db
from support.engine_api import by_column, run, seeded
from support.keys import new_key
from ansible_collections.webops.encryption.plugins.module_utils import _db as db
from ansible_collections.webops.encryption.plugins.module_utils import columns, engine


def _rotate_in_child(url, new, old, conn):
    def progress(_table, _column, _rows, _total):
        # Report the workers, then wait for the parent's word: it kills the run here, held right
        # after the batch committed, or lets it write the next one.
        conn.send([child.pid for child in multiprocessing.active_children()])
        conn.recv()
    run("rotate", url, new, [old], workers=2, batch_size=10, progress=progress)
    conn.send("done")


def _kill_after(url, new, old, batches):
    """Run a rotation in a child process and SIGKILL it, held right after ``batches`` committed
    batches (a point it reaches whatever the machine's speed)."""
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_rotate_in_child, args=(url, new, old, child))
    process.start()
    seen = 0
    workers = []
    try:
        while seen < batches:
            if seen:
                parent.send("next")
            assert parent.poll(120), "the rotation made no progress"
            message = parent.recv()
            assert message != "done", "the rotation finished before it could be killed"
            workers = message
            seen += 1
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.join(10)
    assert process.exitcode == -signal.SIGKILL
    # The worker processes die with the run (PR_SET_PDEATHSIG), none is left behind.
    assert len(workers) == 2
    deadline = time.time() + 30
    while any(_alive(pid) for pid in workers) and time.time() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in workers)


def _alive(pid):
    try:
        with open("/proc/%d/status" % pid, encoding="ascii") as status:
            return "\tZ" not in [line for line in status if line.startswith("State:")][0]
    except (IOError, OSError):
        return False


def _rerun(url, new, old):
    # PostgreSQL drops a killed client's advisory lock as soon as it notices the socket closed.
    deadline = time.time() + 60
    while True:
        try:
            return run("rotate", url, new, [old], workers=2, batch_size=50)
        except engine.LockHeld:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


def test_sigkill_mid_rotation_then_rerun_finishes(db_url):
    old = seeded(db_url, users=60)
    new = new_key()
    before = webops_db.digest(db_url, [old])
    for batches in (3, 9):
        _kill_after(db_url, new, old, batches)
        # Every value opens with one of the two keys, to the same plaintext.
        assert webops_db.digest(db_url, [new, old], include_unknown=False) == before
    census = webops_db.census(db_url, [new, old])
    assert any(1 in c for c in census.values()) and any(0 in c for c in census.values()), "killed half-way"

    done = _rerun(db_url, new, old)
    assert done["totals"]["rotated"] > 0 and done["totals"]["already_current"] > 0
    assert webops_db.not_under(db_url, new) == []
    assert webops_db.digest(db_url, [new], include_unknown=False) == before
    audit = run("audit", db_url, {"current": new, "old": old})
    assert audit["totals"]["by_key"]["old"] == 0
    assert not _rerun(db_url, new, old)["changed"]


def test_dropped_connection_mid_rotation(pg_url):
    old = seeded(pg_url, users=40)
    new = new_key()
    before = webops_db.digest(pg_url, [old])
    calls = []

    def progress(_table, _column, _rows, _total):
        calls.append(1)
        if len(calls) == 4:
            with webops_db.Database(pg_url) as admin:
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = current_database() AND pid <> pg_backend_pid()")
                admin.commit()

    with pytest.raises(engine.DatabaseError) as caught:
        run("rotate", pg_url, new, [old], workers=1, batch_size=10, progress=progress)
    assert "run again" in str(caught.value)
    assert webops_db.digest(pg_url, [new, old], include_unknown=False) == before
    done = run("rotate", pg_url, new, [old])
    assert done["totals"]["already_current"] >= 30 and done["totals"]["rotated"] > 0
    assert webops_db.not_under(pg_url, new) == []
    assert webops_db.digest(pg_url, [new], include_unknown=False) == before


def _narrow_database(url):
    """The migrations' PostgreSQL schema (varchar(32) 2FA secrets, varchar(64) webhook secrets)
    holding the legacy plaintext it can hold."""
    webops_db.create_schema(url, narrow=True)
    with webops_db.Database(url) as database:
        database.executemany("INSERT INTO auth_user (id, username) VALUES (?, ?)", [(i, "user%d" % i) for i in (1, 2, 3)])
        database.executemany("INSERT INTO core_two_factor_auth (id, user_id, secret, is_enabled, backup_codes) VALUES (?, ?, ?, ?, ?)",
                             [(i, i, ("JBSWY3DPEHPK3PXP" * 2)[i:] + "AB"[:i], True, "[]") for i in (1, 2, 3)])
        database.executemany("INSERT INTO core_webhook (id, user_id, name, secret, is_active, is_deleted) VALUES (?, ?, ?, ?, ?, ?)",
                             [(i, i, "hook %d" % i, ("%064x" % (i * 7919)), True, False) for i in (1, 2, 3)])
        database.commit()


def test_narrow_columns_are_refused_with_the_fix(pg_url):
    _narrow_database(pg_url)
    key = new_key()
    raw = webops_db.raw_digest(pg_url)
    with pytest.raises(engine.ColumnTooNarrow) as caught:
        run("encrypt", pg_url, key)
    assert webops_db.raw_digest(pg_url) == raw, "nothing may be written"
    details = dict(("%s.%s" % (d["table"], d["column"]), d) for d in caught.value.details)
    assert details["core_two_factor_auth.secret"]["max_length"] == 32
    assert details["core_two_factor_auth.secret"]["needed"] == 140
    assert details["core_webhook.secret"]["needed"] == 184
    message = str(caught.value)
    assert "core_two_factor_auth.secret is varchar(32) but the tokens it would receive need 140 characters" in message
    assert 'ALTER TABLE "core_two_factor_auth" ALTER COLUMN "secret" TYPE varchar(255);' in message
    # Check mode runs the same checks.
    with pytest.raises(engine.ColumnTooNarrow):
        run("encrypt", pg_url, key, check_mode=True)
    # A rotation that has no token to put there goes ahead.
    assert not run("rotate", pg_url, key, [new_key()])["changed"]

    before = webops_db.digest(pg_url, [key])
    with webops_db.Database(pg_url) as database:
        for detail in caught.value.details:
            database.execute(detail["fix"])
        database.commit()
    done = run("encrypt", pg_url, key)
    assert by_column(done)["core_two_factor_auth.secret"]["newly_encrypted"] == 3
    assert webops_db.digest(pg_url, [key]) == before
    assert webops_db.census(pg_url, [key])["core_webhook.secret"] == {0: 3}


def _column_shape(url):
    """Width, NOT NULL and the unique constraints and indexes of the two narrow token columns."""
    with webops_db.Database(url) as database:
        return dict((table, (
            database.query("SELECT character_maximum_length, is_nullable FROM information_schema.columns "
                           "WHERE table_name = ? AND column_name = 'secret'", (table,)),
            sorted(database.query("SELECT indexdef FROM pg_indexes WHERE tablename = ?", (table,))),
            sorted(database.query("SELECT conname, contype FROM pg_constraint WHERE conrelid = ?::regclass", (table,)))))
            for table in ("core_two_factor_auth", "core_webhook"))


def test_widen_columns_widens_in_check_mode_on_paper_then_for_real_and_keeps_constraints(pg_url):
    _narrow_database(pg_url)
    key = new_key()
    shape, raw = _column_shape(pg_url), webops_db.raw_digest(pg_url)
    expected = [{"table": "core_two_factor_auth", "column": "secret", "from": 32, "to": engine.widened_width(140)},
                {"table": "core_webhook", "column": "secret", "from": 64, "to": engine.widened_width(184)}]

    planned = run("encrypt", pg_url, key, check_mode=True, widen=True)
    assert planned["widened"] == expected and planned["changed"]
    assert _column_shape(pg_url) == shape and webops_db.raw_digest(pg_url) == raw, "check mode changed something"

    done = run("encrypt", pg_url, key, widen=True)
    assert done["widened"] == expected
    assert by_column(done)["core_webhook.secret"]["newly_encrypted"] == 3
    after = _column_shape(pg_url)
    for table, (width, indexes, constraints) in after.items():
        assert width[0][0] == engine.WIDEN_MINIMUM and width[0][1] == "NO", table
        assert indexes == shape[table][1], table
        assert constraints == shape[table][2], table
    with webops_db.Database(pg_url) as database:
        assert database.query("SELECT count(*) FROM pg_indexes WHERE indexname = 'core_webhook_secret_idx'")[0][0] == 1
        # The unique constraint still bites.
        with pytest.raises(Exception):
            database.execute("UPDATE core_webhook SET secret = (SELECT secret FROM core_webhook WHERE id = 1) WHERE id = 2")
    assert webops_db.census(pg_url, [key])["core_two_factor_auth.secret"] == {0: 3}

    # Nothing left to widen or encrypt: a second run changes nothing, and a rotation fits too.
    again = run("encrypt", pg_url, key, widen=True)
    assert not again["changed"] and again["widened"] == []
    new = new_key()
    rotated = run("rotate", pg_url, new, [key], widen=True)
    assert rotated["widened"] == [] and rotated["totals"]["rotated"] == 6
    assert not run("rotate", pg_url, new, [key], widen=True)["changed"]


def test_a_row_the_app_changes_mid_batch_is_left_for_the_next_run(db_url):
    old = seeded(db_url, users=15)
    new = new_key()
    app_value = Fernet(old.encode()).encrypt("changed by the app".encode()).decode()
    spec = columns.resolve("none", [{"table": "databases", "column": "password"}])
    calls = []

    def progress(_table, _column, _rows, _total):
        calls.append(1)
        if len(calls) == 1:
            # Batch 2 (ids 6-10) has been read and re-encrypted, not yet written: the app saves row 8.
            with webops_db.Database(db_url) as app:
                app.execute("UPDATE databases SET password = ? WHERE id = 8", (app_value,))
                app.commit()

    with db.connect(db_url) as adapter:
        done = engine.rotate(adapter, spec, new, [old], batch_size=5, workers=2, progress=progress)
    assert done["totals"]["conflicts"] == 1 and done["totals"]["rows_written"] == 14
    with webops_db.Database(db_url) as app:
        assert app.query("SELECT password FROM databases WHERE id = 8") == [(app_value,)]
    with db.connect(db_url) as adapter:
        again = engine.rotate(adapter, spec, new, [old])
    assert again["totals"]["rotated"] == 1 and again["totals"]["conflicts"] == 0
    assert webops_db.census(db_url, [new])["databases.password"] == {0: 15}
