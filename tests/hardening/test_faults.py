# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fault injection against the engine on real PostgreSQL and SQLite.

After every fault, the invariant of the architecture page is checked: every value opens, with the
old or the new key, to the plaintext it had before (digest of all plaintexts). Then the
same command is run again and must finish: every value opens with the new key alone.
"""

import base64
import os
import random
import time

import pytest

from ansible_collections.webops.encryption.plugins.module_utils import fernet

from hardening.harness.faults import Child, fraction_under, fresh_db, run_engine
from support import webops_db
from support.leaks import Needles
from support.pg_cluster import PgCluster
from support.row_gate import RowGate

SEED = int(os.environ.get("HARDENING_SEED", "0")) or random.SystemRandom().randrange(1, 2 ** 31)
USERS = 200          # about 2,000 token values over the WebOps tables
BATCH = 50
KILLS = {"postgresql": 30, "sqlite": 25}


def _rotate_cfg(url, new, old, **extra):
    cfg = {"op": "rotate", "url": url, "new": new, "old": [old], "batch_size": BATCH, "on_unknown": "fail"}
    cfg.update(extra)
    return cfg


def _complete(url, new, old, before):
    """Run the same rotation again to the end; True when every value opens with ``new`` alone."""
    rc, result, err = run_engine(_rotate_cfg(url, new, old))
    assert rc == 0, (result, err[-3000:])
    return webops_db.digest(url, [new], include_unknown=False) == before and webops_db.not_under(url, new) == []


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_sigkill_at_random_points_then_rerun(backend, request, tally, capsys):
    url = request.getfixturevalue("pg_url" if backend == "postgresql" else "sqlite_url")
    rng = random.Random(SEED + (1 if backend == "sqlite" else 0))
    with capsys.disabled():
        print("\n[hardening] SIGKILL loop on %s: HARDENING_SEED=%d" % (backend, SEED))
    key = fernet.generate_key()
    before = fresh_db(url, key, USERS)
    # One clean run measures how long a rotation takes, so the random kills spread over all of it, and
    # how many batches it commits, so the held kills land among them.
    new = fernet.generate_key()
    started = time.monotonic()
    calibration = Child(_rotate_cfg(url, new, key)).wait_ready()
    assert calibration.finish() == 0, calibration.err[-3000:]
    duration = max(time.monotonic() - started - 0.25, 0.05)
    batches = calibration.out.count("BATCH ")
    assert batches > 2, calibration.out[-2000:]
    assert _complete(url, new, key, before)
    old = new
    kills, fractions, held, cycles = 0, [], [], 0
    while kills < KILLS[backend]:
        # Each rotation is killed twice, then finished by a re-run: first right after batch N
        # committed (the run held there, N drawn from all its batches but the last), then at a
        # random moment of the run that resumes it (reading, encrypting, mid-transaction).
        new = fernet.generate_key()
        cycles += 1
        for hold in (True, False):
            child = Child(_rotate_cfg(url, new, old, pause=hold)).wait_ready()
            if hold:
                assert child.pause_after(rng.randint(1, batches - 1)), "the run ended before its held batch"
            else:
                time.sleep(rng.uniform(0.0, duration))
            if not child.kill():
                assert child.proc.returncode == 0, child.err[-2000:]
                break
            kills += 1
            group_gone = child.group_gone()
            # The invariant at the instant of the kill: every value opens with old or new, unchanged.
            survived = webops_db.digest(url, [new, old], include_unknown=False) == before and group_gone
            fractions.append(fraction_under(url, new))
            if hold:
                held.append(fractions[-1])
            tally.fault("SIGKILL mid-rotation (%s)" % backend, survived, "seed %d kill %d" % (SEED, kills))
            assert survived, "seed %d: after kill %d a value no longer opens to its plaintext" % (SEED, kills)
        finished = _complete(url, new, old, before)
        tally.fault("re-run after SIGKILL (%s)" % backend, finished, "seed %d cycle %d" % (SEED, cycles))
        assert finished, "seed %d cycle %d: the re-run did not leave every value under the new key" % (SEED, cycles)
        old = new
    mid = [f for f in fractions if 0.0 < f < 1.0]
    with capsys.disabled():
        print("[hardening] %s: %d kills in %d rotations (seed %d); %d landed mid-rotation; progress at kill: %s"
              % (backend, kills, cycles, SEED, len(mid), " ".join("%.2f" % f for f in sorted(fractions))))
    # A loop whose kills all land before or after the work proves nothing: every held kill landed
    # between two batches of the work, whatever the machine's speed.
    assert len(held) == cycles and all(0.0 < f < 1.0 for f in held), held


# Where each round cuts the connection: the UPDATE of the first row the rotation writes, or of a row
# in a later table, once every batch before it committed. The row is held locked (support.row_gate),
# so the run waits there, inside its write, until the cut.
CUT_ROWS = [("core_two_factor_auth", "first write"), ("databases", "after earlier tables committed")]


def test_connection_dropped_mid_batch_then_rerun(pg_server, pg_url, tally):
    key = fernet.generate_key()
    before = fresh_db(pg_url, key, USERS)
    old = key
    drops = 0
    for round_ in range(4):
        table, where = CUT_ROWS[round_ % 2]
        new = fernet.generate_key()
        with webops_db.Database(pg_url) as reader:
            # The first row whose value the rotation rewrites (legacy plaintext rows are left alone).
            column = {"core_two_factor_auth": "secret", "databases": "password"}[table]
            first_id = reader.query("SELECT min(id) FROM %s WHERE %s LIKE 'gAAAAA%%%%'" % (table, column))[0][0]
        with RowGate(pg_url, table, first_id) as gate:
            child = Child(_rotate_cfg(pg_url, new, old, batch_size=20)).wait_ready()
            assert gate.wait_until_blocked(child.alive), "the run finished before its write of %s" % table
            moved = fraction_under(pg_url, new)
            terminated = gate.terminate_blocked()
            child.finish()
        assert terminated, "no write of %s waited on the gate" % table
        assert (moved == 0.0) == (where == "first write"), (where, moved)
        drops += 1
        result = child.result() or {}
        needles = Needles().add_key("new", new).add_key("old", old).add_plaintext("password", pg_server.password)
        leaks = needles.scan(child.out + child.err, "child output")
        clear = child.proc.returncode == 2 and "run again" in result.get("msg", "") and "Traceback" not in child.err
        survived = webops_db.digest(pg_url, [new, old], include_unknown=False) == before
        tally.leak_check("connection-drop error message", leaks)
        finished = _complete(pg_url, new, old, before)
        tally.fault("pg_terminate_backend mid-batch", survived and finished and clear,
                    "round %d (%s) rc=%s msg=%s" % (round_, where, child.proc.returncode, result.get("msg", "")[:150]))
        assert clear, (child.proc.returncode, result, child.err[-2000:])
        assert survived and finished
        assert leaks == []
        old = new
    assert drops == 4


def test_two_rotations_at_once_one_is_refused(pg_url, sqlite_url, tally):
    for url in (pg_url, sqlite_url):
        key = fernet.generate_key()
        before = fresh_db(url, key, 1500)   # enough work that the runs overlap
        new = fernet.generate_key()
        first = Child(_rotate_cfg(url, new, key, wait_go=True, batch_size=100)).wait_ready()
        second = Child(_rotate_cfg(url, new, key, wait_go=True, batch_size=100)).wait_ready()
        first.go()
        second.go()
        codes = sorted([first.finish(), second.finish()])
        results = [first.result() or {}, second.result() or {}]
        refused = [r for r in results if r.get("error")]
        message = refused[0].get("msg", "") if refused else ""
        ok = codes == [0, 2] and len(refused) == 1 and refused[0]["error"] == "LockHeld" \
            and "another" in message and "run again" in message
        consistent = webops_db.digest(url, [new], include_unknown=False) == before and webops_db.not_under(url, new) == []
        tally.fault("concurrent rotation (%s)" % url.split(":")[0], ok and consistent, "codes %s %s" % (codes, message[:120]))
        assert ok, (codes, results, first.err[-1500:], second.err[-1500:])
        assert consistent


@pytest.fixture
def own_cluster():
    """A private PostgreSQL cluster this test may stop and start (the shared one is left alone)."""
    cluster = PgCluster().start()
    try:
        yield cluster
    finally:
        cluster.destroy()


def test_database_stopped_between_preflight_and_rotation(own_cluster, tally):
    url = own_cluster.url(own_cluster.create_database())
    key = fernet.generate_key()
    before = fresh_db(url, key, USERS)
    new = fernet.generate_key()
    # The child connects and checks (READY), then the server goes away before it rotates.
    child = Child(_rotate_cfg(url, new, key, wait_go=True)).wait_ready()
    own_cluster.stop("fast")
    child.go()
    child.finish()
    result = child.result() or {}
    needles = Needles().add_key("new", new).add_key("old", key).add_plaintext("password", own_cluster.password)
    leaks = needles.scan(child.out + child.err, "child output")
    clear = child.proc.returncode == 2 and bool(result.get("msg")) and "Traceback" not in child.err
    own_cluster.restart()
    assert own_cluster.wait_ready()
    untouched = webops_db.digest(url, [key], include_unknown=False) == before
    # The server down at the start of a run: a clear refusal, nothing written.
    own_cluster.stop("fast")
    rc2, result2, err2 = run_engine(_rotate_cfg(url, new, key))
    clear2 = rc2 == 2 and "cannot connect" in (result2 or {}).get("msg", "")
    leaks += needles.scan(repr(result2) + err2, "child output (server down)")
    own_cluster.restart()
    assert own_cluster.wait_ready()
    # Stopped hard in the middle of a run (crash: immediate shutdown), then restarted: the run is held
    # right after its third batch committed, the server stops, then the run goes on into the void.
    child = Child(_rotate_cfg(url, new, key, batch_size=20, pause=True)).wait_ready()
    assert child.pause_after(3), "the run ended before its third batch"
    own_cluster.stop("immediate")
    child.go_on()
    child.finish()
    own_cluster.restart()
    assert own_cluster.wait_ready()
    assert 0.0 < fraction_under(url, new) < 1.0, "the crash did not land mid-rotation"
    mid_ok = webops_db.digest(url, [new, key], include_unknown=False) == before
    finished = _complete(url, new, key, before)
    tally.leak_check("database-down error messages", leaks)
    tally.fault("database stopped between preflight and rotation", clear and untouched,
                "rc=%s msg=%s" % (child.proc.returncode, result.get("msg", "")[:150]))
    tally.fault("database down at start", clear2, repr(result2)[:150])
    tally.fault("database crashed mid-rotation (immediate stop)", mid_ok and finished)
    assert clear, (result, child.err[-2000:])
    assert untouched and clear2 and mid_ok and finished
    assert leaks == []


@pytest.mark.parametrize("workers", [1, 2])
def test_faulty_encryptor_never_commits_a_bad_token(workers, sqlite_url, monkeypatch, tally):
    """Inject a fault into the token codec (every 37th new token comes out corrupted): the batch
    holding it must not be written, the run must stop with a clear error, and once the fault is
    gone the same command finishes. Workers are forked, so they inherit the faulty codec."""
    from ansible_collections.webops.encryption.plugins.module_utils import _db as db
    from ansible_collections.webops.encryption.plugins.module_utils import columns, engine
    from ansible_collections.webops.encryption.plugins.module_utils._engine.codec import Codec
    key = fernet.generate_key()
    before = fresh_db(sqlite_url, key, 60)
    new = fernet.generate_key()
    real_seal = Codec.seal_many
    calls = {"n": 0}

    def faulty_seal(self, plaintexts, timestamps=None):
        tokens = real_seal(self, plaintexts, timestamps)
        for position, token in enumerate(tokens):
            calls["n"] += 1
            if calls["n"] % 37 == 0:
                raw = bytearray(base64.urlsafe_b64decode(token))
                raw[30] ^= 0x04   # a flipped ciphertext bit: the HMAC no longer matches
                tokens[position] = base64.urlsafe_b64encode(bytes(raw)).decode()
        return tokens

    monkeypatch.setattr(Codec, "seal_many", faulty_seal)
    specs = columns.resolve("webops")
    with db.connect(sqlite_url) as adapter:
        try:
            engine.rotate(adapter, specs, new, [key], batch_size=10, workers=workers)
            message = "finished with a faulty encryptor"
            refused = False
        except engine.EngineError as exc:
            message = str(exc)
            refused = "decrypt" in message or "disagree" in message
    monkeypatch.undo()
    intact = webops_db.digest(sqlite_url, [new, key], include_unknown=False) == before
    finished = _complete(sqlite_url, new, key, before)
    tally.fault("faulty encryptor, workers=%d" % workers, refused and intact and finished, message[:120])
    assert refused, message
    assert intact, "a corrupted token was committed"
    assert finished
