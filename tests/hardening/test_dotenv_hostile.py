# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile .env files against module_utils/_dotenv.py.

Rejected shapes must fail with a message that names the line and says what to do,
without any value in it, and leave the file untouched (same bytes, same inode).
Shapes decouple reads fine (CRLF, no final newline, quotes) must be kept as they are.
"""

import os

import pytest

from ansible_collections.webops.encryption.plugins.module_utils import _dotenv as dotenv, fernet

from support.leaks import Needles


def _snapshot(path):
    st = os.stat(path)
    with open(path, "rb") as handle:
        return handle.read(), st.st_ino, st.st_mtime_ns


def _hostile_files(secret, key):
    return {
        "duplicate-key": ("DEBUG=false\nENCRYPTION_KEY=%s\nSECRET_KEY=%s\nENCRYPTION_KEY=%s\n" % (key, secret, key),
                          ["ENCRYPTION_KEY", "twice", "lines 2 and 4"]),
        "duplicate-other": ("SECRET_KEY=%s\nSECRET_KEY=%s-2\n" % (secret, secret), ["SECRET_KEY", "twice"]),
        "export-line": ("export ENCRYPTION_KEY=%s\n" % key, ["line 1", "export"]),
        "export-tab": ("DEBUG=1\nexport\tSECRET_KEY=%s\n" % secret, ["line 2", "export"]),
        "export-indented": ("DEBUG=1\n   export SECRET_KEY=%s\n" % secret, ["line 2", "export"]),
        "no-equals": ("DEBUG=1\n%s\n" % secret, ["line 2", "NAME=value"]),
        "bad-name": ("1KEY=%s\n" % secret, ["line 1", "variable name"]),
        "bom": ("\ufeffENCRYPTION_KEY=%s\n" % key, ["line 1"]),
        "non-utf8": (b"SECRET_KEY=" + secret.encode() + b"\xff\xfe\n", ["not UTF-8"]),
    }


@pytest.mark.parametrize("label", sorted(_hostile_files("s", "k")))
def test_hostile_env_file_is_rejected_cleanly_and_untouched(label, tmp_path, tally):
    secret = "hostile-secret-" + os.urandom(8).hex()
    key = fernet.generate_key()
    content, words = _hostile_files(secret, key)[label]
    path = tmp_path / ".env"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    before = _snapshot(path)
    needles = Needles().add_key("ENCRYPTION_KEY", key).add_plaintext("SECRET_KEY", secret)
    message = ""
    try:
        env = dotenv.read_env_file(str(path))
        # Parsing succeeded: the edit must still refuse before anything is written.
        env.set("ENCRYPTION_KEY", fernet.generate_key())
        dotenv.write_atomic(str(path), env.render())
        clean = False
        message = "accepted"
    except dotenv.DotEnvError as exc:
        message = str(exc)
        clean = all(word in message for word in words) and not needles.scan(message, "message") \
            and str(path) in message
    ok = clean and _snapshot(path) == before and os.listdir(str(tmp_path)) == [".env"]
    tally.input("dotenv:" + label, ok, message[:120])
    assert ok, message


def test_value_decouple_and_systemd_read_differently_is_refused(tmp_path, tally):
    env = dotenv.read_env_file(str(tmp_path / ".env"), missing_ok=True)
    bad = "it's a \\ value"
    with pytest.raises(dotenv.DotEnvError) as info:
        env.set("SECRET_KEY", bad)
    ok = bad not in str(info.value) and not (tmp_path / ".env").exists()
    tally.input("dotenv:quote-and-backslash-value", ok, str(info.value))
    assert ok


def test_newline_in_value_is_refused(tmp_path, tally):
    env = dotenv.read_env_file(str(tmp_path / ".env"), missing_ok=True)
    with pytest.raises(dotenv.DotEnvError):
        env.set("SECRET_KEY", "line1'\nline2")
    with pytest.raises(dotenv.DotEnvError):
        env.set("BAD NAME", "x")
    tally.input("dotenv:newline-value-and-bad-name", True)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("final_newline", [True, False])
def test_crlf_and_missing_final_newline_are_kept(newline, final_newline, tmp_path, tally):
    lines = ["# WebOps settings", "DEBUG=False", 'SECRET_KEY="django-secret-value"',
             "", "ENCRYPTION_KEY=%s" % fernet.generate_key(), "DATABASE_URL=sqlite:////opt/webops/db.sqlite3"]
    text = newline.join(lines) + (newline if final_newline else "")
    path = tmp_path / ".env"
    path.write_bytes(text.encode())
    env = dotenv.read_env_file(str(path))
    assert env.get("SECRET_KEY") == "django-secret-value"
    new = fernet.generate_key()
    assert env.set("ENCRYPTION_KEY", new) is True
    dotenv.write_atomic(str(path), env.render())
    out = path.read_bytes().decode()
    expected = text.replace(lines[4], "ENCRYPTION_KEY=%s" % new)
    ok_replace = out == expected
    # Appending a name to a file without a final newline ends the old last line first.
    env = dotenv.read_env_file(str(path))
    env.set("OLD_ENCRYPTION_KEY", fernet.generate_key())
    dotenv.write_atomic(str(path), env.render())
    appended = path.read_bytes().decode()
    ok_append = appended.startswith(expected if final_newline else expected + newline) \
        and appended.endswith(newline) and appended.count("\r\n") == (appended.count("\n") if newline == "\r\n" else 0)
    reread = dotenv.read_env_file(str(path))
    ok = ok_replace and ok_append and reread.get("ENCRYPTION_KEY") == new and reread.names() == sorted(
        ["DEBUG", "SECRET_KEY", "ENCRYPTION_KEY", "DATABASE_URL", "OLD_ENCRYPTION_KEY"])
    tally.input("dotenv:%s-%s" % ("crlf" if newline == "\r\n" else "lf", "final-nl" if final_newline else "no-final-nl"),
                ok)
    assert ok_replace, (expected, out)
    assert ok_append, appended
    assert ok


def test_symlinked_env_keeps_link_and_writes_target(tmp_path):
    real = tmp_path / "real.env"
    real.write_text("ENCRYPTION_KEY=%s\n" % fernet.generate_key())
    os.chmod(str(real), 0o600)
    link_dir = tmp_path / "control-panel"
    link_dir.mkdir()
    link = link_dir / ".env"
    os.symlink(str(real), str(link))
    env = dotenv.read_env_file(str(link))
    new = fernet.generate_key()
    env.set("ENCRYPTION_KEY", new)
    dotenv.write_atomic(str(link), env.render())
    assert os.path.islink(str(link)) and os.readlink(str(link)) == str(real)
    assert dotenv.read_env_file(str(real)).get("ENCRYPTION_KEY") == new
    assert sorted(os.listdir(str(link_dir))) == [".env"]
