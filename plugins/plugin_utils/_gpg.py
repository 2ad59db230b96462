# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
"""gpg on the controller, in the shape module_utils/_evidence expects of a runner (a module passes
its run_command instead)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import subprocess


def controller_gpg(binary="gpg"):
    """``run(arguments)`` -> (rc, stdout, stderr) as text, running ``binary`` with ``arguments``."""
    def run(arguments):
        done = subprocess.run([binary] + list(arguments), stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        return done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")
    return run
