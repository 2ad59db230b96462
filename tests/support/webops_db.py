# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build, seed and check a WebOps-shaped database for the tests, the demo and Molecule.

This is the reference implementation the collection is checked against, so it does not import
the collection: it has its own list of token columns (from the WebOps migrations) and decrypts
with ``cryptography`` directly. It runs as a script too (the demo, the Molecule hosts), so it
imports nothing from the tests either. Keys reach the command line only through environment
variables, never argv.

    python webops_db.py create --url sqlite:////tmp/x.sqlite3 [--narrow]
    WEBOPS_KEY=... python webops_db.py seed --url URL --key-env WEBOPS_KEY [--users 20] [--secret-key-env NAME]
    WEBOPS_KEY=... python webops_db.py digest --url URL --keys-env WEBOPS_KEY[,OTHER]
    WEBOPS_KEY=... python webops_db.py check --url URL --key-env WEBOPS_KEY
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import base64
import hashlib
import json
import os
import random
import sqlite3
import string
import sys

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

# (table, column, kind): kind 'text' holds a token as text, 'json' holds an object whose
# sensitive top-level keys hold tokens. core_configuration is keyed from SECRET_KEY.
TOKEN_COLUMNS = (
    ("core_two_factor_auth", "secret", "text"),
    ("core_webhook", "secret", "text"),
    ("core_github_connection", "access_token", "text"),
    ("core_github_connection", "refresh_token", "text"),
    ("core_huggingface_connection", "access_token", "text"),
    ("core_google_connection", "access_token", "text"),
    ("core_google_connection", "refresh_token", "text"),
    ("core_google_connection", "id_token", "text"),
    ("databases", "password", "text"),
    ("databases", "api_key", "text"),
    ("automation_data_source_credentials", "credentials", "json"),
)
SENSITIVE_WORDS = ("api_key", "token", "private_key", "password", "secret")


def sensitive_json_key(name, value):
    lowered = name.lower()
    return bool(value) and any(word in lowered for word in SENSITIVE_WORDS)


def _schema(backend, narrow):
    pg = backend == "postgresql"
    serial = "SERIAL PRIMARY KEY" if pg else "INTEGER PRIMARY KEY AUTOINCREMENT"
    ts = "TIMESTAMP WITH TIME ZONE" if pg else "DATETIME"
    jsontype = "JSONB" if pg else "TEXT"
    boolean = "BOOLEAN"
    totp = "varchar(32)" if narrow else "varchar(255)"
    hook = "varchar(64)" if narrow else "varchar(255)"
    return [
        "CREATE TABLE auth_user (id %s, username varchar(150) NOT NULL UNIQUE)" % serial,
        "CREATE TABLE core_two_factor_auth (id %s, user_id integer NOT NULL UNIQUE REFERENCES auth_user(id), "
        "secret %s NOT NULL UNIQUE, is_enabled %s NOT NULL, backup_codes text NOT NULL, created_at %s, last_used %s NULL)"
        % (serial, totp, boolean, ts, ts),
        "CREATE TABLE core_webhook (id %s, user_id integer NOT NULL REFERENCES auth_user(id), name varchar(200) NOT NULL, "
        "secret %s NOT NULL UNIQUE, is_active %s NOT NULL, is_deleted %s NOT NULL, deleted_at %s NULL)"
        % (serial, hook, boolean, boolean, ts),
        "CREATE INDEX core_webhook_secret_idx ON core_webhook (secret)",
        "CREATE TABLE core_github_connection (id %s, user_id integer NOT NULL REFERENCES auth_user(id), "
        "github_user_id integer NOT NULL, username varchar(255) NOT NULL, access_token varchar(255) NOT NULL, "
        "refresh_token varchar(255) NULL, is_deleted %s NOT NULL)" % (serial, boolean),
        "CREATE TABLE core_huggingface_connection (id %s, user_id integer NOT NULL REFERENCES auth_user(id), "
        "username varchar(255) NOT NULL, access_token varchar(500) NOT NULL, is_deleted %s NOT NULL)" % (serial, boolean),
        "CREATE TABLE core_google_connection (id %s, user_id integer NOT NULL REFERENCES auth_user(id), "
        "email varchar(254) NOT NULL, access_token varchar(500) NOT NULL, refresh_token varchar(500) NOT NULL, "
        "id_token varchar(1024) NOT NULL)" % serial,
        "CREATE TABLE databases (id %s, name varchar(100) NOT NULL, db_type varchar(20) NOT NULL, host varchar(255) NOT NULL, "
        "username varchar(100) NOT NULL, password varchar(500) NOT NULL, api_key varchar(500) NULL, is_deleted %s NOT NULL)"
        % (serial, boolean),
        "CREATE TABLE automation_data_source_credentials (id %s, name varchar(100) NOT NULL, credentials %s NOT NULL)"
        % (serial, jsontype),
        "CREATE TABLE core_configuration (id %s, key varchar(100) NOT NULL UNIQUE, value text NOT NULL, is_sensitive %s NOT NULL)"
        % (serial, boolean),
    ]


class Database:
    """Just enough of both backends for the tests: execute, executemany, query, commit."""

    def __init__(self, url):
        self.url = url
        if url.startswith("sqlite:///"):
            self.backend = "sqlite"
            self.conn = sqlite3.connect(url[len("sqlite:///"):])
            self.placeholder = "?"
        elif url.startswith(("postgresql://", "postgres://")):
            self.backend = "postgresql"
            try:
                import psycopg
                self.conn = psycopg.connect(url)
            except ImportError:
                import psycopg2
                self.conn = psycopg2.connect(url)
            self.placeholder = "%s"
        else:
            raise SystemExit("unsupported DATABASE_URL scheme (use sqlite:////abs/path or postgresql://...)")

    def sql(self, text):
        return text.replace("?", self.placeholder)

    def execute(self, text, params=()):
        cur = self.conn.cursor()
        cur.execute(self.sql(text), params)
        return cur

    def executemany(self, text, rows):
        cur = self.conn.cursor()
        cur.executemany(self.sql(text), rows)

    def query(self, text, params=()):
        return self.execute(text, params).fetchall()

    def commit(self):
        self.conn.commit()

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def create_schema(url, narrow=False):
    with Database(url) as db:
        for statement in _schema(db.backend, narrow):
            db.execute(statement)
        db.commit()


def config_fernet(secret_key):
    """The app's SECRET_KEY-derived key for core_configuration (as WebOps derives it)."""
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=b"webops-config", iterations=100000)
    return Fernet(base64.urlsafe_b64encode(kdf.derive(secret_key.encode("utf-8"))))


def config_value(secret_key, plaintext):
    """A sensitive core_configuration value as the app stores it: the token base64-encoded again."""
    return base64.b64encode(config_fernet(secret_key).encrypt(plaintext.encode("utf-8"))).decode("ascii")


def config_rows(url):
    """[(id, key, value, is_sensitive)] of core_configuration, in id order."""
    with Database(url) as db:
        return [(pk, name, value, bool(sensitive))
                for pk, name, value, sensitive in db.query("SELECT id, key, value, is_sensitive FROM core_configuration ORDER BY id")]


def open_config(url, secret_keys):
    """{key: (index of the SECRET_KEY that opens it, plaintext)} for every sensitive value;
    index is 'unknown' when none does."""
    fernets = [config_fernet(k) for k in secret_keys]
    opened = {}
    for _pk, name, value, sensitive in config_rows(url):
        if not sensitive:
            continue
        opened[name] = ("unknown", None)
        for index, fernet in enumerate(fernets):
            try:
                opened[name] = (index, fernet.decrypt(base64.b64decode(value)).decode("utf-8"))
                break
            except (InvalidToken, ValueError):
                continue
    return opened


def reseed_config(url, secret_key, extra=()):
    """Put every sensitive configuration value under ``secret_key`` (same plaintexts) and add
    ``extra`` rows [(id, key, value, is_sensitive)]."""
    plain = {"smtp_password": "smtp-pass", "slack_webhook": "https://hooks.example/x"}
    with Database(url) as db:
        for name, text in plain.items():
            db.execute("UPDATE core_configuration SET value = ? WHERE key = ?", (config_value(secret_key, text), name))
        for row in extra:
            db.execute("INSERT INTO core_configuration (id, key, value, is_sensitive) VALUES (?, ?, ?, ?)", row)
        db.commit()


def _rand(rng, alphabet, length):
    return "".join(rng.choice(alphabet) for _position in range(length))


def seed(url, key, users=20, legacy_plaintext=2, unknown=0, unknown_key=None, secret_key="django-insecure-test", rng_seed=7):
    """Seed every token column. Returns a dict of counts per table.

    ``legacy_plaintext`` 2FA/webhook rows hold plaintext as pre-encryption releases left them;
    ``unknown`` rows (webhook secrets and database API keys) are under ``unknown_key``.
    """
    rng = random.Random(rng_seed)
    fernet = _fernet(key)
    stranger = Fernet(unknown_key or Fernet.generate_key())

    def enc(value):
        return fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def hex_secret():
        return _rand(rng, "0123456789abcdef", 64)

    with Database(url) as db:
        true, false = True, False
        db.executemany("INSERT INTO auth_user (id, username) VALUES (?, ?)", [(i, "user%03d" % i) for i in range(1, users + 1)])
        tfa, hooks, github, hf, google, dbs, creds = [], [], [], [], [], [], []
        for i in range(1, users + 1):
            totp = _rand(rng, string.ascii_uppercase + "234567", 32)
            tfa.append((i, i, totp if i <= legacy_plaintext else enc(totp), i % 5 != 0, "[]"))
            secret = hex_secret()
            if i <= legacy_plaintext:
                stored = secret
            elif i > users - unknown:
                stored = stranger.encrypt(secret.encode()).decode()
            else:
                stored = enc(secret)
            hooks.append((i, i, "Deploy hook %d ✓" % i, stored, i % 3 != 0, i % 4 == 0, None))
            github.append((i, i, 1000 + i, "gh%d" % i, enc("gho_" + _rand(rng, string.ascii_letters, 36)),
                           "" if i % 2 else None, i % 6 == 0))
            hf.append((i, i, "hf%d" % i, enc("hf_" + _rand(rng, string.ascii_letters, 34)), i % 7 == 0))
            google.append((i, i, "u%d@example.org" % i, enc("ya29." + _rand(rng, string.ascii_letters, 60)),
                           enc("1//" + _rand(rng, string.ascii_letters, 40)) if i % 2 else "",
                           enc("eyJ" + _rand(rng, string.ascii_letters + ".", 400)) if i % 3 else ""))
            password = "pässwörd-日本-%d-%s" % (i, _rand(rng, string.punctuation, 8))
            api_key = "" if i % 4 == 1 else ("sk-" + _rand(rng, string.ascii_letters, 40))
            if api_key and i > users - unknown:
                api_key = stranger.encrypt(api_key.encode()).decode()
            elif api_key:
                api_key = enc(api_key)
            dbs.append((i, "db%d" % i, "postgresql", "db%d.internal" % i, "app%d" % i, enc(password), api_key, i % 5 == 0))
            credentials = {
                "api_key": enc("key-%d" % i),
                "username": "svc%d" % i,
                "port": 5432 + i,
                "enabled": i % 2 == 0,
                "options": {"region": "eu-west-%d" % (i % 3), "token_hint": "not a token: nested"},
                "refresh_token": "" if i % 2 else enc("rt-%d-ü" % i),
                "client_secret": enc("cs-%d" % i) if i % 3 else None,
            }
            creds.append((i, "source %d" % i, json.dumps(credentials, ensure_ascii=False)))
        db.executemany("INSERT INTO core_two_factor_auth (id, user_id, secret, is_enabled, backup_codes) VALUES (?, ?, ?, ?, ?)", tfa)
        db.executemany("INSERT INTO core_webhook (id, user_id, name, secret, is_active, is_deleted, deleted_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)", hooks)
        db.executemany("INSERT INTO core_github_connection (id, user_id, github_user_id, username, access_token, refresh_token, "
                       "is_deleted) VALUES (?, ?, ?, ?, ?, ?, ?)", github)
        db.executemany("INSERT INTO core_huggingface_connection (id, user_id, username, access_token, is_deleted) "
                       "VALUES (?, ?, ?, ?, ?)", hf)
        db.executemany("INSERT INTO core_google_connection (id, user_id, email, access_token, refresh_token, id_token) "
                       "VALUES (?, ?, ?, ?, ?, ?)", google)
        db.executemany("INSERT INTO databases (id, name, db_type, host, username, password, api_key, is_deleted) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", dbs)
        db.executemany("INSERT INTO automation_data_source_credentials (id, name, credentials) VALUES (?, ?, ?)", creds)
        cfg = config_fernet(secret_key)
        config_rows = [
            (1, "smtp_password", base64.b64encode(cfg.encrypt(b"smtp-pass")).decode(), true),
            (2, "site_name", "WebOps", false),
            (3, "slack_webhook", base64.b64encode(cfg.encrypt(b"https://hooks.example/x")).decode(), true),
        ]
        db.executemany("INSERT INTO core_configuration (id, key, value, is_sensitive) VALUES (?, ?, ?, ?)", config_rows)
        if db.backend == "postgresql":
            for table in ("auth_user", "core_two_factor_auth", "core_webhook", "core_github_connection",
                          "core_huggingface_connection", "core_google_connection", "databases",
                          "automation_data_source_credentials", "core_configuration"):
                db.execute("SELECT setval(pg_get_serial_sequence('%s', 'id'), (SELECT max(id) FROM %s))" % (table, table))
        db.commit()
    return {"users": users, "legacy_plaintext": legacy_plaintext, "unknown": unknown}


def _load_json(value):
    return value if isinstance(value, dict) else json.loads(value)


def iter_values(url):
    """Yield (table, column, pk, json_key, stored_value) for every token-bearing value."""
    with Database(url) as db:
        for table, column, kind in TOKEN_COLUMNS:
            for pk, value in db.query("SELECT id, %s FROM %s ORDER BY id" % (column, table)):
                if kind == "json":
                    document = _load_json(value)
                    if not isinstance(document, dict):
                        continue  # only a JSON object has sensitive top-level keys
                    for name in sorted(document):
                        if sensitive_json_key(name, document[name]) and isinstance(document[name], str):
                            yield table, column, pk, name, document[name]
                else:
                    yield table, column, pk, None, value


def open_value(value, fernets):
    """Return (index of the key that opens it | 'plain' | 'empty' | 'unknown', logical plaintext)."""
    if value is None or value == "":
        return "empty", value or ""
    if not (len(value) >= 40 and value.startswith("gAAAAA")):
        return "plain", value
    for index, fernet in enumerate(fernets):
        try:
            return index, fernet.decrypt(value.encode("ascii")).decode("utf-8")
        except InvalidToken:
            continue
    return "unknown", None


def _fernet(key):
    """A Fernet for ``key``: text, bytes, or an object holding the text in ``text``
    (molecule_checks.Key, whose repr is a fingerprint)."""
    key = getattr(key, "text", key)
    return Fernet(key.encode("ascii") if isinstance(key, str) else key)


def census(url, keys):
    """Count values per (table, column) by which key opens them: {"table.column": {0: n, 'plain': n, ...}}."""
    fernets = [_fernet(k) for k in keys]
    result = {}
    for table, column, _pk, _name, value in iter_values(url):
        where, _plain = open_value(value, fernets)
        bucket = result.setdefault("%s.%s" % (table, column), {})
        bucket[where] = bucket.get(where, 0) + 1
    return result


def digest(url, keys, include_unknown=True):
    """SHA-256 over every logical value (tokens decrypted with any of ``keys``).

    Equal digests before and after a rotation mean no secret was lost or altered.
    A value no key opens enters the digest as its raw text when ``include_unknown``.
    """
    fernets = [_fernet(k) for k in keys]
    sha = hashlib.sha256()
    for table, column, pk, name, value in iter_values(url):
        where, plain = open_value(value, fernets)
        if where == "unknown":
            if not include_unknown:
                raise AssertionError("%s.%s id=%s%s opens with none of the keys" % (table, column, pk, " [%s]" % name if name else ""))
            plain = "UNKNOWN:" + value
        sha.update(json.dumps([table, column, pk, name, plain], ensure_ascii=False).encode("utf-8"))
    return sha.hexdigest()


def raw_digest(url):
    """SHA-256 over the stored values as they are (detects any write at all)."""
    sha = hashlib.sha256()
    for row in iter_values(url):
        sha.update(json.dumps(list(row), ensure_ascii=False).encode("utf-8"))
    return sha.hexdigest()


def not_under(url, key):
    """Locations of encrypted values that do not open with ``key`` (plaintext and empty are fine)."""
    fernet = _fernet(key)
    missing = []
    for table, column, pk, name, value in iter_values(url):
        where, _plain = open_value(value, [fernet])
        if where not in (0, "plain", "empty"):
            missing.append((table, column, pk, name))
    return missing


def _keys_from_env(names):
    keys = []
    for name in names.split(","):
        if name not in os.environ:
            raise SystemExit("environment variable %s is not set" % name)
        keys.append(os.environ[name])
    return keys


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="create the WebOps tables")
    create.add_argument("--narrow", action="store_true", help="keep the migrations' varchar(32)/varchar(64) token columns")
    seed_cmd = sub.add_parser("seed", help="insert WebOps-shaped rows under a key")
    seed_cmd.add_argument("--key-env", required=True)
    seed_cmd.add_argument("--users", type=int, default=20)
    seed_cmd.add_argument("--legacy-plaintext", type=int, default=2)
    seed_cmd.add_argument("--unknown", type=int, default=0)
    seed_cmd.add_argument("--secret-key-env", help="the SECRET_KEY the sensitive configuration values are under")
    digest_cmd = sub.add_parser("digest", help="print the digest of all plaintexts")
    digest_cmd.add_argument("--keys-env", required=True)
    check = sub.add_parser("check", help="exit 1 unless every token opens with the key")
    check.add_argument("--key-env", required=True)
    for cmd in (create, seed_cmd, digest_cmd, check):
        cmd.add_argument("--url", required=True)
    args = parser.parse_args(argv)
    if args.command == "create":
        create_schema(args.url, narrow=args.narrow)
    elif args.command == "seed":
        extra = {"secret_key": _keys_from_env(args.secret_key_env)[0]} if args.secret_key_env else {}
        print(json.dumps(seed(args.url, _keys_from_env(args.key_env)[0], users=args.users,
                              legacy_plaintext=args.legacy_plaintext, unknown=args.unknown, **extra)))
    elif args.command == "digest":
        print(digest(args.url, _keys_from_env(args.keys_env)))
    elif args.command == "check":
        missing = not_under(args.url, _keys_from_env(args.key_env)[0])
        for location in missing[:20]:
            print("not under the key: %s.%s id=%s %s" % location)
        return 1 if missing else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
