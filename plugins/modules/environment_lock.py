#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: environment_lock
short_description: One run per environment at a time - a lock file on the controller
version_added: 0.1.0
description:
  - Takes, releases or looks at the lock of an environment, a file on the controller created atomically
    (C(O_CREAT|O_EXCL)) that records the holder (C(user@controller)), the ansible-playbook process id, the start time
    and the playbook.
  - O(state=present) fails, naming the holder and changing nothing, when another run holds the lock. A lock whose
    ansible-playbook process no longer runs on this controller was left by a killed run; it is taken over with a
    warning, and the playbook resumes that run's work. A lock taken on another controller is never taken over.
  - In check mode O(state=present) takes nothing and behaves as O(state=query).
  - O(state=query) takes nothing and warns when a run is in progress.
  - O(state=absent) removes the lock only when this run holds it.
  - This is an action plugin that runs on the controller only.
author:
  - webops.encryption contributors (@webops)
options:
  path:
    description: The lock file on the controller (its directory is made, mode C(0700), when missing).
    type: path
    required: true
  environment:
    description: The environment the lock is for (named in messages).
    type: str
    required: true
  state:
    description: Take (V(present)), release (V(absent)) or only look at (V(query)) the lock.
    type: str
    choices: [present, absent, query]
    default: present
extends_documentation_fragment:
  - webops.encryption._attributes.controller
attributes:
  check_mode:
    support: full
    description: Takes nothing; warns when a run holds the lock.
  diff_mode:
    support: none
    description: No diff.
"""

EXAMPLES = r"""
- name: Take the lock of the environment for this run
  webops.encryption.environment_lock:
    path: "{{ inventory_dir | dirname }}/.webops-locks/prod.lock"
    environment: prod
  run_once: true

- name: Release it
  webops.encryption.environment_lock:
    path: "{{ inventory_dir | dirname }}/.webops-locks/prod.lock"
    environment: prod
    state: absent
  run_once: true
"""

RETURN = r"""
path:
  description: The lock file.
  type: str
  returned: always
held:
  description: This run holds the lock after the task.
  type: bool
  returned: always
taken_over:
  description: The lock was left by a killed run and this run took it over.
  type: bool
  returned: always
holder:
  description: The holder this run recorded (C(user@controller)).
  type: str
  returned: when O(state=present) took the lock
in_progress:
  description: In check mode and with O(state=query), a sentence naming the run in progress, or an empty string.
  type: str
  returned: always
released:
  description: With O(state=absent), whether this run's lock was removed.
  type: bool
  returned: when O(state=absent)
"""
