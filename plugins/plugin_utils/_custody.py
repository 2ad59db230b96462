# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""Key custody in a vars mapping: what the vault_vars action reports and how it edits the escrow.

Plain Python over the decrypted mapping; the action plugin decrypts, encrypts and writes.
Messages never hold a value: Fernet keys are named by fingerprint, other values are never shown or hashed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import errno
import fcntl
import hashlib
import os

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.webops.encryption.plugins.module_utils import secret_key as secret_key_utils
from ansible_collections.webops.encryption.plugins.module_utils._dotenv import DotEnvError, check_symlinks, write_atomic
from ansible_collections.webops.encryption.plugins.module_utils.fernet import key_fingerprint, parse_key


class VaultVarsError(Exception):
    """A refusal whose message is safe to show (never a value)."""


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def utc_text(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text):
    """A recorded creation time (ISO 8601, UTC) as an aware datetime, or None."""
    if not text:
        return None
    value = to_text(text).strip().replace("Z", "+00:00")
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment


def text_or_none(value):
    """Hand-written YAML may hold an unquoted timestamp (a datetime): results carry text."""
    return None if value is None or value == "" else to_text(value)


def describe(value):
    """A one-line, secret-free description of a stored value (for diffs and messages). Only a valid
    Fernet key is named by fingerprint: a digest of anything else (a database URL with its password,
    a weak SECRET_KEY) could be reversed by guessing, so other values are never hashed."""
    fingerprint = key_fingerprint(value)
    if fingerprint:
        return "key %s" % fingerprint
    if isinstance(value, list):
        return "list of %d" % len(value)
    if isinstance(value, dict):
        return "mapping of %d" % len(value)
    if value is None:
        return "null"
    return "a value (not shown)"


def summary(data, other=None):
    """The diff side of ``data``: one line per variable, described by describe(). With ``other`` (the
    other side), a variable whose value differs there is marked "(changed)", so a diff names every
    changed variable without showing or hashing its value."""
    lines = []
    for name in sorted(data):
        value = data[name]
        # Creation times are not secret and are what a reviewer wants to see.
        shown = value if name.endswith("_created") and isinstance(value, str) else describe(value)
        if other is not None and name in other and other[name] != value:
            shown += " (changed)"
        lines.append("%s: %s\n" % (name, shown))
    return "".join(lines)


def native(value):
    """Plain Python types, so YAML can represent values that templating tagged."""
    if isinstance(value, dict):
        return dict((str(name), native(item)) for name, item in value.items())
    if isinstance(value, (list, tuple)):
        return [native(item) for item in value]
    if isinstance(value, bool) or value is None:
        return None if value is None else bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, bytes):
        return to_text(value)
    return str(value)


def read_bytes(path):
    """The bytes of the file at ``path``, or None when it does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError) as exc:
        if getattr(exc, "errno", None) == errno.ENOENT:
            return None
        raise VaultVarsError("cannot read %s: %s" % (path, exc.strerror or exc))


def check_vars(data, path):
    """The parsed vars file as a mapping (an empty file holds none)."""
    data = data or {}
    if not isinstance(data, dict):
        raise VaultVarsError("%s must hold a mapping of variables" % path)
    return data


def real_path(path):
    """The vault file behind ``path``, refusing a symlink someone else could have planted (see
    check_symlinks: the vault is written through the same one writer as a .env)."""
    try:
        return check_symlinks(path)
    except DotEnvError as exc:
        raise VaultVarsError(str(exc))


def file_state(path):
    """What identifies the file's content as read: (size, mtime_ns, inode, SHA-256 of the bytes), or None."""
    b_data = read_bytes(path)
    if b_data is None:
        return None
    stat = os.stat(path)
    return (stat.st_size, stat.st_mtime_ns, stat.st_ino, hashlib.sha256(b_data).hexdigest())


def lock_path_for(path):
    """The sidecar lock of a vars file: hidden, beside it (vars loaders skip dot files), never removed."""
    return os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".lock")


class VaultFileLock:
    """An exclusive flock on the sidecar of ``path`` for one read-edit-write. A second writer blocks
    until the first has written, then reads what the first wrote."""

    def __init__(self, path):
        self.path = lock_path_for(path)
        self.handle = None

    def __enter__(self):
        directory = os.path.dirname(self.path)
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o700)
        try:
            self.handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise VaultVarsError("cannot open the lock %s: %s" % (self.path, exc.strerror))
        fcntl.flock(self.handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc_info):
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        os.close(self.handle)


def write_text(path, text):
    """Write ``text`` (ciphertext) atomically, 0600, making a missing directory 0700."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    write_atomic(path, text, mode=0o600)


class Custody:
    """The key-related view and edits of one vars mapping (pure Python)."""

    def __init__(self, data, prefix, key_type="fernet"):
        # A templated prefix arrives tagged; the vars written back must hold plain names.
        prefix = native(prefix)
        self.data = data
        self.prefix = prefix
        self.key_type = native(key_type)
        self.current = prefix
        self.next = prefix + "_next"
        self.history = prefix + "_history"

    def fingerprint(self, value):
        """The fingerprint of a key of this prefix's type, or None when the value is not one."""
        if self.key_type == "fernet":
            return key_fingerprint(value)
        return secret_key_utils.fingerprint(value) if isinstance(value, str) and value else None

    def describe(self, value):
        """describe(), naming a SECRET_KEY by fingerprint only when it passes the application's check."""
        if self.key_type == "secret_key" and isinstance(value, str):
            try:
                secret_key_utils.check(value)
            except (ValueError, TypeError):
                return describe(value)
            return "key %s" % secret_key_utils.fingerprint(value)
        return describe(value)

    def _namer(self):
        """How the report names a key: its fingerprint; a weak SECRET_KEY by a label, never a fingerprint."""
        if self.key_type == "fernet":
            return self.fingerprint
        entries = [e for e in self.data.get(self.history) or [] if isinstance(e, dict)]
        values = [self.data.get(self.current), self.data.get(self.next)] + [e.get("key") for e in entries]
        label = secret_key_utils.Labels([v for v in values if isinstance(v, str)])
        return lambda value: label(value) if isinstance(value, str) and value else None

    def report(self, now):
        keys = {}
        name_of = self._namer()
        # Any Fernet key of the file is reported; SECRET_KEYs are only recognised by their names.
        names = self.data if self.key_type == "fernet" else [n for n in (self.current, self.next) if n in self.data]
        for name in sorted(names):
            fingerprint = self.fingerprint(self.data[name])
            if not fingerprint:
                continue
            created = self.data.get(name + "_created")
            moment = parse_time(created)
            keys[name] = dict(
                fingerprint=name_of(self.data[name]),
                created=text_or_none(created),
                age_days=(now - moment).days if moment else None,
            )
        history = []
        for entry in self.data.get(self.history) or []:
            if isinstance(entry, dict):
                history.append(dict(
                    fingerprint=(entry.get("fingerprint") or self.fingerprint(entry.get("key")) if self.key_type == "fernet"
                                 else name_of(entry.get("key")) or entry.get("fingerprint")),
                    created=text_or_none(entry.get("created")),
                    retired=text_or_none(entry.get("retired")),
                    reason=text_or_none(entry.get("reason")),
                    has_key=self.fingerprint(entry.get("key")) is not None,
                ))
        return keys, history

    def in_use(self, keys):
        """The current and next keys of ``keys`` (a report), by name and fingerprint."""
        return [dict(name=name, fingerprint=keys[name]["fingerprint"]) for name in (self.current, self.next) if name in keys]

    def check_keys(self, values):
        # A SECRET_KEY is checked when it is made (_next); the one in use is escrowed as it is, to be replaced.
        for name in (self.current, self.next) if self.key_type == "fernet" else (self.next,):
            if name in values:
                try:
                    if self.key_type == "fernet":
                        parse_key(values[name], name=name)
                    else:
                        secret_key_utils.check(values[name], name=name)
                except ValueError as exc:
                    raise VaultVarsError("%s: %s; nothing was written" % (name, exc))

    def apply_set(self, values, overwrite):
        for name, value in values.items():
            if not overwrite and name in self.data and self.data[name] != value and name.endswith("_created"):
                # A key's recorded creation time is never rewritten (a resumed escrow passes a later time).
                continue
            if not overwrite and name in self.data and self.data[name] != value:
                raise VaultVarsError(
                    "%s already holds %s, not the value given (%s); it is kept and nothing was written. "
                    "An unfinished rotation left it there: re-run the rotation, which resumes with that key."
                    % (name, self.describe(self.data[name]), self.describe(value)))
            self.data[name] = value

    def remove(self, names):
        for name in names:
            self.data.pop(name, None)

    def promote(self, reason, expect_fingerprint, now):
        """Make the next key current; the previous current key joins the history."""
        new_key = self.data.get(self.next)
        if new_key is None:
            current = self.fingerprint(self.data.get(self.current))
            if expect_fingerprint and current != expect_fingerprint:
                raise VaultVarsError(
                    "there is no %s to promote and the current key is %s, not %s"
                    % (self.next, self._namer()(self.data.get(self.current)) or "missing", expect_fingerprint))
            return
        new_fingerprint = self.fingerprint(new_key)
        if new_fingerprint is None:
            raise VaultVarsError("%s is not a valid key; fix the vault file by hand" % self.next)
        if expect_fingerprint and new_fingerprint != expect_fingerprint:
            raise VaultVarsError(
                "%s is %s, not the key in use %s; nothing was written" % (self.next, new_fingerprint, expect_fingerprint))
        old_key = self.data.get(self.current)
        if old_key is not None and old_key != new_key:
            history = list(self.data.get(self.history) or [])
            # A weak SECRET_KEY is recorded by its label: the report shows what is recorded.
            old_fingerprint = self._namer()(old_key)
            if not any(isinstance(e, dict) and e.get("key") == old_key for e in history):
                history.append(dict(
                    fingerprint=old_fingerprint,
                    key=old_key,
                    created=self.data.get(self.current + "_created"),
                    retired=utc_text(now),
                    reason=reason,
                ))
            self.data[self.history] = history
        self.data[self.current] = new_key
        self.data[self.current + "_created"] = self.data.get(self.next + "_created") or utc_text(now)
        self.data.pop(self.next, None)
        self.data.pop(self.next + "_created", None)


def key_sharing(vaults):
    """One key per environment, from vault_vars' results over every environment's vault file.

    ``vaults``: dicts with ``item`` (the vault file's path, <inventory>/group_vars/<env>/vault.yml),
    ``readable`` and, when readable, ``in_use`` (the keys in use, each with its ``fingerprint``).
    Returns ``ok`` and the ``message`` to show either way; ``shared`` maps a fingerprint to the
    environments that share it, in the order the files were read.
    """
    read = [vault for vault in vaults if vault.get("readable")]
    skipped = [vault["item"] for vault in vaults if not vault.get("readable")]
    by_key = {}
    for vault in read:
        environment = os.path.basename(os.path.dirname(vault["item"]))
        for key in vault.get("in_use") or []:
            environments = by_key.setdefault(key["fingerprint"], [])
            if environment not in environments:
                environments.append(environment)
    shared = dict((fingerprint, environments) for fingerprint, environments in by_key.items() if len(environments) > 1)
    compared = ["%s: %s" % (os.path.basename(os.path.dirname(vault["item"])), vault["item"]) for vault in read]
    not_compared = "; not compared (no vault secret given opens them): %s" % ", ".join(skipped) if skipped else ""
    if shared:
        message = "".join("Environments %s share the key %s. " % (" and ".join(environments), fingerprint)
                          for fingerprint, environments in shared.items())
        message += ("Each environment needs its own key: rotate all but one of them "
                    "(ansible-playbook playbooks/rotate_keys.yml -e env=ENV -e reason=compromise).")
    elif len(compared) < 2:
        message = ("One key per environment: nothing to compare, %d environment's vault file read (%s)%s. Name the "
                   "inventories of your other environments in webops_custody_inventories to compare them."
                   % (len(compared), ", ".join(compared) or "none", not_compared))
    else:
        message = ("One key per environment: %d vault files compared (%s), no two environments share a key%s."
                   % (len(compared), ", ".join(compared), not_compared))
    return dict(ok=not shared, message=message, shared=shared)
