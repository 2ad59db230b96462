# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the integration suite."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from support.playbook_site import SetUpSites


@pytest.fixture(scope="session")
def set_up_sites(tmp_path_factory):
    """The templates of set_up_site (one set per xdist worker)."""
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
