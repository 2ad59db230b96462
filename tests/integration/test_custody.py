# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Key custody, end to end: real ansible-playbook runs of the repository's playbooks against
throwaway inventories, real SQLite files and a real PostgreSQL (tests/conftest.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os
import stat
import subprocess

import pytest
from cryptography.fernet import Fernet

from support import webops_db
from support.keys import fingerprint, new_key
from support.leaks import assert_no_secret
from support.playbook_site import ROTATION_STEP_END, Site

pytestmark = [pytest.mark.playbook, pytest.mark.slow]


@pytest.fixture
def site(tmp_path):
    return Site(tmp_path)


def seeded(site, url, env, key, hosts, unknown=0, unknown_key=None, users=8):
    """A WebOps database under ``key`` and every host's .env pointing at it."""
    webops_db.create_schema(url)
    webops_db.seed(url, key, users=users, unknown=unknown, unknown_key=unknown_key)
    for host in hosts:
        site.write_env_file(env, host, {"DATABASE_URL": url, "ENCRYPTION_KEY": key})


def output_of(run):
    return "rc=%s\n%s" % (run.returncode, run.stdout[-6000:])


def include_playbook(site, name, tasks_from, extra_vars=""):
    """A playbook that includes one custody entry point (how the setup and rotation roles use it)."""
    path = os.path.join(site.root, name)
    with open(path, "w") as handle:
        handle.write(
            "- name: Use the custody entry point {0}\n"
            "  hosts: \"{{{{ env }}}}\"\n"
            "  gather_facts: false\n"
            "  tasks:\n"
            "    - name: Include it\n"
            "      ansible.builtin.include_role:\n"
            "        name: webops.encryption.custody\n"
            "        tasks_from: {0}\n{1}".format(tasks_from, extra_vars))
    return path


# -- escrow -------------------------------------------------------------------------------------

def test_rotation_escrows_the_new_key_before_the_database_is_touched(site, sqlite_url):
    hosts = site.add_env("dev", extra_hosts=["panel1"])
    old = new_key()
    seeded(site, sqlite_url, "dev", old, hosts)
    site.write_vault("dev", {"webops_encryption_key": old, "webops_encryption_key_created": "2026-01-01T00:00:00Z"})
    rows_before = webops_db.raw_digest(sqlite_url)
    plain_before = webops_db.digest(sqlite_url, [old])

    # A crash right after the escrow step: the key is saved, nothing else has changed.
    run = site.playbook("rotate_keys.yml", ["dev"], extra={"env": "dev"}, fault=(ROTATION_STEP_END[3], "fail"))
    assert run.returncode != 0, output_of(run)
    assert "Fault injected after task %r" % ROTATION_STEP_END[3] in run.stdout, output_of(run)
    with open(site.vault_file("dev"), "rb") as handle:
        assert handle.read().startswith(b"$ANSIBLE_VAULT;"), "the escrow is not vault-encrypted"
    assert stat.S_IMODE(os.stat(site.vault_file("dev")).st_mode) == 0o600
    vault = site.read_vault("dev")
    escrowed = vault["webops_encryption_key_next"]
    assert vault["webops_encryption_key"] == old
    assert vault["webops_encryption_key_next_created"].endswith("Z")
    assert webops_db.raw_digest(sqlite_url) == rows_before, "the database changed before the escrow was proven"
    for host in hosts:
        assert site.read_env_file("dev", host)["ENCRYPTION_KEY"] == old

    # The re-run resumes with the escrowed key: it is the key in use afterwards.
    run = site.playbook("rotate_keys.yml", ["dev"], extra={"env": "dev", "reason": "employee_departure"})
    assert run.returncode == 0, output_of(run)
    assert_no_secret(run.stdout, [old, escrowed])
    vault = site.read_vault("dev")
    assert vault["webops_encryption_key"] == escrowed
    assert "webops_encryption_key_next" not in vault
    history = vault["webops_encryption_key_history"]
    assert [entry["fingerprint"] for entry in history] == [fingerprint(old)]
    assert history[0]["key"] == old and history[0]["reason"] == "employee_departure"
    for host in hosts:
        assert site.read_env_file("dev", host)["ENCRYPTION_KEY"] == escrowed
    assert webops_db.not_under(sqlite_url, escrowed) == []
    assert webops_db.digest(sqlite_url, [escrowed]) == plain_before

    rotations = [line for line in site.log_lines() if line["operation"] == "rotate"]
    assert rotations and rotations[-1]["reason"] == "employee_departure"
    assert rotations[-1]["fingerprints"] == {"old": fingerprint(old), "new": fingerprint(escrowed)}
    # One line per host for the run stopped after step 3, and one for the run that finished.
    host_rotations = [line for line in site.log_lines("host") if line["operation"] == "rotate"]
    assert [line["outcome"] for line in host_rotations] == ["failure"] * len(hosts) + ["success"] * len(hosts)
    assert [line["details"].get("stopped_in_step") for line in host_rotations[:len(hosts)]] == [3] * len(hosts)


def test_rotation_stops_when_its_key_cannot_be_escrowed(site, sqlite_url):
    hosts = site.add_env("dev")
    old = new_key()
    seeded(site, sqlite_url, "dev", old, hosts)
    # A vault file in clear text: custody refuses to write a key into it.
    with open(site.vault_file("dev"), "w") as handle:
        handle.write("webops_encryption_key: %s\n" % old)
    rows_before = webops_db.raw_digest(sqlite_url)

    run = site.playbook("rotate_keys.yml", ["dev"], extra={"env": "dev"})
    assert run.returncode != 0, output_of(run)
    assert "is not ansible-vault encrypted" in run.stdout, output_of(run)
    assert webops_db.raw_digest(sqlite_url) == rows_before
    assert site.read_env_file("dev", hosts[0]) == {"DATABASE_URL": sqlite_url, "ENCRYPTION_KEY": old}
    with open(site.vault_file("dev")) as handle:
        assert handle.read() == "webops_encryption_key: %s\n" % old


def test_escrow_never_replaces_the_key_of_an_unfinished_rotation(site):
    site.add_env("dev")
    current, pending, other = new_key(), new_key(), new_key()
    site.write_vault("dev", {"webops_encryption_key": current, "webops_encryption_key_next": pending,
                             "webops_encryption_key_next_created": "2026-11-01T00:00:00Z"})
    with open(site.vault_file("dev"), "rb") as handle:
        before = handle.read()
    playbook = include_playbook(site, "escrow.yml", "escrow", "      vars:\n        webops_custody_key: \"{{ other_key }}\"\n")

    run = site.playbook(playbook, ["dev"], extra={"env": "dev", "other_key": other})
    assert run.returncode != 0, output_of(run)
    assert "webops_encryption_key_next already holds key %s" % fingerprint(pending) in run.stdout, output_of(run)
    assert_no_secret(run.stdout, [current, pending, other])
    with open(site.vault_file("dev"), "rb") as handle:
        assert handle.read() == before

    # The same key again is a no-op that keeps the recorded creation time.
    run = site.playbook(playbook, ["dev"], extra={"env": "dev", "other_key": pending})
    assert run.returncode == 0, output_of(run)
    assert site.read_vault("dev")["webops_encryption_key_next_created"] == "2026-11-01T00:00:00Z"


# -- audit trail ----------------------------------------------------------------------------------

def test_audit_log_refuses_key_material(site):
    site.add_env("dev")
    key = new_key()
    playbook = include_playbook(site, "audit.yml", "audit", (
        "      vars:\n"
        "        webops_audit_operation: set\n"
        "        webops_audit_fingerprints:\n"
        "          current: \"{{ leaked }}\"\n"))
    run = site.playbook(playbook, ["dev"], extra={"env": "dev", "leaked": key})
    assert run.returncode != 0, output_of(run)
    assert "looks like a Fernet key or token" in run.stdout, output_of(run)
    assert not os.path.exists(site.host_log) and not os.path.exists(site.controller_log)

    token = Fernet(key.encode()).encrypt(b"a secret").decode()
    run = site.playbook(playbook, ["dev"], extra={"env": "dev", "leaked": token})
    assert run.returncode != 0, output_of(run)
    assert token not in run.stdout and "a secret" not in run.stdout

    run = site.playbook(playbook, ["dev"], extra={"env": "dev", "leaked": fingerprint(key)})
    assert run.returncode == 0, output_of(run)
    for which in ("host", "controller"):
        lines = site.log_lines(which)
        assert len(lines) == 1
        entry = lines[0]
        assert entry["operation"] == "set" and entry["environment"] == "dev" and entry["host"] == "db1.dev"
        assert entry["fingerprints"] == {"current": fingerprint(key)} and entry["outcome"] == "success"
        assert entry["user"] and entry["time"].endswith("Z")
    for path in (site.host_log, site.controller_log):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


# -- key age and one key per environment (verify_keys.yml) ----------------------------------------

def test_verify_keys_reports_key_age_and_fails_an_overdue_key_when_asked(site, sqlite_url):
    hosts = site.add_env("dev", rotation_days=180)
    key = new_key()
    seeded(site, sqlite_url, "dev", key, hosts)
    site.write_vault("dev", {"webops_encryption_key": key, "webops_encryption_key_created": "2020-01-01T00:00:00Z"})

    run = site.playbook("verify_keys.yml", ["dev"], extra={"env": "dev"})
    assert run.returncode == 0, output_of(run)
    assert "rotated every 180 days: OVERDUE" in run.stdout, output_of(run)

    run = site.playbook("verify_keys.yml", ["dev"], extra={"env": "dev", "fail_on_overdue": True})
    assert run.returncode != 0, output_of(run)
    assert "The dev key %s is" % fingerprint(key) in run.stdout and "the schedule is 180 days" in run.stdout
    assert_no_secret(run.stdout, [key])


def test_verify_keys_fails_when_two_environments_share_a_key(site, sqlite_url, tmp_path):
    shared, own = new_key(), new_key()
    dev_hosts = site.add_env("dev")
    site.add_env("prod")
    site.add_env("staging")
    seeded(site, sqlite_url, "dev", shared, dev_hosts)
    recent = "2026-11-01T00:00:00Z"
    site.write_vault("dev", {"webops_encryption_key": shared, "webops_encryption_key_created": recent})
    site.write_vault("prod", {"webops_encryption_key": shared, "webops_encryption_key_created": recent})
    site.write_vault("staging", {"webops_encryption_key": own, "webops_encryption_key_created": recent})

    run = site.playbook("verify_keys.yml", ["dev", "prod", "staging"], extra={"env": "dev"})
    assert run.returncode != 0, output_of(run)
    assert "Environments dev and prod share the key %s" % fingerprint(shared) in run.stdout, output_of(run)
    assert "staging" not in run.stdout.split("share the key")[0].rsplit("Environments", 1)[-1]
    assert_no_secret(run.stdout, [shared, own])

    site.write_vault("prod", {"webops_encryption_key": new_key(), "webops_encryption_key_created": recent})
    run = site.playbook("verify_keys.yml", ["dev", "prod", "staging"], extra={"env": "dev"})
    assert run.returncode == 0, output_of(run)


# -- disaster recovery --------------------------------------------------------------------------

def test_recover_lost_key(site, db_url):
    hosts = site.add_env("dev", extra_hosts=["panel1"])
    held, lost = new_key(), new_key()
    # Three webhooks, three database API keys and one 2FA secret were encrypted with a key nobody has any more.
    seeded(site, db_url, "dev", held, hosts, unknown=3, unknown_key=lost.encode())
    with webops_db.Database(db_url) as db:
        db.execute("UPDATE core_two_factor_auth SET secret = ? WHERE id = 8",
                   (Fernet(lost.encode()).encrypt(b"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").decode(),))
        db.commit()
    site.write_vault("dev", {"webops_encryption_key": held, "webops_encryption_key_created": "2026-10-01T00:00:00Z"})
    with open(site.vault_file("dev"), "rb") as handle:
        vault_before = handle.read()
    rows_before = webops_db.raw_digest(db_url)
    readable_before = {}
    for table, column, pk, name, value in webops_db.iter_values(db_url):
        where, plain = webops_db.open_value(value, [Fernet(held.encode())])
        if where != "unknown" and table != "core_two_factor_auth":
            readable_before[(table, column, pk, name)] = plain
    export = os.path.join(site.root, "exports", "dev", "unreadable.jsonl")

    # Without the confirmation: a report, then a stop, with nothing changed.
    run = site.playbook("recover_lost_key.yml", ["dev"], extra={"env": "dev"})
    assert run.returncode != 0, output_of(run)
    assert "7 secret(s) open with no key held" in run.stdout, output_of(run)
    assert "core_two_factor_auth.secret: 1 unreadable (ids 8)" in run.stdout
    assert "core_webhook.secret: 3 unreadable" in run.stdout and "databases.api_key: 3 unreadable" in run.stdout
    assert "Nothing was changed" in run.stdout
    assert webops_db.raw_digest(db_url) == rows_before
    with open(site.vault_file("dev"), "rb") as handle:
        assert handle.read() == vault_before
    for host in hosts:
        assert site.read_env_file("dev", host)["ENCRYPTION_KEY"] == held
    assert not os.path.exists(export)
    assert [line["outcome"] for line in site.log_lines() if line["operation"] == "recover"] == ["refused"]

    # -vvv: module arguments and results are printed, and still hold no key.
    run = site.playbook("recover_lost_key.yml", ["dev"], extra={"env": "dev", "confirm_data_loss": "yes"}, verbosity=3)
    assert run.returncode == 0, output_of(run)
    vault = site.read_vault("dev")
    recovered = vault["webops_encryption_key"]
    assert recovered != held and "webops_encryption_key_next" not in vault
    assert [(e["fingerprint"], e["key"], e["reason"]) for e in vault["webops_encryption_key_history"]] == \
        [(fingerprint(held), held, "lost_key")]
    assert_no_secret(run.stdout, [held, lost, recovered])
    for host in hosts:
        assert site.read_env_file("dev", host) == {"DATABASE_URL": db_url, "ENCRYPTION_KEY": recovered}

    # A working key: every remaining value opens with it, and what was readable is unchanged.
    assert webops_db.not_under(db_url, recovered) == []
    census = webops_db.census(db_url, [recovered])
    assert all("unknown" not in counts for counts in census.values())
    fernet = Fernet(recovered.encode())
    after = {}
    for table, column, pk, name, value in webops_db.iter_values(db_url):
        after[(table, column, pk, name)] = webops_db.open_value(value, [fernet])[1]
    for location, plain in readable_before.items():
        assert after[location] == plain, location
    # The 2FA row is gone (that user enables 2FA again), the others are intact.
    with webops_db.Database(db_url) as db:
        assert [row[0] for row in db.query("SELECT id FROM core_two_factor_auth ORDER BY id")] == [1, 2, 3, 4, 5, 6, 7]
    # Webhooks got new secrets, the API keys no key opened were emptied.
    for pk in (6, 7, 8):
        assert len(after[("core_webhook", "secret", pk, None)]) == 64
    assert [after[("databases", "api_key", pk, None)] for pk in (6, 7, 8)] == ["", "", ""]

    # The unreadable values were exported first (0600), so a key found later can still open them.
    assert stat.S_IMODE(os.stat(export).st_mode) == 0o600
    with open(export) as handle:
        records = [json.loads(line) for line in handle]
    assert sorted((r["table"], r["column"], r["pk"]) for r in records) == sorted(
        [("core_two_factor_auth", "secret", 8)] + [("core_webhook", "secret", pk) for pk in (6, 7, 8)]
        + [("databases", "api_key", pk) for pk in (6, 7, 8)])
    lost_fernet = Fernet(lost.encode())
    assert all(lost_fernet.decrypt(r["value"].encode()) for r in records)

    recoveries = [line for line in site.log_lines() if line["operation"] == "recover"]
    assert recoveries[-1]["outcome"] == "success" and recoveries[-1]["fingerprints"] == {"new": fingerprint(recovered)}
    assert recoveries[-1]["counts"]["totals"]["unreadable"] == 7
    assert recoveries[-1]["counts"]["totals"]["deleted"] == 1

    if not db_url.startswith("sqlite"):
        return
    # Idempotent: a re-run finds nothing lost and changes nothing.
    rows_after = webops_db.raw_digest(db_url)
    run = site.playbook("recover_lost_key.yml", ["dev"], extra={"env": "dev", "confirm_data_loss": "yes"})
    assert run.returncode == 0, output_of(run)
    assert "Nothing to recover" in run.stdout
    assert webops_db.raw_digest(db_url) == rows_after


# -- backup --------------------------------------------------------------------------------------

def test_backup_keys_to_vault_and_gpg(site, tmp_path):
    dev_hosts = site.add_env("dev")
    prod_hosts = site.add_env("prod")
    dev_key, prod_key = new_key(), new_key()
    site.write_env_file("dev", dev_hosts[0], {"ENCRYPTION_KEY": dev_key})
    site.write_env_file("prod", prod_hosts[0], {"ENCRYPTION_KEY": prod_key})
    site.write_vault("prod", {"webops_encryption_key": prod_key, "webops_encryption_key_created": "2026-09-01T00:00:00Z"})
    passphrase = os.path.join(site.root, "gpg-passphrase")
    with open(passphrase, "w") as handle:
        handle.write(Fernet.generate_key().decode() + "\n")
    gpg_dir = os.path.join(site.root, "key-backups")
    extra = {"webops_custody_stores": ["vault", "gpg"], "webops_custody_gpg_passphrase_file": passphrase,
             "webops_custody_gpg_dir": gpg_dir}
    gnupghome = tmp_path / "gnupg"
    gnupghome.mkdir(mode=0o700)
    os.environ["GNUPGHOME"] = str(gnupghome)
    try:
        run = site.playbook("backup_keys.yml", ["dev", "prod"], extra=extra, verbosity=3)
        assert run.returncode == 0, output_of(run)
        assert_no_secret(run.stdout, [dev_key, prod_key])
        # dev had no vault file: the key in use is escrowed now; prod's escrow is unchanged.
        assert site.read_vault("dev")["webops_encryption_key"] == dev_key
        assert site.read_vault("prod")["webops_encryption_key_created"] == "2026-09-01T00:00:00Z"
        files = sorted(glob.glob(os.path.join(gpg_dir, "*.asc")))
        assert [os.path.basename(f) for f in files] == sorted(
            ["dev-%s.asc" % fingerprint(dev_key).replace(":", "-"), "prod-%s.asc" % fingerprint(prod_key).replace(":", "-")])
        for path, key in zip(files, [dev_key, prod_key]):
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
            with open(path) as handle:
                assert key not in handle.read()
            # The README's restore command.
            plain = subprocess.run(["gpg", "--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase-file", passphrase,
                                    "--decrypt", path], stdout=subprocess.PIPE, check=True, universal_newlines=True).stdout
            assert "ENCRYPTION_KEY=%s\n" % key in plain
        stamps = [os.stat(f).st_mtime_ns for f in files]
        with open(site.vault_file("dev"), "rb") as handle:
            dev_vault = handle.read()

        run = site.playbook("backup_keys.yml", ["dev", "prod"], extra=extra)
        assert run.returncode == 0, output_of(run)
        assert [os.stat(f).st_mtime_ns for f in files] == stamps
        with open(site.vault_file("dev"), "rb") as handle:
            assert handle.read() == dev_vault

        # A host whose key is not the escrowed one stops the backup, naming both fingerprints.
        stray = new_key()
        site.write_env_file("prod", prod_hosts[0], {"ENCRYPTION_KEY": stray})
        run = site.playbook("backup_keys.yml", ["prod"], extra=dict(extra, env="prod"))
        assert run.returncode != 0, output_of(run)
        assert fingerprint(stray) in run.stdout and fingerprint(prod_key) in run.stdout
        assert site.read_vault("prod")["webops_encryption_key"] == prod_key
    finally:
        # gpg started an agent for this home: stop it with the home.
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], check=False)
        del os.environ["GNUPGHOME"]
    backups = [line for line in site.log_lines() if line["operation"] == "backup"]
    assert sorted(line["environment"] for line in backups) == ["dev", "dev", "prod", "prod"]
    with open(site.controller_log) as handle:
        assert_no_secret(handle.read(), [dev_key, prod_key, stray])
