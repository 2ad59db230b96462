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
  - Reads each key's age from the vault O(vault_file) (with the play's vault secrets) and looks for its gpg escrow file;
    the counts are the ones the run already made (O(before), O(after)), none is made again.
  - Appends the record's SHA-256 to the controller's audit log O(audit_log) (an C(evidence) line), which evidence_check
    compares, and names in the record the log's lines of the run (those with O(run)).
  - This is an action plugin that runs on the controller only.
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
  run:
    description: The run's id, which the audit_log module wrote into each of its lines (its O(webops.encryption.audit_log#module:run)).
    type: str
    default: ''
  user:
    description: Who ran it; the record names C(user@controller).
    type: str
    required: true
  command:
    description: The command line of the run as the C(webops.encryption.command_line) lookup builds it (never a secret); V('') when it cannot be shown.
    type: str
    default: ''
  outcome:
    description: How the run ended.
    type: str
    choices: [success, failure, refused]
    default: success
  problems:
    description: Why the run failed or was refused (messages that hold no key).
    type: list
    elements: str
    default: []
  current:
    description:
      - The keys in use after the run, each C(name) (C(ENCRYPTION_KEY) or C(SECRET_KEY)) and C(label) (its fingerprint;
        V('') for the vault's current key of that name). A value under any other key is left under a retired key.
    type: list
    elements: dict
    default: []
  before:
    description:
      - The counts the run made at its start, each C(columns) (the RV(webops.encryption.fernet_audit#module:columns) of
        an audit, or the check-mode RV(webops.encryption.fernet_rotate#module:columns) of a scan), C(labels) (its key
        names to fingerprints) and C(secret_keys) (the SECRET_KEYs the audit was given, current first, which are
        labelled here, a weak one without a fingerprint). A later count's column replaces an earlier one's, but
        for a SECRET_KEY column it could not open.
    type: list
    elements: dict
    default: []
  after:
    description: The counts at the end, in the form of O(before).
    type: list
    elements: dict
    default: []
  discovery:
    description: Discovery's C(columns) (fernet_discover), C(labels) for their key names and the C(ignored) columns.
    type: dict
    default: {}
  units:
    description: C(strategy), C(managed), C(services) and C(stopped_seconds) (V(null) when no unit was stopped).
    type: dict
    default: {}
  vault_file:
    description: The environment's vault file, where each key's creation time (its age) and escrow are read.
    type: path
    required: true
  rotation_days:
    description: Days between rotations; a key older is overdue.
    type: int
    default: 90
  gpg_dir:
    description: The gpg store's directory (C(<env>-<fingerprint>.asc) files); V('') when the gpg store is not used.
    type: str
    default: ''
  audit_log:
    description: The controller's audit log; V('') writes no C(evidence) line and names no line of the run.
    type: str
    default: ''
  host:
    description: The host the C(evidence) line names.
    type: str
    default: ''
  gpg_signer:
    description: A gpg key (id or user id) that signs the record; V('') writes no signature.
    type: str
    default: ''
  gpg_binary:
    description: The gpg program.
    type: str
    default: gpg
extends_documentation_fragment:
  - webops.encryption._attributes.controller
attributes:
  check_mode:
    support: none
    description: The playbooks write no evidence in check mode.
  diff_mode:
    support: none
    description: A new record has no before.
notes:
  - Every run writes a new record, so the task always reports a change.
"""

EXAMPLES = r"""
- name: Write the run's evidence
  webops.encryption.evidence_record:
    dir: /srv/ansible/evidence/prod
    operation: verify_keys
    environment: prod
    started: "{{ run_started }}"
    user: alice
    vault_file: /srv/ansible/inventories/prod/group_vars/prod/vault.yml
    audit_log: /srv/ansible/logs/key-operations.log
    current: [{name: ENCRYPTION_KEY, label: ''}]
    after:
      - columns: "{{ audit.columns }}"
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
status:
  description: C(complete) or C(incomplete).
  type: str
  returned: success
status_reasons:
  description: Why it is incomplete.
  type: list
  elements: str
  returned: success
not_checked:
  description:
    - What the status does not cover, one text per column the run counted without opening its values (the values keyed by
      C(SECRET_KEY) in a routine rotate_keys run), with the count and why. Empty when the run opened every counted value.
  type: list
  elements: str
  returned: success
"""
