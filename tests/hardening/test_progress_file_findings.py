# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A ``progress_file`` the user gives is never overwritten or removed: an existing path is refused
before anything runs, and a file that appears there while the module runs is left as it is. Real
files, the module file run as Ansible runs it, a real SQLite database."""

import os

from ansible_collections.webops.encryption.plugins.module_utils import fernet
from ansible_collections.webops.encryption.plugins.module_utils._progress import Progress

from hardening.harness.modules import run_module
from support import webops_db

PRECIOUS = "the user's own file, not to be touched\n"


def test_an_existing_progress_file_is_refused_and_kept(sqlite_url, tmp_path, tally):
    key = fernet.generate_key()
    webops_db.create_schema(sqlite_url)
    webops_db.seed(sqlite_url, key, users=3)
    mine = tmp_path / "notes.txt"
    mine.write_text(PRECIOUS)
    raw = webops_db.raw_digest(sqlite_url)
    result, proc = run_module("fernet_rotate", {"database_url": sqlite_url, "new_key": fernet.generate_key(), "old_keys": [key],
                                                "progress_file": str(mine)}, tmp_path)
    msg = (result or {}).get("msg", "")
    kept = mine.exists() and mine.read_text() == PRECIOUS
    ok = bool(result) and result.get("failed") is True and "already exists" in msg and kept \
        and webops_db.raw_digest(sqlite_url) == raw
    tally.input("progress_file naming an existing file", ok, msg[:160])
    assert ok, (msg, kept, proc.stderr[-500:])


def test_a_file_that_appears_at_the_path_while_the_module_runs_is_never_replaced_or_removed(tmp_path):
    path = tmp_path / "progress.json"
    progress = Progress(str(path))
    # The path was free when the module checked it; someone puts a file there before the first write.
    path.write_text(PRECIOUS)
    progress("core_webhook", "secret", 10, 20)
    progress("core_webhook", "secret", 20, 20)
    progress.close()
    assert path.read_text() == PRECIOUS
    assert sorted(os.listdir(str(tmp_path))) == ["progress.json"]


def test_the_file_the_module_created_is_written_and_removed(tmp_path):
    path = tmp_path / "progress.json"
    progress = Progress(str(path))
    progress("core_webhook", "secret", 20, 20)
    assert path.exists()
    progress("core_webhook", "secret", 20, 20)
    progress.close()
    assert os.listdir(str(tmp_path)) == []
