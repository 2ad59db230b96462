# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""engine.rotate / engine.audit against real SQLite files and a real PostgreSQL 15 server."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from cryptography.fernet import Fernet

from support import webops_db
from support.engine_api import by_column, plaintexts, run, seeded, specs
from support.keys import new_key
from support.leaks import assert_no_secrets
from ansible_collections.webops.encryption.plugins.module_utils import _db as db
from ansible_collections.webops.encryption.plugins.module_utils import columns, engine

TOKEN_COLUMNS = ["%s.%s" % (table, column) for table, column, _kind in webops_db.TOKEN_COLUMNS]


def test_rotate_every_column_keeps_every_plaintext(db_url):
    old = seeded(db_url, users=40)
    new = new_key()
    before = webops_db.digest(db_url, [old])
    census_before = webops_db.census(db_url, [old])

    raw_before = webops_db.raw_digest(db_url)
    planned = run("rotate", db_url, new, [old], workers=2, batch_size=7, check_mode=True)
    assert webops_db.raw_digest(db_url) == raw_before, "check mode wrote something"

    done = run("rotate", db_url, new, [old], workers=2, batch_size=7)
    assert done["changed"] and planned["changed"]
    # Check mode counted exactly what the run did.
    for field in ("total", "already_current", "rotated", "plaintext", "empty", "unknown", "rows_written"):
        assert planned["totals"][field] == done["totals"][field], field
    assert webops_db.raw_digest(db_url) != raw_before

    # Every token in all token columns (each sensitive key of every JSON row too) opens with the new key,
    # to the same plaintext.
    assert webops_db.not_under(db_url, new) == []
    assert webops_db.digest(db_url, [new], include_unknown=False) == before
    found = by_column(done)
    assert sorted(found) == sorted(TOKEN_COLUMNS)
    for name in TOKEN_COLUMNS:
        tokens = sum(n for where, n in census_before[name].items() if where == 0)
        assert found[name]["rotated"] == tokens, name
    assert found["core_two_factor_auth.secret"]["plaintext"] == 2
    assert found["automation_data_source_credentials.credentials"]["rotated"] > found[
        "automation_data_source_credentials.credentials"]["rows"]  # several tokens per JSON row

    audit = run("audit", db_url, {"current": new, "old": old})
    assert audit["totals"]["by_key"] == {"current": done["totals"]["rotated"], "old": 0}
    assert audit["totals"]["unknown"] == 0
    config = by_column(audit)["core_configuration.value"]
    assert config["keyed_by"] == "SECRET_KEY" and config["unverified"] == 2

    # The check pass names its counts by key fingerprint (an evidence record's counts after a rotation).
    old_fp, new_fp = planned["old_key_fingerprints"][0], planned["new_key_fingerprint"]
    for column in planned["columns"]:
        assert column["by_key"] == ({old_fp: column["rotated"]} if column["rotated"] else {}), column["column"]
    checked = run("rotate", db_url, new, [old], workers=1, batch_size=50, check_mode=True)
    for column in checked["columns"]:
        assert column["by_key"] == ({new_fp: column["already_current"]} if column["already_current"] else {}), column["column"]
    assert sum(sum(c["by_key"].values()) for c in checked["columns"]) == done["totals"]["rotated"]

    again = run("rotate", db_url, new, [old], workers=1, batch_size=1000)
    assert not again["changed"]
    assert again["totals"]["rotated"] == 0 and again["totals"]["already_current"] == done["totals"]["rotated"]
    assert webops_db.digest(db_url, [new]) == before

    secrets = plaintexts(db_url, [new])
    for result in (planned, done, audit, checked, again):
        assert_no_secrets(result, [old, new], secrets)


def test_unknown_tokens_fail_before_any_write(db_url):
    old = seeded(db_url, users=12, unknown=3)
    new = new_key()
    raw = webops_db.raw_digest(db_url)
    with pytest.raises(engine.UnknownTokens) as caught:
        run("rotate", db_url, new, [old], batch_size=5, workers=2)
    assert webops_db.raw_digest(db_url) == raw, "nothing may be written"
    details = dict(("%s.%s" % (d["table"], d["column"]), d) for d in caught.value.details)
    assert sorted(details) == ["core_webhook.secret", "databases.api_key"]
    assert details["core_webhook.secret"]["ids"] == [10, 11, 12]
    assert "core_webhook.secret: 3 (ids 10, 11, 12)" in str(caught.value)
    assert_no_secrets(str(caught.value), [old, new], plaintexts(db_url, [old]))

    # skip: the rest is rotated, the unknown rows stay exactly as they were and are reported.
    before = webops_db.digest(db_url, [old])
    done = run("rotate", db_url, new, [old], on_unknown="skip", batch_size=5, workers=1)
    assert by_column(done)["core_webhook.secret"]["unknown_ids"] == [10, 11, 12]
    assert done["totals"]["unknown"] == 6
    assert webops_db.digest(db_url, [new]) == before
    audit = run("audit", db_url, {"new": new})
    assert by_column(audit)["databases.api_key"]["unknown_ids"] == [10, 11, 12]


def test_second_run_is_refused_while_one_holds_the_lock(db_url):
    old = seeded(db_url, users=3)
    with db.connect(db_url) as holder:
        with holder.lock():
            with pytest.raises(engine.LockHeld) as caught:
                run("rotate", db_url, new_key(), [old])
            assert "another webops.encryption run" in str(caught.value)
    # Released: the next run goes ahead.
    assert run("rotate", db_url, new_key(), [old])["changed"]


def test_encrypt_plaintext_and_never_twice(db_url):
    old = seeded(db_url, users=12, legacy_plaintext=3, unknown=2)
    key = new_key()
    # Half the data moves to `key`, so `old` becomes the "other key" for encrypt.
    run("rotate", db_url, key, [old], on_unknown="skip")
    with db.connect(db_url) as adapter:
        adapter.update_batch(*_first_token_row(adapter, old, "core_github_connection", "access_token"))
    before = webops_db.digest(db_url, [key, old])

    planned = run("encrypt", db_url, key, other_keys=[old], check_mode=True)
    raw = webops_db.raw_digest(db_url)
    done = run("encrypt", db_url, key, other_keys=[old], workers=2, batch_size=4)
    assert webops_db.raw_digest(db_url) != raw
    for field in ("total", "already_encrypted", "newly_encrypted", "other_key", "empty", "unknown", "rows_written"):
        assert planned["totals"][field] == done["totals"][field], field
    found = by_column(done)
    assert found["core_two_factor_auth.secret"]["newly_encrypted"] == 3
    assert found["core_webhook.secret"]["newly_encrypted"] == 3
    assert found["core_webhook.secret"]["unknown"] == 2
    assert found["core_github_connection.access_token"]["other_key"] == 1
    assert webops_db.digest(db_url, [key, old]) == before
    census = webops_db.census(db_url, [key, old])
    assert "plain" not in census["core_two_factor_auth.secret"]
    assert census["core_github_connection.access_token"].get(1) == 1  # still under the other key, not re-encrypted

    again = run("encrypt", db_url, key, other_keys=[old])
    assert not again["changed"] and again["totals"]["newly_encrypted"] == 0
    assert_no_secrets(done, [key, old], plaintexts(db_url, [key, old]))


def _first_token_row(adapter, key, table, column):
    """(spec, info, rows) that put one row of table.column back under ``key``."""
    spec = [s for s in specs() if (s.table, s.column) == (table, column)][0]
    info = adapter.column_info(spec)
    pk, current = next(adapter.iter_batches(spec, info, 1))[0]
    return spec, info, [(pk, current, Fernet(key.encode()).encrypt(b"gho_moved-back-to-the-old-key").decode())]


def test_where_condition_and_bad_input(db_url):
    old = seeded(db_url, users=6)
    new = new_key()
    extra = [{"table": "databases", "column": "password", "where": "is_deleted = %s" % ("false" if "postgresql" in db_url else "0")}]
    with db.connect(db_url) as adapter:
        result = engine.rotate(adapter, columns.resolve("none", extra), new, [old])
    assert result["totals"]["rotated"] == 5  # ids 1..6, id 5 is soft-deleted
    # A condition with '%' (psycopg's placeholder sign) reaches the database as written.
    with db.connect(db_url) as adapter:
        result = engine.rotate(adapter, columns.resolve("none", [{"table": "core_github_connection", "column": "access_token",
                                                                  "where": "username LIKE 'gh1%'"}]), new, [old])
    assert result["totals"]["rotated"] == 1
    with pytest.raises(ValueError):
        columns.resolve("none", [{"table": "databases", "column": "password", "where": "1=1; DROP TABLE databases"}])
    with pytest.raises(engine.DatabaseError) as caught:
        with db.connect(db_url) as adapter:
            engine.rotate(adapter, columns.resolve("none", [{"table": "no_such_table", "column": "x"}]), new, [old])
    assert "no_such_table" in str(caught.value)
    # pk must be unique (keyset pagination); a unique column other than the primary key will do.
    with pytest.raises(engine.DatabaseError) as caught:
        with db.connect(db_url) as adapter:
            engine.rotate(adapter, columns.resolve("none", [{"table": "databases", "column": "password", "pk": "name"}]), new, [old])
    assert "databases.name is neither the primary key nor covered by a unique index" in str(caught.value)
    with db.connect(db_url) as adapter:
        result = engine.rotate(adapter, columns.resolve("none", [{"table": "core_two_factor_auth", "column": "secret",
                                                                  "pk": "user_id"}]), new, [old], batch_size=2)
    assert result["totals"]["rotated"] == 4 and result["totals"]["plaintext"] == 2
    with pytest.raises(engine.InvalidArgument):
        run("rotate", db_url, new, [new])
    with pytest.raises(engine.InvalidArgument) as caught:
        run("rotate", db_url, "not-a-key", [old])
    assert "not-a-key" not in str(caught.value)


def test_array_literals_round_trip_through_postgresql(pg_url):
    values = ["gAAAAA-_=", "NULL", "null", 'a"b', "c\\d", "", "x y", "{}", "a,b", "pässwörd-日本", "'quoted'", " lead", "\t"]
    with db.connect(pg_url) as adapter:
        assert [row[0] for row in adapter._fetch("SELECT unnest(%s::text[])", (db.array_literal(values),))] == values
        assert [row[0] for row in adapter._fetch("SELECT unnest(%s::bigint[])", (db.array_literal([1, 2 ** 40]),))] == [1, 2 ** 40]
