# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The test host is a real systemd machine and the stand-in units are a sound independent check."""

import psycopg
from cryptography.fernet import Fernet

from support import molecule_checks as mc

STANDIN = "/usr/bin/python3 /usr/local/lib/webops-standin/webops_standin.py"


def test_systemd_is_pid_1_and_running(host):
    host = mc.node(host)
    assert host.check_output("cat /proc/1/comm") == "systemd"
    assert host.run("systemctl is-system-running --wait").stdout.strip() == "running"


def test_env_file_and_link(host):
    host = mc.node(host)
    env = host.file(mc.ENV_FILE)
    assert (env.user, env.group, env.mode) == ("webops", "webops", 0o600)
    link = host.file(mc.ENV_LINK)
    assert link.is_symlink and link.linked_to == mc.ENV_FILE


def test_units_start_with_the_key_that_opens_every_secret(host):
    host = mc.node(host)
    for service in mc.SERVICES:
        assert mc.unit(host, service)["ActiveState"] == "active"
        started = [e for e in mc.events(host, service) if e["event"] == "started"]
        assert started and started[-1]["fingerprint"] == mc.initial_key().fingerprint
        assert started[-1]["counts"]["failed"] == 0 and started[-1]["counts"]["decrypted"] > 50


def _probe(host, env_lines):
    """Run the stand-in once as webops with a .env made inside the container (keys stay there)."""
    script = (
        "import sys; from cryptography.fernet import Fernet; "
        "url = [l for l in open('/opt/webops/.env') if l.startswith('DATABASE_URL=')][0]; "
        "other = Fernet.generate_key().decode(); "
        "open('/tmp/probe.env', 'w').write(url + '%s')" % "\\n".join(env_lines)
    )
    host.check_output("python3 -c \"%s\" && chown webops /tmp/probe.env && chmod 600 /tmp/probe.env" % script)
    # A stand-in that refuses exits on its own; one that keeps running is stopped by `timeout`
    # (status 124). The verdict is the exit status, whatever the machine's speed.
    return host.run("runuser -u webops -- timeout 120 %s --service probe --env-file /tmp/probe.env"
                    " --event-log /tmp/probe.jsonl --recheck-seconds 0.1; rc=$?;"
                    " [ $rc -ne 124 ] || echo still-running; exit $rc" % STANDIN)


def test_standin_refuses_a_missing_an_invalid_and_a_wrong_key(host):
    host = mc.node(host)
    missing = _probe(host, [""])
    assert missing.rc == 1 and "ENCRYPTION_KEY not configured" in missing.stdout
    invalid = _probe(host, ["ENCRYPTION_KEY=" + "ab" * 32, ""])
    assert invalid.rc == 1 and "Invalid ENCRYPTION_KEY" in invalid.stdout
    wrong = _probe(host, ["ENCRYPTION_KEY=' + other + '", ""])
    assert wrong.rc == 1 and "do not decrypt with ENCRYPTION_KEY" in wrong.stdout
    assert "still-running" not in wrong.stdout + invalid.stdout + missing.stdout


def test_running_unit_fails_when_a_row_moves_to_another_key(host):
    host = mc.node(host)
    url = mc.database_url(host)
    stranger = Fernet(Fernet.generate_key())
    service = "webops-celery-worker"
    with psycopg.connect(url) as conn:
        original = conn.execute("SELECT password FROM databases WHERE id = 3").fetchone()[0]
        conn.execute("UPDATE databases SET password = %s WHERE id = 3", (stranger.encrypt(b"moved").decode(),))
        conn.commit()
        try:
            assert mc.wait_for(lambda: mc.unit(host, service)["ActiveState"] == "failed", timeout=120)
            failed = [e for e in mc.events(host, service) if e["event"] == "failed"]
            assert failed and "databases.password id=3" in failed[-1]["reason"]
            # A restart with the same key is refused while the row stays under the stranger key.
            assert host.run("systemctl restart %s" % service).rc == 0
            assert mc.wait_for(lambda: mc.unit(host, service)["ActiveState"] == "failed", timeout=120)
            assert mc.events(host, service)[-1]["event"] == "refused"
        finally:
            conn.execute("UPDATE databases SET password = %s WHERE id = 3", (original,))
            conn.commit()
    host.check_output("systemctl restart %s" % service)
    assert mc.wait_for(lambda: mc.unit(host, service)["ActiveState"] == "active", timeout=120)
    assert mc.events(host, service)[-1]["event"] == "started"
