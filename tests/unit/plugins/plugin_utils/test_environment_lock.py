# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The environment lock: created atomically, refused while its holder runs, taken over when it is gone."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.webops.encryption.plugins.plugin_utils import _environment_lock as envlock


def dead_pid():
    """The pid of a process that has ended (reaped): nothing runs under it now."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_lock_records_its_holder_and_a_second_taker_is_refused_by_name(tmp_path):
    path = str(tmp_path / "locks" / "prod.lock")
    mine = envlock.holder_record(os.getpid(), "rotate_keys.yml", "prod")
    assert envlock.acquire(path, mine) == (False, None)
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    with open(path) as handle:
        record = json.load(handle)
    assert record["pid"] == os.getpid() and record["playbook"] == "rotate_keys.yml" and "@" in record["holder"]
    assert record["pid_start"] == envlock.process_start(os.getpid())
    # The same run taking it again (its next play) keeps it.
    assert envlock.acquire(path, mine) == (False, None)
    # Another live process (our parent) is refused, named, and the lock is left alone.
    other = envlock.holder_record(os.getppid(), "setup_encryption.yml", "prod")
    with pytest.raises(envlock.LockError) as refused:
        envlock.acquire(path, other)
    assert "Another run holds the lock of prod: %s (pid %d" % (record["holder"], os.getpid()) in str(refused.value)
    assert "Nothing was changed" in str(refused.value)
    assert "is in progress" in envlock.in_progress_note(path)
    assert envlock.release(path, os.getppid()) is False and os.path.exists(path)
    assert envlock.release(path, os.getpid()) is True and not os.path.exists(path)
    assert envlock.in_progress_note(path) == ""


def test_a_dead_holders_lock_is_taken_over_and_a_reused_pid_is_not_the_holder(tmp_path):
    path = str(tmp_path / "prod.lock")
    gone = envlock.holder_record(os.getpid(), "rotate_keys.yml", "prod")
    gone["pid"] = dead_pid()
    with open(path, "w") as handle:
        json.dump(gone, handle)
    assert envlock.state_of(envlock.read_record(path)) == "stale"
    assert "was left by a run that is gone" in envlock.in_progress_note(path)
    taken, previous = envlock.acquire(path, envlock.holder_record(os.getpid(), "rotate_keys.yml", "prod"))
    assert taken and previous == gone
    assert "ps -p %d" % gone["pid"] in envlock.takeover_warning(path, previous)
    # A live pid whose start time differs is another process that reused the pid: the holder is gone.
    reused = envlock.holder_record(os.getppid(), "x", "prod")
    reused["pid_start"] = "1"
    assert envlock.state_of(reused) == "stale"


def test_another_controllers_lock_is_never_taken_over(tmp_path):
    path = str(tmp_path / "prod.lock")
    foreign = {"holder": "ops@bastion", "controller": "bastion-not-" + envlock.controller_name(), "pid": dead_pid(),
               "started": "2026-01-01T00:00:00Z", "playbook": "rotate_keys.yml", "environment": "prod"}
    with open(path, "w") as handle:
        json.dump(foreign, handle)
    with pytest.raises(envlock.LockError, match="another controller .* remove %s" % path):
        envlock.acquire(path, envlock.holder_record(os.getpid(), "rotate_keys.yml", "prod"))
    with open(path) as handle:
        assert json.load(handle) == foreign


def test_an_unreadable_lock_left_mid_write_is_stale(tmp_path):
    path = str(tmp_path / "prod.lock")
    with open(path, "w") as handle:
        handle.write('{"holder": "half')
    assert envlock.state_of(envlock.read_record(path)) == "stale"
    taken, previous = envlock.acquire(path, envlock.holder_record(os.getpid(), "p", "prod"))
    assert taken and previous == {}
