# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every file that holds a key is 0600 at every instant, even under umask 000.

Two honest observers: in process, os.open/os.rename are wrapped (the real calls still
run) to record the mode each temp file had when created and when renamed into place;
across processes, strace records every O_CREAT mode and chmod of the whole tree.
"""

import os
import pwd
import sys

import pytest

from ansible_collections.webops.encryption.plugins.module_utils import _dotenv as dotenv, fernet

from hardening.harness.strace import created_files, have_strace, run_traced, wide_files
from support.paths import COLLECTIONS


@pytest.fixture
def umask000():
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_write_atomic_temp_and_final_are_0600_under_umask_000(tmp_path, umask000, monkeypatch, tally):
    seen = []
    real_open, real_rename = os.open, os.rename

    def watching_open(path, flags, mode=0o777, *args, **kwargs):
        fd = real_open(path, flags, mode, *args, **kwargs)
        if flags & os.O_CREAT:
            seen.append(("created", str(path), os.fstat(fd).st_mode & 0o777))
        return fd

    def watching_rename(src, dst, *args, **kwargs):
        seen.append(("renamed", str(src), os.stat(src).st_mode & 0o777))
        return real_rename(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "open", watching_open)
    monkeypatch.setattr(os, "rename", watching_rename)
    path = tmp_path / ".env"
    for round_ in range(3):
        dotenv.write_atomic(str(path), "ENCRYPTION_KEY=%s\n" % fernet.generate_key())
    monkeypatch.undo()
    temp_events = [e for e in seen if e[1].startswith(str(tmp_path))]
    ok = len([e for e in temp_events if e[0] == "renamed"]) == 3 and all(e[2] == 0o600 for e in temp_events) \
        and os.stat(str(path)).st_mode & 0o777 == 0o600 and os.listdir(str(tmp_path)) == [".env"]
    tally.leak_check("permissions:write_atomic temp files (in process)", [] if ok else [repr(temp_events)])
    assert ok, temp_events


def test_write_atomic_keeps_owner_and_never_widens_existing_file(tmp_path, umask000):
    path = tmp_path / ".env"
    path.write_text("DEBUG=1\n")
    nobody = pwd.getpwnam("nobody")
    os.chown(str(path), nobody.pw_uid, nobody.pw_gid)
    os.chmod(str(path), 0o644)  # a wrongly wide file: the rewrite narrows it
    dotenv.write_atomic(str(path), "ENCRYPTION_KEY=%s\n" % fernet.generate_key())
    st = os.stat(str(path))
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (nobody.pw_uid, nobody.pw_gid, 0o600)


@pytest.mark.skipif(not have_strace(), reason="strace is not installed (apt-get install strace)")
def test_write_atomic_under_strace_never_creates_a_wide_file(tmp_path, tally):
    target = tmp_path / "env"
    target.mkdir()
    script = (
        "from ansible_collections.webops.encryption.plugins.module_utils import _dotenv as dotenv, fernet\n"
        "for i in range(5):\n"
        "    dotenv.write_atomic(%r, 'ENCRYPTION_KEY=%%s\\n' %% fernet.generate_key())\n"
    ) % str(target / ".env")
    log = str(tmp_path / "strace.log")
    proc = run_traced([sys.executable, "-c", script], log, env=dict(os.environ, PYTHONPATH=COLLECTIONS))
    assert proc.returncode == 0, proc.stderr
    wide = wide_files(log, [str(target)])
    created = created_files(log, [str(target)])
    tally.leak_check("permissions:write_atomic (strace, umask 000)", ["%s %s %s" % w for w in wide])
    assert len(created) >= 10, created  # 5 temp files created and 5 renames seen: the observer works
    assert wide == []
    assert os.stat(str(target / ".env")).st_mode & 0o777 == 0o600


def test_strace_observer_catches_a_wide_file(tmp_path):
    """The observer itself can fail: a plain open() under umask 000 is reported."""
    if not have_strace():
        pytest.skip("strace is not installed")
    log = str(tmp_path / "strace.log")
    target = tmp_path / "w"
    target.mkdir()
    proc = run_traced([sys.executable, "-c", "open(%r, 'w').write('x')" % str(target / "f")], log)
    assert proc.returncode == 0
    assert wide_files(log, [str(target)]) == [(str(target / "f"), "created", "0o666")]
