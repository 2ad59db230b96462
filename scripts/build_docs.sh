#!/usr/bin/env bash
# Copyright (c) webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# scripts/build_docs.sh: the documentation site, offline, warnings as errors.
#   1. .venv-docs from docs/requirements.txt (skipped while that file is unchanged);
#   2. antsibull-docs lint-collection-docs --plugin-docs: the guides in docs/docsite and every
#      plugin's and role's documentation;
#   3. antsibull-docs collection: a page per plugin and role, plus the guides, in .tmp/docs/rst;
#   4. sphinx-build -W: the HTML site in .tmp/docs/html (open .tmp/docs/html/index.html).
# The collection is found through the checkout's collections/ link, never downloaded.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DOCS_VENV="${DOCS_VENV:-$ROOT/.venv-docs}"
OUT="$ROOT/.tmp/docs"
COLLECTIONS="$ROOT/collections"

if [ ! -e "$COLLECTIONS/ansible_collections/webops/encryption/galaxy.yml" ]; then
    echo "build_docs: $COLLECTIONS/ansible_collections/webops/encryption must link to the checkout" >&2
    exit 1
fi

stamp="$DOCS_VENV/.requirements.sha256"
want="$(sha256sum "$ROOT/docs/requirements.txt" | cut -d' ' -f1)"
if [ ! -x "$DOCS_VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "build_docs: installing docs/requirements.txt into $DOCS_VENV"
    [ -x "$DOCS_VENV/bin/python" ] || python3 -m venv "$DOCS_VENV"
    "$DOCS_VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$ROOT/docs/requirements.txt"
    echo "$want" > "$stamp"
fi

export PATH="$DOCS_VENV/bin:$PATH"
# Only the checkout's copy of the collection, whatever else is installed or configured.
export ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS"
rm -rf "$OUT"
mkdir -p "$OUT"
printf '[defaults]\n' > "$OUT/ansible.cfg"
export ANSIBLE_CONFIG="$OUT/ansible.cfg"

echo "build_docs: lint-collection-docs --plugin-docs"
antsibull-docs lint-collection-docs --plugin-docs --check-extra-docs-refs --validate-collection-refs self \
    "$COLLECTIONS/ansible_collections/webops/encryption"

# antsibull-docs refuses a destination that others can write to.
mkdir "$OUT/rst"
chmod 0700 "$OUT/rst"
cp "$ROOT/docs/index.rst" "$OUT/rst/index.rst"
echo "build_docs: antsibull-docs collection"
antsibull-docs --config-file "$ROOT/docs/antsibull-docs.cfg" collection --use-current --fail-on-error \
    --dest-dir "$OUT/rst" webops.encryption

# antsibull-docs copies the guides' .rst files only: their images go beside them.
docsite_dir="$(find "$OUT/rst" -type d -path '*/webops/encryption/docsite' | head -n 1)"
if [ -n "$docsite_dir" ]; then
    cp "$ROOT"/docs/docsite/rst/*.png "$docsite_dir/"
fi

echo "build_docs: sphinx-build (warnings are errors)"
WEBOPS_DOCS_TMP="$OUT" sphinx-build -q -W --keep-going -b html -c "$ROOT/docs" "$OUT/rst" "$OUT/html"
echo "build_docs: $OUT/html/index.html"
