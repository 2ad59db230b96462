# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""What the playbooks print and record from the database modules' results: per-column counts for
the audit trail, and verify_keys' lines. Plain Python over the results; values are counts,
fingerprints and labels, never a key."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re
import time

from ansible_collections.webops.encryption.plugins.plugin_utils._custody import parse_time, utc_now

CREATED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def column_counts(columns, fields, by_key=False):
    """{table.column: {field: value}} for the audit trail; with ``by_key``, each column's counts by key first."""
    counts = {}
    for column in columns or []:
        entry = dict(column.get("by_key") or {}) if by_key else {}
        entry.update((field, column.get(field)) for field in fields)
        counts["%s.%s" % (column["table"], column["column"])] = entry
    return counts


def _size(column):
    if column["total"] == column["rows"]:
        return "%d rows" % column["rows"]
    return "%d values in %d rows" % (column["total"], column["rows"])


def _unknown_ids(column):
    return " (ids %s)" % ", ".join("%s" % row for row in column.get("unknown_ids") or []) if column["unknown"] else ""


def key_lines(hosts, audit):
    """Each host's ENCRYPTION_KEY (and an unfinished rotation's old key), then which key opens each column's values.

    ``hosts``: [(host, fingerprint, old fingerprint or '')]; ``audit``: fernet_audit's result."""
    lines = ["%s: ENCRYPTION_KEY %s%s" % (host, fingerprint, ", OLD_ENCRYPTION_KEY %s (unfinished rotation)" % old if old else "")
             for host, fingerprint, old in hosts]
    for column in audit.get("columns") or []:
        parts = ", ".join("%s under the %s key" % (count, name) for name, count in column["by_key"].items())
        unverified = column.get("unverified") or 0
        lines.append("%s.%s: %s: %s, %s plaintext, %s empty, %s that no key opens%s%s; %s s, %s rows/s" % (
            column["table"], column["column"], _size(column), parts or "none encrypted", column["plaintext"],
            column["empty"], column["unknown"], _unknown_ids(column),
            ", %s keyed by SECRET_KEY (checked below, with SECRET_KEY)" % unverified if unverified else "",
            column.get("elapsed_seconds", "?"), column.get("rows_per_second") or "?"))
    return lines


def secret_key_findings(state, audit, vault_secret_key, env):
    """What is wrong with the SECRET_KEY: ``state`` is the secret_key_custody filter's, ``audit``
    fernet_audit's count of the values keyed by SECRET_KEY (or a skipped or failed result)."""
    findings = [state["problem"]] if state.get("problem") else []
    if state.get("present") and not state.get("problem") and not vault_secret_key:
        findings.append("The vault of %s holds no webops_secret_key, so the controller has no copy of the hosts' "
                        "SECRET_KEY %s: run setup_encryption.yml -e env=%s (or backup_keys.yml), which escrows it."
                        % (env, state["label"], env))
    if audit.get("failed"):
        findings.append("The values keyed by SECRET_KEY could not be counted: %s" % audit.get("msg", "?"))
    totals = audit.get("totals") or {}
    others = sum(int(count) for name, count in (totals.get("secret_keys") or {}).items() if name != "current")
    if int(totals.get("unknown") or 0) > 0:
        findings.append("%d value(s) keyed by SECRET_KEY open with no SECRET_KEY the hosts or the vault hold (listed above)."
                        % int(totals["unknown"]))
    if others > 0:
        findings.append("%d value(s) keyed by SECRET_KEY are under another SECRET_KEY than the database host's "
                        "(listed above): the application cannot open them. Run rotate_secret_key.yml -e env=%s, which "
                        "moves them to a new one." % (others, env))
    return findings


def secret_key_lines(state, audit, names, hosts, created, now=None):
    """Each host's SECRET_KEY and the vault's, with its age, then which SECRET_KEY opens each value keyed by it.

    ``names``: the audit's SECRET_KEY names (current, old0, ...) to the labels to print (a weak key has
    no fingerprint); ``created``: the vault's webops_secret_key_created."""
    lines = ["%s: SECRET_KEY %s" % (host, state["hosts"].get(host) or "not set") for host in hosts]
    created = "" if created is None else "%s" % created
    if CREATED.match(created):
        age = ((now or utc_now()) - parse_time(created)) // datetime.timedelta(days=1)
        when = ", created %s, %d days old" % (created, age)
    else:
        when = ", no recorded creation time" if state.get("vault") else ""
    lines.append("vault: webops_secret_key %s%s" % (state.get("vault") or "not set", when))
    if state.get("weakness"):
        lines.append("SECRET_KEY is weak (%s): replace it with rotate_secret_key.yml" % state["weakness"])
    for column in audit.get("columns") or []:
        if column.get("keyed_by") != "SECRET_KEY":
            continue
        parts = ", ".join("%d under %s%s" % (count, names.get(name, name), " (the database host's)" if name == "current" else "")
                          for name, count in (column.get("secret_keys") or {}).items())
        lines.append("%s.%s (SECRET_KEY): %s: %s, %d plaintext, %d empty, %d that no known SECRET_KEY opens%s" % (
            column["table"], column["column"], _size(column), parts or "none encrypted", column["plaintext"],
            column["empty"], column["unknown"], _unknown_ids(column)))
    return lines


def _units_line(state, result):
    check = state.get("check_mode")
    services = list(state.get("services") or [])
    managed = bool(state.get("manage_services")) and services
    # The window is reported only when units really stopped (the earlier steps measure it only then).
    if state.get("units_stopped_seconds") is not None:
        return "units stopped: %.1f s (fernet_rotate itself: %s s)" % (float(state["units_stopped_seconds"]),
                                                                       result.get("elapsed_seconds", "?"))
    if check and managed and state.get("strategy") == "offline":
        return "units: would be stopped during the database step (%s); none stopped in check mode" % ", ".join(services)
    if not managed:
        return ("units: none managed (webops_manage_services: false or webops_services empty), none %s"
                % ("would be stopped" if check else "stopped"))
    if state.get("strategy") != "offline":
        return "units: %s running (online rotation)" % ("would keep" if check else "kept")
    return "units: not stopped (the database was already under the new key)"


def rotation_summary(state, now=None):
    """The rotation's closing lines: old -> new fingerprint, the hosts, each column's counts with its
    time and rate, the columns keyed by SECRET_KEY, how long the units were stopped and the run's
    time. A check run's lines say what would happen; what was not measured is said to be so.

    ``state``: environment, check_mode, old_fp, new_fp, hosts, result (fernet_rotate's), preflight
    (the step 1 audit), secret_key_next, units_stopped_seconds, manage_services, strategy, services,
    started_at (epoch seconds)."""
    check = bool(state.get("check_mode"))
    result = state.get("result") or {}
    hosts = list(state.get("hosts") or [])
    lines = ["%s: %s %s -> %s" % (state.get("environment"), "would rotate (check mode, nothing written)" if check else "rotated",
                                  state.get("old_fp"), state.get("new_fp")),
             "hosts (%d): %s" % (len(hosts), ", ".join(hosts))]
    if "columns" not in result:
        lines.append("database: already under the new key (an earlier run finished it)")
    for column in result.get("columns") or []:
        lines.append("%s.%s: %s, %d %s, %d already under the new key, %d plaintext %s, %d plaintext left, %d empty, "
                     "%d unknown; %s %s s, %s rows/s" % (
                         column["table"], column["column"], _size(column), column["rotated"],
                         "would be rotated" if check else "rotated", column["already_current"], column["encrypted_plaintext"],
                         "would be encrypted" if check else "encrypted", column["plaintext"], column["empty"], column["unknown"],
                         "scanned in" if check else "in", column.get("elapsed_seconds", "?"), column.get("rows_per_second") or "?"))
    for widened in result.get("widened") or []:
        lines.append("%s.%s: %s from varchar(%d) to varchar(%d)" % (
            widened["table"], widened["column"], "would widen" if check else "widened", widened["from"], widened["to"]))
    for column in (state.get("preflight") or {}).get("columns") or []:
        if column.get("keyed_by") != "SECRET_KEY":
            continue
        if state.get("secret_key_next"):
            what = "would be rotated next, with SECRET_KEY" if check else "rotated next, with SECRET_KEY"
        else:
            what = "would not be touched by this rotation" if check else "not touched by this rotation"
        lines.append("%s.%s: %d values keyed by SECRET_KEY in %d rows, %s" % (
            column["table"], column["column"], column["total"], column["rows"], what))
    lines.append(_units_line(state, result))
    started = state.get("started_at")
    lines.append("%s: %s" % ("check run time" if check else "total time",
                             "%.1f s" % ((now if now is not None else time.time()) - float(started))
                             if started is not None else "not measured"))
    return lines
