#!/usr/bin/env bash
# Copyright (c) webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Installs what a make target needs, and nothing that is already there.
#   scripts/ci_deps.sh apt PACKAGE...   Debian packages (root only; `apt-get update` at most once per checkout)
#   scripts/ci_deps.sh venv [REQUIREMENTS [PIP SPEC...]]
#                                       $VENV (default .venv) from a requirements file (default
#                                       requirements.txt, the runtime only) and extra pip specs;
#                                       skipped while those files and specs are unchanged
#   scripts/ci_deps.sh matrix MINOR     .venv-MINOR: the pytest suites on ansible-core MINOR.*
#                                       (tests/requirements.txt), with a Python that MINOR supports
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
MAIN_VENV="$VENV"

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

# pick_python MINIMUM: the first Python >= MINIMUM (e.g. 3.11) with venv, from $PYTHON, then by
# version from /usr/bin or PATH, then pyenv (whose shims are not global here: each version is
# called by its own name). The distribution's build of a version comes before any other: Debian
# builds it with PGO and LTO, pyenv by default without; playbook runs took 0.87 of the CPU time
# under Debian's 3.11 that they took under pyenv's (contributor guide).
pick_python() {
    local minimum="$1" candidate version
    local -a candidates=("${PYTHON:-}")
    for version in 3.11 3.12 3.13; do
        candidates+=("/usr/bin/python$version" "python$version")
    done
    candidates+=(/usr/bin/python3 python3)
    local pyenv_versions="${PYENV_ROOT:-$HOME/.pyenv}/versions"
    while read -r version; do
        candidates+=("$pyenv_versions/$version/bin/python${version%.*}")
    done < <(find "$pyenv_versions" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V)
    for candidate in "${candidates[@]}"; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info[:2] < tuple(map(int, sys.argv[1].split("."))))' \
                "$minimum" 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

# The requirements file and every file it includes with -r, as one checksum with the pip specs.
requirements_digest() {
    local file="$1" dir line
    shift
    dir="$(dirname "$file")"
    {
        cat "$file"
        while read -r line; do
            case "$line" in
                -r\ *) requirements_digest "$dir/${line#-r }" ;;
            esac
        done < "$file"
        printf '%s\n' "$@"
    } | sha256sum | cut -d' ' -f1
}

# install_venv "MINIMUM..." REQUIREMENTS [PIP SPEC...] into $VENV, with the first Python found
# for the first MINIMUM that has one ("3.13 3.12": 3.13 or later if there is one, else 3.12+). Each requirements set has
# its own stamp, so `make demo` (the runtime) does not reinstall a venv `make test` filled.
install_venv() {
    local minimums="$1" requirements="$2" python="" minimum
    shift 2
    local stamp want
    stamp="$VENV/.stamp-$(basename "$requirements" .txt)-$(printf '%s' "$*" | tr -c 'A-Za-z0-9.' _).sha256"
    want="$(requirements_digest "$requirements" "$@")"
    if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
        return 0
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        # Debian's python3 (3.11 on Debian 12) makes venvs only with python3-venv (its ensurepip).
        if [ "$(id -u)" -eq 0 ] && command -v dpkg-query >/dev/null 2>&1; then
            install_apt python3 python3-venv
        fi
        for minimum in $minimums; do
            python="$(pick_python "$minimum")" && break
        done
        if [ -z "$python" ]; then
            # Not root: say which Debian packages to install.
            command -v dpkg-query >/dev/null 2>&1 && install_apt python3 python3-venv
            echo "ci_deps: no Python >= ${minimums##* } with venv found" >&2
            exit 1
        fi
        echo "ci_deps: creating $VENV with $python ($("$python" -V 2>&1))"
        "$python" -m venv "$VENV"
    fi
    echo "ci_deps: pip install -r ${requirements#"$ROOT/"} $* into $VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements" "$@"
    echo "$want" > "$stamp"
}

case "${1:-}" in
    apt)
        shift
        install_apt "$@"
        ;;
    venv)
        shift
        requirements="${1:-requirements.txt}"
        shift || true
        install_venv 3.11 "$ROOT/$requirements" "$@"
        ;;
    matrix)
        minor="${2:?usage: $0 matrix MINOR (e.g. 2.21)}"
        VENV="$ROOT/.venv-$minor"
        # ansible-core 2.20 and later run on Python 3.12+ only; the newest minor gets the newest
        # Python, so the matrix covers 3.11 (.venv), 3.12 and 3.13.
        case "$minor" in
            2.19) minimums=3.11 ;;
            2.20) minimums=3.12 ;;
            *) minimums="3.13 3.12" ;;
        esac
        install_venv "$minimums" "$ROOT/tests/requirements.txt" "ansible-core==$minor.*"
        # The playbook tests read results through the ansible.posix.json callback. Galaxy is
        # not reachable and PyPI's `ansible` bundle pins ansible-core 2.19, so the matrix venv
        # takes ansible.posix from the bundle in the main venv (`make venv` builds it).
        site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
        if [ ! -d "$site/ansible_collections/ansible/posix" ]; then
            posix="$(find "$MAIN_VENV"/lib/python3*/site-packages/ansible_collections/ansible -maxdepth 1 -name posix -type d 2>/dev/null | head -n 1)"
            [ -n "$posix" ] || { echo "ci_deps: no ansible.posix in $MAIN_VENV: run make venv first" >&2; exit 1; }
            mkdir -p "$site/ansible_collections/ansible"
            cp -a "$posix" "$site/ansible_collections/ansible/"
        fi
        ;;
    *)
        echo "usage: $0 apt PACKAGE... | venv [REQUIREMENTS [PIP SPEC...]] | matrix MINOR" >&2
        exit 2
        ;;
esac
