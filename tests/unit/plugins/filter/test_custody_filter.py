# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The custody_key_sharing filter over vault_vars results shaped as a loop registers them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.webops.encryption.plugins.filter.custody import FilterModule

SHARING = FilterModule().filters()["custody_key_sharing"]
A = "sha256:aaaaaaaaaaaaaaaa"
B = "sha256:bbbbbbbbbbbbbbbb"
C = "sha256:cccccccccccccccc"


def vault(env, *fingerprints, **extra):
    result = {"item": "/srv/inv/%s/group_vars/%s/vault.yml" % (env, env), "readable": True,
              "in_use": [{"fingerprint": fingerprint} for fingerprint in fingerprints]}
    result.update(extra)
    return result


def test_distinct_keys_pass_and_name_every_file_compared():
    result = SHARING([vault("prod", A), vault("staging", B, C)])
    assert result["ok"] and result["shared"] == {}
    assert result["message"] == (
        "One key per environment: 2 vault files compared (prod: /srv/inv/prod/group_vars/prod/vault.yml, "
        "staging: /srv/inv/staging/group_vars/staging/vault.yml), no two environments share a key.")


def test_a_shared_current_or_next_key_fails_naming_the_environments_and_the_fingerprint():
    result = SHARING([vault("dev", A), vault("prod", B, A), vault("shop", B), vault("staging", C)])
    assert not result["ok"]
    assert result["shared"] == {A: ["dev", "prod"], B: ["prod", "shop"]}
    assert result["message"] == (
        "Environments dev and prod share the key %s. Environments prod and shop share the key %s. "
        "Each environment needs its own key: rotate all but one of them "
        "(ansible-playbook playbooks/rotate_keys.yml -e env=ENV -e reason=compromise)." % (A, B))
    assert "staging" not in result["message"]


def test_one_environment_has_nothing_to_compare_and_says_where_to_name_the_others():
    result = SHARING([vault("prod", A, A)])
    assert result["ok"]
    assert result["message"] == (
        "One key per environment: nothing to compare, 1 environment's vault file read "
        "(prod: /srv/inv/prod/group_vars/prod/vault.yml). Name the inventories of your other environments in "
        "webops_custody_inventories to compare them.")
    assert "nothing to compare, 0 environment's vault file read (none)" in SHARING([])["message"]


def test_files_no_vault_secret_opens_are_listed_as_not_compared():
    locked = {"item": "/srv/inv/shop/group_vars/shop/vault.yml", "readable": False, "msg": "no vault secret"}
    result = SHARING([vault("prod", A), locked, vault("staging", B)])
    assert result["ok"]
    assert result["message"].endswith(
        "no two environments share a key; not compared (no vault secret given opens them): "
        "/srv/inv/shop/group_vars/shop/vault.yml.")
    # An unreadable file's keys are unknown: it never counts as sharing.
    assert SHARING([vault("prod", A), dict(locked, in_use=[{"fingerprint": A}])])["ok"]


def test_anything_but_loop_results_is_refused():
    with pytest.raises(AnsibleFilterError, match="results of a vault_vars loop"):
        SHARING({"results": []})
