# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Evidence records: building and judging, the schema, the HTML report, files and tampering (real gpg)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat

import pytest

from ansible_collections.webops.encryption.plugins.module_utils import _evidence as evidence
from ansible_collections.webops.encryption.plugins.module_utils._evidence_html import render_html
from ansible_collections.webops.encryption.plugins.module_utils._evidence_schema import SCHEMA
from ansible_collections.webops.encryption.plugins.module_utils.fernet import generate_key
from ansible_collections.webops.encryption.plugins.plugin_utils._gpg import controller_gpg
from support.paths import REPO

# gpg as the evidence_record action runs it on the controller.
GPG = controller_gpg()
OLD, NEW, RETIRED = "sha256:0000000000000aaa", "sha256:0000000000000bbb", "sha256:0000000000000ccc"


def inputs(**changes):
    base = dict(
        operation="rotate_keys", environment="prod", started="1796000000.5", user="alice@bastion",
        command="ansible-playbook playbooks/rotate_keys.yml -e env=prod", collection_version="0.1.0",
        ansible_version="2.17.0", outcome="success", current=[NEW, "sha256:00000000000000dd"],
        before=dict(labels={"old": OLD, "retired x": RETIRED}, columns=[
            dict(table="core_webhook", column="secret", keyed_by="ENCRYPTION_KEY", by_key={"old": 10, "retired x": 2},
                 plaintext=2, unknown=0),
            dict(table="core_configuration", column="value", keyed_by="SECRET_KEY", by_key={}, unverified=3,
                 plaintext=0, unknown=0)]),
        after=dict(labels={"current": NEW, "retired x": RETIRED}, secret_labels={"current": "sha256:00000000000000dd"},
                   columns=[
                       dict(table="core_webhook", column="secret", keyed_by="ENCRYPTION_KEY", by_key={"current": 14, "retired x": 0},
                            plaintext=0, unknown=0),
                       dict(table="core_configuration", column="value", keyed_by="SECRET_KEY", by_key={},
                            secret_keys={"current": 3}, plaintext=0, unknown=0)]),
        discovery=dict(labels={"old": OLD}, columns=[dict(table="app_extra", column="token", by_key={"old": 1}, unknown=0)],
                       ignored=[dict(table="app_cache", column="blob", reason="rebuilt nightly")]),
        units=dict(strategy="offline", managed=True, services=["webops-control-panel"], stopped_seconds=4.25),
        keys=[dict(name="ENCRYPTION_KEY", fingerprint=NEW, created="2026-12-07T01:00:00Z", age_days=0, rotation_days=90,
                   escrow=dict(vault_file="/inv/group_vars/prod/vault.yml", in_vault=True, gpg_file=None, gpg_present=False))],
        audit_lines=["a" * 32, "b" * 32],
    )
    base.update(changes)
    return base


def test_a_finished_rotation_is_complete_with_counts_by_fingerprint():
    record = evidence.build_record(inputs(), ended="2026-12-07T01:02:03Z")
    assert record["status"] == "complete" and record["status_reasons"] == []
    webhook = [c for c in record["columns"] if c["column"] == "secret"][0]
    assert webhook["before"] == {OLD: 10, RETIRED: 2} and webhook["after"] == {NEW: 14}
    assert webhook["left_under_retired"] == 0 and webhook["plaintext"] == 0
    config = [c for c in record["columns"] if c["table"] == "core_configuration"][0]
    assert config["keyed_by"] == "SECRET_KEY" and config["before"] == {evidence.NOT_CHECKED: 3}
    assert config["after"] == {"sha256:00000000000000dd": 3}
    assert record["started"] == "2026-11-30T00:53:20Z" and record["ended"] == "2026-12-07T01:02:03Z"
    assert record["discovery"]["columns"] == [dict(table="app_extra", column="token", by_key={OLD: 1}, unknown=0)]
    assert record["units"]["stopped_seconds"] == 4.25
    assert evidence.schema_errors(record) == []


def test_values_left_under_a_retired_key_or_a_failed_run_make_it_incomplete_and_say_why():
    after = inputs()["after"]
    after["columns"][0]["by_key"] = {"current": 12, "retired x": 2}
    record = evidence.build_record(inputs(after=after))
    assert record["status"] == "incomplete"
    assert record["columns"][1]["left_under_retired"] == 2
    assert "core_webhook.secret: 2 value(s) left under a retired key." in record["status_reasons"]

    record = evidence.build_record(inputs(outcome="failure", problems=["step 5 stopped"]))
    assert record["status"] == "incomplete" and record["status_reasons"] == ["The run failed: step 5 stopped."]


def test_a_refused_run_is_recorded_as_refused_with_its_reason():
    record = evidence.build_record(inputs(outcome="refused", problems=["core_webhook.secret: 3 values no key opens"]))
    assert record["outcome"] == "refused" and record["status"] == "incomplete"
    assert record["status_reasons"] == ["The run was refused: core_webhook.secret: 3 values no key opens."]
    assert evidence.schema_errors(record) == []


def test_the_counts_a_run_made_are_merged_in_order_and_an_unopened_secret_key_column_keeps_earlier_counts():
    preflight = dict(labels={"old": OLD}, columns=[
        dict(table="core_webhook", column="secret", keyed_by="ENCRYPTION_KEY", by_key={"old": 10}),
        dict(table="core_configuration", column="value", keyed_by="SECRET_KEY", by_key={}, unverified=3)])
    secret = dict(secret_labels={"current": "sha256:00000000000000dd"}, columns=[
        dict(table="core_configuration", column="value", keyed_by="SECRET_KEY", by_key={}, secret_keys={"current": 3})])
    # fernet_rotate's check pass: counts by fingerprint already, no labels; SECRET_KEY columns it never sees.
    scan = dict(columns=[dict(table="core_webhook", column="secret", by_key={NEW: 10}, plaintext=0, unknown=0)])
    state = dict(labels={"old": OLD}, columns=[
        dict(table="core_configuration", column="value", keyed_by="SECRET_KEY", by_key={}, unverified=3)])
    record = evidence.build_record(inputs(before=[preflight, secret], after=[preflight, secret, scan, state]))
    columns = dict(((c["table"], c["column"]), c) for c in record["columns"])
    assert columns[("core_webhook", "secret")]["before"] == {OLD: 10}
    assert columns[("core_webhook", "secret")]["after"] == {NEW: 10}
    assert columns[("core_configuration", "value")]["before"] == {"sha256:00000000000000dd": 3}
    assert columns[("core_configuration", "value")]["after"] == {"sha256:00000000000000dd": 3}
    assert record["status"] == "complete", record["status_reasons"]

    assert all(c["checked"] for c in record["columns"]) and record["not_checked"] == []


def test_a_column_only_counted_without_its_secret_key_is_not_checked_and_the_record_says_so():
    """A routine rotate_keys: the values keyed by SECRET_KEY are counted, never opened. The status does not vouch for
    them; the column and the record say so, and so does the report's status box."""
    counted = dict(labels={"old": OLD}, columns=[
        dict(table="core_webhook", column="secret", keyed_by="ENCRYPTION_KEY", by_key={"old": 10}),
        dict(table="core_configuration", column="value", keyed_by="SECRET_KEY", by_key={}, unverified=2)])
    scan = dict(columns=[dict(table="core_webhook", column="secret", by_key={NEW: 10}, plaintext=0, unknown=0)])
    record = evidence.build_record(inputs(before=[counted], after=[counted, scan]))
    columns = dict(((c["table"], c["column"]), c) for c in record["columns"])
    config = columns[("core_configuration", "value")]
    assert config["checked"] is False and config["after"] == {evidence.NOT_CHECKED: 2}
    assert columns[("core_webhook", "secret")]["checked"] is True
    assert record["status"] == "complete"
    assert record["not_checked"] == [
        "core_configuration.value: 2 value(s) keyed by SECRET_KEY counted, not opened: " + evidence.NOT_CHECKED_WHY["rotate_keys"] + "."]
    assert evidence.schema_errors(record) == []
    page = render_html(record)
    status = page[page.index('id="status"'):page.index("<h2>Run</h2>")]
    assert "every encrypted value opens with a current key" not in status
    assert '<ul id="not-checked"><li>core_configuration.value: 2 value(s) keyed by SECRET_KEY' in status
    assert 'data-column="core_configuration.value" data-checked="false"' in page
    # A record that leaves out what it did not check does not pass its schema.
    del record["not_checked"], record["columns"][0]["checked"]
    assert sorted(evidence.schema_errors(record)) == ["record.columns[0]: checked is missing", "record: not_checked is missing"]


def test_secret_keys_are_labelled_together_on_every_side_a_weak_one_without_fingerprint():
    from ansible_collections.webops.encryption.plugins.module_utils.secret_key import Labels, fingerprint
    strong, weak, weaker = "k" * 20 + "Q9!x" * 10, "django-insecure-short", "changeme"
    sides, current = evidence.label_secret_keys(
        [dict(columns=[], secret_keys=[weak, weaker]), dict(columns=[], secret_keys=[strong, weak, weaker])], Labels)
    assert "secret_keys" not in sides[0] and "secret_keys" not in sides[1]
    assert sides[0]["secret_labels"]["current"] == sides[1]["secret_labels"]["old0"]
    assert sides[0]["secret_labels"]["old0"] == sides[1]["secret_labels"]["old1"] != sides[0]["secret_labels"]["current"]
    assert current == fingerprint(strong) and not sides[0]["secret_labels"]["current"].startswith("sha256:")
    assert weak not in json.dumps(sides) and weaker not in json.dumps(sides)


def test_key_entries_name_the_vaults_age_and_the_gpg_escrow_file(tmp_path):
    (tmp_path / ("prod-" + NEW.replace(":", "-") + ".asc")).write_text("x")
    entries = evidence.key_entries(
        [dict(name="ENCRYPTION_KEY", label=NEW), dict(name="SECRET_KEY", label="a weak SECRET_KEY (too short)")],
        {"ENCRYPTION_KEY": dict(fingerprint=NEW, created="2026-12-07T01:00:00Z", age_days=3),
         "SECRET_KEY": dict(fingerprint="a weak SECRET_KEY (too short)", created=None, age_days=None)},
        90, "/inv/vault.yml", str(tmp_path), "prod")
    assert entries[0]["age_days"] == 3 and entries[0]["escrow"]["in_vault"] and entries[0]["escrow"]["gpg_present"]
    assert entries[1]["escrow"]["in_vault"] and not entries[1]["escrow"]["gpg_present"]
    assert entries[1]["escrow"]["gpg_file"] == str(tmp_path / "prod-secret-key-weak.asc")
    entries = evidence.key_entries([dict(name="ENCRYPTION_KEY", label=NEW)], {"ENCRYPTION_KEY": dict(fingerprint=OLD)}, 90, "v")
    assert not entries[0]["escrow"]["in_vault"] and entries[0]["escrow"]["gpg_file"] is None


def test_the_record_refuses_key_material_and_schema_breaks_before_writing(tmp_path):
    key = generate_key()
    with pytest.raises(evidence.EvidenceError, match="looks like a Fernet key") as refused:
        evidence.build_record(inputs(user=key))
    assert key not in str(refused.value)
    with pytest.raises(evidence.EvidenceError, match="operation"):
        evidence.build_record(inputs(operation="drop_everything"))
    record = evidence.build_record(inputs())
    record["extra"] = 1
    assert evidence.schema_errors(record) == ["record: unexpected extra"]
    with pytest.raises(evidence.EvidenceError, match="schema"):
        evidence.write_record(str(tmp_path / "ev"), record)
    assert not os.path.exists(str(tmp_path / "ev"))


def test_the_shipped_schema_file_is_the_one_the_modules_use():
    with open(os.path.join(REPO, "docs", "docsite", "evidence-record.schema.json")) as handle:
        assert json.load(handle) == SCHEMA


def test_the_html_report_is_self_contained_deterministic_and_shows_status_and_figures():
    record = evidence.build_record(inputs(), ended="2026-12-07T01:02:03Z")
    page = render_html(record)
    assert page == render_html(json.loads(evidence.serialise(record)))
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page and "@import" not in page and "url(" not in page
    assert "@media print" in page
    assert 'data-side="before" data-key="%s" data-count="10"' % OLD in page
    assert 'data-side="after" data-key="%s" data-count="14"' % NEW in page
    assert '<div class="status complete" id="status">' in page
    # Names from the database are escaped, never markup.
    hostile = inputs(discovery=dict(columns=[dict(table="<script>x</script>", column="c", by_key={}, unknown=0)]))
    assert "<script>x" not in render_html(evidence.build_record(hostile))


def _write_run(tmp_path, signer=""):
    directory = str(tmp_path / "evidence" / "prod")
    record = evidence.build_record(inputs())
    written = evidence.write_record(directory, record, signer=signer, gpg=GPG)
    log = str(tmp_path / "key-operations.log")
    lines = [dict(id="a" * 32, operation="rotate", environment="prod"), dict(id="b" * 32, operation="rotate", environment="prod"),
             dict(id="c" * 32, operation="evidence", environment="prod",
                  details=dict(record=os.path.basename(written["path"]), sha256=written["sha256"], signed=bool(signer)))]
    with open(log, "w") as handle:
        handle.write("".join(json.dumps(line) + "\n" for line in lines))
    return directory, written, log


def test_files_are_0600_in_a_0700_directory_and_an_intact_directory_checks_clean(tmp_path):
    directory, written, log = _write_run(tmp_path)
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    for path in (written["path"], written["html"]):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(os.listdir(directory)) == sorted(os.path.basename(p) for p in (written["path"], written["html"]))
    results = evidence.check_directory(directory, evidence.read_audit_lines(log), GPG)
    assert [r["problems"] for r in results] == [[]]


@pytest.mark.parametrize("tamper", ["record", "html", "audit", "delete"])
def test_tampering_is_detected(tmp_path, tamper):
    directory, written, log = _write_run(tmp_path)
    if tamper == "record":
        with open(written["path"]) as handle:
            text = handle.read()
        with open(written["path"], "w") as handle:
            handle.write(text.replace('"left_under_retired": 0', '"left_under_retired": 1', 1))
    elif tamper == "html":
        with open(written["html"]) as handle:
            text = handle.read()
        with open(written["html"], "w") as handle:
            handle.write(text.replace("status complete", "status incomplete"))
    elif tamper == "audit":
        with open(log) as handle:
            lines = handle.readlines()
        with open(log, "w") as handle:
            handle.writelines(lines[1:])  # the run's first line is dropped
    else:
        os.unlink(written["path"])
    problems = [p for r in evidence.check_directory(directory, evidence.read_audit_lines(log), GPG) for p in r["problems"]]
    expected = {"record": "the record was changed", "html": "HTML report is not the one rendered",
                "audit": "are not in the audit trail", "delete": "it is not in the directory"}[tamper]
    assert any(expected in p for p in problems), problems


def test_a_signed_record_verifies_and_an_edit_or_a_removed_signature_is_detected(tmp_path, gpg_home):
    directory, written, log = _write_run(tmp_path, signer=gpg_home)
    assert stat.S_IMODE(os.stat(written["signature"]).st_mode) == 0o600
    assert [r["problems"] for r in evidence.check_directory(directory, evidence.read_audit_lines(log), GPG)] == [[]]
    with open(written["path"], "a") as handle:
        handle.write(" ")
    problems = evidence.check_directory(directory, evidence.read_audit_lines(log), GPG)[0]["problems"]
    assert any("gpg signature does not verify" in p for p in problems), problems
    os.unlink(written["signature"])
    problems = evidence.check_directory(directory, evidence.read_audit_lines(log), GPG)[0]["problems"]
    assert any("signature" in p and "is missing" in p for p in problems), problems
