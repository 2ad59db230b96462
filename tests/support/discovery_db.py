# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tables outside the WebOps columns that hold tokens, for the discovery tests: a plugin's vault
under the current key, a table under a key nobody holds, JSON and jsonb documents with tokens,
and (PostgreSQL) a table in a schema of its own. Encrypts with cryptography directly."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from cryptography.fernet import Fernet

from support import webops_db

VAULT_ROWS = 40
LOST_ROWS = 7
JSON_ROWS = 5
SCHEMA_ROWS = 6


def add_foreign_tables(url, key, unknown_key):
    """Create and fill the tables; returns {table.column: expected counts} as discovery names them."""
    current, lost = Fernet(key.encode("ascii")), Fernet(unknown_key.encode("ascii"))
    with webops_db.Database(url) as db:
        pg = db.backend == "postgresql"
        jsontype = "jsonb" if pg else "TEXT"
        statements = [
            "CREATE TABLE plugins_vault_item (id integer PRIMARY KEY, label varchar(80), sealed text)",
            "CREATE TABLE legacy_notes (id integer PRIMARY KEY, body varchar(400))",
            "CREATE TABLE integrations (id integer PRIMARY KEY, settings %s, plain_settings %s)"
            % (jsontype, "json" if pg else "TEXT"),
            "CREATE TABLE chatter (id integer PRIMARY KEY, note text)",
        ]
        if pg:
            # char(n): discovery reads it as the token it holds, padding aside (here under the lost key).
            statements += ["CREATE TABLE legacy_codes (id integer PRIMARY KEY, code char(150))",
                           "CREATE SCHEMA billing",
                           "CREATE TABLE billing.cards (id integer PRIMARY KEY, holder varchar(80), pan_token varchar(200))"]
        for statement in statements:
            db.execute(statement)
        db.executemany("INSERT INTO plugins_vault_item (id, label, sealed) VALUES (?, ?, ?)",
                       [(i, "item %d" % i, current.encrypt(b"vault secret %d" % i).decode()) for i in range(1, VAULT_ROWS + 1)])
        db.executemany("INSERT INTO legacy_notes (id, body) VALUES (?, ?)",
                       [(i, lost.encrypt(b"note %d" % i).decode()) for i in range(1, LOST_ROWS + 1)])
        db.executemany("INSERT INTO integrations (id, settings, plain_settings) VALUES (?, ?, ?)",
                       [(i, json.dumps({"region": "eu", "webhook_key": current.encrypt(b"hook %d" % i).decode(), "port": 443}),
                         json.dumps({"nested": {"token": current.encrypt(b"deep %d" % i).decode()}}))
                        for i in range(1, JSON_ROWS + 1)])
        # Text that mentions the mark but is no token: never counted.
        db.executemany("INSERT INTO chatter (id, note) VALUES (?, ?)",
                       [(1, "tokens start with gAAAAA, see the guide"), (2, "gAAAAA" + "x" * 120)])
        if pg:
            db.executemany("INSERT INTO legacy_codes (id, code) VALUES (?, ?)",
                           [(i, lost.encrypt(b"code %d" % i).decode()) for i in range(1, 3)])
            db.executemany("INSERT INTO billing.cards (id, holder, pan_token) VALUES (?, ?, ?)",
                           [(i, "holder %d" % i, current.encrypt(b"4111 %d" % i).decode()) for i in range(1, SCHEMA_ROWS + 1)])
        db.commit()
    expected = {"plugins_vault_item.sealed": VAULT_ROWS, "integrations.settings": JSON_ROWS,
                "integrations.plain_settings": JSON_ROWS}
    if url.startswith("postgres"):
        expected["billing.cards.pan_token"] = SCHEMA_ROWS
    return expected


# The webops_database_columns entries that cover the tables under the current key.
def covering_entries(url):
    entries = [{"table": "plugins_vault_item", "column": "sealed"},
               {"table": "integrations", "column": "settings", "json_keys": "^(webhook_key)$"}]
    if url.startswith("postgres"):
        entries.append({"table": "billing.cards", "column": "pan_token"})
    return entries


def foreign_digest(url):
    """Every stored value of the tables add_foreign_tables() made, as read back: any write changes it."""
    tables = ["plugins_vault_item", "legacy_notes", "integrations", "chatter"]
    if url.startswith("postgres"):
        tables += ["legacy_codes", "billing.cards"]
    with webops_db.Database(url) as db:
        return dict((table, db.query("SELECT * FROM %s ORDER BY id" % table)) for table in tables)


def opened_by(url, key):
    """{table.column: (values key opens, values)} of the covered foreign columns."""
    fernet = Fernet(key.encode("ascii"))

    def opens(token):
        try:
            fernet.decrypt(token.encode("ascii"))
            return True
        except Exception:  # InvalidToken: under another key
            return False

    found = {}
    with webops_db.Database(url) as db:
        sealed = [row[0] for row in db.query("SELECT sealed FROM plugins_vault_item")]
        found["plugins_vault_item.sealed"] = (sum(map(opens, sealed)), len(sealed))
        settings = [row[0] if isinstance(row[0], dict) else json.loads(row[0]) for row in db.query("SELECT settings FROM integrations")]
        found["integrations.settings"] = (sum(opens(s["webhook_key"]) for s in settings), len(settings))
        if db.backend == "postgresql":
            cards = [row[0] for row in db.query("SELECT pan_token FROM billing.cards")]
            found["billing.cards.pan_token"] = (sum(map(opens, cards)), len(cards))
    return found
