#!/usr/bin/env bash
# The embedded demo: `make demo` runs the main job on this machine with nothing but the checkout.
# It builds a local WebOps environment under .demo/ (a SQLite database with WebOps-shaped tables,
# legacy plaintext secrets and an .env holding the key the data is encrypted with), then runs
#   setup_encryption.yml  (adopts and escrows the key, encrypts the plaintext secrets)
#   rotate_keys.yml       (a full rotation to a new key)
#   verify_keys.yml       (which key encrypts which record, per table)
# against examples/inventories/demo. Idempotent: a second run keeps the data and rotates again.
# `make demo-clean` (scripts/demo.sh clean) removes everything it made.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEMO="$ROOT/.demo"
VAULT_FILE="$ROOT/examples/inventories/demo/group_vars/demo/vault.yml"
VENV="${VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"

if [[ "${1:-}" == "clean" ]]; then
    rm -rf "$DEMO" "$VAULT_FILE"
    echo "demo: removed .demo/ and examples/inventories/demo/group_vars/demo/vault.yml"
    exit 0
fi

if [[ ! -x "$VENV/bin/ansible-playbook" ]]; then
    echo "demo: creating the virtualenv (make venv-runtime: the runtime requirements only)"
    make -C "$ROOT" venv-runtime
fi

umask 077
mkdir -p "$DEMO/opt/webops/control-panel" "$DEMO/logs"
DB_URL="sqlite:///$DEMO/webops.sqlite3"

if [[ ! -s "$DEMO/vault-password" ]]; then
    "$PY" -c 'import secrets; print(secrets.token_urlsafe(32))' > "$DEMO/vault-password"
fi

if [[ ! -f "$DEMO/webops.sqlite3" ]]; then
    echo "demo: creating a WebOps database with secrets (some still in plain text) under .demo/"
    rm -f "$VAULT_FILE"
    # The key the "existing deployment" encrypted its data with. It goes straight into the .env
    # through the environment, never argv; setup adopts it and escrows it in the demo's vault.
    # Its SECRET_KEY keys the sensitive configuration values the same way.
    DEMO_KEY="$("$PY" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
    DEMO_SECRET_KEY="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(40))')"
    export DEMO_KEY DEMO_SECRET_KEY
    "$PY" "$ROOT/tests/support/webops_db.py" create --url "$DB_URL"
    "$PY" "$ROOT/tests/support/webops_db.py" seed --url "$DB_URL" --key-env DEMO_KEY --secret-key-env DEMO_SECRET_KEY \
        --users 25 --legacy-plaintext 3 >/dev/null
    "$PY" - "$DEMO/opt/webops/.env" "$DB_URL" <<'PYEOF'
import os, sys
path, url = sys.argv[1], sys.argv[2]
text = (
    "# WebOps control panel settings (demo)\n"
    "SECRET_KEY=%s\n"
    "DEBUG=False\n"
    "ALLOWED_HOSTS=localhost,127.0.0.1\n"
    "DATABASE_URL=%s\n"
    "ENCRYPTION_KEY=%s\n"
) % (os.environ["DEMO_SECRET_KEY"], url, os.environ["DEMO_KEY"])
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
with os.fdopen(fd, "w") as handle:
    handle.write(text)
PYEOF
    unset DEMO_KEY DEMO_SECRET_KEY
    # control-panel/.env, the link the app reads, is made by setup (it keeps an existing one).
fi

export ANSIBLE_CONFIG="$ROOT/ansible.cfg"
run() {
    echo
    echo "demo: ansible-playbook $* -i examples/inventories/demo -e env=demo"
    (cd "$ROOT" && "$VENV/bin/ansible-playbook" "$@" -i examples/inventories/demo -e env=demo \
        --vault-password-file "$DEMO/vault-password")
}
run playbooks/setup_encryption.yml
run playbooks/rotate_keys.yml
run playbooks/verify_keys.yml

echo
echo "demo: done. The .env is $DEMO/opt/webops/.env (0600, linked from control-panel/.env),"
echo "      the database $DEMO/webops.sqlite3, the audit trail $DEMO/logs/key-operations.log,"
echo "      the escrowed keys examples/inventories/demo/group_vars/demo/vault.yml"
echo "      (ansible-vault view --vault-password-file .demo/vault-password ...)."
echo "      Run 'make demo' again to rotate again, 'make demo-clean' to remove it all."
