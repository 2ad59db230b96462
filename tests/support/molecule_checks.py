# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the Molecule verifiers read off the test hosts: real files, units and database rows.

Like webops_db.py this is an independent check, so it does not import the collection. Keys are wrapped in
``Key``, whose repr is a fingerprint: a failing assertion shows fingerprints, never key text.
The database is read from the controller over the shared loopback (the scenarios run their
containers with ``network: host``), with the DATABASE_URL the host's own .env holds.

The verifiers import it as ``support.molecule_checks``; the converge playbooks run it as
``PYTHONPATH=tests python -m support.molecule_checks snapshot|kill-mid-rotation ...``.
kill-mid-rotation stops the rotation at a row it holds locked, never by polling for a moment.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import json
import os
import sys
import time

from support import webops_db

ENV_FILE = "/opt/webops/.env"
ENV_LINK = "/opt/webops/control-panel/.env"
EVENT_LOG = "/var/log/webops-standin/events.jsonl"
SERVICES = ("webops-control-panel", "webops-celery-worker")


class Key:
    """A Fernet key whose printed form is its fingerprint."""

    def __init__(self, text):
        self.text = text.strip()
        raw = base64.urlsafe_b64decode(self.text.replace("+", "-").replace("/", "_").encode("ascii"))
        if len(raw) != 32:
            raise ValueError("not a Fernet key (%d bytes)" % len(raw))
        self.fingerprint = "sha256:" + hashlib.sha256(raw).hexdigest()[:16]

    def __eq__(self, other):
        return isinstance(other, Key) and other.fingerprint == self.fingerprint

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self.fingerprint)

    def __repr__(self):
        return "Key(%s)" % self.fingerprint


def state_dir():
    return os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "webops-state")


def state_file(name):
    with open(os.path.join(state_dir(), name)) as handle:
        return handle.read()


def initial_key():
    return Key(state_file("initial.key"))


def vault_file(env="dev"):
    """The environment's vault file: the scenarios link group_vars to the ephemeral directory."""
    return os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], env, "vault.yml")


def parse_env(text):
    """Parse a .env the way python-decouple's RepositoryEnv does (values are not printed)."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name.strip()] = value
    return values


class Secrets(dict):
    """The .env values; its repr names the settings, never their values."""

    def __repr__(self):
        return "<.env with %s>" % ", ".join(sorted(self))


def env_values(host, path=ENV_FILE):
    return Secrets(parse_env(host.file(path).content_string))


def env_key(host, name="ENCRYPTION_KEY"):
    values = env_values(host)
    return Key(values[name]) if name in values else None


def database_url(host):
    return env_values(host)["DATABASE_URL"]


def vault_vars(path=None):
    """Decrypt an ansible-vault vars file with the scenario's vault password client."""
    import subprocess

    import yaml
    from ansible.constants import DEFAULT_VAULT_ID_MATCH
    from ansible.parsing.vault import VaultLib, VaultSecret

    path = path or vault_file()
    password = subprocess.check_output([os.environ["ANSIBLE_VAULT_PASSWORD_FILE"]]).strip()
    vault = VaultLib([(DEFAULT_VAULT_ID_MATCH, VaultSecret(password))])
    with open(path, "rb") as handle:
        data = yaml.safe_load(vault.decrypt(handle.read()))
    return Secrets(data or {})


def unit(host, name):
    """systemctl show properties of a unit as a dict."""
    out = host.check_output("systemctl show %s --property=Id,ActiveState,SubState,Result,"
                            "ActiveEnterTimestampMonotonic,NRestarts,MainPID" % name)
    props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    props["ActiveEnterTimestampMonotonic"] = int(props.get("ActiveEnterTimestampMonotonic") or 0)
    return props


def units_before(hostname):
    """The start times prepare recorded, {unit: ActiveEnterTimestampMonotonic}."""
    blocks, current = {}, {}
    for line in state_file("units-before-%s.txt" % hostname).splitlines():
        if not line.strip():
            continue
        name, value = line.split("=", 1)
        if name == "Id":
            current = blocks.setdefault(value, {})
        current[name] = value
    return dict((name, int(props.get("ActiveEnterTimestampMonotonic") or 0)) for name, props in blocks.items())


def events(host, service=None):
    if not host.file(EVENT_LOG).exists:
        return []
    found = [json.loads(line) for line in host.file(EVENT_LOG).content_string.splitlines() if line.strip()]
    return [event for event in found if service is None or event["service"] == service]


def wait_for(predicate, timeout=30.0, interval=0.5):
    """Wait for a state that lasts once reached (a unit failed with Restart=no, a unit active):
    never for a moment that may pass between two polls. The timeout only bounds a hang, so it is
    generous: a busy machine slows the wait, not the verdict."""
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value or time.time() > deadline:
            return value
        time.sleep(interval)


def values_not_under(url, key):
    """Locations whose value is not a token of ``key`` (plaintext counts; empty does not)."""
    fernets = [key.text]
    bad = []
    for table, column, pk, name, value in webops_db.iter_values(url):
        where, _plain = webops_db.open_value(value, [webops_db.Fernet(k.encode("ascii")) for k in fernets])
        if where not in (0, "empty"):
            bad.append("%s.%s id=%s%s: %s" % (table, column, pk, " [%s]" % name if name else "", where))
    return bad


_NODES = {}


def node(host):
    """The same test host reached with `podman exec` (testinfra's ansible backend runs a whole
    ansible command per call for podman connections, which makes the verifiers minutes slower)."""
    import testinfra

    name = getattr(host.backend, "host", None) or host.backend.get_hostname()
    if name not in _NODES:
        _NODES[name] = testinfra.get_host("podman://%s" % name)
    return _NODES[name]


def vault_keys(path=None):
    """(current Key, next Key or None, [history Keys]) from the environment's vault file."""
    data = vault_vars(path)
    current = Key(data["webops_encryption_key"]) if data.get("webops_encryption_key") else None
    upcoming = Key(data["webops_encryption_key_next"]) if data.get("webops_encryption_key_next") else None
    history = [Key(entry["key"]) for entry in data.get("webops_encryption_key_history") or []]
    return current, upcoming, history


# ----- command line, for the scenarios' converge playbooks (controller side) -----------------

def _podman_text(container, *argv):
    import subprocess

    return subprocess.check_output(("podman", "exec", container) + argv).decode("utf-8")


def rotation_state(container, database_container=None):
    """Fingerprints and counts that describe where a rotation stands (no key, no plaintext)."""
    env = Secrets(parse_env(_podman_text(container, "cat", ENV_FILE)))
    db_env = env if database_container in (None, container) else Secrets(parse_env(_podman_text(database_container, "cat", ENV_FILE)))
    keys = [initial_key()]
    if os.path.exists(vault_file()):
        current, upcoming, history = vault_keys()
        for key in [current, upcoming] + history:
            if key is not None and key not in keys:
                keys.append(key)
    counts = {}
    for column, buckets in webops_db.census(db_env["DATABASE_URL"], keys).items():
        for where, count in buckets.items():
            name = keys[where].fingerprint if isinstance(where, int) else where
            counts[name] = counts.get(name, 0) + count
    units = {}
    for service in SERVICES:
        out = _podman_text(container, "systemctl", "show", service, "--property=ActiveState,LoadState")
        props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        if props.get("LoadState") == "loaded":
            units[service] = props["ActiveState"]
    return {
        "env": dict((name, Key(env[name]).fingerprint) for name in ("ENCRYPTION_KEY", "OLD_ENCRYPTION_KEY") if env.get(name)),
        "vault": dict((name, key.fingerprint if key else None) for name, key in
                      zip(("current", "next"), vault_keys()[:2])) if os.path.exists(vault_file()) else {},
        "database": counts,
        "units": units,
    }


# The table of the last column the rotation writes (plugins/module_utils/columns.py, WEBOPS: the
# engine writes the columns in that order, each in primary-key order, one transaction a batch).
LAST_WRITTEN_TABLE = "automation_data_source_credentials"


def _connect(url):
    try:
        import psycopg
        return psycopg.connect(url)
    except ImportError:  # pragma: no cover - the controller has one of the two
        import psycopg2
        return psycopg2.connect(url)


def _waiting_on(cur, blocker_pid):
    """Backends waiting for a lock that ``blocker_pid`` holds: [(pid, query)]."""
    cur.execute("SELECT pid, left(query, 80) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND %s = ANY(pg_blocking_pids(pid))", (blocker_pid,))
    return cur.fetchall()


def kill_mid_rotation(container, controller_pid, timeout=300.0):
    """Stop the rotation at a point it reaches, then SIGKILL it there, as a crash would.

    A transaction of this probe holds the row lock (SELECT ... FOR UPDATE) on the last row of the
    last table the rotation writes. Reads do not wait for row locks, so the rotation scans, then
    commits every batch before that row and blocks in the UPDATE of the batch holding it (no
    lock_timeout on those updates). That wait lasts until this probe lets go: it is a state, not
    a moment, so seeing it in pg_stat_activity is no race. Then the rotating module on the host
    and the ansible-playbook driving it get SIGKILLed, the blocked transaction is cut (the
    server would drop a dead client's connection; this does it now, before the lock goes), and
    only then is the row released: the batch never commits."""
    import signal
    import subprocess

    url = database_url_of(container)
    holder = _connect(url)
    try:
        cur = holder.cursor()
        cur.execute("SELECT pg_backend_pid()")
        holder_pid = cur.fetchone()[0]
        cur.execute("SELECT id FROM %s ORDER BY id DESC LIMIT 1 FOR UPDATE" % LAST_WRITTEN_TABLE)
        locked_id = cur.fetchone()[0]
        watcher = _connect(url)
        try:
            wcur = watcher.cursor()
            deadline = time.time() + timeout
            blocked = []
            while not blocked:
                watcher.rollback()
                blocked = _waiting_on(wcur, holder_pid)
                if blocked:
                    break
                if time.time() > deadline:
                    raise SystemExit("the rotation never reached %s id=%s within %ss; nothing was killed"
                                     % (LAST_WRITTEN_TABLE, locked_id, timeout))
                time.sleep(0.2)
            # Where the rows stand while the rotation waits (committed batches only).
            current, upcoming, _history = vault_keys()
            totals = {}
            for buckets in webops_db.census(url, [current, upcoming]).values():
                for where, count in buckets.items():
                    totals[where] = totals.get(where, 0) + count
            # The pipelined module (and its forked workers) run as a bare `/usr/bin/python3`.
            pkill = subprocess.call(("podman", "exec", container, "pkill", "-9", "-f", "^/usr/bin/python3$"))
            try:
                os.killpg(controller_pid, signal.SIGKILL)
            except OSError:
                os.kill(controller_pid, signal.SIGKILL)
            blocked_pids = [pid for pid, _query in blocked]
            watcher.rollback()
            for pid in blocked_pids:
                wcur.execute("SELECT pg_terminate_backend(%s)", (pid,))
            # pg_terminate_backend only signals: wait until the backends are gone (they end).
            while True:
                watcher.rollback()
                wcur.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (blocked_pids,))
                if wcur.fetchone()[0] == 0:
                    break
                if time.time() > deadline:
                    raise SystemExit("the killed rotation's blocked transaction did not end within %ss" % timeout)
                time.sleep(0.2)
            watcher.rollback()
        finally:
            watcher.close()
    finally:
        holder.rollback()
        holder.close()
    # pkill exits 0 only when it matched (and killed) a process.
    return {"killed_with": {"old": totals.get(0, 0), "new": totals.get(1, 0), "module_killed": pkill == 0,
                            "blocked_on": "%s id=%s" % (LAST_WRITTEN_TABLE, locked_id)}}


def database_url_of(container):
    return parse_env(_podman_text(container, "cat", ENV_FILE))["DATABASE_URL"]


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(description="Molecule scenario probes (fingerprints and counts only)")
    sub = parser.add_subparsers(dest="command", required=True)
    snap = sub.add_parser("snapshot")
    snap.add_argument("--container", required=True)
    snap.add_argument("--database-container")
    kill = sub.add_parser("kill-mid-rotation")
    kill.add_argument("--container", required=True)
    kill.add_argument("--controller-pid", type=int, required=True)
    for cmd in (snap, kill):
        cmd.add_argument("--out", required=True, help="JSON file (in the scenario's state directory)")
    args = parser.parse_args(argv)
    if args.command == "snapshot":
        result = rotation_state(args.container, args.database_container)
    else:
        result = kill_mid_rotation(args.container, args.controller_pid)
        result.update(rotation_state(args.container))
    with open(args.out, "w") as handle:
        json.dump(result, handle, indent=1, sort_keys=True)
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
