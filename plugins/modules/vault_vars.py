#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vault_vars
short_description: Keep Fernet keys in an ansible-vault encrypted vars file on the controller (key escrow)
version_added: 0.1.0
description:
  - Reads, and optionally updates, an ansible-vault encrypted YAML vars file on the controller, such as
    C(<inventory dir>/group_vars/<env>/vault.yml), with the vault secrets the play was started with
    (C(--vault-password-file) or C(--vault-id)).
  - The file is decrypted and re-encrypted in memory; only ciphertext is written, atomically and with mode C(0600).
    The written file is read back and decrypted before the task reports success, so a key is never used before
    its escrow is proven readable.
  - An existing file keeps the vault ID it was encrypted with. Comments in the file are not kept.
  - Results and diffs name keys by fingerprint (C(sha256:<16 hex>)), never by value.
  - This is an action plugin that runs on the controller only.
author:
  - webops.encryption contributors (@webops)
options:
  path:
    description: Path of the vault-encrypted vars file on the controller.
    type: path
    required: true
  set:
    description:
      - Variables to set (name to value).
      - Values set under O(prefix) and O(prefix)C(_next) must be valid keys of O(key_type); an invalid one fails with
        nothing written.
    type: dict
    default: {}
  remove:
    description: Names of variables to remove.
    type: list
    elements: str
    default: []
  overwrite:
    description:
      - When V(false), setting a variable that already holds a different value fails with nothing written.
        Escrow uses this so a key saved by an unfinished rotation is never replaced.
    type: bool
    default: true
  promote:
    description:
      - Make O(prefix)C(_next) the current key O(prefix) (with its C(_created) time), append the previous current key
        to O(prefix)C(_history) (fingerprint, key, created, retired, reason), and remove the C(_next) variables.
      - Nothing changes when there is no C(_next) key, so a re-run after success is a no-op.
    type: bool
    default: false
  promote_reason:
    description: The reason recorded with the retired key (for example V(routine), V(compromise), V(employee_departure)).
    type: str
    default: routine
  expect_fingerprint:
    description:
      - With O(promote), the fingerprint the promoted key must have (the key now in use on the hosts).
        A mismatch fails with nothing written. When the key was already promoted, the current key must match.
    type: str
  prefix:
    description: Name of the current key variable; C(_created), C(_next), C(_next_created) and C(_history) are derived from it.
    type: str
    default: webops_encryption_key
  key_type:
    description:
      - What O(prefix) names. V(fernet) for Fernet keys (C(ENCRYPTION_KEY)). V(secret_key) for Django C(SECRET_KEY) values,
        for example with O(prefix=webops_secret_key).
      - With V(secret_key), a value set under O(prefix)C(_next) must pass the application's check (at least 50
        characters, not default-looking, no character a C(.env) would change), the current key is kept as it is,
        and a fingerprint is the SHA-256 of the key's text (16 hex digits).
    type: str
    choices: [fernet, secret_key]
    default: fernet
  vault_id:
    description: Vault ID label used to encrypt a file that does not exist yet. Default is the first loaded secret.
    type: str
  create:
    description: Create the file (and its directory, mode C(0700)) when it does not exist.
    type: bool
    default: true
  unreadable:
    description:
      - What a read-only task does when the file cannot be read or decrypted (no matching vault secret, not vault-encrypted).
      - V(fail) fails; V(report) returns RV(readable=false) and the reason in C(msg). Edits always fail.
    type: str
    choices: [fail, report]
    default: fail
extends_documentation_fragment:
  - webops.encryption._attributes.controller
attributes:
  check_mode:
    support: full
    description: Computes the change and the diff; writes nothing.
  diff_mode:
    support: full
    description: Lists variable names, marking the changed ones, with fingerprints of Fernet keys; never a value or its hash.
notes:
  - Without any O(set), O(remove) or O(promote) the task only reads and reports (RV(by_key), RV(history)).
seealso:
  - name: Ansible Vault
    description: Encrypting content with Ansible Vault.
    link: https://docs.ansible.com/ansible/latest/vault_guide/index.html
"""

EXAMPLES = r"""
- name: Escrow the new key before any row is encrypted with it
  webops.encryption.vault_vars:
    path: "{{ inventory_dir }}/group_vars/prod/vault.yml"
    overwrite: false
    set:
      webops_encryption_key_next: "{{ new_key }}"
      webops_encryption_key_next_created: "{{ now(utc=true).strftime('%Y-%m-%dT%H:%M:%SZ') }}"
  delegate_to: localhost
  run_once: true

- name: Record the new key as current once the rotation succeeded
  webops.encryption.vault_vars:
    path: "{{ inventory_dir }}/group_vars/prod/vault.yml"
    promote: true
    promote_reason: compromise
    expect_fingerprint: "{{ new_key | webops.encryption.fernet_fingerprint }}"
  delegate_to: localhost
  run_once: true

- name: Report key fingerprints and ages
  webops.encryption.vault_vars:
    path: "{{ inventory_dir }}/group_vars/prod/vault.yml"
  register: escrow
"""

RETURN = r"""
path:
  description: Resolved path of the file.
  type: str
  returned: always
exists:
  description: Whether the file exists after the task.
  type: bool
  returned: always
names:
  description: Variable names in the file after the task.
  type: list
  elements: str
  returned: always
by_key:
  description: Each variable holding a Fernet key, by name.
  type: dict
  returned: always
  sample: {"webops_encryption_key": {"fingerprint": "sha256:0123456789abcdef", "created": "2026-01-01T00:00:00Z", "age_days": 12}}
history:
  description: Retired keys, oldest first, without key material.
  type: list
  elements: dict
  returned: always
  sample: [{"fingerprint": "sha256:0123456789abcdef", "created": "2025-10-01T00:00:00Z",
            "retired": "2026-01-01T00:00:00Z", "reason": "routine", "has_key": true}]
readable:
  description: Whether the file could be read and decrypted (a missing file counts as readable and empty).
  type: bool
  returned: always
in_use:
  description: The current and next keys by name and fingerprint (the keys the one-key-per-environment check compares).
  type: list
  elements: dict
  returned: always
  sample: [{"name": "webops_encryption_key", "fingerprint": "sha256:0123456789abcdef"}]
verified:
  description: The file was written, read back and decrypted to exactly the new content.
  type: bool
  returned: always
"""
