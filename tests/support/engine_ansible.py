# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the database modules through the real ``ansible-playbook`` on localhost.

The playbook is written at test time (tasks are data), keys reach it in a 0600 vars file,
and results come back through the ``ansible.posix.json`` callback, indexed by task name.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys

import yaml

from keys_ansible import REPO, VENV_BIN, env, results_by_task, write_vars


def run_tasks(workdir, tasks, variables, check=False, verbosity=0, json_results=True, timeout=300):
    """Run ``tasks`` (a list of task dicts, each with a unique name) against localhost.
    Returns (results by task name, CompletedProcess)."""
    variables = dict(variables)
    variables.setdefault("ansible_python_interpreter", sys.executable)
    vars_file = write_vars(os.path.join(str(workdir), "engine-vars.yml"), variables)
    playbook = os.path.join(str(workdir), "engine-playbook.yml")
    with open(playbook, "w", encoding="utf-8") as handle:
        yaml.safe_dump([{"name": "Database modules", "hosts": "localhost", "gather_facts": False, "tasks": tasks}], handle)
    argv = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", "-e", "@" + vars_file]
    if check:
        argv.append("--check")
    if verbosity:
        argv.append("-" + "v" * verbosity)
    argv.append(playbook)
    extra = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"} if json_results else {}
    proc = subprocess.run(argv, env=env(extra), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=timeout, check=False)
    results = results_by_task(proc) if json_results else {}
    return results, proc


def write_env(path, **values):
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("".join("%s=%s\n" % item for item in sorted(values.items())))
    return str(path)
