# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A rotation's preflight decision for either key family (plugin_utils/_rotation_keys.py).
Documentation lives in the sidecar file rotation_keys.yml."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.webops.encryption.plugins.plugin_utils import _rotation_keys


def rotation_keys(hosts, family, environment, vault="", next_key=""):
    if family not in _rotation_keys.FAMILIES or not isinstance(hosts, dict):
        raise AnsibleFilterError("rotation_keys: give each host's keys ({host: {current, old}} or {host: key id}), the key "
                                 "family (%s), the environment, and the vault's current and next key ids"
                                 % " or ".join(_rotation_keys.FAMILIES))
    return _rotation_keys.rotation_keys(family, to_native(environment), hosts, vault, next_key)


class FilterModule(object):
    def filters(self):
        return {"rotation_keys": rotation_keys}
