# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Custody checks over what vault_vars read. Documentation: custody_key_sharing.yml."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.webops.encryption.plugins.plugin_utils._custody import key_sharing


def custody_key_sharing(vaults):
    """Whether two environments share a key in use, and the message that says so."""
    if not isinstance(vaults, list) or not all(isinstance(vault, dict) and "item" in vault for vault in vaults):
        raise AnsibleFilterError("custody_key_sharing: give the results of a vault_vars loop over the vault files")
    return key_sharing(vaults)


class FilterModule(object):
    def filters(self):
        return {"custody_key_sharing": custody_key_sharing}
