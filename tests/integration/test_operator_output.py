# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The operator's `-i inventory/` layout with the real playbooks: nothing the collection writes on
the controller lands inside the inventory directory (so no later run warns that it cannot parse
it), and the output never claims more than happened: a refused run is audited as refused with
its reason, a check run's summary speaks of what would happen, the units' window appears only
when units stopped, and a column holding several values per row is counted in values and rows."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import sys

import pytest
import yaml
from cryptography.fernet import Fernet

from support import webops_db
from support.leaks import assert_no_secret
from support.playbook_site import Site

pytestmark = [pytest.mark.playbook, pytest.mark.slow]

ENV = "shop"


def directory_inventory(root, database_url, key):
    """inventory/hosts.yml and inventory/group_vars/shop/main.yml, as the README lays them out."""
    inventory = os.path.join(str(root), "inventory")
    os.makedirs(os.path.join(inventory, "group_vars", ENV))
    host_dir = os.path.join(str(root), "hosts", "box1")
    os.makedirs(host_dir)
    env_file = os.path.join(host_dir, ".env")
    with open(env_file, "w") as handle:
        handle.write("DATABASE_URL=%s\nENCRYPTION_KEY=%s\n" % (database_url, key))
    os.chmod(env_file, 0o600)
    with open(os.path.join(inventory, "hosts.yml"), "w") as handle:
        yaml.safe_dump({ENV: {"hosts": {"box1": None}}, "webops_database": {"hosts": {"box1": None}}}, handle)
    with open(os.path.join(inventory, "group_vars", ENV, "main.yml"), "w") as handle:
        yaml.safe_dump({
            "ansible_connection": "local", "ansible_python_interpreter": sys.executable, "ansible_become": False,
            "webops_env_file": env_file, "webops_env_file_link": "", "webops_owner": "", "webops_group": "",
            "webops_manage_services": False, "webops_python_interpreter": sys.executable,
            "webops_audit_host_log": os.path.join(host_dir, "log", "key-operations.log"),
        }, handle)
    return inventory


# What a directory inventory holds after a run: the operator's two files, the vault, and the
# vault's lock file beside it (a dot file, which Ansible's inventory never reads).
VAULT_AND_INVENTORY = ["group_vars/%s/.vault.yml.lock" % ENV, "group_vars/%s/main.yml" % ENV,
                       "group_vars/%s/vault.yml" % ENV, "hosts.yml"]


def files_in(top):
    return sorted(os.path.relpath(os.path.join(d, f), top) for d, _dirs, names in os.walk(top) for f in names)


def summary_of(stdout, task):
    assert stdout.count(task) == 1, stdout[-4000:]
    return stdout[stdout.index(task):]


def test_directory_inventory_stays_clean_and_output_says_what_happened(tmp_path, sqlite_url):
    key = Fernet.generate_key().decode()
    webops_db.create_schema(sqlite_url)
    webops_db.seed(sqlite_url, key, users=6, legacy_plaintext=1)
    site = Site(tmp_path)
    inventory = directory_inventory(tmp_path, sqlite_url, key)
    controller_log = os.path.join(str(tmp_path), "logs", "key-operations.log")

    def run(playbook, check=False):
        result = site.playbook(playbook, [], extra={"env": ENV}, inventories=[inventory + "/"], default_paths=True, check=check)
        assert_no_secret(result.stdout, [key])
        assert "Failed to parse" not in result.stdout, result.stdout[-4000:]
        return result

    # A rotation before setup has no escrowed key: refused in its preflight, and audited as refused
    # with the reason, beside the inventory, not in it.
    refused = run("rotate_keys.yml")
    assert refused.returncode != 0
    lines = [json.loads(line) for line in open(controller_log)]
    assert [(entry["operation"], entry["outcome"]) for entry in lines] == [("rotate", "refused"), ("evidence", "incomplete")], lines
    assert "webops_encryption_key" in lines[0]["details"]["refused_because"], lines[0]
    assert lines[0]["details"]["stopped_in_step"] == 1
    # Its evidence record says the same: refused, with the audit line's reason, and names that line.
    evidence = os.path.join(str(tmp_path), "evidence", ENV)
    records = [name for name in sorted(os.listdir(evidence)) if name.endswith(".json")]
    assert len(records) == 1 and lines[1]["details"]["record"] == records[0], (records, lines[1])
    with open(os.path.join(evidence, records[0])) as handle:
        record = json.load(handle)
    assert record["outcome"] == "refused" and record["status"] == "incomplete", record
    assert record["status_reasons"][0] == "The run was refused: %s." % lines[0]["details"]["refused_because"]
    assert record["audit_lines"] == [lines[0]["id"]] and lines[0]["run"] == lines[1]["run"]

    # Setup: the JSON credentials column holds several values per row and says so; the vault (and its
    # lock file) is all the inventory directory gains.
    setup = run("setup_encryption.yml")
    assert setup.returncode == 0, setup.stdout[-4000:]
    assert re.search(r"automation_data_source_credentials\.credentials: \d+ values in 6 rows, ", setup.stdout), setup.stdout[-4000:]
    assert re.search(r"core_webhook\.secret: 6 rows, \d+ already encrypted, 1 newly encrypted, ", setup.stdout)
    assert files_in(inventory) == VAULT_AND_INVENTORY
    assert os.path.isfile(controller_log)

    # A check rotation: every line of its summary speaks of what would happen; no window figure.
    check = run("rotate_keys.yml", check=True)
    assert check.returncode == 0, check.stdout[-4000:]
    summary = summary_of(check.stdout, "Summarise the rotation")
    assert "%s: would rotate (check mode, nothing written)" % ENV in summary
    assert re.search(r"core_webhook\.secret: 6 rows, 6 would be rotated, 0 already under the new key, 0 plaintext would be "
                     r"encrypted, .*; scanned in [\d.]+ s", summary), summary
    assert re.search(r"automation_data_source_credentials\.credentials: \d+ values in 6 rows, \d+ would be rotated", summary)
    assert "units stopped" not in summary
    assert "units: none managed (webops_manage_services: false or webops_services empty), none would be stopped" in summary
    assert re.search(r"check run time: [\d.]+ s", summary) and "total time" not in summary

    # A real rotation with no managed unit: no window figure either.
    rotate = run("rotate_keys.yml")
    assert rotate.returncode == 0, rotate.stdout[-4000:]
    summary = summary_of(rotate.stdout, "Summarise the rotation")
    assert re.search(r"core_webhook\.secret: 6 rows, 6 rotated, ", summary), summary
    assert "units stopped" not in summary and "units: none managed" in summary
    assert re.search(r"total time: [\d.]+ s", summary)

    # verify counts values in rows too, and a later run still parses the inventory without a warning.
    verify = run("verify_keys.yml")
    assert verify.returncode == 0, verify.stdout[-4000:]
    assert re.search(r"automation_data_source_credentials\.credentials: \d+ values in 6 rows: \d+ under the current key",
                     verify.stdout), verify.stdout[-4000:]
    assert files_in(inventory) == VAULT_AND_INVENTORY
    assert not os.path.exists(os.path.join(inventory, "logs")) and not os.path.exists(os.path.join(inventory, "key-backups"))


def test_backup_keys_ends_with_which_key_went_where(set_up_site, sqlite_url):
    from support.playbook_site import ENV as ITEST, Environment
    environment = set_up_site(Environment, sqlite_url, hosts=())
    run = environment.run("backup_keys.yml", check=True)
    assert run.returncode == 0, run.stdout[-4000:]
    summary = summary_of(run.stdout, "Summarise the backup")
    match = re.search(r"%s: key (sha256:[0-9a-f]{16}) \(ENCRYPTION_KEY of \S+ on db1\.%s\) would be backed up to:" % (ITEST, ITEST),
                      summary)
    assert match, summary
    assert "vault: %s (already held it)" % environment.vault_file(ITEST) in summary
    run = environment.run("backup_keys.yml")
    assert run.returncode == 0, run.stdout[-4000:]
    summary = summary_of(run.stdout, "Summarise the backup")
    assert "%s: key %s (ENCRYPTION_KEY of" % (ITEST, match.group(1)) in summary and ") backed up to:" in summary


def adhoc(tmp_path, env_file, *extra):
    from support.paths import REPO
    environ = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, "collections"), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_LOCAL_TEMP=os.path.join(str(tmp_path), ".ansible-tmp"), ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible"), "db1", "-i", "db1,", "-c", "local",
            "-m", "webops.encryption.fernet_audit", "-a", "env_file=%s" % env_file] + list(extra)
    import subprocess
    return subprocess.run(argv, cwd=str(tmp_path), env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=300, check=False)


def test_an_ad_hoc_database_module_runs_under_webops_python_interpreter_and_names_it_when_wrong(tmp_path, sqlite_url):
    key = Fernet.generate_key().decode()
    webops_db.create_schema(sqlite_url)
    webops_db.seed(sqlite_url, key, users=3, legacy_plaintext=0)
    env_file = os.path.join(str(tmp_path), ".env")
    with open(env_file, "w") as handle:
        handle.write("DATABASE_URL=%s\nENCRYPTION_KEY=%s\n" % (sqlite_url, key))
    # The host's system Python (a python that cannot import cryptography) is overridden by the
    # collection's own variable, as the roles do.
    no_crypto = os.path.join(str(tmp_path), "python-without-cryptography")
    with open(no_crypto, "w") as handle:
        handle.write("#!/bin/sh\nexec %s -I -S \"$@\"\n" % sys.executable)
    os.chmod(no_crypto, 0o755)
    run = adhoc(tmp_path, env_file, "-e", "ansible_python_interpreter=%s" % no_crypto,
                "-e", "webops_python_interpreter=%s" % sys.executable)
    assert run.returncode == 0 and "db1 | SUCCESS" in run.stdout, run.stdout[-3000:]
    # Without it, the missing library is named with the variable and the package that fix it.
    run = adhoc(tmp_path, env_file, "-e", "ansible_python_interpreter=%s" % no_crypto)
    assert run.returncode != 0
    assert "webops_python_interpreter" in run.stdout and "python3-cryptography" in run.stdout, run.stdout[-3000:]
    # A typo in it is named too.
    run = adhoc(tmp_path, env_file, "-e", "webops_python_interpreter=/opt/webops/no-such-venv/bin/python")
    assert run.returncode != 0
    assert "webops_python_interpreter=/opt/webops/no-such-venv/bin/python" in run.stdout, run.stdout[-3000:]
    assert_no_secret(run.stdout, [key])
