# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""The custody of an environment's SECRET_KEY: does every host hold the same one, is it the vault's,
must it be escrowed, and how is each one named in a message.

Plain Python over the hosts' .env texts and the vault's values, for the secret_key_custody filter.
A valid SECRET_KEY is named by its fingerprint. A weak or invalid one never is: an unsalted hash of
a guessable secret can be reversed, so it is named "a weak SECRET_KEY", numbered when several
differ. Nothing returned holds a key, except from agreed_key(), whose caller keeps it no_log.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.webops.encryption.plugins.module_utils import secret_key as secret_key_utils
from ansible_collections.webops.encryption.plugins.module_utils._dotenv import DotEnv

NAME = secret_key_utils.SECRET_KEY_NAME


def host_value(env_text):
    """The SECRET_KEY a .env's text holds, as the application's reader takes it (quotes off), or None."""
    if not env_text:
        return None
    value = DotEnv(env_text).get(NAME)
    return value if value else None


def _weakness(secret_key):
    try:
        secret_key_utils.check(secret_key)
    except secret_key_utils.InvalidSecretKey as exc:
        return exc.reason
    return None


class _Labels:
    """Names for keys: the fingerprint of a valid one; 'a weak SECRET_KEY (why)' otherwise,
    numbered only when several different weak keys are in play."""

    def __init__(self, values):
        self.weak = []
        for value in values:
            if value and _weakness(value) is not None and value not in self.weak:
                self.weak.append(value)

    def __call__(self, value):
        if not value:
            return None
        why = _weakness(value)
        if why is None:
            return secret_key_utils.fingerprint(value)
        if len(self.weak) == 1:
            return "a weak SECRET_KEY (not fingerprinted: %s)" % why
        return "weak SECRET_KEY #%d (not fingerprinted: %s)" % (self.weak.index(value) + 1, why)


def _text(value):
    return value if isinstance(value, str) and value else None


def assess(env_texts, vault_key=None, next_key=None, environment=""):
    """What custody needs to know about an environment's SECRET_KEY.

    ``env_texts``: {host: the text of its .env, or None when it has none}. ``vault_key``: the vault's
    webops_secret_key; ``next_key``: its webops_secret_key_next (an unfinished rotation, whose hosts
    may hold either key). Returns a dict without any key: hosts ({host: label or None}), vault, next
    (labels or None), present, valid, weakness, fingerprint (only when valid), label, escrow (the vault
    lacks the hosts' agreed key) and problem ('' or a message saying what disagrees and what to do).
    """
    vault_key, next_key = _text(vault_key), _text(next_key)
    values = dict((host, host_value(text)) for host, text in sorted((env_texts or {}).items()))
    held = []
    for value in values.values():
        if value and value not in held:
            held.append(value)
    label = _Labels(held + [vault_key, next_key])
    hosts = dict((host, label(value)) for host, value in values.items())
    missing = sorted(host for host, value in values.items() if not value)
    where = "; ".join("%s holds %s" % (host, hosts[host] or "no SECRET_KEY") for host in sorted(hosts))
    vault_text = "the vault's webops_secret_key is %s" % (label(vault_key) or "not set")
    env = " of '%s'" % environment if environment else ""

    problem = ""
    if next_key:
        strays = sorted(host for host, value in values.items() if value not in (vault_key, next_key))
        if strays:
            problem = ("An unfinished SECRET_KEY rotation%s is escrowed (webops_secret_key_next is %s, %s), but %s hold%s "
                       "neither: %s. Put one of them back on %s by hand, then run the same command again."
                       % (env, label(next_key), vault_text, ", ".join(strays), "s" if len(strays) == 1 else "",
                          where, "that host" if len(strays) == 1 else "those hosts"))
    elif len(held) > 1 or (held and missing):
        problem = ("Every host%s must hold the same SECRET_KEY, but %s (%s). Copy the one the configuration values open "
                   "with (verify_keys.yml counts them per key) to every host's .env, then run the same command again."
                   % (env, where, vault_text))
    elif held and vault_key and vault_key != held[0]:
        problem = ("The hosts%s hold %s but %s. Find which one the configuration values open with (verify_keys.yml), "
                   "then make the vault or the hosts hold it, and run the same command again."
                   % (env, label(held[0]), vault_text))
    elif vault_key and not held:
        problem = ("No host%s holds a SECRET_KEY but %s: restore SECRET_KEY into every host's .env from the vault "
                   "(see the operator guide, \"Restore\"), then run the same command again." % (env, vault_text))

    key = held[0] if len(held) == 1 else None
    why = _weakness(key) if key else None
    return {
        "hosts": hosts,
        "vault": label(vault_key),
        "next": label(next_key),
        "present": bool(held),
        "valid": bool(key) and why is None,
        "weakness": why,
        "fingerprint": secret_key_utils.fingerprint(key) if key and why is None else None,
        "label": label(key) if key else None,
        "escrow": not problem and bool(key) and not vault_key and not next_key,
        "problem": problem,
    }


def agreed_key(env_texts, vault_key=None):
    """The SECRET_KEY every host holds (the vault's, when it agrees), or '' when there is not exactly one."""
    held = set(value for value in (host_value(text) for text in (env_texts or {}).values()) if value)
    if len(held) != 1:
        return ""
    key = held.pop()
    vault_key = _text(vault_key)
    return key if vault_key in (None, key) else ""


def labels(values):
    """{name: label} for named keys ({current: key, old0: key}), labelled together as assess() does."""
    label = _Labels(list(values.values()))
    return dict((name, label(value)) for name, value in values.items())
