#!/usr/bin/env bash
# Copyright (c) webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Runs `ansible-test sanity` on a copy of the working tree laid out as
# .tmp/sanity/VENV_NAME/ansible_collections/webops/encryption (ansible-test needs that path).
# The copy holds tracked AND untracked-but-not-ignored files, so new files are
# checked before they are committed; the collections/ symlink loop is left out.
# Extra arguments go to ansible-test, e.g. `scripts/sanity.sh --test pep8`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
# The controller Python of the venv's ansible-core (3.11 in .venv, 3.12+ in .venv-2.20 and later).
PY_VERSION="${SANITY_PYTHON:-$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')}"
# One copy per venv: the ansible-core matrix runs sanity for several versions at once.
WORK="$ROOT/.tmp/sanity/$(basename "$VENV")"
DEST="$WORK/ansible_collections/webops/encryption"

cd "$ROOT"
if ls tests/sanity/ignore-*.txt >/dev/null 2>&1; then
    echo "sanity: tests/sanity/ignore-*.txt is not allowed here; fix the code instead" >&2
    exit 1
fi

# ansible-test bootstraps pip in each sanity venv with a get-pip.py it downloads from a
# host CI cannot reach; give it the offline stand-in under the name it looks for.
pip_version="$("$VENV/bin/python" -c 'import types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version="'"$PY_VERSION"'"))["pip"])')"
get_pip="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
# Replaced atomically when it differs: the matrix runs several sanity stages at once.
if ! cmp -s scripts/ansible_test_get_pip.py "$get_pip"; then
    mkdir -p "$(dirname "$get_pip")"
    cp scripts/ansible_test_get_pip.py "$get_pip.$$"
    mv -f "$get_pip.$$" "$get_pip"
fi

# A fresh copy each time: files deleted from the work tree must not linger.
rm -rf "$DEST"
mkdir -p "$DEST"
git ls-files -co --exclude-standard -z | grep -zv '^collections/' | sort -zu > "$WORK/files"
# --ignore-missing-args: files deleted from the work tree but still in the index.
rsync -a --from0 --files-from="$WORK/files" --ignore-missing-args ./ "$DEST/"
# A private git repo makes ansible-test list exactly the copied files (untracked = "others").
git -C "$DEST" init -q

cd "$DEST"
export PATH="$VENV/bin:$PATH"
echo "sanity: ansible-test sanity --python $PY_VERSION in $DEST ($(tr -cd '\0' < "$WORK/files" | wc -c) files)"
status=0
ansible-test sanity --python "$PY_VERSION" --color no "$@" || status=$?

# Modules and module_utils run on the managed hosts' Python (3.8+ for ansible-core 2.19):
# compile them with every other supported Python this machine has (pyenv, /usr/bin).
if [ "$#" -eq 0 ]; then
    versions="$(python -c 'from ansible_test._internal.constants import SUPPORTED_PYTHON_VERSIONS as v; print(" ".join(v))')"
    for version in $versions; do
        [ "$version" = "$PY_VERSION" ] && continue
        interpreter=""
        for candidate in "python$version" "$HOME"/.pyenv/versions/"$version".*/bin/"python$version" "/usr/bin/python$version"; do
            if "$candidate" -c 'pass' >/dev/null 2>&1; then
                interpreter="$(command -v "$candidate")"
                break
            fi
        done
        if [ -z "$interpreter" ]; then
            echo "sanity: compile on Python $version skipped: no python$version on this machine"
            continue
        fi
        ansible-test sanity --test compile --python "$version" --python-interpreter "$interpreter" --color no || status=$?
    done
fi
exit "$status"
