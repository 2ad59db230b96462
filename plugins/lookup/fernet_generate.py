# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: fernet_generate
short_description: Generate a new Fernet key on the controller
version_added: 0.1.0
author: webops.encryption contributors (@webops)
description:
  - Returns a new url-safe Fernet key (32 bytes from C(os.urandom), the same as what C(Fernet.generate_key) makes), made on
    the controller, so one key can be stored in the environment's vault and given to every host of the environment.
    Roles never need C(python -c) on a host for this.
  - Every evaluation makes a B(different) key. Evaluate it once per environment, in a C(set_fact) task with
    C(run_once) and C(no_log), never in a variable that is templated lazily (each use would see another key).
  - Takes no terms.
seealso:
  - module: webops.encryption.fernet_key
  - plugin: webops.encryption.fernet_fingerprint
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Make the next key of this environment once, on the controller
  ansible.builtin.set_fact:
    webops_encryption_key_next: "{{ lookup('webops.encryption.fernet_generate') }}"
  run_once: true
  no_log: true

- name: Show which key was made, by fingerprint
  ansible.builtin.debug:
    msg: "{{ webops_encryption_key_next | webops.encryption.fernet_fingerprint }}"
  run_once: true
"""

RETURN = r"""
_raw:
  description: A list with one new url-safe Fernet key (44 characters).
  type: list
  elements: str
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.webops.encryption.plugins.module_utils.fernet import generate_key


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if terms:
            raise AnsibleLookupError("fernet_generate takes no terms; it returns one new key per call")
        return [generate_key()]
