# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fault injection plumbing: engine runs in child processes that can be killed or cut off."""

import json
import os
import signal
import subprocess
import sys
import time

from support import webops_db
from support.paths import COLLECTIONS

CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "engine_child.py")


class Child:
    """One engine run in its own process group (its worker processes die with it)."""

    def __init__(self, cfg):
        # The child imports the collection from the checkout: its parent hands it the path.
        env = dict(os.environ, PYTHONPATH=COLLECTIONS + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen([sys.executable, CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, universal_newlines=True, start_new_session=True, env=env)
        self.proc.stdin.write(json.dumps(cfg) + "\n")
        self.proc.stdin.flush()
        self.ready_at = None
        self.out = self.err = ""

    def wait_ready(self, timeout=30, must=True):
        """Wait for READY; a run that fails before it (cannot connect) is finished and kept."""
        line = self.proc.stdout.readline()
        if line.strip() != "READY":
            self.out += line
            self.finish(timeout)
            if must:
                raise AssertionError("child did not start: %r %s" % (line, self.err[-2000:]))
            return None
        self.ready_at = time.monotonic()
        return self

    def pause_after(self, count):
        """For a child started with "pause": let batches run one at a time until ``count`` batches
        have committed, and return True with the run held right after that commit; False if the
        run ended before it (it made fewer batches)."""
        seen = 0
        while True:
            line = self.proc.stdout.readline()
            if not line:
                return False
            if not line.startswith("BATCH "):
                self.out += line
                continue
            seen += 1
            if seen >= count:
                return True
            self.go_on()

    def go_on(self):
        """Let a held child (pause_after) write its next batch."""
        self.proc.stdin.write("next\n")
        self.proc.stdin.flush()

    def go(self):
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def alive(self):
        return self.proc.poll() is None

    def kill(self):
        """SIGKILL the whole process group. True when it was still running."""
        was_alive = self.alive()
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        return was_alive and self.proc.returncode == -signal.SIGKILL

    def finish(self, timeout=300):
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except ValueError:  # streams already closed after a kill
            out, err = "", ""
        except subprocess.TimeoutExpired:
            # A hung run fails its test alone: it must not hold its connections and locks for the rest.
            self.kill()
            raise AssertionError("the engine run did not end within %d s" % timeout)
        self.out += out or ""
        self.err += err or ""
        return self.proc.returncode

    def result(self):
        for line in reversed(self.out.strip().splitlines()):
            if line.startswith("{"):
                return json.loads(line)
        return None

    def group_gone(self, timeout=2.0):
        """No live process of the group is left (worker processes died with the parent).
        Zombies count as gone: this sandbox's PID 1 is slow to reap orphans."""
        deadline = time.monotonic() + timeout
        while True:
            live = []
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    with open("/proc/%s/stat" % entry) as handle:
                        fields = handle.read().rsplit(")", 1)[1].split()
                except (OSError, IndexError):
                    continue
                if int(fields[2]) == self.proc.pid and fields[0] != "Z":
                    live.append(int(entry))
            if not live or time.monotonic() > deadline:
                return not live
            time.sleep(0.02)


def run_engine(cfg, timeout=300):
    child = Child(cfg)
    if child.wait_ready(must=False) is not None:
        if cfg.get("wait_go"):
            child.go()
        child.finish(timeout)
    return child.proc.returncode, child.result(), child.err


def fresh_db(url, key, users, unknown=0, unknown_key=None, narrow=False):
    webops_db.create_schema(url, narrow=narrow)
    webops_db.seed(url, key, users=users, unknown=unknown, unknown_key=unknown_key)
    return webops_db.digest(url, [key])


def fraction_under(url, key):
    """Share of encrypted values that open with ``key`` (progress of a rotation)."""
    census = webops_db.census(url, [key])
    under = sum(c.get(0, 0) for c in census.values())
    encrypted = sum(n for c in census.values() for k, n in c.items() if k not in ("plain", "empty"))
    return under / float(encrypted or 1)
