# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""containers.podman.podman with pipelining, for the Molecule scenarios only.

Without pipelining every task costs five `podman exec` calls (home, mkdir, chmod, run, rm),
about 3.5 s each task on a 2-core CI machine; with it a task is one `podman exec -i` that reads
the module on stdin. podman 4 passes stdin through `exec -i` correctly. The scenarios point
ANSIBLE_CONNECTION_PLUGINS here and set `ansible_connection: webops_podman` on their hosts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = """
    name: webops_podman
    short_description: containers.podman.podman, with pipelining (Molecule scenarios only)
    description:
      - Same options as containers.podman.podman; runs pipelined modules with C(podman exec -i).
    author: webops.encryption contributors
    options:
      podman_extra_args:
        description: Extra arguments to pass to the podman command line.
        default: ''
        ini:
          - section: defaults
            key: podman_extra_args
        vars:
          - name: ansible_podman_extra_args
        env:
          - name: ANSIBLE_PODMAN_EXTRA_ARGS
      podman_executable:
        description: Executable for podman command.
        default: podman
        vars:
          - name: ansible_podman_executable
        env:
          - name: ANSIBLE_PODMAN_EXECUTABLE
      remote_addr:
        description: The ID of the container you want to access.
        default: inventory_hostname
        vars:
          - name: ansible_host
          - name: inventory_hostname
          - name: ansible_podman_host
      remote_user:
        description: User specified via name or UID which is used to execute commands inside the container.
        vars:
          - name: ansible_user
        env:
          - name: ANSIBLE_REMOTE_USER
        ini:
          - section: defaults
            key: remote_user
        keyword:
          - name: remote_user
      pipelining:
        type: boolean
        default: true
        vars:
          - name: ansible_pipelining
        env:
          - name: ANSIBLE_PIPELINING
"""

import shlex

from ansible.module_utils.common.text.converters import to_native
from ansible_collections.containers.podman.plugins.connection.podman import Connection as PodmanConnection


class Connection(PodmanConnection):
    has_pipelining = True

    def exec_command(self, cmd, in_data=None, sudoable=False):
        if in_data is None:
            return super(Connection, self).exec_command(cmd, in_data=in_data, sudoable=sudoable)
        self._connect()
        exec_args = ["exec", "--interactive"]
        if self.user:
            exec_args.extend(("--user", self.user))
        return self._podman(exec_args, shlex.split(to_native(cmd, errors="surrogate_or_strict")), in_data)
