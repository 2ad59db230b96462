# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The real playbooks (setup_encryption, rotate_keys, verify_keys, encrypt_secrets) run with
ansible-playbook against local hosts, each with its own .env, and a real SQLite or PostgreSQL
database seeded with WebOps-shaped secrets. Checked by tests/support/webops_db.py, which decrypts
every value on its own. Systemd handlers are proven by the Molecule scenarios."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import stat

from cryptography.fernet import Fernet

from support import webops_db
from support.keys import fingerprint
from support.leaks import assert_no_secret
from support.playbook_site import ENV, HOSTS_SECRET_KEY, Environment, OTHER_SETTINGS, ROTATION_STEP_END, step_of


def recap_changed(output, host):
    match = re.search(r"^%s\s+: ok=\d+\s+changed=(\d+)" % re.escape(host), output, re.M)
    assert match, output[-3000:]
    return int(match.group(1))


def test_a_playbook_refuses_a_missing_or_unknown_env_before_touching_any_host(tmp_path, sqlite_url):
    site = Environment(tmp_path, sqlite_url, hosts=())
    env_before, db_before = site.env_bytes(), site.database_state()
    for playbook in ("rotate_keys.yml", "setup_encryption.yml", "encrypt_secrets.yml", "verify_keys.yml"):
        result = site.run(playbook, env=None)
        assert result.returncode != 0, result.stdout
        assert "Say which environment: -e env=ENV, one of: %s" % ENV in result.stdout
        assert "db1.%s" % ENV not in result.stdout
    for wrong in ("prod", "webops_database"):
        result = site.run("rotate_keys.yml", env=wrong)
        assert result.returncode != 0
        assert "'%s' is not an environment of this inventory" % wrong in result.stdout
        assert "db1.%s" % ENV not in result.stdout
    assert site.env_bytes() == env_before
    assert site.database_state() == db_before
    assert not os.path.exists(site.vault_file(ENV))


def test_setup_check_mode_rotation_and_verify_across_hosts(tmp_path, sqlite_url):
    site = Environment(tmp_path, sqlite_url, hosts=("panel1",))
    panel = "panel1.%s" % ENV

    # setup --check on the fresh environment writes nothing: no .env, no row, no vault file.
    env_before, db_before = site.env_bytes(), site.database_state()
    result = site.run("setup_encryption.yml", check=True)
    assert result.returncode == 0, result.stdout[-4000:]
    assert re.search(r"core_webhook\.secret: 12 rows, 10 already encrypted, 2 would be encrypted", result.stdout)
    assert site.env_bytes() == env_before and site.database_state() == db_before
    assert not os.path.exists(site.vault_file(ENV))
    assert not os.path.exists(site.host_log) and not os.path.exists(site.controller_log)

    # Setup adopts the key the hosts share, escrows it, encrypts the legacy plaintext secrets.
    result = site.run("setup_encryption.yml")
    assert result.returncode == 0, result.stdout[-4000:]
    assert site.vault_data()["webops_encryption_key"] == site.first_key
    census = webops_db.census(sqlite_url, [site.first_key])
    assert all("plain" not in counts for counts in census.values()), census
    assert webops_db.digest(sqlite_url, [site.first_key], include_unknown=False) == site.digest

    # Idempotent: a second setup changes nothing anywhere.
    env_before, db_before = site.env_bytes(), site.database_state()
    result = site.run("setup_encryption.yml")
    assert result.returncode == 0, result.stdout[-4000:]
    assert recap_changed(result.stdout, panel) == 0 and recap_changed(result.stdout, "db1.%s" % ENV) == 0
    assert site.env_bytes() == env_before and site.database_state() == db_before

    # --check reports the counts and writes nothing: not the .env files, the rows or the vault.
    vault_before = open(site.vault_file(ENV), "rb").read()
    logs_before = site.log_lines("host"), site.log_lines()
    result = site.run("rotate_keys.yml", check=True)
    assert result.returncode == 0, result.stdout[-4000:]
    assert "would rotate (check mode, nothing written)" in result.stdout
    assert re.search(r"core_webhook\.secret: 12 rows, 12 would be rotated", result.stdout), result.stdout[-3000:]
    assert site.env_bytes() == env_before
    assert site.database_state() == db_before
    assert open(site.vault_file(ENV), "rb").read() == vault_before
    assert (site.log_lines("host"), site.log_lines()) == logs_before
    # --check writes no evidence.
    assert not os.path.exists(site.evidence_dir(ENV))

    # The rotation: every column under one new key, both hosts' .env hold only it, settings kept.
    result = site.run("rotate_keys.yml")
    assert result.returncode == 0, result.stdout[-4000:]
    new_key = site.assert_rotated_to_current()
    assert new_key != site.first_key
    assert "%s -> %s" % (fingerprint(site.first_key), fingerprint(new_key)) in result.stdout
    # Its evidence: complete, every column's values moved from the old fingerprint to the new one.
    record = site.assert_evidence(ENV, "rotate_keys", 0, keys=[site.first_key, new_key])
    assert record["status"] == "complete" and record["outcome"] == "success", record["status_reasons"]
    webhook = [c for c in record["columns"] if (c["table"], c["column"]) == ("core_webhook", "secret")][0]
    assert webhook["before"] == {fingerprint(site.first_key): 12} and webhook["after"] == {fingerprint(new_key): 12}
    assert all(c["left_under_retired"] == 0 for c in record["columns"])
    assert "rotate_keys.yml" in record["command"] and "-e" in record["command"]
    encryption = [k for k in record["keys"] if k["name"] == "ENCRYPTION_KEY"][0]
    assert encryption["fingerprint"] == fingerprint(new_key) and encryption["escrow"]["in_vault"] and encryption["age_days"] == 0
    assert [line["id"] for line in site.log_lines() if line["operation"] == "rotate"][-1] in record["audit_lines"]
    history = site.vault_data()["webops_encryption_key_history"]
    assert [entry["key"] for entry in history] == [site.first_key]
    # The .env backups held the retired key only while the rotation was unfinished.
    for host in site.hosts:
        assert not os.path.exists(site.env_file(ENV, host) + ".before-rotation-" + fingerprint(new_key).split(":")[1])

    # verify_keys: one key everywhere, every value opens with it.
    result = site.run("verify_keys.yml")
    assert result.returncode == 0, result.stdout[-4000:]
    assert "every host holds %s" % fingerprint(new_key) in result.stdout
    assert re.search(r"core_webhook\.secret: 12 rows: 12 under the current key", result.stdout), result.stdout[-3000:]
    record = site.assert_evidence(ENV, "verify_keys", 1, keys=[site.first_key, new_key])
    assert record["status"] == "complete"
    webhook = [c for c in record["columns"] if (c["table"], c["column"]) == ("core_webhook", "secret")][0]
    assert webhook["before"] == webhook["after"] == {fingerprint(new_key): 12}

    # evidence_check finds both records intact; an edited record is named as changed.
    check = site.evidence_check(ENV)
    assert check.returncode == 0 and "2 evidence record(s) match the audit trail" in check.stdout, check.stdout[-3000:]
    path = site.evidence_records(ENV)[0][0]
    with open(path) as handle:
        text = handle.read()
    with open(path, "w") as handle:
        handle.write(text.replace('"status": "complete"', '"status": "incomplete"'))
    check = site.evidence_check(ENV)
    assert check.returncode != 0 and "%s: its SHA-256" % os.path.basename(path) in check.stdout, check.stdout[-3000:]


def test_a_rerun_resumes_after_a_failure_at_every_step(set_up_site, sqlite_url):
    """Crash after step 1, re-run and crash after step 2, ... after step 6, then re-run to the end.

    Each run starts from the state the previous crash left, so every step's leftover state is
    resumed once; after each crash every value still opens with a key a .env and the vault hold,
    and from step 3 on the escrowed new key never changes."""
    site = set_up_site(Environment, sqlite_url, hosts=())
    host = "db1.%s" % ENV
    escrowed = None
    for step in range(1, 7):
        result = site.run("rotate_keys.yml", fault=(ROTATION_STEP_END[step], "fail"))
        assert result.returncode != 0
        assert step_of(result.stdout) == step, result.stdout[-4000:]
        assert "Fault injected after task %r" % ROTATION_STEP_END[step] in result.stdout
        # The command the operator ran: this playbook path, the inventory, the vault options.
        resume = result.stdout[result.stdout.index("resume with the same command: ansible-playbook "):][:2000]
        assert os.path.join("playbooks", "rotate_keys.yml") in resume.split(" -i ")[0]
        assert "-i %s" % os.path.join(site.inventories, ENV, "hosts.yml") in resume
        assert "--vault-password-file %s" % site.password_file in resume
        backup = site.env_file(ENV, host) + ".before-rotation-"
        backups = [name for name in os.listdir(os.path.dirname(backup)) if ".before-rotation-" in name]
        assert len(backups) == (1 if step >= 3 else 0), (step, backups)
        site.assert_nothing_lost()
        vault = site.vault_data()
        values = site.env_values(host)
        assert vault["webops_encryption_key"] == site.first_key
        if step <= 2:
            assert "webops_encryption_key_next" not in vault
            assert values["ENCRYPTION_KEY"] == site.first_key and "OLD_ENCRYPTION_KEY" not in values
            continue
        escrowed = escrowed or vault["webops_encryption_key_next"]
        assert vault["webops_encryption_key_next"] == escrowed, "a second new key was made mid-rotation"
        if step == 3:
            assert values["ENCRYPTION_KEY"] == site.first_key and "OLD_ENCRYPTION_KEY" not in values
        elif step in (4, 5):
            assert values["ENCRYPTION_KEY"] == escrowed and values["OLD_ENCRYPTION_KEY"] == site.first_key
        else:
            assert values["ENCRYPTION_KEY"] == escrowed and "OLD_ENCRYPTION_KEY" not in values
        if step >= 5:
            assert webops_db.not_under(sqlite_url, escrowed) == []
    result = site.run("rotate_keys.yml")
    assert result.returncode == 0, result.stdout[-4000:]
    assert site.assert_rotated_to_current() == escrowed
    assert not [name for name in os.listdir(os.path.dirname(site.env_file(ENV, host))) if ".before-rotation-" in name]


def test_a_killed_controller_leaves_a_state_the_same_command_finishes(set_up_site, sqlite_url):
    """ansible-playbook SIGKILLed right after the .env write (no rescue, no report), then re-run."""
    site = set_up_site(Environment, sqlite_url, hosts=("panel1",))
    result = site.run("rotate_keys.yml", fault=(ROTATION_STEP_END[4], "kill"))
    assert result.returncode == -9, result.stdout[-3000:]
    assert "stopped in step" not in result.stdout
    site.assert_nothing_lost()
    escrowed = site.vault_data()["webops_encryption_key_next"]
    # The kill lands after the first host's write: others may still hold only the old key.
    states = [site.env_values(host) for host in site.hosts]
    assert any(values.get("OLD_ENCRYPTION_KEY") == site.first_key for values in states)
    assert all(values["ENCRYPTION_KEY"] == site.first_key and "OLD_ENCRYPTION_KEY" not in values
               or values["ENCRYPTION_KEY"] == escrowed and values["OLD_ENCRYPTION_KEY"] == site.first_key for values in states)
    result = site.run("rotate_keys.yml")
    assert result.returncode == 0, result.stdout[-4000:]
    assert site.assert_rotated_to_current() == escrowed


def test_rotation_on_postgresql_resumes_and_rotates_again(set_up_site, pg_url):
    site = set_up_site(Environment, pg_url, hosts=())

    # A crash after both keys are written, before any row moved: the re-run finishes the job.
    result = site.run("rotate_keys.yml", fault=(ROTATION_STEP_END[4], "fail"))
    assert result.returncode != 0 and step_of(result.stdout) == 4
    assert "OLD_ENCRYPTION_KEY=%s" % fingerprint(site.first_key) in result.stdout
    site.assert_nothing_lost()
    # Worst case: the vault lost the escrowed key too (restored from an older copy). The re-run
    # takes the new key from the hosts' .env (ENCRYPTION_KEY next to OLD_ENCRYPTION_KEY), escrows it again.
    vault = site.vault_data()
    new_key = vault.pop("webops_encryption_key_next")
    vault.pop("webops_encryption_key_next_created", None)
    site.write_vault(ENV, vault)
    result = site.run("rotate_keys.yml")
    assert result.returncode == 0, result.stdout[-4000:]
    first_rotation = site.assert_rotated_to_current()
    assert first_rotation == new_key

    # A second rotation starts from the first one's key and works the same way.
    result = site.run("rotate_keys.yml")
    assert result.returncode == 0, result.stdout[-4000:]
    second_rotation = site.assert_rotated_to_current()
    assert second_rotation not in (first_rotation, site.first_key)
    history = [entry["key"] for entry in site.vault_data()["webops_encryption_key_history"]]
    assert history == [site.first_key, first_rotation]


def test_rotation_refuses_values_no_key_opens_and_changes_nothing(tmp_path, sqlite_url):
    site = Environment(tmp_path, sqlite_url, hosts=(), unknown=2)
    site.write_vault(ENV, {"webops_encryption_key": site.first_key})
    env_before, db_before = site.env_bytes(), site.database_state()

    # encrypt_secrets --check is the guide's dry run: the counts, and nothing written.
    result = site.run("encrypt_secrets.yml", check=True)
    assert result.returncode == 0, result.stdout[-4000:]
    assert re.search(r"core_two_factor_auth\.secret: 12 rows, 10 already encrypted, 2 would be encrypted", result.stdout)
    assert "would encrypt (check mode, nothing written)" in result.stdout
    assert site.database_state() == db_before
    result = site.run("rotate_keys.yml")
    assert result.returncode != 0
    assert step_of(result.stdout) == 1
    assert "core_webhook" in result.stdout and "No .env and no database value changed yet" in result.stdout
    assert site.env_bytes() == env_before and site.database_state() == db_before
    assert "webops_encryption_key_next" not in site.vault_data()
    failures = [line for line in site.log_lines() if line.get("operation") == "rotate"]
    assert failures and failures[-1].get("outcome") == "refused", failures


def test_setup_generates_one_key_for_the_environment_and_never_splits_it(tmp_path, sqlite_url):
    site = Environment(tmp_path, sqlite_url, hosts=("panel1",), users=0)
    for host in site.hosts:
        with open(site.env_file(ENV, host), "w") as handle:
            handle.write("DATABASE_URL=%s\nDEBUG=False\n" % sqlite_url)

    # No key anywhere: one key is generated for the environment, escrowed, given to every host.
    result = site.run("setup_encryption.yml")
    assert result.returncode == 0, result.stdout[-4000:]
    key = site.vault_data()["webops_encryption_key"]
    for host in site.hosts:
        values = site.env_values(host)
        assert values == {"DATABASE_URL": sqlite_url, "DEBUG": "False", "ENCRYPTION_KEY": key}
        assert stat.S_IMODE(os.stat(site.env_file(ENV, host)).st_mode) == 0o600

    # A host holding another key: setup names both fingerprints and writes nothing.
    other = site.first_key
    panel_env = site.env_file(ENV, "panel1.%s" % ENV)
    with open(panel_env) as handle:
        text = handle.read().replace(key, other)
    with open(panel_env, "w") as handle:
        handle.write(text)
    env_before, vault_before = site.env_bytes(), open(site.vault_file(ENV), "rb").read()
    result = site.run("setup_encryption.yml")
    assert result.returncode != 0
    assert fingerprint(key) in result.stdout and fingerprint(other) in result.stdout
    assert "Nothing was written" in result.stdout
    assert site.env_bytes() == env_before
    assert open(site.vault_file(ENV), "rb").read() == vault_before


def test_every_key_operation_is_audited_and_a_restored_backup_moves_forward(tmp_path, sqlite_url):
    """setup (generate, set) + encrypt_secrets + rotate + verify: one audit line each, on the host and
    the controller, none holding a key or a secret. Then a database backup taken before the rotation
    is restored: verify names its values as under a retired key, and a re-run of rotate_keys.yml
    moves every value to the newest key."""
    site = Environment(tmp_path, sqlite_url, hosts=(), users=0)
    host = "db1.%s" % ENV
    with open(site.env_file(ENV, host), "w") as handle:
        handle.write(OTHER_SETTINGS + "DATABASE_URL=%s\n" % sqlite_url)

    # No key anywhere: setup generates the environment's key, escrows it and writes it to the .env.
    result = site.run("setup_encryption.yml")
    assert result.returncode == 0, result.stdout[-4000:]
    first = site.vault_data()["webops_encryption_key"]
    assert site.env_values(host)["ENCRYPTION_KEY"] == first

    # The database now holds secrets under that key, two of them left in plain text by an old release.
    database = sqlite_url[len("sqlite:///"):]
    os.remove(database)
    webops_db.create_schema(sqlite_url)
    # Its configuration values are under the hosts' SECRET_KEY, as the application wrote them.
    webops_db.seed(sqlite_url, first, users=12, legacy_plaintext=2, secret_key=HOSTS_SECRET_KEY)
    site.digest = webops_db.digest(sqlite_url, [first], include_unknown=False)
    plaintexts = set(webops_db.open_value(value, [Fernet(first.encode())])[1]
                     for _table, _column, _pk, _name, value in webops_db.iter_values(sqlite_url))
    plaintexts.discard("")
    assert len(plaintexts) > 100
    result = site.run("encrypt_secrets.yml")
    assert result.returncode == 0, result.stdout[-4000:]
    with open(database, "rb") as handle:
        backup = handle.read()

    result = site.run("rotate_keys.yml")
    assert result.returncode == 0, result.stdout[-4000:]
    second = site.assert_rotated_to_current()
    result = site.run("verify_keys.yml")
    assert result.returncode == 0, result.stdout[-4000:]

    # The backup from before the rotation comes back: its values are under the retired first key.
    with open(database, "wb") as handle:
        handle.write(backup)
    result = site.run("verify_keys.yml")
    assert result.returncode != 0, result.stdout[-4000:]
    assert re.search(r"core_webhook\.secret: 12 rows: 0 under the current key, 12 under the retired %s key, 0 plaintext, 0 empty, 0 that no key opens"
                     % re.escape(fingerprint(first)), result.stdout), result.stdout[-3000:]
    assert "under a key an earlier rotation retired" in result.stdout
    # The re-run rotation takes them (and nothing else is lost) to a third key.
    result = site.run("rotate_keys.yml")
    assert result.returncode == 0, result.stdout[-4000:]
    third = site.assert_rotated_to_current()
    assert third not in (first, second)
    assert [entry["key"] for entry in site.vault_data()["webops_encryption_key_history"]] == [first, second]
    # A setup run that changes nothing claims no operation.
    result = site.run("setup_encryption.yml")
    assert result.returncode == 0 and recap_changed(result.stdout, host) == 0, result.stdout[-4000:]

    # The restored backup's verify left evidence that says so: incomplete, its values under the retired key.
    records = [record for _path, record, _data in site.evidence_records(ENV)]
    assert [(r["operation"], r["status"]) for r in records] == [
        ("rotate_keys", "complete"), ("verify_keys", "complete"), ("verify_keys", "incomplete"), ("rotate_keys", "complete")]
    webhook = [c for c in records[2]["columns"] if (c["table"], c["column"]) == ("core_webhook", "secret")][0]
    assert webhook["after"] == {fingerprint(first): 12} and webhook["left_under_retired"] == 12
    assert "core_webhook.secret: 12 value(s) left under a retired key." in records[2]["status_reasons"]
    webhook = [c for c in records[3]["columns"] if (c["table"], c["column"]) == ("core_webhook", "secret")][0]
    assert webhook["before"] == {fingerprint(first): 12} and webhook["after"] == {fingerprint(third): 12}

    # Setup escrows the hosts' SECRET_KEY too, once. The controller's log also holds each evidence record's line.
    expected = ["generate", "escrow", "escrow_secret_key", "set", "encrypt", "escrow", "rotate", "verify", "verify", "escrow", "rotate"]
    evidence = [line for line in site.log_lines() if line["operation"] == "evidence"]
    assert [line["outcome"] for line in evidence] == ["complete", "complete", "incomplete", "complete"]
    for which, path in (("host", site.host_log), ("controller", site.controller_log)):
        lines = [line for line in site.log_lines(which) if line["operation"] != "evidence"]
        assert [line["operation"] for line in lines] == expected, (which, lines)
        assert all(line["host"] == host and line["environment"] == ENV for line in lines)
        outcomes = dict((line["operation"], []) for line in lines)
        for line in lines:
            outcomes[line["operation"]].append(line["outcome"])
        assert outcomes["verify"] == ["success", "failure"], which
        assert set(outcomes["rotate"]) == {"success"}, which
        assert lines[0]["fingerprints"] == {"new": fingerprint(first)}
        # The hosts' SECRET_KEY is weak: named without a fingerprint.
        assert lines[2]["fingerprints"]["current"].startswith("a weak SECRET_KEY")
        assert lines[3]["fingerprints"] == {"current": fingerprint(first)}
        encrypted = lines[4]["counts"]
        assert encrypted["core_two_factor_auth.secret"] == {"newly_encrypted": 2, "total": 12}, encrypted
        assert encrypted["core_webhook.secret"] == {"newly_encrypted": 2, "total": 12}, encrypted
        rotations = [line["fingerprints"] for line in lines if line["operation"] == "rotate"]
        assert rotations == [{"old": fingerprint(first), "new": fingerprint(second)},
                             {"old": fingerprint(second), "new": fingerprint(third)}]
        assert lines[8]["counts"]["core_webhook.secret"]["retired %s" % fingerprint(first)] == 12
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        with open(path) as handle:
            text = handle.read()
        assert_no_secret(text, [first, second, third])
        leaked = [value for value in plaintexts if value in text]
        assert leaked == [], "plaintext secrets in the %s audit log" % which


def test_setup_adopts_a_quoted_key_from_the_hosts(tmp_path, sqlite_url):
    """A .env may quote the key (the application's reader takes the quotes off): setup escrows the
    key itself, without its quotes, and the hosts' files stay as they were."""
    site = Environment(tmp_path, sqlite_url, hosts=("panel1",))
    for host, quote in zip(site.hosts, ('"', "'")):
        path = site.env_file(ENV, host)
        with open(path) as handle:
            text = handle.read()
        quoted = text.replace("ENCRYPTION_KEY=%s\n" % site.first_key, "ENCRYPTION_KEY=%s%s%s\n" % (quote, site.first_key, quote))
        assert quoted != text
        with open(path, "w") as handle:
            handle.write(quoted)
    env_before = site.env_bytes()

    # At -vvv: the key read from the host (with its quotes or without) shows nowhere.
    result = site.playbook("setup_encryption.yml", [ENV], extra={"env": ENV}, verbosity=3)
    assert result.returncode == 0, result.stdout[-4000:]
    assert site.vault_data()["webops_encryption_key"] == site.first_key
    assert site.env_bytes() == env_before
    output = result.stdout + (result.stderr or "")
    assert "ESTABLISH LOCAL CONNECTION" in output  # really -vvv
    assert_no_secret(output, [site.first_key])
