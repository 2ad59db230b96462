# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""The JSON Schema of an evidence record (version 1).

Kept as Python so it travels with the modules (AnsiballZ ships only Python module_utils);
docs/evidence-record.schema.json is the same schema as a file, and a unit test keeps them equal.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

SCHEMA_ID = "webops.encryption/evidence-record"
SCHEMA_VERSION = 1

_FINGERPRINT = {"type": "string", "maxLength": 120}
_COUNTS = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}
_TIME = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"}
_NULLABLE_INT = {"type": ["integer", "null"]}
_TEXT = {"type": "string", "maxLength": 4000}

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_ID,
    "title": "webops.encryption evidence record",
    "description": "One record per real rotate_keys, rotate_secret_key and verify_keys run. Fingerprints only, never a key.",
    "type": "object",
    "additionalProperties": False,
    "required": ["schema", "schema_version", "id", "environment", "operation", "started", "ended", "user", "command",
                 "versions", "outcome", "status", "status_reasons", "not_checked", "columns", "discovery", "units", "keys",
                 "audit_lines"],
    "properties": {
        "schema": {"const": SCHEMA_ID},
        "schema_version": {"const": SCHEMA_VERSION},
        "id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
        "environment": {"type": "string", "minLength": 1, "maxLength": 200},
        "operation": {"enum": ["rotate_keys", "rotate_secret_key", "verify_keys"]},
        "started": _TIME,
        "ended": _TIME,
        "user": {"type": "string", "maxLength": 400},
        "command": _TEXT,
        "versions": {
            "type": "object",
            "additionalProperties": False,
            "required": ["collection", "ansible_core"],
            "properties": {"collection": {"type": "string"}, "ansible_core": {"type": "string"}},
        },
        "outcome": {"enum": ["success", "failure", "refused"]},
        "status": {"enum": ["complete", "incomplete"]},
        "status_reasons": {"type": "array", "items": _TEXT},
        "not_checked": {
            "description": "What the status does not cover: one text per column the run counted without opening its values "
                           "(a routine rotate_keys run does not use the SECRET_KEY), with the count and why. Empty when the "
                           "run opened every counted value.",
            "type": "array",
            "items": _TEXT,
        },
        "columns": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["table", "column", "keyed_by", "before", "after", "plaintext", "unknown", "left_under_retired",
                             "checked"],
                "properties": {
                    "table": {"type": "string"},
                    "column": {"type": "string"},
                    "keyed_by": {"enum": ["ENCRYPTION_KEY", "SECRET_KEY"]},
                    "before": _COUNTS,
                    "after": _COUNTS,
                    "plaintext": {"type": "integer", "minimum": 0},
                    "unknown": {"type": "integer", "minimum": 0},
                    "left_under_retired": {"type": "integer", "minimum": 0},
                    "checked": {
                        "description": "Whether the run opened the column's values with its keys. False: it only counted them "
                                       "(the counts are under 'not checked', and unknown and left_under_retired say nothing "
                                       "about them); the record's not_checked says why.",
                        "type": "boolean",
                    },
                },
            },
        },
        "discovery": {
            "type": "object",
            "additionalProperties": False,
            "required": ["columns", "ignored"],
            "properties": {
                "columns": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["table", "column", "by_key", "unknown"],
                        "properties": {"table": {"type": "string"}, "column": {"type": "string"}, "by_key": _COUNTS,
                                       "unknown": {"type": "integer", "minimum": 0}},
                    },
                },
                "ignored": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["table", "column", "reason"],
                        "properties": {"table": {"type": "string"}, "column": {"type": "string"}, "reason": _TEXT},
                    },
                },
            },
        },
        "units": {
            "type": "object",
            "additionalProperties": False,
            "required": ["strategy", "managed", "services", "stopped_seconds"],
            "properties": {
                "strategy": {"type": "string"},
                "managed": {"type": "boolean"},
                "services": {"type": "array", "items": {"type": "string"}},
                "stopped_seconds": {"type": ["number", "null"], "minimum": 0},
            },
        },
        "keys": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "fingerprint", "created", "age_days", "rotation_days", "overdue", "escrow"],
                "properties": {
                    "name": {"enum": ["ENCRYPTION_KEY", "SECRET_KEY"]},
                    "fingerprint": _FINGERPRINT,
                    "created": {"type": ["string", "null"]},
                    "age_days": _NULLABLE_INT,
                    "rotation_days": {"type": "integer", "minimum": 1},
                    "overdue": {"type": "boolean"},
                    "escrow": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["vault_file", "in_vault", "gpg_file", "gpg_present"],
                        "properties": {
                            "vault_file": {"type": "string"},
                            "in_vault": {"type": "boolean"},
                            "gpg_file": {"type": ["string", "null"]},
                            "gpg_present": {"type": "boolean"},
                        },
                    },
                },
            },
        },
        "audit_lines": {"type": "array", "items": {"type": "string", "pattern": "^[0-9a-f]{32}$"}},
    },
}
