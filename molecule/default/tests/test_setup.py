# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""setup_encryption.yml on a fresh host, checked from the host, the vault file and the database."""

from support import molecule_checks as mc
from support import webops_db


def test_key_generated_valid_and_escrowed(host):
    host = mc.node(host)
    key = mc.env_key(host)
    assert key is not None, "ENCRYPTION_KEY missing from %s" % mc.ENV_FILE
    current, upcoming, _history = mc.vault_keys()
    assert current == key and upcoming is None
    assert mc.vault_vars().get("webops_encryption_key_created")
    # A fresh host: setup generated the key, it did not take the scenario's unused test key.
    assert key != mc.initial_key()
    assert "OLD_ENCRYPTION_KEY" not in mc.env_values(host)


def test_env_file_mode_owner_and_symlink(host):
    host = mc.node(host)
    env = host.file(mc.ENV_FILE)
    assert env.is_file and not env.is_symlink
    assert (env.user, env.group, env.mode) == ("webops", "webops", 0o600)
    link = host.file(mc.ENV_LINK)
    assert link.is_symlink and link.linked_to == mc.ENV_FILE
    # The installer's settings are kept as they were.
    assert {"SECRET_KEY", "DEBUG", "DATABASE_URL", "ALLOWED_HOSTS"} <= set(mc.env_values(host))
    assert mc.env_values(host)["DEBUG"] == "False"


def test_legacy_plaintext_encrypted_with_the_key_and_nothing_lost(host):
    host = mc.node(host)
    url, key = mc.database_url(host), mc.env_key(host)
    assert mc.values_not_under(url, key) == []
    assert webops_db.digest(url, [key]) == mc.state_file("digest-before").strip()
    census = webops_db.census(url, [key])
    assert census["core_two_factor_auth.secret"] == {0: 2}
    assert census["core_webhook.secret"] == {0: 2}
    assert census["databases.password"] == {0: 2}
    assert census["automation_data_source_credentials.credentials"] == {0: 1}


def test_units_active_with_the_key_and_started_once(host):
    host = mc.node(host)
    key = mc.env_key(host)
    before = mc.units_before(host.backend.name)
    for service in mc.SERVICES:
        props = mc.unit(host, service)
        assert props["ActiveState"] == "active" and props["SubState"] == "running"
        assert props["ActiveEnterTimestampMonotonic"] > before[service + ".service"]
        started = [e for e in mc.events(host, service) if e["event"] == "started"]
        # One start: converge's handler. The idempotence run fired no handler.
        assert len(started) == 1, started
        assert started[0]["fingerprint"] == key.fingerprint and started[0]["counts"]["failed"] == 0
        assert [e for e in mc.events(host, service) if e["event"] == "failed"] == []
