# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""PostgreSQL through psycopg 3: the driver-specific bits of the PostgreSQL adapter."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.webops.encryption.plugins.module_utils._db._postgres import PostgresAdapter


class PsycopgAdapter(PostgresAdapter):
    """``driver`` is the psycopg module."""

    def _connect(self, url, connect_timeout):
        return self.driver.connect(url, autocommit=True, connect_timeout=connect_timeout)

    def _arrays(self, *columns):
        """Binary lists: neither side parses text."""
        return [list(column) for column in columns], "%b"
