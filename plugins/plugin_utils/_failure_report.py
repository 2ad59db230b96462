# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""The message a stopped rotation ends with, for either key family: the step it stopped in, each
error, every host's keys and the database's values as read again after the failure, whether
anything is lost (said only when checked now), and the command that resumes. Keys are named by
fingerprint or label; the message never holds one."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

ENCRYPTION_KEY = "ENCRYPTION_KEY"
SECRET_KEY = "SECRET_KEY"
FAMILIES = {
    ENCRYPTION_KEY: ("Key rotation", ("", "preflight", "new key", "escrow and backup", "write both keys",
                                      "re-encrypt the database", "drop the old key and restart", "record the new key as current")),
    SECRET_KEY: ("SECRET_KEY rotation", ("", "preflight", "new key and escrow", "re-encrypt the configuration values",
                                         "write the new key and restart", "record the new key as current")),
}


def _of(mapping, key, default=None):
    value = mapping.get(key, default) if hasattr(mapping, "get") else default
    return default if value is None and default is not None else value


def _header(family, environment, step, hostvars, hosts):
    title, steps = FAMILIES[family]
    lines = ["%s of '%s' stopped in step %d (%s)." % (title, environment, step, steps[step] if 0 <= step < len(steps) else "?")]
    for host in hosts:
        facts = hostvars[host]
        if "ansible_failed_result" in facts:
            task = _of(_of(facts, "ansible_failed_task", {}), "name", "?")
            lines.append('Error on %s, task "%s": %s' % (host, task, _of(facts["ansible_failed_result"], "msg", "failed")))
    lines.append("Hosts now:")
    return lines


def _host_keys(facts):
    """ENCRYPTION_KEY's and OLD_ENCRYPTION_KEY's fernet_key_info results as read after the failure."""
    results = list(_of(_of(facts, "rotation_state_keys", {}), "results", []) or []) + [{}, {}]
    return results[0], results[1]


def _encryption_key(state, hostvars, hosts, lines):
    step = int(state.get("step") or 0)
    units_stopped = bool(state.get("manage_services")) and state.get("strategy") == "offline" and step >= 5
    for host in hosts:
        current, old = _host_keys(hostvars[host])
        services = list(_of(hostvars[host], "webops_services", []) or [])
        lines.append("  %s: ENCRYPTION_KEY=%s%s%s" % (
            host, current.get("fingerprint") or "unreadable",
            ", OLD_ENCRYPTION_KEY=%s" % old.get("fingerprint") if old.get("configured") else "",
            ", units %s stopped" % ", ".join(services) if units_stopped and services else ""))
    database = state.get("database") or {}
    totals = database.get("totals")
    if totals is not None:
        lines.append("Database (%s): %s, %s plaintext, %s empty, %s that no known key opens." % (
            state.get("database_host"), ", ".join("%s under the %s key" % (count, name) for name, count in totals["by_key"].items()),
            totals["plaintext"], totals["empty"], totals["unknown"]))
    else:
        lines.append("Database (%s): not counted (%s)." % (state.get("database_host") or "none", database.get("msg", "not reached")))
    new_fp = state.get("new_fp") or ""
    escrowed = bool(state.get("next_fp")) or (step >= 4 and not state.get("check_mode"))
    lines.append("Keys: old %s (vault webops_encryption_key), new %s%s." % (
        state.get("old_fp") or "?", new_fp or "not made yet",
        " (escrowed in the vault as webops_encryption_key_next)" if escrowed and new_fp else ""))
    command = state.get("command") or ""
    if state.get("check_mode"):
        lines.append("This was a check run: nothing was written. Fix the cause above and run the same command again%s."
                     % (": " + command if command else ""))
        return lines
    resuming = bool(state.get("resuming"))
    if step <= 3 and not resuming:
        lines.append("No .env and no database value changed yet.")
    lines.append(_encryption_key_loss(state, hostvars, hosts, totals))
    lines.append("Fix the cause above, then resume with the same command: %s." % command if command else
                 "Fix the cause above, then run the same command again, with the same inventory, vault options and "
                 "extra variables (not shown: one of them may hold a secret).")
    if step >= 3 or resuming:
        lines.append("It reuses the escrowed new key and finishes the job." if escrowed else "It finishes the job.")
    return lines


def _encryption_key_loss(state, hostvars, hosts, totals):
    """"Nothing is lost" only when checked now: every key some value is under is in each host's .env and in the vault."""
    vault = state.get("vault") or {}
    if totals is None or not vault.get("readable"):
        return ("Not checked whether every value still opens with a key each .env and the vault hold: %s. "
                "Run verify_keys.yml once the cause is fixed."
                % ("the database was not counted" if totals is None else
                   "the vault could not be read (%s)" % vault.get("msg", "not reached")))
    in_vault = ([entry.get("fingerprint") for entry in (vault.get("by_key") or {}).values()]
                + [entry.get("fingerprint") for entry in vault.get("history") or [] if entry.get("has_key")])
    fingerprints = state["database"].get("fingerprints") or {}
    used = [fingerprints.get(name) for name, count in totals["by_key"].items() if int(count) > 0]
    gaps = []
    if int(totals.get("unknown") or 0) > 0:
        gaps.append("%s value(s) open with no key this run knows" % totals["unknown"])
    for host in hosts:
        held = [key.get("fingerprint") for key in _host_keys(hostvars[host]) if key.get("fingerprint")]
        missing = [fingerprint for fingerprint in used if fingerprint not in held]
        if missing:
            gaps.append("%s's .env lacks %s" % (host, ", ".join(missing)))
    missing = [fingerprint for fingerprint in used if fingerprint not in in_vault]
    if missing:
        gaps.append("the vault (%s) lacks %s" % (state.get("vault_file"), ", ".join(missing)))
    if gaps:
        return ("NOT everything is readable: %s. Put the missing key back before anything else (from the vault, its "
                "history or the .env backups), then run verify_keys.yml." % "; ".join(gaps))
    unverified = int(totals.get("unverified") or 0)
    return ("Nothing is lost (checked now): every value opens with a key that each .env and the vault hold (%s).%s"
            % (", ".join(used) or "no value is encrypted",
               " %s value(s) keyed by SECRET_KEY were not checked here." % unverified if unverified > 0 else ""))


def _secret_key(state, hostvars, hosts, lines):
    step = int(state.get("step") or 0)
    resuming = bool(state.get("resuming"))
    for host in hosts:
        key = _of(hostvars[host], "secret_key_rotation_state_key", {}) or {}
        lines.append("  %s: SECRET_KEY=%s" % (host, key.get("fingerprint") or (
            "not valid (no fingerprint)" if key.get("configured") else "unreadable")))
    lines.append("Keys: old %s (vault webops_secret_key), new %s." % (
        state.get("old_fp") or "?",
        "%s (escrowed in the vault as webops_secret_key_next)" % (state.get("new_fp") or "")
        if step >= 3 or resuming else "not escrowed yet"))
    lines.extend((state.get("loss_check") or {}).get("lines") or [])
    command = (state.get("command") or "").strip()
    lines.append("Fix the cause above, then resume with %s. It reuses the escrowed new SECRET_KEY and finishes the job." % (
        "this command: " + state.get("command") if command else
        "the same command as before, with the same inventory, vault options and extra variables "
        "(not shown: one of them may hold a secret)"))
    return lines


def failure_report(family, state, hostvars, hosts):
    """The message, one line per fact. ``state``: the play's view (environment, step, resuming,
    check_mode, fingerprints, the resume command, the database's count and the vault as read
    again); ``hostvars`` and ``hosts`` give each host's failed task and its keys as read again."""
    if family not in FAMILIES:
        raise ValueError("unknown key family %r (one of %s)" % (family, ", ".join(sorted(FAMILIES))))
    hosts = list(hosts)
    lines = _header(family, state.get("environment"), int(state.get("step") or 0), hostvars, hosts)
    return "\n".join((_encryption_key if family == ENCRYPTION_KEY else _secret_key)(state, hostvars, hosts, lines))
