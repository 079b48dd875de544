#!/usr/bin/env bash
# Prepare a Strongroom development environment from nothing but Debian 12 and Python 3.11.
# Idempotent: installs Debian packages only when missing and reinstalls the virtual
# environment only when pyproject.toml changed since the last run.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

need_apt=()
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
command -v git >/dev/null 2>&1 || need_apt+=(git)
# The PKCS#11 bridge's clients and the tools its tests drive (docs/pkcs11.md): p11-kit's
# client module, pkcs11-tool, GnuTLS's p11tool, OpenSSL's pkcs11 engine, ssh-keygen, and
# SoftHSM2 with `p11-kit server` for the side-by-side conformance runs.
for pair in \
    p11-kit-modules:/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so \
    p11-kit:/usr/bin/p11-kit \
    opensc:/usr/bin/pkcs11-tool \
    gnutls-bin:/usr/bin/p11tool \
    libengine-pkcs11-openssl:/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so \
    openssh-client:/usr/bin/ssh-keygen \
    softhsm2:/usr/bin/softhsm2-util; do
    [ -e "${pair#*:}" ] || need_apt+=("${pair%%:*}")
done
if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup: missing ${need_apt[*]}; run as root or install them" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

py=$(command -v python3.11 || command -v python3)
"$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || {
    echo "setup: Python >= 3.11 is required" >&2
    exit 1
}

stamp=.venv/.strongroom-installed
want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup: creating .venv with $("$py" --version)"
    "$py" -m venv .venv
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
    echo "$want" > "$stamp"
fi
