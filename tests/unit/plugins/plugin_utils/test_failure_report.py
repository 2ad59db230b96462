# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stopped rotation's message, for both key families: it says nothing is lost only when it checked."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.webops.encryption.plugins.filter.report import FilterModule

REPORT = FilterModule().filters()["rotation_failure_report"]
OLD = "sha256:0000000000000001"
NEW = "sha256:0000000000000002"


def host(current=OLD, old=None, failed=None, services=()):
    facts = {"rotation_state_keys": {"results": [{"fingerprint": current, "configured": bool(current)},
                                                 {"fingerprint": old, "configured": bool(old)}]},
             "webops_services": list(services)}
    if failed:
        facts.update(ansible_failed_result={"msg": failed}, ansible_failed_task={"name": "Re-encrypt"})
    return facts


def state(**overrides):
    base = dict(environment="prod", step=5, resuming=False, check_mode=False, manage_services=True, strategy="offline",
                database_host="db1", old_fp=OLD, new_fp=NEW, next_fp=NEW, command="ansible-playbook rotate_keys.yml -e env=prod",
                database={"totals": {"by_key": {"old": 3, "new": 2}, "plaintext": 1, "empty": 0, "unknown": 0},
                          "fingerprints": {"old": OLD, "new": NEW}},
                vault={"readable": True, "by_key": {"webops_encryption_key": {"fingerprint": OLD},
                                                    "webops_encryption_key_next": {"fingerprint": NEW}}, "history": []},
                vault_file="/inv/prod/group_vars/prod/vault.yml")
    base.update(overrides)
    return base


def test_a_checked_state_says_nothing_is_lost_and_how_to_resume():
    hostvars = {"db1": host(NEW, OLD, failed="connection lost", services=["webops"]), "web1": host(NEW, OLD)}
    assert REPORT(hostvars, "ENCRYPTION_KEY", ["db1", "web1"], state()).split("\n") == [
        "Key rotation of 'prod' stopped in step 5 (re-encrypt the database).",
        'Error on db1, task "Re-encrypt": connection lost',
        "Hosts now:",
        "  db1: ENCRYPTION_KEY=%s, OLD_ENCRYPTION_KEY=%s, units webops stopped" % (NEW, OLD),
        "  web1: ENCRYPTION_KEY=%s, OLD_ENCRYPTION_KEY=%s" % (NEW, OLD),
        "Database (db1): 3 under the old key, 2 under the new key, 1 plaintext, 0 empty, 0 that no known key opens.",
        "Keys: old %s (vault webops_encryption_key), new %s (escrowed in the vault as webops_encryption_key_next)." % (OLD, NEW),
        "Nothing is lost (checked now): every value opens with a key that each .env and the vault hold (%s, %s)." % (OLD, NEW),
        "Fix the cause above, then resume with the same command: ansible-playbook rotate_keys.yml -e env=prod.",
        "It reuses the escrowed new key and finishes the job.",
    ]


def test_a_key_missing_from_a_host_or_the_vault_is_named_not_called_safe():
    hostvars = {"db1": host(NEW, None), "web1": host(NEW, OLD)}
    vault = {"readable": True, "by_key": {"webops_encryption_key_next": {"fingerprint": NEW}},
             "history": [{"fingerprint": OLD, "has_key": False}]}
    lines = REPORT(hostvars, "ENCRYPTION_KEY", ["db1", "web1"], state(vault=vault)).split("\n")
    assert lines[-3] == ("NOT everything is readable: db1's .env lacks %s; the vault (/inv/prod/group_vars/prod/vault.yml) "
                         "lacks %s. Put the missing key back before anything else (from the vault, its history or the "
                         ".env backups), then run verify_keys.yml." % (OLD, OLD))
    assert not any(line.startswith("Nothing is lost") for line in lines)


def test_what_was_not_read_again_is_said_to_be_unchecked():
    hostvars = {"db1": host()}
    uncounted = REPORT(hostvars, "ENCRYPTION_KEY", ["db1"], state(step=2, database={"msg": "could not connect"}, new_fp="", next_fp=""))
    assert "Database (db1): not counted (could not connect)." in uncounted
    assert "Keys: old %s (vault webops_encryption_key), new not made yet." % OLD in uncounted
    assert "No .env and no database value changed yet." in uncounted
    assert ("Not checked whether every value still opens with a key each .env and the vault hold: the database was not "
            "counted. Run verify_keys.yml once the cause is fixed.") in uncounted
    assert "It finishes the job" not in uncounted and "Nothing is lost" not in uncounted
    unread = REPORT(hostvars, "ENCRYPTION_KEY", ["db1"], state(vault={"readable": False, "msg": "no vault secret"}))
    assert "the vault could not be read (no vault secret)" in unread


def test_a_check_run_says_nothing_was_written():
    text = REPORT({"db1": host()}, "ENCRYPTION_KEY", ["db1"], state(check_mode=True, step=1, next_fp="", new_fp=""))
    assert text.splitlines()[-1] == ("This was a check run: nothing was written. Fix the cause above and run the same "
                                     "command again: ansible-playbook rotate_keys.yml -e env=prod.")


def test_the_secret_key_family_names_each_host_and_passes_the_loss_check_through():
    hostvars = {"db1": {"secret_key_rotation_state_key": {"fingerprint": NEW, "configured": True},
                        "ansible_failed_result": {"msg": "boom"}, "ansible_failed_task": {"name": "Write"}},
                "web1": {"secret_key_rotation_state_key": {"configured": True}},
                "web2": {"secret_key_rotation_state_key": {"configured": False}}}
    check = {"lines": ["Configuration values now: 4 under %s." % NEW, "Nothing is lost (checked now): ..."]}
    lines = REPORT(hostvars, "SECRET_KEY", ["db1", "web1", "web2"],
                   dict(environment="prod", step=4, old_fp=OLD, new_fp=NEW, command=" ", loss_check=check)).split("\n")
    assert lines == [
        "SECRET_KEY rotation of 'prod' stopped in step 4 (write the new key and restart).",
        'Error on db1, task "Write": boom',
        "Hosts now:",
        "  db1: SECRET_KEY=%s" % NEW,
        "  web1: SECRET_KEY=not valid (no fingerprint)",
        "  web2: SECRET_KEY=unreadable",
        "Keys: old %s (vault webops_secret_key), new %s (escrowed in the vault as webops_secret_key_next)." % (OLD, NEW),
    ] + check["lines"] + [
        "Fix the cause above, then resume with the same command as before, with the same inventory, vault options and "
        "extra variables (not shown: one of them may hold a secret). It reuses the escrowed new SECRET_KEY and finishes the job."]
    early = REPORT({}, "SECRET_KEY", [], dict(environment="prod", step=1, command="ansible-playbook x"))
    assert "new not escrowed yet." in early and "resume with this command: ansible-playbook x." in early


def test_an_unknown_family_is_refused():
    with pytest.raises(AnsibleFilterError, match="ENCRYPTION_KEY or SECRET_KEY"):
        REPORT({}, "DJANGO_KEY", [], {})
