# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The playbooks' first check of an inventory. Documentation: inventory_problems.yml."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.webops.encryption.plugins.plugin_utils._inventory_contract import problems


def inventory_problems(hostvars, env, groups):
    """Every problem of environment ``env`` in the inventory, one line each ([] when none)."""
    if not isinstance(env, str) or not env:
        raise AnsibleFilterError("inventory_problems: give the environment's group name")
    hosts = list(groups.get(env) or [])
    lines = []
    database_hosts = [host for host in groups.get("webops_database") or [] if host in hosts]
    if len(database_hosts) != 1:
        lines.append(
            "group webops_database: exactly one host of %s runs the database work and must be in it (found: %s). "
            "Example: webops_database: {hosts: {%s: }}"
            % (env, ", ".join(database_hosts) or "none", (database_hosts or hosts or ["db1.example.com"])[0]))
    return lines + problems(dict((host, hostvars[host]) for host in hosts))


class FilterModule(object):
    def filters(self):
        return {"inventory_problems": inventory_problems}
