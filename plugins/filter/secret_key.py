# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side SECRET_KEY filters: its fingerprint, never the key itself, and the custody of an
environment's SECRET_KEY across its hosts and its vault.

Documentation lives in the sidecar files (secret_key_fingerprint.yml, secret_key_custody.yml, ...).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.webops.encryption.plugins.plugin_utils import _secret_key_custody as custody
from ansible_collections.webops.encryption.plugins.module_utils._dotenv import DotEnvError
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


def _env_texts(env_texts, filter_name):
    if not isinstance(env_texts, dict):
        raise AnsibleFilterError("%s expects a dict of host and .env text, got a %s" % (filter_name, type(env_texts).__name__))
    return env_texts


def secret_key_custody(env_texts, vault_key="", next_key="", environment=""):
    """Whether the hosts share one SECRET_KEY that the vault holds (or lacks), each named safely; no key."""
    try:
        return custody.assess(_env_texts(env_texts, "secret_key_custody"), vault_key, next_key, environment)
    except DotEnvError as exc:
        # The message names a line and a variable, never a value.
        raise AnsibleFilterError("secret_key_custody: %s" % exc)


def secret_key_custody_key(env_texts, vault_key=""):
    """The SECRET_KEY every host holds (and the vault, when it has one), or ''. Keep the result no_log."""
    try:
        return custody.agreed_key(_env_texts(env_texts, "secret_key_custody_key"), vault_key)
    except DotEnvError as exc:
        raise AnsibleFilterError("secret_key_custody_key: %s" % exc)


def secret_key_labels(named_keys):
    """{name: fingerprint} of named SECRET_KEYs; a weak one is named without a fingerprint."""
    if not isinstance(named_keys, dict):
        raise AnsibleFilterError("secret_key_labels expects a dict of name and SECRET_KEY, got a %s" % type(named_keys).__name__)
    return custody.labels(named_keys)


def _vault(vault):
    if vault is not None and not isinstance(vault, dict):
        raise AnsibleFilterError("expects the vault's values as a dict (or null when it could not be read), got a %s"
                                 % type(vault).__name__)
    return vault


def secret_key_state_keys(env_texts, vault=None, known=None):
    """Every SECRET_KEY a stopped rotation may have left a value under, in the order secret_key_loss_check
    names them. Keep the result no_log."""
    try:
        return custody.state_keys(_env_texts(env_texts, "secret_key_state_keys"), _vault(vault), known or [])
    except DotEnvError as exc:
        raise AnsibleFilterError("secret_key_state_keys: %s" % exc)


def secret_key_loss_check(audit, env_texts, vault=None, known=None, vault_name="the vault"):
    """Whether every configuration value opens with a SECRET_KEY the vault holds, checked now; no key."""
    if audit is not None and not isinstance(audit, dict):
        raise AnsibleFilterError("secret_key_loss_check expects fernet_audit's result as a dict, got a %s" % type(audit).__name__)
    try:
        return custody.loss_check(audit, _env_texts(env_texts, "secret_key_loss_check"), _vault(vault), known or [], vault_name)
    except DotEnvError as exc:
        raise AnsibleFilterError("secret_key_loss_check: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {
            "secret_key_fingerprint": secret_key_fingerprint,
            "secret_key_custody": secret_key_custody,
            "secret_key_custody_key": secret_key_custody_key,
            "secret_key_labels": secret_key_labels,
            "secret_key_state_keys": secret_key_state_keys,
            "secret_key_loss_check": secret_key_loss_check,
        }
