# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Two runs of rotate_keys.yml, judged from the host, the vault file and the database."""

import os
import sys

sys.path.insert(0, os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "tests", "support"))

import molecule_checks as mc  # noqa: E402


def _keys():
    """(newest, middle, initial): the key in use after the second run and the two it retired."""
    current, upcoming, history = mc.vault_keys()
    assert upcoming is None, "webops_encryption_key_next left in the vault: the rotation did not finish"
    initial = mc.initial_key()
    middle = [key for key in history if key not in (initial, current)]
    assert initial in history and len(middle) == 1 and len(set(history + [current])) == 3, history
    return current, middle[0], initial


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
    census = mc.census(url, [newest, middle, initial])
    assert len(census) == 11  # every token column of the WebOps schema has values
    for column, buckets in census.items():
        assert set(buckets) <= {0, "empty"}, (column, buckets)
    # The seed leaves github refresh tokens empty, as the app does; every other column has tokens.
    assert [column for column, buckets in census.items() if not buckets.get(0)] == ["core_github_connection.refresh_token"]
    # Not one value opens with a retired key (each is tried alone, not after the newest).
    for retired in (middle, initial):
        assert all(set(b) <= {"unknown", "empty"} for b in mc.census(url, [retired]).values())
    assert mc.digest(url, [newest]) == mc.state_file("digest-before").strip()


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
        # Prepare started it under the initial key, each run restarted it under its new key.
        assert started == [initial.fingerprint, middle.fingerprint, newest.fingerprint]
        # It never ran while rows moved to a key it did not hold (offline rotation).
        assert [e for e in events if e["event"] in ("failed", "refused")] == []


def test_no_env_backup_holds_a_retired_key_after_the_rotations(host):
    """Each rotation's .env backup existed only while it was unfinished; the vault keeps retired keys."""
    host = mc.node(host)
    backups = host.check_output("ls -1A /opt/webops/ | grep '^.env.before-rotation-' || true").split()
    assert backups == []
