#!/usr/bin/env bash
# Copyright (c) webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# scripts/ci_pytest.sh NAME DIR [PYTEST ARGS...]: one pytest suite of `make test`.
# Writes .tmp/reports/NAME.xml (JUnit) for the closing summary. A suite whose directory
# (or holds no test file yet) is skipped with a message; one whose tests all get deselected
# fails (pytest exit status 5).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
name="$1"
dir="$2"
shift 2

cd "$ROOT"
mkdir -p .tmp/reports
skip() {
    echo "$name: skipped: $1"
    echo "$1" > ".tmp/reports/$name.skipped"
    exit 0
}
[ -d "$dir" ] || skip "$dir does not exist yet"
[ -n "$(find "$dir" -name 'test_*.py' -print -quit)" ] || skip "no test_*.py file in $dir yet"
# One hung test fails alone, with a traceback, instead of the whole stage hitting its limit
# (pytest-timeout; PYTEST_TIMEOUT seconds per test).
timeout_args=()
if "$VENV/bin/python" -c 'import pytest_timeout' 2>/dev/null; then
    timeout_args=(--timeout="${PYTEST_TIMEOUT:-300}")
fi
# PYTEST_ARGS from the environment, e.g. PYTEST_ARGS="-x -k rotate" or "-n 2" (pytest-xdist).
# shellcheck disable=SC2086
exec "$VENV/bin/python" -m pytest "$dir" --junitxml=".tmp/reports/$name.xml" -o junit_suite_name="$name" \
    "${timeout_args[@]}" "$@" ${PYTEST_ARGS:-}
