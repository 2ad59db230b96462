# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""The errors of the engine, in one place; the root and the database ones live in _errors, which the
database layer shares. Every message is safe to show: no key, token, plaintext or connection secret."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.webops.encryption.plugins.module_utils._errors import DatabaseError, EngineError, LockHeld

__all__ = ["EngineError", "DatabaseError", "LockHeld", "UnknownTokens", "ColumnTooNarrow", "VerificationError", "InvalidArgument"]


class UnknownTokens(EngineError):
    """Values no key opens were found; ``details`` is a list of {table, column, count, ids}."""

    def __init__(self, details, written=False):
        self.details = details
        where = "; ".join("%s.%s: %d (ids %s%s)" % (d["table"], d["column"], d["count"], ", ".join(str(i) for i in d["ids"]),
                                                    ", ..." if d["count"] > len(d["ids"]) else "") for d in details)
        if written:
            text = ("values that no given key opens were found while writing (every other value was rotated): %s. "
                    "Find the key that made them and run again with it in old_keys" % where)
        else:
            text = ("nothing was written: values that no given key opens were found: %s. Add the key that made them to "
                    "old_keys, or set on_unknown=skip to leave them as they are (fernet_recover clears lost values)" % where)
        super(UnknownTokens, self).__init__(text)


class ColumnTooNarrow(EngineError):
    """Target columns cannot hold the tokens they would receive; ``details`` lists them."""

    def __init__(self, details):
        self.details = details
        text = "nothing was written: %s" % "; ".join(
            "%s.%s is %s(%d) but the tokens it would receive need %d characters; widen it first: %s"
            % (d["table"], d["column"], d["data_type"], d["max_length"], d["needed"], d["fix"]) for d in details)
        text += " (or set widen_columns=true to have it done, in its own transaction, before any token is written)"
        super(ColumnTooNarrow, self).__init__(text)


class VerificationError(EngineError):
    """A new token did not decrypt back to the original plaintext; its batch was not written."""


class InvalidArgument(EngineError):
    """Bad input to the engine (keys, sizes, choices)."""
