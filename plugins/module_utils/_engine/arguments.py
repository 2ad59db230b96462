# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""The engine's arguments, checked before anything is read or written: sizes, keys, columns."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.webops.encryption.plugins.module_utils import fernet as fernet_utils
from ansible_collections.webops.encryption.plugins.module_utils._engine.errors import InvalidArgument
from ansible_collections.webops.encryption.plugins.module_utils.columns import KEYED_BY_ENCRYPTION_KEY

MAX_BATCH_SIZE = 100000
# Rows per batch: big enough that per-statement and per-commit costs vanish, small enough that
# a few batches in flight stay within tens of MB.
DEFAULT_BATCH_SIZE = 5000


def default_workers():
    """One worker per CPU this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover
        return max(1, os.cpu_count() or 1)


def check_batch_size(batch_size):
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise InvalidArgument("batch_size must be an integer from 1 to %d" % MAX_BATCH_SIZE)


def check_workers(workers):
    if workers is None:
        return default_workers()
    if not isinstance(workers, int) or isinstance(workers, bool) or not 1 <= workers <= 256:
        raise InvalidArgument("workers must be an integer from 1 to 256 (or left out: one per CPU)")
    return workers


def as_key(value, name):
    """A FernetKey from a FernetKey or key text (``name`` says which argument, in the error)."""
    if isinstance(value, fernet_utils.FernetKey):
        return value
    try:
        return fernet_utils.parse_key(value, name)
    except ValueError as exc:
        raise InvalidArgument(str(exc))


def make_keyring(named):
    """A fernet.Keyring of [(name, FernetKey)]; refuses a key given twice."""
    try:
        return fernet_utils.Keyring(named)
    except ValueError as exc:
        raise InvalidArgument(str(exc))


def prepare(db, specs, keyed_by=KEYED_BY_ENCRYPTION_KEY):
    """Column info for the columns keyed by ``keyed_by`` (validates tables, columns, types and `where`)."""
    prepared = []
    for spec in specs:
        if spec.keyed_by == keyed_by:
            prepared.append((spec, db.column_info(spec)))
    if not prepared:
        raise InvalidArgument("none of the columns is keyed by %s; nothing to do" % keyed_by)
    return prepared
