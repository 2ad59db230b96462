# Copyright (c) webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Offline stand-in for the pypa get-pip.py script that ansible-test bootstraps its sanity venvs with.

ansible-test downloads get-pip.py from a host CI cannot reach; it then runs it as
``python get_pip_X_Y.py [pip install options] pip==X.Y`` inside a venv created without pip.
This runs pip straight from the wheel CPython bundles for ensurepip, and lets that pip
install what ansible-test asked for from PyPI. scripts/sanity.sh copies it into
~/.ansible/test/cache/ under the name ansible-test looks for.
"""

from __future__ import annotations

import contextlib
import ensurepip
import os
import runpy
import sys

# Options only get-pip.py knows; pip itself would reject them.
GET_PIP_OPTIONS = ('--no-setuptools', '--no-wheel')


@contextlib.contextmanager
def bundled_pip_wheel():
    """Path of the pip wheel this CPython ships for ensurepip (Debian keeps it in /usr/share/python-wheels)."""
    # pylint: disable=protected-access
    if hasattr(ensurepip, '_get_pip_whl_path_ctx'):  # Python 3.12 and later
        with ensurepip._get_pip_whl_path_ctx() as path:
            yield str(path)
        return
    package = ensurepip._get_packages()['pip']
    if package.wheel_path:
        yield package.wheel_path
    else:
        yield os.path.join(os.path.dirname(ensurepip.__file__), '_bundled', package.wheel_name)


def main() -> None:
    with bundled_pip_wheel() as wheel:
        sys.path.insert(0, wheel)
        sys.argv = ['pip', 'install'] + [arg for arg in sys.argv[1:] if arg not in GET_PIP_OPTIONS]
        runpy.run_module('pip', run_name='__main__', alter_sys=True)


if __name__ == '__main__':
    main()
