# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The documentation site as an operator opens it: from files, in a real browser (Debian's
chromium, headless). The landing page names the guides, the operator guide is one click away,
links (the logo's included) work from files, and no literal backticks render."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess

import pytest

from support.paths import REPO

try:
    from html.parser import HTMLParser
    from urllib.parse import urljoin, urlparse
except ImportError:  # pragma: no cover - Python 2 is not supported by the tests
    HTMLParser = object

pytestmark = [pytest.mark.slow]

HTML = os.path.join(REPO, ".tmp", "docs", "html")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Page(HTMLParser):
    """The rendered text (scripts and styles left out) and the links of a DOM chromium dumped."""

    def __init__(self):
        HTMLParser.__init__(self)
        self.text, self.links, self._skip, self._link = [], [], 0, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style"):
            self._skip += 1
        if tag == "a" and attrs.get("href") is not None:
            self._link = [attrs["href"], attrs.get("class") or "", []]
            self.links.append(self._link)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1
        if tag == "a":
            self._link = None

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)
            if self._link is not None:
                self._link[2].append(data)

    def link(self, words):
        for href, _cls, text in self.links:
            if words in " ".join("".join(text).split()):
                return href
        raise AssertionError("no link %r in %r" % (words, [("".join(t).strip(), h) for h, _c, t in self.links]))

    def words(self):
        return " ".join(" ".join(self.text).split())


def render(url):
    """The DOM chromium built for ``url`` (a file:// address), after its scripts ran."""
    run = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
                          "--virtual-time-budget=3000", "--dump-dom", url],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    page = Page()
    page.feed(run.stdout)
    return page


@pytest.fixture(scope="module")
def site():
    if CHROMIUM is None:
        pytest.skip("needs Debian's chromium: apt-get install -y chromium")
    sources = [os.path.join(REPO, "docs", "index.rst"), os.path.join(REPO, "docs", "conf.py")]
    index = os.path.join(HTML, "index.html")
    if not os.path.exists(index) or os.path.getmtime(index) < max(os.path.getmtime(p) for p in sources):
        subprocess.run(["bash", os.path.join(REPO, "scripts", "build_docs.sh")], check=True, timeout=1800)
    return index


def test_the_landing_page_leads_to_the_operator_guide_in_one_click_from_files(site):
    url = "file://" + site
    landing = render(url)
    text = landing.words()
    for guide in ("Operator guide", "Database guide", "Architecture", "Contributor guide"):
        assert guide in text, text[:3000]
    assert "start here" in text
    assert "``" not in text

    guide_url = urljoin(url, landing.link("Operator guide"))
    assert urlparse(guide_url).scheme == "file" and os.path.isfile(urlparse(guide_url).path), guide_url
    guide = render(guide_url)
    text = guide.words()
    assert "Operators" in text or "Operator" in text
    assert "webops_env_file" in text and "webops_controller_dir" in text
    # Inline literals render as code, never with their reStructuredText backticks.
    assert "``" not in text, [line for line in text.split(". ") if "``" in line][:5]

    # Every link back home (the logo, the breadcrumb's house) opens the landing page from files.
    homes = [href for href, cls, words in guide.links
             if "DocSite-nav" in cls or "icon-home" in cls]
    assert homes, guide.links[:20]
    for href in homes:
        target = urlparse(urljoin(guide_url, href))
        assert target.scheme == "file" and os.path.realpath(target.path) == os.path.realpath(site), href
