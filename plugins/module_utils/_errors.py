# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""The errors both the database layer (_db) and the engine (_engine) raise: their common root,
here so that _db never imports the engine above it. engine.py exports them all."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class EngineError(Exception):
    """Base of every error the engine raises; messages are safe to show (no keys, tokens or plaintexts)."""


class DatabaseError(EngineError):
    """A database problem, described without row values or connection secrets."""


class LockHeld(EngineError):
    """Another run holds the engine lock on this database."""
