# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A DATABASE_URL may carry its secrets in the query string, as libpq and dj-database-url read it
(``postgresql://webops@host/db?password=s3cr@tPW``, ``sslpassword=...``): the URL works, and no
result, message or error shows any of them."""

import os

import pytest

from ansible_collections.webops.encryption.plugins.module_utils import _db as db
from ansible_collections.webops.encryption.plugins.module_utils import fernet

from hardening.harness.modules import run_module
from support import webops_db
from support.leaks import Needles

ROLE = "webops_query"
PASSWORD = "s3cr@tPW-query-secret"      # an unencoded '@' in a query value is valid there
SSL_PASSWORD = "ssl@pass-query-secret"  # libpq reads it only for an encrypted client key: harmless here


def _role(pg_server, dbname):
    with pg_server.admin() as conn:
        conn.execute("DROP ROLE IF EXISTS %s" % ROLE)
        conn.execute("CREATE ROLE %s LOGIN PASSWORD '%s'" % (ROLE, PASSWORD))
    with pg_server.admin(dbname) as conn:
        conn.execute("GRANT ALL ON SCHEMA public TO %s" % ROLE)
        conn.execute("GRANT ALL ON ALL TABLES IN SCHEMA public TO %s" % ROLE)


def test_a_password_in_the_query_string_connects_and_is_never_shown(pg_server, pg_url, tmp_path, tally):
    key = fernet.generate_key()
    webops_db.create_schema(pg_url)
    webops_db.seed(pg_url, key, users=3)
    dbname = pg_url.rsplit("/", 1)[1]
    _role(pg_server, dbname)
    base = "postgresql://%s@127.0.0.1:%d/%s" % (ROLE, pg_server.port, dbname)
    url = base + "?password=%s&sslpassword=%s&application_name=webops" % (PASSWORD, SSL_PASSWORD)
    expected = base + "?password=***&sslpassword=***&application_name=webops"
    env_file = tmp_path / ".env"
    env_file.write_text("DATABASE_URL=%s\nENCRYPTION_KEY=%s\n" % (url, key))
    os.chmod(str(env_file), 0o600)
    needles = Needles().add_key("key", key).add_plaintext("query password", PASSWORD) \
        .add_plaintext("query sslpassword", SSL_PASSWORD)
    for piece in ("s3cr@tPW", "ssl@pass"):
        needles.add_plaintext("password piece", piece)
    bad = []
    for label, args, fails in (
            ("database_url", {"database_url": url, "keys": {"current": key}}, False),
            ("env_file", {"env_file": str(env_file)}, False),
            ("env_file, failing", {"env_file": str(env_file), "profile": "none",
                                   "columns": [{"table": "missing_table", "column": "secret"}]}, True),
            ("wrong password", {"database_url": url.replace(PASSWORD, "wr0ng@" + PASSWORD), "keys": {"current": key}},
             True)):
        result, proc = run_module("fernet_audit", args, tmp_path)
        result = result or {}
        leaks = needles.scan(proc.stdout + proc.stderr, label)
        shown = result.get("database")
        ok = not leaks and "Traceback" not in proc.stdout + proc.stderr and bool(result.get("failed")) == fails
        ok = ok and shown == expected
        tally.input("DATABASE_URL password in the query string (%s)" % label, ok, repr((shown, result.get("msg"))))
        tally.leak_check("database shown in module results", leaks, "query-string password, %s" % label)
        if not ok:
            bad.append((label, shown, leaks, result.get("msg")))
    assert bad == []


@pytest.mark.parametrize("url, shown", [
    ("postgresql://webops@localhost/webops_db?password=s3cr@tPW", "postgresql://webops@localhost/webops_db?password=***"),
    ("postgresql://webops:pw@localhost/db?sslpassword=k%40y&sslmode=require",
     "postgresql://webops:***@localhost/db?sslpassword=***&sslmode=require"),
    ("postgresql://localhost/db?oauth_client_secret=abc@def", "postgresql://localhost/db?oauth_client_secret=***"),
    # Read differently by URL parsers and libpq: refused, and every reading's password is masked.
    ("postgresql://localhost?password=ab@cdefgh", "postgresql://localhost?password=***"),
    ("postgresql://u:123/4?a=5678@localhost/db", "postgresql://u:***@localhost/db"),
])
def test_every_secret_of_the_url_is_masked_wherever_it_sits(url, shown, tally):
    described = db.describe_url(url)
    passwords = db.url_passwords(url)
    ok = described == shown and passwords and not any(password in described for password in passwords)
    tally.input("DATABASE_URL secret outside the userinfo", ok, described)
    assert described == shown
    assert passwords and not any(password in described for password in passwords)


@pytest.mark.parametrize("url", ["postgresql://localhost?password=ab@cdefgh", "postgresql://u:123/4?a=5678@localhost/db",
                                 "postgresql://webops:pw@localhost/db#frag@ment"])
def test_urls_parsers_read_differently_are_refused_without_their_secret(url):
    try:
        db.connect(url, connect_timeout=1)
    except db.DatabaseError as exc:
        message = str(exc)
    else:  # pragma: no cover - a refusal is expected
        message = "accepted"
    if "percent-encode" not in message:
        # Refused by the server instead, which is just as safe when nothing leaks.
        assert "cannot connect" in message, message
    for password in db.url_passwords(url):
        assert password not in message.replace("localhost", "")
