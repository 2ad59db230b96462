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
    lines = ["%s: ENCRYPTION_KEY %s%s" % (host, fingerprint,
                                           ", OLD_ENCRYPTION_KEY %s (unfinished rotation)" % old if old else "")
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
