# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side: take, release or look at an environment's run lock (plugin_utils/_environment_lock.py).

The holder is the ansible-playbook process: this action runs in one of its worker processes, so the
holder's pid is the worker's parent. A run that ends (success or failure) releases its lock; a run
that is killed leaves it, and the next run on this controller sees its pid gone and takes it over.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible import context
from ansible.plugins.action import ActionBase

from ansible_collections.webops.encryption.plugins.plugin_utils import _environment_lock as envlock

ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    state=dict(type="str", default="present", choices=["present", "absent", "query"]),
    environment=dict(type="str", required=True),
)


def _playbook():
    names = list(context.CLIARGS.get("args") or ())
    return " ".join(os.path.basename(name) for name in names)


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        del validation
        path = os.path.abspath(os.path.expanduser(args["path"]))
        pid = os.getppid()
        result.update(changed=False, path=path, held=False, taken_over=False, in_progress="")
        try:
            if args["state"] == "absent":
                result["released"] = envlock.release(path, pid)
            elif args["state"] == "query" or self._task.check_mode:
                # Read-only runs never take the lock; they say when a run is in progress.
                note = envlock.in_progress_note(path)
                result["in_progress"] = note
                if note:
                    result["warnings"] = [note]
            else:
                record = envlock.holder_record(pid, _playbook(), args["environment"])
                taken_over, previous = envlock.acquire(path, record)
                result.update(held=True, taken_over=taken_over, holder=record["holder"])
                if taken_over:
                    result["previous"] = previous or {}
                    result["warnings"] = [envlock.takeover_warning(path, previous)]
        except envlock.LockError as exc:
            result.update(failed=True, msg=str(exc))
        return result
