#!/usr/bin/env bash
# Copyright (c) webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# scripts/matrix.sh MINOR...: sanity, unit and integration on each ansible-core MINOR (e.g. 2.20
# 2.21), each in its own venv .venv-MINOR (scripts/ci_deps.sh matrix MINOR). The versions run at
# the same time (the suites wait on PostgreSQL and subprocesses as much as on the CPU); within one
# version the steps run in order and the first failure ends that version's run unless
# KEEP_GOING=1. Every step is a stage of its own (sanity-MINOR, unit-MINOR, integration-MINOR)
# in the closing summary. Output lines carry a [MINOR] prefix.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
[ "$#" -gt 0 ] || { echo "usage: $0 MINOR... (e.g. 2.20 2.21)" >&2; exit 2; }

# Time limits (minutes) per step; two versions share the 2 cores, so each step takes longer
# than the same step of the main run.
LIMIT_SANITY="${LIMIT_SANITY:-15}"
LIMIT_UNIT="${LIMIT_UNIT:-5}"
LIMIT_INTEGRATION="${LIMIT_INTEGRATION:-30}"

one_version() {
    local minor="$1" status=0
    # With VENV still naming the main venv (ci_deps takes ansible.posix from it).
    scripts/ci_deps.sh matrix "$minor" || return 1
    export VENV="$ROOT/.venv-$minor"
    echo "matrix: ansible-core $("$VENV/bin/python" -c 'from ansible.release import __version__; print(__version__)') on $("$VENV/bin/python" -V)"
    step() {
        [ "$status" -eq 0 ] || [ -n "${KEEP_GOING:-}" ] || return 0
        scripts/ci_stage.sh "$@" || status=1
    }
    step "sanity-$minor" "$LIMIT_SANITY" scripts/sanity.sh
    step "unit-$minor" "$LIMIT_UNIT" pytest tests/unit
    step "integration-$minor" "$LIMIT_INTEGRATION" pytest tests/integration
    return "$status"
}

start=$SECONDS
pids=()
for minor in "$@"; do
    # The exit status of the version's run, not of the prefixing sed.
    (
        set -o pipefail
        one_version "$minor" 2>&1 | sed -u "s/^/[$minor] /"
    ) &
    pids+=("$!")
done
status=0
for pid in "${pids[@]}"; do
    wait "$pid" || status=1
done
echo "=== matrix: ansible-core $* in $((SECONDS - start))s ($([ "$status" -eq 0 ] && echo passed || echo failed))"
exit "$status"
