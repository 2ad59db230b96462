# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Widening never narrows a column and never makes the table queue for long, on a real PostgreSQL:
a migration that widens a column while the run scans it keeps its width (the column is widened at
a point the scan reaches, through the engine's own scan callback), widths read before the scan
are never trusted, and a table held by someone else is given up after a short lock timeout with
nothing changed and a message that says to run again."""

import pytest

from ansible_collections.webops.encryption.plugins.module_utils import _db as db
from ansible_collections.webops.encryption.plugins.module_utils import columns, engine

from support import webops_db
from support.keys import new_key

WEBHOOK = columns.ColumnSpec("core_webhook", "secret")


def _narrow_database(url):
    webops_db.create_schema(url, narrow=True)
    with webops_db.Database(url) as database:
        database.executemany("INSERT INTO auth_user (id, username) VALUES (?, ?)", [(i, "user%d" % i) for i in (1, 2, 3)])
        database.executemany("INSERT INTO core_webhook (id, user_id, name, secret, is_active, is_deleted) VALUES (?, ?, ?, ?, ?, ?)",
                             [(i, i, "hook %d" % i, ("%064x" % (i * 7919)), True, False) for i in (1, 2, 3)])
        database.commit()


def _width(url, table="core_webhook"):
    with webops_db.Database(url) as database:
        return database.query("SELECT character_maximum_length, data_type FROM information_schema.columns "
                              "WHERE table_name = ? AND column_name = 'secret'", (table,))[0]


def _alter(url, statement):
    with webops_db.Database(url) as database:
        database.execute(statement)
        database.commit()


@pytest.mark.parametrize("migration, expected", [
    ("ALTER TABLE core_webhook ALTER COLUMN secret TYPE varchar(1000)", (1000, "character varying")),
    ("ALTER TABLE core_webhook ALTER COLUMN secret TYPE text", (None, "text")),
])
def test_a_column_a_migration_widened_during_the_scan_is_never_narrowed(pg_url, migration, expected, tally):
    _narrow_database(pg_url)
    key = new_key()
    migrated = []

    def scan_progress(table, _column, _rows, _total):
        # The scan read the width (64) before this batch: the migration lands now, before widening.
        if table == "core_webhook" and not migrated:
            _alter(pg_url, migration)
            migrated.append(True)

    with db.connect(pg_url) as adapter:
        result = engine.encrypt(adapter, [WEBHOOK], key, widen=True, workers=1, scan_progress=scan_progress)
    width = _width(pg_url)
    ok = migrated == [True] and width == expected and result["widened"] == [] and \
        result["columns"][0]["newly_encrypted"] == 3
    tally.fault("column widened by a migration during the scan (%s)" % expected[1], ok, repr((width, result["widened"])))
    assert migrated == [True]
    assert width == expected, "the column was narrowed back"
    assert result["widened"] == [] and result["columns"][0]["newly_encrypted"] == 3


def test_widening_with_stale_column_information_never_narrows(pg_url):
    _narrow_database(pg_url)
    with db.connect(pg_url) as adapter:
        stale = adapter.column_info(WEBHOOK)
        assert stale.max_length == 64
        _alter(pg_url, "ALTER TABLE core_webhook ALTER COLUMN secret TYPE varchar(1000)")
        done = adapter.widen_columns([(WEBHOOK, stale, 255)])
    assert done == [(WEBHOOK, 1000, 1000)]
    assert _width(pg_url) == (1000, "character varying")


def test_widening_gives_up_on_a_held_table_quickly_and_changes_nothing(pg_url, monkeypatch, tally):
    _narrow_database(pg_url)
    # The default is a few seconds; the rule under test is the same at any value.
    monkeypatch.setattr(db, "WIDEN_LOCK_TIMEOUT", "300ms")
    holder = webops_db.Database(pg_url)
    try:
        # The application's open transaction holds the table (a read takes ACCESS SHARE until commit).
        holder.query("SELECT count(*) FROM core_webhook")
        with db.connect(pg_url) as adapter:
            info = adapter.column_info(WEBHOOK)
            with pytest.raises(db.DatabaseError) as caught:
                adapter.widen_columns([(WEBHOOK, info, 255)])
    finally:
        holder.close()
    message = str(caught.value)
    ok = "could not lock core_webhook within 300ms" in message and "Nothing was changed; run again" in message
    tally.fault("table held by the application while widening (lock timeout)", ok, message[:160])
    assert ok, message
    assert _width(pg_url) == (64, "character varying")
