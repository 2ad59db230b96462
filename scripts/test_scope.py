# Copyright (c) webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which test files go through ansible-core and which test the plain-Python engine only.

The ansible-core matrix (scripts/matrix.sh) runs the files that go through ansible-core (modules,
action, filter and lookup plugins, playbooks, roles) on every ansible-core version, and the
engine-only files (plugins/module_utils driven straight from Python) once per Python the hosts
may have, not once per ansible-core version.

    python scripts/test_scope.py ansible DIR...   the files of DIR... that go through ansible-core
    python scripts/test_scope.py engine DIR...    the engine-only files of DIR...
    python scripts/test_scope.py all DIR...       both (what one Python of the matrix runs)
    python scripts/test_scope.py check            fail if a file listed as engine-only imports
                                                  ansible-core or runs Ansible (run with a venv
                                                  that has ansible-core)

A new test file goes through ansible-core unless ENGINE_ONLY lists it, so nothing drops out of
the matrix by default. The files ONCE lists test neither ansible-core nor the engine (the README
as written, the built docs site): the main run has them, the matrix does not.
"""

from __future__ import annotations

import concurrent.futures
import fnmatch
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
ENGINE_ONLY = (
    # Not test_custody.py: _custody uses ansible.module_utils.
    'tests/unit/plugins/module_utils/test_codec_review.py',
    'tests/unit/plugins/module_utils/test_columns.py',
    'tests/unit/plugins/module_utils/test_dotenv.py',
    'tests/unit/plugins/module_utils/test_engine_*.py',
    'tests/unit/plugins/module_utils/test_fernet.py',
    'tests/unit/plugins/plugin_utils/test_inventory_contract.py',
    'tests/unit/plugins/module_utils/test_progress.py',
    'tests/unit/plugins/module_utils/test_secret_key.py',
    'tests/integration/test_engine_*.py',
    'tests/hardening/test_dotenv_hostile.py',
    'tests/hardening/test_faults.py',
    'tests/hardening/test_hostile_data.py',
    'tests/hardening/test_hostile_keys.py',
    'tests/hardening/test_permissions.py',
)
# What shows a file runs Ansible even when importing it loads no ansible-core module.
ONCE = (
    'tests/integration/test_docs_site.py',
    'tests/integration/test_readme.py',
)
RUNS_ANSIBLE = ('ansible-playbook', 'ansible_runs', 'playbook_site', 'harness.modules', 'harness import modules',
                'plugins/modules', 'plugins/action', 'plugins/filter', 'plugins/lookup')
PROBE = r'''
import importlib.util, sys
sys.path[:0] = [sys.argv[1] + "/collections", sys.argv[1] + "/tests"]
spec = importlib.util.spec_from_file_location("scope_probe", sys.argv[2])
spec.loader.exec_module(importlib.util.module_from_spec(spec))
core = sorted(name for name in sys.modules if name == "ansible" or name.startswith("ansible."))
print(" ".join(core[:3]))
'''


def is_engine_only(path: str) -> bool:
    return any(fnmatch.fnmatch(path, pattern) for pattern in ENGINE_ONLY)


def test_files(dirs: list[str]) -> list[str]:
    files = []
    for directory in dirs:
        files += sorted(str(path.relative_to(ROOT)) for path in (ROOT / directory).rglob('test_*.py'))
    return files


def _probe(path: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', PROBE, str(ROOT), str(ROOT / path)],
                          capture_output=True, text=True, check=False)


def check() -> int:
    problems = []
    engine = [path for path in test_files(['tests']) if is_engine_only(path)]
    # One fresh interpreter per file (imports must not leak between files), a few at a time.
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        probes = list(pool.map(_probe, engine))
    for path, core in zip(engine, probes):
        text = (ROOT / path).read_text(encoding='utf-8')
        hits = [word for word in RUNS_ANSIBLE if word in text]
        if core.returncode != 0:
            problems.append('%s: cannot be imported to check it:\n%s' % (path, core.stderr[-2000:]))
        elif core.stdout.strip() or hits:
            problems.append('%s is listed as engine-only but %s' % (
                path, 'imports ansible-core (%s)' % core.stdout.strip() if core.stdout.strip() else 'runs Ansible (%s)' % ', '.join(hits)))
    for problem in problems:
        print('test_scope: ' + problem, file=sys.stderr)
    if not problems:
        print('test_scope: every engine-only test file runs without ansible-core')
    return 1 if problems else 0


def main(argv: list[str]) -> int:
    if argv[:1] == ['check']:
        return check()
    if len(argv) < 2 or argv[0] not in ('ansible', 'engine', 'all'):
        print(__doc__, file=sys.stderr)
        return 2
    files = [path for path in test_files(argv[1:]) if not any(fnmatch.fnmatch(path, once) for once in ONCE)]
    if argv[0] != 'all':
        files = [path for path in files if is_engine_only(path) == (argv[0] == 'engine')]
    print('\n'.join(files))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
