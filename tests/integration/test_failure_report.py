# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rotation's failure report claims only what it checked: "Nothing is lost" after comparing the
keys the values are under with what each host's .env and the vault hold now."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from cryptography.fernet import Fernet

from support.keys import fingerprint
from support.playbook_site import ENV, ROTATION_STEP_END, Environment, step_of

pytestmark = pytest.mark.playbook


def test_nothing_is_lost_is_said_only_when_each_env_and_the_vault_hold_the_keys(tmp_path, sqlite_url):
    site = Environment(tmp_path, sqlite_url, hosts=("panel1",))
    assert site.run("setup_encryption.yml").returncode == 0
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
