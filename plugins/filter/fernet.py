# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side Fernet key filters: fingerprints and validity, never the key itself.

Documentation lives in the sidecar files fernet_fingerprint.yml and fernet_key_info.yml.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.webops.encryption.plugins.module_utils.fernet import (
    InvalidKeyError,
    MissingKeyError,
    key_info,
    parse_key,
)


def _key_text(value, filter_name):
    if value is None or isinstance(value, (str, bytes)):
        return value
    # Never echo the value: it may be a key of the wrong type.
    raise AnsibleFilterError("%s expects a key as text, got a %s" % (filter_name, type(value).__name__))


def fernet_fingerprint(key, name="ENCRYPTION_KEY"):
    """``sha256:`` + 16 hex digits of the key bytes; the same for both base64 alphabets."""
    try:
        return parse_key(_key_text(key, "fernet_fingerprint"), name).fingerprint
    except (MissingKeyError, InvalidKeyError) as exc:
        raise AnsibleFilterError("fernet_fingerprint: %s" % exc)


def fernet_key_info(key, name="ENCRYPTION_KEY"):
    """A dict: valid, configured, fingerprint, encoding, error."""
    return key_info(_key_text(key, "fernet_key_info"), name)


class FilterModule(object):
    def filters(self):
        return {
            "fernet_fingerprint": fernet_fingerprint,
            "fernet_key_info": fernet_key_info,
        }
