# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Progress over a real SSH connection with become: the action's watcher thread runs its commands
on the module's own connection while the module runs. A throwaway sshd on a loopback port (its own
host key, an authorized key in a temp dir), a test user with sudo NOPASSWD, ansible-playbook with
``-c ssh`` and ``become``. The module is held at a point it reaches, not raced: the test keeps a
write lock on the SQLite database, so the rotation finishes its scan (and writes its counts) and
then waits for the lock; the lock is let go only once a progress line with those counts arrived."""

import os
import pathlib
import pwd
import re
import select
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

import pytest
import yaml

from cryptography.fernet import Fernet

from support.ansible_runs import playbook_command, write_vars
from support.keys import new_key
from support.paths import REPO

pytestmark = [pytest.mark.root, pytest.mark.playbook, pytest.mark.slow]

SSHD = "/usr/sbin/sshd"
# One account per test process: the ansible-core matrix runs this suite in several processes at once.
USER = "webops-ssh-%d" % os.getpid()
ROWS = 400


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def ssh_host():
    """(port, user, private key) of an sshd on 127.0.0.1 that lets USER in with a key and sudo."""
    if os.geteuid() != 0 or not os.path.exists(SSHD) or not shutil.which("sudo"):
        pytest.skip("needs root, openssh-server and sudo (apt-get install -y openssh-server sudo)")
    try:
        pwd.getpwnam(USER)
    except KeyError:  # else left by a run that was killed: reused, and removed below
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", USER], check=True)
    # A locked account ('!') is refused even with a key: give it no usable password instead.
    subprocess.run(["usermod", "-p", "*", USER], check=True)
    sudoers = "/etc/sudoers.d/%s" % USER
    with open(sudoers, "w") as handle:
        handle.write("%s ALL=(ALL) NOPASSWD: ALL\n" % USER)
    os.chmod(sudoers, 0o440)
    # sshd reads the authorized keys as the user: pytest's root-only tmp_path is out of its reach.
    ssh_dir = pathlib.Path(tempfile.mkdtemp(prefix="webops-sshd-"))
    os.chmod(str(ssh_dir), 0o755)
    for name in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(ssh_dir / name)], check=True)
    authorized = ssh_dir / "authorized_keys"
    shutil.copy(str(ssh_dir / "client_key.pub"), str(authorized))
    os.chmod(str(authorized), 0o644)
    port = _free_port()
    config = ssh_dir / "sshd_config"
    config.write_text("\n".join([
        "Port %d" % port, "ListenAddress 127.0.0.1", "HostKey %s" % (ssh_dir / "host_key"),
        "AuthorizedKeysFile %s" % authorized, "PasswordAuthentication no", "KbdInteractiveAuthentication no",
        "PubkeyAuthentication yes", "UsePAM no", "AllowUsers %s" % USER, "PidFile %s" % (ssh_dir / "sshd.pid"),
        # StrictModes would refuse a key file under the world-writable /tmp.
        "StrictModes no", "Subsystem sftp internal-sftp", ""]))
    os.makedirs("/run/sshd", exist_ok=True)
    subprocess.run([SSHD, "-t", "-f", str(config)], check=True)
    log = open(str(ssh_dir / "sshd.log"), "w")
    daemon = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        # Wait until it listens (its readiness, not the verdict of any test).
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert daemon.poll() is None and time.time() < deadline, open(str(ssh_dir / "sshd.log")).read()
                time.sleep(0.1)
        yield port, USER, str(ssh_dir / "client_key")
    finally:
        daemon.terminate()
        daemon.wait(10)
        log.close()
        os.unlink(sudoers)
        shutil.rmtree(str(ssh_dir), ignore_errors=True)
        subprocess.run(["userdel", "--remove", "--force", USER], check=False, stderr=subprocess.DEVNULL)


def _database(path, key):
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE vault_item (id integer PRIMARY KEY, secret text)")
    fernet = Fernet(key.encode())
    conn.executemany("INSERT INTO vault_item VALUES (?, ?)",
                     [(i, fernet.encrypt(b"secret %d" % i).decode()) for i in range(1, ROWS + 1)])
    conn.commit()
    conn.close()


def test_fernet_rotate_prints_progress_over_ssh_with_become(ssh_host, tmp_path):
    port, user, client_key = ssh_host
    old, new = new_key(), new_key()
    db_path = str(tmp_path / "app.sqlite3")
    _database(db_path, old)
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"sshhost": {
        "ansible_host": "127.0.0.1", "ansible_port": port, "ansible_user": user, "ansible_connection": "ssh",
        "ansible_ssh_private_key_file": client_key, "ansible_python_interpreter": sys.executable,
        "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
        # No master connection left behind once the play ends (the test user is removed after it).
        "ansible_ssh_args": "-o ControlMaster=no",
        "ansible_become_method": "sudo"}}}}))
    playbook = tmp_path / "rotate.yml"
    playbook.write_text(yaml.safe_dump([{"name": "Rotate over SSH", "hosts": "sshhost", "gather_facts": False, "become": True, "tasks": [
        # raw: the test user cannot run the controller's virtualenv Python; root (become) can.
        {"name": "Whoami", "ansible.builtin.raw": "id -un", "register": "whoami", "changed_when": False,
         "become": False},
        {"name": "Whoami with become", "ansible.builtin.command": "id -un", "register": "whoami_become",
         "changed_when": False},
        {"name": "Rotate", "webops.encryption.fernet_rotate": {
            "database_url": "sqlite:///" + db_path, "new_key": "{{ new_key }}", "old_keys": ["{{ old_key }}"],
            "profile": "none", "columns": [{"table": "vault_item", "column": "secret"}], "batch_size": 100}},
        {"name": "Show who ran it", "ansible.builtin.debug": {
            "msg": "remote user {{ whoami.stdout | trim }}, become user {{ whoami_become.stdout }}"}}]}]))
    keys = write_vars(tmp_path / "keys.yml", {"new_key": new, "old_key": old, "webops_progress_interval": 0.2})
    argv, env = playbook_command(str(playbook), ["-i", str(inventory), "-e", "@" + keys])
    env.update(PYTHONUNBUFFERED="1", ANSIBLE_PIPELINING="0")

    # A write lock on the database: the module scans (reads go on) and then waits to write.
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    held = True
    counts_line = re.compile(r"^sshhost: (?:\w+ )?vault_item\.secret: %d/%d \(100%%\)" % (ROWS, ROWS))
    proc = subprocess.Popen(argv, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True, bufsize=1)
    lines = []
    try:
        deadline = time.time() + 120
        while held:
            ready, _w, _x = select.select([proc.stdout], [], [], max(deadline - time.time(), 0))
            assert ready, "no progress line with the scan's counts while the module waited:\n" + "".join(lines)
            line = proc.stdout.readline()
            assert line, "ansible-playbook ended before any progress line:\n" + "".join(lines)
            lines.append(line)
            if counts_line.match(line):
                holder.execute("COMMIT")
                held = False
        lines.append(proc.communicate(timeout=300)[0])
    finally:
        if held:
            holder.execute("ROLLBACK")
        holder.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = "".join(lines)
    assert proc.returncode == 0, output[-3000:]
    assert "remote user %s, become user root" % user in output, output[-3000:]
    assert new not in output and old not in output
    conn = sqlite3.connect(db_path)
    try:
        values = [row[0] for row in conn.execute("SELECT secret FROM vault_item")]
    finally:
        conn.close()
    fernet = Fernet(new.encode())
    assert len(values) == ROWS and all(fernet.decrypt(value.encode()) for value in values)
