# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""No secret in any message: every no_log variable of every role's argument specs, and Ansible's
connection and become passwords, given with -e to a rotation (rotate_keys.yml, rotate_secret_key.yml)
that fails after each of its steps, at -vvv. None of them may appear anywhere in the output (the
failure report and its resume command included), nor a fingerprint of the weak SECRET_KEY the hosts
start with.

Neither test asserts on the setup: setup_encryption.yml runs once for the session, and each test
rotates its own copy of the set-up site (tree and database copied; support.playbook_site.SetUpSites)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import hashlib
import os
import secrets
import urllib.parse

import pytest
import yaml
from cryptography.fernet import Fernet

from support.leaks import Needles
from support.paths import REPO
from support.playbook_site import ENV, HOSTS_SECRET_KEY, ROTATION_STEP_END, SECRET_KEY_STEP_END, Environment, step_of

pytestmark = [pytest.mark.playbook, pytest.mark.slow, pytest.mark.postgres]

CONNECTION_SECRETS = ("ansible_become_pass", "ansible_become_password", "ansible_ssh_pass", "ansible_password")


def no_log_variables():
    """Every option marked no_log in any entry point of any role's meta/argument_specs.yml."""
    names = set()
    for path in glob.glob(os.path.join(REPO, "roles", "*", "meta", "argument_specs.yml")):
        with open(path) as handle:
            specs = yaml.safe_load(handle)["argument_specs"]
        for entry in specs.values():
            for name, option in (entry.get("options") or {}).items():
                if option.get("no_log"):
                    names.add(name)
    return sorted(names)


def secret_extra_vars(site, database_url):
    """A value for each secret variable that keeps the rotation working (the keys it really uses,
    the database URL with its real password), so every step is reached; and the needles to look for."""
    new_key = Fernet.generate_key().decode()
    retired = Fernet.generate_key().decode()
    known = {
        "webops_encryption_key": site.first_key,
        # An escrowed new key given on the command line: the rotation resumes with it (and escrows it).
        "webops_encryption_key_next": new_key,
        "webops_custody_key": new_key,
        "webops_encryption_key_history": [{"key": retired, "retired": "2026-01-01T00:00:00Z", "reason": "routine"}],
        "webops_database_url": database_url,
        # The hosts' own SECRET_KEY: step 1 refuses a vault (or -e) SECRET_KEY the hosts do not hold.
        "webops_secret_key": HOSTS_SECRET_KEY,
        "webops_secret_key_next": "sk-next-" + secrets.token_urlsafe(40),
        "webops_secret_key_history": [{"key": "sk-retired-" + secrets.token_urlsafe(40)}],
    }
    names = no_log_variables()
    unknown = sorted(set(names) - set(known))
    assert not unknown, "a no_log variable this test does not know how to give: %s" % unknown
    values = dict((name, known[name]) for name in names)
    for name in CONNECTION_SECRETS:
        values[name] = "pw-%s-%s" % (name, secrets.token_urlsafe(12))
    needles = Needles()
    for key in (site.first_key, new_key, retired):
        needles.add_key("given key", key)
    password = urllib.parse.unquote(urllib.parse.urlsplit(database_url).password or "")
    needles.add_plaintext("database password", password).add_plaintext("database URL", database_url)
    for name in ("webops_secret_key", "webops_secret_key_next"):
        needles.add_plaintext(name, values[name])
    needles.add_plaintext("webops_secret_key_history", values["webops_secret_key_history"][0]["key"])
    for name in CONNECTION_SECRETS:
        needles.add_plaintext(name, values[name])
    return values, needles, new_key


@pytest.fixture
def site(set_up_site, pg_url):
    """One environment (a .env on panel1, PostgreSQL) as setup_encryption.yml left it: a copy of one real run."""
    return set_up_site(Environment, pg_url, hosts=("panel1",))


def test_no_given_secret_appears_when_the_rotation_fails_after_any_step(site, tally):
    """rotate_keys.yml failing after steps 2 to 6, then finishing. With the escrowed new key given
    (-e webops_encryption_key_next) every run resumes, so steps 1 and 2 only read: a run failing after
    step 2 starts from the state a run failing after step 1 would, prints every task that one would
    (step 1's among them) and reports from the same state with the same branches of the report (a
    resuming run, nothing written yet) with the same secrets in play; only the step's number differs.
    A failure after step 1 alone would prove nothing more. Steps 3 to 6 each stop in a state of their
    own (escrowed and backed up, both keys in the .env, the database re-encrypted, the old key dropped)."""
    values, needles, new_key = secret_extra_vars(site, site.database_url)
    values["env"] = ENV
    for step in range(2, 7):
        result = site.playbook("rotate_keys.yml", [ENV], extra=values, verbosity=3,
                               fault=(ROTATION_STEP_END[step], "fail"))
        leaks = needles.scan(result.stdout, "rotate_keys.yml failing after step %d (-vvv)" % step)
        tally.leak_check("failure report and -vvv output, -e secrets, step %d" % step, leaks)
        stopped = step_of(result.stdout)
        tally.fault("rotation failing after step %d with secrets in -e" % step, result.returncode != 0 and stopped == step,
                    "stopped in %s" % stopped)
        assert not leaks, leaks
        assert result.returncode != 0 and stopped == step, result.stdout[-3000:]
        # The command cannot be shown without its secrets: the report says how to resume instead.
        assert "run the same command again, with the same inventory, vault options and extra variables" in result.stdout
        # From the report's own header on (the evidence line at the run's end says "stopped in step" too).
        assert "--become-method" not in result.stdout.split("Key rotation of '%s' stopped in step" % ENV)[-1]
    result = site.playbook("rotate_keys.yml", [ENV], extra=values, verbosity=3)
    leaks = needles.scan(result.stdout, "rotate_keys.yml finishing (-vvv)")
    tally.leak_check("finished rotation, -e secrets (-vvv)", leaks)
    assert not leaks, leaks
    assert result.returncode == 0, result.stdout[-3000:]
    assert site.assert_rotated_to_current() == new_key


def test_no_given_secret_appears_when_the_secret_key_rotation_fails_after_any_step(site, tally):
    """rotate_secret_key.yml, failing after each of its steps with the same -e secrets: no secret and
    no fingerprint of the weak old SECRET_KEY (reversible) in the output; every report says nothing is
    lost only as the result of a check made now; the same command then finishes the job."""
    values, needles, _new_key = secret_extra_vars(site, site.database_url)
    values["env"] = ENV
    # An extra variable wins over the value a role hands the custody escrow: here that is the escrowed
    # new SECRET_KEY, so the run keeps working with it.
    values["webops_custody_key"] = values["webops_secret_key_next"]
    needles.add_plaintext("fingerprint of the weak old SECRET_KEY",
                          "sha256:" + hashlib.sha256(HOSTS_SECRET_KEY.encode("utf-8")).hexdigest()[:16])
    for step in sorted(SECRET_KEY_STEP_END):
        result = site.playbook("rotate_secret_key.yml", [ENV], extra=values, verbosity=3,
                               fault=(SECRET_KEY_STEP_END[step], "fail"))
        leaks = needles.scan(result.stdout, "rotate_secret_key.yml failing after step %d (-vvv)" % step)
        tally.leak_check("SECRET_KEY failure report and -vvv output, -e secrets, step %d" % step, leaks)
        stopped = step_of(result.stdout)
        tally.fault("SECRET_KEY rotation failing after step %d with secrets in -e" % step,
                    result.returncode != 0 and stopped == step, "stopped in %s" % stopped)
        assert not leaks, leaks
        assert result.returncode != 0 and stopped == step, result.stdout[-3000:]
        # The report, from its own header (the evidence line at the run's end says "stopped in step" too).
        report = result.stdout.split("SECRET_KEY rotation of '%s' stopped in step" % ENV)[-1]
        # Every value is under the old or the escrowed new key, and the report checked it before saying so.
        assert "Nothing is lost (checked now): every configuration value opens with a SECRET_KEY the vault" in report, report
        assert "with the same inventory, vault options and extra variables (not shown" in report
    result = site.playbook("rotate_secret_key.yml", [ENV], extra=values, verbosity=3)
    leaks = needles.scan(result.stdout, "rotate_secret_key.yml finishing (-vvv)")
    tally.leak_check("finished SECRET_KEY rotation, -e secrets (-vvv)", leaks)
    assert not leaks, leaks
    assert result.returncode == 0, result.stdout[-3000:]
    assert site.vault_data()["webops_secret_key"] == values["webops_secret_key_next"]
    assert all(site.env_values(host)["SECRET_KEY"] == values["webops_secret_key_next"] for host in site.hosts)
