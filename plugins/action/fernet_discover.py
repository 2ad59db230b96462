# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs fernet_discover with a progress line every webops_progress_interval seconds (plugin_utils/_progress_action.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.webops.encryption.plugins.plugin_utils._progress_action import ProgressActionModule


class ActionModule(ProgressActionModule):
    pass
