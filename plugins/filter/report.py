# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the playbooks print and record from the database modules' results (plugin_utils/_reports.py).
Documentation lives in the sidecar files (column_counts.yml, verify_key_lines.yml, ...)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_sequence

from ansible_collections.webops.encryption.plugins.plugin_utils import _failure_report, _reports


def _result(value, name):
    if not isinstance(value, dict):
        raise AnsibleFilterError("%s: give a registered result of a database module" % name)
    return value


def column_counts(columns, fields, by_key=False):
    if not is_sequence(columns) or not is_sequence(fields):
        raise AnsibleFilterError("column_counts: give a database module's columns and a list of field names")
    return _reports.column_counts(columns, fields, by_key=by_key)


def verify_key_lines(audit, hosts, keys, old_keys):
    hosts, keys, old_keys = list(hosts), list(keys), list(old_keys)
    if not len(hosts) == len(keys) == len(old_keys):
        raise AnsibleFilterError("verify_key_lines: give one key and one old key per host")
    return _reports.key_lines([(host, key["fingerprint"], old["fingerprint"] if old.get("configured") else "")
                               for host, key, old in zip(hosts, keys, old_keys)], _result(audit, "verify_key_lines"))


def verify_secret_key_findings(state, audit, vault_secret_key, env):
    return _reports.secret_key_findings(state, _result(audit, "verify_secret_key_findings"), vault_secret_key, env)


def verify_secret_key_lines(state, audit, names, hosts, created=""):
    return _reports.secret_key_lines(state, _result(audit, "verify_secret_key_lines"), names, list(hosts), created)


def rotation_failure_report(hostvars, family, hosts, state):
    if family not in _failure_report.FAMILIES or not isinstance(state, dict):
        raise AnsibleFilterError("rotation_failure_report: give hostvars, the key family (%s), the hosts and the play's state"
                                 % " or ".join(sorted(_failure_report.FAMILIES)))
    return _failure_report.failure_report(family, state, hostvars, hosts)


def rotation_summary(state):
    if not isinstance(state, dict):
        raise AnsibleFilterError("rotation_summary: give the rotation's state as a dict")
    return _reports.rotation_summary(state)


class FilterModule(object):
    def filters(self):
        return {
            "column_counts": column_counts,
            "rotation_failure_report": rotation_failure_report,
            "rotation_summary": rotation_summary,
            "verify_key_lines": verify_key_lines,
            "verify_secret_key_findings": verify_secret_key_findings,
            "verify_secret_key_lines": verify_secret_key_lines,
        }
