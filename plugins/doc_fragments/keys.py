# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Options of the modules that edit the application's .env (fernet_key, env_file).
    DOCUMENTATION = r"""
options:
  path:
    description:
      - Path of the C(.env) file, for example C(/opt/webops/.env).
      - When O(path) is a symlink (C(/opt/webops/control-panel/.env) on a deployed host), the link is kept
        and the file it points to is written.
      - The file is read the way python-decouple and systemd C(EnvironmentFile=) read it. A file that
        defines a variable twice, has C(export ) lines, lines that are not C(NAME=value), or is not UTF-8
        is refused with an error that names the line, and nothing is written.
    type: path
    required: true
  create:
    description:
      - Create the file when it does not exist. Its directory must exist.
      - With V(false), a missing file is an error.
    type: bool
    default: true
  backup:
    description:
      - Before changing the file, copy it next to the file it replaces, mode C(0600), named
        C(<file>.<pid>.<YYYY-MM-DD@HH:MM:SS>~). The name never holds anything derived from a value.
    type: bool
    default: false
  mode:
    description:
      - Permissions of the file, enforced on every run (an existing C(0644) file is tightened).
      - The new contents are always written to a temporary file created with these permissions, so a
        key is never readable by others, even for an instant.
      - O(owner) and O(group) of an existing file are kept unless given.
    type: raw
    default: '0600'
"""

    ATTRIBUTES = r"""
attributes:
  check_mode:
    support: full
    details:
      - Reports what would change and writes nothing (no file, no backup).
  diff_mode:
    support: full
    details:
      - The diff lists variable names; a Fernet key shows as its fingerprint, any other value as a tag that
        is only comparable within the same diff. Values are never shown.
  platform:
    platforms: posix
  safe_file_operations:
    description: Uses strict file operations to ensure proper permissions and avoid data corruption.
    support: full
    details:
      - Writes through a temporary file in the same directory, fsync and rename, then fsyncs the directory.
  vault:
    description: Can automatically decrypt Ansible vaulted files.
    support: none
  action_group:
    support: full
    membership:
      - webops.encryption.keys
"""
