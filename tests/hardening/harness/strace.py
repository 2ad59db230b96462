# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Watch every file a command creates or re-modes, with strace, so no window is missed.

Polling a directory misses a temp file that lives for a millisecond; strace sees every
openat(O_CREAT, mode), chmod and rename of the whole process tree. Run under umask 000,
a file created with mode 0644 really is world-readable until something narrows it, and
that window is what we report.
"""

import os
import re
import shutil
import subprocess

_TRACE = "trace=open,openat,creat,chmod,fchmod,fchmodat,rename,renameat,renameat2,link,linkat"
_OPEN_RE = re.compile(r'^(\d+)\s+(?:open|openat)\((?:[^,]+,\s*)?"([^"]*)",\s*([A-Z_|]+)(?:,\s*(0\d+))?\)\s*=\s*(-?\d+)')
_CREAT_RE = re.compile(r'^(\d+)\s+creat\("([^"]*)",\s*(0\d+)\)\s*=\s*(-?\d+)')
_CHMOD_RE = re.compile(r'^(\d+)\s+(?:chmod|fchmodat)\((?:[^,]+,\s*)?"([^"]*)",\s*(0\d+)')
_RENAME_RE = re.compile(r'^(\d+)\s+rename(?:at2?)?\((?:[^,]+,\s*)?"([^"]*)",\s*(?:[^,]+,\s*)?"([^"]*)"')


def have_strace():
    return shutil.which("strace") is not None


def strace_prefix(log_path):
    """The argv prefix that traces a command tree's file creations into ``log_path``
    (seccomp-bpf: only the traced calls stop the process, so Ansible runs at nearly full speed)."""
    return ["strace", "-f", "--seccomp-bpf", "-qq", "-s", "4096", "-e", _TRACE, "-o", log_path]


def run_traced(argv, log_path, env=None, cwd=None, umask=0o000, timeout=300, input_text=None):
    """Run ``argv`` under strace -f with ``umask``; return the CompletedProcess."""
    def preexec():
        os.umask(umask)
    cmd = strace_prefix(log_path) + list(argv)
    return subprocess.run(cmd, env=env, cwd=cwd, preexec_fn=preexec, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, input=input_text, universal_newlines=True, check=False)


def wide_files(log_path, directories, umask=0o000):
    """Files under ``directories`` that were, at some instant, created or chmod'ed wider than 0600.

    Returns a list of (path, how, mode) — e.g. ('/x/.env.bak', 'created', '0666').
    """
    dirs = [os.path.realpath(d).rstrip("/") + "/" for d in directories]
    found = []
    with open(log_path, errors="replace") as handle:
        for line in handle:
            line = line.strip()
            match = _OPEN_RE.match(line)
            if match and "O_CREAT" in match.group(3) and match.group(4) and int(match.group(5)) >= 0:
                path, mode = match.group(2), int(match.group(4), 8) & ~umask
                if _under(path, dirs) and mode & 0o077:
                    found.append((path, "created", oct(mode)))
                continue
            match = _CREAT_RE.match(line)
            if match and int(match.group(4)) >= 0:
                path, mode = match.group(2), int(match.group(3), 8) & ~umask
                if _under(path, dirs) and mode & 0o077:
                    found.append((path, "created", oct(mode)))
                continue
            match = _CHMOD_RE.match(line)
            if match and _under(match.group(2), dirs) and int(match.group(3), 8) & 0o077:
                found.append((match.group(2), "chmod", match.group(3)))
    return found


def created_files(log_path, directories):
    """Every path under ``directories`` that the command created (O_CREAT) or renamed into place."""
    dirs = [os.path.realpath(d).rstrip("/") + "/" for d in directories]
    paths = []
    with open(log_path, errors="replace") as handle:
        for line in handle:
            match = _OPEN_RE.match(line.strip())
            if match and "O_CREAT" in match.group(3) and _under(match.group(2), dirs) and int(match.group(5)) >= 0:
                paths.append(match.group(2))
            match = _RENAME_RE.match(line.strip())
            if match and _under(match.group(3), dirs):
                paths.append(match.group(3))
    return paths


def _under(path, dirs):
    return any(path.startswith(d) for d in dirs)
