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


_weakness = secret_key_utils.weakness
_Labels = secret_key_utils.Labels


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


labels = secret_key_utils.labels


def _vault_keys(vault):
    """The SECRET_KEYs a vault's values hold: current, next, then every retired one that kept its key."""
    vault = vault if isinstance(vault, dict) else {}
    keys = [vault.get("webops_secret_key"), vault.get("webops_secret_key_next")]
    keys += [entry.get("key") for entry in vault.get("webops_secret_key_history") or [] if isinstance(entry, dict)]
    return [key for key in keys if _text(key)]


def state_keys(env_texts, vault=None, known=()):
    """Every SECRET_KEY a stopped rotation may have left a configuration value under, each once, in
    a fixed order: ``known`` (the run's old and new keys), the hosts' and the vault's (``vault``: its
    values as read now). The first is the audit's ``new_secret_key``, the rest its ``old_secret_keys``.
    Holds keys: keep the result no_log."""
    found = []
    hosts = [host_value(text) for _host, text in sorted((env_texts or {}).items())]
    for key in list(known or ()) + hosts + _vault_keys(vault):
        if _text(key) and key not in found:
            found.append(key)
    return found


def loss_check(audit, env_texts, vault=None, known=(), vault_name="the vault"):
    """Whether every configuration value of a stopped SECRET_KEY rotation still opens with a key the
    vault holds, checked now: ``audit`` is fernet_audit's result with state_keys() given in order
    (current, old0, ...), or None/a failed one when the values were not counted; ``vault`` the vault's
    values as read now, or None when it could not be read.

    Returns {checked, lost (labels of keys some value is under that the vault lacks), lines (what to
    say; no key)}. "Nothing is lost" is said only when checked."""
    keys = state_keys(env_texts, vault, known)
    label = _Labels(keys)
    totals = (audit or {}).get("totals") if isinstance(audit, dict) and not audit.get("failed") else None
    if totals is None or vault is None:
        why = ("the configuration values were not counted (%s)" % ((audit or {}).get("msg") or "not reached")
               if totals is None else "%s could not be read" % vault_name)
        return {"checked": False, "lost": [], "lines": [
            "Not checked whether every configuration value still opens with a SECRET_KEY the vault holds: %s. "
            "Run verify_keys.yml once the cause is fixed." % why]}
    names = ["current"] + ["old%d" % index for index in range(len(keys) - 1)]
    by_name = dict(zip(names, keys))
    used = [(by_name[name], count) for name, count in sorted((totals.get("secret_keys") or {}).items())
            if name in by_name and count]
    in_vault = _vault_keys(vault)
    hosts = dict((host, host_value(text)) for host, text in sorted((env_texts or {}).items()))
    found = ", ".join("%d under %s" % (count, label(key)) for key, count in used)
    lines = ["Configuration values now: %s." % (found or "none is encrypted")]
    gaps = []
    if totals.get("unknown"):
        gaps.append("%d value(s) open with no SECRET_KEY this run knows (ids %s)" % (totals["unknown"], ", ".join(
            str(i) for column in audit.get("columns") or [] for i in column.get("unknown_ids") or [])))
    lost = [label(key) for key, _count in used if key not in in_vault]
    if lost:
        gaps.append("%s lacks %s" % (vault_name, ", ".join(lost)))
    # The application reads one SECRET_KEY (no fallback): values under another one wait for the rotation to finish.
    for host, value in sorted(hosts.items()):
        waiting = sum(count for key, count in used if key != value)
        if waiting:
            lines.append("%s's .env holds %s, which does not open %d of them until the rotation finishes."
                         % (host, label(value) or "no SECRET_KEY", waiting))
    if gaps:
        lines.append("NOT everything is readable: %s. Put the missing SECRET_KEY back into the vault before anything else "
                     "(from a host's .env, its backups or wherever it was kept), then run verify_keys.yml." % "; ".join(gaps))
    else:
        lines.append("Nothing is lost (checked now): every configuration value opens with a SECRET_KEY %s holds (%s)."
                     % (vault_name, ", ".join(label(key) for key, _count in used) or "no value is encrypted"))
    return {"checked": True, "lost": lost, "lines": lines}
