# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SIGKILL inside rotate_secret_key.yml: ansible-playbook and every process under it are killed at a
point of the flow the run reaches and waits at (the new key escrowed, the database half re-encrypted,
a host's .env written). At that instant every sensitive configuration value must open, to its text,
with a key derived from a SECRET_KEY the vault holds; then the same command finishes the job."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os
import signal
import subprocess

import pytest
from cryptography.fernet import InvalidToken

from support import webops_db
from support.playbook_site import ENV, FIRST_SECRET_KEY, PLAINTEXTS, SecretKeySite
from support.row_gate import RowGate

EXTRA_ROWS = 400  # sensitive values, written one per transaction (batch size 1), so a kill can land among them
_FERNETS = {}


def _fernet(secret_key):
    if secret_key not in _FERNETS:
        _FERNETS[secret_key] = webops_db.config_fernet(secret_key)
    return _FERNETS[secret_key]


def _expected():
    expected = dict(PLAINTEXTS)
    expected.update(("extra_%03d" % i, "value-%03d-ü" % i) for i in range(EXTRA_ROWS))
    return expected


def _opened(url, secret_key):
    """{name: plaintext} of the sensitive values ``secret_key``'s derived key opens."""
    fernet, opened = _fernet(secret_key), {}
    for _pk, name, value, sensitive in webops_db.config_rows(url):
        if sensitive:
            try:
                opened[name] = fernet.decrypt(base64.b64decode(value)).decode("utf-8")
            except (InvalidToken, ValueError):
                continue
    return opened


def _every_value_opens(site):
    """The invariant: each sensitive value opens, to its text, with a SECRET_KEY the vault holds."""
    found = {}
    for secret_key in site.secret_keys():
        found.update(_opened(site.database_url, secret_key))
    return found == _expected()


def _start(site, playbook, extra):
    """Start ansible-playbook exactly as Site.playbook runs it, in its own process group."""
    captured = {}

    def capture(argv, **kwargs):
        captured.update(argv=argv, kwargs=kwargs)

    original = subprocess.run
    subprocess.run = capture
    try:
        site.playbook(playbook, [ENV], extra=dict(extra, env=ENV))
    finally:
        subprocess.run = original
    kwargs = captured["kwargs"]
    return subprocess.Popen(captured["argv"], cwd=kwargs["cwd"], env=kwargs["env"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True, start_new_session=True)


# Points of the flow, each one the run reaches and stops at: a kill after a named task (the test-only
# fault callback), or, inside the database step, the UPDATE of a row the test holds locked
# (support.row_gate), once every batch before it committed.
ESCROWED = "the new key escrowed"
DATABASE_HALF = "the database half re-encrypted"
HOST_WRITTEN = "a host's .env written"
AFTER_TASK = {
    # The first task of step 3 runs once the new key is in the vault, before any value moves.
    ESCROWED: "Step 3 - re-encrypt the sensitive configuration values",
    HOST_WRITTEN: "Write the new SECRET_KEY to the .env",
}
GATED_ROW = 100 + EXTRA_ROWS // 2  # half of the extra rows come before it in the rotation's id order


def _descendants(pid):
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


def _kill_tree(process):
    """SIGKILL the run and every process under it, as a crash of the machine would: ansible's
    workers leave the process group (setsid), and a module they run must die too. The tree is
    frozen first (SIGSTOP until no new process appears) so nothing runs on after the kill."""
    frozen = set()
    while True:
        tree = set([process.pid] + _descendants(process.pid)) - frozen
        if not tree:
            break
        for pid in tree:
            try:
                os.kill(pid, signal.SIGSTOP)
            except OSError:
                pass
        frozen |= tree
    for pid in frozen:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    process.wait()


def _kill_at_gated_row(site, process):
    """Hold GATED_ROW, wait until the run's UPDATE of it waits on the lock, then kill the whole run
    there. Returns whether the run got there (False: it ended first)."""
    with RowGate(site.database_url, "core_configuration", GATED_ROW) as gate:
        reached = gate.wait_until_blocked(lambda: process.poll() is None)
        waiting = gate.blocked()
        if reached:
            _kill_tree(process)
        else:
            process.communicate()
        gate.release()
        gate.wait_gone(waiting)
    return reached


# The kills of one rotation, in the order the flow reaches them: the run that resumes a killed one is
# itself killed at the next point, and the run after the last kill must finish. Each state a kill
# leaves is the one a fresh run killed there leaves (the escrowed key is reused; the database half
# and the .env write are idempotent), each resuming run proves it gets past the point its
# predecessor died at (it reaches the next one), and the closing run finishes from the latest state.
# SQLite: before any value moves and after every value moved (a host's .env written); PostgreSQL:
# among the database's batches (the row lock, support.row_gate, needs a server).
CHAINS = {"sqlite": [ESCROWED, HOST_WRITTEN], "postgresql": [DATABASE_HALF]}


@pytest.mark.parametrize("backend", sorted(CHAINS))
def test_sigkill_inside_the_secret_key_rotation_then_rerun(backend, tmp_path, request, tally):
    url = request.getfixturevalue("pg_url" if backend == "postgresql" else "sqlite_url")
    site = SecretKeySite(tmp_path, url)
    first = _fernet(FIRST_SECRET_KEY)
    webops_db.reseed_config(url, FIRST_SECRET_KEY, extra=[
        (100 + i, "extra_%03d" % i, base64.b64encode(first.encrypt(("value-%03d-ü" % i).encode("utf-8"))).decode(), True)
        for i in range(EXTRA_ROWS)])
    assert site.run("setup_encryption.yml").returncode == 0
    encryption_tokens = site.database_state()

    for point in CHAINS[backend]:
        if point == DATABASE_HALF:
            process = _start(site, "rotate_secret_key.yml", {"webops_database_batch_size": 1})
            killed = _kill_at_gated_row(site, process)
            new = site.vault_data().get("webops_secret_key_next")
            moved = len(_opened(url, new)) if new else 0
            assert killed and 0 < moved < len(_expected()), \
                "the run was not stopped half-way through the database: killed=%s, %d values moved" % (killed, moved)
        else:
            run = site.run("rotate_secret_key.yml", fault=(AFTER_TASK[point], "kill"))
            killed = run.returncode == -signal.SIGKILL
            assert killed, "the run ended before reaching: %s\n%s" % (point, run.stdout[-3000:])
        survived = killed and _every_value_opens(site)
        tally.fault("SIGKILL inside rotate_secret_key.yml (%s)" % point, survived, backend)
        if not survived:
            found = {}
            for secret_key in site.secret_keys():
                found.update(_opened(url, secret_key))
            lost = sorted(set(_expected()) - set(found))[:5]
            wrong = sorted(name for name in found if found[name] != _expected().get(name))[:5]
            assert survived, "after a SIGKILL at '%s' configuration values no longer open with a vaulted SECRET_KEY: " \
                "lost %s, changed %s" % (point, lost, wrong)

    result = site.run("rotate_secret_key.yml")
    finished = result.returncode == 0
    tally.fault("re-run after SIGKILL inside rotate_secret_key.yml", finished, " then ".join(CHAINS[backend]))
    assert finished, result.stdout[-4000:]
    new = site.vault_data()["webops_secret_key"]
    assert _opened(url, new) == _expected()
    for host in site.hosts:
        assert site.env_values(host)["SECRET_KEY"] == new
    assert site.database_state() == encryption_tokens
