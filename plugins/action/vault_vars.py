# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side escrow: read and update an ansible-vault encrypted vars file.

The file is decrypted and re-encrypted in memory with the vault secrets the play was
started with; only ciphertext is ever written (atomically, 0600). Results name keys by
fingerprint only. What the escrow holds and how it changes is plugin_utils/_custody.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import yaml

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.parsing.vault import VaultLib, is_encrypted, match_encrypt_secret
from ansible.plugins.action import ActionBase

from ansible_collections.webops.encryption.plugins.plugin_utils._custody import (
    Custody,
    VaultVarsError,
    check_vars,
    file_state,
    native,
    read_bytes,
    real_path,
    summary,
    utc_now,
    VaultFileLock,
    write_text,
)

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
        b_data = read_bytes(path)
        if b_data is None:
            return None, None, None
        if not is_encrypted(b_data):
            raise VaultVarsError(
                "%s is not ansible-vault encrypted; encrypt it first (ansible-vault encrypt %s) so no key is kept in clear"
                % (path, path))
        try:
            b_plain, vault_id, secret = vault.decrypt_and_get_vault_id(b_data)
        except AnsibleError:
            raise VaultVarsError("none of the loaded vault secrets opens %s; pass its --vault-id / --vault-password-file" % path)
        try:
            data = yaml.safe_load(to_text(b_plain))
        except yaml.YAMLError as exc:
            raise VaultVarsError("%s does not hold YAML vars (%s)" % (path, getattr(exc, "problem", "parse error")))
        return check_vars(data, path), vault_id, secret

    def _run(self, args):
        path = real_path(os.path.expanduser(args["path"]))
        editing = bool(args["set"] or args["remove"] or args["promote"])
        if editing and not self._task.check_mode:
            # Read, edit and write under one lock: a second escrow waits, then sees the first one's write.
            with VaultFileLock(path):
                return self._edit(args, path, editing)
        return self._edit(args, path, editing)

    def _edit(self, args, path, editing):
        try:
            secrets = self._secrets()
            vault = VaultLib(secrets)
            read_as = file_state(path)
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
        custody.remove(args["remove"])
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
            ciphertext = to_text(vault.encrypt(plain, secret, vault_id=label))
            # A writer that takes no lock (ansible-vault edit) may have changed the file since it was read.
            if file_state(path) != read_as:
                raise VaultVarsError(
                    "%s changed while this task was editing it (another writer, such as ansible-vault edit); nothing "
                    "was written: run the same command again, which reads the file as it is now" % path)
            write_text(path, ciphertext)
            written, dummy, dummy = self._read(path, vault)
            if written != after:
                raise VaultVarsError("%s did not read back as written; check the disk and re-run" % path)

        custody = Custody(after, args["prefix"], args["key_type"])
        keys, history = custody.report(now)
        result = dict(
            changed=changed,
            path=path,
            exists=exists or (changed and not self._task.check_mode),
            readable=True,
            names=sorted(after),
            by_key=keys,
            history=history,
            in_use=custody.in_use(keys),
            verified=bool(editing and changed and not self._task.check_mode),
        )
        if self._task.diff and changed:
            result["diff"] = dict(before=summary(before, after), after=summary(after, before),
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
