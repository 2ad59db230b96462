# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""Read and write a ``.env`` the way python-decouple and systemd ``EnvironmentFile=`` read it.

Every line the caller does not touch is kept byte for byte (comments, blank lines,
quoting, CRLF endings, a missing final newline). Writes are atomic: a temp file in
the target's directory, created ``0600``, fsync'd, renamed over the target (the
symlink's target, never the link), then the directory fsync'd. Error messages name
lines and variables, never values.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import stat
import tempfile

# Both used with fullmatch: "$" alone would also match before a final newline.
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Characters both decouple (no quoting needed) and systemd read literally when unquoted.
_SAFE_VALUE_RE = re.compile(r"[A-Za-z0-9_+/=.,:@%-]*")
_LINE_RE = re.compile(r"[^\n]*\n|[^\n]+\Z")


class DotEnvError(ValueError):
    """A .env that cannot be edited safely. Messages hold no values."""


def valid_name(name):
    return bool(_NAME_RE.fullmatch(name or ""))


def _unquote(value):
    """Decouple strips quotes only when they match at both ends."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def format_value(value):
    """Render a value so decouple and systemd read back the same string."""
    if _SAFE_VALUE_RE.fullmatch(value):
        return value
    if "'" not in value and "\\" not in value and "\n" not in value and "\r" not in value:
        return "'%s'" % value
    raise DotEnvError("a value contains quotes, backslashes or newlines together, which decouple "
                      "and systemd read differently; set it by hand")


class DotEnv:
    """A parsed .env: a list of raw lines plus an index of variable lines."""

    def __init__(self, text, path=None):
        self.path = path
        self.newline = "\r\n" if "\r\n" in text else "\n"
        # Split on "\n" only: str.splitlines() also breaks at \x0c, \x85, \u2028..., which
        # decouple and systemd read as part of a value.
        self.lines = _LINE_RE.findall(text)
        self._index = {}
        where = " in %s" % path if path else ""
        for number, line in enumerate(self.lines):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if stripped.startswith("export ") or stripped.startswith("export\t"):
                raise DotEnvError("line %d%s starts with 'export ', which python-decouple reads as part of the "
                                  "variable name; remove the prefix" % (number + 1, where))
            if "=" not in stripped:
                raise DotEnvError("line %d%s is neither a comment nor NAME=value; fix or remove it"
                                  % (number + 1, where))
            name = stripped.split("=", 1)[0].strip()
            if not valid_name(name):
                raise DotEnvError("line %d%s does not start with a valid variable name" % (number + 1, where))
            if name in self._index:
                raise DotEnvError("%s is defined twice%s (lines %d and %d); decouple and systemd would read "
                                  "different values, so remove one" % (name, where, self._index[name] + 1, number + 1))
            self._index[name] = number

    @classmethod
    def from_bytes(cls, data, path=None):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DotEnvError("%s is not UTF-8 text (line %d, byte %d); python-decouple cannot read it; "
                              "convert it to UTF-8" % (path or "the .env file", data.count(b"\n", 0, exc.start) + 1,
                                                       exc.start))
        return cls(text, path)

    def names(self):
        return sorted(self._index)

    def __contains__(self, name):
        return name in self._index

    def get(self, name, default=None):
        if name not in self._index:
            return default
        line = self.lines[self._index[name]].strip()
        return _unquote(line.split("=", 1)[1].strip())

    def set(self, name, value):
        """Set a variable; return True when the file text changes."""
        if not valid_name(name):
            raise DotEnvError("%r is not a valid variable name" % name)
        if name in self._index and self.get(name) == value:
            return False
        rendered = "%s=%s" % (name, format_value(value))
        if name in self._index:
            number = self._index[name]
            old = self.lines[number]
            ending = old[len(old.rstrip("\r\n")):]
            self.lines[number] = rendered + ending
        else:
            if self.lines and not self.lines[-1].endswith("\n"):
                self.lines[-1] += self.newline
            self._index[name] = len(self.lines)
            self.lines.append(rendered + self.newline)
        return True

    def remove(self, name):
        """Remove a variable; return True when it was there."""
        if name not in self._index:
            return False
        number = self._index.pop(name)
        del self.lines[number]
        for other, at in self._index.items():
            if at > number:
                self._index[other] = at - 1
        return True

    def render(self):
        return "".join(self.lines)


def resolve(path):
    """The real file behind ``path`` (symlinks followed), so the link itself is kept."""
    return os.path.realpath(path)


def read_env_file(path, missing_ok=False):
    """Parse ``path``. Missing file: an empty DotEnv with ``missing_ok``, else an error."""
    target = resolve(path)
    try:
        # A FIFO or a device would block or never end: only regular files are read.
        if os.path.exists(target) and not os.path.isfile(target):
            raise DotEnvError("%s is not a regular file; give the path of the .env file" % path)
        with open(target, "rb") as handle:
            data = handle.read()
    except (IOError, OSError) as exc:
        if missing_ok and getattr(exc, "errno", None) == 2:
            directory = os.path.dirname(target) or "."
            if not os.path.isdir(directory):
                raise DotEnvError("the directory %s of %s does not exist; create it first" % (directory, path))
            return DotEnv("", path)
        raise DotEnvError("cannot read %s: %s" % (path, exc.strerror or exc))
    return DotEnv.from_bytes(data, path)


def _symlinks_met(path):
    """(the real path, [(link, its owner uid)] of every symlink met resolving ``path``, directories too)."""
    links = []
    parts = os.path.abspath(path).split(os.sep)[1:]
    current = os.sep
    hops = 0
    while parts:
        part = parts.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            current = os.path.dirname(current)
            continue
        candidate = os.path.join(current, part)
        try:
            info = os.lstat(candidate)
        except OSError:
            current = os.path.join(candidate, *parts) if parts else candidate
            break
        if not stat.S_ISLNK(info.st_mode):
            current = candidate
            continue
        hops += 1
        if hops > 40:
            raise DotEnvError("%s: too many levels of symbolic links" % path)
        links.append((candidate, info.st_uid))
        link = os.readlink(candidate)
        if os.path.isabs(link):
            current = os.sep
        parts = link.split(os.sep) + parts
    return os.path.normpath(current), links


def check_symlinks(path, trusted_uid=None):
    """Refuse (DotEnvError) to write through a symlink that someone else could have planted.

    A symlink owned by root or by the user running the write is trusted. Any other one (say the
    application's account owns the .env's directory and points .env at /etc/shadow) is followed
    only when the file it leads to (its directory, for a file not created yet) belongs to that
    link's owner or to ``trusted_uid`` (webops_owner). Returns the real path."""
    target, links = _symlinks_met(path)
    trusted = (0, os.geteuid())
    untrusted = [(link, uid) for link, uid in links if uid not in trusted]
    if not untrusted:
        return target
    try:
        found = target if os.path.lexists(target) else os.path.dirname(target)
        owner = os.stat(found).st_uid
    except OSError:
        return target  # nothing there to harm: the write fails on its own
    for link, uid in untrusted:
        if owner not in (uid, trusted_uid):
            raise DotEnvError("%s is reached through the symlink %s, owned by uid %d, but leads to %s, owned by uid %d: "
                              "a link someone else owns must lead to a file of that owner or of webops_owner. Nothing "
                              "was written; check the link, then make root own it (chown -h root %s) or point it at "
                              "the real file" % (path, link, uid, found, owner, link))
    return target


def write_atomic(path, text, mode=0o600, owner_uid=None, owner_gid=None):
    """Atomically replace the file behind ``path`` with ``text``.

    The temp file is created with ``mode`` already applied (never wider), so no
    reader ever sees a key in a world-readable file, whatever the umask. An existing
    file's owner and group are kept unless others are given. A symlink is followed only
    as check_symlinks() allows (``owner_uid``, webops_owner, is the trusted owner).
    """
    target = check_symlinks(path, owner_uid)
    directory = os.path.dirname(target) or "."
    try:
        current = os.stat(target)
    except OSError:
        current = None
    uid = owner_uid if owner_uid is not None else (current.st_uid if current else -1)
    gid = owner_gid if owner_gid is not None else (current.st_gid if current else -1)
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(target), suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, stat.S_IMODE(mode))
        if uid != -1 or gid != -1:
            if os.geteuid() == 0 or uid in (-1, os.geteuid()):
                os.fchown(fd, uid, gid)
        data = text.encode("utf-8")
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
        os.close(fd)
        fd = None
        os.rename(tmp, target)
        tmp = None
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    finally:
        if fd is not None:
            os.close(fd)
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return target


def append_line(path, line, mode=0o600):
    """Append one line to a log (an audit trail): created ``mode`` (its directory 0700), synced."""
    directory = os.path.dirname(path)
    if directory:
        # exist_ok: forks for hosts that share this machine may create it at the same moment.
        os.makedirs(directory, 0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, mode)
    try:
        if os.fstat(fd).st_mode & 0o777 != mode:
            os.fchmod(fd, mode)
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
