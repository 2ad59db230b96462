# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every role's meta/argument_specs.yml (what ansible-doc shows) agrees with the one place the
defaults live, roles/webops/defaults/main.yml, and the webops role documents every variable there."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os

import yaml

from support.paths import REPO

ROLES = os.path.join(REPO, "roles")
# Described, not given a default value in the specs: no default at all (every host sets it), or a
# default computed by a template too long to be read as one.
NO_DEFAULT_SHOWN = {"webops_env_file", "webops_controller_dir"}


def load(path):
    with open(path) as handle:
        return yaml.safe_load(handle)


def shared_defaults():
    return load(os.path.join(ROLES, "webops", "defaults", "main.yml"))


def every_option():
    for path in sorted(glob.glob(os.path.join(ROLES, "*", "meta", "argument_specs.yml"))):
        role = path.split(os.sep)[-3]
        for entry, spec in load(path)["argument_specs"].items():
            for name, option in (spec.get("options") or {}).items():
                yield role, entry, name, option


def test_every_default_in_every_roles_argument_specs_is_the_shared_one():
    defaults = shared_defaults()
    wrong = []
    for role, entry, name, option in every_option():
        if name in defaults and "default" in option and option["default"] != defaults[name]:
            wrong.append("%s/%s %s: %r, defaults/main.yml: %r" % (role, entry, name, option["default"], defaults[name]))
        if name in NO_DEFAULT_SHOWN and "default" in option:
            wrong.append("%s/%s %s claims the default %r" % (role, entry, name, option["default"]))
    assert not wrong, "\n".join(wrong)


def test_the_webops_role_documents_every_shared_variable_with_its_default():
    defaults = shared_defaults()
    options = load(os.path.join(ROLES, "webops", "meta", "argument_specs.yml"))["argument_specs"]["main"]["options"]
    assert sorted(set(defaults) | {"webops_env_file"}) == sorted(options)
    for name, value in defaults.items():
        if name not in NO_DEFAULT_SHOWN:
            assert options[name].get("default") == value, name
        assert options[name]["description"], name


def test_webops_env_file_has_no_default_anywhere():
    assert "webops_env_file" not in shared_defaults()
    for role, entry, name, option in every_option():
        if name == "webops_env_file":
            assert "default" not in option, (role, entry)
