#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: evidence_check
short_description: Re-check an evidence directory against the audit trail and the signatures
version_added: 0.4.0
description:
  - Checks every evidence record of O(dir) (written by evidence_record) - its SHA-256 is the one an C(evidence) line of
    the audit trail O(audit_log) recorded for it, it matches its schema, the audit-trail lines it names exist, its HTML
    report is the one rendered from it, and its detached gpg signature (when there is one, or when the audit trail says
    it was signed) verifies.
  - An evidence line whose record is gone is reported too. Fails when any record was tampered with, naming each.
  - Reads only.
author:
  - webops.encryption contributors (@webops)
options:
  dir:
    description: The environment's evidence directory.
    type: path
    required: true
  audit_log:
    description: The controller's audit log (webops_audit_controller_log).
    type: path
    required: true
  environment:
    description: Consider only the evidence lines of this environment.
    type: str
  gpg_binary:
    description: The gpg program that verifies signatures (its keyring must hold the signer's public key).
    type: str
    default: gpg
attributes:
  check_mode:
    support: full
    description: Reads only, so it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes.
"""

EXAMPLES = r"""
- name: Re-check the evidence of prod
  webops.encryption.evidence_check:
    dir: /srv/ansible/evidence/prod
    audit_log: /srv/ansible/logs/key-operations.log
    environment: prod
"""

RETURN = r"""
records:
  description: One entry per record (and per evidence line whose record is missing), with its C(problems) (empty when intact).
  type: list
  elements: dict
  returned: always
  sample: [{"record": "20261207T011500Z-rotate_keys-1a2b3c4d.json", "sha256": "sha256:...", "signed": true,
            "signature": "good", "status": "complete", "problems": []}]
  contains:
    signature:
      description:
        - V(good) or V(bad) as C(gpg --verify) judged the record's detached signature, V(missing) when the audit trail says
          it was signed but the signature is gone, V(null) for an unsigned record.
      type: str
      returned: always
tampered:
  description: The records with a problem.
  type: list
  elements: str
  returned: always
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.webops.encryption.plugins.module_utils._evidence import check_directory, read_audit_lines


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dir=dict(type="path", required=True),
            audit_log=dict(type="path", required=True),
            environment=dict(type="str"),
            gpg_binary=dict(type="str", default="gpg"),
        ),
        supports_check_mode=True,
    )
    params = module.params

    def gpg(arguments):
        return module.run_command([params["gpg_binary"]] + arguments)

    if not os.path.isfile(params["audit_log"]):
        module.fail_json(msg="the audit log %s does not exist: give the controller's audit log (webops_audit_controller_log)"
                             % params["audit_log"], records=[], tampered=[])
    try:
        entries = read_audit_lines(params["audit_log"])
        records = check_directory(params["dir"], entries, gpg, params["environment"])
    except (IOError, OSError) as exc:
        module.fail_json(msg="cannot read %s: %s" % (exc.filename or params["dir"], exc.strerror or exc), records=[], tampered=[])
    tampered = [r["record"] for r in records if r["problems"]]
    if tampered:
        module.fail_json(msg="%d evidence record(s) do not match the audit trail or their signature: %s"
                             % (len(tampered), "; ".join("%s: %s" % (r["record"], ", ".join(r["problems"]))
                                                         for r in records if r["problems"])),
                         records=records, tampered=tampered)
    good = len([r for r in records if r["signature"] == "good"])
    module.exit_json(changed=False, records=records, tampered=[],
                     msg="%d evidence record(s) match the audit trail%s" % (
                         len(records), "; %d gpg signature(s) verify" % good if good else ""))


if __name__ == "__main__":
    main()
