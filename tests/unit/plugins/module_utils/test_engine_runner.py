# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the worker pool stops. A run that fails mid-write still has chunks in the workers; killing
a worker while it hands a result back leaves the pool's result queue locked, and stopping the
pool then waits forever. So close() lets the chunks in flight come back first."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.webops.encryption.plugins.module_utils._engine.pipeline import MIN_CHUNK, Runner


class SlowJob:
    """A job that takes a while over each chunk, so chunks are still in the workers when the run stops."""

    def __init__(self, seconds):
        self.seconds = seconds

    def process(self, values, _json_pattern):
        time.sleep(self.seconds)
        return [], {"values": len(values)}, [], 0


def test_close_lets_the_chunks_in_flight_come_back_before_it_stops_the_workers():
    runner = Runner({"write": SlowJob(0.5)}, 2)
    parts, pooled = runner.submit("write", ["value"] * (4 * MIN_CHUNK), None)
    workers = list(runner.pool._pool)  # pylint: disable=protected-access
    # Stopped as a failed run stops: nothing collected.
    runner.close()
    assert pooled and len(parts) == 2
    assert all(result.ready() and result.successful() for _start, result in parts)
    assert [result.get()[1] for _start, result in parts] == [{"values": 2 * MIN_CHUNK}] * 2
    assert runner.pool is None and not any(worker.is_alive() for worker in workers)
