# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side SECRET_KEY filter: its fingerprint, never the key itself.

Documentation lives in the sidecar file secret_key_fingerprint.yml.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.webops.encryption.plugins.module_utils.secret_key import fingerprint, match_id


def secret_key_fingerprint(secret_key, salt=None):
    """``sha256:`` + 16 hex digits of the SECRET_KEY's UTF-8 text, as secret_key_info reports it; with
    ``salt``, its ``match_id`` (``hmac:`` + 16 hex digits) as secret_key_info reports it under that salt."""
    if not isinstance(secret_key, str) or not secret_key:
        # Never echo the value: it may be a key of the wrong type.
        raise AnsibleFilterError("secret_key_fingerprint expects a SECRET_KEY as non-empty text, got %s"
                                 % ("an empty string" if secret_key == "" else "a %s" % type(secret_key).__name__))
    if salt is not None:
        return match_id(secret_key, salt)
    return fingerprint(secret_key)


class FilterModule(object):
    def filters(self):
        return {"secret_key_fingerprint": secret_key_fingerprint}
