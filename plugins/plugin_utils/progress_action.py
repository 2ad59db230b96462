# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action behind the database modules (fernet_encrypt, fernet_rotate, fernet_audit): runs the
module asynchronously on the target and, while it works, prints one progress line every
``webops_progress_interval`` seconds (default 5; 0 runs the module plainly):

    db1: core_webhook.secret: 150000/300000 (50%) 41250 rows/s, ETA 4s

The module keeps a status file of counts (no value, no key; 0600) in the async directory and
removes it when it ends; the job's own result file is removed here once read."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import secrets
import shlex
import time

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.webops.encryption.plugins.module_utils.progress import format_line

display = Display()

DEFAULT_INTERVAL = 5.0
# How long the job may run (the async time limit), and how often its end is looked for.
TIME_LIMIT = 24 * 3600
POLL = 1.0
SEPARATOR = "--webops-progress--"
JOB_KEYS = ("ansible_job_id", "started", "finished", "results_file", "erased", "stdout_lines", "stderr_lines")


class ProgressActionModule(ActionBase):

    def _interval(self, task_vars):
        value = task_vars.get("webops_progress_interval", DEFAULT_INTERVAL)
        value = self._templar.template(value)
        try:
            return max(float(value), 0.0)
        except (TypeError, ValueError):
            raise AnsibleError("webops_progress_interval must be a number of seconds (0 for no progress lines), got %r" % (value,))

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ProgressActionModule, self).run(tmp, task_vars)
        interval = self._interval(task_vars)
        if interval <= 0 or self._task.async_val or self._connection.always_pipeline_modules:
            # No progress asked for, the task is async already, or the connection cannot run async jobs.
            result.update(self._execute_module(task_vars=task_vars))
            return result
        try:
            result.update(self._run_watched(task_vars, interval))
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _run_watched(self, task_vars, interval):
        async_dir = self._remote_expand_user(self.get_shell_option("async_dir", default="~/.ansible_async"))
        args = dict(self._task.args)
        args["progress_file"] = self._connection._shell.join_path(async_dir, "webops-progress-%s.json" % secrets.token_hex(8))
        self._task.async_val = TIME_LIMIT
        try:
            started = self._execute_module(module_args=args, task_vars=task_vars, wrap_async=True)
        finally:
            self._task.async_val = 0
        if started.get("failed") or "ansible_job_id" not in started:
            return started
        jid = started["ansible_job_id"]
        job_file = self._connection._shell.join_path(async_dir, jid)
        # One plain command per poll (no module to start): the status file, then the job's result file.
        peek = "cat %s 2>/dev/null; echo; echo %s; cat %s 2>/dev/null" % (
            shlex.quote(args["progress_file"]), SEPARATOR, shlex.quote(job_file))
        host = task_vars.get("inventory_hostname", "")
        begun = shown = time.time()
        seen = False
        while True:
            time.sleep(min(POLL, interval))
            progress_text, _sep, job_text = to_text(self._low_level_execute_command(peek).get("stdout", "")).partition(SEPARATOR)
            if _finished(job_text):
                break
            if time.time() - shown >= interval:
                shown = time.time()
                line = _line(host, progress_text)
                seen = seen or line is not None
                stage = "finishing" if seen else "preparing"
                display.display(line or "%s: %s: %s (%ds)" % (host, self._task.action.split(".")[-1], stage, time.time() - begun))
        result = self._execute_module(module_name="ansible.legacy.async_status", task_vars=task_vars,
                                      module_args={"jid": jid, "mode": "status", "_async_dir": async_dir})
        self._execute_module(module_name="ansible.legacy.async_status", task_vars=task_vars,
                             module_args={"jid": jid, "mode": "cleanup", "_async_dir": async_dir})
        for key in JOB_KEYS:
            result.pop(key, None)
        for key in ("stdout", "stderr"):
            if not result.get(key):
                result.pop(key, None)
        return result


def _finished(job_text):
    """The job file holds {"started": 1, "finished": 0, ...} while the module runs, then its result."""
    try:
        job = json.loads(job_text)
    except ValueError:
        return False  # not written yet, or being written
    return isinstance(job, dict) and (job.get("finished") == 1 or "started" not in job)


def _line(host, progress_text):
    """The progress line, or None before the first count and after the last (the file is gone)."""
    try:
        return "%s: %s" % (host, format_line(json.loads(progress_text)))
    except (ValueError, KeyError, TypeError):
        return None
