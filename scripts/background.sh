#!/usr/bin/env bash
# Copyright (c) webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Long preparations that wait on the network and the disk more than on the CPU (the Molecule
# image's debootstrap) start early in `make test` and overlap the CPU-bound stages before the
# stage that needs them.
#   scripts/background.sh start NAME COMMAND...   run COMMAND in the background; its output goes
#                                                 to .tmp/background/NAME.log, its exit status to
#                                                 .tmp/background/NAME.rc when it ends
#   scripts/background.sh wait NAME               wait for it to end, print its output, exit
#                                                 with its status (status 3 if it never started)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$ROOT/.tmp/background"
action="${1:-}"
name="${2:-}"
[ -n "$name" ] || { echo "usage: $0 start NAME COMMAND... | wait NAME" >&2; exit 2; }
mkdir -p "$DIR"

case "$action" in
start)
    shift 2
    rm -f "$DIR/$name.rc" "$DIR/$name.log"
    # setsid: the job outlives the make recipe that started it; the rc file is written last.
    # The single-quoted script is expanded by the inner bash.
    # shellcheck disable=SC2016
    setsid bash -c '"$@" >"$0.log" 2>&1; echo $? >"$0.rc.tmp"; mv "$0.rc.tmp" "$0.rc"' \
        "$DIR/$name" "$@" </dev/null >/dev/null 2>&1 &
    echo "$!" >"$DIR/$name.pid"
    echo "background: $name started (pid $!, log .tmp/background/$name.log)"
    ;;
wait)
    [ -e "$DIR/$name.pid" ] || exit 3
    pid="$(cat "$DIR/$name.pid")"
    start=$SECONDS
    # The job's own end, not a guess: its rc file appears when it exits (kill -0 covers a job
    # that died without writing it).
    while [ ! -e "$DIR/$name.rc" ] && kill -0 "$pid" 2>/dev/null; do
        sleep 1
    done
    rm -f "$DIR/$name.pid"
    cat "$DIR/$name.log" 2>/dev/null
    rc="$(cat "$DIR/$name.rc" 2>/dev/null || echo 1)"
    echo "background: $name ended with status $rc (waited $((SECONDS - start))s for it)"
    exit "$rc"
    ;;
*)
    echo "usage: $0 start NAME COMMAND... | wait NAME" >&2
    exit 2
    ;;
esac
