# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A rotation interrupted twice and resumed by the same command loses nothing."""

import json

from support import molecule_checks as mc
from support import webops_db


def _snapshot(name):
    return json.loads(mc.state_file(name))


def test_the_failed_play_left_both_keys_and_rows_under_the_old_one(host):
    initial = mc.initial_key()
    after = _snapshot("after-fault.json")
    upcoming = after["vault"]["next"]
    assert upcoming and upcoming != initial.fingerprint
    assert after["vault"]["current"] == initial.fingerprint
    assert after["env"] == {"ENCRYPTION_KEY": upcoming, "OLD_ENCRYPTION_KEY": initial.fingerprint}
    assert set(after["database"]) == {initial.fingerprint, "empty"}


def test_the_kill_landed_mid_rotation(host):
    initial = mc.initial_key()
    upcoming = _snapshot("after-fault.json")["vault"]["next"]
    after = _snapshot("after-kill.json")
    # The run was stopped on the row the probe held (the last one it writes), not caught by a poll.
    assert after["killed_with"]["blocked_on"].startswith(mc.LAST_WRITTEN_TABLE + " id=")
    assert after["killed_with"]["old"] > 0 and after["killed_with"]["new"] > 0
    assert after["killed_with"]["module_killed"], "no rotating module process was found on the host to kill"
    # The killed run reused the escrowed key: no second new key appeared.
    assert after["vault"] == {"current": initial.fingerprint, "next": upcoming}
    assert after["env"] == {"ENCRYPTION_KEY": upcoming, "OLD_ENCRYPTION_KEY": initial.fingerprint}
    assert after["database"].get(initial.fingerprint, 0) > 0 and after["database"].get(upcoming, 0) > 0
    assert set(after["database"]) <= {initial.fingerprint, upcoming, "empty"}
    # Offline rotation: the units were stopped before the first row changed key.
    assert set(after["units"].values()) == {"inactive"}


def test_the_same_command_finished_with_the_escrowed_key_and_nothing_lost(host):
    host = mc.node(host)
    initial = mc.initial_key()
    current, upcoming, history = mc.vault_keys()
    assert upcoming is None and history == [initial]
    assert current.fingerprint == _snapshot("after-fault.json")["vault"]["next"]
    assert mc.env_key(host) == current and "OLD_ENCRYPTION_KEY" not in mc.env_values(host)
    url = mc.database_url(host)
    assert mc.values_not_under(url, current) == []
    assert all(set(b) <= {"unknown", "empty"} for b in webops_db.census(url, [initial]).values())
    assert webops_db.digest(url, [current]) == mc.state_file("digest-before").strip()


def test_units_run_with_the_new_key_and_never_saw_a_row_they_could_not_open(host):
    host = mc.node(host)
    current = mc.env_key(host)
    before = mc.units_before(host.backend.name)
    for service in mc.SERVICES:
        props = mc.unit(host, service)
        assert props["ActiveState"] == "active"
        assert props["ActiveEnterTimestampMonotonic"] > before[service + ".service"] > 0
        events = mc.events(host, service)
        assert [e["fingerprint"] for e in events if e["event"] == "started"][-1] == current.fingerprint
        assert [e for e in events if e["event"] in ("failed", "refused")] == []


def test_no_env_backup_left_and_the_env_private(host):
    """The backup made for the unfinished rotation went once the resumed run finished step 6."""
    host = mc.node(host)
    backups = host.check_output("ls -1A /opt/webops/ | grep '^.env.before-rotation-' || true").split()
    assert backups == []
    env = host.file(mc.ENV_FILE)
    assert (env.user, env.group, env.mode) == ("webops", "webops", 0o600)
    assert host.file(mc.ENV_LINK).linked_to == mc.ENV_FILE
