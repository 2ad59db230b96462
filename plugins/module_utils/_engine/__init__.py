# -*- coding: utf-8 -*-
# Copyright: (c) 2026, webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# PRIVATE: this module is internal to webops.encryption. Its API may change at any time,
# without a changelog entry. Do not import it from outside this collection.
