# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure-Python rules behind the custody plugins: how the escrow changes, and what the audit log refuses."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

import pytest
from cryptography.fernet import Fernet

from ansible_collections.webops.encryption.plugins.plugin_utils._custody import Custody, VaultVarsError, summary
from ansible_collections.webops.encryption.plugins.module_utils.fernet import parse_key
from ansible_collections.webops.encryption.plugins.modules.audit_log import key_material_at
from support.keys import new_key

NOW = datetime.datetime(2026, 6, 1, tzinfo=datetime.timezone.utc)


def custody(**data):
    return Custody(dict(data), "webops_encryption_key")


def test_promote_moves_next_to_current_and_keeps_the_old_key_in_history():
    old, new = new_key(), new_key()
    escrow = custody(webops_encryption_key=old, webops_encryption_key_created="2026-01-01T00:00:00Z",
                     webops_encryption_key_next=new, webops_encryption_key_next_created="2026-05-31T00:00:00Z")
    escrow.promote("compromise", parse_key(new).fingerprint, NOW)
    assert escrow.data == {
        "webops_encryption_key": new,
        "webops_encryption_key_created": "2026-05-31T00:00:00Z",
        "webops_encryption_key_history": [{
            "fingerprint": parse_key(old).fingerprint, "key": old, "created": "2026-01-01T00:00:00Z",
            "retired": "2026-06-01T00:00:00Z", "reason": "compromise"}],
    }
    keys, history = escrow.report(NOW)
    assert keys == {"webops_encryption_key": {"fingerprint": parse_key(new).fingerprint, "created": "2026-05-31T00:00:00Z", "age_days": 1}}
    assert history[0]["has_key"] and "key" not in history[0]
    # A second promotion (a re-run) changes nothing.
    before = dict(escrow.data)
    escrow.promote("compromise", parse_key(new).fingerprint, NOW)
    assert escrow.data == before


def test_promote_refuses_a_key_other_than_the_one_in_use():
    old, new, other = new_key(), new_key(), new_key()
    escrow = custody(webops_encryption_key=old, webops_encryption_key_next=new)
    with pytest.raises(VaultVarsError, match="not the key in use"):
        escrow.promote("routine", parse_key(other).fingerprint, NOW)
    assert escrow.data == {"webops_encryption_key": old, "webops_encryption_key_next": new}
    done = custody(webops_encryption_key=old)
    with pytest.raises(VaultVarsError, match="no webops_encryption_key_next to promote"):
        done.promote("routine", parse_key(other).fingerprint, NOW)


def test_escrow_without_overwrite_keeps_an_unfinished_rotations_key_and_its_time():
    pending, other = new_key(), new_key()
    escrow = custody(webops_encryption_key_next=pending, webops_encryption_key_next_created="2026-05-01T00:00:00Z")
    with pytest.raises(VaultVarsError) as error:
        escrow.apply_set({"webops_encryption_key_next": other}, overwrite=False)
    assert pending not in str(error.value) and other not in str(error.value)
    assert parse_key(pending).fingerprint in str(error.value)
    escrow.apply_set({"webops_encryption_key_next": pending, "webops_encryption_key_next_created": "2026-06-01T00:00:00Z"},
                     overwrite=False)
    assert escrow.data["webops_encryption_key_next_created"] == "2026-05-01T00:00:00Z"


def test_invalid_keys_are_refused_without_showing_them():
    escrow = custody()
    with pytest.raises(VaultVarsError, match="webops_encryption_key_next: Invalid") as error:
        escrow.check_keys({"webops_encryption_key_next": "0123456789abcdef" * 4})
    assert "0123456789abcdef" not in str(error.value)


def test_diff_summary_names_fingerprints_never_keys():
    key = new_key()
    text = summary({"webops_encryption_key": key, "webops_encryption_key_created": "2026-01-01T00:00:00Z",
                    "webops_encryption_key_history": [{"key": new_key()}]})
    assert key not in text
    assert "webops_encryption_key: key %s" % parse_key(key).fingerprint in text
    assert "webops_encryption_key_created: 2026-01-01T00:00:00Z" in text
    assert "webops_encryption_key_history: list of 1" in text


@pytest.mark.parametrize("leak", [
    lambda key: key,
    lambda key: key.rstrip("="),
    lambda key: key.replace("-", "+").replace("_", "/"),
    lambda key: Fernet(key.encode()).encrypt(b"secret").decode(),
])
def test_audit_entries_with_key_material_are_found(leak):
    key = new_key()
    while "-" not in key and "_" not in key:
        key = new_key()
    entry = {"operation": "rotate", "counts": {"core_webhook.secret": {"rotated": 3}},
             "details": {"notes": ["fine", leak(key)]}}
    assert key_material_at(entry) == "entry.details.notes[1]"


def test_audit_entries_with_fingerprints_and_counts_pass():
    entry = {"operation": "rotate", "fingerprints": {"old": parse_key(new_key()).fingerprint},
             "counts": {"totals": {"rotated": 12, "unknown": 0}}, "reason": "employee_departure", "user": "alice"}
    assert key_material_at(entry) is None


def test_secret_keys_escrow_and_promote_with_their_own_fingerprints():
    from ansible_collections.webops.encryption.plugins.module_utils import secret_key

    old, new = "django-insecure-kept as is", secret_key.generate()
    escrow = Custody({"webops_secret_key": old, "webops_encryption_key": new_key()}, "webops_secret_key", "secret_key")
    # The key in use is escrowed as it is (it is about to be replaced); a new one must be acceptable.
    escrow.check_keys({"webops_secret_key": old})
    with pytest.raises(VaultVarsError, match="webops_secret_key_next: Invalid") as error:
        escrow.check_keys({"webops_secret_key_next": "django-insecure-" + "x" * 40})
    assert "x" * 40 not in str(error.value)
    escrow.apply_set({"webops_secret_key_next": new}, overwrite=False)
    with pytest.raises(VaultVarsError, match="already holds"):
        escrow.apply_set({"webops_secret_key_next": secret_key.generate()}, overwrite=False)
    escrow.promote("compromise", secret_key.fingerprint(new), NOW)
    assert escrow.data["webops_secret_key"] == new and "webops_secret_key_next" not in escrow.data
    # The retired key is weak: its history entry names it without an (unsalted, reversible) fingerprint.
    retired = escrow.data["webops_secret_key_history"][0]["fingerprint"]
    assert retired == secret_key.Labels([old])(old) and retired.startswith("a weak SECRET_KEY")
    assert secret_key.fingerprint(old) not in summary(escrow.data)
    keys, history = escrow.report(NOW)
    assert list(keys) == ["webops_secret_key"]  # only the SECRET_KEY names, not the Fernet key beside them
    assert keys["webops_secret_key"]["fingerprint"] == secret_key.fingerprint(new)
    assert history[0]["has_key"] and history[0]["reason"] == "compromise"
    assert new not in summary(escrow.data) and old not in summary(escrow.data)
