# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""rotate_secret_key.yml and rotate_keys.yml -e reason=compromise, run with ansible-playbook against
local hosts with their own .env and a real SQLite or PostgreSQL database holding sensitive and plain
configuration values. Checked by webops_db, which derives the app's key from SECRET_KEY on its own."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re

from support import webops_db
from support.keys import fingerprint
from support.leaks import assert_no_secret
from support.playbook_site import ENV, FIRST_SECRET_KEY, PLAINTEXTS, SecretKeySite
from ansible_collections.webops.encryption.plugins.module_utils import secret_key


def secret_fingerprint(secret_key):
    return "sha256:" + hashlib.sha256(secret_key.encode("utf-8")).hexdigest()[:16]


def test_rotate_secret_key_check_then_rotate_leaves_encryption_key_data_alone(set_up_site, sqlite_url):
    site = set_up_site(SecretKeySite, sqlite_url)
    encryption_tokens = site.database_state()  # every ENCRYPTION_KEY column as stored
    env_before, config_before = site.env_bytes(), webops_db.config_rows(sqlite_url)
    vault_before = open(site.vault_file(ENV), "rb").read()

    result = site.run("rotate_secret_key.yml", check=True)
    assert result.returncode == 0, result.stdout[-4000:]
    assert "would rotate (check mode, nothing written)" in result.stdout
    assert re.search(r"core_configuration\.value \(SECRET_KEY\): 2 values, 2 rotated", result.stdout), result.stdout[-3000:]
    assert "logs every user out" in result.stdout
    assert site.env_bytes() == env_before and webops_db.config_rows(sqlite_url) == config_before
    assert open(site.vault_file(ENV), "rb").read() == vault_before

    result = site.run("rotate_secret_key.yml")
    assert result.returncode == 0, result.stdout[-4000:]
    new = site.assert_secret_key_rotated(site.first_key)
    assert site.database_state() == encryption_tokens
    history = site.vault_data()["webops_secret_key_history"]
    assert [entry["key"] for entry in history] == [FIRST_SECRET_KEY]
    # The old key is weak: named as secret_key_info names it, never by its (reversible) fingerprint.
    weak_name = "a weak SECRET_KEY (not fingerprinted: %s)" % secret_key.weakness(FIRST_SECRET_KEY)
    assert "%s -> %s" % (weak_name, secret_fingerprint(new)) in result.stdout
    assert "logs every user out and invalidates password-reset links and signed cookies" in result.stdout
    lines = [line for line in site.log_lines() if line["operation"] == "rotate_secret_key"]
    assert lines and lines[-1]["outcome"] == "success"
    assert lines[-1]["fingerprints"] == {"old": weak_name, "new": secret_fingerprint(new)}
    assert secret_fingerprint(FIRST_SECRET_KEY) not in result.stdout + repr(site.log_lines())
    # Its evidence (none from the --check run): the configuration values moved to the new SECRET_KEY, the
    # ENCRYPTION_KEY columns stayed under their key, and both keys are named by fingerprint with their escrow.
    record = site.assert_evidence(ENV, "rotate_secret_key", 0, keys=site.all_keys() + [FIRST_SECRET_KEY, new])
    assert record["status"] == "complete" and record["outcome"] == "success", record["status_reasons"]
    config = [c for c in record["columns"] if c["keyed_by"] == "SECRET_KEY"][0]
    # The hosts' first SECRET_KEY is weak: named as such, never fingerprinted.
    assert list(config["before"].values()) == [2] and list(config["before"])[0].startswith("a weak SECRET_KEY")
    assert secret_fingerprint(FIRST_SECRET_KEY) not in json.dumps(record)
    assert config["after"] == {secret_fingerprint(new): 2}
    assert all(c["before"] == c["after"] for c in record["columns"] if c["keyed_by"] == "ENCRYPTION_KEY")
    keys = dict((k["name"], k) for k in record["keys"])
    assert keys["SECRET_KEY"]["fingerprint"] == secret_fingerprint(new) and keys["SECRET_KEY"]["escrow"]["in_vault"]
    assert keys["ENCRYPTION_KEY"]["fingerprint"] == fingerprint(site.first_key)

    # A second rotation moves on from the escrowed key; the first one joins the history too.
    result = site.run("rotate_secret_key.yml")
    assert result.returncode == 0, result.stdout[-4000:]
    newer = site.assert_secret_key_rotated(site.first_key)
    assert newer != new
    assert [entry["key"] for entry in site.vault_data()["webops_secret_key_history"]] == [FIRST_SECRET_KEY, new]
    assert site.database_state() == encryption_tokens

    # A third one at -vvv: no SECRET_KEY, old or new, and no configuration plaintext in the output.
    result = site.playbook("rotate_secret_key.yml", [ENV], extra={"env": ENV}, verbosity=3)
    assert result.returncode == 0, result.stdout[-4000:]
    newest = site.assert_secret_key_rotated(site.first_key)
    assert_no_secret(result.stdout, [FIRST_SECRET_KEY, new, newer, newest] + list(PLAINTEXTS.values()) + site.all_keys())
    # Nor in any evidence file: one record (and report) per real run (three; the --check run wrote none).
    assert len(site.evidence_records(ENV)) == 3
    for name in os.listdir(site.evidence_dir(ENV)):
        with open(os.path.join(site.evidence_dir(ENV), name)) as handle:
            assert_no_secret(handle.read(), [FIRST_SECRET_KEY, new, newer, newest] + list(PLAINTEXTS.values()) + site.all_keys())


def test_a_compromise_rotation_replaces_both_keys_and_a_routine_one_only_the_encryption_key(set_up_site, pg_url):
    site = set_up_site(SecretKeySite, pg_url, hosts=("panel1", "worker1"))

    result = site.run("rotate_keys.yml")
    assert result.returncode == 0, result.stdout[-4000:]
    routine_key = site.assert_rotated_to_current()
    # Setup escrowed the hosts' SECRET_KEY; the routine rotation left it as it was.
    assert site.vault_data()["webops_secret_key"] == FIRST_SECRET_KEY
    assert webops_db.open_config(pg_url, [FIRST_SECRET_KEY]) == dict((n, (0, t)) for n, t in PLAINTEXTS.items())

    result = site.run("rotate_keys.yml", reason="compromise")
    assert result.returncode == 0, result.stdout[-4000:]
    vault = site.vault_data()
    encryption_key = vault["webops_encryption_key"]
    assert encryption_key not in (site.first_key, routine_key)
    assert webops_db.not_under(pg_url, encryption_key) == []
    assert webops_db.digest(pg_url, [encryption_key], include_unknown=False) == site.digest
    site.assert_secret_key_rotated(encryption_key)
    assert vault["webops_secret_key_history"][0]["reason"] == "compromise"
    assert vault["webops_encryption_key_history"][-1]["reason"] == "compromise"
    assert "logs every user out" in result.stdout
    assert fingerprint(encryption_key) in result.stdout


def test_a_rerun_finishes_a_secret_key_rotation_stopped_by_a_failure(set_up_site, sqlite_url):
    """The database step fails (a stray value no SECRET_KEY opens) after the escrow; once the value
    is dealt with, the same command finishes with the escrowed key, and nothing is lost."""
    site = set_up_site(SecretKeySite, sqlite_url)
    stranger = "Str4nger-" + "Pl0Ok9Ij8Uh7Yg6Tf5Rd4Es3Wa2Qz1Xc" + "w" * 12
    webops_db.reseed_config(sqlite_url, FIRST_SECRET_KEY, extra=((9, "stray", webops_db.config_value(stranger, "x"), True),))
    env_before, config_before = site.env_bytes(), webops_db.config_rows(sqlite_url)

    result = site.run("rotate_secret_key.yml")
    assert result.returncode != 0
    assert "SECRET_KEY rotation of '%s' stopped in step 1 (preflight)" % ENV in result.stdout, result.stdout[-3000:]
    assert "core_configuration.value" in result.stdout and "ids [9]" in result.stdout
    # Checked now, not claimed: the stray value opens with no SECRET_KEY the run, the hosts or the vault know.
    assert "NOT everything is readable: 1 value(s) open with no SECRET_KEY this run knows (ids 9)" in result.stdout
    assert "Nothing is lost" not in result.stdout
    assert site.env_bytes() == env_before and webops_db.config_rows(sqlite_url) == config_before
    # The hosts' key was escrowed before anything else, so the vault knows it from now on.
    assert site.vault_data()["webops_secret_key"] == FIRST_SECRET_KEY

    with webops_db.Database(sqlite_url) as db:
        db.execute("DELETE FROM core_configuration WHERE id = 9")
        db.commit()
    result = site.run("rotate_secret_key.yml")
    assert result.returncode == 0, result.stdout[-4000:]
    site.assert_secret_key_rotated(site.first_key)
