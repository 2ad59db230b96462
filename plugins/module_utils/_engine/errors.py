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


# The refusals below say what was found (``finding``), then what to do in the engine's own terms:
# keys and values, never a module option. A module says the same in its options (see the modules'
# messages for DatabaseTask.run) from ``finding`` and the details.


class UnknownTokens(EngineError):
    """Values no key opens were found; ``details`` is a list of {table, column, count, ids};
    ``written``: found while writing (every other value was rotated), not by the scan."""

    def __init__(self, details, written=False):
        self.details = details
        self.written = written
        where = "; ".join("%s.%s: %d (ids %s%s)" % (d["table"], d["column"], d["count"], ", ".join(str(i) for i in d["ids"]),
                                                    ", ..." if d["count"] > len(d["ids"]) else "") for d in details)
        if written:
            self.finding = ("values that no given key opens were found while writing (every other value was rotated): %s"
                            % where)
            advice = "Find the key that made them and run again with it among the old keys"
        else:
            self.finding = "nothing was written: values that no given key opens were found: %s" % where
            advice = ("Add the key that made them to the old keys, or skip unknown values to leave them as they are "
                      "(purge_unreadable clears lost values)")
        super(UnknownTokens, self).__init__("%s. %s" % (self.finding, advice))


class ColumnTooNarrow(EngineError):
    """Target columns cannot hold the tokens they would receive; ``details`` lists them."""

    def __init__(self, details):
        self.details = details
        self.finding = "nothing was written: %s" % "; ".join(
            "%s.%s is %s(%d) but the tokens it would receive need %d characters; widen it first: %s"
            % (d["table"], d["column"], d["data_type"], d["max_length"], d["needed"], d["fix"]) for d in details)
        super(ColumnTooNarrow, self).__init__(
            self.finding + " (or have the run widen it, in its own transaction, before any token is written)")


class VerificationError(EngineError):
    """A new token did not decrypt back to the original plaintext; its batch was not written."""


class InvalidArgument(EngineError):
    """Bad input to the engine (keys, sizes, choices)."""
