#!/usr/bin/env bash
# Copyright (c) webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Builds the collection tarball the way a release would, installs it into a throwaway
# collections path, and renders the documentation of every module, filter and lookup
# plugin from that install. Prints what ships (top-level entries with file counts) and fails
# if the tarball holds anything outside an allow-list of top-level entries, lacks a file the
# installed collection needs, or if any plugin's documentation does not render.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
export PATH="$VENV/bin:$PATH"

cd "$ROOT"
tarball="$(scripts/build_tarball.sh "$ROOT/.tmp/dist" | tail -n 1)"

contents="$ROOT/.tmp/dist/contents"
tar -tzf "$tarball" > "$contents"

# What ships: each top-level entry with its number of files (directories end in /), then the total.
echo "build-check: $(basename "$tarball") ships:"
grep -v '/$' "$contents" | awk -F/ '{ n[NF > 1 ? $1 "/" : $1]++ } END { for (top in n) printf "  %-22s %4d\n", top, n[top] }' | sort
echo "  total                  $(grep -cv '/$' "$contents")"

# Only what a user of the installed collection needs ships (galaxy.yml build_ignore says why).
allowed=(MANIFEST.json FILES.json README.md CHANGELOG.rst COPYING LICENSES bindep.txt requirements.txt
    changelogs docs meta playbooks plugins roles)
unexpected="$(cut -d/ -f1 "$contents" | sort -u | grep -vxF -f <(printf '%s\n' "${allowed[@]}") || true)"
if [ -n "$unexpected" ]; then
    echo "build-check: the tarball holds top-level entries outside the allow-list (${allowed[*]}):" >&2
    echo "$unexpected" >&2
    echo "build-check: add them to build_ignore in galaxy.yml, or to the allow-list in scripts/build_check.sh if users need them" >&2
    exit 1
fi
# Inside the allowed entries: no generated files, and of docs/ only the docsite.
if unwanted="$(grep -E '(^|/)__pycache__/|\.(pyc|sqlite3|db|log|tar\.gz)$|^docs/[^/]+$' "$contents")"; then
    echo "build-check: the tarball holds files that must not ship (add them to build_ignore in galaxy.yml):" >&2
    echo "$unwanted" >&2
    exit 1
fi

# What ansible-builder and ansible-galaxy read from the installed collection must ship.
for wanted in meta/execution-environment.yml meta/runtime.yml requirements.txt bindep.txt; do
    grep -qx "$wanted" "$contents" || {
        echo "build-check: the tarball lacks $wanted (the installed collection needs it; see galaxy.yml build_ignore)" >&2
        exit 1
    }
done

work="$(mktemp -d "${TMPDIR:-/tmp}/webops-build-check.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# Work outside the checkout so its ansible.cfg (collections_path=./collections) is not used:
# only the installed tarball can answer.
cd "$work"
export ANSIBLE_COLLECTIONS_PATH="$work/collections" ANSIBLE_CONFIG="$work/ansible.cfg"
: > "$ANSIBLE_CONFIG"
ansible-galaxy collection install --offline -p "$work/collections" "$tarball"

# name:type pairs: one module per file; filter and lookup names as the install lists them,
# plus one per lookup file, so a plugin the listing misses still fails the check.
plugins=()
for path in "$ROOT"/plugins/modules/*.py; do
    [ -e "$path" ] || continue
    name="$(basename "$path" .py)"
    [ "$name" = __init__ ] || plugins+=("module:$name")
done
for path in "$ROOT"/plugins/lookup/*.py; do
    [ -e "$path" ] || continue
    name="$(basename "$path" .py)"
    [ "$name" = __init__ ] || plugins+=("lookup:$name")
done
for type in filter lookup test; do
    ansible-doc -t "$type" -l webops.encryption --json > "$work/list.json"
    while read -r name; do
        [ -n "$name" ] && plugins+=("$type:${name#webops.encryption.}")
    done < <(python -c 'import json, sys; print("\n".join(sorted(json.load(sys.stdin))))' < "$work/list.json")
done
mapfile -t plugins < <(printf '%s\n' "${plugins[@]}" | sort -u | grep -v '^$' || true)

failed=0
for entry in "${plugins[@]}"; do
    type="${entry%%:*}"
    fqcn="webops.encryption.${entry#*:}"
    # --json exits 0 with {} for an unknown plugin; require a real DOCUMENTATION block.
    if ansible-doc -t "$type" --json "$fqcn" > "$work/doc.json" 2> "$work/doc.err" &&
        python - "$fqcn" "$work/doc.json" <<'EOF'
import json
import sys

fqcn, path = sys.argv[1], sys.argv[2]
with open(path, encoding='utf-8') as handle:
    doc = json.load(handle).get(fqcn, {}).get('doc') or {}
sys.exit(0 if doc.get('short_description') and doc.get('description') else 1)
EOF
    then
        # The text renderer is what users see; it must work too.
        if ansible-doc -t "$type" "$fqcn" > "$work/doc.txt" 2>> "$work/doc.err"; then
            echo "build-check: ok   ansible-doc -t $type $fqcn"
            continue
        fi
    fi
    echo "build-check: FAIL ansible-doc -t $type $fqcn" >&2
    cat "$work/doc.err" >&2
    failed=1
done

if [ "$failed" -ne 0 ]; then
    exit 1
fi
echo "build-check: $(basename "$tarball") builds, installs, and renders docs for ${#plugins[@]} plugin(s)"
