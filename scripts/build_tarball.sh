#!/usr/bin/env bash
# Copyright (c) webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# scripts/build_tarball.sh OUTDIR: builds the collection tarball the way a release would, from the
# files a commit would hold (tracked + new, not ignored), into OUTDIR, and prints its path last.
# The collections/ link to the checkout root only serves development and would be a loop.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
out="$1"
src="$out/src/ansible_collections/webops/encryption"

cd "$ROOT"
rm -rf "$out"
mkdir -p "$src"
git ls-files -co --exclude-standard -z | grep -zv '^collections/' | sort -zu > "$out/files"
rsync -a --from0 --files-from="$out/files" --ignore-missing-args ./ "$src/"
"$VENV/bin/ansible-galaxy" collection build --output-path "$out" "$src" >&2
ls "$out"/webops-encryption-*.tar.gz
