# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""fernet_rotate and fernet_audit with new_secret_key/old_secret_keys, through real ansible-playbook runs,
on SQLite and PostgreSQL: the sensitive configuration values move from keys derived from old
SECRET_KEYs to the one derived from the new SECRET_KEY, checked by webops_db's own derivation."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from support import webops_db
from support.ansible_runs import run_tasks, write_env
from support.keys import new_key
from support.leaks import assert_no_secrets
from ansible_collections.webops.encryption.plugins.module_utils import secret_key

OLD = "0ld-SECRET.key:" + "aB3dE5gH7jK9mN1pQ2sT4vW6yZ8cF0hJ" + "x" * 6
RETIRED = "Retired+key~" + "Qw9Er8Ty7Ui6Op5As4Df3Gh2Jk1Lz0Xc" + "y" * 10
NEW = "N3w(key)" + "Mn8Bv7Cx6Zl5Kj4Hg3Fd2Sa1Po9Iu0Yt" + "z" * 14
WEAK = "django-insecure-kept as is"
STRANGER = "Str4nger!" + "Pl0Ok9Ij8Uh7Yg6Tf5Rd4Es3Wa2Qz1Xc" + "w" * 12


def _task(name, module, args, **extra):
    task = {"name": name, "webops.encryption.%s" % module: args}
    task.update(extra)
    return task


def _seed(url, enc_key, extra=()):
    webops_db.create_schema(url)
    webops_db.seed(url, enc_key, users=6, secret_key=OLD)
    webops_db.reseed_config(url, OLD, extra=(
        (4, "oauth_client_secret", webops_db.config_value(RETIRED, "oauth-ß3cret-value"), True),
        (5, "empty_secret", "", True),
    ) + tuple(extra))


def test_secret_key_rotation_and_audit_leave_encryption_key_columns_alone(db_url, tmp_path):
    enc_key = new_key()
    _seed(db_url, enc_key)
    env_file = write_env(tmp_path / ".env", DATABASE_URL=db_url, ENCRYPTION_KEY=enc_key, SECRET_KEY=OLD)
    before = webops_db.open_config(db_url, [OLD, RETIRED])
    plain_before = [row for row in webops_db.config_rows(db_url) if not row[3]]
    tokens_before = webops_db.raw_digest(db_url)  # every ENCRYPTION_KEY column, as stored
    rotate = {"env_file": env_file, "new_secret_key": "{{ new }}", "old_secret_keys": ["{{ old }}", "{{ retired }}"]}
    audit = {"env_file": env_file, "new_secret_key": "{{ new }}", "old_secret_keys": ["{{ old }}", "{{ retired }}"]}
    tasks = [
        _task("audit before", "fernet_audit", {"env_file": env_file, "new_secret_key": "{{ old }}"}),
        # The retired key is missing: refused before anything is written.
        _task("rotate without the retired key", "fernet_rotate", {"env_file": env_file, "new_secret_key": "{{ new }}"},
              ignore_errors=True),
        _task("rotate a weak key", "fernet_rotate", dict(rotate, new_secret_key="django-insecure-" + "k" * 40),
              ignore_errors=True),
        _task("rotate plan", "fernet_rotate", rotate, check_mode=True),
        _task("audit midway", "fernet_audit", dict(audit, fail_on_old_secret_keys=True), ignore_errors=True),
        _task("rotate", "fernet_rotate", dict(rotate, batch_size=1)),
        _task("rotate again", "fernet_rotate", rotate),
        _task("audit after", "fernet_audit", dict(audit, fail_on_old_secret_keys=True, fail_on_unknown=True)),
    ]
    results, proc = run_tasks(tmp_path, tasks, {"new": NEW, "old": OLD, "retired": RETIRED})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert_no_secrets(proc.stdout + proc.stderr, [NEW, OLD, RETIRED, enc_key], ["oauth-ß3cret-value", "smtp-pass"])
    for text in (NEW, OLD, RETIRED):
        assert text not in proc.stdout

    first = results["audit before"]
    assert [c["table"] for c in first["columns"]] == ["core_configuration"]  # only the SECRET_KEY columns
    assert first["totals"]["secret_keys"] == {"current": 2}
    assert first["totals"]["unknown"] == 1 and first["columns"][0]["unknown_ids"] == [4]
    assert first["totals"]["empty"] == 1

    refused = results["rotate without the retired key"]
    assert refused["failed"] and "no given SECRET_KEY opens" in refused["msg"] and "core_configuration.value: 1 (ids 4)" in refused["msg"]
    assert "Invalid new_secret_key" in results["rotate a weak key"]["msg"]

    plan = results["rotate plan"]
    assert plan["changed"] and plan["check_mode"]
    assert plan["totals"]["rotated"] == 3 and plan["totals"]["rows_written"] == 3 and plan["totals"]["empty"] == 1
    assert results["audit midway"]["failed"] and "still under SECRET_KEY old0" in results["audit midway"]["msg"]

    done, again, after = results["rotate"], results["rotate again"], results["audit after"]
    assert done["changed"] and done["totals"]["rows_written"] == 3 and done["totals"]["conflicts"] == 0
    assert "old_key_fingerprints" not in done  # ENCRYPTION_KEY work was not asked for
    assert not again["changed"] and again["totals"]["already_current"] == 3
    assert after["totals"]["secret_keys"] == {"current": 3, "old0": 0, "old1": 0}

    # The independent check: every sensitive value opens with the key derived from the new SECRET_KEY, same text;
    # plain rows and every ENCRYPTION_KEY token are exactly as they were.
    opened = webops_db.open_config(db_url, [NEW])
    assert dict((k, v[1]) for k, v in opened.items() if k != "empty_secret") == \
        dict((k, v[1]) for k, v in before.items() if k != "empty_secret")
    assert all(v[0] == 0 for k, v in opened.items() if k != "empty_secret")
    assert [row for row in webops_db.config_rows(db_url) if not row[3]] == plain_before
    assert webops_db.raw_digest(db_url) == tokens_before


def test_one_run_rotates_both_keys_when_both_are_given(sqlite_url, tmp_path):
    enc_key, next_key = new_key(), new_key()
    _seed(sqlite_url, enc_key)
    tokens_before = webops_db.digest(sqlite_url, [enc_key])
    args = {"database_url": "{{ url }}", "new_key": "{{ next_key }}", "old_keys": ["{{ enc_key }}"],
            "new_secret_key": "{{ new }}", "old_secret_keys": ["{{ old }}", "{{ retired }}", "{{ weak }}"],
            "encrypt_plaintext": True}
    tasks = [_task("both", "fernet_rotate", args), _task("both again", "fernet_rotate", args)]
    results, proc = run_tasks(tmp_path, tasks, {"url": sqlite_url, "next_key": next_key, "enc_key": enc_key, "new": NEW,
                                                "old": OLD, "retired": RETIRED, "weak": WEAK})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    both = results["both"]
    # A weak old SECRET_KEY is named as secret_key_info names it: never by an (unsalted, reversible) fingerprint.
    assert both["old_secret_key_fingerprints"] == [secret_key.fingerprint(OLD), secret_key.fingerprint(RETIRED),
                                                   "a weak SECRET_KEY (not fingerprinted: %s)" % secret_key.weakness(WEAK)]
    assert secret_key.fingerprint(WEAK) not in proc.stdout + proc.stderr
    names = [c["table"] for c in both["columns"]]
    assert "core_configuration" in names and "core_webhook" in names
    assert both["new_key_fingerprint"] and both["new_secret_key_fingerprint"].startswith("sha256:")
    assert not results["both again"]["changed"]
    assert webops_db.not_under(sqlite_url, next_key) == []
    assert webops_db.digest(sqlite_url, [next_key], include_unknown=False) == tokens_before
    assert all(v[0] == 0 for k, v in webops_db.open_config(sqlite_url, [NEW]).items() if k != "empty_secret")


def test_the_audit_reports_values_no_secret_key_opens(sqlite_url, tmp_path):
    enc_key = new_key()
    _seed(sqlite_url, enc_key, extra=((6, "stray", webops_db.config_value(STRANGER, "lost"), True),))
    tasks = [_task("audit", "fernet_audit", {"database_url": "{{ url }}", "new_secret_key": "{{ old }}",
                                             "old_secret_keys": ["{{ retired }}"], "fail_on_unknown": True},
                   ignore_errors=True)]
    results, proc = run_tasks(tmp_path, tasks, {"url": sqlite_url, "old": OLD, "retired": RETIRED})
    audit = results["audit"]
    assert audit["failed"], proc.stdout[-2000:]
    assert audit["columns"][0]["unknown_ids"] == [6]
    assert audit["totals"]["secret_keys"] == {"current": 2, "old0": 1}
