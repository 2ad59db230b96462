# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the real ``ansible-playbook`` and read what the modules returned.

Keys reach the playbooks the way they do in production, in a vars file (mode 0600), never on
the command line. Results come back through the ``ansible.posix.json`` callback, indexed by
task name, so a test asserts on what each module really returned.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat
import subprocess
import sys

import yaml

from support.paths import ANSIBLE_CFG, ANSIBLE_PLAYBOOK, COLLECTIONS, REPO, TEST_PLAYBOOKS, VENV_BIN


def ansible_env(extra=None):
    """This process's environment for an Ansible run: the repository's ansible.cfg and collection,
    no colours, this virtualenv's tools first on PATH; then ``extra``."""
    result = dict(os.environ)
    result.update({
        "PYTHONPATH": COLLECTIONS + os.pathsep + result.get("PYTHONPATH", ""),
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
        "ANSIBLE_CONFIG": ANSIBLE_CFG,
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_HOST_KEY_CHECKING": "0",
        "PATH": VENV_BIN + os.pathsep + result.get("PATH", ""),
    })
    result.update(extra or {})
    return result


def write_vars(path, data):
    """A YAML vars file readable by its owner only (it may hold keys)."""
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        yaml.safe_dump(data, handle)
    return str(path)


def write_env(path, **values):
    """A .env file (mode 0600) holding ``values``, sorted by name."""
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("".join("%s=%s\n" % item for item in sorted(values.items())))
    return str(path)


class PlaybookRun:
    """One finished run: ``proc`` (the CompletedProcess), ``results`` by task name (json runs),
    ``output`` (stdout and stderr) and ``log`` (the Ansible log file's text, runs with a log file)."""

    def __init__(self, proc, results, log=""):
        self.proc = proc
        self.results = results
        self.output = proc.stdout + proc.stderr
        self.log = log

    def __getitem__(self, task_name):
        return self.results[task_name]

    def changed(self):
        return {name: bool(result.get("changed")) for name, result in self.results.items()}


def playbook_command(playbook, extra_args=(), env=None):
    """argv and environment of an ansible-playbook run (also for runs the caller starts and kills).
    ``playbook``: a path, or the name of one of the tests' playbooks (tests/integration/playbooks)."""
    argv = [ANSIBLE_PLAYBOOK] + list(extra_args) + [os.path.join(TEST_PLAYBOOKS, str(playbook))]
    return argv, ansible_env(env)


def run_playbook(playbook, workdir, variables=None, check=False, diff=False, verbosity=0, json_results=True,
                 env_extra=None, argv_prefix=(), vars_owner=None, timeout=300, extra_args=(), inventory="localhost,",
                 connection="local", pipelining=True, log_file=False, debug=False, umask=None):
    """Run ``playbook`` (see playbook_command) from the repository root; returns a PlaybookRun.

    ``variables`` go to a 0600 vars file in ``workdir`` (owned by ``vars_owner`` if given), passed
    with -e @file. ``json_results``: results by task name. ``log_file``: ANSIBLE_LOG_PATH in
    ``workdir``, read back into PlaybookRun.log; ``debug``: ANSIBLE_DEBUG=1. ``argv_prefix`` wraps
    the command (setpriv, strace); ``umask`` is set for the whole process tree."""
    args = []
    if inventory:
        args += ["-i", inventory]
    if connection:
        args += ["-c", connection]
    if variables is not None:
        variables = dict(variables)
        variables.setdefault("ansible_python_interpreter", sys.executable)
        if json_results:
            # A progress line on a slow, loaded machine would break the JSON callback's document.
            variables.setdefault("webops_progress_interval", 0)
        name = os.path.splitext(os.path.basename(str(playbook)))[0]
        vars_file = write_vars(os.path.join(str(workdir), "vars-%s.yml" % name), variables)
        if vars_owner is not None:
            os.chown(vars_file, vars_owner, vars_owner)
        args += ["-e", "@" + vars_file]
    if check:
        args.append("--check")
    if diff:
        args.append("--diff")
    if verbosity:
        args.append("-" + "v" * verbosity)
    args += list(extra_args)
    extra = {}
    if pipelining:
        extra["ANSIBLE_PIPELINING"] = "1"
    log = os.path.join(str(workdir), "ansible-%d.log" % os.getpid()) if log_file else None
    if log:
        if os.path.exists(log):
            os.unlink(log)
        extra["ANSIBLE_LOG_PATH"] = log
    if debug:
        extra["ANSIBLE_DEBUG"] = "1"
    extra.update(env_extra or {})
    if json_results:
        extra["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
    argv, environ = playbook_command(playbook, args, extra)
    preexec = (lambda: os.umask(umask)) if umask is not None else None
    proc = subprocess.run(list(argv_prefix) + argv, env=environ, cwd=REPO, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout, preexec_fn=preexec,
                          check=False)
    text = ""
    if log and os.path.exists(log):
        with open(log, errors="replace") as handle:
            text = handle.read()
    return PlaybookRun(proc, results_by_task(proc) if json_results else {}, text)


def run_tasks(workdir, tasks, variables, check=False, verbosity=0, json_results=True, timeout=300):
    """Run ``tasks`` (a list of task dicts, each with a unique name) against localhost.
    Returns (results by task name, CompletedProcess)."""
    playbook = os.path.join(str(workdir), "engine-playbook.yml")
    with open(playbook, "w", encoding="utf-8") as handle:
        yaml.safe_dump([{"name": "Database modules", "hosts": "localhost", "gather_facts": False, "tasks": tasks}], handle)
    run = run_playbook(playbook, workdir, variables, check=check, verbosity=verbosity, json_results=json_results,
                       timeout=timeout)
    return run.results, run.proc


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
