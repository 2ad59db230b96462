# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hardening suite: the tally every test feeds, and the table printed at the end.

Each test records what it did *before* it asserts, so a failing test still shows
up in the figures (a fault injected but not survived, an input not rejected cleanly,
a leak found). The table is printed in the terminal summary and the latest figures
are written to /tmp/hardening-report.md, the figures the contributor guide quotes.

The suite's own helpers are the ``hardening.harness`` package beside this file (importable
because pytest.ini puts ``tests`` on the import path, like the shared ``support`` package).
"""

import datetime
import os
import re

import pytest

REPORT_PATH = os.environ.get("HARDENING_REPORT", "/tmp/hardening-report.md")


class Tally:
    """Counts per category; `detail` keeps one line per failure for the report."""

    def __init__(self):
        self.faults = {}     # kind -> [injected, survived]
        self.inputs = {}     # kind -> [tried, rejected_cleanly]
        self.leaks = {}      # surface -> [checks, leaks_found]
        self.failures = []
        self.notes = []
        self.core_debug_echoes = 0

    @staticmethod
    def _bump(table, kind, ok):
        row = table.setdefault(kind, [0, 0])
        row[0] += 1
        if ok:
            row[1] += 1

    def fault(self, kind, survived, what=""):
        self._bump(self.faults, kind, survived)
        if not survived:
            self.failures.append("fault %s not survived: %s" % (kind, what))

    def input(self, kind, rejected_cleanly, what=""):
        self._bump(self.inputs, kind, rejected_cleanly)
        if not rejected_cleanly:
            self.failures.append("input %s not handled cleanly: %s" % (kind, what))

    def finding(self, text):
        self.failures.append(text)

    def note(self, text):
        if text not in self.notes:
            self.notes.append(text)

    def leak_check(self, surface, leaks, what=""):
        row = self.leaks.setdefault(surface, [0, 0])
        row[0] += 1
        row[1] += len(leaks)
        for leak in leaks:
            self.failures.append("leak on %s: %s %s" % (surface, what, leak))

    @staticmethod
    def _sum(table):
        return [sum(row[0] for row in table.values()), sum(row[1] for row in table.values())]

    def grouped_lines(self):
        """The per-kind rows folded into families (e.g. every 'token:...' input), for the README."""
        out = ["| category | family | tried | ok / found |", "|---|---|---:|---:|"]
        for title, table in (("fault", self.faults), ("input", self.inputs), ("leak scan", self.leaks)):
            families = {}
            for kind, (tried, ok) in table.items():
                family = re.split(r"[:#@(\[]", kind)[0].strip() or kind
                row = families.setdefault(family, [0, 0])
                row[0] += tried
                row[1] += ok
            for family in sorted(families):
                out.append("| %s | %s | %d | %d |" % (title, family, families[family][0], families[family][1]))
        return out

    def lines(self):
        faults, inputs, leaks = self._sum(self.faults), self._sum(self.inputs), self._sum(self.leaks)
        out = [
            "| check | tried | result |",
            "|---|---:|---|",
            "| faults injected / survived | %d | %d survived |" % (faults[0], faults[1]),
            "| hostile inputs tried / handled cleanly | %d | %d handled |" % (inputs[0], inputs[1]),
            "| leak checks run / leaks found | %d | %d leaks |" % (leaks[0], leaks[1]),
            "",
            "| category | kind | tried | ok / found |",
            "|---|---|---:|---:|",
        ]
        for title, table in (("fault", self.faults), ("input", self.inputs), ("leak scan", self.leaks)):
            for kind in sorted(table):
                out.append("| %s | %s | %d | %d |" % (title, kind, table[kind][0], table[kind][1]))
        return out


TALLY = Tally()


@pytest.fixture
def tally():
    return TALLY


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not (TALLY.faults or TALLY.inputs or TALLY.leaks):
        return
    lines = TALLY.lines()
    terminalreporter.section("hardening report")
    for line in lines:
        terminalreporter.write_line(line)
    if TALLY.core_debug_echoes:
        TALLY.note("ansible-core's own ANSIBLE_DEBUG line 'done with _execute_module (MODULE, ARGS)' printed raw module "
                   "arguments, keys included, %d times in this run (ansible/plugins/action/__init__.py; ansible-core "
                   "documents that debug output ignores no_log, config DEFAULT_DEBUG). These lines are excluded from "
                   "the leak scan and counted here; no collection can mask them: never set ANSIBLE_DEBUG in production."
                   % TALLY.core_debug_echoes)
    for note in TALLY.notes:
        terminalreporter.write_line("note: " + note)
    if TALLY.failures:
        terminalreporter.write_line("")
        terminalreporter.write_line("findings:")
        for line in TALLY.failures[:60]:
            terminalreporter.write_line("  - " + line)
    stats = terminalreporter.stats
    summary = ", ".join("%d %s" % (len(stats.get(k, [])), k) for k in ("passed", "failed", "error", "skipped")
                        if stats.get(k))
    with open(REPORT_PATH, "w") as handle:
        handle.write(README_TEXT)
        handle.write("\n### Latest figures\n\n")
        handle.write("`pytest tests/hardening` on %s UTC: %s.\n\n"
                     % (datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"), summary))
        handle.write("\n".join(lines[:5]) + "\n\n" + "\n".join(TALLY.grouped_lines()) + "\n")
        for note in TALLY.notes:
            handle.write("\nNote: %s\n" % note)
        if TALLY.failures:
            handle.write("\nFindings of this run:\n\n")
            for line in TALLY.failures[:60]:
                handle.write("- %s\n" % line)
        mutations = os.environ.get("HARDENING_MUTATIONS", "/tmp/hardening-mutations.md")
        if os.path.exists(mutations):
            with open(mutations) as table:
                handle.write("\n### Mutation check\n\n" + table.read())


README_TEXT = """## Hardening: faults, hostile input and secret leaks

`tests/hardening/` tries to break the collection the way production will: it kills rotations,
cuts database connections, fills the disk under the `.env`, feeds hostile keys, tokens, values,
identifiers and URLs, and scans every output for keys and secrets. Everything is real: a
throwaway PostgreSQL 15 cluster, SQLite files, the module files run with Ansible's own argument
file, and `ansible-playbook` against a local environment built like `examples/inventories/demo`.

    make hardening            # or: .venv/bin/python -m pytest tests/hardening
    HARDENING_SEED=123 ...    # replay the SIGKILL loop's random kill points (the seed is printed)

Needs root (tmpfs mounts, `chattr +i`, `runuser postgres`), `strace`, `e2fsprogs` (chattr) and
the PostgreSQL server binaries. A table of the figures is printed at the end of the run.

What it checks, and the rule each check enforces:

- **Faults** (after every fault the same command is re-run; every value must open to the
  plaintext it had before, compared through a digest of all plaintexts): SIGKILL of the
  rotating process group, held right after a random batch and at a random moment of the run
  that resumes it (at least 55 kill points, batch size 50, ~2,000 values, PostgreSQL and SQLite;
  after each kill every value must open with the old or the new key); `pg_terminate_backend`
  while a batch's UPDATE waits on a row the test holds locked;
  the database stopped between the preflight and the rotation, down at start, and crashed
  (immediate shutdown) mid-rotation; two rotations started at once (one must be refused with
  LockHeld); a token codec that corrupts one new token in 37 (its batch must never be
  committed); the `.env` on a full 64 KiB tmpfs, made immutable with `chattr +i`, and on a
  read-only remount, for `dotenv.write_atomic`, `env_file`, `fernet_key` and a whole
  `rotate_keys.yml` run (also with the database stopped by a callback plugin right before the
  "Re-encrypt" task); a codec call that fails halfway and a token body that is not
  block-aligned (the next calls must be unaffected).
- **Hostile input** (a clear error, nothing written): empty, short, long, hex, truncated,
  non-ASCII and mixed-alphabet keys; standard-base64 keys (accepted, reported `standard`); the
  old key equal to the new one (in either alphabet); a wrong old key; truncated, bit-flipped,
  garbage and forged-HMAC tokens (always `unknown`, never encrypted again; `on_unknown=fail`
  writes nothing); NULLs, a 1 MB value, unicode and binary-looking plaintexts; JSON credentials
  that are arrays, strings, numbers, nested objects or not JSON; SQL injection through table,
  column, pk and `where` (rejected before any SQL is built; the victim table survives);
  reserved-word identifiers (quoted, work); PostgreSQL roles whose passwords hold `@:/%#?&=+`,
  quotes, spaces and non-ASCII (percent-encoded in DATABASE_URL); a SQLite path with `%#? `;
  `.env` files with duplicates, `export` lines, a BOM, non-UTF-8 bytes (rejected), CRLF and no
  final newline (kept byte for byte); tokens the app still reads despite a stray newline,
  space or non-ASCII character (classified by the key that opens them: rotated back clean,
  never encrypted twice, never cleared by recovery); two keys sharing their signing or
  encryption half (refused, fingerprints named); a value ending in a newline through
  psycopg2's array literals; JSON credentials with numbers a float would change (`1e400`,
  20-digit fractions: every non-secret byte kept); BLOB, integer and real values in a token
  column (a message naming the row, nothing written); a SQLite unique index with an odd name;
  DATABASE_URL passwords with unencoded `/ ? # @` (refused with the fix, never shown) and the
  `database` every module result names (the URL with only the password masked); rotated
  tokens keep their original timestamps.
- **Leaks**: every playbook (setup, rotate, encrypt, verify, backup, recover) and every database
  module, with `-vvvv` and `ANSIBLE_DEBUG=1`, in check and diff mode and on failure paths;
  stdout, stderr, the Ansible log, the audit logs, every file name and every non-key file are
  searched for each key (url-safe and standard base64, with and without padding, the
  20-character prefix, hex) and each plaintext secret of the database, the Django SECRET_KEY and
  the database password. ansible-core's own `ANSIBLE_DEBUG` line that prints raw module
  arguments (documented by ansible-core to ignore `no_log`) is reported separately: never set
  `ANSIBLE_DEBUG` in production.
- **Permissions**: under umask 000, strace records every file created or re-moded where keys
  live (temp files of atomic writes, backups, the vault, logs): none may ever exist wider than
  0600, and files end up owned as configured.
- **Mutation check**: `tests/hardening/harness/mutate.py` weakens one safety at a time in a
  scratch copy (`/tmp/mut`) and shows which test fails.
"""
