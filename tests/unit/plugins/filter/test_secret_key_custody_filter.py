# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The secret_key_custody filters: hosts and vault compared, every key named without a weak one's fingerprint."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.webops.encryption.plugins.filter.secret_key import FilterModule
from ansible_collections.webops.encryption.plugins.module_utils import secret_key

FILTERS = FilterModule().filters()
CUSTODY = FILTERS["secret_key_custody"]
KEY_OF = FILTERS["secret_key_custody_key"]
LABELS = FILTERS["secret_key_labels"]
GOOD = secret_key.generate()
OTHER = secret_key.generate()
WEAK = "mycompanysecret2024"
WEAKER = "django-insecure-kept as is"


def fp(value):
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


def env(value, quote=""):
    return "DEBUG=False\nSECRET_KEY=%s%s%s\nENCRYPTION_KEY=x\n" % (quote, value, quote)


def no_trace(result, *keys):
    """No key in the result, and no fingerprint of a weak one."""
    text = json.dumps(result)
    for key in keys:
        assert key not in text
        if key in (WEAK, WEAKER):
            assert fp(key) not in text


def test_hosts_that_agree_and_a_vault_without_the_key_escrow_it():
    result = CUSTODY({"db1": env(GOOD), "panel1": env(GOOD, "'")}, "", "", "prod")
    assert result["problem"] == "" and result["escrow"] and result["valid"]
    assert result["hosts"] == {"db1": fp(GOOD), "panel1": fp(GOOD)} and result["fingerprint"] == fp(GOOD)
    assert KEY_OF({"db1": env(GOOD), "panel1": env(GOOD, '"')}) == GOOD
    no_trace(result, GOOD)


def test_the_vault_holding_the_same_key_needs_no_escrow():
    result = CUSTODY({"db1": env(GOOD)}, GOOD)
    assert result["problem"] == "" and not result["escrow"] and result["vault"] == fp(GOOD)
    assert KEY_OF({"db1": env(GOOD)}, GOOD) == GOOD


def test_hosts_that_disagree_are_a_problem_naming_both_fingerprints():
    result = CUSTODY({"db1": env(GOOD), "panel1": env(OTHER)}, "", "", "prod")
    assert "Every host of 'prod' must hold the same SECRET_KEY" in result["problem"]
    assert "db1 holds %s" % fp(GOOD) in result["problem"] and "panel1 holds %s" % fp(OTHER) in result["problem"]
    assert not result["escrow"] and KEY_OF({"db1": env(GOOD), "panel1": env(OTHER)}) == ""
    no_trace(result, GOOD, OTHER)


def test_a_host_without_a_key_beside_one_with_it_is_a_problem():
    result = CUSTODY({"db1": env(GOOD), "panel1": "DEBUG=1\n", "worker1": None})
    assert "panel1 holds no SECRET_KEY" in result["problem"] and "worker1 holds no SECRET_KEY" in result["problem"]


def test_a_vault_key_the_hosts_do_not_hold_is_a_problem():
    result = CUSTODY({"db1": env(GOOD)}, OTHER)
    assert "the vault's webops_secret_key is %s" % fp(OTHER) in result["problem"]
    assert KEY_OF({"db1": env(GOOD)}, OTHER) == ""


def test_no_key_anywhere_is_nothing_to_do_but_a_vault_key_alone_must_be_restored():
    result = CUSTODY({"db1": "DEBUG=1\n"})
    assert result["problem"] == "" and not result["present"] and not result["escrow"] and result["label"] is None
    assert "restore SECRET_KEY" in CUSTODY({"db1": "DEBUG=1\n"}, GOOD)["problem"]


def test_an_unfinished_rotation_allows_the_current_or_the_next_key():
    assert CUSTODY({"db1": env(GOOD), "panel1": env(OTHER)}, GOOD, OTHER)["problem"] == ""
    third = secret_key.generate()
    problem = CUSTODY({"db1": env(GOOD), "panel1": env(third)}, GOOD, OTHER)["problem"]
    assert "unfinished SECRET_KEY rotation" in problem and "panel1 hold" in problem and fp(third) in problem


def test_a_weak_key_is_escrowed_but_never_fingerprinted():
    result = CUSTODY({"db1": env(WEAK), "panel1": env(WEAK)})
    assert result["problem"] == "" and result["escrow"] and not result["valid"]
    assert result["fingerprint"] is None and result["label"].startswith("a weak SECRET_KEY (not fingerprinted: ")
    assert KEY_OF({"db1": env(WEAK)}) == WEAK
    no_trace(result, WEAK)


def test_different_weak_keys_are_numbered_not_fingerprinted():
    result = CUSTODY({"db1": env(WEAK), "panel1": env(WEAKER, "'"), "worker1": env(GOOD)}, WEAK)
    assert "db1 holds weak SECRET_KEY #1" in result["problem"] and "panel1 holds weak SECRET_KEY #2" in result["problem"]
    assert "worker1 holds %s" % fp(GOOD) in result["problem"]
    no_trace(result, WEAK, WEAKER)


def test_labels_name_valid_keys_by_fingerprint_only():
    labels = LABELS({"current": GOOD, "old0": WEAK})
    assert labels["current"] == fp(GOOD) and "weak" in labels["old0"]
    no_trace(labels, WEAK)


def test_a_broken_env_is_refused_without_its_values():
    with pytest.raises(AnsibleFilterError) as caught:
        CUSTODY({"db1": "SECRET_KEY=%s\nSECRET_KEY=%s\n" % (GOOD, OTHER)})
    assert "defined twice" in str(caught.value) and GOOD not in str(caught.value)
    with pytest.raises(AnsibleFilterError):
        KEY_OF(["not", "a", "dict"])


STATE_KEYS = FILTERS["secret_key_state_keys"]
LOSS_CHECK = FILTERS["secret_key_loss_check"]


def counted(**by_name):
    """A fernet_audit result over state_keys' keys: values per name (current, old0, ...), unknown ones."""
    unknown = by_name.pop("unknown", 0)
    return {"changed": False, "totals": {"secret_keys": by_name, "unknown": unknown},
            "columns": [{"table": "core_configuration", "column": "value", "unknown_ids": list(range(9, 9 + unknown))}]}


def test_state_keys_lists_the_runs_the_hosts_and_the_vaults_keys_once_in_order():
    vault = {"webops_secret_key": WEAKER, "webops_secret_key_next": GOOD,
             "webops_secret_key_history": [{"key": OTHER}, {"fingerprint": "sha256:0"}, "junk"]}
    assert STATE_KEYS({"p1": env(WEAKER, "'"), "p2": None}, vault, [WEAKER, GOOD]) == [WEAKER, GOOD, OTHER]
    assert STATE_KEYS({"p1": env(WEAK)}, None, ["", None]) == [WEAK]


def test_nothing_is_lost_is_said_only_after_checking_every_key_a_value_is_under_is_in_the_vault():
    # Stopped after the database step: values under the new key, the hosts still on the (weak) old one.
    texts, known = {"panel1": env(WEAKER)}, [WEAKER, GOOD]
    vault = {"webops_secret_key": WEAKER, "webops_secret_key_next": GOOD}
    assert STATE_KEYS(texts, vault, known) == [WEAKER, GOOD]
    result = LOSS_CHECK(counted(current=0, old0=2), texts, vault, known, "the vault (v.yml)")
    assert result["checked"] and result["lost"] == []
    assert result["lines"][-1] == ("Nothing is lost (checked now): every configuration value opens with a SECRET_KEY "
                                   "the vault (v.yml) holds (%s)." % fp(GOOD))
    assert "panel1's .env holds a weak SECRET_KEY (not fingerprinted: " in result["lines"][1]
    assert "which does not open 2 of them until the rotation finishes" in result["lines"][1]
    no_trace(result, WEAKER, GOOD)

    # The vault lost the new key: the same counts are no longer safe, and the report says which key is missing.
    result = LOSS_CHECK(counted(current=0, old0=2), texts, {"webops_secret_key": WEAKER}, known, "the vault (v.yml)")
    assert result["checked"] and result["lost"] == [fp(GOOD)]
    assert result["lines"][-1].startswith("NOT everything is readable: the vault (v.yml) lacks %s." % fp(GOOD))
    assert not any("Nothing is lost" in line for line in result["lines"])

    # Values no known key opens are found and named by row id.
    result = LOSS_CHECK(counted(current=2, unknown=1), texts, vault, known)
    assert "1 value(s) open with no SECRET_KEY this run knows (ids 9)" in result["lines"][-1]
    assert result["lines"][0] == "Configuration values now: 2 under a weak SECRET_KEY (not fingerprinted: %s)." \
        % secret_key.weakness(WEAKER)


def test_what_was_not_checked_is_said_instead_of_nothing_is_lost():
    texts, vault = {"panel1": env(GOOD)}, {"webops_secret_key": GOOD}
    for audit, why in ((None, "the configuration values were not counted (not reached)"),
                       ({"failed": False, "msg": "could not connect"}, "not counted (could not connect)"),
                       ({"skipped": True}, "not counted (not reached)")):
        result = LOSS_CHECK(audit, texts, vault)
        assert not result["checked"] and why in result["lines"][0], result
        assert not any("Nothing is lost" in line for line in result["lines"])
    result = LOSS_CHECK(counted(current=2), texts, None, [], "the vault (v.yml)")
    assert not result["checked"] and "the vault (v.yml) could not be read" in result["lines"][0]
    assert LOSS_CHECK(counted(current=0), texts, vault)["lines"][-1].endswith("holds (no value is encrypted).")
    with pytest.raises(AnsibleFilterError, match="dict"):
        LOSS_CHECK(counted(), texts, ["not", "a", "dict"])
