# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where things are: the repository and the tools of the Python running the tests."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# `ansible_collections.webops.encryption` resolves through the committed link collections/.../encryption -> REPO.
COLLECTIONS = os.path.join(REPO, "collections")
ANSIBLE_CFG = os.path.join(REPO, "ansible.cfg")
PLAYBOOKS = os.path.join(REPO, "playbooks")
MODULES = os.path.join(REPO, "plugins", "modules")
# The playbooks written for the tests (they run the modules on localhost).
TEST_PLAYBOOKS = os.path.join(REPO, "tests", "integration", "playbooks")
# The test-only fault injection callback (callback_plugins/webops_fault.py).
FAULT_CALLBACKS = os.path.join(REPO, "tests", "support", "callback_plugins")
# ansible-playbook and friends beside the Python that runs the tests.
VENV_BIN = os.path.dirname(sys.executable)
ANSIBLE_PLAYBOOK = os.path.join(VENV_BIN, "ansible-playbook")
