#!/bin/sh
# Vault password client for the Molecule scenarios (ANSIBLE_VAULT_PASSWORD_FILE points here).
# The password is made at test time, once per scenario run, in the scenario's ephemeral
# directory (mode 0600); nothing secret is committed.
set -eu
dir="${MOLECULE_EPHEMERAL_DIRECTORY:?run through molecule}"
file="${dir}/vault-password"
if [ ! -s "${file}" ]; then
  mkdir -p "${dir}"
  umask 077
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"${file}.tmp"
  mv -f "${file}.tmp" "${file}"
fi
cat "${file}"
