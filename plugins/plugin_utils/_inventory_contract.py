# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""What an inventory must give the playbooks, and the check that names every missing or invalid
variable at once (with what it is and an example) before any host is touched.

Plain Python: the caller passes, per host, a mapping it can read variables from (Ansible's
hostvars in the filter plugin, dicts in the unit tests).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

try:
    import pwd
    import grp
except ImportError:  # pragma: no cover - not on a POSIX controller
    pwd = grp = None

_MISSING = object()
# The roles' default owner and group of the .env.
DEFAULT_ACCOUNT = "webops"

# The one variable every host of an environment must set: nothing else can know where the .env is,
# and a wrong guess would make setup create a fresh .env beside the application's real one.
REQUIRED = (
    ("webops_env_file", "the absolute path of the WebOps .env on the host (holds ENCRYPTION_KEY and DATABASE_URL)",
     "/opt/webops/.env"),
)


def _is_absolute(value):
    return isinstance(value, str) and os.path.isabs(value)


def _is_bool(value):
    return isinstance(value, bool) or (isinstance(value, str) and value.lower() in ("true", "false", "yes", "no"))


def _is_int(value, low, high=None):
    if isinstance(value, bool):
        return False
    try:
        number = int(str(value))
    except ValueError:
        return False
    return number >= low and (high is None or number <= high)


def _is_number(value, low):
    if isinstance(value, bool):
        return False
    try:
        return float(str(value)) >= low
    except ValueError:
        return False


def _is_string_list(value):
    return isinstance(value, (list, tuple)) and all(isinstance(item, str) and item for item in value)


# Optional variables (each has a default in the roles): checked only when the inventory sets them.
# name: (what it is, example, test)
OPTIONAL = (
    ("webops_env_file_link", "the control panel's link to the .env, or '' for none", "/opt/webops/control-panel/.env",
     lambda v: v == "" or _is_absolute(v)),
    ("webops_owner", "the user owning the .env, or '' to leave ownership alone", "webops",
     lambda v: isinstance(v, str)),
    ("webops_group", "the group of the .env, or '' to leave it alone", "webops", lambda v: isinstance(v, str)),
    ("webops_services", "the systemd units restarted with the new key (a list)", "[webops-control-panel, webops-celery-worker]",
     _is_string_list),
    ("webops_manage_services", "whether the playbooks stop, start and restart webops_services (true/false)", "true", _is_bool),
    ("webops_rotation_strategy", "offline (stop the units while rows are re-encrypted) or online", "offline",
     lambda v: v in ("offline", "online")),
    ("webops_python_interpreter", "the Python the modules run under on the host, or '' for the discovered one",
     "/opt/webops/control-panel/venv/bin/python", lambda v: v == "" or _is_absolute(v)),
    ("webops_database_url", "DATABASE_URL for the database work, or '' to read it from the host's .env (vault it)",
     "postgresql://webops:PASSWORD@localhost:5432/webops",
     lambda v: isinstance(v, str) and (v == "" or re.match(r"^(sqlite:///|postgres(ql)?(\+\w+)?://)", v) is not None)),
    ("webops_database_batch_size", "rows per database transaction (1 to 100000)", "5000", lambda v: _is_int(v, 1, 100000)),
    ("webops_rotation_days", "days between rotations (a positive number)", "90", lambda v: _is_int(v, 1)),
    ("webops_progress_interval", "seconds between progress lines of the database work, 0 for none", "5",
     lambda v: _is_number(v, 0)),
    ("webops_custody_inventories", "the inventories of your other environments, compared for one key per environment",
     "[/srv/ops/staging/hosts.yml, /srv/ops/prod/hosts.yml]", _is_string_list),
)


def _read(variables, name):
    """The value, _MISSING, or an exception naming why it cannot be read."""
    try:
        if name not in variables:
            return _MISSING
        return variables[name]
    except Exception as exc:  # pylint: disable=broad-except  # templating errors of any kind
        return exc


def _host_is_local(variables):
    value = _read(variables, "ansible_connection")
    return value == "local"


def _account_problem(kind, name):
    """Whether user/group ``name`` exists on this machine (only asked for hosts reached locally)."""
    if not name or pwd is None:
        return None
    try:
        (pwd.getpwnam if kind == "user" else grp.getgrnam)(name)
    except KeyError:
        return "no %s %r on this machine" % (kind, name)
    return None


def problems(hosts):
    """``hosts``: {host name: variables}. Returns one line per problem, grouped by variable (the
    hosts that share a problem are named together)."""
    found = {}

    def add(name, what, example, hosts_text):
        found.setdefault((name, what, example), []).append(hosts_text)

    for host in sorted(hosts):
        variables = hosts[host]
        for name, what, example in REQUIRED:
            value = _read(variables, name)
            if value is _MISSING or value is None or value == "":
                add(name, "missing: %s" % what, example, host)
            elif isinstance(value, Exception):
                add(name, "cannot be read (%s): %s" % (_first_line(value), what), example, host)
            elif not _is_absolute(value):
                add(name, "must be an absolute path: %s" % what, example, host)
        for name, what, example, test in OPTIONAL:
            value = _read(variables, name)
            if value is _MISSING:
                continue
            if isinstance(value, Exception):
                add(name, "cannot be read (%s): %s" % (_first_line(value), what), example, host)
            elif not test(value):
                add(name, "invalid value %s: %s" % (_shown(name, value), what), example, host)
        if _host_is_local(variables):
            # The one host whose accounts the controller can see before touching it.
            for kind, name in (("user", "webops_owner"), ("group", "webops_group")):
                value = _read(variables, name)
                unset = value is _MISSING
                value = DEFAULT_ACCOUNT if unset else value
                problem = _account_problem(kind, value) if isinstance(value, str) else None
                if problem:
                    add(name, "%s%s (the host is this machine): set an existing %s, or '' to leave ownership alone"
                        % ("not set, and the default: " if unset else "", problem, kind), "webops", host)
    lines = []
    for (name, what, example), names in sorted(found.items()):
        lines.append("%s on %s: %s. Example: %s: %s" % (name, ", ".join(names), what, name, example))
    return lines


def _shown(name, value):
    # A database URL may hold a password: never echo it.
    if name == "webops_database_url":
        return "(not shown)"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _first_line(exc):
    text = str(exc).strip().splitlines()
    return text[0][:160] if text else type(exc).__name__
