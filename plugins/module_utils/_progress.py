# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""Progress of the database work: the engine's ``progress(table, column, done, total)`` callback,
per-column elapsed time and rate for the results, and a small status file (counts only, 0600)
the controller's action plugin reads while the module runs asynchronously."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

# The status file is rewritten at most this often (and whenever a column finishes).
WRITE_EVERY = 0.5


def rate_and_eta(done, total, seconds):
    """(rows per second, seconds left or None)."""
    rate = done / seconds if seconds > 0 else 0.0
    left = max(total - done, 0) if total is not None else None
    eta = (left / rate) if rate > 0 and left is not None else None
    return rate, eta


def _figures(done, total, seconds):
    """``<done>/<total> (<pct>%) <rate> rows/s, ETA <s>``."""
    rate, eta = rate_and_eta(done, total, seconds)
    pct = (100.0 * done / total) if total else 100.0
    return "%d/%s (%d%%) %d rows/s, ETA %s" % (
        done, total if total is not None else "?", min(pct, 100), rate, "%ds" % round(eta) if eta is not None else "?")


def format_line(status):
    """``<phase> <table>.<column>: <figures>; database step: <figures>``: the phase (scan, write,
    check) and column with their own figures, then the whole job's when its size is known."""
    line = "%s%s.%s: %s" % ("%s " % status["phase"] if status.get("phase") else "", status["table"], status["column"],
                            _figures(status["done"], status.get("total"), status.get("seconds", 0)))
    if status.get("job_total"):
        line += "; database step: %s" % _figures(status.get("job_done", 0), status["job_total"], status.get("job_seconds", 0))
    return line


class Progress:
    """The callback handed to the engine. Each call accounts the time since the previous call to
    that column (so a column's elapsed time is the wall time spent on it, scan and writes), and a
    call whose ``done`` does not grow starts a new pass over the column (scan, then write)."""

    def __init__(self, path=None, clock=time.time):
        self.path = path
        # Whether this run created ``path``: only then is it rewritten and, at the end, removed.
        self.created = False
        self.clock = clock
        self.last = clock()
        self.elapsed = {}
        self.current = None
        self.written = 0.0
        # The whole job: its passes (scan, then write) over every column, once plan() sizes it.
        self.started = self.last
        self.phase_name = None
        self.job_total = None
        self.job_passes = None
        self.done_before = 0
        self.phase_done = {}

    def plan(self, totals, passes):
        """The job is ``passes`` passes over columns of ``totals`` rows."""
        self.job_total = sum(total or 0 for total in totals) * passes
        self.job_passes = passes

    def phase(self, name):
        """The engine's callback for one phase (scan, write): each line then names it."""
        def report(table, column, done, total):
            if name != self.phase_name:
                self.done_before += sum(self.phase_done.values())
                self.phase_done = {}
                self.phase_name = name
            self.phase_done[(table, column)] = done
            self(table, column, done, total)
        report.plan = self.plan
        return report

    def __call__(self, table, column, done, total):
        now = self.clock()
        name = (table, column)
        self.elapsed[name] = self.elapsed.get(name, 0.0) + (now - self.last)
        current = self.current
        if current is None or current["name"] != name or done <= current["done"]:
            current = self.current = {"name": name, "started": self.last}
        current["done"] = done
        self.last = now
        if self.path and (now - self.written >= WRITE_EVERY or done >= (total or 0)):
            self.written = now
            status = {"table": table, "column": column, "done": done, "total": total,
                      "seconds": round(now - current["started"], 3), "updated": now}
            if self.phase_name:
                status["phase"] = self.phase_name
            if self.job_total:
                status.update(job_done=self.done_before + sum(self.phase_done.values()), job_total=self.job_total,
                              job_passes=self.job_passes, job_seconds=round(now - self.started, 3))
            self._write(status)

    def _write(self, status):
        tmp = "%s.%d.tmp" % (self.path, os.getpid())
        try:
            directory = os.path.dirname(self.path)
            if not os.path.isdir(directory):
                os.makedirs(directory, 0o700)  # Ansible's remote temporary directory
            if os.path.lexists(tmp):
                os.remove(tmp)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(status, handle)
            if self.created:
                os.rename(tmp, self.path)
            else:
                # link() never replaces: a file someone put there since the module started stays.
                try:
                    os.link(tmp, self.path)
                except OSError:
                    self.path = None
                    raise
                finally:
                    os.remove(tmp)
                self.created = True
        except (IOError, OSError):
            # Progress is a courtesy: it never fails the database work.
            pass

    def add_timings(self, columns):
        """Give every column result its elapsed time and rate (rows per second)."""
        for column in columns:
            seconds = self.elapsed.get((column["table"], column["column"]), 0.0)
            column["elapsed_seconds"] = round(seconds, 3)
            column["rows_per_second"] = int(column.get("rows", 0) / seconds) if seconds > 0 else None
        return columns

    def close(self):
        if self.path:
            for path in [self.path] * self.created + ["%s.%d.tmp" % (self.path, os.getpid())]:
                try:
                    os.remove(path)
                except OSError:
                    pass


def refuse_existing(path):
    """The message that refuses a ``progress_file`` that exists (a user's file is never overwritten
    or removed), or None."""
    if path and os.path.lexists(path):
        return ("progress_file %s already exists; give a path that does not exist (the module creates that file, "
                "writes its counts there and removes it at the end)" % path)
    return None
