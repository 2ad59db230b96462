# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SIGKILL inside rotate_secret_key.yml: ansible-playbook and every process under it are killed at the
moment the state shows a point of the flow (the new key escrowed, the database half re-encrypted, a
host's .env written). At that instant every sensitive configuration value must open, to its text,
with a key derived from a SECRET_KEY the vault holds; then the same command finishes the job."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os
import signal
import subprocess
import time

import pytest
from cryptography.fernet import InvalidToken

from support import webops_db
from support.playbook_site import ENV, FIRST_SECRET_KEY, PLAINTEXTS, SecretKeySite

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


def _escrowed(site):
    return bool(site.vault_data().get("webops_secret_key_next"))


def _database_half_done(site):
    new = site.vault_data().get("webops_secret_key_next")
    if not new:
        return False
    done = len(_opened(site.database_url, new))
    return 0 < done < len(_expected())


def _a_host_written(site):
    return any(site.env_values(host).get("SECRET_KEY") not in ("'%s'" % FIRST_SECRET_KEY, None) for host in site.hosts)


POINTS = [("the new key escrowed", _escrowed), ("the database half re-encrypted", _database_half_done),
          ("a host's .env written", _a_host_written)]


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


def _kill_when(site, process, reached, timeout=240):
    deadline = time.time() + timeout
    while time.time() < deadline and process.poll() is None:
        try:
            if reached(site):
                _kill_tree(process)
                return True
        except (OSError, ValueError):  # a file or row caught mid-write: look again
            pass
        time.sleep(0.01)
    process.communicate()
    return False


@pytest.mark.parametrize("point", [name for name, _reached in POINTS])
def test_sigkill_inside_the_secret_key_rotation_then_rerun(point, tmp_path, sqlite_url, tally):
    site = SecretKeySite(tmp_path, sqlite_url)
    first = _fernet(FIRST_SECRET_KEY)
    webops_db.reseed_config(sqlite_url, FIRST_SECRET_KEY, extra=[
        (100 + i, "extra_%03d" % i, base64.b64encode(first.encrypt(("value-%03d-ü" % i).encode("utf-8"))).decode(), True)
        for i in range(EXTRA_ROWS)])
    assert site.run("setup_encryption.yml").returncode == 0
    encryption_tokens = site.database_state()
    reached = dict(POINTS)[point]

    process = _start(site, "rotate_secret_key.yml", {"webops_database_batch_size": 1})
    killed = _kill_when(site, process, reached)
    survived = killed and _every_value_opens(site)
    tally.fault("SIGKILL inside rotate_secret_key.yml (%s)" % point, survived, "")
    assert killed, "the run ended before reaching: %s" % point
    if not survived:
        found = {}
        for secret_key in site.secret_keys():
            found.update(_opened(site.database_url, secret_key))
        lost = sorted(set(_expected()) - set(found))[:5]
        wrong = sorted(name for name in found if found[name] != _expected().get(name))[:5]
        assert survived, "after a SIGKILL at '%s' configuration values no longer open with a vaulted SECRET_KEY: " \
            "lost %s, changed %s" % (point, lost, wrong)

    result = site.run("rotate_secret_key.yml")
    finished = result.returncode == 0
    tally.fault("re-run after SIGKILL inside rotate_secret_key.yml", finished, point)
    assert finished, result.stdout[-4000:]
    new = site.vault_data()["webops_secret_key"]
    assert _opened(sqlite_url, new) == _expected()
    for host in site.hosts:
        assert site.env_values(host)["SECRET_KEY"] == new
    assert site.database_state() == encryption_tokens
