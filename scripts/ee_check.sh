#!/usr/bin/env bash
# Copyright (c) webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The execution environment without a registry: builds the collection tarball, runs
# `ansible-builder create` for ee/execution-environment.yml into .tmp/ee/context, and checks the
# generated context: the Containerfile installs the ansible-core of the definition and the
# collection from the tarball, the tarball in the context is this checkout's and ships
# meta/execution-environment.yml, and `ansible-builder introspect` on the installed collection
# yields the runtime Python requirements (no test tools, no ansible-core) and the bindep lines.
# With --build it then builds the image from that context with podman, on a base image made
# locally from Debian packages (ee/build_base.sh: no registry is reachable), and runs
# ee/smoke.yml inside it: the collection's modules and their Python requirements work there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
WORK="$ROOT/.tmp/ee"
export PATH="$VENV/bin:$PATH"

cd "$ROOT"
fail() {
    echo "ee: FAIL $*" >&2
    exit 1
}

tarball="$(scripts/build_tarball.sh "$WORK/dist" | tail -n 1)"
# The definition with the tarball beside it, outside the checkout (nothing is written to ee/).
rm -rf "$WORK/definition" "$WORK/context" "$WORK/collections"
mkdir -p "$WORK/definition"
cp ee/execution-environment.yml ee/requirements.yml "$WORK/definition/"
cp "$tarball" "$WORK/definition/webops-encryption.tar.gz"

ansible-builder create --file "$WORK/definition/execution-environment.yml" --context "$WORK/context" \
    --output-filename Containerfile -v 1
context="$WORK/context"

[ -s "$context/Containerfile" ] || fail "no Containerfile in $context"
core_pin="$(python -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["dependencies"]["ansible_core"]["package_pip"])' \
    ee/execution-environment.yml)"
grep -qF "$core_pin" "$context/Containerfile" || fail "the Containerfile does not install $core_pin"
grep -q 'ansible-galaxy collection install .*-r requirements.yml' "$context/Containerfile" ||
    fail "the Containerfile installs no collection from requirements.yml"
grep -q 'introspect.py introspect' "$context/Containerfile" ||
    fail "the Containerfile does not introspect the collections' requirements"
cmp -s "$context/_build/requirements.yml" ee/requirements.yml || fail "_build/requirements.yml is not ee/requirements.yml"
cmp -s "$context/_build/collections/webops-encryption.tar.gz" "$tarball" ||
    fail "_build/collections/webops-encryption.tar.gz is not the tarball built from this checkout"

# What the image build's introspection step will find: install the context's tarball the way the
# galaxy stage does (from _build, by requirements.yml) and introspect it.
: > "$WORK/ansible.cfg"
(cd "$context/_build" && ANSIBLE_CONFIG="$WORK/ansible.cfg" ansible-galaxy collection install --offline \
    -r requirements.yml -p "$WORK/collections" >/dev/null)
[ -s "$WORK/collections/ansible_collections/webops/encryption/meta/execution-environment.yml" ] ||
    fail "the installed collection lacks meta/execution-environment.yml"
ansible-builder introspect --sanitize "$WORK/collections" \
    --write-pip "$WORK/pip.txt" --write-bindep "$WORK/bindep.txt" > "$WORK/introspect.txt"
cat "$WORK/introspect.txt"
for requirement in cryptography psycopg; do
    grep -Eq "^$requirement([^a-z0-9_-]|$)" "$WORK/pip.txt" || fail "introspection lost the Python requirement $requirement"
done
if grep -Ev '^\s*(#|$)' "$WORK/pip.txt" | grep -Eiq '^(ansible-core|pytest|molecule|ansible-lint|hypothesis|psycopg2-binary)\b'; then
    fail "the EE's Python requirements hold test tooling or ansible-core: $(tr '\n' ' ' < "$WORK/pip.txt")"
fi
for package in libpq5 libssl3 gnupg; do
    grep -Eq "^$package " "$WORK/bindep.txt" || fail "introspection lost the system requirement $package"
done
echo "ee: ansible-builder create made $context (Containerfile, _build/requirements.yml, the collection tarball);"
echo "ee: the EE gets $(grep -Evc '^\s*(#|$)' "$WORK/pip.txt") Python and $(grep -Evc '^\s*(#|$)' "$WORK/bindep.txt") system requirement line(s) from the collection"

[ "${1:-}" = --build ] || exit 0
image=localhost/webops-ee:check
base=localhost/webops-ee-base:trixie-4
bash extensions/molecule/shared/setup_podman.sh
WEBOPS_EE_BASE_IMAGE="$base" ee/build_base.sh
echo "ee: ansible-builder build $image (base $base)"
start=$SECONDS
# --network=host: the build's pip and apt-get reach their registries the way the host does.
ansible-builder build --file "$WORK/definition/execution-environment.yml" --context "$WORK/context" \
    --container-runtime podman --tag "$image" -v 2 \
    --build-arg EE_BASE_IMAGE="$base" --build-arg PKGMGR=/usr/local/bin/apt-pkgmgr --build-arg PYCMD=/opt/ee/bin/python3 \
    --extra-build-cli-args=--network=host > "$WORK/build.log" 2>&1 || {
    tail -n 60 "$WORK/build.log" >&2
    fail "ansible-builder build (log: $WORK/build.log)"
}
echo "ee: built $image in $((SECONDS - start))s ($(podman image inspect --format '{{.Size}}' "$image" | awk '{printf "%d MB", $1 / 1e6}'))"
podman run --rm --network none -v "$ROOT/ee/smoke.yml:/runner/smoke.yml:ro" "$image" \
    ansible-playbook -i localhost, smoke.yml || fail "ee/smoke.yml inside $image"
echo "ee: ee/smoke.yml passed inside $image"
