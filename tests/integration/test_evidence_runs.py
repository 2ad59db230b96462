# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The evidence records of real runs, held to what they claim: a compromise rotation's one record covers both
key families, a routine rotation's record says what it did not open, and a signed record verifies with gpg
until one byte of it changes. Real ansible-playbook runs against a real SQLite database, real gpg; the
figures are checked against webops_db's own count, and no evidence file holds a key, a SECRET_KEY or a
secret."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat
import subprocess

import pytest
import yaml
from cryptography.fernet import Fernet

from support import webops_db
from support.keys import fingerprint
from support.leaks import assert_no_secret
from support.paths import REPO
from support.playbook_site import ENV, FIRST_SECRET_KEY, PLAINTEXTS, Environment, SecretKeySite
from ansible_collections.webops.encryption.plugins.module_utils import _evidence as evidence
from ansible_collections.webops.encryption.plugins.module_utils import secret_key

pytestmark = [pytest.mark.slow]

with open(os.path.join(REPO, "docs", "docsite", "evidence-record.schema.json")) as _handle:
    SHIPPED_SCHEMA = json.load(_handle)


def run(site, playbook, secrets=(), **extra):
    """site.run, and the output holds none of ``secrets`` either (SECRET_KEYs, plaintexts)."""
    result = site.run(playbook, **extra)
    assert_no_secret(result.stdout, list(secrets))
    return result


def seeded_secrets(url, key):
    """Every plaintext secret the database holds under ``key`` (8 characters or more)."""
    fernet = [Fernet(key.encode("ascii"))]
    opened = (webops_db.open_value(value, fernet)[1] for dummy, dummy, dummy, dummy, value in webops_db.iter_values(url))
    return sorted(set(text for text in opened if isinstance(text, str) and len(text) >= 8))


def assert_no_secret_in_evidence(site, secrets):
    """No key, SECRET_KEY, token or plaintext secret in any evidence file, nor in a file name."""
    for name in os.listdir(site.evidence_dir(ENV)):
        assert_no_secret(name, secrets)
        with open(os.path.join(site.evidence_dir(ENV), name)) as handle:
            text = handle.read()
        assert_no_secret(text, secrets)
        assert "gAAAAA" not in text, name


def encryption_counts(url, key):
    """webops_db's count of the values each ENCRYPTION_KEY column holds under ``key``, as the record gives it."""
    label = fingerprint(key)
    return dict((column, {label: counts[0]} if counts.get(0) else {}) for column, counts in webops_db.census(url, [key]).items())


def columns_of(record):
    return dict(("%s.%s" % (c["table"], c["column"]), c) for c in record["columns"])


def test_a_routine_rotation_says_what_it_did_not_open_and_a_compromise_records_both_key_families(set_up_site, sqlite_url):
    site = set_up_site(SecretKeySite, sqlite_url)
    secrets = seeded_secrets(sqlite_url, site.first_key) + list(PLAINTEXTS.values()) + [FIRST_SECRET_KEY]

    # A routine rotation: ENCRYPTION_KEY only. It counts the configuration values keyed by SECRET_KEY without the
    # SECRET_KEY, so its record must not vouch for them.
    result = run(site, "rotate_keys.yml", secrets)
    assert result.returncode == 0, result.stdout[-4000:]
    routine_key = site.assert_rotated_to_current()
    routine = site.assert_evidence(ENV, "rotate_keys", 0, keys=site.all_keys() + secrets)
    assert evidence.schema_errors(routine, SHIPPED_SCHEMA) == []
    assert routine["status"] == "complete" and routine["status_reasons"] == []
    config = columns_of(routine)["core_configuration.value"]
    assert config["keyed_by"] == "SECRET_KEY" and config["checked"] is False
    assert config["before"] == config["after"] == {evidence.NOT_CHECKED: len(PLAINTEXTS)}
    assert routine["not_checked"] == [
        "core_configuration.value: %d value(s) keyed by SECRET_KEY counted, not opened: a rotate_keys run without "
        "-e reason=compromise (or -e rotate_secret_key=true) does not use the SECRET_KEY, so it counts these values "
        "without opening them; verify_keys.yml opens them." % len(PLAINTEXTS)]
    assert all(c["checked"] for c in routine["columns"] if c["keyed_by"] == "ENCRYPTION_KEY")
    # The run's output and the report say so too; the report's status box claims only what was opened.
    assert "not checked by this run: core_configuration.value: %d value(s)" % len(PLAINTEXTS) in result.stdout
    with open(site.evidence_records(ENV)[-1][0][:-len(".json")] + ".html") as handle:
        page = handle.read()
    status = page[page.index('id="status"'):page.index("<h2>Run</h2>")]
    assert "every encrypted value opens with a current key" not in status
    assert '<ul id="not-checked"><li>core_configuration.value: %d value(s) keyed by SECRET_KEY' % len(PLAINTEXTS) in status
    assert 'data-column="core_configuration.value" data-checked="false"' in page
    before_compromise = encryption_counts(sqlite_url, routine_key)

    # A compromise: ENCRYPTION_KEY, then SECRET_KEY, in one run and one record.
    result = run(site, "rotate_keys.yml", secrets, reason="compromise")
    assert result.returncode == 0, result.stdout[-4000:]
    encryption_key = site.vault_data()["webops_encryption_key"]
    new_secret = site.assert_secret_key_rotated(encryption_key)
    secrets += [new_secret]
    record = site.assert_evidence(ENV, "rotate_keys", 1, keys=site.all_keys() + secrets)
    assert evidence.schema_errors(record, SHIPPED_SCHEMA) == []
    assert record["outcome"] == "success" and record["status"] == "complete", record["status_reasons"]
    assert record["not_checked"] == [] and all(c["checked"] for c in record["columns"])
    columns = columns_of(record)
    # ENCRYPTION_KEY: every column's values moved from the routine key to the new one, as webops_db counts them.
    after_compromise = encryption_counts(sqlite_url, encryption_key)
    encrypted = [name for name, c in columns.items() if c["keyed_by"] == "ENCRYPTION_KEY"]
    assert set(name for name, counts in after_compromise.items() if counts) <= set(encrypted)
    assert encrypted and sum(sum(columns[name]["after"].values()) for name in encrypted) > 0
    for name in encrypted:
        assert columns[name]["before"] == before_compromise.get(name, {}), name
        assert columns[name]["after"] == after_compromise.get(name, {}), name
        assert columns[name]["left_under_retired"] == 0 and columns[name]["unknown"] == 0, name
    # SECRET_KEY: the configuration values, opened before with the hosts' weak SECRET_KEY (named by its label, never
    # by a fingerprint) and after with the new one.
    weak = secret_key.labels({"old": FIRST_SECRET_KEY})["old"]
    assert weak.startswith("a weak SECRET_KEY (not fingerprinted")
    config = columns["core_configuration.value"]
    assert config["keyed_by"] == "SECRET_KEY"
    assert config["before"] == {weak: len(PLAINTEXTS)}
    assert config["after"] == {secret_key.fingerprint(new_secret): len(PLAINTEXTS)}
    assert webops_db.open_config(sqlite_url, [new_secret]) == dict((n, (0, t)) for n, t in PLAINTEXTS.items())
    keys = dict((k["name"], k) for k in record["keys"])
    assert keys["ENCRYPTION_KEY"]["fingerprint"] == fingerprint(encryption_key) and keys["ENCRYPTION_KEY"]["escrow"]["in_vault"]
    assert keys["SECRET_KEY"]["fingerprint"] == secret_key.fingerprint(new_secret) and keys["SECRET_KEY"]["escrow"]["in_vault"]
    # Both rotations' audit lines are this record's.
    lines = dict((line["id"], line) for line in site.log_lines())
    assert set(lines[i]["operation"] for i in record["audit_lines"]) >= {"rotate", "rotate_secret_key"}
    # The weak key's reversible fingerprint is nowhere, nor any key, SECRET_KEY or secret.
    evidence_text = "".join(open(os.path.join(site.evidence_dir(ENV), n)).read() for n in os.listdir(site.evidence_dir(ENV)))
    assert secret_key.fingerprint(FIRST_SECRET_KEY) not in evidence_text
    assert_no_secret_in_evidence(site, site.all_keys() + secrets)
    check = site.evidence_check(ENV)
    assert check.returncode == 0 and "2 evidence record(s) match the audit trail" in check.stdout, check.stdout[-3000:]


def gpg_verify(signature, path):
    """gpg --verify, its messages in English."""
    return subprocess.run(["gpg", "--batch", "--verify", signature, path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False, env=dict(os.environ, LC_ALL="C", LANGUAGE="C"))


def check_results(output):
    """evidence_check's result, from the ad-hoc run's 'localhost | STATUS => ...' (YAML, as ansible.cfg has it)."""
    return yaml.safe_load(output[output.index("=>") + 2:])


def test_a_signed_record_verifies_with_gpg_until_one_byte_of_it_changes(tmp_path, sqlite_url, gpg_home):
    site = Environment(tmp_path, sqlite_url, hosts=("panel1",))
    secrets = seeded_secrets(sqlite_url, site.first_key) + [FIRST_SECRET_KEY]
    passphrase = os.path.join(site.root, "gpg-passphrase")
    with open(passphrase, "w") as handle:
        handle.write(Fernet.generate_key().decode() + "\n")
    # The gpg store is symmetric (a passphrase file), so it has no signer of its own: the signer is set.
    gpg = dict(webops_custody_stores=["vault", "gpg"], webops_custody_gpg_passphrase_file=passphrase,
               webops_custody_gpg_dir=os.path.join(site.root, "key-backups"), webops_evidence_gpg_signer=gpg_home)
    assert run(site, "setup_encryption.yml", secrets, **gpg).returncode == 0

    result = run(site, "rotate_keys.yml", secrets, **gpg)
    assert result.returncode == 0, result.stdout[-4000:]
    key = site.assert_rotated_to_current()
    record = site.assert_evidence(ENV, "rotate_keys", 0, keys=site.all_keys() + secrets)
    assert record["status"] == "complete", record["status_reasons"]
    path = site.evidence_records(ENV)[-1][0]
    signature = path + ".asc"
    assert stat.S_IMODE(os.stat(signature).st_mode) == 0o600
    assert "signature %s" % signature in result.stdout
    line = [line for line in site.log_lines() if line["operation"] == "evidence"][-1]
    assert line["details"]["record"] == os.path.basename(path) and line["details"]["signed"] is True
    # The new key is escrowed in gpg too, and the record says so.
    escrow = dict((k["name"], k) for k in record["keys"])["ENCRYPTION_KEY"]["escrow"]
    assert escrow["gpg_present"] and os.path.isfile(escrow["gpg_file"]) and fingerprint(key).replace(":", "-") in escrow["gpg_file"]
    with open(passphrase) as handle:
        assert_no_secret_in_evidence(site, site.all_keys() + secrets + [handle.read().strip()])

    # gpg itself accepts the signature, and so does evidence_check.
    verify = gpg_verify(signature, path)
    assert verify.returncode == 0 and "Good signature" in verify.stdout and "evidence@example.org" in verify.stdout, verify.stdout
    check = site.evidence_check(ENV)
    assert check.returncode == 0, check.stdout[-3000:]
    result_of = check_results(check.stdout)
    assert [(r["record"], r["signed"], r["signature"], r["problems"]) for r in result_of["records"]] == [
        (os.path.basename(path), True, "good", [])]
    assert "1 gpg signature(s) verify" in result_of["msg"]

    # One byte of the record changes: gpg refuses it, and evidence_check fails naming the record, its hash and
    # its signature.
    with open(path, "rb") as handle:
        data = handle.read()
    at = data.index(b'"left_under_retired": 0') + len(b'"left_under_retired": ')
    with open(path, "wb") as handle:
        handle.write(data[:at] + b"1" + data[at + 1:])
    verify = gpg_verify(signature, path)
    assert verify.returncode != 0 and "BAD signature" in verify.stdout, verify.stdout
    check = site.evidence_check(ENV)
    assert check.returncode != 0, check.stdout[-3000:]
    result_of = check_results(check.stdout)
    assert result_of["tampered"] == [os.path.basename(path)]
    (checked,) = result_of["records"]
    assert checked["signature"] == "bad"
    assert any("the record was changed" in p for p in checked["problems"]), checked["problems"]
    assert "its gpg signature does not verify" in checked["problems"]
    assert "%s: its SHA-256" % os.path.basename(path) in result_of["msg"]
