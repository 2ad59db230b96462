#!/usr/bin/env bash
# Copyright (c) webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Runs `molecule test -s NAME` for every scenario in extensions/molecule/ (Molecule's layout for
# collections: extensions/molecule/config.yml is shared, each scenario is a directory beside it),
# or only those named as arguments, after making podman usable and building the test-host image
# once (or waiting for the build `make test` started in the background, scripts/background.sh).
# Every scenario runs even after one failed (FAIL_FAST=1 stops at the first failure).
# Records one line per scenario in .tmp/reports/molecule.txt for the closing summary.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
export PATH="$VENV/bin:$PATH"
cd "$ROOT"

scenarios=("$@")
if [ "${#scenarios[@]}" -eq 0 ]; then
    for config in extensions/molecule/*/molecule.yml; do
        [ -e "$config" ] || continue
        scenarios+=("$(basename "$(dirname "$config")")")
    done
fi
if [ "${#scenarios[@]}" -eq 0 ]; then
    echo "molecule: skipped: no scenario (extensions/molecule/*/molecule.yml) yet"
    mkdir -p .tmp/reports
    echo "no scenario (extensions/molecule/*/molecule.yml) yet" > .tmp/reports/molecule.skipped
    exit 0
fi

# Shared preparation owned by the Molecule scenarios: podman runtime fix-up where this
# sandbox needs it, then the Debian test-host image (skipped when it already exists). `make
# test` started both in the background early; then this waits for that run to end.
status=0
scripts/background.sh wait molecule-image || status=$?
if [ "$status" -eq 3 ]; then
    status=0
    for step in extensions/molecule/shared/setup_podman.sh extensions/molecule/shared/build_image.sh; do
        echo "molecule: $step"
        bash "$step" || { status=$?; break; }
    done
fi
if [ "$status" -ne 0 ]; then
    echo "molecule: the test-host image could not be built (status $status); no scenario ran" >&2
    exit "$status"
fi

mkdir -p .tmp/reports
report=.tmp/reports/molecule.txt
: > "$report"
failed=()
for scenario in "${scenarios[@]}"; do
    echo "molecule: === scenario $scenario ==="
    start=$SECONDS
    if molecule test -s "$scenario"; then
        echo "passed $scenario $((SECONDS - start))s" >> "$report"
    else
        echo "failed $scenario $((SECONDS - start))s" >> "$report"
        failed+=("$scenario")
        # Leave nothing running for the next scenario.
        molecule destroy -s "$scenario" >/dev/null 2>&1 || true
        [ -z "${FAIL_FAST:-}" ] || break
    fi
done
cat "$report"
if [ "${#failed[@]}" -ne 0 ]; then
    echo "molecule: failed scenario(s): ${failed[*]}" >&2
    exit 1
fi
