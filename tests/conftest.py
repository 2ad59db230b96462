# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures shared by every test suite: a real PostgreSQL, SQLite files, copies of set-up sites.

pytest.ini puts ``collections`` (``ansible_collections.webops.encryption`` resolves through the
committed link) and ``tests`` (the ``support`` package, tests/support) on the import path.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import shutil
import subprocess

import pytest

from support.paths import REPO
from support.pg_cluster import PgCluster


@pytest.fixture(scope="session")
def repo_root():
    return REPO


@pytest.fixture(scope="session")
def pg_server():
    """One throwaway PostgreSQL cluster for the whole run (real server, loopback only)."""
    cluster = PgCluster().start()
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def pg_url(pg_server):
    """A fresh, empty database per test; its URL carries the password (scram auth)."""
    name = pg_server.create_database()
    yield pg_server.url(name)
    pg_server.drop_database(name)


@pytest.fixture
def sqlite_url(tmp_path):
    """A fresh SQLite file per test (created on first connect)."""
    return "sqlite:///" + str(tmp_path / "db.sqlite3")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request):
    """Runs a test once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")


@pytest.fixture(scope="session")
def set_up_sites(tmp_path_factory):
    """The templates of set_up_site (one set per xdist worker)."""
    # Imported here: the engine-only tests load this file without running Ansible.
    from support.playbook_site import SetUpSites
    return SetUpSites(tmp_path_factory.mktemp("set-up-sites"))


@pytest.fixture
def set_up_site(set_up_sites, tmp_path, request):
    """``set_up_site(cls, database_url, **shape)``: ``cls(tmp_path, database_url, **shape)`` (Environment,
    SecretKeySite) as its setup_encryption.yml run left it, copied from one real run of that shape.
    For tests that start after setup and do not assert on what setup itself did."""
    def make(cls, database_url, **shape):
        pg_server = None if database_url.startswith("sqlite:") else request.getfixturevalue("pg_server")
        return set_up_sites.copy(cls, tmp_path, database_url, pg_server, **shape)
    return make


@pytest.fixture
def gpg_home(tmp_path, monkeypatch):
    """A gpg keyring of its own (GNUPGHOME) with one signing key; yields the key's user id."""
    if shutil.which("gpg") is None:
        pytest.skip("needs gpg: apt-get install -y gnupg")
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))
    subprocess.run(["gpg", "--batch", "--quiet", "--passphrase", "", "--quick-gen-key", "evidence@example.org",
                    "ed25519", "sign", "never"], check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    yield "evidence@example.org"
    # gpg started an agent for this home: stop it with the home.
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], check=False)
