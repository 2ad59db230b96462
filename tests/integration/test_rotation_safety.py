# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A first rotation on an operator's own fleet: the app's stock column widths on a real
PostgreSQL (core_two_factor_auth.secret varchar(32) UNIQUE, core_webhook.secret varchar(64)
UNIQUE with an index, both holding legacy plaintext) are refused in step 1 with nothing
changed, or widened on request; no retired key stays on a host; verify_keys reports a vault
without a key. The inventory lives in a temp dir, outside this repository."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os
import re

from support import webops_db
from support.ansible_runs import run_tasks
from support.keys import fingerprint
from support.leaks import assert_no_secret
from support.playbook_site import ENV, Environment, HOSTS_SECRET_KEY, step_of

USERS = 12
NARROW = "core_two_factor_auth.secret is varchar(32) but the tokens it would receive need 140 characters"


def narrow_site(tmp_path, pg_url):
    """The app's migrations: the 2FA and webhook secrets are all legacy plaintext in narrow columns."""
    return Environment(tmp_path, pg_url, hosts=("panel1",), users=USERS, legacy_plaintext=USERS, narrow=True)


def column_shape(url):
    """Width of the two narrow columns, and every index and constraint on their tables."""
    with webops_db.Database(url) as database:
        return dict((table, (
            database.query("SELECT character_maximum_length FROM information_schema.columns "
                           "WHERE table_name = ? AND column_name = 'secret'", (table,))[0][0],
            sorted(database.query("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ?", (table,))),
            sorted(database.query("SELECT conname, contype FROM pg_constraint WHERE conrelid = ?::regclass", (table,)))))
            for table in ("core_two_factor_auth", "core_webhook"))


def site_state(site):
    vault = open(site.vault_file(ENV), "rb").read() if os.path.exists(site.vault_file(ENV)) else None
    return site.env_bytes(), vault, site.database_state(), column_shape(site.database_url), site.log_lines()


def assert_refused_with_both_ways_out(output):
    assert NARROW in output, output[-4000:]
    assert "core_webhook.secret is varchar(64) but the tokens it would receive need 184 characters" in output
    assert 'ALTER TABLE \\"core_two_factor_auth\\" ALTER COLUMN \\"secret\\" TYPE varchar(255);' in output
    assert "-e webops_widen_columns=true" in output
    # The operator's own command, with the variable the refusal recommends.
    assert re.search(r"before any token is written: ansible-playbook \S+rotate_keys\.yml[^\n]*? -e webops_widen_columns=true",
                     output) or re.search(r"before any token is written: ansible-playbook \S+\.yml[^\n]*? -e webops_widen_columns=true",
                                          output), output[-3000:]


def test_stock_widths_are_refused_before_anything_changes(tmp_path, pg_url):
    site = narrow_site(tmp_path, pg_url)
    before = site_state(site)

    # setup (which would adopt and escrow the hosts' key) and encrypt_secrets stop before any write.
    for playbook in ("setup_encryption.yml", "encrypt_secrets.yml"):
        result = site.run(playbook)
        assert result.returncode != 0, result.stdout[-3000:]
        assert_refused_with_both_ways_out(result.stdout)
        assert site_state(site) == before, playbook
    assert not os.path.exists(site.vault_file(ENV))

    # The rotation stops in step 1: no new key made or escrowed, no .env, unit or row touched.
    site.write_vault(ENV, {"webops_encryption_key": site.first_key})
    before = site_state(site)
    for check in (True, False):
        result = site.run("rotate_keys.yml", check=check)
        assert result.returncode != 0, result.stdout[-3000:]
        assert step_of(result.stdout) == 1, result.stdout[-3000:]
        assert_refused_with_both_ways_out(result.stdout)
        report = result.stdout[result.stdout.index("stopped in step 1"):]
        assert "escrowed" not in report and "new not made yet" in report
        if check:
            assert "This was a check run: nothing was written" in result.stdout
        else:
            assert "No .env and no database value changed yet" in result.stdout
            assert "resume with the same command: ansible-playbook " in result.stdout
        after = site_state(site)
        assert after[:4] == before[:4], "check=%s changed something" % check
        if not check:
            failures = [line for line in after[4] if line.get("operation") == "rotate"]
            # Refused in its preflight: audited as refused, with the reason.
            assert failures[-1]["outcome"] == "refused" and failures[-1]["fingerprints"] == {"old": fingerprint(site.first_key)}
            assert failures[-1]["details"]["refused_because"], failures[-1]


def test_setup_widens_and_encrypts_then_a_rotation_reads_back(tmp_path, pg_url):
    site = narrow_site(tmp_path, pg_url)
    shape = column_shape(pg_url)

    result = site.run("setup_encryption.yml", webops_widen_columns=True)
    assert result.returncode == 0, result.stdout[-4000:]
    assert "core_two_factor_auth.secret: widened from varchar(32) to varchar(255)" in result.stdout
    assert "core_webhook.secret: widened from varchar(64) to varchar(255)" in result.stdout
    widened = column_shape(pg_url)
    for table, (width, indexes, constraints) in widened.items():
        assert width == 255 and indexes == shape[table][1] and constraints == shape[table][2], table
    census = webops_db.census(pg_url, [site.first_key])
    assert census["core_two_factor_auth.secret"] == {0: USERS} and census["core_webhook.secret"] == {0: USERS}, census
    assert webops_db.digest(pg_url, [site.first_key], include_unknown=False) == site.digest

    # The module again: nothing left to widen or to encrypt.
    env_file = site.env_file(ENV, "db1.%s" % ENV)
    results, proc = run_tasks(tmp_path, [{"name": "again", "webops.encryption.fernet_encrypt": {
        "env_file": env_file, "widen_columns": True}}], {})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert not results["again"]["changed"] and results["again"]["widened"] == []

    result = site.run("rotate_keys.yml", webops_widen_columns=True)
    assert result.returncode == 0, result.stdout[-4000:]
    assert "widened" not in result.stdout.split("Show the rotation")[-1]
    site.assert_rotated_to_current()


def _key_forms(key):
    raw = base64.urlsafe_b64decode(key.encode())
    return [key, base64.b64encode(raw).decode(), key.rstrip("="), raw.hex()]


def test_rotation_widens_and_no_retired_key_is_left_on_the_host(tmp_path, pg_url):
    site = narrow_site(tmp_path, pg_url)
    site.write_vault(ENV, {"webops_encryption_key": site.first_key})
    host = "db1.%s" % ENV

    # Rotation 1 widens, encrypts the legacy plaintext under the new key, and (asked to) keeps its .env backup.
    result = site.run("rotate_keys.yml", webops_widen_columns=True, webops_keep_env_backups=True)
    assert result.returncode == 0, result.stdout[-4000:]
    assert "core_webhook.secret: widened from varchar(64) to varchar(255)" in result.stdout
    # The site manages no unit: no window is reported, the summary says why.
    assert "units stopped" not in result.stdout and "units: none managed" in result.stdout, result.stdout[-4000:]
    second = site.assert_rotated_to_current()
    backup = site.env_file(ENV, host) + ".before-rotation-" + fingerprint(second).split(":")[1]
    assert site.first_key in open(backup).read()

    # The module again with the same keys: nothing to widen, nothing to rotate.
    results, proc = run_tasks(tmp_path, [{"name": "again", "webops.encryption.fernet_rotate": {
        "env_file": site.env_file(ENV, host), "old_keys": ["{{ old_key }}"], "widen_columns": True,
        "encrypt_plaintext": True}}], {"old_key": site.first_key})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert not results["again"]["changed"] and results["again"]["widened"] == []

    # Rotation 2 after a compromise: every .env backup goes, whatever webops_keep_env_backups says.
    result = site.run("rotate_keys.yml", reason="compromise", webops_keep_env_backups=True)
    assert result.returncode == 0, result.stdout[-4000:]
    third = site.assert_rotated_to_current(secret_key_rotated=True)
    assert [entry["key"] for entry in site.vault_data()["webops_encryption_key_history"]] == [site.first_key, second]

    # No retired key, in any encoding, in anything on the hosts, their backups or the logs.
    retired = [site.first_key, second]
    searched = 0
    for base in (os.path.join(site.root, "hosts"), os.path.dirname(site.host_log), os.path.dirname(site.controller_log)):
        for folder, _dirs, names in os.walk(base):
            for name in names:
                assert ".before-rotation-" not in name, os.path.join(folder, name)
                with open(os.path.join(folder, name), "rb") as handle:
                    text = handle.read().decode("latin-1")
                for key in retired:
                    assert_no_secret(text, _key_forms(key))
                # The compromise replaced SECRET_KEY too: the retired one is nowhere either.
                assert_no_secret(text, [HOSTS_SECRET_KEY])
                searched += 1
    assert searched >= 4
    assert third in open(site.env_file(ENV, host)).read()


def test_verify_keys_reports_a_vault_without_a_key(tmp_path, sqlite_url):
    site = Environment(tmp_path, sqlite_url, hosts=())
    site.write_vault(ENV, {"webops_encryption_key_history": []})
    # verify appends to the audit logs an earlier run made; it creates none.
    os.makedirs(os.path.dirname(site.controller_log), exist_ok=True)
    open(site.controller_log, "a").close()
    os.chmod(site.controller_log, 0o600)
    result = site.run("verify_keys.yml")
    assert result.returncode != 0
    assert "holds no webops_encryption_key" in result.stdout, result.stdout[-3000:]
    assert "ENCRYPTION_KEY not configured" not in result.stdout
    verify = [line for line in site.log_lines() if line.get("operation") == "verify"]
    assert verify and verify[-1]["outcome"] == "failure", verify
