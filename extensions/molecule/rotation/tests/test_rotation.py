# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Two rotations of rotate_keys.yml: the first interrupted twice (a failure after the .env write,
then a SIGKILL mid-rotation) and finished by the same command, the second with -e reason=compromise.
Checked from the snapshots taken between the runs, the host, the vault file and the database."""

import hashlib
import json

from support import molecule_checks as mc
from support import webops_db


def _snapshot(name):
    return json.loads(mc.state_file(name))


def _keys():
    """(newest, middle, initial): the key in use after the second run and the two it retired."""
    current, upcoming, history = mc.vault_keys()
    assert upcoming is None, "webops_encryption_key_next left in the vault: the rotation did not finish"
    initial = mc.initial_key()
    middle = [key for key in history if key not in (initial, current)]
    assert initial in history and len(middle) == 1 and len(set(history + [current])) == 3, history
    return current, middle[0], initial


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


def test_the_same_command_finished_the_first_rotation_with_the_escrowed_key(host):
    """Run 3 ended with the key run 1 escrowed everywhere, the old one gone, the units back up."""
    _newest, middle, initial = _keys()
    escrowed = _snapshot("after-fault.json")["vault"]["next"]
    after = _snapshot("after-resume.json")
    assert middle.fingerprint == escrowed
    assert after["vault"] == {"current": escrowed, "next": None}
    assert after["env"] == {"ENCRYPTION_KEY": escrowed}
    assert set(after["database"]) == {escrowed, "empty"}
    assert set(after["units"].values()) == {"active"}


def test_env_holds_only_the_newest_key(host):
    host = mc.node(host)
    newest, _middle, _initial = _keys()
    values = mc.env_values(host)
    assert "OLD_ENCRYPTION_KEY" not in values
    assert mc.env_key(host) == newest
    env = host.file(mc.ENV_FILE)
    assert (env.user, env.group, env.mode) == ("webops", "webops", 0o600)
    link = host.file(mc.ENV_LINK)
    assert link.is_symlink and link.linked_to == mc.ENV_FILE


def test_every_secret_opens_only_with_the_newest_key_to_its_plaintext(host):
    host = mc.node(host)
    newest, middle, initial = _keys()
    url = mc.database_url(host)
    census = webops_db.census(url, [newest, middle, initial])
    assert len(census) == 11  # every token column of the WebOps schema has values
    for column, buckets in census.items():
        assert set(buckets) <= {0, "empty"}, (column, buckets)
    # The seed leaves github refresh tokens empty, as the app does; every other column has tokens.
    assert [column for column, buckets in census.items() if not buckets.get(0)] == ["core_github_connection.refresh_token"]
    # Not one value opens with a retired key (each is tried alone, not after the newest).
    for retired in (middle, initial):
        assert all(set(b) <= {"unknown", "empty"} for b in webops_db.census(url, [retired]).values())
    assert webops_db.digest(url, [newest]) == mc.state_file("digest-before").strip()


def test_each_unit_restarted_by_each_run_and_active(host):
    host = mc.node(host)
    newest, middle, initial = _keys()
    before = mc.units_before(host.backend.name)
    for service in mc.SERVICES:
        props = mc.unit(host, service)
        assert props["ActiveState"] == "active" and props["SubState"] == "running"
        assert props["ActiveEnterTimestampMonotonic"] > before[service + ".service"] > 0
        events = mc.events(host, service)
        started = [e["fingerprint"] for e in events if e["event"] == "started"]
        # Prepare started it under the initial key, each rotation restarted it under its new key
        # (the resumed one once, when it finished; the compromise run twice: once for
        # ENCRYPTION_KEY, once for SECRET_KEY).
        assert started == [initial.fingerprint, middle.fingerprint, newest.fingerprint, newest.fingerprint]
        secret_keys = [e["secret_key_fingerprint"] for e in events if e["event"] == "started"]
        assert len(set(secret_keys[:3])) == 1 and secret_keys[3] != secret_keys[0]
        # It never ran while rows moved to a key it did not hold (offline rotation).
        assert [e for e in events if e["event"] in ("failed", "refused")] == []


def test_no_env_backup_holds_a_retired_key_after_the_rotations(host):
    """Each rotation's .env backup existed only while it was unfinished; the vault keeps retired keys."""
    host = mc.node(host)
    backups = host.check_output("ls -1A /opt/webops/ | grep '^.env.before-rotation-' || true").split()
    assert backups == []


def _secret_fingerprint(secret_key):
    return "sha256:" + hashlib.sha256(secret_key.encode("utf-8")).hexdigest()[:16]


def test_the_compromise_run_replaced_the_secret_key_and_its_configuration_values(host):
    host = mc.node(host)
    first = mc.state_file("secret-key").strip()
    vault = mc.vault_vars()
    new = vault["webops_secret_key"]
    assert "webops_secret_key_next" not in vault
    assert new != first and len(new) >= 50
    assert [(entry["key"], entry["reason"]) for entry in vault["webops_secret_key_history"]] == [(first, "compromise")]
    assert mc.env_values(host)["SECRET_KEY"] == new
    url = mc.database_url(host)
    opened = mc.webops_db.open_config(url, [new])
    assert opened and all(index == 0 for index, _text in opened.values()), sorted(opened)
    assert all(index == "unknown" for index, _text in mc.webops_db.open_config(url, [first]).values())
    # No copy of the .env on the host keeps the retired SECRET_KEY.
    for name in host.check_output("ls -1A /opt/webops/").split():
        path = "/opt/webops/" + name
        if host.file(path).is_file:
            assert mc.parse_env(host.file(path).content_string).get("SECRET_KEY") in (None, new), name
    events = [e for e in mc.events(host) if e["event"] == "started"]
    assert events[-1]["secret_key_fingerprint"] == _secret_fingerprint(new)
