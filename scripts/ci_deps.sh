#!/usr/bin/env bash
# Copyright (c) webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Installs what a make target needs, and nothing that is already there.
#   scripts/ci_deps.sh apt PACKAGE...   Debian packages (root only; `apt-get update` at most once per checkout)
#   scripts/ci_deps.sh venv             .venv from requirements.txt (skipped while requirements.txt is unchanged)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"

apt_missing() {
    local pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -q '^install ok installed$' || echo "$pkg"
    done
}

install_apt() {
    local missing
    mapfile -t missing < <(apt_missing "$@")
    [ "${#missing[@]}" -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "ci_deps: missing Debian packages: ${missing[*]}" >&2
        echo "ci_deps: install them first: sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    local stamp="$ROOT/.tmp/apt-updated" updated=0
    mkdir -p "$ROOT/.tmp"
    if [ ! -e "$stamp" ]; then
        echo "ci_deps: apt-get update"
        apt-get update -q >/dev/null
        touch "$stamp"
        updated=1
    fi
    echo "ci_deps: apt-get install ${missing[*]}"
    if ! apt-get install -y -q "${missing[@]}" </dev/null >"$ROOT/.tmp/apt-install.log" 2>&1; then
        if [ "$updated" -eq 1 ]; then
            tail -n 30 "$ROOT/.tmp/apt-install.log" >&2
            exit 1
        fi
        # The package lists of an earlier run may be stale: refresh once and retry.
        apt-get update -q >/dev/null
        touch "$stamp"
        apt-get install -y -q "${missing[@]}" </dev/null >"$ROOT/.tmp/apt-install.log" 2>&1 || {
            tail -n 30 "$ROOT/.tmp/apt-install.log" >&2
            exit 1
        }
    fi
}

pick_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 python3.12 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

install_venv() {
    local stamp="$VENV/.requirements.sha256" want python
    want="$(sha256sum "$ROOT/requirements.txt" | cut -d' ' -f1)"
    if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
        return 0
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        if ! python="$(pick_python)"; then
            # Debian 12's python3 is 3.11; it needs python3-venv for `python3 -m venv`.
            install_apt python3 python3-venv
            python="$(pick_python)" || { echo "ci_deps: no Python >= 3.11 with venv found" >&2; exit 1; }
        fi
        echo "ci_deps: creating $VENV with $python ($("$python" -V 2>&1))"
        "$python" -m venv "$VENV"
    fi
    echo "ci_deps: pip install -r requirements.txt into $VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$ROOT/requirements.txt"
    echo "$want" > "$stamp"
}

case "${1:-}" in
    apt)
        shift
        install_apt "$@"
        ;;
    venv)
        install_venv
        ;;
    *)
        echo "usage: $0 apt PACKAGE... | venv" >&2
        exit 2
        ;;
esac
