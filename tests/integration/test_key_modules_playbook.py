# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""fernet_key, fernet_key_info and env_file through the real ansible-playbook, against temp files.

Several module calls share one playbook run (each run costs seconds); every test prepares its
files here, runs the playbook from the repository root, and checks the files themselves as
well as what the modules said.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

import pytest

from support.ansible_runs import run_playbook, snapshot
from support.keys import new_key, other_form
from support.leaks import Needles

from ansible_collections.webops.encryption.plugins.module_utils._dotenv import read_env_file
from ansible_collections.webops.encryption.plugins.module_utils.fernet import MSG_INVALID_KEY, MSG_NOT_CONFIGURED, parse_key

pytestmark = [pytest.mark.playbook, pytest.mark.slow]

NOBODY = 65534
SYSTEM_PYTHON = "/usr/bin/python3"

BACKUP_NAME = re.compile(r"^\.env\.\d+\.\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d~$")
DB_PASSWORD = "db-pass-%s" % base64.b32encode(os.urandom(10)).decode("ascii")


def controller_runs_as_nobody():
    """Whether nobody can start this venv's Python (the controller side of the run below).

    A Python built under a home directory nobody cannot enter (pyenv under /root) cannot.
    """
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        return False
    argv = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups", sys.executable, "-c", "import ansible"]
    return subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/", check=False).returncode == 0


def fp(key_text):
    return parse_key(key_text).fingerprint


def write(path, data, mode=0o600):
    path = str(path)
    if not os.path.isdir(os.path.dirname(path)):
        os.makedirs(os.path.dirname(path))
    with open(path, "wb") as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)
    os.chmod(path, mode)
    return path


def mode_of(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def backups(directory):
    return sorted(name for name in os.listdir(str(directory)) if name.endswith("~"))


# --- one change per file: check mode, diff mode, real run, second run ---------------------------
@pytest.fixture(scope="module")
def changes(tmp_path_factory):
    """Prepare one directory per change, run --check --diff, then for real (--diff), then again."""
    top = tmp_path_factory.mktemp("keys-changes")
    work = tmp_path_factory.mktemp("keys-changes-work")
    keys = {
        "keys_set_standard": new_key(standard=True),
        "keys_new": new_key(),
        "keys_old": new_key(),
        "keys_mode_standard": new_key(standard=True),
        "keys_existing": new_key(),
    }
    keys["keys_mode_urlsafe"] = other_form(keys["keys_mode_standard"])
    original = {
        # The real file and the symlink next to the app, with what a real .env holds.
        "generate/.env": "# WebOps control panel\n\nSECRET_KEY='django secret with spaces'\n"
                         "DATABASE_URL=postgresql://webops:%s@localhost:5432/webops_db\n"
                         "  # indented comment\nALLOWED_HOSTS=\"panel.example.org\"\nEMPTY=\n" % DB_PASSWORD,
        "set/.env": "DEBUG=False\n",
        "always/.env": "ENCRYPTION_KEY=%s\n" % keys["keys_old"],
        "never/.env": "ENCRYPTION_KEY=%s\n" % keys["keys_existing"],
        "absent/.env": "ENCRYPTION_KEY=%s\nOLD_ENCRYPTION_KEY=%s\nDEBUG=False\n" % (keys["keys_new"], keys["keys_old"]),
        "rotate/.env": "# app\r\nENCRYPTION_KEY=%s\r\nDEBUG=True\r\nNAME='x y'" % keys["keys_old"],
        "mode/.env": "ENCRYPTION_KEY=%s\n" % keys["keys_mode_standard"],
    }
    for name, text in original.items():
        write(top / name, text, 0o644 if name == "mode/.env" else 0o600)
    os.makedirs(str(top / "generate" / "control-panel"))
    os.symlink("../.env", str(top / "generate" / "control-panel" / ".env"))
    os.chown(str(top / "set" / ".env"), NOBODY, NOBODY)
    os.makedirs(str(top / "create"))
    os.makedirs(str(top / "create_env"))
    variables = dict(keys, keys_dir=str(top))

    before = snapshot(top)
    check = run_playbook("keys_changes.yml", work, variables, check=True, diff=True)
    after_check = snapshot(top)
    first = run_playbook("keys_changes.yml", work, variables, diff=True)
    after_first = snapshot(top)
    second = run_playbook("keys_changes.yml", work, variables, diff=True)
    after_second = snapshot(top)
    return dict(top=top, keys=keys, original=original, check=check, first=first, second=second,
                before=before, after_check=after_check, after_first=after_first, after_second=after_second)


EXPECTED_CHANGED = {
    "Generate a key through a symlinked .env": True,
    "Set a given key in standard base64 on a file owned by nobody": True,
    "Replace a different key with regenerate always": True,
    "Keep a different key with regenerate never": False,
    "Remove the old key": True,
    "Rotate two variables and drop one in one write": True,
    "Tighten the mode of a file that already holds the key": True,
    "Create a missing .env with a given key": True,
    "Create a missing .env with env_file": True,
    "Read the key back from the symlinked .env": False,
    "Describe a key given inline": False,
}


def test_runs_succeed(changes):
    for run in ("check", "first", "second"):
        proc = changes[run].proc
        assert proc.returncode == 0, (run, proc.stdout[-4000:], proc.stderr[-4000:])
        assert not [name for name, result in changes[run].results.items() if result.get("failed")]


def test_check_mode_writes_nothing_and_predicts_changed(changes):
    assert changes["after_check"] == changes["before"]
    assert changes["check"].changed() == EXPECTED_CHANGED
    assert changes["first"].changed() == EXPECTED_CHANGED


def test_second_run_changes_nothing(changes):
    assert changes["second"].changed() == dict((name, False) for name in EXPECTED_CHANGED)
    assert changes["after_second"] == changes["after_first"]


def test_generate_through_symlink_keeps_link_and_other_lines(changes):
    top, first = changes["top"], changes["first"]
    link = top / "generate" / "control-panel" / ".env"
    assert os.path.islink(str(link)) and os.readlink(str(link)) == "../.env"
    real = top / "generate" / ".env"
    text = real.read_text()
    original = changes["original"]["generate/.env"]
    assert text.startswith(original)
    added = text[len(original):]
    assert re.match(r"^ENCRYPTION_KEY=[A-Za-z0-9_-]{43}=\n$", added)
    key = added.split("=", 1)[1].strip()
    result = first["Generate a key through a symlinked .env"]
    assert result["generated"] is True and result["previous_fingerprint"] is None
    assert result["fingerprint"] == fp(key) and result["encoding"] == "urlsafe"
    assert result["path"] == str(real)
    assert mode_of(real) == 0o600
    # Backup: next to the real file, 0600, named by time only, holding the old bytes.
    assert result["backup_file"].startswith(str(top / "generate") + "/")
    names = backups(top / "generate")
    assert len(names) == 1 and BACKUP_NAME.match(names[0])
    backup = top / "generate" / names[0]
    assert backup.read_text() == original and mode_of(backup) == 0o600
    # The info module reads the same key back through the link.
    info = first["Read the key back from the symlinked .env"]
    assert info["valid"] is True and info["configured"] is True and info["fingerprint"] == fp(key)
    # In check mode a key would be generated, but no fingerprint is invented for it.
    predicted = changes["check"]["Generate a key through a symlinked .env"]
    assert predicted["generated"] is True and predicted["fingerprint"] is None
    assert "ENCRYPTION_KEY=<new fernet key>" in predicted["diff"][0]["after"]


def test_given_standard_key_is_written_urlsafe_and_owner_kept(changes):
    top, keys = changes["top"], changes["keys"]
    path = top / "set" / ".env"
    assert path.read_text() == "DEBUG=False\nENCRYPTION_KEY=%s\n" % other_form(keys["keys_set_standard"])
    info = os.stat(str(path))
    assert (info.st_uid, info.st_gid, mode_of(path)) == (NOBODY, NOBODY, 0o600)
    result = changes["first"]["Set a given key in standard base64 on a file owned by nobody"]
    assert result["fingerprint"] == fp(keys["keys_set_standard"]) and result["generated"] is False
    backup = top / "set" / backups(top / "set")[0]
    assert (os.stat(str(backup)).st_uid, mode_of(backup)) == (NOBODY, 0o600)
    inline = changes["first"]["Describe a key given inline"]
    assert inline["valid"] is True and inline["encoding"] == "standard"
    assert inline["fingerprint"] == result["fingerprint"]


def test_regenerate_always_and_never(changes):
    top, keys, first = changes["top"], changes["keys"], changes["first"]
    assert read_env_file(str(top / "always" / ".env")).get("ENCRYPTION_KEY") == keys["keys_new"]
    always = first["Replace a different key with regenerate always"]
    assert always["previous_fingerprint"] == fp(keys["keys_old"])
    assert always["fingerprint"] == fp(keys["keys_new"])
    assert (top / "always" / backups(top / "always")[0]).read_text() == changes["original"]["always/.env"]

    assert (top / "never" / ".env").read_text() == changes["original"]["never/.env"]
    never = first["Keep a different key with regenerate never"]
    assert never["fingerprint"] == fp(keys["keys_existing"])
    warnings = " ".join(never.get("warnings", []))
    assert fp(keys["keys_existing"]) in warnings and fp(keys["keys_new"]) in warnings


def test_state_absent_removes_only_that_variable(changes):
    top, keys = changes["top"], changes["keys"]
    assert (top / "absent" / ".env").read_text() == "ENCRYPTION_KEY=%s\nDEBUG=False\n" % keys["keys_new"]
    result = changes["first"]["Remove the old key"]
    assert result["previous_fingerprint"] == fp(keys["keys_old"]) and result["fingerprint"] is None


def test_env_file_rotation_is_one_write_keeping_crlf(changes):
    top, keys = changes["top"], changes["keys"]
    data = (top / "rotate" / ".env").read_bytes()
    assert data == ("# app\r\nENCRYPTION_KEY=%s\r\nNAME='x y'\r\nOLD_ENCRYPTION_KEY=%s\r\n"
                    % (keys["keys_new"], keys["keys_old"])).encode("ascii")
    result = changes["first"]["Rotate two variables and drop one in one write"]
    assert result["changed_names"] == ["ENCRYPTION_KEY", "OLD_ENCRYPTION_KEY"]
    assert result["removed_names"] == ["DEBUG"]
    assert len(backups(top / "rotate")) == 1
    again = changes["second"]["Rotate two variables and drop one in one write"]
    assert again["changed_names"] == [] and again["removed_names"] == []


def test_mode_is_enforced_without_rewriting(changes):
    top = changes["top"]
    path = top / "mode" / ".env"
    assert path.read_text() == changes["original"]["mode/.env"]
    assert mode_of(path) == 0o600
    assert changes["after_first"]["mode/.env"][3] == changes["before"]["mode/.env"][3]  # same mtime: not rewritten


def test_created_files_are_0600(changes):
    top, keys = changes["top"], changes["keys"]
    created = top / "create" / ".env"
    assert created.read_text() == "ENCRYPTION_KEY=%s\n" % keys["keys_new"]
    assert (os.stat(str(created)).st_uid, os.stat(str(created)).st_gid, mode_of(created)) == (NOBODY, NOBODY, 0o600)
    created = top / "create_env" / ".env"
    assert created.read_text() == "ALLOWED_HOSTS=panel.example.org,localhost\n"
    assert (os.stat(str(created)).st_uid, os.stat(str(created)).st_gid, mode_of(created)) == (0, NOBODY, 0o640)
    # Nothing left behind by the atomic writes.
    leftovers = [name for base, _dirs, files in os.walk(str(top)) for name in files if name.endswith(".tmp")]
    assert leftovers == []


def test_diff_names_variables_and_shows_fingerprints_only(changes):
    keys = changes["keys"]
    needles = Needles()
    for label, text in keys.items():
        needles.add_key(label, text)
    needles.add_plaintext("database password", DB_PASSWORD)
    needles.add_plaintext("django secret", "django secret with spaces")
    for run in ("check", "first"):
        rotate = changes[run]["Rotate two variables and drop one in one write"]["diff"][0]
        assert "ENCRYPTION_KEY=<fernet key %s>" % fp(keys["keys_old"]) in rotate["before"]
        assert "ENCRYPTION_KEY=<fernet key %s>" % fp(keys["keys_new"]) in rotate["after"]
        assert "OLD_ENCRYPTION_KEY=<fernet key %s>" % fp(keys["keys_old"]) in rotate["after"]
        assert "DEBUG=" in rotate["before"] and "DEBUG=" not in rotate["after"]
        generate = changes[run]["Generate a key through a symlinked .env"]["diff"][0]
        assert "DATABASE_URL=<hidden value " in generate["before"]
        assert "ENCRYPTION_KEY=<%s" % ("new fernet key>" if run == "check" else "fernet key sha256:") in generate["after"]
        mode = changes[run]["Tighten the mode of a file that already holds the key"]["diff"]
        assert mode[0]["before"] == mode[0]["after"]
        assert mode[1]["before"]["mode"] == "0644" and mode[1]["after"]["mode"] == "0600"
        assert needles.scan(changes[run].output, run) == []


# --- bad input: clear error, nothing written -----------------------------------------------------
@pytest.fixture(scope="module")
def errors(tmp_path_factory):
    top = tmp_path_factory.mktemp("keys-errors")
    work = tmp_path_factory.mktemp("keys-errors-work")
    good, other = new_key(), new_key()
    variables = {
        "keys_dir": str(top),
        "keys_good": good,
        "keys_other": other,
        "keys_hex": os.urandom(32).hex(),
        "keys_31": base64.urlsafe_b64encode(os.urandom(31)).decode("ascii"),
        "keys_33": base64.urlsafe_b64encode(os.urandom(33)).decode("ascii"),
    }
    invalid = base64.urlsafe_b64encode(os.urandom(31)).decode("ascii")
    write(top / "ok" / ".env", "# fine\nENCRYPTION_KEY=%s\n" % good)
    write(top / "invalid" / ".env", "ENCRYPTION_KEY=%s\n" % invalid)
    write(top / "latin1" / ".env", b"# caf\xe9\nENCRYPTION_KEY=\n")
    write(top / "twice" / ".env", "ENCRYPTION_KEY=%s\nDEBUG=0\nENCRYPTION_KEY=%s\n" % (good, other))
    write(top / "export" / ".env", "export ENCRYPTION_KEY=%s\n" % good)
    write(top / "nokey" / ".env", "DEBUG=False\n")
    os.makedirs(str(top / "isdir"))
    os.makedirs(str(top / "missing"))
    before = snapshot(top)
    run = run_playbook("keys_errors.yml", work, variables)
    return dict(top=top, run=run, before=before, after=snapshot(top), variables=variables, invalid=invalid)


ERRORS = {
    "Missing file with create false": ["missing/.env does not exist; create it first or set create=true"],
    "Missing directory": ["nodir/sub of", "does not exist; create it first"],
    "Path is a directory": ["isdir is not a regular file"],
    "Invalid existing key with regenerate never": [
        "ENCRYPTION_KEY in", MSG_INVALID_KEY + " (decodes to 31 bytes, not 32)", "Nothing was changed",
        "regenerate=always"],
    "Invalid existing key with regenerate fail": [MSG_INVALID_KEY, "Nothing was changed"],
    "Hex key given": ["option key: " + MSG_INVALID_KEY, "openssl rand -hex 32"],
    "31-byte key given": [MSG_INVALID_KEY + " (decodes to 31 bytes, not 32)"],
    "33-byte key given": [MSG_INVALID_KEY + " (decodes to 33 bytes, not 32)"],
    "Different key with regenerate fail": ["holds a different key", "Nothing was changed", "regenerate=always"],
    "Non-UTF-8 file": ["is not UTF-8 text (line 1, byte 5)"],
    "Variable defined twice": ["ENCRYPTION_KEY is defined twice", "(lines 1 and 3)"],
    "Export prefix": ["line 1", "starts with 'export '", "remove the prefix"],
    "Invalid key value for ENCRYPTION_KEY in env_file": ["set.ENCRYPTION_KEY: " + MSG_INVALID_KEY, "Nothing was changed"],
    "Same variable set and removed": ["both set and removed: OLD_ENCRYPTION_KEY"],
    "Value that decouple and systemd read differently": ["set.BROKEN:", "set it by hand"],
    "Unknown owner": ["owner=webops-no-such-user: no such user"],
    "Info on a file without the key": [MSG_NOT_CONFIGURED + " in "],
    "Info on an invalid key in a file": [MSG_INVALID_KEY + " (decodes to 31 bytes, not 32) in "],
    "Info on a hex key given inline": [MSG_INVALID_KEY],
    "Fingerprint filter on a hex key": ["fernet_fingerprint: " + MSG_INVALID_KEY],
}


def test_every_bad_input_fails_with_a_clear_message(errors):
    run = errors["run"]
    assert run.proc.returncode == 0, run.proc.stderr[-4000:]  # every failure is ignored, then checked here
    assert sorted(run.results) == sorted(ERRORS)
    for task, fragments in ERRORS.items():
        result = run[task]
        assert result.get("failed") is True, (task, result)
        for fragment in fragments:
            assert fragment in result["msg"], (task, fragment, result["msg"])


def test_bad_input_writes_nothing(errors):
    # Same bytes, modes, owners and mtimes for every entry; no backup, no temp file, no new file.
    assert errors["after"] == errors["before"]


def test_error_output_holds_no_key(errors):
    needles = Needles()
    for label in ("keys_good", "keys_other"):
        needles.add_key(label, errors["variables"][label])
    needles.add_plaintext("hex key", errors["variables"]["keys_hex"])
    needles.add_plaintext("31-byte key", errors["variables"]["keys_31"])
    needles.add_plaintext("33-byte key", errors["variables"]["keys_33"])
    needles.add_plaintext("invalid key in file", errors["invalid"])
    assert len(needles) > 10
    assert needles.scan(errors["run"].output, "ansible-playbook output") == []


@pytest.mark.root
@pytest.mark.skipif(not os.path.exists(SYSTEM_PYTHON) or not controller_runs_as_nobody(),
                    reason="needs root, setpriv, %s, and a venv Python that nobody can run" % SYSTEM_PYTHON)
def test_unreadable_file_as_unprivileged_user():
    """Root reads every file, so this run is made as nobody against a root-owned 0600 .env.

    The modules run under the system Python (they need no third-party library): the venv's
    interpreter may live under /root, which nobody cannot enter.
    """
    top = tempfile.mkdtemp(prefix="keys-unreadable-")
    try:
        os.chmod(top, 0o755)
        private = write(os.path.join(top, "private", ".env"), "ENCRYPTION_KEY=%s\n" % new_key())
        os.chmod(os.path.dirname(private), 0o755)
        home = os.path.join(top, "home")
        os.makedirs(home)
        os.chown(home, NOBODY, NOBODY)
        before = snapshot(os.path.join(top, "private"))
        run = run_playbook(
            "keys_unreadable.yml", home,
            {"keys_dir": top, "keys_good": new_key(), "ansible_python_interpreter": SYSTEM_PYTHON}, vars_owner=NOBODY,
            argv_prefix=["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups"],
            env_extra={"HOME": home, "ANSIBLE_LOCAL_TEMP": os.path.join(home, "tmp"),
                       "ANSIBLE_REMOTE_TEMP": os.path.join(home, "tmp"), "PYTHONDONTWRITEBYTECODE": "1"})
        assert run.proc.returncode == 0, run.proc.stderr[-4000:]
        assert len(run.results) == 3
        for task, result in run.results.items():
            assert result.get("failed") is True, (task, result)
            assert "cannot read %s: Permission denied" % private in result["msg"], (task, result["msg"])
        assert snapshot(os.path.join(top, "private")) == before
    finally:
        shutil.rmtree(top)


# --- the foundation leak test ---------------------------------------------------------------------
def test_no_key_in_verbose_output(tmp_path_factory):
    """Every key module, both filters and the lookup with -vvv and --diff: no key in any form."""
    tmp_path = tmp_path_factory.mktemp("keys-leak")
    work = tmp_path_factory.mktemp("keys-leak-work")
    key_a, key_b = new_key(), new_key(standard=True)
    write(tmp_path / "one" / ".env", "# host without a key\nDEBUG=False\n")
    write(tmp_path / "two" / ".env", "")
    write(tmp_path / "three" / ".env", "# rotation target\n")
    database_url = "postgresql://webops:%s@localhost:5432/webops_db" % DB_PASSWORD
    run = run_playbook("keys_leak.yml", work, {
        "keys_dir": str(tmp_path), "leak_key_a": key_a, "leak_key_b": key_b,
        "leak_key_hex": base64.b64decode(key_b).hex(), "leak_database_url": database_url,
    }, diff=True, verbosity=3, json_results=False)
    assert run.proc.returncode == 0, run.proc.stdout[-4000:] + run.proc.stderr[-4000:]

    # The keys the run made itself, read back from the files that hold them.
    host_generated = read_env_file(str(tmp_path / "one" / ".env")).get("ENCRYPTION_KEY")
    controller_generated = read_env_file(str(tmp_path / "two" / ".env")).get("ENCRYPTION_KEY")
    assert read_env_file(str(tmp_path / "three" / ".env")).get("ENCRYPTION_KEY") == controller_generated
    keys = {"key_a": key_a, "key_b": key_b, "generated on the host": host_generated,
            "generated by the lookup": controller_generated}
    needles = Needles()
    for label, text in keys.items():
        assert parse_key(text)  # each one is a real key
        needles.add_key(label, text)
    needles.add_plaintext("database password", DB_PASSWORD)
    needles.add_plaintext("database url", database_url)

    # Positive controls: the scan finds a key when one is there, and the output is the real,
    # verbose output (it names the fingerprints of every key used).
    assert needles.scan("x %s y" % other_form(key_b), "control")
    for text in keys.values():
        assert fp(text) in run.output
    assert "<hidden value " in run.output and "ESTABLISH LOCAL CONNECTION" in run.output

    assert needles.scan(run.output, "ansible-playbook -vvv output") == []
    found = []
    for base, dirs, files in os.walk(str(tmp_path)):
        for name in dirs + files:
            found.extend(needles.scan(name, "file name %s" % os.path.join(base, name)))
    assert found == []
