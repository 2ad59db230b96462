# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""engine.discover against real SQLite files and a real PostgreSQL server: tokens outside the
covered columns, by key, with the entry that covers them; nothing written."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from cryptography.fernet import Fernet

from support import webops_db
from support.discovery_db import LOST_ROWS, add_foreign_tables
from support.engine_api import by_column, run, seeded
from support.keys import new_key
from support.leaks import assert_no_secrets
from ansible_collections.webops.encryption.plugins.module_utils import fernet as fernet_utils


def _fp(key):
    return fernet_utils.parse_key(key).fingerprint


def test_discovery_finds_every_uncovered_token_column(db_url):
    key = seeded(db_url, users=6)
    lost, spare = new_key(), new_key()
    expected = add_foreign_tables(db_url, key, lost)
    raw = webops_db.raw_digest(db_url)

    result = run("discover", db_url, {"current": key, "next": spare}, batch_size=3)
    assert webops_db.raw_digest(db_url) == raw
    found = by_column(result)
    # The profile's columns are covered, so never listed; the chatter that only mentions the mark is no token.
    lost_columns = ["legacy_notes.body"] + (["legacy_codes.code"] if db_url.startswith("postgres") else [])
    assert sorted(found) == sorted(list(expected) + lost_columns)
    for name, count in expected.items():
        assert found[name]["by_key"] == {_fp(key): count}, name
        assert found[name]["by_name"] == {"current": count}
        assert found[name]["unknown"] == 0 and found[name]["ids"][:3] == [1, 2, 3]
    notes = found["legacy_notes.body"]
    assert notes["by_key"] == {} and notes["unknown"] == LOST_ROWS and notes["unknown_ids"] == list(range(1, LOST_ROWS + 1))
    # The entry to add to webops_database_columns, JSON members named.
    assert found["plugins_vault_item.sealed"]["entry"] == {"table": "plugins_vault_item", "column": "sealed", "pk": "id"}
    assert found["integrations.settings"]["entry"]["json_keys"] == "^(webhook_key)$"
    nested = found["integrations.plain_settings"]
    assert nested["unreachable"] == nested["tokens"] and nested["notes"]
    if db_url.startswith("postgres"):
        assert found["integrations.settings"]["data_type"] == "jsonb"
        assert nested["data_type"] == "json"
        assert found["billing.cards.pan_token"]["entry"]["table"] == "billing.cards"
    if db_url.startswith("postgres"):
        assert found["legacy_codes.code"]["data_type"] == "bpchar" and found["legacy_codes.code"]["unknown"] == 2
    assert result["totals"]["unknown"] == LOST_ROWS + (2 if db_url.startswith("postgres") else 0)
    assert_no_secrets(result, [key, lost, spare], ["vault secret 1", "note 1", "hook 1", "4111 1"])


def test_discovery_ignores_listed_columns_and_covered_extras(db_url):
    key = seeded(db_url, users=3)
    add_foreign_tables(db_url, key, new_key())
    from ansible_collections.webops.encryption.plugins.module_utils import _db as db, columns, engine
    covered = columns.resolve("webops", [{"table": "plugins_vault_item", "column": "sealed"}])
    with db.connect(db_url) as adapter:
        result = engine.discover(adapter, covered, [("current", key)],
                                 ignore=[{"table": "legacy_notes", "column": "body", "reason": "old demo data"}])
    names = sorted(by_column(result))
    assert "plugins_vault_item.sealed" not in names and "legacy_notes.body" not in names
    assert result["ignored"] == [{"table": "legacy_notes", "column": "body", "reason": "old demo data"}]


def test_discovery_reads_citext_and_domain_columns_postgresql(pg_url):
    key = seeded(pg_url, users=3)
    lost = new_key()
    current, other = Fernet(key.encode("ascii")), Fernet(lost.encode("ascii"))
    with webops_db.Database(pg_url) as db:
        for statement in [
                "CREATE EXTENSION citext",
                "CREATE DOMAIN sealed_text AS text CHECK (VALUE <> '')",
                "CREATE DOMAIN short_seal AS varchar(300)",
                "CREATE DOMAIN strict_seal AS short_seal NOT NULL",  # a domain over a domain
                "CREATE DOMAIN settings_doc AS jsonb",
                "CREATE DOMAIN ci_seal AS citext",
                "CREATE SCHEMA crm",
                "CREATE TABLE crm.typed_secrets (id integer PRIMARY KEY, a sealed_text, b strict_seal, "
                "c settings_doc, d citext, e ci_seal)"]:
            db.execute(statement)
        db.executemany("INSERT INTO crm.typed_secrets (id, a, b, c, d, e) VALUES (?, ?, ?, ?, ?, ?)", [
            (i, current.encrypt(b"a %d" % i).decode(), current.encrypt(b"b %d" % i).decode(),
             json.dumps({"api_key": current.encrypt(b"c %d" % i).decode()}), other.encrypt(b"d %d" % i).decode(),
             current.encrypt(b"e %d" % i).decode()) for i in range(1, 4)])
        db.commit()

    found = by_column(run("discover", pg_url, {"current": key}))
    types = dict((name, found[name]["data_type"]) for name in found if name.startswith("crm."))
    assert types == {"crm.typed_secrets.a": "sealed_text (domain over text)",
                     "crm.typed_secrets.b": "strict_seal (domain over varchar)",
                     "crm.typed_secrets.c": "settings_doc (domain over jsonb)",
                     "crm.typed_secrets.d": "citext",
                     "crm.typed_secrets.e": "ci_seal (domain over citext)"}
    for name in ("a", "b", "c", "e"):
        assert found["crm.typed_secrets." + name]["by_name"] == {"current": 3}, name
    assert found["crm.typed_secrets.d"]["unknown"] == 3 and found["crm.typed_secrets.d"]["unknown_ids"] == [1, 2, 3]
    assert found["crm.typed_secrets.c"]["entry"]["json_keys"] == "^(api_key)$"
    # fernet_rotate refuses these types: the finding says what to change first.
    for name in types:
        assert any("ALTER COLUMN" in note for note in found[name]["notes"]), name


def test_fernet_discover_module_fails_on_named_keys_in_check_mode_too(db_url, tmp_path):
    from support.ansible_runs import run_tasks, write_env
    key = seeded(db_url, users=3)
    lost = new_key()
    add_foreign_tables(db_url, key, lost)
    raw = webops_db.raw_digest(db_url)
    env_file = write_env(tmp_path / ".env", DATABASE_URL=db_url, ENCRYPTION_KEY=key)
    tasks = [
        {"name": "report", "webops.encryption.fernet_discover": {"env_file": env_file}},
        {"name": "refuse", "webops.encryption.fernet_discover": {"env_file": env_file, "fail_on_keys": ["current"],
                                                                 "fail_on_unknown": True}, "ignore_errors": True},
        {"name": "no reason", "webops.encryption.fernet_discover": {
            "env_file": env_file, "ignore": [{"table": "legacy_notes", "column": "body"}]}, "ignore_errors": True},
    ]
    # No progress lines (a loaded machine may cross the interval): they would break the JSON output.
    results, proc = run_tasks(tmp_path, tasks, {"webops_progress_interval": 0}, check=True)
    assert webops_db.raw_digest(db_url) == raw
    report = results["report"]
    assert not report["changed"] and report["fingerprints"] == {"current": _fp(key)}
    assert "plugins_vault_item.sealed" in ["%s.%s" % (c["table"], c["column"]) for c in report["columns"]]
    refused = results["refuse"]
    assert refused["failed"] and "plugins_vault_item.sealed (40, ids" in refused["msg"]
    assert "legacy_notes.body (%d, ids" % LOST_ROWS in refused["msg"] and "ignore" in refused["msg"]
    assert results["no reason"]["failed"] and "reason" in results["no reason"]["msg"]
    assert key not in proc.stdout and lost not in proc.stdout


def _run_refusal_then_rotation(set_up_site, url):
    from support.discovery_db import covering_entries, foreign_digest, opened_by
    from support.playbook_site import Environment, step_of
    site = set_up_site(Environment, url, hosts=())
    lost = new_key()
    expected = add_foreign_tables(url, site.first_key, lost)
    env_before, db_before, foreign_before = site.env_bytes(), site.database_state(), foreign_digest(url)

    result = site.run("rotate_keys.yml")
    assert result.returncode != 0 and step_of(result.stdout) == 1, result.stdout[-4000:]
    # Every column under the key being retired is named, with both ways out; the one under a key
    # nobody holds does not block a rotation (it is lost already, and verify_keys reports it).
    for name in expected:
        assert name in result.stdout, name
    assert "legacy_notes.body" not in result.stdout
    assert "webops_database_columns" in result.stdout and "webops_discovery_ignore" in result.stdout
    assert site.env_bytes() == env_before and site.database_state() == db_before and foreign_digest(url) == foreign_before
    assert "webops_encryption_key_next" not in site.vault_data()

    # verify_keys fails on the values no held key opens and names their column; setup_encryption reports.
    result = site.run("verify_keys.yml")
    assert result.returncode != 0 and "legacy_notes.body" in result.stdout, result.stdout[-4000:]
    assert "under a key no longer held" in result.stdout
    result = site.run("setup_encryption.yml")
    assert result.returncode == 0, result.stdout[-4000:]
    assert "Discovery:" in result.stdout and "plugins_vault_item.sealed" in result.stdout
    assert site.env_bytes() == env_before and foreign_digest(url) == foreign_before

    # The columns added, the nested tokens no entry can reach ignored with a reason: the rotation
    # re-encrypts the added columns, and every value there opens with the new key.
    ignore = [{"table": "integrations", "column": "plain_settings", "reason": "nested test tokens, kept on purpose"}]
    result = site.run("rotate_keys.yml", webops_database_columns=covering_entries(url), webops_discovery_ignore=ignore)
    assert result.returncode == 0, result.stdout[-4000:]
    new = site.assert_rotated_to_current()
    opened = opened_by(url, new)
    assert all(count == total > 0 for count, total in opened.values()), opened
    assert len(opened) == len(covering_entries(url))
    rotation = [line for line in site.log_lines() if line.get("operation") == "rotate" and line.get("outcome") == "success"][-1]
    assert rotation["details"]["discovery_ignored"] == ignore


def test_rotate_keys_refuses_uncovered_columns_then_rotates_them_sqlite(set_up_site, sqlite_url):
    _run_refusal_then_rotation(set_up_site, sqlite_url)


def test_rotate_keys_refuses_uncovered_columns_then_rotates_them_postgresql(set_up_site, pg_url):
    _run_refusal_then_rotation(set_up_site, pg_url)
