# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side escrow: read and update an ansible-vault encrypted vars file.

The file is decrypted and re-encrypted in memory with the vault secrets the play was
started with; only ciphertext is ever written (atomically, 0600). Results name keys by
fingerprint only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os

import yaml

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.parsing.vault import VaultLib, is_encrypted, match_encrypt_secret
from ansible.plugins.action import ActionBase

from ansible_collections.webops.encryption.plugins.module_utils._dotenv import write_atomic
from ansible_collections.webops.encryption.plugins.module_utils.fernet import fingerprint_bytes, key_fingerprint, parse_key
from ansible_collections.webops.encryption.plugins.module_utils import secret_key as secret_key_utils

ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    set=dict(type="dict", default={}, no_log=True),
    remove=dict(type="list", elements="str", default=[]),
    overwrite=dict(type="bool", default=True),
    promote=dict(type="bool", default=False),
    promote_reason=dict(type="str", default="routine"),
    expect_fingerprint=dict(type="str"),
    prefix=dict(type="str", default="webops_encryption_key"),
    # fernet: the prefix names Fernet keys; secret_key: it names Django SECRET_KEYs (any text the app accepts).
    key_type=dict(type="str", default="fernet", choices=["fernet", "secret_key"]),
    vault_id=dict(type="str"),
    create=dict(type="bool", default=True),
    unreadable=dict(type="str", default="fail", choices=["fail", "report"]),
)


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
    """A one-line, secret-free description of a stored value (for diffs)."""
    fingerprint = key_fingerprint(value)
    if fingerprint:
        return "key %s" % fingerprint
    if isinstance(value, list):
        return "list of %d" % len(value)
    if isinstance(value, dict):
        return "mapping of %d" % len(value)
    if value is None:
        return "null"
    return "value %s" % fingerprint_bytes(to_bytes(value))


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


def summary(data):
    lines = []
    for name in sorted(data):
        value = data[name]
        # Creation times are not secret and are what a reviewer wants to see.
        shown = value if name.endswith("_created") and isinstance(value, str) else describe(value)
        lines.append("%s: %s\n" % (name, shown))
    return "".join(lines)


class Custody:
    """The key-related view and edits of one vars mapping (pure Python)."""

    def __init__(self, data, prefix, key_type="fernet"):
        self.data = data
        self.prefix = prefix
        self.key_type = key_type
        self.current = prefix
        self.next = prefix + "_next"
        self.history = prefix + "_history"

    def fingerprint(self, value):
        """The fingerprint of a key of this prefix's type, or None when the value is not one."""
        if self.key_type == "fernet":
            return key_fingerprint(value)
        return secret_key_utils.fingerprint(value) if isinstance(value, str) and value else None

    def report(self, now):
        keys = {}
        # Any Fernet key of the file is reported; SECRET_KEYs are only recognised by their names.
        names = self.data if self.key_type == "fernet" else [n for n in (self.current, self.next) if n in self.data]
        for name in sorted(names):
            fingerprint = self.fingerprint(self.data[name])
            if not fingerprint:
                continue
            created = self.data.get(name + "_created")
            moment = parse_time(created)
            keys[name] = dict(
                fingerprint=fingerprint,
                created=text_or_none(created),
                age_days=(now - moment).days if moment else None,
            )
        history = []
        for entry in self.data.get(self.history) or []:
            if isinstance(entry, dict):
                history.append(dict(
                    fingerprint=entry.get("fingerprint") or self.fingerprint(entry.get("key")),
                    created=text_or_none(entry.get("created")),
                    retired=text_or_none(entry.get("retired")),
                    reason=text_or_none(entry.get("reason")),
                    has_key=self.fingerprint(entry.get("key")) is not None,
                ))
        return keys, history

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
                    % (name, describe(self.data[name]), describe(value)))
            self.data[name] = value

    def promote(self, reason, expect_fingerprint, now):
        """Make the next key current; the previous current key joins the history."""
        new_key = self.data.get(self.next)
        if new_key is None:
            current = self.fingerprint(self.data.get(self.current))
            if expect_fingerprint and current != expect_fingerprint:
                raise VaultVarsError(
                    "there is no %s to promote and the current key is %s, not %s"
                    % (self.next, current or "missing", expect_fingerprint))
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
            old_fingerprint = self.fingerprint(old_key)
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


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        del validation
        try:
            result.update(self._run(args))
        except VaultVarsError as exc:
            result.update(failed=True, changed=False, msg=str(exc))
        return result

    def _secrets(self):
        secrets = list(getattr(getattr(self._loader, "_vault", None), "secrets", None) or [])
        if not secrets:
            try:
                from ansible.parsing.vault import VaultSecretsContext
            except ImportError:
                VaultSecretsContext = None
            context = VaultSecretsContext.current(optional=True) if VaultSecretsContext else None
            secrets = list(context.secrets) if context else []
        if not secrets:
            raise VaultVarsError(
                "no vault secret is loaded: run ansible-playbook with --vault-password-file FILE or --vault-id LABEL@FILE; "
                "key escrow is never written unencrypted")
        return secrets

    def _read(self, path, vault):
        """(data, vault_id, secret) of an existing file, or (None, None, None) when it does not exist."""
        try:
            with open(path, "rb") as handle:
                b_data = handle.read()
        except (IOError, OSError) as exc:
            if getattr(exc, "errno", None) == 2:
                return None, None, None
            raise VaultVarsError("cannot read %s: %s" % (path, exc.strerror or exc))
        if not is_encrypted(b_data):
            raise VaultVarsError(
                "%s is not ansible-vault encrypted; encrypt it first (ansible-vault encrypt %s) so no key is kept in clear"
                % (path, path))
        try:
            b_plain, vault_id, secret = vault.decrypt_and_get_vault_id(b_data)
        except AnsibleError:
            raise VaultVarsError("none of the loaded vault secrets opens %s; pass its --vault-id / --vault-password-file" % path)
        try:
            data = yaml.safe_load(to_text(b_plain)) or {}
        except yaml.YAMLError as exc:
            raise VaultVarsError("%s does not hold YAML vars (%s)" % (path, getattr(exc, "problem", "parse error")))
        if not isinstance(data, dict):
            raise VaultVarsError("%s must hold a mapping of variables" % path)
        return data, vault_id, secret

    def _run(self, args):
        path = os.path.realpath(os.path.expanduser(args["path"]))
        editing = bool(args["set"] or args["remove"] or args["promote"])
        try:
            secrets = self._secrets()
            vault = VaultLib(secrets)
            data, vault_id, secret = self._read(path, vault)
        except VaultVarsError as exc:
            if editing or args["unreadable"] != "report":
                raise
            return dict(changed=False, path=path, exists=os.path.exists(path), readable=False, msg=str(exc),
                        names=[], by_key={}, history=[], in_use=[], verified=False)
        exists = data is not None
        if not exists:
            data = {}
        before = dict(data)
        custody = Custody(dict(data), args["prefix"], args["key_type"])
        now = utc_now()

        values = native(args["set"])
        custody.check_keys(values)
        custody.apply_set(values, args["overwrite"])
        for name in args["remove"]:
            custody.data.pop(name, None)
        if args["promote"]:
            custody.promote(native(args["promote_reason"]), native(args["expect_fingerprint"]), now)
        after = custody.data
        changed = after != before
        if changed and not exists and not args["create"]:
            raise VaultVarsError("%s does not exist and create=false" % path)

        if changed and not self._task.check_mode:
            if secret is None:
                vault_id, secret = self._encrypt_secret(secrets, args["vault_id"])
            plain = yaml.safe_dump(after, default_flow_style=False, sort_keys=False, allow_unicode=True)
            label = vault_id if vault_id and vault_id != "default" else None
            b_vaulttext = vault.encrypt(plain, secret, vault_id=label)
            directory = os.path.dirname(path)
            if not os.path.isdir(directory):
                os.makedirs(directory, 0o700)
            write_atomic(path, to_text(b_vaulttext), mode=0o600)
            written, dummy, dummy = self._read(path, vault)
            if written != after:
                raise VaultVarsError("%s did not read back as written; check the disk and re-run" % path)

        custody = Custody(after, args["prefix"], args["key_type"])
        keys, history = custody.report(now)
        in_use = [dict(name=name, fingerprint=keys[name]["fingerprint"]) for name in (custody.current, custody.next) if name in keys]
        result = dict(
            changed=changed,
            path=path,
            exists=exists or (changed and not self._task.check_mode),
            readable=True,
            names=sorted(after),
            by_key=keys,
            history=history,
            in_use=in_use,
            verified=bool(editing and changed and not self._task.check_mode),
        )
        if self._task.diff and changed:
            result["diff"] = dict(before=summary(before), after=summary(after),
                                  before_header=path, after_header=path)
        return result

    @staticmethod
    def _encrypt_secret(secrets, wanted):
        try:
            found = match_encrypt_secret(secrets, wanted or None)
        except AnsibleError as exc:
            raise VaultVarsError(str(exc))
        if not found:
            raise VaultVarsError("no vault secret to encrypt with; pass --vault-id")
        return found
