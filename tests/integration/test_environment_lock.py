# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One run per environment at a time: real ansible-playbook runs, one paused right after a named
task by the test-only fault callback while a second one starts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from support.leaks import assert_no_secret
from support.playbook_site import ENV, ROTATION_STEP_END, Environment

pytestmark = pytest.mark.playbook

NEW_KEY_TASK = "Generate the new key once for the environment"


def lock_path(site):
    return os.path.join(site.inventories, ".webops-locks", "%s.lock" % ENV)


def snapshot(site):
    with open(site.vault_file(ENV), "rb") as handle:
        vault = handle.read()
    return site.env_bytes(), vault, site.database_state()


def test_a_second_rotation_is_refused_while_the_first_runs_and_the_first_finishes(set_up_site, sqlite_url):
    site = set_up_site(Environment, sqlite_url, hosts=("panel1",))
    assert not os.path.exists(lock_path(site)), "a finished run left its lock"

    first = site.start_paused("rotate_keys.yml", [ENV], NEW_KEY_TASK, extra={"env": ENV})
    first.wait_paused()
    try:
        with open(lock_path(site)) as handle:
            record = json.load(handle)
        assert record["pid"] == first.process.pid
        assert record["playbook"] == "rotate_keys.yml" and record["environment"] == ENV
        assert "@" in record["holder"] and record["started"].endswith("Z")
        before = snapshot(site)

        second = site.run("rotate_keys.yml")
        assert second.returncode != 0
        assert "Another run holds the lock of %s: %s (pid %d" % (ENV, record["holder"], first.process.pid) in second.stdout
        assert "Nothing was changed" in second.stdout
        # Refused before the rotation's first step.
        assert "Step 1 - preflight" not in second.stdout and "stopped in step" not in second.stdout
        assert snapshot(site) == before

        # Read-only runs go on and say a run is in progress.
        verify = site.run("verify_keys.yml")
        assert "A run of %s is in progress: %s" % (ENV, record["holder"]) in verify.stdout
        check = site.run("rotate_keys.yml", check=True)
        assert "A run of %s is in progress" % ENV in check.stdout
        assert snapshot(site) == before
        assert os.path.exists(lock_path(site))
    finally:
        result = first.release()
    assert_no_secret(result.stdout, site.all_keys())
    assert result.returncode == 0, result.stdout[-4000:]
    site.assert_rotated_to_current()
    assert not os.path.exists(lock_path(site))


def test_a_failed_run_releases_its_lock_and_a_killed_runs_lock_is_taken_over_by_the_same_command(set_up_site, sqlite_url):
    """One rotation stopped three times: a failure (its rescue releases the lock), a SIGKILL (no rescue:
    the lock stays), a failure of the run that took the dead run's lock over (released again); the
    same command then finishes, with no lock to take over."""
    site = set_up_site(Environment, sqlite_url, hosts=())
    failed = site.run("rotate_keys.yml", fault=(ROTATION_STEP_END[3], "fail"))
    assert failed.returncode != 0 and "stopped in step 3" in failed.stdout
    assert not os.path.exists(lock_path(site))

    killed = site.run("rotate_keys.yml", fault=(ROTATION_STEP_END[4], "kill"))
    assert killed.returncode == -9
    with open(lock_path(site)) as handle:
        record = json.load(handle)
    escrowed = site.vault_data()["webops_encryption_key_next"]

    # (The killed run's output may end before its lock task's lines: ansible-playbook does not flush.)
    result = site.run("rotate_keys.yml", fault=(ROTATION_STEP_END[5], "fail"))
    assert result.returncode != 0 and "stopped in step 5" in result.stdout, result.stdout[-4000:]
    assert "was left by a run that is gone (%s (pid %d" % (record["holder"], record["pid"]) in result.stdout
    assert "ps -p %d" % record["pid"] in result.stdout
    assert not os.path.exists(lock_path(site))

    result = site.run("rotate_keys.yml")
    assert result.returncode == 0, result.stdout[-4000:]
    assert "was left by a run" not in result.stdout
    assert site.assert_rotated_to_current() == escrowed
    assert not os.path.exists(lock_path(site))


def test_a_lock_from_another_controller_is_never_taken_over(set_up_site, sqlite_url):
    site = set_up_site(Environment, sqlite_url, hosts=())
    os.makedirs(os.path.dirname(lock_path(site)), exist_ok=True)
    record = {"holder": "ops@bastion2", "controller": "bastion2", "pid": 4242, "pid_start": "1",
              "started": "2026-01-01T00:00:00Z", "playbook": "rotate_keys.yml", "environment": ENV}
    with open(lock_path(site), "w") as handle:
        json.dump(record, handle)
    before = snapshot(site)
    for playbook in ("rotate_keys.yml", "setup_encryption.yml", "encrypt_secrets.yml", "rotate_secret_key.yml",
                     "recover_lost_key.yml"):
        result = site.run(playbook)
        assert result.returncode != 0, playbook
        assert "Another run holds the lock of %s: ops@bastion2 (pid 4242 on bastion2)" % ENV in result.stdout, playbook
        assert "remove %s" % lock_path(site) in result.stdout, playbook
    assert snapshot(site) == before
    with open(lock_path(site)) as handle:
        assert json.load(handle) == record
