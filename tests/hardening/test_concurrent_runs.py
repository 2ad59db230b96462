# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Two runs at once, made deterministic: the second starts while the first is held at a known point
(a paused ansible-playbook, or the vault's lock held by the test), never by racing a timer."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import json
import os
import subprocess
import time

import yaml

from support.keys import fingerprint, new_key
from support.leaks import assert_no_secret
from support.paths import ANSIBLE_CFG, ANSIBLE_PLAYBOOK, COLLECTIONS, TEST_PLAYBOOKS
from support.playbook_site import ENV, Environment, Site


def blocked_on(path, process):
    """Whether ``process`` waits for an flock on ``path`` (a '->' waiter line of /proc/locks). Fails
    when the process ended instead of waiting."""
    inode = os.stat(path).st_ino
    deadline = time.monotonic() + 240
    while True:
        with open("/proc/locks") as handle:
            for line in handle:
                fields = line.split()
                if "->" in fields and fields[-3].split(":")[-1] == str(inode):
                    return True
        if process.poll() is not None:
            raise AssertionError("the escrow did not wait for the vault's lock: " + process.stdout.read()[-3000:])
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("the escrow never reached the vault's lock")
        time.sleep(0.1)


def test_two_escrows_at_once_the_second_waits_sees_the_first_and_is_refused(tmp_path, tally):
    site = Site(tmp_path)
    vault_dir = tmp_path / "inventories" / "prod" / "group_vars" / "prod"
    vault_dir.mkdir(parents=True)
    vault_path = str(vault_dir / "vault.yml")
    current, first, second = new_key(), new_key(), new_key()
    with open(vault_path, "wb") as handle:
        handle.write(site.vault.encrypt(yaml.safe_dump({"webops_encryption_key": current})))
    extra = str(tmp_path / "escrow-vars.json")
    with open(extra, "w") as handle:
        json.dump({"escrow_vault_path": vault_path, "escrow_new_key": second}, handle)
    os.chmod(extra, 0o600)
    sidecar = os.path.join(os.path.dirname(vault_path), ".vault.yml.lock")

    # Run A holds the vault's lock (the test stands in for it) while run B starts its escrow.
    holder = os.open(sidecar, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(holder, fcntl.LOCK_EX)
    environ = dict(os.environ, ANSIBLE_CONFIG=ANSIBLE_CFG, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1",
                   ANSIBLE_LOCAL_TEMP=str(tmp_path / ".ansible-tmp"))
    run_b = subprocess.Popen([ANSIBLE_PLAYBOOK, os.path.join(TEST_PLAYBOOKS, "escrow_next.yml"), "-i", "localhost,",
                              "--vault-password-file", site.password_file, "-e", "@" + extra, "-vvv"],
                             cwd=str(tmp_path), env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             universal_newlines=True)
    try:
        waited = blocked_on(sidecar, run_b)
        # A writes its key while B waits.
        with open(vault_path, "wb") as handle:
            handle.write(site.vault.encrypt(yaml.safe_dump({"webops_encryption_key": current,
                                                            "webops_encryption_key_next": first})))
    finally:
        fcntl.flock(holder, fcntl.LOCK_UN)
        os.close(holder)
    output, dummy = run_b.communicate(timeout=240)
    with open(vault_path, "rb") as handle:
        kept = yaml.safe_load(site.vault.decrypt(handle.read()))
    refused = run_b.returncode != 0 and "already holds key %s" % fingerprint(first) in output
    ok = waited and refused and kept == {"webops_encryption_key": current, "webops_encryption_key_next": first}
    tally.fault("concurrent escrow in one vault file (vault_vars)", ok, output[-300:])
    leaks = [k for k in (current, first, second) if k in output]
    tally.leak_check("concurrent escrow refusal (-vvv)", leaks)
    assert ok, output[-3000:]
    assert not leaks


def test_a_rotation_started_while_another_runs_is_refused_and_the_first_finishes(tmp_path, sqlite_url, tally):
    """The reproduction: run A paused right after it made its new key, run B started then."""
    site = Environment(tmp_path, sqlite_url, hosts=("panel1",))
    assert site.run("setup_encryption.yml").returncode == 0
    run_a = site.start_paused("rotate_keys.yml", [ENV], "Generate the new key once for the environment",
                              extra={"env": ENV})
    run_a.wait_paused()
    try:
        before = (site.env_bytes(), open(site.vault_file(ENV), "rb").read(), site.database_state())
        run_b = site.run("rotate_keys.yml")
        after = (site.env_bytes(), open(site.vault_file(ENV), "rb").read(), site.database_state())
    finally:
        result = run_a.release()
    refused = run_b.returncode != 0 and "Another run holds the lock of %s" % ENV in run_b.stdout and after == before
    assert_no_secret(result.stdout, site.all_keys())
    finished = result.returncode == 0
    if finished:
        site.assert_rotated_to_current()
    tally.fault("second rotation while one runs (paused after its new key)", refused and finished,
                run_b.stdout[-200:] + result.stdout[-200:])
    assert refused, run_b.stdout[-3000:]
    assert finished, result.stdout[-3000:]
