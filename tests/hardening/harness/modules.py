# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the collection's modules and playbooks for the hardening suite.

Two ways, both real:
- ``run_module``: the module file itself, fed its arguments as Ansible's own
  ``{"ANSIBLE_MODULE_ARGS": ...}`` JSON file (fast: used in loops and under strace);
- ``run_debug_playbook``: ``ansible-playbook`` with ``-vvvv`` and ``ANSIBLE_DEBUG=1`` and a log
  file, keys reaching it the way they reach it in production: a vars file, never argv.
"""

import json
import os
import subprocess
import sys

from support.ansible_runs import ansible_env, run_playbook
from support.paths import MODULES


def module_exists(name):
    return os.path.exists(os.path.join(MODULES, name + ".py"))


def module_argv(name, args_file):
    return [sys.executable, "-m", "ansible_collections.webops.encryption.plugins.modules." + name, args_file]


def write_args(path, args, check=False, diff=False):
    payload = dict(args)
    payload["_ansible_check_mode"] = check
    payload["_ansible_diff"] = diff
    payload["_ansible_tmpdir"] = os.path.dirname(path)
    payload["_ansible_remote_tmp"] = os.path.dirname(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": payload}, handle)
    return path


def parse_result(stdout):
    """The module's JSON result (the last JSON object line of stdout), or None."""
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    return None


def run_module(name, args, workdir, check=False, diff=False, timeout=300, env=None, runner=None):
    """Run plugins/modules/<name>.py on this host. Returns (result dict or None, CompletedProcess).

    ``runner(argv, env)`` may wrap the call (strace); it must return a CompletedProcess.
    """
    args_file = write_args(os.path.join(str(workdir), "args-%s.json" % name), args, check=check, diff=diff)
    argv = module_argv(name, args_file)
    full_env = ansible_env(env)
    if runner is not None:
        proc = runner(argv, full_env)
    else:
        proc = subprocess.run(argv, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=timeout, cwd=str(workdir), check=False)
    try:
        os.unlink(args_file)
    except OSError:
        pass
    return parse_result(proc.stdout), proc


def run_debug_playbook(playbook, workdir, extra_args=(), env=None, timeout=600, verbosity=4, debug=True, inventory=None,
                       prefix=(), umask=None):
    """ansible-playbook with -vvvv, ANSIBLE_DEBUG and a log file; returns (CompletedProcess, log text).
    ``prefix`` wraps the command (strace); ``umask`` is set for the whole process tree."""
    run = run_playbook(playbook, workdir, extra_args=extra_args, env_extra=env, timeout=timeout, verbosity=verbosity,
                       debug=debug, inventory=inventory, argv_prefix=prefix, umask=umask, log_file=True,
                       json_results=False, connection=None, pipelining=False)
    return run.proc, run.log
