# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the key modules' test playbooks through the real ``ansible-playbook``.

Keys reach the playbooks the way they do in production, in a vars file (mode 0600), never on
the command line. Results come back through the ``ansible.posix.json`` callback, indexed by
task name, so a test asserts on what each module really returned.
"""

import base64
import json
import os
import stat
import subprocess
import sys

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOKS = os.path.join(REPO, "tests", "integration", "playbooks")
VENV_BIN = os.path.dirname(sys.executable)


def new_key(standard=False):
    """A fresh key made at test time (never a literal in the tree); standard=True uses + and /."""
    while True:
        raw = os.urandom(32)
        text = (base64.b64encode if standard else base64.urlsafe_b64encode)(raw).decode("ascii")
        # A standard-alphabet key must really show its alphabet, or the test proves nothing.
        if not standard or "+" in text or "/" in text:
            return text


def other_form(key_text):
    """The same key in the other base64 alphabet."""
    raw = base64.b64decode(key_text.replace("-", "+").replace("_", "/"))
    if "-" in key_text or "_" in key_text:
        return base64.b64encode(raw).decode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii")


def env(extra=None):
    result = dict(os.environ)
    result.update({
        "ANSIBLE_CONFIG": os.path.join(REPO, "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_PIPELINING": "1",
        "PATH": VENV_BIN + os.pathsep + result.get("PATH", ""),
    })
    result.update(extra or {})
    return result


def write_vars(path, data):
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        yaml.safe_dump(data, handle)
    return str(path)


class PlaybookRun:
    def __init__(self, proc, results):
        self.proc = proc
        self.results = results
        self.output = proc.stdout + proc.stderr

    def __getitem__(self, task_name):
        return self.results[task_name]

    def changed(self):
        return {name: bool(result.get("changed")) for name, result in self.results.items()}


def run_playbook(name, workdir, variables, check=False, diff=False, verbosity=0, json_results=True,
                 env_extra=None, argv_prefix=(), vars_owner=None, timeout=300):
    """Run tests/integration/playbooks/<name> against localhost (-c local) from the repository root."""
    variables = dict(variables)
    variables.setdefault("ansible_python_interpreter", sys.executable)
    vars_file = write_vars(os.path.join(str(workdir), "vars-%s.yml" % os.path.splitext(name)[0]), variables)
    if vars_owner is not None:
        os.chown(vars_file, vars_owner, vars_owner)
    argv = list(argv_prefix) + [os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
                                "-e", "@" + vars_file]
    if check:
        argv.append("--check")
    if diff:
        argv.append("--diff")
    if verbosity:
        argv.append("-" + "v" * verbosity)
    argv.append(os.path.join(PLAYBOOKS, name))
    extra = dict(env_extra or {})
    if json_results:
        extra["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
    proc = subprocess.run(argv, env=env(extra), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False,
                          universal_newlines=True, timeout=timeout)
    results = results_by_task(proc) if json_results else {}
    return PlaybookRun(proc, results)


def results_by_task(proc):
    """Task name -> host result, from a run with the ansible.posix.json callback."""
    try:
        document = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("ansible-playbook did not print JSON (rc %d):\n%s\n%s"
                             % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    results = {}
    for play in document["plays"]:
        for task in play["tasks"]:
            for result in task["hosts"].values():
                results[task["task"]["name"]] = result
    return results


def snapshot(top):
    """Every entry under ``top``: (kind, bytes or link target, mode, mtime_ns, uid, gid)."""
    state = {}
    for base, dirs, files in os.walk(str(top)):
        for entry in dirs + files:
            path = os.path.join(base, entry)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                content = os.readlink(path)
            elif stat.S_ISREG(info.st_mode) and info.st_mode & 0o444:
                with open(path, "rb") as handle:
                    content = handle.read()
            else:
                content = None
            state[os.path.relpath(path, str(top))] = (stat.S_IFMT(info.st_mode), content, stat.S_IMODE(info.st_mode),
                                                      info.st_mtime_ns, info.st_uid, info.st_gid)
    return state
