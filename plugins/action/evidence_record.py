# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""evidence_record: one task on the controller writes a run's evidence. It reads the keys' ages from the
vault (with the play's vault secrets), looks for their gpg escrow files, builds and writes the record
(module_utils._evidence) and appends its SHA-256 to the controller's audit log, naming the run's own
lines by the run id audit_log wrote into them. The counts are the ones the run already made."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import socket

import yaml

from ansible.module_utils.common.text.converters import to_text
from ansible.parsing.vault import VaultLib
from ansible.release import __version__ as ansible_version
from ansible_collections.webops.encryption.plugins.action.vault_vars import ActionModule as VaultVarsAction
from ansible_collections.webops.encryption.plugins.plugin_utils._custody import Custody, VaultVarsError, real_path, utc_now
from ansible_collections.webops.encryption.plugins.plugin_utils._gpg import controller_gpg
from ansible_collections.webops.encryption.plugins.module_utils._dotenv import append_line
from ansible_collections.webops.encryption.plugins.module_utils._evidence import (
    OPERATIONS, OUTCOMES, EvidenceError, audit_entry, build_record, key_entries, label_secret_keys, read_audit_lines,
    write_record)
from ansible_collections.webops.encryption.plugins.module_utils.secret_key import Labels

ARGUMENT_SPEC = dict(
    dir=dict(type="path", required=True),
    operation=dict(type="str", required=True, choices=list(OPERATIONS)),
    environment=dict(type="str", required=True),
    started=dict(type="str", required=True),
    run=dict(type="str", default=""),
    user=dict(type="str", required=True),
    command=dict(type="str", default=""),
    outcome=dict(type="str", default="success", choices=list(OUTCOMES)),
    problems=dict(type="list", elements="str", default=[]),
    current=dict(type="list", elements="dict", default=[]),
    # Lists of counts; one holding secret_keys (the keys an audit was given, to label them) is no_log.
    before=dict(type="list", elements="dict", default=[], no_log=True),
    after=dict(type="list", elements="dict", default=[], no_log=True),
    discovery=dict(type="dict", default={}),
    units=dict(type="dict", default={}),
    vault_file=dict(type="path", required=True),
    rotation_days=dict(type="int", default=90),
    gpg_dir=dict(type="str", default=""),
    gpg_signer=dict(type="str", default=""),
    gpg_binary=dict(type="str", default="gpg"),
    audit_log=dict(type="str", default=""),
    host=dict(type="str", default=""),
)
# The vault's names of the keys a record describes.
VAULT_NAMES = (("ENCRYPTION_KEY", "webops_encryption_key", "fernet"), ("SECRET_KEY", "webops_secret_key", "secret_key"))


def collection_version():
    """The installed collection's MANIFEST.json version, or a checkout's galaxy.yml one."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    for name, read in (("MANIFEST.json", lambda data: json.loads(data)["collection_info"]["version"]),
                       ("galaxy.yml", lambda data: yaml.safe_load(data)["version"])):
        try:
            with open(os.path.join(root, name)) as handle:
                return str(read(handle.read()))
        except (IOError, OSError, ValueError, KeyError, TypeError, yaml.YAMLError):
            continue
    return ""


class ActionModule(VaultVarsAction):

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(VaultVarsAction, self).run(tmp, task_vars)  # ActionBase.run: vault_vars' run is not this one
        del tmp
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        if self._task.check_mode:
            return dict(result, changed=False, skipped=True, msg="check mode writes no evidence")
        try:
            result.update(self._write(args))
        except EvidenceError as exc:
            result.update(failed=True, changed=False, msg="%s. The evidence record was not written." % exc)
        except (IOError, OSError) as exc:
            result.update(failed=True, changed=False,
                          msg="cannot write the evidence in %s: %s; check the directory is writable" % (args["dir"], exc.strerror or exc))
        return result

    def _vault_reports(self, path):
        """{ENCRYPTION_KEY: ..., SECRET_KEY: ...}: the vault's report of each (fingerprint, created, age_days); {} unreadable."""
        try:
            data, dummy, dummy = self._read(real_path(os.path.expanduser(path)), VaultLib(self._secrets()))
        except VaultVarsError:
            return {}
        now = utc_now()
        reports = {}
        for name, prefix, key_type in VAULT_NAMES:
            keys, dummy = Custody(dict(data or {}), prefix, key_type).report(now)
            if prefix in keys:
                reports[name] = keys[prefix]
        return reports

    def _write(self, args):
        reports = self._vault_reports(args["vault_file"])
        sides, secret_current = label_secret_keys(list(args["before"]) + list(args["after"]), Labels)
        before, after = sides[:len(args["before"])], sides[len(args["before"]):]
        current = []
        for key in args["current"]:
            # A label left '' is the SECRET_KEY the last count opened with as current, else the vault's current key.
            label = key.get("label") or (secret_current if key.get("name") == "SECRET_KEY" else None)
            label = to_text(label or (reports.get(key.get("name")) or {}).get("fingerprint") or "")
            if label:
                current.append(dict(name=key.get("name"), label=label))
        entries = []
        if args["audit_log"] and args["run"] and os.path.exists(args["audit_log"]):
            entries = [entry for entry in read_audit_lines(args["audit_log"]) if entry.get("run") == args["run"] and entry.get("id")]
        lines = [entry["id"] for entry in entries]
        outcome, problems = args["outcome"], args["problems"]
        refused = [entry for entry in entries if entry.get("outcome") == "refused"]
        if outcome == "failure" and refused:
            # As the audit trail has it: stopped in the preflight, nothing written, and why.
            outcome = "refused"
            problems = [to_text((entry.get("details") or {}).get("refused_because") or entry.get("reason") or "refused")
                        for entry in refused[:1]]
        inputs = dict(args, before=before, after=after, outcome=outcome, problems=problems,
                      current=[key["label"] for key in current], collection_version=collection_version(),
                      ansible_version=ansible_version, user="%s@%s" % (args["user"], socket.gethostname()),
                      keys=key_entries(current, reports, args["rotation_days"], args["vault_file"], args["gpg_dir"] or None,
                                       args["environment"]),
                      audit_lines=lines)
        record = build_record(inputs)
        written = write_record(args["dir"], record, signer=args["gpg_signer"], gpg=controller_gpg(args["gpg_binary"]))
        if args["audit_log"]:
            # The record is on the controller, and so is the line that vouches for it.
            entry = audit_entry("evidence", args["environment"], args["host"], args["user"], record["status"],
                                dict(record=os.path.basename(written["path"]), sha256=written["sha256"],
                                     signed=written["signature"] is not None, status_reasons=record["status_reasons"]),
                                run=args["run"] or None)
            append_line(args["audit_log"], json.dumps(entry, sort_keys=True, default=str) + "\n")
        msg = "Evidence (%s%s%s): %s (%s), report %s%s" % (
            record["status"], ": " + " ".join(record["status_reasons"]) if record["status_reasons"] else "",
            "; not checked by this run: " + " ".join(record["not_checked"]) if record["not_checked"] else "",
            written["path"], written["sha256"], written["html"],
            ", signature %s" % written["signature"] if written["signature"] else "")
        self._display.display(msg)
        return dict(changed=True, msg=msg, status=record["status"], status_reasons=record["status_reasons"],
                    not_checked=record["not_checked"], **written)
