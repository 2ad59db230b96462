# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The custody rules of the vault_vars action: times, descriptions, reports and edits of a vars mapping."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import stat

import pytest
import yaml

from ansible_collections.webops.encryption.plugins.module_utils import secret_key
from ansible_collections.webops.encryption.plugins.plugin_utils._custody import (
    Custody,
    VaultVarsError,
    check_vars,
    describe,
    native,
    parse_time,
    read_bytes,
    summary,
    text_or_none,
    utc_text,
    write_text,
)
from support.keys import fingerprint, new_key, sha256_16

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 6, 1, 12, 30, tzinfo=UTC)
PREFIX = "webops_encryption_key"


@pytest.mark.parametrize("text, expected", [
    ("2026-05-31T00:00:00Z", datetime.datetime(2026, 5, 31, tzinfo=UTC)),
    (" 2026-05-31T10:00:00+02:00 ", datetime.datetime(2026, 5, 31, 8, tzinfo=UTC)),
    ("2026-05-31T00:00:00", datetime.datetime(2026, 5, 31, tzinfo=UTC)),  # no zone: taken as UTC
    (datetime.datetime(2026, 5, 31), datetime.datetime(2026, 5, 31, tzinfo=UTC)),  # an unquoted YAML timestamp
    ("yesterday", None),
    ("", None),
    (None, None),
])
def test_recorded_times_parse_as_utc_or_none(text, expected):
    assert parse_time(text) == expected


def test_times_are_written_as_utc_text_to_the_second():
    assert utc_text(NOW) == "2026-06-01T12:30:00Z"
    assert parse_time(utc_text(NOW)) == NOW


def test_results_carry_times_as_text():
    assert text_or_none(None) is None and text_or_none("") is None
    assert text_or_none(datetime.datetime(2026, 5, 31)) == "2026-05-31 00:00:00"
    assert text_or_none("routine") == "routine"


def test_values_are_described_without_being_shown():
    key = new_key()
    assert describe(key) == "key " + fingerprint(key)
    # Only a valid key gets a fingerprint: a digest of anything else could be reversed by guessing.
    url = "postgresql://webops:s3cr@tPW@localhost/webops_db"
    for value in ("hunter2", 12, url):
        assert describe(value) == "a value (not shown)"
        assert sha256_16(str(value).encode()).split(":")[1] not in describe(value)
    assert describe([key, key]) == "list of 2"
    assert describe({"key": key}) == "mapping of 1"
    assert describe(None) == "null"
    for value in (key, "hunter2"):
        assert value not in describe(value)


def test_templated_values_become_plain_python():
    class Tagged(str):
        pass

    value = native({Tagged("name"): (Tagged("a"), True, 3, 1.5, None, b"bytes")})
    assert value == {"name": ["a", True, 3, 1.5, None, "bytes"]}
    assert not isinstance(list(value)[0], Tagged) and not isinstance(value["name"][0], Tagged)


def test_the_summary_shows_creation_times_and_describes_the_rest():
    key = new_key()
    text = summary({"b_created": "2026-01-01T00:00:00Z", "a": key, "c_created": datetime.datetime(2026, 1, 1)})
    assert text == "a: key %s\nb_created: 2026-01-01T00:00:00Z\nc_created: a value (not shown)\n" % fingerprint(key)


def test_the_diff_names_each_changed_variable_without_hashing_its_value():
    key = new_key()
    before = {"webops_database_url": "postgresql://u:old-pw@h/db", "webops_encryption_key": key, "same": "x"}
    after = dict(before, webops_database_url="postgresql://u:new-pw@h/db")
    assert summary(before, after) == ("same: a value (not shown)\n"
                                      "webops_database_url: a value (not shown) (changed)\n"
                                      "webops_encryption_key: key %s\n" % fingerprint(key))
    assert "sha256" not in summary(after, before).replace(fingerprint(key), "")


def test_the_report_gives_fingerprints_ages_and_history_never_keys():
    current, retired = new_key(), new_key()
    escrow = Custody({
        PREFIX: current, PREFIX + "_created": "2026-05-01T00:00:00Z",
        "other_key": new_key(),
        "password": "hunter2",
        PREFIX + "_history": [
            {"key": retired, "created": "2025-01-01T00:00:00Z", "retired": "2026-05-01T00:00:00Z", "reason": "routine"},
            {"fingerprint": "sha256:0123456789abcdef", "reason": "compromise"},
            "not a mapping",
        ],
    }, PREFIX)
    keys, history = escrow.report(NOW)
    assert sorted(keys) == ["other_key", PREFIX]  # every Fernet key of the file, nothing else
    assert keys[PREFIX] == {"fingerprint": fingerprint(current), "created": "2026-05-01T00:00:00Z", "age_days": 31}
    assert keys["other_key"]["created"] is None and keys["other_key"]["age_days"] is None
    assert history == [
        {"fingerprint": fingerprint(retired), "created": "2025-01-01T00:00:00Z", "retired": "2026-05-01T00:00:00Z",
         "reason": "routine", "has_key": True},
        {"fingerprint": "sha256:0123456789abcdef", "created": None, "retired": None, "reason": "compromise",
         "has_key": False},
    ]
    assert escrow.in_use(keys) == [{"name": PREFIX, "fingerprint": fingerprint(current)}]
    assert current not in repr((keys, history)) and retired not in repr((keys, history))


def test_in_use_lists_current_then_next():
    current, pending = new_key(), new_key()
    escrow = Custody({PREFIX + "_next": pending, PREFIX: current}, PREFIX)
    keys, _history = escrow.report(NOW)
    assert [entry["name"] for entry in escrow.in_use(keys)] == [PREFIX, PREFIX + "_next"]
    assert escrow.in_use({}) == []


def test_secret_keys_are_only_recognised_by_their_names():
    valid = secret_key.generate()
    escrow = Custody({"webops_secret_key": valid, "webops_secret_key_extra": "x" * 60,
                      PREFIX: new_key()}, "webops_secret_key", "secret_key")
    keys, _history = escrow.report(NOW)
    assert list(keys) == ["webops_secret_key"]
    assert keys["webops_secret_key"]["fingerprint"] == sha256_16(valid.encode("utf-8"))
    assert escrow.fingerprint("") is None and escrow.fingerprint(None) is None and escrow.fingerprint(5) is None


def test_a_weak_secret_key_is_reported_and_retired_by_its_label_never_its_fingerprint():
    """An unsalted hash of a guessable SECRET_KEY is reversed by trying candidates: the report, the
    history a promotion writes and its error name a weak key as secret_key_info does."""
    weak, new = "django-insecure-kept as is", secret_key.generate()
    escrow = Custody({"webops_secret_key": weak, "webops_secret_key_next": new}, "webops_secret_key", "secret_key")
    keys, _history = escrow.report(NOW)
    assert keys["webops_secret_key"]["fingerprint"].startswith("a weak SECRET_KEY (not fingerprinted: ")
    assert keys["webops_secret_key_next"]["fingerprint"] == secret_key.fingerprint(new)
    escrow.promote("routine", secret_key.fingerprint(new), NOW)
    _keys, history = escrow.report(NOW)
    assert [entry["has_key"] for entry in history] == [True]
    assert history[0]["fingerprint"].startswith("a weak SECRET_KEY")
    assert escrow.data["webops_secret_key_history"][0]["fingerprint"].startswith("a weak SECRET_KEY")
    other = Custody({"webops_secret_key": weak}, "webops_secret_key", "secret_key")
    with pytest.raises(VaultVarsError) as error:
        other.promote("routine", secret_key.fingerprint(new), NOW)
    assert "the current key is a weak SECRET_KEY" in str(error.value)
    assert secret_key.fingerprint(weak) not in repr((keys, history, escrow.data, str(error.value)))


def test_check_keys_refuses_an_invalid_fernet_key_in_either_slot():
    escrow = Custody({}, PREFIX)
    escrow.check_keys({PREFIX: new_key(), PREFIX + "_next": new_key(), "unrelated": "not a key"})
    for name in (PREFIX, PREFIX + "_next"):
        with pytest.raises(VaultVarsError) as error:
            escrow.check_keys({name: "short"})
        assert str(error.value).startswith(name + ": Invalid " + name)
        assert str(error.value).endswith("; nothing was written")


def test_check_keys_takes_the_secret_key_in_use_as_it_is():
    escrow = Custody({}, "webops_secret_key", "secret_key")
    escrow.check_keys({"webops_secret_key": "changeme"})
    escrow.check_keys({"webops_secret_key_next": secret_key.generate()})
    with pytest.raises(VaultVarsError, match="webops_secret_key_next: Invalid webops_secret_key_next"):
        escrow.check_keys({"webops_secret_key_next": "changeme"})


def test_apply_set_overwrites_unless_told_not_to():
    old, new = new_key(), new_key()
    escrow = Custody({PREFIX: old, PREFIX + "_created": "2026-01-01T00:00:00Z"}, PREFIX)
    escrow.apply_set({PREFIX: old, "added": "value"}, overwrite=False)  # the same value is no conflict
    assert escrow.data[PREFIX] == old and escrow.data["added"] == "value"
    with pytest.raises(VaultVarsError) as error:
        escrow.apply_set({PREFIX: new}, overwrite=False)
    assert str(error.value).startswith("%s already holds key %s, not the value given (key %s)"
                                       % (PREFIX, fingerprint(old), fingerprint(new)))
    assert escrow.data[PREFIX] == old
    escrow.apply_set({PREFIX: new, PREFIX + "_created": "2026-06-01T00:00:00Z"}, overwrite=True)
    assert escrow.data[PREFIX] == new and escrow.data[PREFIX + "_created"] == "2026-06-01T00:00:00Z"


def test_remove_drops_names_and_ignores_missing_ones():
    escrow = Custody({"a": 1, "b": 2}, PREFIX)
    escrow.remove(["a", "missing"])
    assert escrow.data == {"b": 2}


def test_promote_without_a_next_key_checks_the_current_one():
    key = new_key()
    escrow = Custody({PREFIX: key}, PREFIX)
    escrow.promote("routine", fingerprint(key), NOW)
    escrow.promote("routine", None, NOW)
    assert escrow.data == {PREFIX: key}
    with pytest.raises(VaultVarsError, match="no webops_encryption_key_next to promote and the current key is missing"):
        Custody({}, PREFIX).promote("routine", "sha256:0123456789abcdef", NOW)


def test_promote_refuses_a_next_key_that_is_not_one():
    escrow = Custody({PREFIX + "_next": "not a key"}, PREFIX)
    with pytest.raises(VaultVarsError, match="webops_encryption_key_next is not a valid key; fix the vault file by hand"):
        escrow.promote("routine", None, NOW)


def test_promote_of_a_first_key_stamps_it_and_starts_no_history():
    key = new_key()
    escrow = Custody({PREFIX + "_next": key}, PREFIX)
    escrow.promote("routine", None, NOW)
    assert escrow.data == {PREFIX: key, PREFIX + "_created": "2026-06-01T12:30:00Z"}


def test_promote_does_not_record_a_retired_key_twice():
    old, new = new_key(), new_key()
    earlier = {"fingerprint": fingerprint(old), "key": old, "reason": "routine"}
    escrow = Custody({PREFIX: old, PREFIX + "_next": new, PREFIX + "_history": [earlier]}, PREFIX)
    escrow.promote("compromise", None, NOW)
    assert escrow.data[PREFIX + "_history"] == [earlier]


def test_vars_files_must_hold_a_mapping():
    assert check_vars(None, "/v.yml") == {} and check_vars({"a": 1}, "/v.yml") == {"a": 1}
    with pytest.raises(VaultVarsError, match="^/v.yml must hold a mapping of variables$"):
        check_vars(["a"], "/v.yml")


def test_files_are_read_and_written_whole_and_private(tmp_path):
    path = str(tmp_path / "new" / "vault.yml")
    assert read_bytes(path) is None
    write_text(path, "$ANSIBLE_VAULT;1.1;AES256\n")
    assert read_bytes(path) == b"$ANSIBLE_VAULT;1.1;AES256\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700 & ~current_umask()
    with pytest.raises(VaultVarsError, match="^cannot read %s: " % tmp_path):
        read_bytes(str(tmp_path))  # a directory


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


class _TemplatedText(str):
    """A str subclass, as templating hands a module argument over: YAML's safe dumper refuses it."""


def test_a_templated_prefix_writes_plain_variable_names():
    pending = secret_key.generate()
    # No current key yet: promoting names it after the prefix.
    escrow = Custody({"webops_secret_key_next": pending}, _TemplatedText("webops_secret_key"), _TemplatedText("secret_key"))
    escrow.promote("routine", None, NOW)
    assert yaml.safe_load(yaml.safe_dump(escrow.data))["webops_secret_key"] == pending
