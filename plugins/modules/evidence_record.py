#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: evidence_record
short_description: Write the evidence record of a key operation, its HTML report and its signature
version_added: 0.4.0
description:
  - Builds one JSON record (schema C(webops.encryption/evidence-record) version 1, shipped as
    C(docs/evidence-record.schema.json)) of a rotate_keys, rotate_secret_key or verify_keys run - who ran what and
    when, every column's values by key fingerprint before and after, the values left under a retired key, discovery's
    findings, the units-stopped window, each key's age and escrow, and the ids of the run's audit-trail lines - and
    judges it C(complete) or C(incomplete), with the reasons.
  - Writes the record and an HTML report rendered from it into O(dir) (created mode C(0700)), each file atomically
    with mode C(0600); with O(gpg_signer) also an armored detached signature (C(<record>.json.asc)).
  - Refuses, with nothing written, a record that does not match its schema or holds anything that looks like a
    Fernet key or token. Keys are named by fingerprint only.
  - Runs on the controller. The caller writes the returned RV(sha256) into the audit trail (operation C(evidence)),
    which evidence_check compares.
author:
  - webops.encryption contributors (@webops)
options:
  dir:
    description: The environment's evidence directory.
    type: path
    required: true
  operation:
    description: The playbook that ran.
    type: str
    required: true
    choices: [rotate_keys, rotate_secret_key, verify_keys]
  environment:
    description: The environment.
    type: str
    required: true
  started:
    description: When the run started, a UNIX timestamp or C(YYYY-MM-DDTHH:MM:SSZ). The record ends now.
    type: str
    required: true
  user:
    description: Who ran it, C(user@controller).
    type: str
    required: true
  command:
    description: The command line of the run as the C(webops.encryption.command_line) lookup builds it (never a secret); V('') when it cannot be shown.
    type: str
    default: ''
  collection_version:
    description: The collection's version.
    type: str
    default: ''
  ansible_version:
    description: The ansible-core version.
    type: str
    default: ''
  outcome:
    description: How the run ended.
    type: str
    choices: [success, failure]
    default: success
  problems:
    description: Why the run failed (messages that hold no key).
    type: list
    elements: str
    default: []
  current:
    description: The labels (fingerprints) of the keys in use after the run; a value under any other key is left under a retired key.
    type: list
    elements: str
    default: []
  before:
    description:
      - The counts at the start, as C(columns) (the RV(webops.encryption.fernet_audit#module:columns) of an audit),
        C(labels) (its key names to fingerprints) and C(secret_labels) (its SECRET_KEY names to labels).
    type: dict
    default: {}
  after:
    description: The counts at the end, in the form of O(before).
    type: dict
    default: {}
  discovery:
    description: Discovery's C(columns) (fernet_discover), C(labels) for their key names and the C(ignored) columns.
    type: dict
    default: {}
  units:
    description: C(strategy), C(managed), C(services) and C(stopped_seconds) (V(null) when no unit was stopped).
    type: dict
    default: {}
  keys:
    description:
      - One entry per key (C(name), C(fingerprint), C(created), C(age_days), C(rotation_days)) with C(escrow)
        (C(vault_file), C(in_vault), C(gpg_file), C(gpg_present)).
    type: list
    elements: dict
    default: []
  audit_lines:
    description: The ids of the run's audit-trail lines.
    type: list
    elements: str
    default: []
  gpg_signer:
    description: A gpg key (id or user id) that signs the record; V('') writes no signature.
    type: str
    default: ''
  gpg_binary:
    description: The gpg program.
    type: str
    default: gpg
attributes:
  check_mode:
    support: full
    description: Builds and checks the record, writes nothing.
  diff_mode:
    support: none
    description: A new record has no before.
notes:
  - Every run writes a new record, so the task always reports a change (none in check mode).
"""

EXAMPLES = r"""
- name: Write the run's evidence
  webops.encryption.evidence_record:
    dir: /srv/ansible/evidence/prod
    operation: verify_keys
    environment: prod
    started: "{{ run_started }}"
    user: alice@bastion
    current: [sha256:0123456789abcdef]
    after:
      columns: "{{ audit.columns }}"
      labels: "{{ audit.fingerprints }}"
"""

RETURN = r"""
path:
  description: The record.
  type: str
  returned: success
html:
  description: The HTML report.
  type: str
  returned: success
signature:
  description: The detached signature, V(null) without O(gpg_signer).
  type: str
  returned: success
sha256:
  description: C(sha256:) and the hex SHA-256 of the record file's bytes.
  type: str
  returned: success
record:
  description: The record (fingerprints only).
  type: dict
  returned: success
status:
  description: C(complete) or C(incomplete).
  type: str
  returned: success
status_reasons:
  description: Why it is incomplete.
  type: list
  elements: str
  returned: success
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.webops.encryption.plugins.module_utils._evidence import (
    EvidenceError, build_record, record_name, serialise, sha256_of, write_record)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dir=dict(type="path", required=True),
            operation=dict(type="str", required=True, choices=["rotate_keys", "rotate_secret_key", "verify_keys"]),
            environment=dict(type="str", required=True),
            started=dict(type="str", required=True),
            user=dict(type="str", required=True),
            command=dict(type="str", default=""),
            collection_version=dict(type="str", default=""),
            ansible_version=dict(type="str", default=""),
            outcome=dict(type="str", default="success", choices=["success", "failure"]),
            problems=dict(type="list", elements="str", default=[]),
            current=dict(type="list", elements="str", default=[]),
            before=dict(type="dict", default={}),
            after=dict(type="dict", default={}),
            discovery=dict(type="dict", default={}),
            units=dict(type="dict", default={}),
            keys=dict(type="list", elements="dict", default=[], no_log=False),
            audit_lines=dict(type="list", elements="str", default=[]),
            gpg_signer=dict(type="str", default=""),
            gpg_binary=dict(type="str", default="gpg"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        record = build_record(params)
    except EvidenceError as exc:
        module.fail_json(msg="%s. Nothing was written." % exc)
    path = os.path.join(params["dir"], record_name(record))
    result = dict(record=record, status=record["status"], status_reasons=record["status_reasons"])
    if module.check_mode:
        module.exit_json(changed=False, path=path, html=path[:-5] + ".html", signature=None,
                         sha256=sha256_of(serialise(record)), **result)
    try:
        written = write_record(params["dir"], record, signer=params["gpg_signer"], gpg_binary=params["gpg_binary"])
    except EvidenceError as exc:
        module.fail_json(msg=str(exc), path=path)
    except (IOError, OSError) as exc:
        module.fail_json(msg="cannot write the evidence record in %s: %s; check the directory is writable"
                             % (params["dir"], exc.strerror or exc), path=path)
    module.exit_json(changed=True, **dict(result, **written))


if __name__ == "__main__":
    main()
