# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test support shared by every suite, importable as ``support`` (pytest.ini: ``pythonpath = collections tests``).

paths            REPO, VENV_BIN and the other places the tests use
keys             keys made at test time, their other alphabet, their fingerprint
leaks            the checks that no key, token or plaintext secret is printed
ansible_runs     ansible-playbook runs (results by task name), the 0600 files that feed them
engine_api       the engine's Python API on seeded WebOps databases
playbook_site    throwaway inventories and whole WebOps environments for the playbook tests
webops_db        the reference implementation of the WebOps schema (never imports the collection)
pg_cluster       a throwaway PostgreSQL cluster
molecule_checks  what the Molecule verifiers read off their test hosts
"""
