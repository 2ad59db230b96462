# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mutation check for the hardening suite: weaken one safety at a time in a scratch copy of the
repository and show which hardening test fails. Never touches the working tree.

    PYTHONPATH=tests .venv/bin/python -m hardening.harness.mutate [--scratch /tmp/mut] [--only NAME]

Each mutation is a literal text replacement (the script fails loudly if the text is not found,
so a refactor cannot silently turn a mutation into a no-op). Prints a table: mutation, the
tests run, and which of them failed ("caught") — a mutation no test catches is reported.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys

from support.paths import REPO

# name -> (file, old text, new text, what it weakens, pytest selection)
MUTATIONS = [
    ("verify-after-commit",
     "plugins/module_utils/_engine/jobs.py",
     "        if not self.target.reads_back(tokens, plaintexts):\n",
     "        if False:  # MUTATION: new tokens are no longer verified before their batch is committed\n",
     "a batch is written without proving each new token decrypts to the original plaintext",
     ["tests/hardening/test_faults.py::test_faulty_encryptor_never_commits_a_bad_token"]),
    ("drop-no_log-new_key",
     "plugins/modules/fernet_rotate.py",
     "new_key=dict(type=\"str\", no_log=True)",
     "new_key=dict(type=\"str\", no_log=False)",
     "fernet_rotate's new_key option loses no_log",
     ["tests/hardening/test_leaks.py::test_database_modules_leak_nothing_on_any_path"]),
    ("env-write-in-place",
     "plugins/module_utils/_dotenv.py",
     "    fd, tmp = tempfile.mkstemp(prefix=\".%s.\" % os.path.basename(target), suffix=\".tmp\", dir=directory)\n",
     "    fd, tmp = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), target  # MUTATION: not atomic\n",
     "the .env is rewritten in place instead of temp file + rename",
     ["tests/hardening/test_file_faults.py::test_write_atomic_fails_cleanly"]),
    ("temp-file-0644",
     "plugins/module_utils/_dotenv.py",
     "        os.fchmod(fd, stat.S_IMODE(mode))\n",
     "        os.fchmod(fd, 0o644)  # MUTATION: temp file world-readable until the end\n        os.fchmod(fd, stat.S_IMODE(mode)) if False else None\n",
     "the temp file holding the new .env is created world-readable",
     ["tests/hardening/test_permissions.py", "tests/hardening/test_key_modules.py::test_key_files_backups_and_temp_files_are_never_wider_than_0600"]),
    ("backup-default-mode",
     "plugins/module_utils/_keyfile.py",
     "        fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)\n",
     "        fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # MUTATION\n",
     ".env backups are created with the default mode and narrowed afterwards",
     ["tests/hardening/test_key_modules.py::test_key_files_backups_and_temp_files_are_never_wider_than_0600"]),
    ("no-run-lock",
     "plugins/module_utils/_db/_postgres.py",
     "        got = self.adapter._fetch(\"SELECT pg_try_advisory_lock(%s)\", (ADVISORY_LOCK_ID,))[0][0]\n",
     "        got = True  # MUTATION: no advisory lock\n",
     "two PostgreSQL rotations may run at once",
     ["tests/hardening/test_faults.py::test_two_rotations_at_once_one_is_refused"]),
    ("malformed-token-is-plaintext",
     "plugins/module_utils/fernet.py",
     "        data = decode_token(value)\n        if data is None:\n            return UNKNOWN, None\n",
     "        data = decode_token(value)\n        if data is None:\n            return PLAINTEXT, None  # MUTATION\n",
     "a token-shaped value that does not decode is classified plaintext (would be encrypted twice)",
     ["tests/hardening/test_hostile_keys.py"]),
    ("unknown-tokens-ignored",
     "plugins/module_utils/engine.py",
     "        if details and on_unknown == \"fail\":\n            raise UnknownTokens(details)\n",
     "        if False:  # MUTATION: on_unknown=fail no longer refuses before writing\n            raise UnknownTokens(details)\n",
     "rotation with a wrong old key or unknown tokens writes the rest before failing",
     ["tests/hardening/test_hostile_data.py::test_wrong_old_key_writes_nothing_and_names_rows",
      "tests/hardening/test_hostile_data.py::test_malformed_tokens_are_unknown_never_rewritten"]),
    ("export-lines-accepted",
     "plugins/module_utils/_dotenv.py",
     "            if stripped.startswith(\"export \") or stripped.startswith(\"export\\t\"):\n",
     "            if False:  # MUTATION: export lines accepted\n",
     "a .env with 'export ' lines is edited instead of refused",
     ["tests/hardening/test_dotenv_hostile.py"]),
    ("identifiers-unvalidated",
     "plugins/module_utils/columns.py",
     "    if not isinstance(name, str) or not _IDENTIFIER_RE.fullmatch(name) or len(name) > MAX_IDENTIFIER:\n",
     "    if not isinstance(name, str) or not name:  # MUTATION: any identifier text accepted\n",
     "table/column names from user input are no longer validated (still double-quoted)",
     ["tests/hardening/test_hostile_data.py::test_sql_injection_in_identifiers_is_rejected_and_victim_survives"]),
]


def copy_repo(scratch):
    if os.path.exists(scratch):
        shutil.rmtree(scratch)
    ignore = shutil.ignore_patterns(".venv", ".git", "__pycache__", ".pytest_cache", ".demo", ".tmp", "output",
                                    ".molecule", "*.sqlite3")
    shutil.copytree(REPO, scratch, symlinks=True, ignore=ignore)


def apply(scratch, path, old, new):
    full = os.path.join(scratch, path)
    with open(full) as handle:
        text = handle.read()
    if text.count(old) != 1:
        raise SystemExit("mutation target not found exactly once in %s: %r" % (path, old[:80]))
    with open(full, "w") as handle:
        handle.write(text.replace(old, new))


def run_tests(scratch, selection):
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "-rf"] + selection
    env = dict(os.environ, HARDENING_REPORT=os.path.join(scratch, "hardening-report.md"))
    proc = subprocess.run(argv, cwd=scratch, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=900, check=False)
    failed = sorted(set(re.findall(r"^FAILED (.+?)(?: - .*)?$", proc.stdout, re.M)))
    summary = [line for line in proc.stdout.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    return proc.returncode, failed, summary[-1] if summary else proc.stdout[-500:]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scratch", default="/tmp/mut")
    parser.add_argument("--only", action="append")
    parser.add_argument("--table", default="/tmp/hardening-mutations.md", help="write the markdown table here")
    args = parser.parse_args()
    if os.path.realpath(args.scratch).startswith(os.path.realpath(REPO)):
        raise SystemExit("the scratch copy must be outside the repository")
    rows = []
    chosen = [m for m in MUTATIONS if not args.only or m[0] in args.only]
    # Tests that already fail without any mutation (open findings) cannot count as catching one.
    copy_repo(args.scratch)
    selection = sorted(set(test for m in chosen for test in m[5]))
    _code, baseline, summary = run_tests(args.scratch, selection)
    print("baseline (unmutated copy): %s; already failing: %s" % (summary, ", ".join(baseline) or "none"), flush=True)
    for name, path, old, new, what, selection in chosen:
        copy_repo(args.scratch)
        apply(args.scratch, path, old, new)
        code, failed, summary = run_tests(args.scratch, selection)
        failed = [f for f in failed if f not in baseline]
        caught = code != 0 and bool(failed)
        rows.append((name, what, caught, failed, summary))
        print("%-30s %s  %s" % (name, "CAUGHT" if caught else "NOT CAUGHT", summary), flush=True)
        for test in failed:
            print("    failed: %s" % test, flush=True)
    table = ["| mutation | weakens | caught by (tests that fail only with the mutation) |", "|---|---|---|"]
    for name, what, caught, failed, summary in rows:
        table.append("| %s | %s | %s |" % (name, what, ", ".join(f.split("::")[-1] for f in failed) if caught else "NOT CAUGHT"))
    print()
    print("\n".join(table))
    if args.table:
        with open(args.table, "w") as handle:
            handle.write("\n".join(table) + "\n")
    shutil.rmtree(args.scratch, ignore_errors=True)
    return 0 if all(row[2] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
