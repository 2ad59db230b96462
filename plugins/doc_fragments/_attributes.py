# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this fragment is internal to webops.encryption. It may change at any time,
# without a changelog entry. Do not use it from outside this collection.

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Attributes every database module shares; each module adds its own check_mode details.
    # A module's own attribute entries win over these (ansible-core merges fragments under the document).
    DATABASE = r"""
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
  action_group:
    support: full
    membership:
      - webops.encryption.database
"""

    # Modules whose action plugin does the work on the controller.
    CONTROLLER = r"""
attributes:
  action:
    support: full
    description: Runs on the controller.
  platform:
    platforms: posix
    support: full
    description: Controller only.
"""

    # Options of the database modules that write tokens (fernet_encrypt, fernet_rotate).
    WRITE = r"""
options:
  workers:
    description:
      - Processes that do the cryptography. Default is the number of CPUs this host gives the module.
      - V(1) does everything in the module's own process.
    type: int
  widen_columns:
    description:
      - On PostgreSQL, C(varchar) columns too narrow for the tokens they would receive are widened, after the scan and
        before any token is written, in one transaction of their own. The new width is the longest token needed plus
        64 characters, and at least 255. C(NOT NULL), defaults, unique constraints and indexes stay as they are.
      - With V(false), such a column is refused with the C(ALTER TABLE) that widens it, and nothing is written.
      - SQLite does not enforce widths, so there is never anything to widen.
    type: bool
    default: false
"""
