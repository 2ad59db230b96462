# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Throwaway inventories for the custody tests: the repository's layout
(inventories/<env>/hosts.yml, group_vars/<env>/{main,vault}.yml) with local hosts, files in a
temp dir, a vault password generated at test time, and real ansible-playbook runs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import secrets
import subprocess
import sys

import yaml
from ansible.parsing.vault import VaultLib, VaultSecret

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
FAULT_PLUGINS = os.path.join(REPO, "tests", "support", "callback_plugins")
# The last task of each rotation step: a fault "after step N" is injected right after it completes.
ROTATION_STEP_END = {
    1: "Refuse what the database work would refuse, before anything changes",
    2: "Require the new key to differ from the current key and from every other environment's",
    3: "Back up the .env before the rotation changes it",
    4: "Write ENCRYPTION_KEY (new) and OLD_ENCRYPTION_KEY (old) in one write",
    5: "Verify no value is left under the old key (HMAC scan)",
    6: "Find the .env backups that hold retired keys",
}


def fault_environ(after_task, mode="fail"):
    """Environment that loads the test-only webops_fault callback: after ``after_task`` completes,
    the next task fails (mode 'fail') or ansible-playbook SIGKILLs itself (mode 'kill')."""
    return {"ANSIBLE_CALLBACK_PLUGINS": FAULT_PLUGINS, "ANSIBLE_CALLBACKS_ENABLED": "webops_fault",
            "WEBOPS_FAULT_AFTER_TASK": after_task, "WEBOPS_FAULT_MODE": mode}


class Site:
    """A temp directory laid out like the repository's inventories, with one local host per role."""

    def __init__(self, root):
        self.root = str(root)
        self.inventories = os.path.join(self.root, "inventories")
        self.password_file = os.path.join(self.root, "vault-pass")
        if os.path.exists(self.password_file):
            with open(self.password_file) as handle:
                self.password = handle.read().strip()
        else:
            self.password = secrets.token_urlsafe(24)
            with open(self.password_file, "w") as handle:
                handle.write(self.password + "\n")
            os.chmod(self.password_file, 0o600)
        self.vault = VaultLib([("default", VaultSecret(self.password.encode()))])
        self.host_log = os.path.join(self.root, "host-logs", "key-operations.log")
        self.controller_log = os.path.join(self.root, "logs", "key-operations.log")

    # -- inventory ------------------------------------------------------------------------
    def add_env(self, env, database_url=None, rotation_days=90, extra_hosts=()):
        """One environment: a database host (plus ``extra_hosts``), each with its own .env."""
        env_dir = os.path.join(self.inventories, env)
        os.makedirs(os.path.join(env_dir, "group_vars", env))
        hosts = ["db1.%s" % env] + ["%s.%s" % (name, env) for name in extra_hosts]
        host_vars = {}
        for host in hosts:
            host_vars[host] = {
                "ansible_connection": "local",
                "ansible_python_interpreter": sys.executable,
                "webops_env_file": self.env_file(env, host),
                "webops_env_file_link": os.path.join(os.path.dirname(self.env_file(env, host)), "control-panel", ".env"),
            }
            os.makedirs(os.path.dirname(self.env_file(env, host)), exist_ok=True)
        inventory = {
            env: {"hosts": host_vars},
            "webops_database": {"hosts": {hosts[0]: None}},
            "webops_control_panel": {"hosts": dict((h, None) for h in hosts[1:])},
        }
        with open(os.path.join(env_dir, "hosts.yml"), "w") as handle:
            yaml.safe_dump(inventory, handle)
        # The repository's settings of this environment (dev's for a made-up name), with test paths.
        source = os.path.join(REPO, "inventories", env, "group_vars", env, "main.yml")
        if not os.path.exists(source):
            source = os.path.join(REPO, "inventories", "dev", "group_vars", "dev", "main.yml")
        settings = {}
        if os.path.exists(source):
            with open(source) as handle:
                settings = yaml.safe_load(handle) or {}
        settings.update({
            "webops_python_interpreter": sys.executable,
            "webops_install_python_deps": False,
            "webops_owner": "",
            "webops_group": "",
            "webops_rotation_days": rotation_days,
            "webops_manage_services": False,
            "webops_services": [],
            "webops_audit_host_log": self.host_log,
            "webops_recover_export_path": os.path.join(self.root, "exports", env, "unreadable.jsonl"),
            "ansible_become": False,
        })
        if database_url:
            settings["webops_database_url"] = database_url
        with open(os.path.join(env_dir, "group_vars", env, "main.yml"), "w") as handle:
            yaml.safe_dump(settings, handle)
        return hosts

    def env_file(self, env, host):
        return os.path.join(self.root, "hosts", host, ".env")

    def write_env_file(self, env, host, values):
        path = self.env_file(env, host)
        with open(path, "w") as handle:
            handle.write("".join("%s=%s\n" % item for item in values.items()))
        os.chmod(path, 0o600)

    def read_env_file(self, env, host):
        values = {}
        with open(self.env_file(env, host)) as handle:
            for line in handle:
                if "=" in line and not line.startswith("#"):
                    name, value = line.rstrip("\n").split("=", 1)
                    values[name] = value
        return values

    # -- vault ------------------------------------------------------------------------------
    def vault_file(self, env):
        return os.path.join(self.inventories, env, "group_vars", env, "vault.yml")

    def write_vault(self, env, data):
        with open(self.vault_file(env), "wb") as handle:
            handle.write(self.vault.encrypt(yaml.safe_dump(data)))
        os.chmod(self.vault_file(env), 0o600)

    def read_vault(self, env):
        with open(self.vault_file(env), "rb") as handle:
            return yaml.safe_load(self.vault.decrypt(handle.read()))

    # -- runs -------------------------------------------------------------------------------
    def playbook(self, name, envs, extra=None, check=False, vault=True, verbosity=0, fault=None, inventories=(),
                 default_paths=False):
        """Run a repository playbook against the given environments' inventories (and ``inventories``:
        further -i paths). ``fault``: (task name, 'fail' or 'kill'), see fault_environ().
        ``default_paths``: leave the controller audit log where the roles put it."""
        path = name if os.path.isabs(name) else os.path.join(REPO, "playbooks", name)
        argv = [PLAYBOOK_BIN, path]
        for env in envs:
            argv += ["-i", os.path.join(self.inventories, env, "hosts.yml")]
        for inventory in inventories:
            argv += ["-i", inventory]
        if vault:
            argv += ["--vault-password-file", self.password_file]
        if extra:
            argv += ["-e", json.dumps(extra)]
        if check:
            argv.append("--check")
        if verbosity:
            argv.append("-" + "v" * verbosity)
        environ = dict(os.environ)
        environ.update(
            ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
            ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, "collections"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
            ANSIBLE_LOCAL_TEMP=os.path.join(self.root, ".ansible-tmp"),
            ANSIBLE_HOST_KEY_CHECKING="0",
            ANSIBLE_PIPELINING="1",
            # One line per result, so messages are not folded.
            ANSIBLE_CALLBACK_RESULT_FORMAT="json",
        )
        if fault:
            environ.update(fault_environ(*fault))
        if not default_paths:
            argv += ["-e", json.dumps({"webops_audit_controller_log": self.controller_log})]
        return subprocess.run(argv, cwd=self.root, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=240, check=False)

    def log_lines(self, which="controller"):
        path = self.controller_log if which == "controller" else self.host_log
        if not os.path.exists(path):
            return []
        with open(path) as handle:
            return [json.loads(line) for line in handle if line.strip()]


def assert_no_secret(text, keys):
    """No key (url-safe or standard alphabet) appears in ``text``."""
    for key in keys:
        if not key:
            continue
        standard = key.replace("-", "+").replace("_", "/")
        assert key not in text and standard not in text and key.rstrip("=") not in text, "a key leaked into the output"
