# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""The action behind the database modules (fernet_encrypt, fernet_rotate, fernet_audit): while the
module runs on the target, prints one progress line every ``webops_progress_interval`` seconds
(default 5; 0 for none):

    db1: write core_webhook.secret: 150000/300000 (50%) 41250 rows/s, ETA 4s; database step: 750000/1800000 (41%) 39000 rows/s, ETA 27s

The module runs as any other (its arguments, which hold keys, travel the usual way and are never
written to the target's disk); it keeps a status file of counts (no value, no key; 0600) in
Ansible's remote temporary directory and removes it when it ends. A thread reads that file with
one plain command per interval."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import secrets
import shlex
import threading
import time

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.webops.encryption.plugins.module_utils._progress import format_line

display = Display()

DEFAULT_INTERVAL = 5.0


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
        # The Python the collection's roles run the modules under applies to an ad hoc run too
        # (ansible HOST -m webops.encryption.fernet_audit), whose system Python may lack cryptography.
        interpreter = self._templar.template(task_vars.get("webops_python_interpreter", "")) or ""
        if interpreter:
            task_vars = dict(task_vars, ansible_python_interpreter=interpreter)
        hint = ("The module could not run under webops_python_interpreter=%s: check that this Python exists on %s "
                "and has cryptography (and psycopg for PostgreSQL), or set webops_python_interpreter: '' to use the "
                "discovered Python." % (interpreter, task_vars.get("inventory_hostname", "the host")))
        try:
            if interval <= 0 or self._task.async_val:
                result.update(self._execute_module(task_vars=task_vars))
            else:
                result.update(self._run_watched(task_vars, interval))
        except AnsibleError as exc:
            if interpreter and "interpreter" in to_text(exc):
                raise AnsibleError("%s %s" % (to_text(exc.message), hint))
            raise
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        message = to_text(result.get("msg", ""))
        if result.get("failed") and interpreter and ("MODULE FAILURE" in message or "interpreter" in message):
            result["msg"] = "%s %s" % (result["msg"], hint)
        return result

    def _run_watched(self, task_vars, interval):
        remote_tmp = self._remote_expand_user(self.get_shell_option("remote_tmp", default="~/.ansible/tmp"))
        path = self._connection._shell.join_path(remote_tmp, "webops-progress-%s.json" % secrets.token_hex(8))
        args = dict(self._task.args, progress_file=path)
        stop = threading.Event()
        step = self._step(task_vars)
        watcher = threading.Thread(target=self._watch, args=(stop, path, task_vars.get("inventory_hostname", ""), interval, step))
        watcher.daemon = True
        watcher.start()
        try:
            return self._execute_module(module_args=args, task_vars=task_vars)
        finally:
            stop.set()
            watcher.join(interval + 30)

    def _step(self, task_vars):
        """How this task sits in a larger database step (the rotation's write, then its check):
        webops_progress_phase renames the phase; webops_progress_step gives passes_after (passes of
        the same size still to come), done_before (rows of passes already done) and started (when
        the step started, controller time)."""
        step = self._templar.template(task_vars.get("webops_progress_step", {})) or {}
        label = self._templar.template(task_vars.get("webops_progress_phase", "")) or ""
        try:
            return {"label": str(label), "passes_after": int(step.get("passes_after", 0) or 0),
                    "done_before": int(step.get("done_before", 0) or 0), "started": float(step.get("started", 0) or 0)}
        except (TypeError, ValueError, AttributeError):
            raise AnsibleError("webops_progress_step must map passes_after, done_before and started to numbers, got %r" % (step,))

    def _watch(self, stop, path, host, interval, step=None):
        module = self._task.action.split(".")[-1]
        begun = time.time()
        seen = False
        while not stop.wait(interval):
            try:
                out = self._low_level_execute_command("cat %s 2>/dev/null || true" % shlex.quote(path)).get("stdout", "")
            except Exception as exc:  # pylint: disable=broad-except  # progress must never fail the task
                display.vvv("webops progress: %s" % exc)
                continue
            if stop.is_set():
                return
            line = _line(host, to_text(out), step)
            seen = seen or line is not None
            stage = "finishing" if seen else "preparing"
            display.display(line or "%s: %s: %s (%ds)" % (host, module, stage, time.time() - begun))


def _line(host, progress_text, step=None):
    """The progress line, or None before the first count and after the last (the file is gone)."""
    try:
        status = json.loads(progress_text)
        if step:
            if step["label"]:
                status["phase"] = step["label"]
            if status.get("job_total"):
                one_pass = status["job_total"] // max(status.get("job_passes") or 1, 1)
                status["job_total"] += step["done_before"] + step["passes_after"] * one_pass
                status["job_done"] = status.get("job_done", 0) + step["done_before"]
                if step["started"]:
                    status["job_seconds"] = max(time.time() - step["started"], 0)
        return "%s: %s" % (host, format_line(status))
    except (ValueError, KeyError, TypeError, ZeroDivisionError):
        return None
