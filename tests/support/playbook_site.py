# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Throwaway WebOps sites for the playbook tests, under a temp dir, run with the real ansible-playbook.

``Site``: inventories laid out like the repository's examples (inventories/<env>/hosts.yml,
group_vars/<env>/{main,vault}.yml) with local hosts, one .env each, and a vault password made at
test time (the custody tests). ``Environment``: one such environment (``itest``) plus a real
WebOps-shaped database seeded under a key, and the checks the tests hold a rotation to.
``SecretKeySite``: that environment with the configuration values under its hosts' SECRET_KEY.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import hashlib
import json
import os
import re
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import time

import yaml
from ansible.parsing.vault import VaultLib, VaultSecret
from cryptography.fernet import Fernet

from support import webops_db
from support.leaks import assert_no_secret
from support.paths import ANSIBLE_CFG, ANSIBLE_PLAYBOOK, COLLECTIONS, FAULT_CALLBACKS, PLAYBOOKS, REPO

# The last task of each rotation step: a fault "after step N" is injected right after it completes.
ROTATION_STEP_END = {
    1: "Refuse what the database work would refuse, before anything changes",
    2: "Require the new key to differ from the current key and from every other environment's",
    3: "Back up the .env before the rotation changes it",
    4: "Write ENCRYPTION_KEY (new) and OLD_ENCRYPTION_KEY (old) in one write",
    5: "Verify no value is left under the old key (HMAC scan)",
    6: "Find the .env backups that hold retired keys",
}


# The same for rotate_secret_key.yml (the last task of each step that completes in a test environment,
# where no unit is managed).
SECRET_KEY_STEP_END = {
    1: "Check the database answers and every sensitive configuration value opens with a known SECRET_KEY",
    2: "Escrow the key in the environment's vault file",
    3: "Verify no configuration value is left under the old SECRET_KEY",
    4: "Find copies of the .env that may hold a retired SECRET_KEY (backups of earlier edits)",
    5: "Record the new key as the environment's current key",
}


def fault_environ(after_task, mode="fail"):
    """Environment that loads the test-only webops_fault callback: after ``after_task`` completes,
    the next task fails (mode 'fail') or ansible-playbook SIGKILLs itself (mode 'kill')."""
    return {"ANSIBLE_CALLBACK_PLUGINS": FAULT_CALLBACKS, "ANSIBLE_CALLBACKS_ENABLED": "webops_fault",
            "WEBOPS_FAULT_AFTER_TASK": after_task, "WEBOPS_FAULT_MODE": mode}


class PausedRun:
    """A playbook run paused by the fault callback (mode 'pause') right after a named task."""

    def __init__(self, root):
        directory = os.path.join(str(root), "pause-%s" % secrets.token_hex(4))
        os.makedirs(directory)
        self.marker = os.path.join(directory, "reached")
        self.fifo = os.path.join(directory, "release")
        os.mkfifo(self.fifo, 0o600)
        self.process = None
        self.output = None

    def wait_paused(self, limit=240):
        """Wait until the run reached the task and blocks (the marker stays until the end of the run:
        this waits for a state, it does not race one). Fails when the run ended without reaching it."""
        deadline = time.monotonic() + limit
        while not os.path.exists(self.marker):
            if self.process.poll() is not None:
                raise AssertionError("the run ended before it reached the pause: " + self.process.stdout.read()[-4000:])
            if time.monotonic() > deadline:
                self.process.kill()
                raise AssertionError("the run did not reach the pause within %d s" % limit)
            time.sleep(0.2)

    def release(self):
        """Let the run go on and wait for its end; returns a CompletedProcess-like result."""
        with open(self.fifo, "w") as handle:
            handle.write("go\n")
        output, dummy = self.process.communicate(timeout=240)
        return subprocess.CompletedProcess(self.process.args, self.process.returncode, output)


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
        source = os.path.join(REPO, "examples", "inventories", env, "group_vars", env, "main.yml")
        if not os.path.exists(source):
            source = os.path.join(REPO, "examples", "inventories", "dev", "group_vars", "dev", "main.yml")
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
        argv, environ = self.command(name, envs, extra, check, vault, verbosity, fault, inventories, default_paths)
        return subprocess.run(argv, cwd=self.root, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=240, check=False)

    def start_paused(self, name, envs, after_task, extra=None):
        """Start a playbook that pauses right after ``after_task`` (fault mode 'pause'); returns a
        PausedRun. The run blocks there until PausedRun.release()."""
        paused = PausedRun(self.root)
        argv, environ = self.command(name, envs, extra, fault=(after_task, "pause"))
        environ.update(WEBOPS_FAULT_MARKER=paused.marker, WEBOPS_FAULT_RELEASE=paused.fifo)
        paused.process = subprocess.Popen(argv, cwd=self.root, env=environ, stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, universal_newlines=True)
        return paused

    def command(self, name, envs, extra=None, check=False, vault=True, verbosity=0, fault=None, inventories=(),
                default_paths=False):
        """The argv and environment of a playbook run (see playbook())."""
        argv = [ANSIBLE_PLAYBOOK, os.path.join(PLAYBOOKS, name)]
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
            ANSIBLE_CONFIG=ANSIBLE_CFG,
            ANSIBLE_COLLECTIONS_PATH=COLLECTIONS,
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
        return argv, environ

    # -- evidence ---------------------------------------------------------------------------
    def evidence_dir(self, env):
        """webops_evidence_dir's default for a hosts.yml inventory: beside it, one directory per environment."""
        return os.path.join(self.inventories, env, "evidence", env)

    def evidence_records(self, env):
        """The environment's evidence records, oldest first: (path, record, the file's bytes)."""
        directory = self.evidence_dir(env)
        if not os.path.isdir(directory):
            return []
        found = []
        for name in sorted(os.listdir(directory)):
            if name.endswith(".json"):
                with open(os.path.join(directory, name), "rb") as handle:
                    data = handle.read()
                found.append((os.path.join(directory, name), json.loads(data.decode("utf-8")), data))
        return sorted(found, key=lambda item: (item[1]["started"], item[1]["ended"], item[0]))

    def evidence_check(self, env):
        """Run the evidence_check module on the controller (a real ansible process)."""
        argv = [os.path.join(os.path.dirname(ANSIBLE_PLAYBOOK), "ansible"), "localhost", "-m", "webops.encryption.evidence_check",
                "-a", json.dumps({"dir": self.evidence_dir(env), "audit_log": self.controller_log, "environment": env}),
                "-e", json.dumps({"ansible_python_interpreter": sys.executable})]
        environ = dict(os.environ, ANSIBLE_CONFIG=ANSIBLE_CFG, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1",
                       ANSIBLE_LOCAL_TEMP=os.path.join(self.root, ".ansible-tmp"))
        return subprocess.run(argv, cwd=self.root, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=240, check=False)

    def assert_evidence(self, env, operation, count_before, keys=()):
        """One new record of ``operation`` since ``count_before`` records, 0600 files in a 0700 directory, its
        SHA-256 in an evidence line of the controller's audit trail, the run's audit lines named, no key in any
        evidence file. Returns the record."""
        records = self.evidence_records(env)
        assert len(records) == count_before + 1, [r[0] for r in records]
        path, record, data = records[-1]
        assert record["operation"] == operation and record["environment"] == env
        assert stat.S_IMODE(os.stat(self.evidence_dir(env)).st_mode) == 0o700
        lines = self.log_lines()
        evidence = [line for line in lines if line.get("operation") == "evidence"
                    and line["details"]["record"] == os.path.basename(path)]
        assert len(evidence) == 1 and evidence[0]["details"]["sha256"] == "sha256:" + hashlib.sha256(data).hexdigest()
        ids = set(line.get("id") for line in lines)
        assert record["audit_lines"] and set(record["audit_lines"]) <= ids
        for name in os.listdir(self.evidence_dir(env)):
            full = os.path.join(self.evidence_dir(env), name)
            assert stat.S_IMODE(os.stat(full).st_mode) == 0o600, name
            with open(full) as handle:
                text = handle.read()
            assert_no_secret(text, keys)
            assert "gAAAAA" not in text
        return record

    def log_lines(self, which="controller"):
        path = self.controller_log if which == "controller" else self.host_log
        if not os.path.exists(path):
            return []
        with open(path) as handle:
            return [json.loads(line) for line in handle if line.strip()]


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
        ``fault``: (task name, mode) for the test-only fault callback (fault_environ)."""
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


# The SECRET_KEY before any rotation: the one the hosts' .env holds.
FIRST_SECRET_KEY = HOSTS_SECRET_KEY
# The sensitive configuration values webops_db seeds, as their plaintexts.
PLAINTEXTS = {"smtp_password": "smtp-pass", "slack_webhook": "https://hooks.example/x"}


class SecretKeySite(Environment):
    """The playbook tests' environment, with the configuration values under its hosts' SECRET_KEY."""

    def __init__(self, root, database_url, hosts=("panel1",)):
        super(SecretKeySite, self).__init__(root, database_url, hosts=hosts)
        webops_db.reseed_config(database_url, FIRST_SECRET_KEY)
        self.config_plain = [row for row in webops_db.config_rows(database_url) if not row[3]]

    def secret_keys(self):
        keys = {FIRST_SECRET_KEY}
        data = self.vault_data()
        for name in ("webops_secret_key", "webops_secret_key_next"):
            if data.get(name):
                keys.add(data[name])
        keys.update(entry["key"] for entry in data.get("webops_secret_key_history") or [])
        return keys

    def run(self, playbook, check=False, env=ENV, **extra):
        result = super(SecretKeySite, self).run(playbook, check=check, env=env, **extra)
        for key in self.secret_keys():
            assert key not in result.stdout, "a SECRET_KEY appears in the output"
        return result

    def host_files(self, host):
        directory = os.path.dirname(self.env_file(ENV, host))
        return [os.path.join(directory, name) for name in os.listdir(directory)
                if os.path.isfile(os.path.join(directory, name))]

    def assert_secret_key_rotated(self, encryption_key):
        """Finished: one new SECRET_KEY in the vault and every .env, every sensitive value under its
        derived key with the same text, plain rows as they were, no retired SECRET_KEY on a host."""
        vault = self.vault_data()
        new = vault["webops_secret_key"]
        assert "webops_secret_key_next" not in vault
        assert len(new) >= 50 and not set(new) & set("'\"#$\\% `")
        for host in self.hosts:
            values = self.env_values(host)
            assert values["SECRET_KEY"] == new, host
            assert values["ENCRYPTION_KEY"] == encryption_key, host
            assert stat.S_IMODE(os.stat(self.env_file(ENV, host)).st_mode) == 0o600
            for path in self.host_files(host):
                with open(path) as handle:
                    text = handle.read()
                for retired in self.secret_keys() - {new}:
                    assert "SECRET_KEY=%s\n" % retired not in text and "SECRET_KEY='%s'" % retired not in text, path
        opened = webops_db.open_config(self.database_url, [new])
        assert opened == dict((name, (0, text)) for name, text in PLAINTEXTS.items()), opened
        assert [row for row in webops_db.config_rows(self.database_url) if not row[3]] == self.config_plain
        return new


def step_of(output):
    """The rotation step a failed run reports it stopped in, or None."""
    match = re.search(r"stopped in step (\d)", output)
    return int(match.group(1)) if match else None


class SetUpSites:
    """Sites after their setup_encryption.yml run, made once per shape and handed out as copies.

    Most playbook tests start from a set-up environment without asserting on what setup did: they
    get a copy of one real setup run (the directory tree, with the absolute paths and the database
    URL the inventory and the .env files hold rewritten; the SQLite file inside the tree, or a
    PostgreSQL ``CREATE DATABASE ... TEMPLATE``) instead of paying for their own run."""

    def __init__(self, root):
        self.root = str(root)
        self.made = {}

    def copy(self, cls, root, database_url, pg_server=None, **shape):
        """A copy of ``cls(<template root>, <template database>, **shape)`` after setup, living in
        ``root`` (an empty directory) over ``database_url``: a SQLite file under ``root``, or a
        database of ``pg_server`` (emptied and made again from the template)."""
        postgres = not database_url.startswith("sqlite:")
        template = self._template(cls, postgres, pg_server, shape)
        root = str(root)
        shutil.copytree(template.root, root, symlinks=True, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(".ansible-tmp", "pause-*"))
        database_file = None
        if postgres:
            name = database_url.rsplit("/", 1)[1]
            pg_server.drop_database(name)
            with pg_server.admin() as conn:
                conn.execute('CREATE DATABASE "%s" TEMPLATE "%s"' % (name, template.database_url.rsplit("/", 1)[1]))
        else:
            database_file = database_url[len("sqlite:///"):]
            source = template.database_url[len("sqlite:///"):]
            if os.path.relpath(database_file, root) != os.path.relpath(source, template.root):
                shutil.copy2(source, database_file)

        def rewrite(text):
            return text.replace(template.database_url, database_url).replace(template.root, root)

        for directory, dummy, names in os.walk(root):
            for name in names:
                path = os.path.join(directory, name)
                if path == database_file or os.path.islink(path):
                    continue
                with open(path, "rb") as handle:
                    data = handle.read()
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError:
                    continue
                if rewrite(text) != text:
                    with open(path, "wb") as handle:
                        handle.write(rewrite(text).encode("utf-8"))
        site = cls.__new__(cls)
        for attribute, value in template.__dict__.items():
            if isinstance(value, str):
                value = rewrite(value)
            elif not isinstance(value, VaultLib):
                value = copy.deepcopy(value)
            setattr(site, attribute, value)
        return site

    def _template(self, cls, postgres, pg_server, shape):
        key = (cls, postgres, tuple(sorted(shape.items())))
        if key not in self.made:
            root = tempfile.mkdtemp(prefix="site-", dir=self.root)
            url = pg_server.url(pg_server.create_database()) if postgres else "sqlite:///" + os.path.join(root, "db.sqlite3")
            site = cls(root, url, **shape)
            result = site.run("setup_encryption.yml")
            assert result.returncode == 0, result.stdout[-4000:]
            self.made[key] = site
        return self.made[key]
