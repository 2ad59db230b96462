#!/usr/bin/env bash
# Copyright (c) webops.encryption contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# A base image for the execution environment where no container registry is reachable: Debian 13
# (Python 3.13, which ansible-core 2.21 needs) from Debian packages, imported into podman as
# localhost/webops-ee-base:trixie-4. Debian keeps pip away from its system Python, so the image
# holds a venv, /opt/ee, first on PATH: build with --build-arg PYCMD=/opt/ee/bin/python3. ansible-builder's scripts install system packages with dnf;
# the image carries /usr/local/bin/apt-pkgmgr, which speaks the two dnf commands they use
# (install -y PACKAGE..., clean all) through apt-get: build with --build-arg PKGMGR=that path.
# Skips the build when the image exists (WEBOPS_EE_BASE_REBUILD=1 rebuilds); bump the tag when
# the package list changes.
set -euo pipefail

IMAGE="${WEBOPS_EE_BASE_IMAGE:-localhost/webops-ee-base:trixie-4}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if podman image exists "$IMAGE" && [ "${WEBOPS_EE_BASE_REBUILD:-0}" != 1 ]; then
    echo "ee-base: $IMAGE already exists, skipping the build"
    exit 0
fi
work="$(mktemp -d /var/tmp/webops-ee-base.XXXXXX)"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
echo "ee-base: debootstrap trixie"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates trixie "$rootfs" "$MIRROR" \
    >"$work/debootstrap.log" 2>&1 || { tail -n 40 "$work/debootstrap.log" >&2; exit 1; }
cat >"$rootfs/usr/local/bin/apt-pkgmgr" <<'SH'
#!/bin/sh
# dnf's "install -y [OPTIONS] PACKAGE..." and "clean all", done with apt-get.
set -e
command="$1"
shift
case "$command" in
    install)
        packages=""
        for arg in "$@"; do
            case "$arg" in -*) ;; *) packages="$packages $arg" ;; esac
        done
        apt-get update -q
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $packages
        ;;
    clean) apt-get clean; rm -rf /var/lib/apt/lists/* ;;
    *) echo "apt-pkgmgr: unsupported command $command" >&2; exit 2 ;;
esac
SH
chmod 0755 "$rootfs/usr/local/bin/apt-pkgmgr"
chroot "$rootfs" python3 -m venv /opt/ee
# The build's pip and apt-get trust what this host trusts (a CI network may intercept TLS).
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"*
echo "ee-base: importing $IMAGE"
tar -C "$rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' \
    --change 'ENV PATH=/opt/ee/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' - "$IMAGE" >/dev/null
echo "ee-base: built $IMAGE"
