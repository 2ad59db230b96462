# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Progress of the database work: the line format, per-column time and rate, the status file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat

from ansible_collections.webops.encryption.plugins.module_utils._progress import Progress, format_line


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_the_line_names_the_column_counts_percent_rate_and_eta():
    line = format_line({"table": "core_webhook", "column": "secret", "done": 2500, "total": 10000, "seconds": 2.0})
    assert line == "core_webhook.secret: 2500/10000 (25%) 1250 rows/s, ETA 6s"


def test_each_column_gets_the_time_spent_on_it_over_both_passes(tmp_path):
    clock = Clock()
    path = str(tmp_path / "progress.json")
    progress = Progress(path, clock=clock)
    clock.now = 101.0
    progress("a", "x", 100, 200)          # scan of a.x: 1 s
    clock.now = 102.0
    progress("a", "x", 200, 200)          # 1 s more
    status = json.load(open(path))
    assert status["done"] == 200 and status["seconds"] == 2.0
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    clock.now = 103.0
    progress("a", "x", 200, 200)          # the write pass starts again (done did not grow): 1 s
    status = json.load(open(path))
    assert status["seconds"] == 1.0
    clock.now = 107.0
    progress("b", "y", 50, 50)            # 4 s
    columns = progress.add_timings([{"table": "a", "column": "x", "rows": 200}, {"table": "b", "column": "y", "rows": 50},
                                    {"table": "c", "column": "z", "rows": 0}])
    assert [(c["elapsed_seconds"], c["rows_per_second"]) for c in columns] == [(3.0, 66), (4.0, 12), (0.0, None)]
    progress.close()
    assert os.listdir(str(tmp_path)) == []


def test_each_line_names_its_phase_and_the_whole_jobs_figures(tmp_path):
    clock = Clock()
    path = str(tmp_path / "progress.json")
    progress = Progress(path, clock=clock)
    scan, write = progress.phase("scan"), progress.phase("write")
    scan.plan([100, 300], 2)                  # two columns, scanned then written: 800 rows of work
    clock.now = 102.0
    scan("a", "x", 100, 100)
    clock.now = 104.0
    scan("b", "y", 300, 300)
    status = json.load(open(path))
    assert (status["phase"], status["job_done"], status["job_total"]) == ("scan", 400, 800)
    clock.now = 105.0
    write("a", "x", 50, 100)
    clock.now = 110.0
    write("a", "x", 100, 100)
    status = json.load(open(path))
    assert (status["phase"], status["job_done"], status["job_seconds"]) == ("write", 500, 10.0)
    assert format_line(status) == ("write a.x: 100/100 (100%) 16 rows/s, ETA 0s; "
                                   "database step: 500/800 (62%) 50 rows/s, ETA 6s")
    progress.close()


def test_the_action_counts_the_check_pass_into_the_rotations_database_step():
    from ansible_collections.webops.encryption.plugins.plugin_utils._progress_action import _line
    status = {"phase": "scan", "table": "a", "column": "x", "done": 100, "total": 400, "seconds": 1.0,
              "job_done": 100, "job_total": 400, "job_passes": 1, "job_seconds": 1.0}
    line = _line("db1", json.dumps(status), {"label": "check", "passes_after": 0, "done_before": 800, "started": 0})
    assert line == ("db1: check a.x: 100/400 (25%) 100 rows/s, ETA 3s; "
                    "database step: 900/1200 (75%) 900 rows/s, ETA 0s")
    # The write task counts the check pass still to come.
    status.update(phase="write", job_total=800, job_passes=2, job_done=500, job_seconds=5.0)
    line = _line("db1", json.dumps(status), {"label": "", "passes_after": 1, "done_before": 0, "started": 0})
    assert line.endswith("; database step: 500/1200 (41%) 100 rows/s, ETA 7s"), line
