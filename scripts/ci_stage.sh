#!/usr/bin/env bash
# Copyright (c) webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# scripts/ci_stage.sh NAME MINUTES COMMAND...: one stage of `make test`, with a banner, its
# duration, and a time limit (a hung stage must not eat CI's whole budget). The outcome goes
# to .tmp/reports/stages.txt for the closing summary.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
name="$1"
minutes="$2"
shift 2

mkdir -p "$ROOT/.tmp/reports"
rm -f "$ROOT/.tmp/reports/$name.skipped"
echo
echo "=== $name: start $(date -u +%H:%M:%S) UTC (limit ${minutes} min): $*"
start=$SECONDS
# SIGINT first: pytest then runs its fixtures' teardown (stops the PostgreSQL clusters it started).
timeout --signal=INT --kill-after=60s "${minutes}m" "$@"
rc=$?
elapsed=$((SECONDS - start))
if [ "$rc" -eq 0 ] && [ -s "$ROOT/.tmp/reports/$name.skipped" ]; then
    outcome="skipped: $(head -n 1 "$ROOT/.tmp/reports/$name.skipped")"
elif [ "$rc" -eq 0 ]; then
    outcome=passed
elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] || [ "$SECONDS" -ge $((start + minutes * 60)) ]; then
    outcome="failed (timed out after ${minutes} min)"
else
    outcome="failed (exit status $rc)"
fi
printf '%-18s %-55s %5ss\n' "$name" "$outcome" "$elapsed" >> "$ROOT/.tmp/reports/stages.txt"
echo "=== $name: $outcome in ${elapsed}s"
exit "$rc"
