# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The evidence report as an auditor opens it: the HTML file in a real browser (Debian's chromium,
headless, with the network off). The status and its reasons are at the top and each column's chart
shows the record's figures before and after, by key fingerprint."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import shutil
import subprocess

import pytest

from ansible_collections.webops.encryption.plugins.module_utils import _evidence as evidence

try:
    from html.parser import HTMLParser
except ImportError:  # pragma: no cover - Python 2 is not supported by the tests
    HTMLParser = object

pytestmark = [pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
OLD, NEW, RETIRED = "sha256:1111111111111111", "sha256:2222222222222222", "sha256:3333333333333333"


class Dom(HTMLParser):
    """The text of the status box and every chart bar of a DOM chromium dumped."""

    def __init__(self):
        HTMLParser.__init__(self)
        self.status, self.bars, self.columns, self._in_status, self._column = [], [], [], 0, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id") == "status":
            self._in_status = 1
            self.status_class = attrs.get("class")
        elif self._in_status and tag == "div":
            self._in_status += 1
        if attrs.get("data-column"):
            self._column = attrs["data-column"]
            self.columns.append(self._column)
        if tag == "rect" and attrs.get("data-side"):
            self.bars.append((self._column, attrs["data-side"], attrs["data-key"], int(attrs["data-count"]), int(attrs["width"])))

    def handle_endtag(self, tag):
        if self._in_status and tag == "div":
            self._in_status -= 1

    def handle_data(self, data):
        if self._in_status:
            self.status.append(data)


def dump_dom(path):
    # No network at all: the report must render from the file alone.
    run = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--proxy-server=127.0.0.1:9",
                          "--virtual-time-budget=2000", "--dump-dom", "file://" + path],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    dom = Dom()
    dom.feed(run.stdout)
    return dom


def test_the_report_renders_its_status_and_every_columns_figures_in_chromium(tmp_path):
    if CHROMIUM is None:
        pytest.skip("needs Debian's chromium: apt-get install -y chromium")
    record = evidence.build_record(dict(
        operation="rotate_keys", environment="prod", started="2026-12-07T01:00:00Z", user="alice@bastion",
        command="ansible-playbook playbooks/rotate_keys.yml -e env=prod", outcome="success", current=[NEW],
        before=dict(labels={"old": OLD, "r": RETIRED}, columns=[
            dict(table="core_webhook", column="secret", by_key={"old": 12, "r": 3}),
            dict(table="databases", column="password", by_key={"old": 9})]),
        after=dict(labels={"current": NEW, "r": RETIRED}, columns=[
            dict(table="core_webhook", column="secret", by_key={"current": 13, "r": 2}),
            dict(table="databases", column="password", by_key={"current": 9})]),
        keys=[dict(name="ENCRYPTION_KEY", fingerprint=NEW, created="2026-12-07T01:00:00Z", age_days=0, rotation_days=90,
                   escrow=dict(vault_file="/ops/group_vars/prod/vault.yml", in_vault=True))],
    ), ended="2026-12-07T01:05:00Z")
    written = evidence.write_record(str(tmp_path / "evidence"), record)

    dom = dump_dom(written["html"])
    status = " ".join(" ".join(dom.status).split())
    assert dom.status_class == "status incomplete"
    assert status.startswith("incomplete") and "core_webhook.secret: 2 value(s) left under a retired key." in status
    assert dom.columns == ["core_webhook.secret", "databases.password"]
    figures = dict(((column, side, key), count) for column, side, key, count, _width in dom.bars)
    assert figures == {
        ("core_webhook.secret", "before", OLD): 12, ("core_webhook.secret", "after", OLD): 0,
        ("core_webhook.secret", "before", RETIRED): 3, ("core_webhook.secret", "after", RETIRED): 2,
        ("core_webhook.secret", "before", NEW): 0, ("core_webhook.secret", "after", NEW): 13,
        ("databases.password", "before", OLD): 9, ("databases.password", "after", OLD): 0,
        ("databases.password", "before", NEW): 0, ("databases.password", "after", NEW): 9,
    }
    # Bars are drawn to scale within a chart: the longest is the largest count.
    widths = dict(((column, side, key), width) for column, side, key, _count, width in dom.bars)
    assert widths[("core_webhook.secret", "after", NEW)] > widths[("core_webhook.secret", "before", OLD)] > \
        widths[("core_webhook.secret", "before", RETIRED)] > 0
    assert widths[("core_webhook.secret", "after", OLD)] == 0
