# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A rotation's preflight decision, for both key families: the old and the new key, a resumed
rotation, and every refusal with the message that names each host's key and the vault's."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.webops.encryption.plugins.filter.rotation import FilterModule

ROTATION_KEYS = FilterModule().filters()["rotation_keys"]
OLD, NEW, OTHER = "sha256:000000000000000a", "sha256:000000000000000b", "sha256:000000000000000c"


def hosts(*keys):
    return dict(("web%d" % number, {"current": current, "old": old}) for number, (current, old) in enumerate(keys, 1))


def encryption_key(host_keys, vault=OLD, next_key=""):
    return ROTATION_KEYS(host_keys, "ENCRYPTION_KEY", "prod", vault, next_key)


def test_a_fresh_rotation_takes_the_hosts_shared_key_as_old():
    decision = encryption_key(hosts((OLD, ""), (OLD, "")))
    assert decision == {"old": OLD, "new": "", "resuming": False, "hosts_done": [], "refusal": ""}


def test_a_rotation_past_the_escrow_resumes_with_the_vaults_next_key():
    decision = encryption_key(hosts((OLD, ""), (OLD, "")), next_key=NEW)
    assert (decision["old"], decision["new"], decision["resuming"], decision["refusal"]) == (OLD, NEW, True, "")


def test_a_rotation_past_the_key_write_resumes_with_a_hosts_new_key_when_the_vault_lost_it():
    # web1 holds both keys; web2 already dropped the old one.
    decision = encryption_key(hosts((NEW, OLD), (NEW, "")))
    assert (decision["old"], decision["new"], decision["resuming"], decision["refusal"]) == (OLD, NEW, True, "")
    assert decision["hosts_done"] == ["web2"]


def test_no_key_in_the_vault_is_refused_with_the_setup_command():
    decision = encryption_key(hosts((OLD, "")), vault="")
    assert decision["refusal"] == (
        "Cannot rotate 'prod' safely; nothing was changed. Hosts: web1 ENCRYPTION_KEY=%s. Vault: webops_encryption_key=not set, "
        "webops_encryption_key_next=not set. The vault must hold the key in use: run setup_encryption.yml -e env=prod, "
        "which escrows the hosts' key." % OLD)


def test_hosts_that_disagree_are_refused_naming_every_key():
    decision = encryption_key(hosts((OLD, ""), (OTHER, "")))
    assert decision["refusal"].endswith(
        "Hosts: web1 ENCRYPTION_KEY=%s; web2 ENCRYPTION_KEY=%s. Vault: webops_encryption_key=%s, webops_encryption_key_next=not set. "
        "The hosts do not share one current key (%s, %s): every host of an environment must hold the same key."
        % (OLD, OTHER, OLD, OLD, OTHER))


def test_two_new_keys_in_play_are_refused():
    decision = encryption_key(hosts((NEW, OLD), (OLD, "")), next_key=OTHER)
    assert "web1 ENCRYPTION_KEY=%s OLD_ENCRYPTION_KEY=%s; web2" % (NEW, OLD) in decision["refusal"]
    assert decision["refusal"].endswith("More than one new key is in play (%s, %s); fix the hosts or the vault's "
                                        "webops_encryption_key_next by hand." % (OTHER, NEW))


def test_a_vault_whose_key_the_hosts_do_not_use_is_refused():
    decision = encryption_key(hosts((OLD, "")), vault=OTHER)
    assert decision["refusal"].endswith("The vault's webops_encryption_key (%s) is not the key the hosts use (%s); fix the "
                                        "vault (backup_keys.yml can adopt the hosts' key)." % (OTHER, OLD))


def test_a_next_key_equal_to_the_old_one_is_refused_as_such():
    decision = encryption_key(hosts((OLD, "")), next_key=OLD)
    assert decision["refusal"].endswith("The new key of the unfinished rotation (%s) is the old one: fix the vault's "
                                        "webops_encryption_key_next or the hosts' OLD_ENCRYPTION_KEY by hand." % OLD)


def secret_key(host_ids, vault="hmac:a", next_key=""):
    return ROTATION_KEYS(dict(("web%d" % number, key) for number, key in enumerate(host_ids, 1)),
                         "SECRET_KEY", "prod", vault, next_key)


@pytest.mark.parametrize("host_ids, vault, next_key", [
    (["hmac:a", "hmac:a"], "hmac:a", ""),
    # The vault has no SECRET_KEY yet: the preflight escrows the hosts' one.
    (["hmac:a", "hmac:a"], "", ""),
    # Resuming: the hosts hold the old or the new key.
    (["hmac:a", "hmac:b"], "hmac:a", "hmac:b"),
])
def test_secret_keys_the_vault_knows_may_be_rotated(host_ids, vault, next_key):
    decision = secret_key(host_ids, vault, next_key)
    assert decision["refusal"] == "" and decision["resuming"] == bool(next_key)


def test_hosts_with_different_secret_keys_are_refused_naming_their_match_ids():
    assert secret_key(["hmac:a", "hmac:c"])["refusal"] == (
        "Cannot rotate the SECRET_KEY of 'prod' safely; nothing was changed. Keys compared by their HMAC under a secret of "
        "this run (equal values, equal keys): Hosts: web1 SECRET_KEY=hmac:a; web2 SECRET_KEY=hmac:c. Vault: "
        "webops_secret_key=hmac:a, webops_secret_key_next=not set. The hosts do not share one SECRET_KEY: every host of an "
        "environment must hold the same one (copy the vault's webops_secret_key, or the one most hosts hold).")


def test_a_vault_secret_key_the_hosts_do_not_use_is_refused():
    assert secret_key(["hmac:c"])["refusal"].endswith(
        "The vault's webops_secret_key is not the key the hosts use: fix the vault or the hosts by hand.")


@pytest.mark.parametrize("host_ids, vault", [(["hmac:a", "hmac:c"], "hmac:a"), (["hmac:b"], "")])
def test_a_resumed_secret_key_rotation_refuses_a_stranger_key_or_a_vault_without_the_old_key(host_ids, vault):
    assert secret_key(host_ids, vault, "hmac:b")["refusal"].endswith(
        "An unfinished rotation is escrowed, but a host holds a SECRET_KEY that is neither the vault's current nor its next "
        "one: put one of them back on that host by hand.")


@pytest.mark.parametrize("args", [(["web1"], "ENCRYPTION_KEY", "prod"), ({}, "PASSWORD", "prod")])
def test_bad_input_is_refused(args):
    with pytest.raises(AnsibleFilterError, match="rotation_keys: give"):
        ROTATION_KEYS(*args)
