# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile input through the database modules themselves (the module files run for real):
each bad call must fail with a message, no traceback, no key or secret in the output, and
the database must be byte for byte what it was (webops_db.raw_digest)."""

import os

import pytest

from ansible_collections.webops.encryption.plugins.module_utils import fernet

from hardening.harness.modules import module_exists, run_module
from support import webops_db
from support.leaks import Needles


def _cases(key, new, env_file):
    hexkey = os.urandom(32).hex()
    return [
        ("rotate: old key == new key", "fernet_rotate", {"new_key": key, "old_keys": [key]}),
        ("rotate: wrong old key", "fernet_rotate", {"new_key": new, "old_keys": [fernet.generate_key()]}),
        ("rotate: hex new key", "fernet_rotate", {"new_key": hexkey, "old_keys": [key]}),
        ("rotate: empty new key", "fernet_rotate", {"new_key": "", "old_keys": [key]}),
        ("rotate: short old key", "fernet_rotate", {"new_key": new, "old_keys": [key[:20]]}),
        ("rotate: batch_size 0", "fernet_rotate", {"new_key": new, "old_keys": [key], "batch_size": 0}),
        ("rotate: table injection", "fernet_rotate",
         {"new_key": new, "old_keys": [key], "profile": "none",
          "columns": [{"table": "databases; DROP TABLE databases; --", "column": "password"}]}),
        ("rotate: where injection", "fernet_rotate",
         {"new_key": new, "old_keys": [key], "profile": "none",
          "columns": [{"table": "databases", "column": "password", "where": "true; DELETE FROM databases"}]}),
        ("rotate: missing table", "fernet_rotate",
         {"new_key": new, "old_keys": [key], "profile": "none", "columns": [{"table": "nope", "column": "password"}]}),
        ("encrypt: hex key", "fernet_encrypt", {"key": hexkey}),
        ("encrypt: table injection", "fernet_encrypt",
         {"key": key, "profile": "none", "columns": [{"table": "databases", "column": "password\" --"}]}),
        ("audit: fail_on_keys current", "fernet_audit", {"keys": {"current": key}, "fail_on_keys": ["current"]}),
        ("recover: no export_path", "fernet_recover", {"key": new, "confirm": True}),
        ("rotate: env_file without OLD_ENCRYPTION_KEY", "fernet_rotate", {"env_file": env_file}),
    ]


@pytest.fixture
def seeded(db_url, tmp_path):
    key = fernet.generate_key()
    webops_db.create_schema(db_url)
    webops_db.seed(db_url, key, users=6)
    env_file = tmp_path / ".env"
    env_file.write_text("DATABASE_URL=%s\nENCRYPTION_KEY=%s\n" % (db_url, key))
    os.chmod(str(env_file), 0o600)
    return db_url, key, str(env_file)


def test_database_modules_refuse_hostile_input_and_write_nothing(seeded, tmp_path, tally):
    db_url, key, env_file = seeded
    for name in ("fernet_rotate", "fernet_encrypt", "fernet_audit", "fernet_recover"):
        if not module_exists(name):
            pytest.fail("plugins/modules/%s.py does not exist yet" % name)
    new = fernet.generate_key()
    raw = webops_db.raw_digest(db_url)
    bad = []
    for label, module, args in _cases(key, new, env_file):
        call = dict(args)
        if "env_file" not in call:
            call["database_url"] = db_url
        for check in (True, False):
            result, proc = run_module(module, call, tmp_path, check=check, diff=True)
            needles = Needles().add_key("key", key).add_key("new", new)
            for value in call.get("old_keys", []) + [call.get("new_key") or ""]:
                if len(value) >= 8:
                    needles.add_plaintext("given key text", value)
            if "://" in db_url and "@" in db_url:
                needles.add_plaintext("database password", db_url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[-1])
            leaks = needles.scan(proc.stdout + proc.stderr, label)
            msg = (result or {}).get("msg", "")
            clean = bool(result) and result.get("failed") is True and len(msg) > 10 \
                and "Traceback" not in proc.stdout + proc.stderr and not leaks
            untouched = webops_db.raw_digest(db_url) == raw
            what = "%s%s" % (label, " (check mode)" if check else "")
            tally.input("module " + what, clean and untouched, msg[:140] or (proc.stderr[-200:] if proc else ""))
            tally.leak_check("database module failure output", leaks, what)
            if not (clean and untouched):
                bad.append("%s: failed=%s untouched=%s msg=%r leaks=%s stderr=%s" % (
                    what, (result or {}).get("failed"), untouched, msg[:200], leaks, proc.stderr[-300:]))
    assert bad == []


def test_database_modules_check_mode_is_a_true_dry_run_with_the_same_counts(seeded, tmp_path, tally):
    db_url, key, _env_file = seeded
    new = fernet.generate_key()
    raw = webops_db.raw_digest(db_url)
    args = {"database_url": db_url, "new_key": new, "old_keys": [key], "encrypt_plaintext": True, "batch_size": 4}
    dry = run_module("fernet_rotate", args, tmp_path, check=True, diff=True)[0]
    untouched = webops_db.raw_digest(db_url) == raw
    real = run_module("fernet_rotate", args, tmp_path)[0]
    again = run_module("fernet_rotate", args, tmp_path)[0]
    same = bool(dry and real) and dry.get("changed") is True and real.get("changed") is True and \
        dry["totals"]["rotated"] == real["totals"]["rotated"] and \
        dry["totals"]["rows_written"] == real["totals"]["rows_written"]
    idempotent = bool(again) and again.get("changed") is False and again["totals"]["rotated"] == 0
    tally.input("fernet_rotate check mode: dry run, same counts, idempotent", untouched and same and idempotent)
    assert untouched
    assert same, (dry and dry.get("totals"), real and real.get("totals"))
    assert idempotent, again
