# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for a WebOps service on the Molecule test hosts (an independent check, not the collection).

It does what the control panel and the Celery worker do with secrets, and nothing else:
read ENCRYPTION_KEY and DATABASE_URL through python-decouple (a real environment variable
beats the .env in the working directory), build Fernet(ENCRYPTION_KEY) -- no MultiFernet,
no OLD_ENCRYPTION_KEY, like the real app -- and decrypt every token of the WebOps schema. It
also reads SECRET_KEY, derives the configuration key from it as the app does (PBKDF2-HMAC-SHA256,
salt webops-config, 100,000 rounds) and opens every sensitive core_configuration value (a
token base64-encoded a second time), so a SECRET_KEY change that leaves them behind fails too.
If any token does not open (or a secret is still plaintext), it exits non-zero, so the unit
fails visibly. Otherwise it stays running and re-reads the database every few seconds; a
token it can no longer open (rows re-encrypted under another key while it ran) makes it
exit non-zero too, as the real app starts failing requests.

Every start and failure is appended as one JSON line to the event log (fingerprints and
counts only; never a key or a plaintext) for the Molecule verifiers.
"""

import argparse
import base64
import binascii
import hashlib
import json
import os
import signal
import sys
import time

from cryptography.fernet import Fernet, InvalidToken
from decouple import Config, RepositoryEnv, UndefinedValueError

# Same columns as the WebOps schema. core_configuration is keyed from SECRET_KEY, not
# ENCRYPTION_KEY: it is opened with the key derived from SECRET_KEY (config_fernet).
TEXT_COLUMNS = (
    ("core_two_factor_auth", "secret"),
    ("core_webhook", "secret"),
    ("core_github_connection", "access_token"),
    ("core_github_connection", "refresh_token"),
    ("core_huggingface_connection", "access_token"),
    ("core_google_connection", "access_token"),
    ("core_google_connection", "refresh_token"),
    ("core_google_connection", "id_token"),
    ("databases", "password"),
    ("databases", "api_key"),
)
JSON_COLUMNS = (("automation_data_source_credentials", "credentials"),)
SENSITIVE_WORDS = ("api_key", "token", "private_key", "password", "secret")


class Refused(Exception):
    """The service cannot run with this configuration or this data."""


def fingerprint(key_text):
    raw = base64.urlsafe_b64decode(key_text.encode("ascii").replace(b"+", b"-").replace(b"/", b"_"))
    return "sha256:" + hashlib.sha256(raw).hexdigest()[:16]


def config_fernet(secret_key):
    raw = hashlib.pbkdf2_hmac("sha256", secret_key.encode("utf-8"), b"webops-config", 100000, 32)
    return Fernet(base64.urlsafe_b64encode(raw))


def load_settings(env_path):
    config = Config(RepositoryEnv(env_path)) if os.path.exists(env_path) else None

    def setting(name):
        if name in os.environ:
            return os.environ[name]
        if config is None:
            raise Refused("%s not configured (no %s)" % (name, env_path))
        try:
            return config(name)
        except UndefinedValueError:
            raise Refused("%s not configured" % name)

    key = setting("ENCRYPTION_KEY")
    if not key:
        raise Refused("ENCRYPTION_KEY not configured")
    try:
        fernet = Fernet(key.encode("ascii"))
    except (ValueError, UnicodeError, binascii.Error):
        raise Refused("Invalid ENCRYPTION_KEY: must be 32 url-safe base64-encoded bytes")
    # A missing SECRET_KEY is refused once the ENCRYPTION_KEY tokens are checked (check_database).
    try:
        secret_key = setting("SECRET_KEY")
    except Refused:
        secret_key = ""
    secret_fingerprint = "sha256:" + hashlib.sha256(secret_key.encode("utf-8")).hexdigest()[:16] if secret_key else None
    derived = config_fernet(secret_key) if secret_key else None
    return (fernet, derived), (fingerprint(key), secret_fingerprint), setting("DATABASE_URL")


def connect(url):
    if url.startswith("sqlite:///"):
        import sqlite3
        return sqlite3.connect(url[len("sqlite:///"):])
    if url.startswith(("postgresql://", "postgres://")):
        import psycopg2
        return psycopg2.connect(url, connect_timeout=10)
    raise Refused("unsupported DATABASE_URL scheme")


def stored_tokens(conn):
    """Yield (location, stored value) for every value the app decrypts with ENCRYPTION_KEY."""
    cur = conn.cursor()
    for table, column in TEXT_COLUMNS:
        cur.execute("SELECT id, %s FROM %s ORDER BY id" % (column, table))
        for pk, value in cur.fetchall():
            yield "%s.%s id=%s" % (table, column, pk), value
    for table, column in JSON_COLUMNS:
        cur.execute("SELECT id, %s FROM %s ORDER BY id" % (column, table))
        for pk, value in cur.fetchall():
            document = value if isinstance(value, dict) else json.loads(value)
            for name in sorted(document):
                item = document[name]
                if item and any(word in name.lower() for word in SENSITIVE_WORDS):
                    yield "%s.%s id=%s [%s]" % (table, column, pk, name), item
    conn.rollback()


def stored_config(conn):
    """Yield (location, stored value) for every sensitive configuration value (SECRET_KEY-keyed)."""
    cur = conn.cursor()
    cur.execute("SELECT id, value FROM core_configuration WHERE is_sensitive ORDER BY id")
    for pk, value in cur.fetchall():
        yield "core_configuration.value id=%s" % pk, value
    conn.rollback()


def check_database(fernets, url):
    """Decrypt every secret; return counts, or raise Refused naming (at most 5) bad locations."""
    fernet, config = fernets
    counts = {"decrypted": 0, "empty": 0, "failed": 0, "config_decrypted": 0}
    bad = []
    conn = connect(url)
    try:
        for location, value in stored_tokens(conn):
            if value is None or value == "":
                counts["empty"] += 1
                continue
            try:
                fernet.decrypt(str(value).encode("utf-8"))
                counts["decrypted"] += 1
            except (InvalidToken, UnicodeError):
                counts["failed"] += 1
                bad.append(location)
        if bad:
            raise Refused("%d secret(s) do not decrypt with ENCRYPTION_KEY (%s%s)"
                          % (len(bad), ", ".join(bad[:5]), ", ..." if len(bad) > 5 else ""))
        for location, value in stored_config(conn):
            if config is None:
                raise Refused("SECRET_KEY not configured")
            if value is None or value == "":
                counts["empty"] += 1
                continue
            try:
                config.decrypt(base64.b64decode(str(value).encode("ascii"), validate=True))
                counts["config_decrypted"] += 1
            except (InvalidToken, UnicodeError, binascii.Error, ValueError):
                counts["failed"] += 1
                bad.append(location)
        if bad:
            raise Refused("%d configuration value(s) do not decrypt with the key derived from SECRET_KEY (%s%s)"
                          % (len(bad), ", ".join(bad[:5]), ", ..." if len(bad) > 5 else ""))
    finally:
        conn.close()
    return counts


class EventLog:
    def __init__(self, path, service):
        self.path = path
        self.service = service

    def write(self, event, **fields):
        record = {"service": self.service, "event": event, "pid": os.getpid(), "time": time.time(),
                  "monotonic_us": int(time.monotonic() * 1000000)}
        record.update(fields)
        line = json.dumps(record, sort_keys=True)
        print(line, flush=True)
        if self.path:
            with open(self.path, "a") as handle:
                handle.write(line + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", required=True, help="name used in the event log")
    parser.add_argument("--env-file", default=os.path.join(os.getcwd(), ".env"),
                        help="decouple's .env (default: .env in the working directory)")
    parser.add_argument("--event-log", default="/var/log/webops-standin/events.jsonl")
    parser.add_argument("--recheck-seconds", type=float, default=1.0)
    args = parser.parse_args(argv)
    events = EventLog(args.event_log, args.service)

    def stop(_signum, _frame):
        events.write("stopped")
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)

    try:
        fernet, (key_fingerprint, secret_key_fingerprint), url = load_settings(args.env_file)
        counts = check_database(fernet, url)
    except Refused as exc:
        events.write("refused", reason=str(exc))
        return 1
    except Exception as exc:  # database down, schema missing, ...: the app would not start either
        events.write("refused", reason="%s: %s" % (type(exc).__name__, str(exc).splitlines()[0] if str(exc) else ""))
        return 1
    events.write("started", fingerprint=key_fingerprint, secret_key_fingerprint=secret_key_fingerprint, counts=counts)

    while True:
        time.sleep(args.recheck_seconds)
        try:
            check_database(fernet, url)
        except Refused as exc:
            events.write("failed", fingerprint=key_fingerprint, reason=str(exc))
            return 3
        except Exception as exc:
            # A database restart is not a key problem; the next round tells.
            events.write("recheck-skipped", reason=type(exc).__name__)


if __name__ == "__main__":
    sys.exit(main())
