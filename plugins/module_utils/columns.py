# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which columns hold ciphertext: column specs, the built-in ``webops`` profile, and the
validation that keeps user-given names and conditions from reaching SQL unchecked.

Plain data and plain Python: the engine, the modules and the benchmark all read it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

PROFILES = ("webops", "none")

# Which key a column's tokens are under. ENCRYPTION_KEY columns are encrypted, rotated
# and recovered; SECRET_KEY columns are rotated and audited only through module_utils/secret_key.py.
KEYED_BY_ENCRYPTION_KEY = "ENCRYPTION_KEY"
KEYED_BY_SECRET_KEY = "SECRET_KEY"

# What fernet_recover does with a value no key opens.
ON_LOST_CLEAR = "clear"              # set it to '' (JSON: the value under that key)
ON_LOST_DELETE_ROW = "delete_row"    # delete the row (2FA: the user enables 2FA again)
ON_LOST_NEW_SECRET = "new_secret"    # a fresh random 64-hex secret, encrypted (webhooks are re-shared)
ON_LOST_CHOICES = (ON_LOST_CLEAR, ON_LOST_DELETE_ROW, ON_LOST_NEW_SECRET)

# Used with fullmatch: "$" alone would also match before a final newline.
_IDENTIFIER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_IDENTIFIER = 63
# Top-level JSON key names whose (truthy, string) values the app encrypts.
WEBOPS_JSON_KEYS = r"(?i)api_key|token|private_key|password|secret"


class ColumnSpecError(ValueError):
    """A column spec that cannot be used. The message says what to change."""


def validate_identifier(name, what="identifier"):
    """Return ``name`` if it is a plain SQL identifier, else raise ColumnSpecError."""
    if not isinstance(name, str) or not _IDENTIFIER_RE.fullmatch(name) or len(name) > MAX_IDENTIFIER:
        raise ColumnSpecError("%s %r is not a plain SQL identifier (letters, digits and '_', not starting with a digit, "
                              "at most %d characters)" % (what, name, MAX_IDENTIFIER))
    return name


# PostgreSQL's own schemas: the collection never reads or writes their tables.
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema")


def validate_table(name):
    """Return ``name`` if it is a table name: a plain identifier, or ``schema.table`` (PostgreSQL)
    outside the system schemas."""
    if isinstance(name, str) and name.count(".") == 1:
        schema, _table = name.split(".")
        for part in name.split("."):
            validate_identifier(part, "table")
        if schema.lower() in SYSTEM_SCHEMAS or schema.lower().startswith("pg_"):
            raise ColumnSpecError("invalid table %r: %s is a system schema; name a table of the application's "
                                  "schema" % (name, schema))
        return name
    return validate_identifier(name, "table")


def quote_identifier(name):
    """Double-quote a validated identifier, or each part of a ``schema.table`` name (validation
    leaves no quote to escape)."""
    if isinstance(name, str) and name.count(".") == 1:
        return ".".join('"%s"' % validate_identifier(part) for part in name.split("."))
    return '"%s"' % validate_identifier(name)


def validate_where(condition):
    """``where`` is operator-written SQL: allow one condition, refuse statement separators and comments."""
    if condition is None:
        return None
    if not isinstance(condition, str) or not condition.strip():
        raise ColumnSpecError("where must be a non-empty SQL condition or left out")
    for bad, label in ((";", "';'"), ("--", "'--' comments"), ("/*", "'/*' comments"), ("*/", "'*/'")):
        if bad in condition:
            raise ColumnSpecError("where %r contains %s; give a single condition such as \"is_deleted = false\""
                                  % (condition, label))
    return condition.strip()


class ColumnSpec:
    """One column that holds tokens (or, with ``json_keys``, a JSON object whose matching keys do)."""

    __slots__ = ("table", "column", "pk", "where", "json_keys", "json_re", "keyed_by", "on_lost")

    def __init__(self, table, column, pk="id", where=None, json_keys=None,
                 keyed_by=KEYED_BY_ENCRYPTION_KEY, on_lost=ON_LOST_CLEAR):
        self.table = validate_table(table)
        self.column = validate_identifier(column, "column")
        self.pk = validate_identifier(pk or "id", "pk")
        if self.pk == self.column:
            raise ColumnSpecError("%s.%s: pk and column must differ" % (table, column))
        self.where = validate_where(where)
        self.json_keys = json_keys or None
        try:
            self.json_re = re.compile(json_keys) if json_keys else None
        except (re.error, TypeError) as exc:
            raise ColumnSpecError("%s.%s: json_keys is not a valid regular expression (%s)" % (table, column, exc))
        if keyed_by not in (KEYED_BY_ENCRYPTION_KEY, KEYED_BY_SECRET_KEY):
            raise ColumnSpecError("%s.%s: keyed_by must be %s or %s" % (table, column, KEYED_BY_ENCRYPTION_KEY, KEYED_BY_SECRET_KEY))
        self.keyed_by = keyed_by
        if on_lost not in ON_LOST_CHOICES:
            raise ColumnSpecError("%s.%s: on_lost must be one of %s" % (table, column, ", ".join(ON_LOST_CHOICES)))
        if self.json_re is not None and on_lost != ON_LOST_CLEAR:
            raise ColumnSpecError("%s.%s: a JSON column can only use on_lost=clear" % (table, column))
        self.on_lost = on_lost

    @property
    def name(self):
        return "%s.%s" % (self.table, self.column)

    @property
    def is_json(self):
        return self.json_re is not None

    @property
    def uses_encryption_key(self):
        return self.keyed_by == KEYED_BY_ENCRYPTION_KEY

    def json_key_matches(self, key_name):
        return bool(self.json_re.search(key_name))

    def identity(self):
        return (self.table, self.column)

    def as_dict(self):
        return {"table": self.table, "column": self.column, "pk": self.pk, "where": self.where,
                "json_keys": self.json_keys, "keyed_by": self.keyed_by, "on_lost": self.on_lost}

    def __repr__(self):
        return "ColumnSpec(%s)" % self.name

    def __eq__(self, other):
        return isinstance(other, ColumnSpec) and self.as_dict() == other.as_dict()

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self.identity())


# Every column of the real WebOps schema that holds ciphertext (from its migrations). Soft-deleted
# rows hold tokens too, so no spec filters them out.
WEBOPS = (
    {"table": "core_two_factor_auth", "column": "secret", "on_lost": ON_LOST_DELETE_ROW},
    {"table": "core_webhook", "column": "secret", "on_lost": ON_LOST_NEW_SECRET},
    {"table": "core_github_connection", "column": "access_token"},
    {"table": "core_github_connection", "column": "refresh_token"},
    {"table": "core_huggingface_connection", "column": "access_token"},
    {"table": "core_google_connection", "column": "access_token"},
    {"table": "core_google_connection", "column": "refresh_token"},
    {"table": "core_google_connection", "column": "id_token"},
    {"table": "databases", "column": "password"},
    {"table": "databases", "column": "api_key"},
    {"table": "automation_data_source_credentials", "column": "credentials", "json_keys": WEBOPS_JSON_KEYS},
    # Keyed from SECRET_KEY (PBKDF2) and base64-encoded twice: rotated only with the SECRET_KEY options.
    {"table": "core_configuration", "column": "value", "where": "is_sensitive", "keyed_by": KEYED_BY_SECRET_KEY},
)

_SPEC_FIELDS = ("table", "column", "pk", "where", "json_keys", "keyed_by", "on_lost")


def spec_from_dict(item):
    if isinstance(item, ColumnSpec):
        return item
    if not isinstance(item, dict):
        raise ColumnSpecError("each entry of columns must be a dict with at least table and column")
    unknown = sorted(set(item) - set(_SPEC_FIELDS))
    if unknown:
        raise ColumnSpecError("unknown column spec field(s) %s; allowed: %s" % (", ".join(unknown), ", ".join(_SPEC_FIELDS)))
    for required in ("table", "column"):
        if not item.get(required):
            raise ColumnSpecError("a column spec needs %s" % required)
    kwargs = dict((k, v) for k, v in item.items() if v is not None)
    return ColumnSpec(**kwargs)


def resolve(profile="webops", extra=None):
    """The column specs for a run: the profile's list plus ``extra`` (dicts or ColumnSpec).

    A spec in ``extra`` naming a column the profile already lists replaces the profile's entry.
    """
    if profile not in PROFILES:
        raise ColumnSpecError("profile must be one of %s, not %r" % (", ".join(PROFILES), profile))
    specs = [spec_from_dict(item) for item in (WEBOPS if profile == "webops" else ())]
    for item in extra or ():
        spec = spec_from_dict(item)
        specs = [s for s in specs if s.identity() != spec.identity()] + [spec]
    if not specs:
        raise ColumnSpecError("no columns to work on: use profile=webops or give columns")
    return specs
