# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""A rotation's preflight decision, for either key family: from what every host's .env holds and
what the vault holds, which key is old, which is new, whether an unfinished rotation resumes, which
hosts already finished, and why the rotation is refused when it cannot go on safely. Keys are
named by fingerprint or by a match id; nothing here ever holds one."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

ENCRYPTION_KEY = "ENCRYPTION_KEY"
SECRET_KEY = "SECRET_KEY"
FAMILIES = (ENCRYPTION_KEY, SECRET_KEY)


def _unique(values):
    return list(dict.fromkeys(values))


def _host_line(hosts, family):
    return "; ".join("%s %s=%s%s" % (host, family, keys["current"],
                                     " OLD_ENCRYPTION_KEY=%s" % keys["old"] if keys.get("old") else "")
                     for host, keys in hosts.items())


def _encryption_key(environment, hosts, vault, next_key):
    # The new key of an unfinished rotation: the vault's _next (past the escrow) or the ENCRYPTION_KEY
    # of a host that also holds OLD_ENCRYPTION_KEY (past the write of both keys).
    new_candidates = _unique(([next_key] if next_key else [])
                             + [keys["current"] for keys in hosts.values() if keys.get("old")])
    new = new_candidates[0] if new_candidates else ""
    # Hosts that hold OLD_ENCRYPTION_KEY name the old key; the others hold it as ENCRYPTION_KEY unless
    # they already finished (ENCRYPTION_KEY is the new key and OLD_ENCRYPTION_KEY is gone).
    old_candidates = _unique([keys["old"] for keys in hosts.values() if keys.get("old")]
                             + [keys["current"] for keys in hosts.values()
                                if not keys.get("old") and keys["current"] not in new_candidates])
    old = old_candidates[0] if old_candidates else vault
    if not vault:
        why = ("The vault must hold the key in use: run setup_encryption.yml -e env=%s, which escrows the hosts' key."
               % environment)
    elif len(new_candidates) > 1:
        why = ("More than one new key is in play (%s); fix the hosts or the vault's webops_encryption_key_next by hand."
               % ", ".join(new_candidates))
    elif len(old_candidates) > 1:
        why = ("The hosts do not share one current key (%s): every host of an environment must hold the same key."
               % ", ".join(old_candidates))
    elif vault != old:
        why = ("The vault's webops_encryption_key (%s) is not the key the hosts use (%s); fix the vault "
               "(backup_keys.yml can adopt the hosts' key)." % (vault, old))
    elif old == new:
        why = ("The new key of the unfinished rotation (%s) is the old one: fix the vault's webops_encryption_key_next "
               "or the hosts' OLD_ENCRYPTION_KEY by hand." % old)
    else:
        why = ""
    refusal = ("Cannot rotate '%s' safely; nothing was changed. Hosts: %s. Vault: webops_encryption_key=%s, "
               "webops_encryption_key_next=%s. %s" % (environment, _host_line(hosts, ENCRYPTION_KEY),
                                                      vault or "not set", next_key or "not set", why)) if why else ""
    return {"old": old, "new": new, "resuming": bool(new), "refusal": refusal,
            "hosts_done": [host for host, keys in hosts.items() if new and keys["current"] == new and not keys.get("old")]}


def _secret_key(environment, hosts, vault, next_key):
    # SECRET_KEYs are compared by a match id (an HMAC under a secret of the run); a host holds one.
    held = _unique(keys["current"] for keys in hosts.values())
    resuming = bool(next_key)
    if resuming:
        # Every host holds the vault's current or its next key.
        consistent = bool(vault) and not [key for key in held if key not in (vault, next_key)]
        why = ("An unfinished rotation is escrowed, but a host holds a SECRET_KEY that is neither the vault's current "
               "nor its next one: put one of them back on that host by hand.")
    else:
        # One key on every host, which the vault holds (or the vault has none yet, and it is escrowed first).
        consistent = len(held) == 1 and vault in ("", held[0])
        why = ("The hosts do not share one SECRET_KEY: every host of an environment must hold the same one (copy the "
               "vault's webops_secret_key, or the one most hosts hold)." if len(held) > 1 else
               "The vault's webops_secret_key is not the key the hosts use: fix the vault or the hosts by hand.")
    refusal = "" if consistent else (
        "Cannot rotate the SECRET_KEY of '%s' safely; nothing was changed. Keys compared by their HMAC under a secret of "
        "this run (equal values, equal keys): Hosts: %s. Vault: webops_secret_key=%s, webops_secret_key_next=%s. %s"
        % (environment, _host_line(hosts, SECRET_KEY), vault or "not set", next_key or "not set", why))
    return {"old": vault or (held[0] if held else ""), "new": next_key, "resuming": resuming, "refusal": refusal,
            "hosts_done": [host for host, keys in hosts.items() if resuming and keys["current"] == next_key]}


def rotation_keys(family, environment, hosts, vault, next_key):
    """``hosts``: each host's keys as its .env holds them, ``{host: {"current": id, "old": id or ""}}``
    (OLD_ENCRYPTION_KEY for ENCRYPTION_KEY), or ``{host: id}`` (SECRET_KEY has no old slot). ``vault`` and ``next_key``:
    the vault's current and next key, by the same kind of id, "" when it has none. Returns ``old``,
    ``new`` ("" before a rotation has one), ``resuming``, ``hosts_done`` (hosts that already hold only
    the new key) and ``refusal`` ("" when the rotation may go on, else the message that stops it)."""
    if family not in FAMILIES:
        raise ValueError("unknown key family %r (one of %s)" % (family, ", ".join(FAMILIES)))
    # A family with one slot per host (SECRET_KEY) may give each host's key id alone.
    hosts = dict((str(host), {"current": str(keys.get("current") or ""), "old": str(keys.get("old") or "")}
                  if isinstance(keys, dict) else {"current": str(keys or ""), "old": ""}) for host, keys in hosts.items())
    return (_encryption_key if family == ENCRYPTION_KEY else _secret_key)(environment, hosts, str(vault or ""), str(next_key or ""))
