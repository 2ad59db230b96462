# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A whole WebOps environment for the playbook tests: the custody tests' throwaway inventory
(custody_env.Site: local hosts, one .env each, a vault password made at test time) plus a real
WebOps-shaped database seeded under a key, and the checks the tests judge a rotation by."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import os
import re
import stat

import yaml
from cryptography.fernet import Fernet

import webops_db
from custody_env import Site, assert_no_secret

ENV = "itest"
# The hosts' SECRET_KEY as decouple reads it (quotes stripped): the configuration values are seeded
# under it, as the application would have written them.
HOSTS_SECRET_KEY = "django-insecure-kept as is"
# Settings the roles do not manage: they must come through every run byte for byte.
OTHER_SETTINGS = (
    "# WebOps settings written by hand\n"
    "SECRET_KEY='django-insecure-kept as is'\n"
    "DEBUG=False\n"
    "ALLOWED_HOSTS=panel.example.org,127.0.0.1\n"
)


class Environment(Site):
    """One environment (``itest``): db1 runs the database work, panel1 and worker1 only hold a .env."""

    def __init__(self, root, database_url, hosts=("panel1", "worker1"), users=12, unknown=0, legacy_plaintext=2, narrow=False):
        """``narrow``: the app's migration widths (varchar(32) 2FA and varchar(64) webhook secrets),
        which only hold plaintext: give ``legacy_plaintext=users`` with it."""
        super(Environment, self).__init__(root)
        self.database_url = database_url
        self.hosts = self.add_env(ENV, extra_hosts=hosts)
        settings_path = os.path.join(self.inventories, ENV, "group_vars", ENV, "main.yml")
        with open(settings_path) as handle:
            settings = yaml.safe_load(handle)
        settings.update(webops_owner="", webops_group="", webops_env_file_link="", webops_rotation_days=90)
        with open(settings_path, "w") as handle:
            yaml.safe_dump(settings, handle)
        self.first_key = Fernet.generate_key().decode()
        webops_db.create_schema(database_url, narrow=narrow)
        webops_db.seed(database_url, self.first_key, users=users, legacy_plaintext=legacy_plaintext, unknown=unknown,
                       secret_key=HOSTS_SECRET_KEY)
        self.digest = webops_db.digest(database_url, [self.first_key], include_unknown=True)
        for host in self.hosts:
            path = self.env_file(ENV, host)
            with open(path, "w") as handle:
                handle.write(OTHER_SETTINGS + "DATABASE_URL=%s\nENCRYPTION_KEY=%s\n" % (database_url, self.first_key))
            os.chmod(path, 0o600)

    # -- runs -----------------------------------------------------------------------------------
    def run(self, playbook, check=False, env=ENV, fault=None, **extra):
        """ansible-playbook playbooks/<playbook> -e env=... with this environment's inventory.
        ``fault``: (task name, mode) for the test-only fault callback (custody_env.fault_environ)."""
        variables = dict(extra)
        if env is not None:
            variables["env"] = env
        result = self.playbook(playbook, [ENV], extra=variables, check=check, fault=fault)
        assert_no_secret(result.stdout, self.all_keys())
        return result

    # -- state ----------------------------------------------------------------------------------
    def env_values(self, host):
        return self.read_env_file(ENV, host)

    def env_bytes(self):
        return dict((host, open(self.env_file(ENV, host), "rb").read()) for host in self.hosts)

    def vault_data(self):
        return self.read_vault(ENV) if os.path.exists(self.vault_file(ENV)) else {}

    def all_keys(self):
        keys = {self.first_key}
        if os.path.exists(self.vault_file(ENV)):
            data = self.vault_data()
            for name in ("webops_encryption_key", "webops_encryption_key_next"):
                if data.get(name):
                    keys.add(data[name])
            for entry in data.get("webops_encryption_key_history") or []:
                keys.add(entry.get("key"))
        for host in self.hosts:
            if os.path.exists(self.env_file(ENV, host)):
                values = self.env_values(host)
                keys.update(v for k, v in values.items() if k.endswith("ENCRYPTION_KEY"))
        return sorted(k for k in keys if k)

    def database_state(self):
        """Raw digest of every stored value: any write at all changes it."""
        return webops_db.raw_digest(self.database_url)

    def assert_nothing_lost(self):
        """Every value opens with a key some .env holds, and that key is in the vault (or the first key)."""
        keys = self.all_keys()
        assert webops_db.digest(self.database_url, keys, include_unknown=False) == self.digest

    def assert_rotated_to_current(self, secret_key_rotated=False):
        """The finished state: one key everywhere, every value under it, nothing lost.
        ``secret_key_rotated``: SECRET_KEY is the vault's new one; every other setting is as it was."""
        vault = self.vault_data()
        key = vault["webops_encryption_key"]
        assert "webops_encryption_key_next" not in vault
        for host in self.hosts:
            values = self.env_values(host)
            assert values["ENCRYPTION_KEY"] == key, host
            assert "OLD_ENCRYPTION_KEY" not in values, host
            assert stat.S_IMODE(os.stat(self.env_file(ENV, host)).st_mode) == 0o600, host
            with open(self.env_file(ENV, host)) as handle:
                text = handle.read()
            if secret_key_rotated:
                assert values["SECRET_KEY"] == vault["webops_secret_key"] != HOSTS_SECRET_KEY, host
                assert _without_secret_key(text).startswith(_without_secret_key(OTHER_SETTINGS)), host
            else:
                assert text.startswith(OTHER_SETTINGS), host
            assert "DATABASE_URL=%s\n" % self.database_url in text, host
        assert webops_db.not_under(self.database_url, key) == []
        census = webops_db.census(self.database_url, [key])
        assert all(set(counts) <= {0, "empty"} for counts in census.values()), census
        assert webops_db.digest(self.database_url, [key], include_unknown=False) == self.digest
        return key


def _without_secret_key(text):
    return "".join(line for line in text.splitlines(True) if not line.startswith("SECRET_KEY="))


def fingerprint(key):
    """The collection's fingerprint, computed independently (sha256 of the key bytes, 16 hex)."""
    return "sha256:" + hashlib.sha256(base64.urlsafe_b64decode(key.encode())).hexdigest()[:16]


def step_of(output):
    match = re.search(r"stopped in step (\d)", output)
    return int(match.group(1)) if match else None
