# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""The pipeline of a writing run: the main thread reads batches a few ahead; worker processes
(a fork pool, or inline when workers == 1) run the jobs over chunks of each batch; a committer
thread, on a second connection, writes each verified batch in one transaction guarded by the old
value, in key order. run() puts it together: lock, scan, refuse, widen, write."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import queue
import signal
import threading
import time

try:
    import multiprocessing
except ImportError:  # pragma: no cover
    multiprocessing = None

from ansible_collections.webops.encryption.plugins.module_utils._engine.arguments import prepare
from ansible_collections.webops.encryption.plugins.module_utils._engine.errors import ColumnTooNarrow, EngineError, VerificationError
from ansible_collections.webops.encryption.plugins.module_utils._engine.jobs import FamilyUnverified
from ansible_collections.webops.encryption.plugins.module_utils._engine.results import column_result, note_id
from ansible_collections.webops.encryption.plugins.module_utils._engine.scan import pooled_scan, widen_columns, width_problems
from ansible_collections.webops.encryption.plugins.module_utils.columns import KEYED_BY_ENCRYPTION_KEY

MIN_CHUNK = 50
# How long a worker may take over one chunk before the run gives up (it is milliseconds normally).
WORKER_TIMEOUT = 600
WORKER_POLL = 2
# Batches read and handed to the workers ahead of the one being written, and batches the
# committer may hold: together they bound memory at a few batches.
BATCHES_AHEAD = 2

# The jobs of the running pool (see Runner): what a forked worker runs.
_STATE = {}


def _work(args):
    name, values, json_pattern = args
    return _STATE["jobs"][name].process(values, json_pattern)


def _worker_init():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Die with the parent: a SIGKILLed run must not leave workers behind.
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


class Runner:
    """Runs jobs over chunks of a batch, in a fork pool or inline (workers == 1)."""

    def __init__(self, jobs, workers):
        self.jobs = jobs
        self.workers = workers
        self.pool = None
        # Chunks handed to the pool and not collected yet (close() lets them come back).
        self.in_flight = set()
        # False once a worker died or hung: its chunk never comes back.
        self.healthy = True
        if workers > 1:
            # Set before the fork: the workers inherit the keys, nothing secret is pickled.
            _STATE["jobs"] = jobs
            self.pool = multiprocessing.get_context("fork").Pool(workers, initializer=_worker_init)

    def submit(self, name, values, json_pattern):
        if self.pool is None:
            return [(0, self.jobs[name].process(values, json_pattern))], False
        # Chunks below a few dozen rows cost more to ship than to crunch.
        size = max(-(-len(values) // self.workers), MIN_CHUNK)
        parts = [(start, self.pool.apply_async(_work, ((name, values[start:start + size], json_pattern),)))
                 for start in range(0, len(values), size)]
        self.in_flight.update(result for _start, result in parts)
        return parts, True

    def collect(self, handle):
        """Merge the chunks' (writes, counts, unknown_indexes, extra) with indexes made batch-relative."""
        parts, pooled = handle
        if not pooled:
            return parts[0][1]
        writes, unknown, counts, extra = [], [], {}, 0
        for start, result in parts:
            part_writes, part_counts, part_unknown, part_extra = self._wait(result)
            self.in_flight.discard(result)
            writes.extend((start + index, new) for index, new in part_writes)
            unknown.extend(start + index for index in part_unknown)
            for category, count in part_counts.items():
                counts[category] = counts.get(category, 0) + count
            extra = max(extra, part_extra)
        return writes, counts, unknown, extra

    def _wait(self, result):
        # A worker that dies takes its chunk with it and the pool quietly replaces it: poll,
        # and give up as soon as the set of worker processes changes instead of waiting it out.
        workers = set(process.pid for process in self.pool._pool)  # pylint: disable=protected-access
        deadline = time.time() + WORKER_TIMEOUT
        while True:
            try:
                return result.get(WORKER_POLL)
            except multiprocessing.TimeoutError:
                if set(process.pid for process in self.pool._pool) != workers:  # pylint: disable=protected-access
                    self.healthy = False
                    raise EngineError("a worker process died; nothing of this batch was written")
                if time.time() > deadline:
                    self.healthy = False
                    raise EngineError("a worker process did not answer within %d s; nothing of this batch was written"
                                      % WORKER_TIMEOUT)

    def stream(self, db, prepared, name, batch_size):
        """Yield (position in ``prepared``, pks, values, outcome of job ``name``) for every batch of
        every column, in key order. Reading runs BATCHES_AHEAD batches ahead of the caller, across
        column boundaries, so the workers always have the next batches while one is written."""
        pending = collections.deque()
        for position, (spec, info) in enumerate(prepared):
            pattern = spec.json_re.pattern if spec.is_json else None
            for rows in db.iter_batches(spec, info, batch_size):
                values = [row[1] for row in rows]
                try:
                    handle = self.submit(name, values, pattern)
                except FamilyUnverified as exc:  # inline (workers == 1): the job ran here
                    raise exc.for_column(spec)
                pending.append((position, [row[0] for row in rows], values, handle))
                if len(pending) > BATCHES_AHEAD:
                    yield self._collected(prepared, pending.popleft())
        while pending:
            yield self._collected(prepared, pending.popleft())

    def _collected(self, prepared, item):
        position, pks, values, handle = item
        try:
            return position, pks, values, self.collect(handle)
        except FamilyUnverified as exc:
            raise exc.for_column(prepared[position][0])
        except VerificationError as exc:
            raise VerificationError("%s in %s: that batch was not written (batches before it are complete and every row "
                                    "still opens with one of the keys); do not drop any key, and report this"
                                    % (exc, prepared[position][0].name))

    def close(self):
        if self.pool is not None:
            # A run that stops early (an error, a dropped connection) still has chunks in the
            # workers. terminate() kills the workers, and one killed while it hands back a result
            # holds the result queue's lock for good: terminate() then waits on that lock forever.
            # So the chunks come back first (milliseconds), unless a worker died or hung.
            try:
                for result in list(self.in_flight):
                    if not self.healthy:
                        break
                    try:
                        self._wait(result)
                    except Exception:  # pylint: disable=broad-exception-caught  # the run failed already; only draining
                        pass
            finally:
                # Even when the wait is interrupted (Ctrl-C): no worker outlives the run.
                self.in_flight.clear()
                self.pool.terminate()
                self.pool.join()
                self.pool = None
        _STATE.clear()


class RunSettings:
    """What run() is to do: the scan and write jobs, ``check_tallies(tallies)`` (raises to refuse
    the scan's findings), ``scan_counts(tally)`` (a column's result in check mode), and the run's
    knobs. ``widened``: a list to widen too-narrow columns (before the write pass) and record them
    in; None refuses them. ``keyed_by``: the columns of ``specs`` the run works on (those keyed by it)."""

    __slots__ = ("scan_job", "write_job", "check_tallies", "scan_counts", "batch_size", "workers", "check_mode",
                 "progress", "scan_progress", "widened", "keyed_by")

    def __init__(self, scan_job, write_job, check_tallies, scan_counts, batch_size, workers, check_mode=False,
                 progress=None, scan_progress=None, widened=None, keyed_by=KEYED_BY_ENCRYPTION_KEY):
        self.scan_job = scan_job
        self.write_job = write_job
        self.check_tallies = check_tallies
        self.scan_counts = scan_counts
        self.batch_size = batch_size
        self.workers = workers
        self.check_mode = check_mode
        self.progress = progress
        self.scan_progress = scan_progress
        self.widened = widened
        self.keyed_by = keyed_by


def run(db, specs, settings):
    """Lock, scan, refuse bad data, then (unless check mode) write, as ``settings`` (a RunSettings)
    says. Returns the column results."""
    scan_job, write_job, batch_size, check_mode = settings.scan_job, settings.write_job, settings.batch_size, settings.check_mode
    scan_progress, widened = settings.scan_progress, settings.widened
    with db.lock():
        prepared = prepare(db, specs, settings.keyed_by)
        runner = Runner({"scan": scan_job, "write": write_job}, settings.workers)
        try:
            # Counting the rows first costs one query per column; only a progress report needs it.
            totals = [db.count_rows(spec) for spec, _info in prepared] if scan_progress is not None else None
            if totals is not None and hasattr(scan_progress, "plan"):
                # The whole job for the progress lines: the scan, then (unless check mode) the writes.
                scan_progress.plan(totals, 1 if check_mode else 2)
            tallies = pooled_scan(db, prepared, runner, batch_size, scan_progress, totals)
            settings.check_tallies(tallies)
            problems = width_problems(tallies)
            if problems and widened is None:
                raise ColumnTooNarrow(problems)
            if problems:
                widened.extend(widen_columns(db, tallies, check_mode))
            if check_mode:
                return [settings.scan_counts(tally) for tally in tallies]
            written = write_pass(db, prepared, runner, batch_size, settings.progress, [tally.rows for tally in tallies])
            return [column_result(spec, counts, write_job.result_fields, write_job.keyed_by_result)
                    for (spec, _info), counts in zip(prepared, written)]
        finally:
            runner.close()


def write_pass(db, prepared, runner, batch_size, progress=None, totals=None):
    """Stream every column through the write job; each batch is one transaction, committed in
    order by the committer while the next batches are read and crunched."""
    columns = [ColumnWriter(spec, info, runner.jobs["write"], progress) for spec, info in prepared]
    for column, total in zip(columns, totals or ()):
        column.total = total
    with Committer(db) as committer:
        for position, pks, values, outcome in runner.stream(db, prepared, "write", batch_size):
            committer.put(columns[position], pks, values, outcome)
    return [column.result() for column in columns]


class Committer:
    """Writes batches in the order given, each in its own transaction, on a second connection
    and in a thread: the database's write work overlaps the reading of the next batches and the
    workers' crypto. The first error stops it; nothing queued after a failure is written, and
    the error is raised in the caller's thread."""

    def __init__(self, db):
        self.db = db
        self.queue = queue.Queue(maxsize=BATCHES_AHEAD)
        self.error = None
        self.abandoned = False
        self.thread = threading.Thread(target=self._run, name="webops-encryption-committer")
        self.thread.daemon = True

    def __enter__(self):
        self.connection = self.db.reopen()
        self.thread.start()
        return self

    def put(self, column, pks, values, outcome):
        while True:
            self._raise()
            try:
                self.queue.put((column, pks, values, outcome), timeout=WORKER_POLL)
                return
            except queue.Full:
                continue

    def _run(self):
        while True:
            item = self.queue.get()
            if item is None:
                return
            if self.error is not None or self.abandoned:
                continue
            column, pks, values, outcome = item
            try:
                column.write(self.connection, pks, values, outcome)
            except BaseException as exc:  # handed to the caller's thread by _raise()
                self.error = exc

    def _raise(self):
        if self.error is not None:
            raise self.error

    def __exit__(self, exc_type, exc_value, traceback):
        self.abandoned = exc_type is not None
        self.queue.put(None)
        self.thread.join()
        self.connection.close()
        if exc_type is None:
            self._raise()


class ColumnWriter:
    """Writes the outcome of one batch of one column and keeps the column's counts."""

    def __init__(self, spec, info, job, progress):
        self.spec, self.info, self.job, self.progress = spec, info, job, progress
        self.categories = job.categories
        self.total = None
        self.counts = dict.fromkeys(self.categories, 0)
        self.counts.update(rows=0, rows_written=0, conflicts=0)
        self.unknown_ids = []
        # Values of rows the guard left alone: in the total, in no category that says "written".
        self.unwritten = 0

    def write(self, db, pks, values, outcome):
        writes, part_counts, unknown, _extra = outcome
        counts = self.counts
        counts["rows"] += len(pks)
        for category, count in part_counts.items():
            counts[category] += count
        for index in unknown:
            note_id(self.unknown_ids, pks[index])
        if writes:
            rows = [(pks[index], values[index], new) for index, new in writes]
            written = db.update_batch(self.spec, self.info, rows)
            counts["rows_written"] += written
            # The guard left alone rows that changed since they were read; the next run takes them.
            counts["conflicts"] += len(rows) - written
            if written < len(rows):
                self._uncount(db, rows)
        if self.progress is not None:
            self.progress(self.spec.table, self.spec.column, counts["rows"], self.total)

    def _uncount(self, db, rows):
        """Take the values of the rows not written out of the categories that say they were (rotated,
        encrypted): a row holding its new value now was written, any other was not."""
        now = db.stored_values(self.spec, self.info, [pk for pk, _old, _new in rows])
        for pk, old, new in rows:
            if now.get(pk) == new:
                continue
            for category in self.job.written_categories(old, self.spec.json_re.search if self.spec.is_json else None):
                self.counts[category] -= 1
                self.unwritten += 1

    def result(self):
        self.counts["total"] = sum(self.counts[c] for c in self.categories) + self.unwritten
        self.counts["unknown_ids"] = self.unknown_ids
        return self.counts
