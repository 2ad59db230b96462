# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The committer thread's contract: batches in order, on its own connection, and nothing after the first error."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading

import pytest

from ansible_collections.webops.encryption.plugins.module_utils import engine
from ansible_collections.webops.encryption.plugins.module_utils._engine.pipeline import Committer


class Connection:
    def __init__(self):
        self.closed = False

    def close(self):
        self.closed = True


class Database:
    """Only what the committer asks of an adapter: a second connection."""

    def __init__(self):
        self.connections = []

    def reopen(self):
        self.connections.append(Connection())
        return self.connections[-1]


class Column:
    """Records each batch it is asked to write, and the thread and connection that wrote it."""

    def __init__(self, fail_on=None):
        self.written = []
        self.fail_on = fail_on

    def write(self, connection, pks, values, outcome):
        if pks[0] == self.fail_on:
            raise engine.DatabaseError("connection lost: run again")
        self.written.append((pks[0], connection, threading.current_thread().name))


def test_batches_are_written_in_order_by_the_committer_thread():
    database, column = Database(), Column()
    with Committer(database) as committer:
        for first in range(10):
            committer.put(column, [first], ["old"], None)
    assert [first for first, _conn, _thread in column.written] == list(range(10))
    assert {conn for _first, conn, _thread in column.written} == {database.connections[0]}
    assert {thread for _first, _conn, thread in column.written} == {"webops-encryption-committer"}
    assert database.connections[0].closed


def test_nothing_after_the_first_error_is_written_and_the_error_reaches_the_caller():
    database, column = Database(), Column(fail_on=3)
    with pytest.raises(engine.DatabaseError) as caught:
        with Committer(database) as committer:
            for first in range(10):
                committer.put(column, [first], ["old"], None)
    assert "run again" in str(caught.value)
    assert [first for first, _conn, _thread in column.written] == [0, 1, 2]
    assert database.connections[0].closed


def test_a_failure_in_the_caller_abandons_what_is_queued():
    database, column = Database(), Column()
    with pytest.raises(RuntimeError):
        with Committer(database) as committer:
            committer.put(column, [0], ["old"], None)
            raise RuntimeError("a worker died")
    assert [first for first, _conn, _thread in column.written] in ([], [0])
    assert database.connections[0].closed
