# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile input, leaks and file modes for the key modules (fernet_key, fernet_key_info, env_file).

The module files run for real (Ansible's own argument file), and every stdout/stderr
is scanned for each key in both base64 alphabets and for the plaintext secrets the
.env holds. Files are compared byte for byte (and by inode) to prove "nothing written".
"""

import base64
import grp
import os
import pwd

import pytest

from ansible_collections.webops.encryption.plugins.module_utils import fernet

from hardening.harness.modules import module_exists, run_module
from hardening.harness.strace import created_files, have_strace, run_traced, wide_files
from support.leaks import Needles


def _need(name):
    if not module_exists(name):
        pytest.fail("plugins/modules/%s.py does not exist yet" % name)


def _snapshot(path):
    st = os.stat(str(path))
    with open(str(path), "rb") as handle:
        return handle.read(), st.st_ino, st.st_mtime_ns, st.st_mode & 0o7777


def _standard_key():
    while True:
        raw = os.urandom(32)
        text = base64.b64encode(raw).decode()
        if "+" in text or "/" in text:
            return raw, text


def _scan_proc(needles, proc, result, where):
    found = needles.scan(proc.stdout, where + " stdout") + needles.scan(proc.stderr, where + " stderr")
    return found


@pytest.fixture
def envdir(tmp_path):
    d = tmp_path / "opt-webops"
    d.mkdir()
    return d


def _bad_module_keys():
    raw = os.urandom(32)
    return {
        "empty": "",
        "short": base64.urlsafe_b64encode(os.urandom(16)).decode(),
        "long": base64.urlsafe_b64encode(os.urandom(48)).decode(),
        "hex": raw.hex(),
        "garbage": "not-a-key-" + os.urandom(12).hex(),
    }


@pytest.mark.parametrize("label", sorted(_bad_module_keys()))
def test_fernet_key_refuses_bad_key_and_writes_nothing(label, envdir, tally):
    _need("fernet_key")
    current = fernet.generate_key()
    secret = "django-secret-" + os.urandom(10).hex()
    env_path = envdir / ".env"
    env_path.write_text("SECRET_KEY=%s\nENCRYPTION_KEY=%s\n" % (secret, current))
    os.chmod(str(env_path), 0o600)
    before = _snapshot(env_path)
    bad = _bad_module_keys()[label]
    result, proc = run_module("fernet_key", {"path": str(env_path), "key": bad, "regenerate": "always",
                                             "backup": True}, envdir, diff=True)
    needles = Needles().add_key("current", current).add_plaintext("SECRET_KEY", secret)
    if len(bad) >= 8:
        needles.add_plaintext("bad key", bad)
    leaks = _scan_proc(needles, proc, result, "fernet_key(%s)" % label)
    msg = (result or {}).get("msg", "")
    clean = bool(result and result.get("failed")) and "Invalid ENCRYPTION_KEY" in msg or \
        bool(result and result.get("failed")) and "not configured" in msg
    untouched = _snapshot(env_path) == before and sorted(os.listdir(str(envdir))) == [".env"]
    tally.input("fernet_key:key-" + label, clean and untouched and not leaks, msg[:100])
    tally.leak_check("fernet_key failure output", leaks, label)
    assert clean, (result, proc.stderr[-2000:])
    assert untouched
    assert leaks == []


def test_fernet_key_info_reports_standard_encoding(envdir, tally):
    _need("fernet_key_info")
    raw, standard = _standard_key()
    result, proc = run_module("fernet_key_info", {"key": standard}, envdir)
    leaks = _scan_proc(Needles().add_key("standard", standard), proc, result, "fernet_key_info")
    ok = bool(result) and result.get("valid") is True and result.get("encoding") == "standard" \
        and result.get("fingerprint") == fernet.fingerprint_bytes(raw) and not result.get("failed")
    tally.input("fernet_key_info:standard-base64-accepted", ok, repr(result)[:200])
    tally.leak_check("fernet_key_info output", leaks)
    assert ok, result
    assert leaks == []


def test_fernet_key_keeps_standard_key_already_in_file(envdir, tally):
    """The same 32 bytes in the other alphabet are the same key: nothing is rewritten."""
    _need("fernet_key")
    raw, standard = _standard_key()
    env_path = envdir / ".env"
    env_path.write_text("ENCRYPTION_KEY=%s\n" % standard)
    os.chmod(str(env_path), 0o600)
    before = _snapshot(env_path)
    urlsafe = base64.urlsafe_b64encode(raw).decode()
    result, proc = run_module("fernet_key", {"path": str(env_path), "key": urlsafe}, envdir, diff=True)
    leaks = _scan_proc(Needles().add_key("k", urlsafe), proc, result, "fernet_key")
    ok = bool(result) and not result.get("failed") and result.get("changed") is False \
        and result.get("encoding") == "standard" and result.get("fingerprint") == fernet.fingerprint_bytes(raw) \
        and _snapshot(env_path) == before
    tally.input("fernet_key:standard-key-in-file-kept", ok, repr(result)[:200])
    tally.leak_check("fernet_key output", leaks)
    assert ok, result
    assert leaks == []


@pytest.mark.parametrize("label,content", [
    ("duplicate", "ENCRYPTION_KEY={k}\nSECRET_KEY={s}\nENCRYPTION_KEY={k}\n"),
    ("export", "export ENCRYPTION_KEY={k}\nSECRET_KEY={s}\n"),
    ("invalid-existing", "ENCRYPTION_KEY={s}\n"),
])
@pytest.mark.parametrize("module", ["fernet_key", "env_file"])
def test_modules_refuse_hostile_env_and_write_nothing(module, label, content, envdir, tally):
    _need(module)
    key = fernet.generate_key()
    secret = "secret-value-" + os.urandom(10).hex()
    env_path = envdir / ".env"
    env_path.write_text(content.format(k=key, s=secret))
    os.chmod(str(env_path), 0o600)
    before = _snapshot(env_path)
    new = fernet.generate_key()
    if module == "fernet_key":
        args = {"path": str(env_path), "key": new, "backup": True}
    else:
        args = {"path": str(env_path), "set": {"OLD_ENCRYPTION_KEY": new}, "backup": True}
    result, proc = run_module(module, args, envdir, diff=True)
    needles = Needles().add_key("file key", key).add_key("new", new).add_plaintext("SECRET_KEY", secret)
    leaks = _scan_proc(needles, proc, result, module)
    if label == "invalid-existing" and module == "env_file":
        # env_file does not police other variables: setting a name beside them is legitimate.
        ok = bool(result) and not result.get("failed") and result.get("changed") is True
        tally.input("%s:%s" % (module, label), ok and not leaks, repr(result)[:100])
        assert ok, result
        assert leaks == []
        return
    msg = (result or {}).get("msg", "")
    clean = bool(result and result.get("failed")) and bool(msg) and "Traceback" not in proc.stdout + proc.stderr
    untouched = _snapshot(env_path) == before and sorted(os.listdir(str(envdir))) == [".env"]
    tally.input("%s:%s" % (module, label), clean and untouched and not leaks, msg[:100])
    tally.leak_check("%s failure output" % module, leaks, label)
    assert clean, (result, proc.stderr[-1500:])
    assert untouched
    assert leaks == []


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("module", ["fernet_key", "env_file"])
def test_modules_keep_crlf_and_missing_final_newline(module, newline, envdir, tally):
    _need(module)
    old = fernet.generate_key()
    lines = ["# WebOps", "DEBUG=False", "ENCRYPTION_KEY=%s" % old, "DATABASE_URL=sqlite:////opt/webops/db.sqlite3"]
    text = newline.join(lines)  # no final newline
    env_path = envdir / ".env"
    env_path.write_bytes(text.encode())
    os.chmod(str(env_path), 0o600)
    new = fernet.generate_key()
    if module == "fernet_key":
        args = {"path": str(env_path), "key": new, "regenerate": "always"}
    else:
        args = {"path": str(env_path), "set": {"ENCRYPTION_KEY": new}}
    result, proc = run_module(module, args, envdir)
    out = env_path.read_bytes().decode()
    ok = bool(result) and result.get("changed") is True and out == text.replace(old, new)
    tally.input("%s:%s-no-final-newline" % (module, "crlf" if newline == "\r\n" else "lf"), ok, repr(out[-30:]))
    assert ok, (result, out)
    again, _again_proc = run_module(module, args, envdir)
    assert again and again.get("changed") is False, again


@pytest.mark.skipif(not have_strace(), reason="strace is not installed (apt-get install strace)")
@pytest.mark.parametrize("module", ["fernet_key", "env_file"])
def test_key_files_backups_and_temp_files_are_never_wider_than_0600(module, envdir, tmp_path, tally):
    """umask 000 and strace: every file created in the .env directory (temp, backup, target) is 0600."""
    _need(module)
    env_path = envdir / ".env"
    env_path.write_text("SECRET_KEY=abc-%s\nENCRYPTION_KEY=%s\n" % (os.urandom(6).hex(), fernet.generate_key()))
    os.chmod(str(env_path), 0o600)
    log = str(tmp_path / "strace.log")

    def traced(argv, env):
        return run_traced(argv, log, env=env, umask=0o000)

    new = fernet.generate_key()
    owner = {"owner": "nobody", "group": "nogroup"}   # "owned as configured"
    if module == "fernet_key":
        args = dict(owner, path=str(env_path), key=new, regenerate="always", backup=True)
    else:
        args = dict(owner, path=str(env_path), set={"ENCRYPTION_KEY": new, "OLD_ENCRYPTION_KEY": fernet.generate_key()},
                    backup=True)
    result, proc = run_module(module, args, tmp_path, runner=traced)
    assert result and result.get("changed") is True, (result, proc.stderr[-1500:])
    wide = wide_files(log, [str(envdir)])
    created = created_files(log, [str(envdir)])
    modes = dict((name, os.stat(str(envdir / name)).st_mode & 0o777) for name in os.listdir(str(envdir)))
    findings = ["%s %s %s" % w for w in wide] + ["%s is %o" % (n, m) for n, m in modes.items() if m != 0o600]
    nobody = (pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid)
    env_owner = (os.stat(str(env_path)).st_uid, os.stat(str(env_path)).st_gid)
    if env_owner != nobody:
        findings.append(".env is owned by %s, not nobody:nogroup as configured" % (env_owner,))
    tally.leak_check("permissions:%s files under umask 000 (strace)" % module, findings)
    assert len(created) >= 2, created  # the backup and the temp file were seen: the observer works
    assert result.get("backup_file") and os.path.basename(result["backup_file"]) in modes
    assert findings == []
    # The backup holds the old key: its name must not.
    assert Needles().add_key("new", new).scan(result["backup_file"], "backup name") == []
