# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the playbooks print and record from the database modules' results, line for line."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.webops.encryption.plugins.filter.report import FilterModule
from ansible_collections.webops.encryption.plugins.plugin_utils import _reports

FILTERS = FilterModule().filters()
FP_A = "sha256:aaaaaaaaaaaaaaaa"
FP_B = "sha256:bbbbbbbbbbbbbbbb"


def column(table, name, **counts):
    base = dict(table=table, column=name, rows=10, total=10, plaintext=0, empty=0, unknown=0, by_key={})
    base.update(counts)
    return base


def test_column_counts_keep_the_named_fields_and_put_counts_by_key_first():
    columns = [column("core_webhook", "secret", rotated=4, by_key={"current": 3, "old": 1}),
               column("core_user", "totp", rotated=0)]
    assert FILTERS["column_counts"](columns, ["rotated", "total"]) == {
        "core_webhook.secret": {"rotated": 4, "total": 10}, "core_user.totp": {"rotated": 0, "total": 10}}
    counts = FILTERS["column_counts"](columns[:1], ["plaintext", "unknown"], by_key=True)
    assert list(counts["core_webhook.secret"].items()) == [("current", 3), ("old", 1), ("plaintext", 0), ("unknown", 0)]
    assert FILTERS["column_counts"]([], ["total"]) == {}


def test_key_lines_name_each_host_and_each_column():
    audit = {"columns": [
        column("core_webhook", "secret", by_key={"current": 7, "retired sha256:cc": 1}, plaintext=1, empty=1,
               elapsed_seconds=0.2, rows_per_second=50),
        column("automation_credentials", "credentials", rows=4, total=6, by_key={}, unknown=2, unknown_ids=[3, 9],
               unverified=2, elapsed_seconds=0.1, rows_per_second=0),
    ]}
    lines = FILTERS["verify_key_lines"](audit, ["panel1", "worker1"], [{"fingerprint": FP_A}, {"fingerprint": FP_A}],
                                        [{"configured": False}, {"configured": True, "fingerprint": FP_B}])
    assert lines == [
        "panel1: ENCRYPTION_KEY %s" % FP_A,
        "worker1: ENCRYPTION_KEY %s, OLD_ENCRYPTION_KEY %s (unfinished rotation)" % (FP_A, FP_B),
        "core_webhook.secret: 10 rows: 7 under the current key, 1 under the retired sha256:cc key, 1 plaintext, 1 empty, "
        "0 that no key opens; 0.2 s, 50 rows/s",
        "automation_credentials.credentials: 6 values in 4 rows: none encrypted, 0 plaintext, 0 empty, 2 that no key opens "
        "(ids 3, 9), 2 keyed by SECRET_KEY (checked below, with SECRET_KEY); 0.1 s, ? rows/s",
    ]


def test_secret_key_findings_say_what_is_wrong_and_what_to_run():
    state = {"problem": "", "present": True, "label": FP_A}
    assert FILTERS["verify_secret_key_findings"](state, {"skipped": True}, "a-key", "prod") == []
    findings = FILTERS["verify_secret_key_findings"](
        state, {"totals": {"unknown": 2, "secret_keys": {"current": 5, "old0": 1, "old1": 2}}}, "", "prod")
    assert findings == [
        "The vault of prod holds no webops_secret_key, so the controller has no copy of the hosts' SECRET_KEY %s: "
        "run setup_encryption.yml -e env=prod (or backup_keys.yml), which escrows it." % FP_A,
        "2 value(s) keyed by SECRET_KEY open with no SECRET_KEY the hosts or the vault hold (listed above).",
        "3 value(s) keyed by SECRET_KEY are under another SECRET_KEY than the database host's (listed above): the "
        "application cannot open them. Run rotate_secret_key.yml -e env=prod, which moves them to a new one.",
    ]
    failed = FILTERS["verify_secret_key_findings"]({"problem": "hosts differ"}, {"failed": True, "msg": "no database"}, "", "x")
    assert failed == ["hosts differ", "The values keyed by SECRET_KEY could not be counted: no database"]


def test_secret_key_lines_give_the_age_and_name_weak_keys_by_label():
    state = {"hosts": {"panel1": FP_A, "worker1": ""}, "vault": FP_A, "weakness": ""}
    audit = {"columns": [
        column("core_configuration", "value", rows=3, total=3, keyed_by="SECRET_KEY", secret_keys={"current": 2, "old0": 1}),
        column("core_webhook", "secret"),
    ]}
    names = {"current": FP_A, "old0": "a weak SECRET_KEY (too short)"}
    now = datetime.datetime(2026, 3, 11, 12, 0, 0, tzinfo=datetime.timezone.utc)
    lines = FILTERS["verify_secret_key_lines"](state, audit, names, ["panel1", "worker1"], "2026-01-01T13:00:00Z")
    assert lines[:2] == ["panel1: SECRET_KEY %s" % FP_A, "worker1: SECRET_KEY not set"]
    assert lines[2].startswith("vault: webops_secret_key %s, created 2026-01-01T13:00:00Z, " % FP_A)
    assert lines[3:] == [
        "core_configuration.value (SECRET_KEY): 3 rows: 2 under %s (the database host's), 1 under a weak SECRET_KEY "
        "(too short), 0 plaintext, 0 empty, 0 that no known SECRET_KEY opens" % FP_A]
    assert _reports.secret_key_lines(state, {}, names, [], "2026-01-01T13:00:00Z", now=now) == [
        "vault: webops_secret_key %s, created 2026-01-01T13:00:00Z, 68 days old" % FP_A]
    weak = dict(state, vault="", weakness="too short")
    assert _reports.secret_key_lines(weak, {}, {}, [], "") == [
        "vault: webops_secret_key not set", "SECRET_KEY is weak (too short): replace it with rotate_secret_key.yml"]
    assert _reports.secret_key_lines(state, {}, {}, [], None)[-1] == "vault: webops_secret_key %s, no recorded creation time" % FP_A


def summary_state(**overrides):
    state = dict(environment="prod", check_mode=False, old_fp=FP_A, new_fp=FP_B, hosts=["panel1", "db1"],
                 result={"elapsed_seconds": 2.5, "columns": [column(
                     "core_webhook", "secret", rotated=8, already_current=1, encrypted_plaintext=1, elapsed_seconds=0.4,
                     rows_per_second=25)], "widened": [{"table": "core_webhook", "column": "secret", "from": 100, "to": 312}]},
                 preflight={"columns": [column("core_configuration", "value", rows=3, total=3, keyed_by="SECRET_KEY"),
                                        column("core_webhook", "secret")]},
                 secret_key_next=False, units_stopped_seconds=3.25, manage_services=True, strategy="offline",
                 services=["webops", "webops-celery"], started_at=1000.0)
    state.update(overrides)
    return state


def test_rotation_summary_gives_every_column_the_window_and_the_time():
    assert _reports.rotation_summary(summary_state(), now=1012.34) == [
        "prod: rotated %s -> %s" % (FP_A, FP_B),
        "hosts (2): panel1, db1",
        "core_webhook.secret: 10 rows, 8 rotated, 1 already under the new key, 1 plaintext encrypted, 0 plaintext left, "
        "0 empty, 0 unknown; in 0.4 s, 25 rows/s",
        "core_webhook.secret: widened from varchar(100) to varchar(312)",
        "core_configuration.value: 3 values keyed by SECRET_KEY in 3 rows, not touched by this rotation",
        "units stopped: 3.2 s (fernet_rotate itself: 2.5 s)",
        "total time: 12.3 s",
    ]


def test_a_check_runs_summary_says_what_would_happen():
    lines = _reports.rotation_summary(summary_state(check_mode=True, units_stopped_seconds=None, secret_key_next=True,
                                                    started_at=None))
    assert lines[0] == "prod: would rotate (check mode, nothing written) %s -> %s" % (FP_A, FP_B)
    assert "8 would be rotated" in lines[2] and "1 plaintext would be encrypted" in lines[2] and "scanned in 0.4 s" in lines[2]
    assert lines[3] == "core_webhook.secret: would widen from varchar(100) to varchar(312)"
    assert lines[4].endswith("would be rotated next, with SECRET_KEY")
    assert lines[5] == "units: would be stopped during the database step (webops, webops-celery); none stopped in check mode"
    assert lines[6] == "check run time: not measured"


def test_the_units_line_says_why_no_unit_stopped():
    def units(**overrides):
        return _reports.rotation_summary(summary_state(units_stopped_seconds=None, **overrides), now=1001)[-2]
    assert units(manage_services=False) == ("units: none managed (webops_manage_services: false or webops_services empty), "
                                            "none stopped")
    assert units(services=[], check_mode=True).endswith("none would be stopped")
    assert units(strategy="online") == "units: kept running (online rotation)"
    assert units(strategy="online", check_mode=True) == "units: would keep running (online rotation)"
    assert units() == "units: not stopped (the database was already under the new key)"
    finished = _reports.rotation_summary(summary_state(result={}, units_stopped_seconds=None), now=1001)
    assert finished[2] == "database: already under the new key (an earlier run finished it)"
