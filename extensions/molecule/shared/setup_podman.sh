#!/usr/bin/env bash
# Make podman able to run the Molecule test hosts on this machine, changing nothing where it
# already works. Some sandboxes lack CAP_SYS_RESOURCE, so every OCI runtime fails with
# "setrlimit RLIMIT_NOFILE: Operation not permitted". Only then this script installs a small
# wrapper around runc that drops process.rlimits from the spec podman hands it, and registers
# it as podman's runtime in /etc/containers/containers.conf. Idempotent; safe to re-run.
set -euo pipefail

RUNTIME_NAME=runc-norlimits
WRAPPER=/usr/local/libexec/webops-molecule/runc-norlimits
CONF=/etc/containers/containers.conf
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

command -v podman >/dev/null || { echo "setup_podman: podman is missing (apt-get install -y podman runc debootstrap)" >&2; exit 1; }

probe_dir="$(mktemp -d /var/tmp/webops-podman-probe.XXXXXX)"
trap 'rm -rf "${probe_dir}"' EXIT

# A throwaway root file system holding only `true` and its libraries: the probe needs no image.
make_probe_rootfs() {
  local bin lib
  bin="$(type -P true)"
  mkdir -p "${probe_dir}/rootfs/bin"
  cp "${bin}" "${probe_dir}/rootfs/bin/true"
  for lib in $(ldd "${bin}" | grep -o '/[^ ]*'); do
    mkdir -p "${probe_dir}/rootfs$(dirname "${lib}")"
    cp -L "${lib}" "${probe_dir}/rootfs${lib}"
  done
}

probe() {
  podman run --rm --network none --rootfs "${probe_dir}/rootfs" /bin/true >"${probe_dir}/probe.log" 2>&1
}

make_probe_rootfs
if probe; then
  echo "setup_podman: podman runs containers (runtime $(podman info --format "{{.Host.OCIRuntime.Name}}" 2>/dev/null)); nothing to do"
  exit 0
fi

if ! grep -q 'RLIMIT\|setrlimit\|rlimit' "${probe_dir}/probe.log"; then
  echo "setup_podman: podman fails for a reason this script does not fix:" >&2
  cat "${probe_dir}/probe.log" >&2
  exit 1
fi

runc_path="$(command -v runc || true)"
[ -n "${runc_path}" ] || { echo "setup_podman: runc is missing (apt-get install -y runc)" >&2; exit 1; }

echo "setup_podman: podman cannot set rlimits here; installing ${WRAPPER} (runc without process.rlimits)"
install -d -m 0755 "$(dirname "${WRAPPER}")"
{ echo '#!/usr/bin/python3'; sed "s|@RUNC@|${runc_path}|" "${HERE}/runc-norlimits.py"; } >"${WRAPPER}.tmp"
chmod 0755 "${WRAPPER}.tmp"
mv -f "${WRAPPER}.tmp" "${WRAPPER}"

# Register the runtime: edit the [engine] table in place (TOML allows a table only once).
python3 - "${CONF}" "${RUNTIME_NAME}" "${WRAPPER}" <<'PY'
import os
import re
import sys

conf, name, wrapper = sys.argv[1:4]
text = open(conf).read() if os.path.exists(conf) else ""
lines = text.splitlines()
runtime_line = 'runtime = "%s"' % name
entry_line = '%s = ["%s"]' % (name, wrapper)


def section_bounds(header):
    start = next((i for i, ln in enumerate(lines) if ln.strip() == header), None)
    if start is None:
        return None, None
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"\s*\[", lines[i])), len(lines))
    return start, end


start, end = section_bounds("[engine]")
if start is None:
    lines += ["", "[engine]", runtime_line]
else:
    body = [i for i in range(start + 1, end) if re.match(r"\s*runtime\s*=", lines[i])]
    if body:
        lines[body[0]] = runtime_line
    else:
        lines.insert(start + 1, runtime_line)

start, end = section_bounds("[engine.runtimes]")
if start is None:
    lines += ["", "[engine.runtimes]", entry_line]
else:
    body = [i for i in range(start + 1, end) if re.match(r"\s*%s\s*=" % re.escape(name), lines[i])]
    if body:
        lines[body[0]] = entry_line
    else:
        lines.insert(start + 1, entry_line)

os.makedirs(os.path.dirname(conf), exist_ok=True)
tmp = conf + ".tmp"
with open(tmp, "w") as handle:
    handle.write("\n".join(lines).lstrip("\n") + "\n")
os.replace(tmp, conf)
PY

if probe; then
  echo "setup_podman: podman now runs containers through ${RUNTIME_NAME}"
else
  echo "setup_podman: podman still fails after installing ${RUNTIME_NAME}:" >&2
  cat "${probe_dir}/probe.log" >&2
  exit 1
fi
