# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""engine.purge_unreadable: the guide's disaster recovery, on SQLite and PostgreSQL."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import stat

from cryptography.fernet import Fernet

from support import webops_db
from support.engine_api import by_column, plaintexts, run, seeded, specs
from support.keys import new_key
from support.leaks import assert_no_secrets
from ansible_collections.webops.encryption.plugins.module_utils import _db as db


def _make_unreadable(url, lost):
    """Put one 2FA secret and one JSON credential under the lost key too (the seed puts webhook
    secrets and database API keys there)."""
    stranger = Fernet(lost.encode("ascii"))
    with db.connect(url) as adapter:
        for spec in specs():
            if spec.name == "core_two_factor_auth.secret":
                info = adapter.column_info(spec)
                pk, value = next(adapter.iter_batches(spec, info, 1))[0]
                adapter.update_batch(spec, info, [(pk, value, stranger.encrypt(b"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").decode())])
            if spec.name == "automation_data_source_credentials.credentials":
                info = adapter.column_info(spec)
                pk, text = next(adapter.iter_batches(spec, info, 1))[0]
                document = json.loads(text)
                document["api_key"] = stranger.encrypt(b"lost-api-key").decode()
                adapter.update_batch(spec, info, [(pk, text, json.dumps(document))])


def test_recover_exports_then_clears_what_no_key_opens(db_url, tmp_path):
    lost = new_key()
    key = seeded(db_url, users=10, unknown=2, unknown_key=lost)
    _make_unreadable(db_url, lost)
    assert webops_db.census(db_url, [key])["core_two_factor_auth.secret"] == {"unknown": 1, "plain": 1, 0: 8}
    export = str(tmp_path / "unreadable.jsonl")
    raw = webops_db.raw_digest(db_url)

    planned = run("purge_unreadable", db_url, key, export, check_mode=True)
    assert webops_db.raw_digest(db_url) == raw and not os.path.exists(export), "check mode wrote something"
    assert planned["changed"] and planned["exported"] == 5
    columns = by_column(planned)
    assert columns["core_two_factor_auth.secret"]["deleted"] == 1
    assert columns["core_webhook.secret"]["reset"] == 2
    assert columns["databases.api_key"]["cleared"] == 1  # id 9's API key is empty, id 10's is lost
    assert columns["automation_data_source_credentials.credentials"]["cleared"] == 1

    done = run("purge_unreadable", db_url, key, export)
    for field in ("deleted", "reset", "cleared", "unreadable", "readable"):
        assert done["totals"][field] == planned["totals"][field], field
    # The export holds every unreadable value, and only the lost key opens them.
    assert stat.S_IMODE(os.stat(export).st_mode) == 0o600
    with open(export, encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    assert len(records) == 5
    stranger = Fernet(lost.encode("ascii"))
    assert all(stranger.decrypt(r["value"].encode()) for r in records)
    assert {"table": "automation_data_source_credentials", "column": "credentials", "pk": 1, "json_key": "api_key"} == dict(
        (k, v) for k, v in [r for r in records if "json_key" in r][0].items() if k != "value")

    census = webops_db.census(db_url, [key])
    assert not any("unknown" in counts for counts in census.values())
    assert census["core_two_factor_auth.secret"] == {"plain": 1, 0: 8}  # the lost one's row is gone
    fernet = Fernet(key.encode("ascii"))
    with webops_db.Database(db_url) as database:
        assert [r[0] for r in database.query("SELECT id FROM core_two_factor_auth WHERE id = 1")] == []
        for (secret,) in database.query("SELECT secret FROM core_webhook WHERE id IN (9, 10)"):
            assert re.match(r"^[0-9a-f]{64}$", fernet.decrypt(secret.encode()).decode())
        assert [r[0] for r in database.query("SELECT api_key FROM databases WHERE id IN (9, 10)")] == ["", ""]
    assert_no_secrets(done, [key, lost], plaintexts(db_url, [key]) | {"lost-api-key"})

    # Nothing left to do; the export is kept as it was.
    with open(export, encoding="utf-8") as handle:
        saved = handle.read()
    again = run("purge_unreadable", db_url, key, export)
    assert not again["changed"] and again["totals"]["unreadable"] == 0
    with open(export, encoding="utf-8") as handle:
        assert handle.read() == saved
