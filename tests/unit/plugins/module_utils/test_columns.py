# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Column specs, the webops profile, identifier and condition validation."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from support import webops_db
from ansible_collections.webops.encryption.plugins.module_utils import columns
from ansible_collections.webops.encryption.plugins.module_utils.columns import ColumnSpecError


def test_webops_profile_lists_every_token_column_of_the_facts():
    specs = columns.resolve("webops")
    rotated = [(s.table, s.column) for s in specs if s.uses_encryption_key]
    # The reference implementation's independent list (tests/support/webops_db.py, from the WebOps schema).
    assert sorted(rotated) == sorted((t, c) for t, c, _kind in webops_db.TOKEN_COLUMNS)
    config = [s for s in specs if s.table == "core_configuration"]
    assert len(config) == 1 and config[0].keyed_by == "SECRET_KEY" and config[0].where == "is_sensitive"
    rules = dict((s.name, s.on_lost) for s in specs)
    assert rules["core_two_factor_auth.secret"] == "delete_row"
    assert rules["core_webhook.secret"] == "new_secret"
    assert rules["databases.password"] == "clear"
    assert all(s.pk == "id" and s.where is None for s in specs if s.uses_encryption_key), "soft-deleted rows are rotated too"


@pytest.mark.parametrize("name, sensitive", [
    ("api_key", True), ("API_KEY", True), ("refresh_token", True), ("client_secret", True), ("private_key_pem", True),
    ("db_password", True), ("username", False), ("port", False), ("options", False), ("region", False),
])
def test_json_key_rule_matches_the_app(name, sensitive):
    spec = [s for s in columns.resolve("webops") if s.is_json][0]
    assert spec.json_key_matches(name) is sensitive
    assert webops_db.sensitive_json_key(name, "x") is sensitive


@pytest.mark.parametrize("name", ["", "1abc", "a-b", 'a"b', "a b", "x" * 64, "tbl;drop", None, 5])
def test_bad_identifiers_are_refused(name):
    with pytest.raises(ColumnSpecError):
        columns.ColumnSpec(name, "secret")
    with pytest.raises(ColumnSpecError):
        columns.ColumnSpec("t", name if name != "" else "-")


def test_identifiers_are_quoted():
    assert columns.quote_identifier("core_webhook") == '"core_webhook"'
    # A schema-qualified table (PostgreSQL), each part validated and quoted; never more than two parts.
    assert columns.quote_identifier("billing.cards") == '"billing"."cards"'
    assert columns.ColumnSpec("billing.cards", "pan_token").table == "billing.cards"
    for bad in ("a.b.c", "billing.", ".cards", 'billing."x"'):
        with pytest.raises(ColumnSpecError):
            columns.ColumnSpec(bad, "secret")
    assert columns.validate_identifier("x" * 63) == "x" * 63


@pytest.mark.parametrize("condition", ["a = 1; DROP TABLE t", "a = 1 -- x", "a = 1 /* x */", "  "])
def test_where_refuses_separators_and_comments(condition):
    with pytest.raises(ColumnSpecError):
        columns.resolve("none", [{"table": "t", "column": "c", "where": condition}])


def test_where_and_json_keys_are_kept():
    spec = columns.resolve("none", [{"table": "t", "column": "c", "where": " is_deleted = false ", "json_keys": "(?i)token"}])[0]
    assert spec.where == "is_deleted = false" and spec.is_json and spec.json_key_matches("MY_TOKEN")
    with pytest.raises(ColumnSpecError):
        columns.resolve("none", [{"table": "t", "column": "c", "json_keys": "("}])


def test_extra_columns_add_to_and_replace_profile_entries():
    specs = columns.resolve("webops", [{"table": "billing", "column": "api_secret"},
                                       {"table": "databases", "column": "password", "where": "is_deleted = false"}])
    names = [s.name for s in specs]
    assert names.count("databases.password") == 1 and "billing.api_secret" in names
    assert [s for s in specs if s.name == "databases.password"][0].where == "is_deleted = false"


def test_bad_specs():
    with pytest.raises(ColumnSpecError):
        columns.resolve("none")
    with pytest.raises(ColumnSpecError):
        columns.resolve("everything")
    with pytest.raises(ColumnSpecError):
        columns.resolve("none", [{"table": "t", "column": "c", "colour": "red"}])
    with pytest.raises(ColumnSpecError):
        columns.resolve("none", [{"table": "t"}])
    with pytest.raises(ColumnSpecError):
        columns.resolve("none", [{"table": "t", "column": "id"}])
    with pytest.raises(ColumnSpecError):
        columns.resolve("none", [{"table": "t", "column": "c", "on_lost": "shrug"}])
