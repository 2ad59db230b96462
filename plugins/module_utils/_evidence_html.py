# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""The human report of an evidence record: one self-contained HTML file.

Rendered from the record alone and deterministically (the same record gives the same bytes, so
evidence_check can tell an edited report). No script, font or style from the network: inline CSS
(with print rules) and one inline SVG chart per column.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from html import escape

BEFORE_COLOUR = "#8c8c8c"
AFTER_COLOUR = "#1f5fa8"
RETIRED_COLOUR = "#b3261e"

_CSS = """
body { font: 14px/1.45 -apple-system, "Segoe UI", "DejaVu Sans", Arial, sans-serif; color: #1b1b1b; margin: 2em auto;
       max-width: 60em; padding: 0 1em; }
h1 { font-size: 1.5em; margin: 0 0 .3em; }
h2 { font-size: 1.15em; margin: 1.6em 0 .5em; border-bottom: 1px solid #ccc; }
.status { padding: .8em 1em; border-radius: 4px; border: 2px solid; margin: 1em 0; }
.status.complete { border-color: #1e7b34; background: #e9f6ec; }
.status.incomplete { border-color: #b3261e; background: #fbeaea; }
.status strong { font-size: 1.3em; text-transform: uppercase; }
table { border-collapse: collapse; width: 100%; margin: .5em 0; }
th, td { text-align: left; padding: .25em .5em; border-bottom: 1px solid #ddd; vertical-align: top; }
th { background: #f3f3f3; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
code { font-family: "DejaVu Sans Mono", monospace; font-size: .92em; }
.column { break-inside: avoid; page-break-inside: avoid; margin: 1em 0; }
.legend span { display: inline-block; width: .9em; height: .9em; margin: 0 .3em 0 1em; vertical-align: middle; }
.overdue { color: #b3261e; font-weight: bold; }
@media print {
  body { margin: 0; max-width: none; font-size: 11pt; }
  .status { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  svg { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2 { break-after: avoid; page-break-after: avoid; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  @page { margin: 15mm; }
}
"""


def _e(value):
    return escape("" if value is None else str(value), quote=True)


def chart(column):
    """An inline SVG bar chart of a column's values by key label, before and after."""
    labels = sorted(set(column["before"]) | set(column["after"]))
    if not labels:
        return '<p class="chart-empty">No encrypted value before or after.</p>'
    top = max([1] + list(column["before"].values()) + list(column["after"].values()))
    row, thickness, left, width = 34, 12, 230, 330
    height = row * len(labels) + 10
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" role="img" width="%d" height="%d" viewBox="0 0 %d %d" '
             'aria-label="%s">' % (left + width + 70, height, left + width + 70, height,
                                   _e("%s.%s before and after by key" % (column["table"], column["column"])))]
    for index, label in enumerate(labels):
        y = 5 + index * row
        before, after = column["before"].get(label, 0), column["after"].get(label, 0)
        parts.append('<text x="0" y="%d" font-size="11" font-family="monospace">%s</text>' % (y + 16, _e(label)))
        for offset, count, colour, side in ((0, before, BEFORE_COLOUR, "before"), (thickness + 2, after, AFTER_COLOUR, "after")):
            length = int(round(width * count / float(top)))
            parts.append('<rect x="%d" y="%d" width="%d" height="%d" fill="%s" data-side="%s" data-key="%s" data-count="%d"/>'
                         % (left, y + offset, length, thickness, colour, side, _e(label), count))
            parts.append('<text x="%d" y="%d" font-size="10">%d</text>' % (left + length + 4, y + offset + thickness - 2, count))
    parts.append("</svg>")
    return "".join(parts)


def _counts_text(counts):
    return ", ".join("%d under %s" % (n, k) for k, n in sorted(counts.items())) or "none"


def render_html(record):
    """The report of ``record`` as one HTML document (text)."""
    title = "Evidence of %s: %s" % (record["operation"], record["environment"])
    complete = record["status"] == "complete"
    out = ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
           '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; img-src data:">',
           "<title>%s</title>" % _e(title), "<style>%s</style></head><body>" % _CSS, "<h1>%s</h1>" % _e(title)]
    out.append('<div class="status %s" id="status"><strong>%s</strong>' % (_e(record["status"]), _e(record["status"])))
    unopened = record["not_checked"]
    if complete and unopened:
        out.append("<p>The run succeeded and every encrypted value it opened is under a current key; none is left under a "
                   "retired key.</p>")
    elif complete:
        out.append("<p>The run succeeded and every encrypted value opens with a current key; none is left under a retired key.</p>")
    else:
        out.append("<ul>%s</ul>" % "".join("<li>%s</li>" % _e(r) for r in record["status_reasons"]))
    if unopened:
        # The status covers what the run opened: say plainly what it did not.
        out.append('<p>Not checked by this run:</p><ul id="not-checked">%s</ul>' % "".join("<li>%s</li>" % _e(t) for t in unopened))
    out.append("</div>")
    out.append("<h2>Run</h2><table>")
    for name, value in (("Environment", record["environment"]), ("Operation", record["operation"]),
                        ("Outcome", record["outcome"]), ("Started (UTC)", record["started"]), ("Ended (UTC)", record["ended"]),
                        ("Run by", record["user"]), ("Command", record["command"] or "(not shown: it could not be shown safely)"),
                        ("Collection", record["versions"]["collection"]), ("ansible-core", record["versions"]["ansible_core"]),
                        ("Record id", record["id"]), ("Audit-trail lines", ", ".join(record["audit_lines"]) or "none")):
        out.append("<tr><th>%s</th><td><code>%s</code></td></tr>" % (_e(name), _e(value)))
    units = record["units"]
    window = ("%.1f s" % units["stopped_seconds"]) if units["stopped_seconds"] is not None else "no units were stopped"
    out.append("<tr><th>Units stopped</th><td>%s (%s; strategy %s)</td></tr></table>"
               % (_e(window), _e(", ".join(units["services"]) or "none managed"), _e(units["strategy"] or "n/a")))

    out.append('<h2>Columns</h2><p class="legend">Values by key fingerprint:<span style="background:%s"></span>before'
               '<span style="background:%s"></span>after</p>' % (BEFORE_COLOUR, AFTER_COLOUR))
    for column in record["columns"]:
        name = "%s.%s" % (column["table"], column["column"])
        checked = column["checked"]
        out.append('<div class="column" data-column="%s" data-checked="%s"><h3>%s <small>(%s%s)</small></h3>'
                   % (_e(name), "true" if checked else "false", _e(name), _e(column["keyed_by"]),
                      "" if checked else ", not checked by this run: counted, not opened"))
        out.append(chart(column))
        out.append('<p>Before: %s. After: %s. Plaintext: %d. No key opens: %d. '
                   'Left under a retired key: <span class="retired" data-retired="%d"%s>%d</span>.</p></div>'
                   % (_e(_counts_text(column["before"])), _e(_counts_text(column["after"])), column["plaintext"],
                      column["unknown"], column["left_under_retired"],
                      ' style="color:%s;font-weight:bold"' % RETIRED_COLOUR if column["left_under_retired"] else "",
                      column["left_under_retired"]))
    if not record["columns"]:
        out.append("<p>No column was counted.</p>")

    out.append('<h2>Keys</h2><table id="keys"><tr><th>Key</th><th>Fingerprint</th><th>Created</th><th>Age (days)</th>'
               '<th>Schedule (days)</th><th>Escrow</th></tr>')
    for key in record["keys"]:
        escrow = key["escrow"]
        where = ["vault %s%s" % (escrow["vault_file"], "" if escrow["in_vault"] else " (NOT in it)")]
        if escrow["gpg_file"]:
            where.append("gpg %s%s" % (escrow["gpg_file"], "" if escrow["gpg_present"] else " (missing)"))
        age = "unknown" if key["age_days"] is None else str(key["age_days"])
        out.append('<tr><td>%s</td><td><code>%s</code></td><td>%s</td><td class="n%s">%s%s</td><td class="n">%d</td><td>%s</td></tr>'
                   % (_e(key["name"]), _e(key["fingerprint"] or "none"), _e(key["created"] or "not recorded"),
                      " overdue" if key["overdue"] else "", _e(age), " (overdue)" if key["overdue"] else "",
                      key["rotation_days"], _e("; ".join(where))))
    out.append("</table>")

    discovery = record["discovery"]
    out.append("<h2>Discovery (columns outside the covered ones)</h2>")
    if discovery["columns"]:
        out.append("<table><tr><th>Column</th><th>Values by key</th><th>No key opens</th></tr>")
        for column in discovery["columns"]:
            out.append('<tr><td>%s.%s</td><td>%s</td><td class="n">%d</td></tr>'
                       % (_e(column["table"]), _e(column["column"]), _e(_counts_text(column["by_key"])), column["unknown"]))
        out.append("</table>")
    else:
        out.append("<p>No token found outside the covered columns.</p>")
    if discovery["ignored"]:
        out.append("<p>Not read (webops_discovery_ignore): %s</p>" % _e("; ".join(
            "%s.%s (%s)" % (i["table"], i["column"], i["reason"]) for i in discovery["ignored"])))
    out.append("<p><small>Schema %s version %d. The record's SHA-256 is in the audit trail's evidence line.</small></p>"
               % (_e(record["schema"]), record["schema_version"]))
    out.append("</body></html>\n")
    return "\n".join(out)
