# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rotation's failure report claims only what it checked: "Nothing is lost" after comparing the
keys the values are under with what each host's .env and the vault hold now."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml
from ansible.parsing.vault import VaultLib, VaultSecret
from cryptography.fernet import Fernet

from support import webops_db
from support.keys import fingerprint
from support.playbook_site import ENV, ROTATION_STEP_END, Environment, Site, step_of

pytestmark = pytest.mark.playbook


def test_nothing_is_lost_is_said_only_when_each_env_and_the_vault_hold_the_keys(set_up_site, sqlite_url):
    site = set_up_site(Environment, sqlite_url, hosts=("panel1",))
    result = site.run("rotate_keys.yml", fault=(ROTATION_STEP_END[5], "fail"))
    assert step_of(result.stdout) == 5, result.stdout[-4000:]
    new_key = site.vault_data()["webops_encryption_key_next"]
    assert ("Nothing is lost (checked now): every value opens with a key that each .env and the vault hold (%s)"
            % fingerprint(new_key)) in result.stdout, result.stdout[-4000:]

    # What a second run writing its own key left on one host (the outage): its .env no longer holds
    # the key the values are under. The report must say so, not "Nothing is lost".
    panel = "panel1.%s" % ENV
    values = site.env_values(panel)
    stranger = Fernet.generate_key().decode()
    site.write_env_file(ENV, panel, dict(values, ENCRYPTION_KEY=stranger, OLD_ENCRYPTION_KEY=site.first_key))
    result = site.run("rotate_keys.yml")
    assert result.returncode != 0
    assert "Nothing is lost" not in result.stdout, result.stdout[-4000:]
    assert "NOT everything is readable: %s's .env lacks %s" % (panel, fingerprint(new_key)) in result.stdout, \
        result.stdout[-4000:]


def test_a_missing_unit_is_refused_in_step_1_with_both_ways_out(set_up_site, sqlite_url):
    site = set_up_site(Environment, sqlite_url, hosts=())
    before = (site.env_bytes(), open(site.vault_file(ENV), "rb").read(), site.database_state())
    units = {"webops_manage_services": True, "webops_services": ["webops-no-such-unit"]}
    for playbook in ("rotate_keys.yml", "setup_encryption.yml", "rotate_secret_key.yml"):
        result = site.run(playbook, **units)
        assert result.returncode != 0, playbook
        assert "db1.%s has no unit webops-no-such-unit" % ENV in result.stdout, result.stdout[-3000:]
        assert "webops_services: [...]" in result.stdout and "webops_manage_services: false" in result.stdout
        if playbook == "rotate_keys.yml":
            assert step_of(result.stdout) == 1
        assert (site.env_bytes(), open(site.vault_file(ENV), "rb").read(), site.database_state()) == before, playbook


def test_a_second_environments_vault_without_its_secret_is_refused_before_any_vault_is_written(tmp_path, sqlite_url):
    site = Site(tmp_path)
    site.add_env("dev", database_url=sqlite_url)
    site.add_env("staging")
    webops_db.create_schema(sqlite_url)
    key = Fernet.generate_key().decode()
    site.write_env_file("dev", "db1.dev", {"ENCRYPTION_KEY": key, "DATABASE_URL": sqlite_url})
    # staging's vault is under another vault password, which this run is not given.
    other = VaultLib([("default", VaultSecret(b"staging's own vault password"))])
    with open(site.vault_file("staging"), "wb") as handle:
        handle.write(other.encrypt(yaml.safe_dump({"webops_encryption_key": Fernet.generate_key().decode()})))
    result = site.playbook("setup_encryption.yml", ["dev"], extra={"env": "dev"},
                           inventories=[os.path.join(site.inventories, "staging", "hosts.yml")])
    assert result.returncode != 0
    assert "Cannot compare the keys of %s" % os.path.realpath(site.vault_file("staging")) in result.stdout, \
        result.stdout[-3000:]
    assert not os.path.exists(site.vault_file("dev")), "dev's vault was written before the refusal"
    assert site.read_env_file("dev", "db1.dev")["ENCRYPTION_KEY"] == key
