#!/usr/bin/env bash
# Build the Molecule test-host image: Debian 12 with systemd as PID 1 and everything the
# scenarios need (Python, cryptography, psycopg2, python-decouple, PostgreSQL 15, sudo), so
# converge needs no network. Built from Debian packages because no container registry is
# reachable. Skips the build when the image already exists; set WEBOPS_MOLECULE_REBUILD=1
# to rebuild. Bump IMAGE_TAG whenever the package list changes.
set -euo pipefail

IMAGE_NAME="${WEBOPS_MOLECULE_IMAGE:-localhost/webops-molecule-debian12}"
IMAGE_TAG="${WEBOPS_MOLECULE_IMAGE_TAG:-1}"
IMAGE="${IMAGE_NAME}:${IMAGE_TAG}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
# debootstrap resolves no virtual packages: python3-cffi-backend is named for python3-cryptography.
PACKAGES=(
  systemd systemd-sysv dbus
  python3 python3-cryptography python3-cffi-backend python3-psycopg2 python3-decouple
  postgresql-15 postgresql-client-15
  sudo procps iproute2 ca-certificates
)

if podman image exists "${IMAGE}" && [ "${WEBOPS_MOLECULE_REBUILD:-0}" != 1 ]; then
  echo "build_image: ${IMAGE} already exists, skipping the build"
  exit 0
fi

for tool in debootstrap podman; do
  command -v "${tool}" >/dev/null || { echo "build_image: ${tool} is missing (apt-get install -y podman runc debootstrap)" >&2; exit 1; }
done

workdir="$(mktemp -d /var/tmp/webops-molecule-rootfs.XXXXXX)"
trap 'rm -rf "${workdir}"' EXIT
rootfs="${workdir}/rootfs"

include="$(IFS=,; echo "${PACKAGES[*]}")"
echo "build_image: debootstrap ${SUITE} (${include})"
debootstrap --variant=minbase --include="${include}" "${SUITE}" "${rootfs}" "${MIRROR}" >"${workdir}/debootstrap.log" 2>&1 || {
  tail -n 40 "${workdir}/debootstrap.log" >&2
  exit 1
}

# Units a container does not need (or cannot run) under podman; masking keeps boot quick and
# `systemctl is-system-running` honest.
for unit in systemd-timesyncd.service systemd-networkd.service systemd-resolved.service \
            getty@.service console-getty.service apt-daily.timer apt-daily-upgrade.timer \
            e2scrub_all.timer e2scrub_reap.service fstrim.timer dpkg-db-backup.timer \
            systemd-remount-fs.service sys-kernel-config.mount sys-kernel-debug.mount \
            sys-kernel-tracing.mount sys-fs-fuse-connections.mount; do
  ln -sf /dev/null "${rootfs}/etc/systemd/system/${unit}"
done

# The package's default cluster belongs to no scenario: each scenario creates its own on its
# own port during prepare (containers share the host's loopback).
chroot "${rootfs}" pg_dropcluster --stop 15 main >/dev/null 2>&1 || true
rm -rf "${rootfs}/var/cache/apt/archives/"*.deb "${rootfs}/var/lib/apt/lists/"* "${rootfs}/var/log/"*.log
: >"${rootfs}/etc/machine-id"
echo "webops-molecule" >"${rootfs}/etc/hostname"

echo "build_image: importing ${IMAGE}"
tar -C "${rootfs}" -c . | podman import \
  --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3' - "${IMAGE}" >/dev/null
echo "build_image: built ${IMAGE}"
