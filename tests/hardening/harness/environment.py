# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A throwaway WebOps environment for playbook runs (like examples/inventories/demo, under a temp dir).

Layout under ``root``:
    inventories/hard/hosts.yml, inventories/hard/group_vars/hard/{main.yml,vault.yml}
    opt/webops/.env (0600), opt/webops/control-panel/.env -> ../.env, logs/, backups/
    webops.sqlite3 (unless a PostgreSQL URL is given), vault-password
"""

import os
import secrets

import yaml

from ansible_collections.webops.encryption.plugins.module_utils import _dotenv as dotenv, fernet
from hardening.harness.modules import run_debug_playbook
from support import webops_db
from support.ansible_runs import playbook_command
from support.leaks import Needles
from support.paths import PLAYBOOKS

ENV = "hard"


class Environment:
    def __init__(self, root, db_url=None, users=8):
        self.root = str(root)
        self.inventories = os.path.join(self.root, "inventories")
        self.inventory = os.path.join(self.inventories, ENV)
        self.group_vars = os.path.join(self.inventory, "group_vars", ENV)
        self.vault_file = os.path.join(self.group_vars, "vault.yml")
        self.opt = os.path.join(self.root, "opt", "webops")
        self.env_file = os.path.join(self.opt, ".env")
        self.link = os.path.join(self.opt, "control-panel", ".env")
        self.logs = os.path.join(self.root, "logs")
        self.backups = os.path.join(self.root, "backups")
        self.password_file = os.path.join(self.root, "vault-password")
        self.db_url = db_url or "sqlite:///" + os.path.join(self.root, "webops.sqlite3")
        self.users = users
        self.secret_key = "django-insecure-" + secrets.token_urlsafe(30)
        self.keys = []        # every key this environment has had (text)
        self.plaintexts = []  # every plaintext secret stored in the database

    def build(self):
        for path in (self.group_vars, os.path.dirname(self.link), self.logs, self.backups):
            os.makedirs(path, exist_ok=True)
        with open(os.path.join(self.inventory, "hosts.yml"), "w") as handle:
            yaml.safe_dump({
                ENV: {"hosts": {"hard-host": {"ansible_connection": "local"}}},
                "webops_control_panel": {"hosts": {"hard-host": None}},
                "webops_celery": {"hosts": {"hard-host": None}},
                "webops_database": {"hosts": {"hard-host": None}},
            }, handle)
        with open(os.path.join(self.group_vars, "main.yml"), "w") as handle:
            yaml.safe_dump({
                "webops_env_file": self.env_file,
                "webops_env_file_link": self.link,
                "webops_owner": "",
                "webops_group": "",
                "webops_manage_services": False,
                "webops_services": [],
                "webops_python_interpreter": "{{ ansible_playbook_python }}",
                "webops_rotation_days": 180,
                "webops_audit_host_log": os.path.join(self.logs, "host-key-operations.log"),
                "webops_audit_controller_log": os.path.join(self.logs, "key-operations.log"),
                "webops_custody_unreadable_vault": "warn",
                "webops_custody_gpg_dir": os.path.join(self.backups, "gpg"),
                "webops_recover_export_path": os.path.join(self.backups, "unreadable.jsonl"),
                "webops_database_batch_size": 7,
            }, handle)
        fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(24) + "\n")
        key = fernet.generate_key()
        self.keys.append(key)
        webops_db.create_schema(self.db_url)
        webops_db.seed(self.db_url, key, users=self.users, legacy_plaintext=2)
        self.plaintexts = [plain for _where, plain in self._open_all([key]) if isinstance(plain, str)]
        env = dotenv.DotEnv("# WebOps (hardening)\nSECRET_KEY=%s\nDEBUG=False\nDATABASE_URL=%s\nENCRYPTION_KEY=%s\n"
                            % (self.secret_key, self.db_url, key))
        dotenv.write_atomic(self.env_file, env.render())
        os.symlink(self.env_file, self.link)
        return self

    def _open_all(self, keys):
        from cryptography.fernet import Fernet
        fernets = [Fernet(k.encode()) for k in keys]
        for _t, _c, _pk, _n, value in webops_db.iter_values(self.db_url):
            yield webops_db.open_value(value, fernets)

    def env_key(self, name="ENCRYPTION_KEY"):
        return dotenv.read_env_file(self.env_file).get(name)

    def remember_keys(self):
        """Add the keys now in the .env to ``keys`` (a rotation makes new ones inside the play)."""
        for name in ("ENCRYPTION_KEY", "OLD_ENCRYPTION_KEY"):
            value = self.env_key(name)
            if value and value not in self.keys:
                self.keys.append(value)

    def needles(self, extra_secrets=()):
        needles = Needles()
        for index, key in enumerate(self.keys):
            needles.add_key("#%d" % index, key)
        for index, plain in enumerate(self.plaintexts):
            needles.add_plaintext("db secret #%d" % index, plain)
        needles.add_plaintext("SECRET_KEY", self.secret_key)
        for label, value in extra_secrets:
            needles.add_plaintext(label, value)
        return needles

    def key_files(self):
        """Files allowed to hold a key: the .env, its backups, the (encrypted) vault, the gpg escrow."""
        out = []
        for base, _dirs, files in os.walk(self.root):
            for name in files:
                path = os.path.join(base, name)
                if path.startswith(self.opt) or path == self.vault_file or path.startswith(os.path.join(self.backups, "gpg")):
                    out.append(path)
        return out

    def playbook(self, name, *args, **kwargs):
        extra = ["-i", self.inventory, "-e", "env=%s" % ENV, "--vault-password-file", self.password_file] + list(args)
        return run_debug_playbook(os.path.join(PLAYBOOKS, name), self.root, extra_args=extra, **kwargs)

    def playbook_command(self, name, *args):
        extra = ["-i", self.inventory, "-e", "env=%s" % ENV, "--vault-password-file", self.password_file] + list(args)
        return playbook_command(os.path.join(PLAYBOOKS, name), extra_args=extra)
