#!/usr/bin/env bash
# Copyright (c) webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# scripts/ci_stage.sh NAME MINUTES COMMAND...: one stage of `make test`, with a banner, its
# duration, and a time limit (a hung stage must not eat CI's whole budget). The outcome goes
# to .tmp/reports/stages.txt for the closing summary (scripts/ci_summary.py).
#
# COMMAND `pytest DIR [ARGS...]` runs a pytest suite with $VENV's Python and writes its JUnit
# report to .tmp/reports/NAME.xml, plus PYTEST_ARGS from the environment (e.g. "-x -k rotate").
# A suite whose tests all get deselected fails (pytest exit status 5).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
name="$1"
minutes="$2"
shift 2

cd "$ROOT" || exit 1
mkdir -p .tmp/reports
# A stage with nothing to run yet leaves NAME.skipped (scripts/molecule.sh without a scenario).
rm -f ".tmp/reports/$name.skipped"
if [ "$1" = pytest ]; then
    shift
    # One hung test fails alone, with a traceback, instead of the whole stage hitting its limit
    # (pytest-timeout; PYTEST_TIMEOUT seconds per test). Generous: the longest tests run a dozen
    # playbooks, and the matrix shares the two cores with the main stages.
    # shellcheck disable=SC2086
    set -- "$VENV/bin/python" -m pytest "$@" --junitxml=".tmp/reports/$name.xml" -o junit_suite_name="$name" \
        --timeout="${PYTEST_TIMEOUT:-900}" ${PYTEST_ARGS:-}
fi

echo
echo "=== $name: start $(date -u +%H:%M:%S) UTC (limit ${minutes} min): $*"
start=$SECONDS
# SIGINT first: pytest then runs its fixtures' teardown (stops the PostgreSQL clusters it started).
if [ -n "${STAGE_PREFIX:-}" ]; then
    # `make test` runs two lanes of stages side by side: each line names its stage.
    timeout --signal=INT --kill-after=60s "${minutes}m" "$@" 2>&1 | sed -u "s/^/[$name] /"
    rc=${PIPESTATUS[0]}
else
    timeout --signal=INT --kill-after=60s "${minutes}m" "$@"
    rc=$?
fi
elapsed=$((SECONDS - start))
if [ "$rc" -eq 0 ] && [ -s ".tmp/reports/$name.skipped" ]; then
    outcome="skipped: $(head -n 1 ".tmp/reports/$name.skipped")"
elif [ "$rc" -eq 0 ]; then
    outcome=passed
elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] || [ "$SECONDS" -ge $((start + minutes * 60)) ]; then
    outcome="failed (timed out after ${minutes} min)"
else
    outcome="failed (exit status $rc)"
fi
printf '%-18s %-55s %5ss\n' "$name" "$outcome" "$elapsed" >> .tmp/reports/stages.txt
echo "=== $name: $outcome in ${elapsed}s"
exit "$rc"
