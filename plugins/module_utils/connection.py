# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the database modules share: the connection/column argument spec (documented once in
doc_fragments/connection.py), reading DATABASE_URL and keys from the app's .env, and turning
engine errors into module failures."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.webops.encryption.plugins.module_utils import columns as columns_utils
from ansible_collections.webops.encryption.plugins.module_utils import _db as db_utils
from ansible_collections.webops.encryption.plugins.module_utils import engine
from ansible_collections.webops.encryption.plugins.module_utils import fernet as fernet_utils
from ansible_collections.webops.encryption.plugins.module_utils._dotenv import DotEnvError, read_env_file
from ansible_collections.webops.encryption.plugins.module_utils._progress import Progress, refuse_existing

CURRENT_KEY_NAME = "ENCRYPTION_KEY"
OLD_KEY_NAME = "OLD_ENCRYPTION_KEY"


def connection_argument_spec():
    return dict(
        database_url=dict(type="str", no_log=True),
        env_file=dict(type="path"),
        profile=dict(type="str", default="webops", choices=list(columns_utils.PROFILES)),
        columns=dict(type="list", elements="dict", default=[], options=dict(
            table=dict(type="str", required=True),
            column=dict(type="str", required=True),
            pk=dict(type="str", default="id"),
            where=dict(type="str"),
            json_keys=dict(type="str", no_log=False),
            on_lost=dict(type="str", default=columns_utils.ON_LOST_CLEAR, choices=list(columns_utils.ON_LOST_CHOICES)),
        )),
        batch_size=dict(type="int", default=5000),
        progress_file=dict(type="path"),
    )


CONNECTION_REQUIRED_ONE_OF = [("database_url", "env_file")]


def missing_library(library, debian_package):
    """Ansible's missing-library message, plus where this collection sets the Python and what to install."""
    return ("%s webops.encryption: set webops_python_interpreter to a Python that has %s (the control panel's "
            "virtualenv, for example /opt/webops/control-panel/venv/bin/python), or install it into this Python "
            "(Debian: apt-get install %s, or webops_install_python_deps: true)."
            % (missing_required_lib(library), library, debian_package))


def option_message(exc):
    """An engine error's message in module options (the engine names none): a column too narrow
    for its tokens can be widened by the run (widen_columns of fernet_encrypt and fernet_rotate)."""
    if isinstance(exc, engine.ColumnTooNarrow):
        return exc.finding + " (or set widen_columns=true to have it done, in its own transaction, before any token is written)"
    return str(exc)


class DatabaseTask:
    """The connection side of one module run: DATABASE_URL, keys from .env, column specs."""

    def __init__(self, module):
        self.module = module
        if not fernet_utils.HAS_CRYPTOGRAPHY:
            module.fail_json(msg=missing_library("cryptography", "python3-cryptography"), exception=fernet_utils.CRYPTOGRAPHY_IMPORT_ERROR)
        params = module.params
        self.env = None
        if params["env_file"]:
            try:
                self.env = read_env_file(params["env_file"])
            except DotEnvError as exc:
                module.fail_json(msg=str(exc))
        # Per-column timings for the results, and the status file the action plugin reads.
        refused = refuse_existing(params.get("progress_file"))
        if refused:
            module.fail_json(msg=refused)
        self.progress = Progress(params.get("progress_file"))
        self.url = params["database_url"] or self.env_value("DATABASE_URL")
        if not self.url:
            module.fail_json(msg="no database: give database_url, or env_file whose DATABASE_URL is set (%s has none)"
                             % params["env_file"])
        self._mask_url()
        if self.url.split(":", 1)[0].lower().startswith("postgres") and not db_utils.has_psycopg():
            module.fail_json(msg=missing_library(db_utils.PSYCOPG_LIBRARY, "python3-psycopg2"), exception=db_utils.PSYCOPG_IMPORT_ERROR)
        try:
            self.specs = columns_utils.resolve(params["profile"], params["columns"])
        except columns_utils.ColumnSpecError as exc:
            module.fail_json(msg=str(exc))

    def env_value(self, name):
        """A value from env_file; it gets the same output masking as a no_log option
        (DATABASE_URL: see _mask_url)."""
        value = self.env.get(name) if self.env is not None else None
        if value and name != "DATABASE_URL":
            self.module.no_log_values.add(value)
        return value

    def _mask_url(self):
        """Only the password of DATABASE_URL is secret: Ansible masks every form of it in the
        output, while ``database`` shows the rest. A URL without a password (a SQLite path) is no
        secret, and masking it would hide the very database a run meant."""
        passwords = db_utils.url_passwords(self.url)
        if passwords:
            self.module.no_log_values.update([self.url] + passwords)
        else:
            self.module.no_log_values.discard(self.url)

    def key(self, option, env_name, required=True):
        """The key from ``option`` if given, else ``env_name`` from env_file, parsed; None if absent and not required."""
        value = self.module.params.get(option)
        source = option
        if not value and self.env is not None:
            value = self.env_value(env_name)
            source = "%s in %s" % (env_name, self.module.params["env_file"])
        if not value:
            if not required:
                return None
            where = " or %s in env_file" % env_name if env_name else ""
            self.module.fail_json(msg="%s not configured: give %s%s" % (env_name or option, option, where))
        try:
            return fernet_utils.parse_key(value, env_name or option)
        except ValueError as exc:
            self.module.fail_json(msg="%s (from %s)" % (exc, source))

    def keys(self, option, env_name):
        """A list option of keys, else [env_name] from env_file when it is set there, else []."""
        values = self.module.params.get(option)
        if values:
            parsed = []
            for index, value in enumerate(values):
                try:
                    parsed.append(fernet_utils.parse_key(value, "%s[%d]" % (option, index)))
                except ValueError as exc:
                    self.module.fail_json(msg=str(exc))
            return parsed
        found = self.key(option, env_name, required=False) if self.env is not None else None
        return [found] if found is not None else []

    def run(self, operation, messages=option_message, **extra_result):
        """Open the database, run ``operation(db, specs)`` and exit with its result. ``messages(exc)``
        is an engine error's message as the module's user reads it (the engine names no option)."""
        module = self.module
        try:
            with engine.connect(self.url) as db:
                result = operation(db, self.specs)
            self.progress.add_timings(result.get("columns", []))
        except engine.UnknownTokens as exc:
            module.fail_json(msg=messages(exc), unknown=exc.details, database=self.database, **extra_result)
        except engine.ColumnTooNarrow as exc:
            module.fail_json(msg=messages(exc), too_narrow=exc.details, database=self.database, **extra_result)
        except engine.EngineError as exc:
            module.fail_json(msg=messages(exc), database=self.database, **extra_result)
        except ImportError as exc:
            module.fail_json(msg=str(exc))
        finally:
            self.progress.close()
        result.update(extra_result)
        result["database"] = self.database
        return result

    @property
    def database(self):
        return db_utils.describe_url(self.url)
