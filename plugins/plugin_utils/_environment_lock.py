# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""One run per environment at a time: the lock file the environment_lock action takes on the controller.

The lock is a small JSON file created with O_CREAT|O_EXCL: its existence is the lock. It records who
holds it (user@controller), the ansible-playbook process (pid and the kernel's start time of that pid,
so a reused pid is not mistaken for the holder), when and which playbook. Taking over a lock whose
holder is gone, and releasing, happen under an flock on a sidecar file so two runs never both take
over the same stale lock.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import errno
import fcntl
import getpass
import json
import os
import socket


class LockError(Exception):
    """A refusal whose message is safe to show."""


def process_start(pid):
    """The kernel's start time of ``pid`` (clock ticks since boot, /proc/<pid>/stat field 22), or None."""
    try:
        with open("/proc/%d/stat" % int(pid)) as handle:
            stat = handle.read()
    except (IOError, OSError, ValueError):
        return None
    # The command name (field 2) is in parentheses and may hold spaces: count from the last ')'.
    fields = stat[stat.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else None


def process_alive(pid, start=None):
    """Whether process ``pid`` exists on this machine (and, when ``start`` is known, is that same process)."""
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError, TypeError) as exc:
        if getattr(exc, "errno", None) == errno.EPERM:
            return True  # someone else's process: it exists
        return False
    if start:
        now = process_start(pid)
        return now is None or now == start
    return True


def controller_name():
    return socket.gethostname()


def holder_record(pid, playbook, environment, now=None):
    """What the lock file records for a run whose ansible-playbook process is ``pid``."""
    moment = now or datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    try:
        user = getpass.getuser()
    except Exception:  # pylint: disable=broad-except
        user = str(os.getuid())
    controller = controller_name()
    return dict(
        holder="%s@%s" % (user, controller),
        user=user,
        controller=controller,
        pid=int(pid),
        pid_start=process_start(pid),
        started=moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        playbook=playbook or "",
        environment=environment,
    )


def describe(record):
    """One line naming the holder of a lock record."""
    return "%s (pid %s on %s), playbook %s, started %s" % (
        record.get("holder", "?"), record.get("pid", "?"), record.get("controller", "?"),
        record.get("playbook") or "?", record.get("started", "?"))


def read_record(path):
    """The record of the lock at ``path``, None when there is no lock, or {} when it cannot be parsed
    (a run killed while writing it)."""
    try:
        with open(path) as handle:
            text = handle.read()
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise LockError("cannot read the lock %s: %s" % (path, exc.strerror))
    try:
        record = json.loads(text)
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def state_of(record):
    """'free', 'held' (its process runs here, or it is another controller's), or 'stale' (its process is gone)."""
    if record is None:
        return "free"
    if not record:
        return "stale"
    if record.get("controller") != controller_name():
        return "held"  # cannot tell from here whether that run is alive
    return "held" if process_alive(record.get("pid"), record.get("pid_start")) else "stale"


def is_mine(record, pid):
    return bool(record) and record.get("controller") == controller_name() and record.get("pid") == int(pid) \
        and record.get("pid_start") == process_start(pid)


class _Guard:
    """An exclusive flock on ``<lock>.guard`` for the read-decide-write sequences."""

    def __init__(self, path):
        self.path = path + ".guard"
        self.handle = None

    def __enter__(self):
        self.handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc_info):
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        os.close(self.handle)


def _create(path, record):
    """Create the lock file; False when it exists."""
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        if exc.errno == errno.EEXIST:
            return False
        raise LockError("cannot create the lock %s: %s" % (path, exc.strerror))
    with os.fdopen(handle, "w") as stream:
        stream.write(json.dumps(record, sort_keys=True) + "\n")
        stream.flush()
        os.fsync(stream.fileno())
    return True


def make_directory(path):
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        try:
            os.makedirs(directory, 0o700)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise LockError("cannot make the lock directory %s: %s" % (directory, exc.strerror))


def acquire(path, record):
    """Take the lock for ``record`` (holder_record()). Returns (taken_over, previous): ``previous`` is the
    record of a stale lock this run took over (its run is gone: it was killed), or None.
    Raises LockError naming the holder when another run holds it."""
    make_directory(path)
    with _Guard(path):
        previous = read_record(path)
        if previous is not None and is_mine(previous, record["pid"]):
            return False, None  # this run took it in an earlier play
        state = state_of(previous)
        if state == "held":
            raise LockError(refusal(path, previous))
        if state == "stale":
            os.unlink(path)
        if not _create(path, record):
            raise LockError(refusal(path, read_record(path) or {}))
        return state == "stale", previous


def release(path, pid):
    """Remove the lock when this run (ansible-playbook ``pid``) holds it. Returns whether it did."""
    if not os.path.exists(path):
        return False
    with _Guard(path):
        record = read_record(path)
        if record is None or not is_mine(record, pid):
            return False
        os.unlink(path)
        return True


def refusal(path, record):
    env = record.get("environment") or "this environment"
    if record.get("controller") not in (None, controller_name()):
        how = ("It was taken on another controller (%s), so this one cannot tell whether that run is still going. "
               "Ask %s; only when no run of %s is going on there, remove %s and run this command again."
               % (record.get("controller"), record.get("holder", "its holder"), env, path))
    else:
        how = "Wait for that run to end, then run this command again."
    return ("Another run holds the lock of %s: %s (lock file %s). Nothing was changed. %s"
            % (env, describe(record), path, how))


def takeover_warning(path, record):
    if not record:
        return ("The lock %s was left unreadable by a run that was killed while taking it; it was taken over." % path)
    return ("The lock %s was left by a run that is gone (%s; its process no longer runs on this controller: it was "
            "killed). It was taken over, and this run resumes that run's work: the playbooks resume any unfinished "
            "step. To clear such a lock by hand, first make sure pid %s is not running on %s (ps -p %s), then remove "
            "the file." % (path, describe(record), record.get("pid"), record.get("controller"), record.get("pid")))


def in_progress_note(path):
    """For read-only runs (verify_keys, --check): a sentence when a run holds the lock, else ''."""
    record = read_record(path)
    state = state_of(record)
    if state == "held":
        return ("A run of %s is in progress: %s. What this run reads may change under it; run it again once "
                "that run has ended." % (record.get("environment") or "this environment", describe(record)))
    if state == "stale":
        return ("The lock %s was left by a run that is gone (%s): the next run of a playbook that changes the "
                "environment takes it over and resumes that run's work." % (path, describe(record or {})))
    return ""
