# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TEST-ONLY fault injection for the playbook tests: right after the task named in
WEBOPS_FAULT_AFTER_TASK completes (ok or changed) on some host, either

  WEBOPS_FAULT_MODE=kill  the ansible-playbook process kills itself (SIGKILL): a controller crash,
                          no rescue, no report, exactly what a power cut leaves behind; or
  WEBOPS_FAULT_MODE=fail  the next task of the play fails in its place, as any task failure would,
                          so the role's rescue runs and reports; or
  WEBOPS_FAULT_MODE=pause the run writes the file WEBOPS_FAULT_MARKER and then blocks until the test
                          writes to the FIFO WEBOPS_FAULT_RELEASE (a second run can be started
                          "in the middle" of this one, at a point it has reached for sure).

Loaded only by the tests (ANSIBLE_CALLBACK_PLUGINS=tests/support/callback_plugins,
ANSIBLE_CALLBACKS_ENABLED=webops_fault); nothing in the collection knows about it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: webops_fault
type: aggregate
short_description: Test-only fault injection after a named task
description: Kills the controller or fails the next task after the task named in WEBOPS_FAULT_AFTER_TASK.
requirements: [enable in ANSIBLE_CALLBACKS_ENABLED]
"""

import os
import signal

from ansible.plugins.callback import CallbackBase

FAULT_MESSAGE = "Fault injected after task %r (test harness)"


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "webops_fault"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.after = os.environ.get("WEBOPS_FAULT_AFTER_TASK", "")
        self.mode = os.environ.get("WEBOPS_FAULT_MODE", "fail")
        self.armed = False
        self.done = False

    def _completed(self, result):
        if self.done or not self.after or result._task.get_name().split(" : ")[-1] != self.after:
            return
        if self.mode == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if self.mode == "pause":
            self.done = True
            with open(os.environ["WEBOPS_FAULT_MARKER"], "w") as marker:
                marker.write("%d\n" % os.getpid())
            # Opening a FIFO for reading blocks until the test opens it for writing: no timer.
            with open(os.environ["WEBOPS_FAULT_RELEASE"]) as release:
                release.read()
            return
        self.armed = True

    v2_runner_on_ok = _completed

    def v2_playbook_on_task_start(self, task, is_conditional):
        if not self.armed:
            return
        self.armed, self.done = False, True
        # This task becomes a failure (every host it runs on fails, as a crash mid-play would).
        task.action = "ansible.builtin.fail"
        task._resolved_action = "ansible.builtin.fail"
        task.args = {"msg": FAULT_MESSAGE % self.after}
        task.when = []
        task.loop = None
        task.loop_with = None
        task.failed_when = []
        task.ignore_errors = False
