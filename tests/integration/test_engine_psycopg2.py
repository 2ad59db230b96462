# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The psycopg2 fallback (Debian's python3-psycopg2 on hosts without psycopg 3), where it is installed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from support import webops_db
from support.engine_api import run, seeded
from support.keys import new_key
from ansible_collections.webops.encryption.plugins.module_utils import _db as db
from ansible_collections.webops.encryption.plugins.module_utils import engine

psycopg2 = pytest.importorskip("psycopg2")


def test_rotation_through_psycopg2(pg_url, monkeypatch):
    monkeypatch.setattr(db, "psycopg", None)
    monkeypatch.setattr(db, "psycopg2", psycopg2)
    old = seeded(pg_url, users=12, unknown=2)
    new = new_key()
    before = webops_db.digest(pg_url, [old])
    with pytest.raises(engine.UnknownTokens):
        run("rotate", pg_url, new, [old])
    done = run("rotate", pg_url, new, [old], on_unknown="skip", workers=2, batch_size=5)
    assert done["totals"]["unknown"] == 4 and done["changed"]
    assert webops_db.digest(pg_url, [new]) == before
    with db.connect(pg_url) as holder:
        assert isinstance(holder.conn, psycopg2.extensions.connection)
        with holder.lock():
            with pytest.raises(engine.LockHeld):
                run("rotate", pg_url, new, [old], on_unknown="skip")
    assert not run("rotate", pg_url, new, [old], on_unknown="skip")["changed"]
