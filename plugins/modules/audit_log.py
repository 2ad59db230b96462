#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: audit_log
short_description: Append one JSON line describing a key operation to an audit log
version_added: 0.1.0
description:
  - Appends one JSON object (one line) to O(path) with the UTC time, environment, host, operation, user, outcome,
    reason, key fingerprints and per-table counts of a key operation, for SOC 2 / HIPAA audit trails.
  - Each line carries an C(id) (32 hex digits, unique per line) that evidence records name (RV(entry.id)).
  - The file is created with mode C(0600) (an existing file is narrowed to C(0600)); missing parent directories are
    created with mode C(0700). The line is written with a single C(O_APPEND) write and flushed to disk.
  - As a defence in depth, any value anywhere in the entry that parses as a Fernet key, or looks like a Fernet token,
    makes the task fail with nothing written. Pass fingerprints, never keys.
author:
  - webops.encryption contributors (@webops)
options:
  path:
    description: The log file.
    type: path
    required: true
  operation:
    description: What was done, for example V(generate), V(set), V(escrow), V(encrypt), V(rotate), V(verify), V(backup), V(recover).
    type: str
    required: true
  environment:
    description: The environment the operation concerns (V(dev), V(staging), V(prod), ...).
    type: str
  host:
    description: The inventory host the operation ran for.
    type: str
  user:
    description: Who ran it (the controller user).
    type: str
  outcome:
    description: How it ended, for example V(success), V(failure), V(check), V(refused).
    type: str
    default: success
  reason:
    description: Why, for example V(routine), V(compromise), V(employee_departure), V(lost_key).
    type: str
  fingerprints:
    description: Key fingerprints by role (V(current), V(old), V(new), ...). Never keys.
    type: dict
    default: {}
  counts:
    description: Per-table or per-column counts (any JSON-compatible structure of names and numbers).
    type: raw
  details:
    description: Further non-secret facts worth keeping.
    type: dict
    default: {}
  create:
    description:
      - Create the log (and its directory) when it does not exist.
      - V(false) appends only to an existing log and otherwise writes nothing (C(written=false)), so a read-only
        run such as verify_keys.yml creates no file or directory.
    type: bool
    default: true
  run:
    description:
      - The id of the playbook run the line belongs to (written as C(run)); its evidence record names the run's lines by it.
    type: str
    version_added: 0.4.0
attributes:
  check_mode:
    support: full
    description: Builds and checks the entry, writes nothing.
  diff_mode:
    support: none
    description: An appended line has no before and after.
notes:
  - Every run appends a line, so the task always reports a change.
"""

EXAMPLES = r"""
- name: Record the rotation on the host
  webops.encryption.audit_log:
    path: /var/log/webops/key-operations.log
    operation: rotate
    environment: prod
    host: "{{ inventory_hostname }}"
    user: "{{ lookup('ansible.builtin.pipe', 'id -un') }}"
    reason: compromise
    fingerprints:
      old: sha256:0123456789abcdef
      new: sha256:fedcba9876543210
    counts: "{{ rotation.totals }}"
"""

RETURN = r"""
entry:
  description: The entry as written (it never holds key material).
  type: dict
  returned: always
  contains:
    id:
      description: The line's id, 32 hex digits.
      type: str
      version_added: 0.4.0
path:
  description: The log file.
  type: str
  returned: always
written:
  description: Whether the line was appended (V(false) in check mode, and with O(create=false) when the log does not exist).
  type: bool
  returned: always
"""

import datetime
import json
import os
import uuid

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.webops.encryption.plugins.module_utils._dotenv import append_line
from ansible_collections.webops.encryption.plugins.module_utils.fernet import key_material_at


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            operation=dict(type="str", required=True),
            environment=dict(type="str"),
            host=dict(type="str"),
            user=dict(type="str"),
            outcome=dict(type="str", default="success"),
            reason=dict(type="str"),
            fingerprints=dict(type="dict", default={}),
            counts=dict(type="raw"),
            details=dict(type="dict", default={}),
            create=dict(type="bool", default=True),
            run=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    entry = dict(
        id=uuid.uuid4().hex,
        time=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        environment=params["environment"],
        host=params["host"],
        operation=params["operation"],
        user=params["user"],
        outcome=params["outcome"],
        reason=params["reason"],
        fingerprints=params["fingerprints"],
        counts=params["counts"],
        details=params["details"],
    )
    if params["run"]:
        entry["run"] = params["run"]
    where = key_material_at(entry)
    if where:
        module.fail_json(msg="refusing to write the audit entry: %s holds what looks like a Fernet key or token; "
                             "pass fingerprints (webops.encryption.fernet_fingerprint), never keys" % where, path=params["path"])
    try:
        line = json.dumps(entry, sort_keys=True, default=str) + "\n"
    except (TypeError, ValueError) as exc:
        module.fail_json(msg="the audit entry is not JSON-serialisable: %s" % exc)
    if not params["create"] and not os.path.exists(params["path"]):
        module.exit_json(changed=False, written=False, entry=entry, path=params["path"])
    if not module.check_mode:
        try:
            append_line(params["path"], line)
        except (IOError, OSError) as exc:
            module.fail_json(msg="cannot append to %s: %s; check the directory exists and is writable (become?)"
                                 % (params["path"], exc.strerror or exc))
    module.exit_json(changed=True, written=not module.check_mode, entry=entry, path=params["path"])


if __name__ == "__main__":
    main()
