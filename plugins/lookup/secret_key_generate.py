# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: secret_key_generate
short_description: Generate a new Django SECRET_KEY on the controller
version_added: 0.2.0
author: webops.encryption contributors (@webops)
description:
  - Returns a new C(SECRET_KEY) of 64 characters drawn with Python's C(secrets) from letters, digits and C(-_.,:+/@),
    which a C(.env) holds unquoted and python-decouple and systemd's C(EnvironmentFile=) both read unchanged (no quote,
    C(#), C($), C(\\), C(%), C(=), backtick or white space). It passes the application's own check (at least 50
    characters, not default-looking).
  - Every evaluation makes a B(different) key. Evaluate it once, in a C(set_fact) task with C(run_once) and C(no_log).
  - Takes no terms.
seealso:
  - module: webops.encryption.secret_key_info
"""

EXAMPLES = r"""
- name: Make the next SECRET_KEY of this environment once, on the controller
  ansible.builtin.set_fact:
    webops_secret_key_next: "{{ lookup('webops.encryption.secret_key_generate') }}"
  run_once: true
  no_log: true
"""

RETURN = r"""
_raw:
  description: A list with one new SECRET_KEY (64 characters).
  type: list
  elements: str
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.webops.encryption.plugins.module_utils.secret_key import generate


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if terms:
            raise AnsibleLookupError("secret_key_generate takes no terms; it returns one new SECRET_KEY per call")
        return [generate()]
