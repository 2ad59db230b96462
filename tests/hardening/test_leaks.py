# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Leak scan: every playbook and database module, -vvvv with ANSIBLE_DEBUG=1, check and diff
mode, failure paths; stdout, stderr, the Ansible log, the audit logs, every file name and every
non-key file's content are searched for every key (url-safe and standard base64, with and
without padding, the 20-character prefix) and every plaintext secret of the database.

The keys a play generates are read from the .env afterwards, so the needles include them.
"""

import os
import re
import sys
import time

import pytest
import yaml

from hardening.harness.environment import Environment
from hardening.harness.modules import module_exists, run_debug_playbook
from hardening.harness.strace import created_files, strace_prefix, wide_files
from support import webops_db
from support.ansible_runs import write_vars
from support.leaks import split_core_debug_echo
from support.playbook_site import ROTATION_STEP_END, fault_environ

DB_MODULES = ("fernet_encrypt", "fernet_rotate", "fernet_audit", "fernet_recover", "fernet_discover")


def _scan_everything(env, runs, tally, extra_secrets=()):
    """Scan captured outputs and the environment's files; one leak check per surface per run."""
    env.remember_keys()
    needles = env.needles(extra_secrets)
    findings = []
    echoed = 0
    for label, proc, log in runs:
        for surface, text in (("stdout", proc.stdout), ("stderr", proc.stderr), ("ansible log", log)):
            text, core_lines = split_core_debug_echo(text)
            echoed += sum(1 for line in core_lines if needles.scan(line, "core debug line"))
            found = needles.scan(text, "%s %s" % (label, surface))
            tally.leak_check("%s (%s)" % (surface, label.split(" ")[0]), found, label)
            findings += found
    skip = set(env.key_files())
    if env.db_url.startswith("sqlite:///"):
        db_path = env.db_url[len("sqlite:///"):]
        skip |= {db_path, db_path + "-journal", db_path + "-wal"}
    found = needles.scan_tree(env.root, skip=skip)
    tally.leak_check("files: names and non-key contents", found, "tree")
    findings += found
    tally.core_debug_echoes += echoed
    # The audit logs exist and were scanned (a scan of nothing proves nothing).
    logs = [os.path.join(env.logs, n) for n in sorted(os.listdir(env.logs))] if os.path.isdir(env.logs) else []
    return findings, logs


def _bin(proc):
    return "rc=%s" % proc.returncode


@pytest.mark.parametrize("backend", ["sqlite"])
def test_playbooks_leak_nothing_verbose_debug_check_diff_and_failures(backend, request, tmp_path, tally):
    for name in DB_MODULES:
        if not module_exists(name):
            pytest.fail("plugins/modules/%s.py does not exist yet" % name)
    db_url = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    env = Environment(tmp_path / "env", db_url=db_url).build()
    extra_secrets = []
    if db_url:
        from urllib.parse import urlsplit, unquote
        extra_secrets.append(("database password", unquote(urlsplit(db_url).password)))
    temp = {"ANSIBLE_LOCAL_TEMP": str(tmp_path / "env" / "atmp-local"),
            "ANSIBLE_REMOTE_TMP": str(tmp_path / "env" / "atmp-remote")}
    runs = []
    problems = []

    def state():
        files = {}
        for base, _dirs, names in os.walk(env.root):
            if "atmp-" in base:
                continue
            for name in names:
                path = os.path.join(base, name)
                if not os.path.islink(path) and not name.startswith("ansible-"):
                    with open(path, "rb") as handle:
                        files[path] = handle.read()
        return webops_db.raw_digest(env.db_url), files

    def play(label, name, *args, expect_ok=True, traced=False, fault=None):
        check = "--check" in args
        before = state() if check else None
        started = time.monotonic()
        extra = {}
        if traced:
            extra = {"prefix": strace_prefix(str(tmp_path / "strace.log")), "umask": 0o000}
        proc, log = env.playbook(name, *args, env=dict(temp, **(fault or {})), **extra)
        runs.append((label, proc, log))
        env.remember_keys()
        if (proc.returncode == 0) != expect_ok:
            tail = [line for line in proc.stdout.splitlines() if "msg:" in line or "FAILED" in line][-3:]
            problems.append("%s: rc=%s, expected %s (%.0fs): %s" % (
                label, proc.returncode, "success" if expect_ok else "failure", time.monotonic() - started,
                " | ".join(t.strip()[:200] for t in tail)))
        if check:
            after = state()
            changed = [p for p in set(before[1]) | set(after[1]) if before[1].get(p) != after[1].get(p)]
            if before[0] != after[0] or changed:
                problems.append("%s is not a dry run: database %s, files changed: %s" % (
                    label, "changed" if before[0] != after[0] else "unchanged",
                    ", ".join(sorted(os.path.relpath(p, env.root) for p in changed))))
        return proc

    play("setup --check --diff", "setup_encryption.yml", "--check", "--diff")
    play("setup --diff", "setup_encryption.yml", "--diff")
    play("rotate --check --diff", "rotate_keys.yml", "--check", "--diff")
    if backend == "sqlite":
        play("rotate failing after step 5", "rotate_keys.yml", "--diff", expect_ok=False,
             fault=fault_environ(ROTATION_STEP_END[5]))
        # The resumed rotation runs under strace with umask 000: every file created where keys live
        # (the .env directory, its backups, the vault, the logs) must never exist wider than 0600.
        play("rotate resumed --diff (umask 000, strace)", "rotate_keys.yml", "--diff", traced=True)
        wide = wide_files(str(tmp_path / "strace.log"), [env.opt, env.group_vars, env.logs, env.backups])
        created = created_files(str(tmp_path / "strace.log"), [env.opt, env.group_vars])
        tally.leak_check("permissions: rotate_keys.yml under umask 000 (strace)", ["%s %s %s" % w for w in wide])
        if not created:
            problems.append("strace saw no file created in the .env or vault directories: the observer failed")
        for path, how, mode in wide:
            problems.append("%s was %s with mode %s under umask 000" % (os.path.relpath(path, env.root), how, mode))
        play("encrypt --check --diff", "encrypt_secrets.yml", "--check", "--diff")
        play("backup", "backup_keys.yml")
        play("recover report only", "recover_lost_key.yml", "--check")
    else:
        play("rotate --diff", "rotate_keys.yml", "--diff")
    # A failure path with a key in play: the .env key is replaced by a stranger, verify must fail.
    from ansible_collections.webops.encryption.plugins.module_utils import _dotenv as dotenv, fernet
    stranger = fernet.generate_key()
    env.keys.append(stranger)
    text = dotenv.read_env_file(env.env_file)
    good = text.get("ENCRYPTION_KEY")
    text.set("ENCRYPTION_KEY", stranger)
    dotenv.write_atomic(env.env_file, text.render())
    play("verify with a stranger key", "verify_keys.yml", expect_ok=False)
    text.set("ENCRYPTION_KEY", good)
    dotenv.write_atomic(env.env_file, text.render())

    findings, logs = _scan_everything(env, runs, tally, extra_secrets)
    assert len(env.keys) >= 3, "the rotation did not make a new key"
    assert logs, "no audit log was written"
    # The evidence (beside the directory inventory, one directory per environment) was scanned with the
    # tree: a record and its report per real rotate_keys and verify_keys run, failed ones included.
    evidence = os.path.join(os.path.dirname(env.inventory), "evidence", os.path.basename(env.inventory))
    evidence_files = [os.path.join(evidence, n) for n in sorted(os.listdir(evidence))] if os.path.isdir(evidence) else []
    records = [p for p in evidence_files if p.endswith(".json")]
    if len(records) != (3 if backend == "sqlite" else 2) or len(evidence_files) != 2 * len(records):
        problems.append("evidence: expected a record and a report per real rotate/verify run, found %s"
                        % [os.path.basename(p) for p in evidence_files])
    if evidence_files and os.stat(evidence).st_mode & 0o777 != 0o700:
        problems.append("the evidence directory is %o" % (os.stat(evidence).st_mode & 0o777))
    # Every file that holds a key or an audit line: 0600, owned by the user running the play
    # (webops_owner is '' in this environment, so the files keep the runner's ownership).
    for path in env.key_files() + [os.path.join(env.logs, n) for n in os.listdir(env.logs)] + evidence_files + \
            [os.path.join(env.backups, n) for n in os.listdir(env.backups) if n.endswith(".jsonl")]:
        st = os.stat(path)
        if st.st_mode & 0o777 != 0o600 or st.st_uid != os.getuid():
            problems.append("%s is %o owned by uid %d" % (os.path.relpath(path, env.root), st.st_mode & 0o777, st.st_uid))
    for problem in problems:
        tally.finding(problem)
    assert findings == []
    assert problems == []


def _module_playbook(path, env_file, short=False):
    """Every database module, each in normal, check and failing forms (ignore_errors keeps going)."""
    tasks = []
    common = {"database_url": "{{ db_url }}", "batch_size": 5}
    calls = [
        ("fernet_audit", {"keys": {"current": "{{ key_a }}"}}),
        ("fernet_audit", {"keys": {"current": "{{ key_b }}"}, "fail_on_unknown": True}),
        ("fernet_audit", {"env_file": env_file, "fail_on_keys": ["current"]}),
        ("fernet_encrypt", {"key": "{{ key_a }}"}),
        ("fernet_encrypt", {"key": "{{ key_b }}", "other_keys": ["{{ key_c }}"]}),
        ("fernet_encrypt", {"key": "{{ key_bad }}"}),
        ("fernet_rotate", {"new_key": "{{ key_b }}", "old_keys": ["{{ key_c }}"]}),
        ("fernet_rotate", {"new_key": "{{ key_a }}", "old_keys": ["{{ key_a }}"]}),
        ("fernet_rotate", {"new_key": "{{ key_bad }}", "old_keys": ["{{ key_a }}"]}),
        ("fernet_rotate", {"new_key": "{{ key_b }}", "old_keys": ["{{ key_a }}"], "encrypt_plaintext": True}),
        ("fernet_rotate", {"new_key": "{{ key_b }}", "old_keys": ["{{ key_a }}"]}),
        ("fernet_recover", {"key": "{{ key_c }}", "export_path": "{{ export_path }}"}),
        ("fernet_recover", {"key": "{{ key_c }}", "export_path": "{{ export_path }}", "confirm": True}),
        ("fernet_audit", {"keys": {"current": "{{ key_b }}", "old": "{{ key_a }}"}, "database_url": "{{ bad_db_url }}"}),
        # Discovery: every path that reports keys and findings (success, a refusal naming rows, a bad key).
        ("fernet_discover", {"keys": {"current": "{{ key_b }}", "old": "{{ key_a }}"}}),
        ("fernet_discover", {"env_file": env_file, "fail_on_keys": ["current"], "fail_on_unknown": True}),
        ("fernet_discover", {"keys": {"current": "{{ key_bad }}"}}),
    ]
    if short:
        # PostgreSQL: the calls whose output could carry the URL's password (success, refusal, no connection).
        calls = [calls[0], calls[6], calls[9], calls[13]]
    for index, (module, args) in enumerate(calls):
        merged = dict(common)
        merged.update(args)
        for mode in ("check", "real"):
            task = {"name": "%s #%d (%s)" % (module, index, mode), "webops.encryption.%s" % module: merged,
                    "ignore_errors": True, "diff": True}
            if mode == "check":
                task["check_mode"] = True
            tasks.append(task)
    with open(path, "w") as handle:
        yaml.safe_dump([{"name": "Every database module, verbose", "hosts": "localhost", "connection": "local", "gather_facts": False,
                         "vars_files": ["keys.yml"], "tasks": tasks}], handle, sort_keys=False)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_database_modules_leak_nothing_on_any_path(backend, request, tmp_path, tally):
    for name in DB_MODULES:
        if not module_exists(name):
            pytest.fail("plugins/modules/%s.py does not exist yet" % name)
    db_url = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    env = Environment(tmp_path / "env", db_url=db_url).build()
    from ansible_collections.webops.encryption.plugins.module_utils import fernet
    key_b, key_c = fernet.generate_key(), fernet.generate_key()
    env.keys += [key_b, key_c]
    bad_key = os.urandom(32).hex()  # a hex key: refused, and must not be echoed either
    bad_db_url = env.db_url.replace("sqlite:///", "sqlite:////nonexistent") if backend == "sqlite" \
        else env.db_url.replace("@", "x@", 1)
    write_vars(tmp_path / "keys.yml", {"key_a": env.keys[0], "key_b": key_b, "key_c": key_c, "key_bad": bad_key,
                                       "db_url": env.db_url, "bad_db_url": bad_db_url,
                                       "export_path": os.path.join(env.backups, "unreadable.jsonl")})
    book = tmp_path / "modules.yml"
    _module_playbook(str(book), env.env_file, short=backend == "postgresql")
    proc, log = run_debug_playbook(book, tmp_path, extra_args=["--diff"], env={
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "env" / "atmp-local"), "ANSIBLE_REMOTE_TMP": str(tmp_path / "env" / "atmp-remote"),
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable}, inventory="localhost,")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    # Both kinds of path ran: the successes (whose -vvvv invocation echoes every option that is
    # not no_log) and the failures. A play whose tasks all failed early would prove nothing.
    recap = re.search(r"ok=(\d+)\s+changed=(\d+).*?failed=(\d+).*?ignored=(\d+)", proc.stdout.split("PLAY RECAP")[-1])
    ok_count, ignored = int(recap.group(1)), int(recap.group(4))
    assert ok_count >= (4 if db_url else 14) and ignored >= (4 if db_url else 10), recap.group(0)
    extra = [("hex key", bad_key)]
    if db_url:
        from urllib.parse import urlsplit, unquote
        extra.append(("database password", unquote(urlsplit(db_url).password)))
    findings, _logs = _scan_everything(env, [("modules -vvvv debug", proc, log)], tally, extra)
    assert findings == []
    if backend == "sqlite":
        # fernet_recover ran with confirm=true: its export of unreadable values exists and is 0600.
        export = os.path.join(env.backups, "unreadable.jsonl")
        modes = [] if not os.path.exists(export) else [os.stat(export).st_mode & 0o777]
        tally.leak_check("permissions: fernet_recover export file", [] if modes == [0o600] else ["export %s" % modes])
        assert modes == [0o600], "the recovery export is missing or not 0600: %s" % modes
