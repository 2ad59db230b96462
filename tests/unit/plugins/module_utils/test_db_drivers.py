# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PostgreSQL drivers load on the first PostgreSQL connection only: a SQLite run never imports
them, and a host without either gets the library to install."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sqlite3
import subprocess
import sys

import pytest

from ansible_collections.webops.encryption.plugins.module_utils import _db as db


def test_a_sqlite_connection_never_imports_a_postgresql_driver(tmp_path):
    sqlite3.connect(str(tmp_path / "app.db")).close()
    # A process of its own: this one imported psycopg long ago.
    script = ("import sys\n"
              "from ansible_collections.webops.encryption.plugins.module_utils import _db\n"
              "with _db.connect('sqlite:///%s') as adapter:\n"
              "    pass\n"
              "print(sorted(name for name in ('psycopg', 'psycopg2') if name in sys.modules))\n" % (tmp_path / "app.db"))
    result = subprocess.run([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False,
                            universal_newlines=True, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_without_either_driver_a_postgresql_url_names_the_library_to_install(monkeypatch):
    # A None entry in sys.modules makes an import of that name fail, as on a host without it.
    monkeypatch.setitem(sys.modules, "psycopg", None)
    monkeypatch.setitem(sys.modules, "psycopg2", None)
    monkeypatch.setattr(db, "psycopg", db._NOT_LOADED)
    monkeypatch.setattr(db, "psycopg2", db._NOT_LOADED)
    monkeypatch.setattr(db, "PSYCOPG_IMPORT_ERROR", None)
    assert not db.has_psycopg()
    assert "import of psycopg halted" in db.PSYCOPG_IMPORT_ERROR
    with pytest.raises(ImportError, match=r"psycopg \(3\) or psycopg2 is required for PostgreSQL"):
        db.connect("postgresql://app:secret@db.example.org/webops")


def test_psycopg_3_is_the_driver_when_it_is_installed(monkeypatch):
    psycopg = pytest.importorskip("psycopg")
    monkeypatch.setattr(db, "psycopg", db._NOT_LOADED)
    monkeypatch.setattr(db, "psycopg2", db._NOT_LOADED)
    assert db.has_psycopg() and db.psycopg is psycopg and db.psycopg2 is db._NOT_LOADED
