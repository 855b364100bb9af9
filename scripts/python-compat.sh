#!/usr/bin/env bash
# Runs tests/python: the mock ManageIQ REST API driven by the real Python client
# (manageiq-client from PyPI) in a venv at target/python-venv.
#
# Uses the binary in MIQ_AUTOMATE_BIN, else target/release/miq-automate (built here with
# `cargo build --release -p miq-automate-cli` only when it is missing).
# Extra arguments go to pytest. Exits with pytest's status.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$ROOT/target/python-venv
PY=$VENV/bin/python
PYTHON=${PYTHON:-python3}

log() { echo "python-compat: $*" >&2; }

if [[ -z "${MIQ_AUTOMATE_BIN:-}" && ! -x target/release/miq-automate ]]; then
    log "target/release/miq-automate is missing: building it"
    cargo build --release -p miq-automate-cli
fi

# A venv that lost its interpreter (python upgraded underneath it) is rebuilt.
if [[ -d "$VENV" ]] && ! "$PY" -c 'import sys' >/dev/null 2>&1; then
    log "$VENV is broken: recreating it"
    rm -rf "$VENV"
fi
if [[ ! -x "$PY" ]]; then
    if ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
        if command -v apt-get >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
            log "the venv module is missing: installing python3-venv"
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
        else
            log "$PYTHON has no venv module (install python3-venv)"
            exit 1
        fi
    fi
    log "creating $VENV"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
fi

# Install what is missing, and only that.
missing=()
"$PY" -c 'import manageiq_client' >/dev/null 2>&1 || missing+=(manageiq-client)
"$PY" -c 'import pytest' >/dev/null 2>&1 || missing+=(pytest)
if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    "$PY" -m pip install --quiet --disable-pip-version-check "${missing[@]}"
fi
# manageiq-client imports distutils, gone from the standard library since Python 3.12:
# setuptools provides it there.
if ! "$PY" -c 'import distutils.version' >/dev/null 2>&1; then
    log "installing setuptools (distutils for manageiq-client)"
    "$PY" -m pip install --quiet --disable-pip-version-check setuptools
fi
"$PY" -c 'import manageiq_client.api' || { log "manageiq_client does not import"; exit 1; }

exec "$PY" -m pytest -q tests/python "$@"
