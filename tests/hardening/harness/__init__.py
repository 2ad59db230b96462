# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the hardening suite needs beyond tests/support, importable as ``hardening.harness``.

modules       run a module file with Ansible's own argument file; ansible-playbook at -vvvv with ANSIBLE_DEBUG
environment   a throwaway WebOps environment built like examples/inventories/demo, for playbook runs
faults        engine runs in child processes that can be killed or cut off (engine_child.py is the child)
strace        every file a command creates or re-modes, seen through strace
mutate        the mutation check: weaken one safety at a time in a scratch copy, see which test fails
"""
