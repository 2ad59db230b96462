# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A gate inside a database write, for tests that must act in the middle of a run.

The test locks one row (SELECT ... FOR UPDATE, in a transaction it keeps open) before the run
starts. The run commits every batch it writes before that row, then its UPDATE of the row waits
on the lock for as long as the test holds it: a point the run reaches and stays at, however busy
the machine is. ``wait_until_blocked`` returns once PostgreSQL shows a backend waiting on the
lock; the test then kills the run, cuts its connection or stops the server, and ``release``
lets go. PostgreSQL only: SQLite has no row locks.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from support import webops_db


class RowGate:
    def __init__(self, url, table, pk):
        self.url = url
        self.table = table
        self.pk = pk
        self.dbname = url.rsplit("/", 1)[1].split("?", 1)[0]
        self._holder = webops_db.Database(url)
        self._admin = webops_db.Database(url)
        self._admin.conn.autocommit = True
        row = self._holder.query("SELECT id FROM %s WHERE id = ? FOR UPDATE" % table, (pk,))
        assert row, "no row %s.id=%s to lock" % (table, pk)

    def blocked(self):
        """pids of the backends (other than the gate's) waiting on a lock in this database."""
        rows = self._admin.query(
            "SELECT pid FROM pg_stat_activity WHERE datname = ? AND wait_event_type = 'Lock' "
            "AND pid <> pg_backend_pid()", (self.dbname,))
        return [pid for (pid,) in rows]

    def wait_until_blocked(self, alive, timeout=600):
        """Block until a backend waits on the gate (True), or ``alive()`` turns false (False: the run
        ended without reaching the gated row). The waiting backend stays there until ``release``,
        so this cannot miss it; the timeout only bounds a run that hangs elsewhere."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.blocked():
                return True
            if not alive():
                return bool(self.blocked())
            time.sleep(0.05)
        raise AssertionError("the run neither reached %s.id=%s nor ended in %ss" % (self.table, self.pk, timeout))

    def terminate_blocked(self):
        """Cut the connection of every backend waiting on the gate (a dropped connection mid-write)."""
        pids = self.blocked()
        for pid in pids:
            self._admin.execute("SELECT pg_terminate_backend(?)", (pid,))
        return pids

    def release(self):
        """Let go of the row: a waiting UPDATE goes on (a killed run's backend then finds its client
        gone and ends, its transaction rolled back)."""
        if self._holder is not None:
            self._holder.conn.rollback()
            self._holder.close()
            self._holder = None

    def wait_gone(self, pids, timeout=60):
        """Wait until none of ``pids`` (backends of a killed run) is connected, so a re-run finds no
        advisory lock of the dead run. Once gone they stay gone: this cannot miss."""
        deadline = time.monotonic() + timeout
        while self._admin.query("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(?)", (list(pids),))[0][0]:
            assert time.monotonic() < deadline, "a backend of the killed run is still connected after %ss" % timeout
            time.sleep(0.05)

    def close(self):
        self.release()
        self._admin.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
