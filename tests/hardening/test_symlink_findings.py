# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one writer of .env files and the vault follows a symlink only when nobody else could have
planted it: a link owned by root (or by the user running) is followed; any other link only to a
file (or, for a new file, a directory) of the link's owner or of webops_owner. Real files, real
chown (the suite runs as root), the module files run as Ansible runs them and the vault_vars
action through ansible-playbook."""

import os
import pwd

import pytest

from ansible_collections.webops.encryption.plugins.module_utils import fernet
from ansible_collections.webops.encryption.plugins.module_utils._dotenv import DotEnvError, write_atomic

from hardening.harness.modules import run_module

pytestmark = pytest.mark.root

APP = "daemon"     # the application's account: owns the .env's directory
OTHER = "nobody"   # someone else
ROOT_FILE = "root-owned file, not a .env\n"


def _uid(name):
    return pwd.getpwnam(name).pw_uid


@pytest.fixture
def app_dir(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to chown")
    os.chmod(str(tmp_path), 0o755)
    directory = tmp_path / "app"
    directory.mkdir()
    os.chown(str(directory), _uid(APP), _uid(APP))
    return directory


def _plant(app_dir, target, link_owner=APP):
    link = app_dir / ".env"
    os.symlink(str(target), str(link))
    os.lchown(str(link), _uid(link_owner), -1)
    return link


@pytest.mark.parametrize("module, args", [
    ("env_file", {"set": {"DEBUG": "false"}}),
    ("fernet_key", {"state": "present"}),
])
def test_a_link_the_app_account_planted_to_a_root_file_is_refused(module, args, app_dir, tmp_path, tally):
    victim = tmp_path / "shadow"
    victim.write_text(ROOT_FILE)
    os.chmod(str(victim), 0o644)
    link = _plant(app_dir, victim)
    result, proc = run_module(module, dict(args, path=str(link), owner=APP), tmp_path)
    msg = (result or {}).get("msg", "")
    untouched = victim.read_text() == ROOT_FILE and os.stat(str(victim)).st_mode & 0o777 == 0o644
    left = sorted(name for name in os.listdir(str(tmp_path)) if name.startswith(".shadow"))
    ok = bool(result) and result.get("failed") is True and "symlink" in msg and untouched and not left
    tally.input("symlinked .env planted by the app account to a root-owned file (%s)" % module, ok, msg[:160])
    assert ok, (msg, untouched, left, proc.stderr[-400:])


def test_a_link_to_a_new_file_in_a_root_directory_is_refused(app_dir, tmp_path):
    root_dir = tmp_path / "etc"
    root_dir.mkdir()
    link = _plant(app_dir, root_dir / "cron-job")
    with pytest.raises(DotEnvError) as caught:
        write_atomic(str(link), "ENCRYPTION_KEY=x\n", owner_uid=_uid(APP))
    assert "symlink" in str(caught.value)
    assert os.listdir(str(root_dir)) == []


def test_a_link_to_someone_elses_file_is_refused(app_dir, tmp_path):
    theirs = tmp_path / "theirs"
    theirs.write_text(ROOT_FILE)
    os.chown(str(theirs), _uid(OTHER), -1)
    link = _plant(app_dir, theirs)
    with pytest.raises(DotEnvError):
        write_atomic(str(link), "ENCRYPTION_KEY=x\n", owner_uid=_uid(APP))
    assert theirs.read_text() == ROOT_FILE


@pytest.mark.parametrize("case", ["link owned by root", "target owned by the link's owner", "target owned by webops_owner"])
def test_links_that_nobody_else_could_plant_are_followed(case, app_dir, tmp_path):
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    real = real_dir / "env"
    real.write_text("DEBUG=true\n")
    if case == "link owned by root":
        link = _plant(app_dir, real, link_owner="root")
        trusted = None
    elif case == "target owned by the link's owner":
        os.chown(str(real), _uid(APP), -1)
        link = _plant(app_dir, real)
        trusted = None
    else:
        os.chown(str(real), _uid(OTHER), -1)
        link = _plant(app_dir, real)
        trusted = _uid(OTHER)
    write_atomic(str(link), "DEBUG=false\n", owner_uid=trusted)
    assert os.path.islink(str(link)) and real.read_text() == "DEBUG=false\n"


def test_a_symlinked_directory_counts_too(app_dir, tmp_path):
    root_dir = tmp_path / "etc"
    root_dir.mkdir()
    victim = root_dir / ".env"
    victim.write_text(ROOT_FILE)
    inner = app_dir / "conf"
    os.symlink(str(root_dir), str(inner))
    os.lchown(str(inner), _uid(APP), -1)
    with pytest.raises(DotEnvError):
        write_atomic(str(inner / ".env"), "ENCRYPTION_KEY=%s\n" % fernet.generate_key(), owner_uid=_uid(APP))
    assert victim.read_text() == ROOT_FILE


def test_the_vault_path_is_checked_the_same_way(app_dir, tmp_path):
    from ansible_collections.webops.encryption.plugins.plugin_utils._custody import VaultVarsError, real_path
    victim = tmp_path / "vault.yml"
    victim.write_text(ROOT_FILE)
    link = app_dir / "vault.yml"
    os.symlink(str(victim), str(link))
    os.lchown(str(link), _uid(APP), -1)
    with pytest.raises(VaultVarsError) as caught:
        real_path(str(link))
    assert "symlink" in str(caught.value)
    os.lchown(str(link), 0, -1)
    assert real_path(str(link)) == str(victim)
