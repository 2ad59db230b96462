#!/usr/bin/env bash
# Copyright (c) webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Runs `molecule test -s NAME` for every scenario in molecule/ (or only those named as
# arguments), after making podman usable and building the test-host image once.
# Records one line per scenario in .tmp/reports/molecule.txt for the closing summary.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
export PATH="$VENV/bin:$PATH"
cd "$ROOT"

scenarios=("$@")
if [ "${#scenarios[@]}" -eq 0 ]; then
    for config in molecule/*/molecule.yml; do
        [ -e "$config" ] || continue
        scenarios+=("$(basename "$(dirname "$config")")")
    done
fi
if [ "${#scenarios[@]}" -eq 0 ]; then
    echo "molecule: skipped: no scenario (molecule/*/molecule.yml) yet"
    mkdir -p .tmp/reports
    echo "no scenario (molecule/*/molecule.yml) yet" > .tmp/reports/molecule.skipped
    exit 0
fi

# Shared preparation owned by the Molecule scenarios: podman runtime fix-up where this
# sandbox needs it, then the Debian test-host image (skipped when it already exists).
for step in molecule/shared/setup_podman.sh molecule/shared/build_image.sh; do
    if [ -f "$step" ]; then
        echo "molecule: $step"
        bash "$step"
    fi
done

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
        [ -n "${MOLECULE_KEEP_GOING:-}" ] || break
    fi
done
cat "$report"
if [ "${#failed[@]}" -ne 0 ]; then
    echo "molecule: failed scenario(s): ${failed[*]}" >&2
    exit 1
fi
