# Copyright (c) webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Sphinx configuration of the webops.encryption documentation site (`make docs`).

antsibull-docs writes the plugin, role and guide pages into .tmp/docs/rst; Sphinx renders them.
The build works offline: the few Ansible documentation labels the generated pages link to are
resolved from a small inventory written here instead of the one Sphinx would download.
"""

import os
import tempfile
import zlib

project = 'webops.encryption'
copyright = 'webops.encryption contributors'  # pylint: disable=redefined-builtin
title = 'webops.encryption'
html_short_title = 'webops.encryption'

extensions = ['sphinx.ext.intersphinx', 'sphinx_antsibull_ext']

root_doc = 'index'
pygments_style = 'ansible'
highlight_language = 'YAML+Jinja'

html_theme = 'sphinx_ansible_theme'
# _templates/extrabody.html: the logo links to the landing page by a relative path, not to '/'.
templates_path = ['_templates']
html_theme_options = {'show_rtd_ethical_ads': False}
html_show_sphinx = False
display_version = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False

default_role = 'any'
nitpicky = True

ANSIBLE_DOCS = 'https://docs.ansible.com/projects/ansible/devel/'
# label: (page, anchor, title) in the Ansible documentation.
ANSIBLE_LABELS = {
    'ansible_configuration_settings': ('reference_appendices/config.html', 'ansible-configuration-settings',
                                       'Ansible Configuration Settings'),
    'common_return_values': ('reference_appendices/common_return_values.html', 'common-return-values',
                             'Return Values'),
    'action_plugins': ('plugins/action.html', 'action-plugins', 'Action plugins'),
    'ansible_collections.community.crypto.openssl_privatekey_module__parameter-regenerate': (
        'collections/community/crypto/openssl_privatekey_module.html', 'parameter-regenerate',
        'community.crypto.openssl_privatekey regenerate'),
}


def write_inventory(path):
    """Write a Sphinx object inventory (version 2) naming ANSIBLE_LABELS."""
    lines = ''.join(
        '%s std:label -1 %s#%s %s\n' % (label, page, anchor, label_title)
        for label, (page, anchor, label_title) in sorted(ANSIBLE_LABELS.items()))
    with open(path, 'wb') as handle:
        handle.write(b'# Sphinx inventory version 2\n# Project: Ansible\n# Version: devel\n'
                     b'# The remainder of this file is compressed using zlib.\n')
        handle.write(zlib.compress(lines.encode('utf-8')))


# scripts/build_docs.sh points WEBOPS_DOCS_TMP at its scratch directory.
ANSIBLE_INVENTORY = os.path.join(os.environ.get('WEBOPS_DOCS_TMP') or tempfile.mkdtemp(prefix='webops-docs-'),
                                 'ansible_devel.inv')
write_inventory(ANSIBLE_INVENTORY)
intersphinx_mapping = {'ansible_devel': (ANSIBLE_DOCS, ANSIBLE_INVENTORY)}
intersphinx_timeout = 1
