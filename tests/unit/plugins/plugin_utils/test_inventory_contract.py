# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory contract: every problem named at once, with what the variable is and an example."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import getpass

from ansible_collections.webops.encryption.plugins.plugin_utils._inventory_contract import problems


class Unreadable(dict):
    """Variables one of which cannot be templated (it refers to an undefined variable)."""

    def __getitem__(self, name):
        if name == "webops_env_file":
            raise ValueError("'base_dir' is undefined")
        return dict.__getitem__(self, name)


def test_a_complete_inventory_has_no_problem():
    assert problems({"db1": {"webops_env_file": "/opt/webops/.env", "webops_services": ["a"], "webops_rotation_days": 90}}) == []


def test_every_problem_is_named_at_once_and_grouped_by_variable():
    lines = problems({
        "a": {},
        "b": {},
        "c": {"webops_env_file": "rel/.env", "webops_manage_services": "maybe", "webops_progress_interval": -1,
              "webops_database_url": "mysql://u:hunter2@h/d"},
    })
    text = "\n".join(lines)
    assert "webops_env_file on a, b: missing: the absolute path of the WebOps .env" in text
    assert "Example: webops_env_file: /opt/webops/.env" in text
    assert "webops_env_file on c: must be an absolute path" in text
    assert "webops_manage_services on c: invalid value 'maybe'" in text
    assert "webops_progress_interval on c: invalid value -1" in text
    assert "webops_database_url on c: invalid value (not shown)" in text
    assert "hunter2" not in text
    assert len(lines) == 5


def test_a_variable_that_cannot_be_read_is_named_not_raised():
    lines = problems({"a": Unreadable(webops_env_file="{{ base_dir }}/.env")})
    assert lines == ["webops_env_file on a: cannot be read ('base_dir' is undefined): the absolute path of the WebOps .env "
                     "on the host (holds ENCRYPTION_KEY and DATABASE_URL). Example: webops_env_file: /opt/webops/.env"]


def test_owner_is_checked_only_for_a_host_reached_locally():
    remote = {"webops_env_file": "/e", "webops_owner": "no-such-user-here", "webops_group": "no-such-group-here"}
    assert problems({"a": remote}) == []
    local = dict(remote, ansible_connection="local")
    lines = problems({"a": local})
    assert [line.split(":")[0] for line in lines] == ["webops_group on a", "webops_owner on a"]
    me = dict(local, webops_owner=getpass.getuser(), webops_group="")
    assert problems({"a": me}) == []
