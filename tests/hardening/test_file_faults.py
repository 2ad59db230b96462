# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Faults where the .env is written: a full disk (a 64 KiB tmpfs), an immutable file
(chattr +i: as root, chmod is not enough), a read-only filesystem (remount ro).

Each fault must fail cleanly with the .env untouched (its key still opens the data) and
no temp file left behind; once the fault is cleared, the same command finishes.
"""

import errno
import os
import signal
import subprocess

import pytest

from ansible_collections.webops.encryption.plugins.module_utils import _dotenv as dotenv, fernet

from hardening.harness.environment import Environment
from hardening.harness.modules import module_exists, run_module
from support import webops_db
from support.leaks import Needles
from support.playbook_site import ROTATION_STEP_END, fault_environ, step_of


def _mount_tmpfs(path, size="64k"):
    os.makedirs(path, exist_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0755" % size, "tmpfs", path],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    if proc.returncode != 0:
        pytest.fail("cannot mount a tmpfs (%s); the suite needs root with CAP_SYS_ADMIN" % proc.stdout.strip())


def _umount(path):
    subprocess.run(["umount", "-l", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)


def _fill(directory):
    """Fill the filesystem of ``directory``; returns the filler path (delete it to free space)."""
    filler = os.path.join(directory, "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 512)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def _chattr(flag, path):
    proc = subprocess.run(["chattr", flag, path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False)
    if proc.returncode != 0:
        pytest.fail("chattr %s is not supported here (%s)" % (flag, proc.stdout.strip()))


@pytest.fixture
def tmpfs(tmp_path):
    mnt = str(tmp_path / "mnt")
    _mount_tmpfs(mnt)
    try:
        yield mnt
    finally:
        subprocess.run(["chattr", "-R", "-i", mnt], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
        _umount(mnt)


def _snapshot(path):
    st = os.stat(path)
    with open(path, "rb") as handle:
        return handle.read(), st.st_ino


def _write_env(path, key, secret):
    dotenv.write_atomic(path, "SECRET_KEY=%s\nENCRYPTION_KEY=%s\n" % (secret, key))


def _faults():
    return ["disk full", "immutable .env", "read-only filesystem"]


def _inject(kind, mnt, env_path):
    if kind == "disk full":
        filler = _fill(mnt)
        return lambda: os.unlink(filler)
    if kind == "immutable .env":
        _chattr("+i", env_path)
        return lambda: _chattr("-i", env_path)
    subprocess.run(["mount", "-o", "remount,ro", mnt], check=True)
    return lambda: subprocess.run(["mount", "-o", "remount,rw", mnt], check=True)


@pytest.mark.parametrize("kind", _faults())
def test_write_atomic_fails_cleanly(kind, tmpfs, tally):
    env_path = os.path.join(tmpfs, ".env")
    key, new, secret = fernet.generate_key(), fernet.generate_key(), "s-" + os.urandom(8).hex()
    _write_env(env_path, key, secret)
    before = _snapshot(env_path)
    clear = _inject(kind, tmpfs, env_path)
    try:
        env = dotenv.read_env_file(env_path)
        env.set("ENCRYPTION_KEY", new)
        env.set("OLD_ENCRYPTION_KEY", key)
        with pytest.raises(OSError):
            dotenv.write_atomic(env_path, env.render())
        intact = _snapshot(env_path) == before
        leftovers = sorted(n for n in os.listdir(tmpfs) if n not in (".env", "filler"))
    finally:
        clear()
    dotenv.write_atomic(env_path, env.render())
    rerun = dotenv.read_env_file(env_path).get("ENCRYPTION_KEY") == new
    survived = intact and not leftovers and rerun
    tally.fault("dotenv.write_atomic: %s" % kind, survived, "intact=%s leftovers=%s" % (intact, leftovers))
    assert intact and leftovers == [] and rerun


@pytest.mark.parametrize("kind", _faults())
@pytest.mark.parametrize("module", ["env_file", "fernet_key"])
def test_key_modules_fail_cleanly_then_rerun(module, kind, tmpfs, tmp_path, tally):
    if not module_exists(module):
        pytest.fail("plugins/modules/%s.py does not exist yet" % module)
    env_path = os.path.join(tmpfs, ".env")
    key, new, secret = fernet.generate_key(), fernet.generate_key(), "s-" + os.urandom(8).hex()
    _write_env(env_path, key, secret)
    before = _snapshot(env_path)
    if module == "env_file":
        args = {"path": env_path, "set": {"ENCRYPTION_KEY": new, "OLD_ENCRYPTION_KEY": key}, "backup": True}
    else:
        args = {"path": env_path, "key": new, "regenerate": "always", "backup": True}
    work = tmp_path / "work"
    work.mkdir()
    clear = _inject(kind, tmpfs, env_path)
    try:
        result, proc = run_module(module, args, work)
        intact = _snapshot(env_path) == before
        leftovers = sorted(n for n in os.listdir(tmpfs) if n not in (".env", "filler"))
    finally:
        clear()
    msg = (result or {}).get("msg", "")
    # A backup of the unchanged file, named in the failure result and 0600, is a legitimate
    # leftover (the operator is told); a temp file or anything else is not.
    backup = os.path.basename((result or {}).get("backup_file") or "")
    if backup in leftovers:
        path = os.path.join(tmpfs, backup)
        if os.stat(path).st_mode & 0o777 == 0o600 and _snapshot(path)[0] == before[0]:
            leftovers.remove(backup)
            os.unlink(path)
    needles = Needles().add_key("old", key).add_key("new", new).add_plaintext("SECRET_KEY", secret)
    leaks = needles.scan(proc.stdout + proc.stderr, module)
    clean = bool(result and result.get("failed")) and ("cannot" in msg or "nothing" in msg.lower()) \
        and "Traceback" not in proc.stdout + proc.stderr
    again, proc2 = run_module(module, args, work)
    rerun = bool(again) and not again.get("failed") and dotenv.read_env_file(env_path).get("ENCRYPTION_KEY") == new
    tally.fault("%s: %s" % (module, kind), clean and intact and not leftovers and rerun,
                "msg=%r leftovers=%s rerun=%s" % (msg[:120], leftovers, (again or {}).get("msg")))
    tally.leak_check("%s failure on %s" % (module, kind), leaks)
    assert clean, (result, proc.stderr[-1500:])
    assert intact and leftovers == [], leftovers
    assert rerun, (again, proc2.stderr[-1500:])
    assert leaks == []


_CALLBACK = """
# Test-only callback: runs a command when a task of a given name starts (fault injection
# between two tasks of a real play, e.g. stop the database after the preflight audit).
import json
import os
import subprocess

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "hardening_fault"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.done = False

    def v2_playbook_on_task_start(self, task, is_conditional):
        name = os.environ.get("HARDENING_FAULT_TASK")
        if name and not self.done and name in task.get_name():
            self.done = True
            proc = subprocess.run(json.loads(os.environ["HARDENING_FAULT_ARGV"]), stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, universal_newlines=True, check=False)
            with open(os.environ["HARDENING_FAULT_MARKER"], "w") as handle:
                handle.write("rc=%d %s" % (proc.returncode, proc.stdout[-500:]))
"""


@pytest.fixture
def own_cluster():
    from support.pg_cluster import PgCluster
    cluster = PgCluster().start()
    try:
        yield cluster
    finally:
        cluster.destroy()


def test_rotation_playbook_survives_faults_then_rerun(own_cluster, tmp_path, tally):
    """rotate_keys.yml end to end on PostgreSQL with three faults: the .env on a full disk, the .env
    immutable, the database stopped between the preflight audit and the rotation. Each run must stop;
    at that moment the .env must hold keys that open every value; once the fault is cleared the same
    command must go on from there and finish with every value under the .env's one key.

    The faults are chained in one rotation: the run that resumes a failed one meets the next fault,
    and the run after the last fault must finish. A full disk stops the fresh run before the .env is
    written (its backup beside the .env cannot be made); the immutable .env stops the resuming run at
    the .env write, past the point the full disk stopped; the database stopped by the callback stops
    the next one at the re-encryption, past the .env write (the callback fires only when the run
    reaches that task, which the test asserts); the closing run finishes. The test asserts that each
    run stopped in a later step than the one before, so each re-run proves it gets past the fault
    before it, as a finished re-run after each fault did, for two runs less."""
    import json
    for name in ("fernet_rotate", "fernet_audit"):
        if not module_exists(name):
            pytest.fail("plugins/modules/%s.py does not exist yet" % name)
    plugins = tmp_path / "callback_plugins"
    plugins.mkdir()
    (plugins / "hardening_fault.py").write_text(_CALLBACK)
    url = own_cluster.url(own_cluster.create_database())
    env = Environment(tmp_path / "env", db_url=url)
    opt = os.path.join(env.root, "opt", "webops")
    _mount_tmpfs(opt)
    try:
        env.build()
        setup, _log = env.playbook("setup_encryption.yml", verbosity=0, debug=False)
        assert setup.returncode == 0, setup.stdout[-3000:]
        key = env.env_key()
        before = webops_db.digest(env.db_url, [key], include_unknown=False)
        pg_ctl = [os.path.join(own_cluster.bindir, "pg_ctl"), "-D", own_cluster.datadir, "-m", "fast", "-w", "stop"]
        faults = [
            ("disk full", lambda: _inject("disk full", opt, env.env_file), {}),
            ("immutable .env", lambda: _inject("immutable .env", opt, env.env_file), {}),
            ("database stopped between preflight and rotation",
             lambda: (lambda: (own_cluster.restart(), own_cluster.wait_ready())),
             {"ANSIBLE_CALLBACK_PLUGINS": str(plugins), "ANSIBLE_CALLBACKS_ENABLED": "hardening_fault",
              "HARDENING_FAULT_TASK": "Re-encrypt every secret under the new key",
              "HARDENING_FAULT_ARGV": json.dumps(["runuser", "-u", "postgres", "--"] + pg_ctl),
              "HARDENING_FAULT_MARKER": str(tmp_path / "fault-fired")}),
        ]
        start_key = env.env_key()
        stopped = []
        for kind, inject, extra_env in faults:
            clear = inject()
            try:
                failed, _log = env.playbook("rotate_keys.yml", verbosity=0, debug=False, env=extra_env)
                if kind.startswith("database"):
                    marker = tmp_path / "fault-fired"
                    assert marker.exists(), "the fault was never injected:\n%s" % failed.stdout[-3000:]
                    assert marker.read_text().startswith("rc=0"), marker.read_text()
                    own_cluster.restart()
                    assert own_cluster.wait_ready()
                held = [k for k in (env.env_key(), env.env_key("OLD_ENCRYPTION_KEY")) if k]
                opens = webops_db.digest(env.db_url, held, include_unknown=False) == before
            finally:
                if not kind.startswith("database"):
                    clear()
            stopped.append(step_of(failed.stdout))
            tally.fault("rotate_keys.yml: %s" % kind, failed.returncode != 0 and opens,
                        "rc=%s stopped in step %s opens=%s" % (failed.returncode, stopped[-1], opens))
            assert failed.returncode != 0, "%s: the rotation did not notice\n%s" % (kind, failed.stdout[-3000:])
            assert opens, "%s: the .env no longer holds keys that open every value" % kind
        # Each run got past the step its predecessor stopped in (the chain's premise, see above).
        assert None not in stopped and stopped == sorted(set(stopped)), stopped
        again, _log = env.playbook("rotate_keys.yml", verbosity=0, debug=False)
        final_key = env.env_key()
        finished = again.returncode == 0 and final_key != start_key and env.env_key("OLD_ENCRYPTION_KEY") is None \
            and webops_db.digest(env.db_url, [final_key], include_unknown=False) == before
        tally.fault("rotate_keys.yml: re-run after the faults", finished, "rerun rc=%s" % again.returncode)
        assert finished, "the re-run did not finish\n%s" % again.stdout[-4000:]
    finally:
        subprocess.run(["chattr", "-R", "-i", opt], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
        _umount(opt)


# Where the controller dies, one kill per state a crash can leave: the new key escrowed and the .env
# backed up, the .env not yet written; both keys written to every .env, the database not yet touched;
# the database re-encrypted and committed, not yet verified. The test-only fault callback SIGKILLs
# ansible-playbook right after each named task, a point every run reaches.
SIGKILL_AFTER = [ROTATION_STEP_END[3], ROTATION_STEP_END[4], "Re-encrypt every secret under the new key"]


def test_rotation_playbook_survives_sigkill_then_rerun(tmp_path, tally):
    """SIGKILL of ansible-playbook at points of rotate_keys.yml (the controller dying): each time the
    .env must still hold keys that open every value, and the same command, run again, must go on
    from there and finish with every value under the .env's one key.

    The kills are chained: the run that resumes a killed one is itself killed at the next point, and
    the run after the last kill must finish. So every re-run proves it gets past the point its
    predecessor died at (it reaches the next one), the state at each kill is the one a fresh run
    killed there leaves (the escrowed key is reused, the .env write and the re-encryption are
    idempotent), and the closing run finishes from the latest state. One rotation, four runs after
    the setup, instead of a finished re-run after each kill."""
    for name in ("fernet_rotate", "fernet_audit"):
        if not module_exists(name):
            pytest.fail("plugins/modules/%s.py does not exist yet" % name)
    env = Environment(tmp_path / "env").build()
    setup, _log = env.playbook("setup_encryption.yml", verbosity=0, debug=False)
    assert setup.returncode == 0, setup.stdout[-3000:]
    before = webops_db.digest(env.db_url, [env.env_key()], include_unknown=False)
    start_key = env.env_key()
    for task in SIGKILL_AFTER:
        killed, _log = env.playbook("rotate_keys.yml", verbosity=0, debug=False, env=fault_environ(task, "kill"))
        held = [k for k in (env.env_key(), env.env_key("OLD_ENCRYPTION_KEY")) if k]
        opens = webops_db.digest(env.db_url, held, include_unknown=False) == before
        reached = killed.returncode == -signal.SIGKILL
        tally.fault("rotate_keys.yml: SIGKILL of ansible-playbook", reached and opens,
                    "after %r: reached=%s opens=%s" % (task, reached, opens))
        assert reached, "the run never reached %r:\n%s" % (task, killed.stdout[-3000:])
        assert opens, "after a SIGKILL after %r the .env no longer holds keys that open every value" % task
    again, _log = env.playbook("rotate_keys.yml", verbosity=0, debug=False)
    final_key = env.env_key()
    finished = again.returncode == 0 and final_key != start_key and env.env_key("OLD_ENCRYPTION_KEY") is None \
        and webops_db.digest(env.db_url, [final_key], include_unknown=False) == before
    tally.fault("rotate_keys.yml: re-run after SIGKILLs of ansible-playbook", finished, "rerun rc=%s" % again.returncode)
    assert finished, again.stdout[-4000:]
