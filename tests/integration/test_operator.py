# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An operator's own inventory, one file outside the examples/inventories/<env>/ layout, with
the real playbooks: every missing variable named at once, read-only runs that create nothing,
paths that follow the inventory given with -i, and the one-key-per-environment check across the
inventories the operator names."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import subprocess
import sys

import pytest
import yaml
from cryptography.fernet import Fernet

from support import webops_db
from support.leaks import assert_no_secret
from support.paths import REPO
from support.playbook_site import Site
from support.row_gate import RowGate

pytestmark = [pytest.mark.playbook, pytest.mark.slow]

ENV = "shop"


def own_inventory(root, database_url, key, **settings):
    """One inventory file (hosts and settings together) in a directory of the operator's choosing."""
    ops = os.path.join(str(root), "elsewhere", "ops")
    hosts = os.path.join(str(root), "hosts")
    os.makedirs(ops)
    env_file = os.path.join(hosts, "box1", ".env")
    os.makedirs(os.path.dirname(env_file))
    with open(env_file, "w") as handle:
        handle.write("DATABASE_URL=%s\nENCRYPTION_KEY=%s\n" % (database_url, key))
    os.chmod(env_file, 0o600)
    variables = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "ansible_become": False,
        "webops_env_file": env_file,
        "webops_env_file_link": "",
        "webops_owner": "",
        "webops_group": "",
        "webops_manage_services": False,
        "webops_audit_host_log": os.path.join(hosts, "box1", "log", "key-operations.log"),
    }
    variables.update(settings)
    inventory = {ENV: {"hosts": {"box1": None}, "vars": variables}, "webops_database": {"hosts": {"box1": None}}}
    path = os.path.join(ops, "webops.yml")
    with open(path, "w") as handle:
        yaml.safe_dump(inventory, handle)
    return path


def files_under(root):
    return sorted(os.path.join(d, f) for d, _dirs, names in os.walk(str(root)) for f in names + _dirs
                  if ".ansible-tmp" not in d and f != ".ansible-tmp")


def test_every_missing_or_invalid_variable_is_named_at_once(tmp_path):
    site = Site(tmp_path)
    path = os.path.join(str(tmp_path), "mine.yml")
    with open(path, "w") as handle:
        yaml.safe_dump({ENV: {"hosts": {
            "box1": {"ansible_connection": "local", "webops_services": "webops-control-panel"},
            "box2": {"ansible_connection": "local", "webops_env_file": "relative/.env",
                     "webops_database_url": "mysql://user:hunter2@db/webops", "webops_rotation_strategy": "sometimes"},
        }}}, handle)
    before = files_under(tmp_path)
    for playbook in ("setup_encryption.yml", "verify_keys.yml", "rotate_keys.yml"):
        run = site.playbook(playbook, [], extra={"env": ENV}, inventories=[path], default_paths=True)
        assert run.returncode != 0, run.stdout
        out = run.stdout
        assert "is undefined" not in out
        assert "box1" not in out.split("Require the variables")[0]  # no task ran on a host before the check
        for expected in (
            "group webops_database: exactly one host of shop",
            "webops_env_file on box1: missing: the absolute path of the WebOps .env",
            "Example: webops_env_file: /opt/webops/.env",
            "webops_env_file on box2: must be an absolute path",
            "webops_services on box1: invalid value",
            "webops_rotation_strategy on box2: invalid value 'sometimes'",
            "webops_database_url on box2: invalid value (not shown)",
        ):
            assert expected in out, (expected, out[-3000:])
        assert "hunter2" not in out
    assert files_under(tmp_path) == before


def test_own_inventory_read_only_runs_create_nothing_and_paths_follow_it(tmp_path, sqlite_url):
    key = Fernet.generate_key().decode()
    webops_db.create_schema(sqlite_url)
    webops_db.seed(sqlite_url, key, users=6, legacy_plaintext=0)
    site = Site(tmp_path)
    inventory = own_inventory(tmp_path, sqlite_url, key)
    ops = os.path.dirname(inventory)
    host_log_dir = os.path.join(str(tmp_path), "hosts", "box1", "log")
    db_before = webops_db.raw_digest(sqlite_url)
    before = files_under(tmp_path)

    # verify on a fresh environment reports the missing escrow as a finding, and creates nothing (no host log
    # directory, no vault file) and changes nothing, but its evidence: the record and its report beside the
    # inventory (one directory per environment) and the controller's audit line that holds the record's SHA-256.
    run = site.playbook("verify_keys.yml", [], extra={"env": ENV}, inventories=[inventory], default_paths=True)
    assert run.returncode != 0 and "holds no webops_encryption_key" in run.stdout, run.stdout[-4000:]
    evidence = os.path.join(ops, "evidence", ENV)
    created = sorted(set(files_under(tmp_path)) - set(before))
    records = sorted(name for name in os.listdir(evidence) if name.endswith(".json"))
    assert len(records) == 1 and set(before) <= set(files_under(tmp_path))
    assert created == sorted([os.path.join(ops, "evidence"), evidence, os.path.join(evidence, records[0]),
                              os.path.join(evidence, records[0][:-5] + ".html"), os.path.join(ops, "logs"),
                              os.path.join(ops, "logs", "key-operations.log")]), created
    with open(os.path.join(evidence, records[0])) as handle:
        record = json.load(handle)
    assert record["status"] == "incomplete" and record["outcome"] == "failure"
    assert "the vault does not hold the key the hosts hold" in record["status_reasons"][0]
    assert not os.path.exists(host_log_dir)
    assert webops_db.raw_digest(sqlite_url) == db_before

    # setup escrows the key next to the inventory and logs there; nothing two levels above it.
    run = site.playbook("setup_encryption.yml", [], extra={"env": ENV}, inventories=[inventory], default_paths=True)
    assert run.returncode == 0, run.stdout[-4000:]
    assert os.path.isfile(os.path.join(ops, "group_vars", ENV, "vault.yml"))
    assert os.path.isfile(os.path.join(ops, "logs", "key-operations.log"))
    assert not os.path.exists(os.path.join(str(tmp_path), "logs"))
    assert not os.path.exists(os.path.join(str(tmp_path), "elsewhere", "logs"))
    assert_no_secret(run.stdout, [key])

    # rotate --check creates no file and writes nothing.
    before, db_before = files_under(tmp_path), webops_db.raw_digest(sqlite_url)
    run = site.playbook("rotate_keys.yml", [], extra={"env": ENV, "webops_progress_interval": 0.2}, inventories=[inventory],
                        default_paths=True, check=True)
    assert run.returncode == 0, run.stdout[-4000:]
    assert files_under(tmp_path) == before
    # Progress lines while the database work runs, then one closing summary with every row counted.
    assert re.search(r"^box1: (scan \w+\.\w+: \d+/\d+ \(\d+%\) \d+ rows/s, ETA \d+s; database step: \d+/\d+ \(\d+%\) "
                     r"\d+ rows/s, ETA \d+s|fernet_\w+: (preparing|finishing) \(\d+s\))$",
                     run.stdout, re.M), run.stdout[-4000:]
    assert run.stdout.count("Summarise the rotation") == 1
    summary = run.stdout[run.stdout.index("Summarise the rotation"):]
    assert "shop: would rotate (check mode, nothing written) sha256:" in summary
    assert "hosts (1): box1" in summary
    assert re.search(r"core_webhook\.secret: 6 rows, 6 would be rotated, 0 already under the new key, .*; scanned in [\d.]+ s, "
                     r"\d+ rows/s", summary)
    assert re.search(r"core_configuration\.value: \d+ values keyed by SECRET_KEY in \d+ rows, would not be touched", summary)
    assert "units stopped" not in summary
    assert re.search(r"check run time: ([\d.]+ s|not measured)", summary)
    assert webops_db.raw_digest(sqlite_url) == db_before

    # The vault of this environment alone: still nothing to compare, never "passed".
    run = site.playbook("verify_keys.yml", [], extra={"env": ENV}, inventories=[inventory], default_paths=True)
    assert run.returncode == 0, run.stdout[-4000:]
    assert "One key per environment: nothing to compare, 1 environment's vault file read (%s: %s)" % (
        ENV, os.path.realpath(os.path.join(ops, "group_vars", ENV, "vault.yml"))) in run.stdout

    # Two other environments named in webops_custody_inventories: three files compared, each named.
    others = []
    for env in ("staging", "prod"):
        site.add_env(env)
        site.write_vault(env, {"webops_encryption_key": Fernet.generate_key().decode()})
        others.append(os.path.join(site.inventories, env, "hosts.yml"))
    run = site.playbook("verify_keys.yml", [], extra={"env": ENV, "webops_custody_inventories": others},
                        inventories=[inventory], default_paths=True)
    assert run.returncode == 0, run.stdout[-4000:]
    assert "One key per environment: 3 vault files compared (" in run.stdout
    for env in ("staging", "prod"):
        assert "%s: %s" % (env, os.path.realpath(site.vault_file(env))) in run.stdout

    # And one of them sharing this environment's key fails, naming both.
    site.write_vault("prod", {"webops_encryption_key": key})
    run = site.playbook("verify_keys.yml", [], extra={"env": ENV, "webops_custody_inventories": others},
                        inventories=[inventory], default_paths=True)
    assert run.returncode != 0
    assert "Environments prod and shop share the key" in run.stdout or "Environments shop and prod share the key" in run.stdout
    assert_no_secret(run.stdout, [key])


# The phase and column with their figures, then the whole database step's.
PROGRESS_LINE = re.compile(r"^localhost: (?:scan|write) (\w+)\.(\w+): (\d+)/(\d+) \((\d+)%\) (\d+) rows/s, ETA (\d+)s; "
                           r"database step: \d+/\d+ \(\d+%\) \d+ rows/s, ETA \d+s$")


def test_an_ad_hoc_database_run_prints_progress_and_ends_with_each_columns_time_and_rate(tmp_path, pg_url):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    webops_db.create_schema(pg_url)
    webops_db.seed(pg_url, old, users=400, legacy_plaintext=0)
    before = webops_db.digest(pg_url, [old], include_unknown=False)
    env_file = os.path.join(str(tmp_path), ".env")
    with open(env_file, "w") as handle:
        handle.write("DATABASE_URL=%s\nENCRYPTION_KEY=%s\nOLD_ENCRYPTION_KEY=%s\n" % (pg_url, new, old))
    os.chmod(env_file, 0o600)
    environ = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, "collections"), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_LOCAL_TEMP=os.path.join(str(tmp_path), ".ansible-tmp"), ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
                   ANSIBLE_CALLBACK_RESULT_FORMAT="json", PYTHONUNBUFFERED="1")
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost", "-i", "localhost,", "-c", "local",
            "-m", "webops.encryption.fernet_rotate", "-a", "env_file=%s batch_size=10 workers=1" % env_file,
            "-e", "ansible_python_interpreter=%s" % sys.executable, "-e", "webops_progress_interval=0.2"]
    # The run is held half-way through its write of databases.password (support.row_gate), after the
    # columns before it finished, until two progress lines have come: they must come while the work
    # stands still, however fast the machine is.
    with webops_db.Database(pg_url) as reader:
        gated = reader.query("SELECT id FROM databases ORDER BY id")[200][0]
    output, held = [], []
    with RowGate(pg_url, "databases", gated) as gate:
        proc = subprocess.Popen(argv, cwd=str(tmp_path), env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                universal_newlines=True)
        try:
            if gate.wait_until_blocked(lambda: proc.poll() is None):
                while len(held) < 2:
                    line = proc.stdout.readline()
                    if not line:
                        break
                    output.append(line)
                    match = PROGRESS_LINE.match(line.rstrip("\n"))
                    if match:
                        held.append(line)
        finally:
            gate.release()
            rest, _err = proc.communicate(timeout=300)
    output.append(rest)
    stdout = "".join(output)
    assert len(held) == 2, stdout[-4000:]
    assert proc.returncode == 0, stdout[-4000:]
    for match in re.finditer(PROGRESS_LINE.pattern, stdout, re.M):
        _table, _column, done, total, pct, _rate, _eta = match.groups()
        assert 0 < int(done) <= int(total) and int(pct) == int(100 * int(done) / int(total))
    result = json.loads(stdout[stdout.index("localhost | CHANGED => {") + len("localhost | CHANGED => "):])
    for column in result["columns"]:
        assert column["elapsed_seconds"] > 0 and column["rows_per_second"] > 0, column
    assert webops_db.digest(pg_url, [new], include_unknown=False) == before
    assert_no_secret(stdout, [old, new])
