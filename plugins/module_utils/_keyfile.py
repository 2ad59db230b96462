# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""Module-side plumbing shared by fernet_key and env_file.

Reading the ``.env`` with errors turned into clear ``fail_json`` messages, checking
``owner``/``group`` before anything is written, ``0600`` timestamped backups, the
atomic write plus file attributes, and diffs that name variables but show only
fingerprints of their values.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import hashlib
import hmac
import os
import pwd
import time

from ansible_collections.webops.encryption.plugins.module_utils._dotenv import (
    DotEnv,
    DotEnvError,
    check_symlinks,
    read_env_file,
    resolve,
    write_atomic,
)
from ansible_collections.webops.encryption.plugins.module_utils.fernet import key_fingerprint

# Merged with add_file_common_args=True: files holding keys default to 0600.
FILE_ARGUMENT_SPEC = dict(
    mode=dict(type="raw", default="0600"),
)

BACKUP_TIME_FORMAT = "%Y-%m-%d@%H:%M:%S"


class EnvFile:
    """One ``.env`` edited by a module: load, change in memory, then ``commit``."""

    def __init__(self, module, path, create):
        self.module = module
        self.path = path
        self.target = resolve(path)
        self.create = create
        self.existed = os.path.lexists(self.target)
        self.env = None
        self.original = None
        self.uid, self.gid = self._wanted_owner()

    def load(self):
        """Parse the file; fail (nothing written) when it cannot be edited safely."""
        if not self.existed and not self.create:
            self.module.fail_json(msg="%s does not exist; create it first or set create=true" % self.path)
        try:
            check_symlinks(self.path, self.uid)
            self.env = read_env_file(self.path, missing_ok=self.create)
        except DotEnvError as exc:
            self.module.fail_json(msg=str(exc))
        self.original = self.env.render()
        return self.env

    def _wanted_owner(self):
        """Resolve owner/group names up front, so an unknown one fails before the write."""
        params = self.module.params
        uid = gid = None
        if params.get("owner") is not None:
            uid = _lookup_id(self.module, params["owner"], lambda n: pwd.getpwnam(n).pw_uid, "owner", "user")
        if params.get("group") is not None:
            gid = _lookup_id(self.module, params["group"], lambda n: grp.getgrnam(n).gr_gid, "group", "group")
        return uid, gid

    @property
    def content_changed(self):
        return self.env.render() != self.original

    def commit(self, backup=False):
        """Write the new text (atomically) and apply mode/owner/group/SELinux attributes.

        Returns (changed, backup_file, attribute_diff). In check mode nothing is touched
        and ``changed`` says what a real run would do.
        """
        module = self.module
        changed = self.content_changed
        backup_file = None
        if changed and not module.check_mode:
            if backup and self.existed:
                backup_file = make_backup(module, self.target)
            try:
                write_atomic(self.path, self.env.render(), mode=_octal_mode(module.params.get("mode")),
                             owner_uid=self.uid, owner_gid=self.gid)
            except (IOError, OSError) as exc:
                module.fail_json(msg="cannot write %s: %s" % (self.path, exc.strerror or exc), backup_file=backup_file)
            except DotEnvError as exc:
                module.fail_json(msg=str(exc), backup_file=backup_file)
        attribute_diff = {}
        if os.path.exists(self.target):
            file_args = module.load_file_common_arguments(module.params, path=self.target)
            changed = module.set_fs_attributes_if_different(file_args, changed, diff=attribute_diff)
        return changed, backup_file, attribute_diff

    def diff(self, attribute_diff=None):
        """Ansible diff entries: variable names with value fingerprints, never values."""
        tagger = ValueTagger()
        entries = [dict(
            before_header="%s (values shown as fingerprints)" % self.path,
            after_header="%s (values shown as fingerprints)" % self.path,
            before=tagger.listing(DotEnv(self.original)),
            after=tagger.listing(self.env),
        )]
        if attribute_diff:
            entries.append(attribute_diff)
        return entries


def _lookup_id(module, value, getter, option, kind):
    """A numeric id as is, else the id of the named user or group."""
    text = str(value)
    if text.isdigit():
        return int(text)
    try:
        return getter(text)
    except KeyError:
        module.fail_json(msg="%s=%s: no such %s on this host; create it first" % (option, text, kind))


def _octal_mode(mode):
    """The mode the temp file is created with. Symbolic modes start from 0600 and are
    applied afterwards by set_fs_attributes_if_different (never wider in between)."""
    if isinstance(mode, int):
        return mode & 0o7777
    text = str(mode or "")
    if text and all(c in "01234567" for c in text):
        return int(text, 8) & 0o7777
    return 0o600


def make_backup(module, target):
    """Copy ``target`` next to itself, ``0600``, same owner, named only by time and pid."""
    source = os.stat(target)
    backup = "%s.%d.%s~" % (target, os.getpid(), time.strftime(BACKUP_TIME_FORMAT, time.localtime()))
    try:
        with open(target, "rb") as handle:
            data = handle.read()
        fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except (IOError, OSError) as exc:
        module.fail_json(msg="cannot back up %s (nothing was changed): %s" % (target, exc.strerror or exc))
    try:
        try:
            os.fchmod(fd, 0o600)
            if os.geteuid() == 0:
                os.fchown(fd, source.st_uid, source.st_gid)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
    except (IOError, OSError) as exc:
        # A partial backup (disk full) is worse than none: it would look like a good copy.
        try:
            os.unlink(backup)
        except OSError:
            pass
        module.fail_json(msg="cannot back up %s (nothing was changed): %s" % (target, exc.strerror or exc))
    return backup


class ValueTagger:
    """Printable stand-ins for values.

    A Fernet key shows as its fingerprint (the one every other module reports). Any
    other value shows as a tag keyed by a random secret that lives only for this run:
    equal values get equal tags within one diff, yet a tag cannot be matched against
    guessed passwords or compared across runs.
    """

    def __init__(self):
        self._secret = os.urandom(32)

    def tag(self, value):
        if value is None or value == "":
            return ""
        fingerprint = key_fingerprint(value)
        if fingerprint:
            return "<fernet key %s>" % fingerprint
        digest = hmac.new(self._secret, value.encode("utf-8"), hashlib.sha256).hexdigest()[:12]
        return "<hidden value %s>" % digest

    def listing(self, env):
        return "".join("%s=%s\n" % (name, self.tag(env.get(name))) for name in env.names())
