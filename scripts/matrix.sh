#!/usr/bin/env bash
# Copyright (c) webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# scripts/matrix.sh MINOR...: the tests that concern ansible-core, on each ansible-core MINOR
# (e.g. 2.20 2.21), each in its own venv .venv-MINOR (scripts/ci_deps.sh matrix MINOR):
# sanity, then the unit, integration and hardening files (MATRIX_SUITES) that go through ansible-core
# (scripts/test_scope.py ansible). The engine-only files (scripts/test_scope.py engine) test
# plain Python, not ansible-core: .venv runs them on its Python (3.11), and a MINOR listed in
# MATRIX_ENGINE (default 2.21, on Python 3.13) runs them on its Python too; the other versions
# skip them. Every step is a stage of its own (sanity-MINOR, unit-MINOR, integration-MINOR,
# hardening-MINOR) in the closing summary, and every step runs even after one failed
# (FAIL_FAST=1 stops a version at its first failure).
# The versions run side by side (MATRIX_JOBS=1: one after the other). Output lines carry a
# [MINOR] prefix.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
[ "$#" -gt 0 ] || { echo "usage: $0 MINOR... (e.g. 2.20 2.21)" >&2; exit 2; }

# Time limits (minutes) per step: in `make test` the versions share the 2 cores with each other
# and with the main stages, so each step takes longer than the same step run alone.
LIMIT_SANITY="${LIMIT_SANITY:-20}"
LIMIT_UNIT="${LIMIT_UNIT:-8}"
LIMIT_INTEGRATION="${LIMIT_INTEGRATION:-60}"
LIMIT_HARDENING="${LIMIT_HARDENING:-50}"
MATRIX_ENGINE="${MATRIX_ENGINE-2.21}"
MATRIX_JOBS="${MATRIX_JOBS:-0}"

one_version() {
    local minor="$1" status=0 scope=ansible suite files
    # With VENV still naming the main venv (ci_deps takes ansible.posix from it).
    scripts/ci_deps.sh matrix "$minor" || return 1
    export VENV="$ROOT/.venv-$minor"
    # Each version's hardening report beside the others (they may run at the same time).
    export HARDENING_REPORT="$ROOT/.tmp/reports/hardening-$minor.md"
    case " $MATRIX_ENGINE " in *" $minor "*) scope=all ;; esac
    echo "matrix: ansible-core $("$VENV/bin/python" -c 'from ansible.release import __version__; print(__version__)') on $("$VENV/bin/python" -V) ($([ "$scope" = all ] && echo 'every test' || echo 'the tests that go through ansible-core'))"
    step() {
        [ "$status" -eq 0 ] || [ -z "${FAIL_FAST:-}" ] || return 0
        scripts/ci_stage.sh "$@" || status=1
    }
    step "sanity-$minor" "$LIMIT_SANITY" scripts/sanity.sh
    for suite in ${MATRIX_SUITES:-unit integration hardening}; do
        mapfile -t files < <("$VENV/bin/python" scripts/test_scope.py "$([ "$scope" = all ] && echo all || echo ansible)" "tests/$suite")
        [ "${#files[@]}" -gt 0 ] || continue
        local limit_var="LIMIT_${suite^^}"
        step "$suite-$minor" "${!limit_var}" pytest "${files[@]}"
    done
    return "$status"
}

start=$SECONDS
pids=()
status=0
for minor in "$@"; do
    # The exit status of the version's run, not of the prefixing sed.
    (
        set -o pipefail
        one_version "$minor" 2>&1 | sed -u "s/^/[$minor] /"
    ) &
    pids+=("$!")
    if [ "$MATRIX_JOBS" = 1 ]; then
        wait "${pids[-1]}" || status=1
        pids=("${pids[@]:0:${#pids[@]}-1}")
    fi
done
for pid in "${pids[@]}"; do
    wait "$pid" || status=1
done
echo "=== matrix: ansible-core $* in $((SECONDS - start))s ($([ "$status" -eq 0 ] && echo passed || echo failed))"
exit "$status"
