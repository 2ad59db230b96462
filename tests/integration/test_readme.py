# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The README's shell blocks, as written, from a fresh clone of the checkout in a fresh directory
(its own HOME). Each block is marked, in an HTML comment before it, ``readme-test: run`` or
``readme-test: skip (why)``; the ones that need real hosts or every suite are skipped."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import subprocess
import sys

import pytest

from support.paths import REPO

pytestmark = [pytest.mark.slow]

BLOCK = re.compile(r"(?:<!-- readme-test: (run|skip[^>]*) -->\n)?```(\w*)\n(.*?)```", re.S)


def readme_blocks():
    with open(os.path.join(REPO, "README.md")) as handle:
        text = handle.read()
    return BLOCK.findall(text)


def test_every_shell_block_says_whether_it_is_run():
    unmarked = [body for mark, lang, body in readme_blocks() if lang in ("bash", "sh", "shell") and not mark]
    assert not unmarked, unmarked


def test_the_readme_blocks_run_as_written_from_a_fresh_clone(tmp_path):
    clone, home = str(tmp_path / "checkout"), str(tmp_path / "home")
    os.makedirs(home)
    subprocess.run(["git", "clone", "-q", REPO, clone], check=True)
    venv_bin = os.path.dirname(sys.executable)
    environ = {
        "HOME": home, "PATH": venv_bin + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8", "ANSIBLE_NOCOLOR": "1",
        # The venv the tests run in stands for the one `make venv-runtime` would make in the clone.
        "VENV": os.path.dirname(venv_bin),
    }
    blocks = [body for mark, lang, body in readme_blocks() if mark == "run"]
    assert len(blocks) >= 2
    outputs = []
    for body in blocks:
        run = subprocess.run(["bash", "-euo", "pipefail", "-c", body], cwd=clone, env=environ, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, universal_newlines=True, timeout=900, check=False)
        assert run.returncode == 0, "%s\n---\n%s" % (body, run.stdout[-6000:])
        outputs.append(run.stdout)
    out = "\n".join(outputs)
    # make demo ran setup, the rotation and verify, and ended well.
    assert "demo: done." in out
    assert re.search(r"demo: would rotate|demo: rotated sha256:", out)
    # The tarball was installed where -p named, and found from outside the checkout.
    installed = os.path.join(home, "ansible", "collections", "ansible_collections", "webops", "encryption")
    assert os.path.isfile(os.path.join(installed, "MANIFEST.json"))
    assert "Nothing to do" not in out
    assert "webops.encryption.fernet_rotate" in out
    assert "playbook: " in out
    # Nothing the clone's git status does not ignore was left behind but the build's tarball.
    status = subprocess.run(["git", "status", "--porcelain"], cwd=clone, stdout=subprocess.PIPE, universal_newlines=True,
                            check=True).stdout.split("\n")
    assert [line for line in status if line and not line.endswith(".tar.gz")] == [], status
