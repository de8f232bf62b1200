#!/usr/bin/env bash
# Fetch OSRM's executables and car profile for the travel-model benchmark only: the osrm-bindings
# wheel from PyPI, unpacked into var/osrm (ignored by git, never committed or imported).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-.venv/bin/python}
if [ -x var/osrm/osrm/bin/osrm-routed ]; then
  echo "OSRM already unpacked in var/osrm/osrm"
  exit 0
fi
mkdir -p var/osrm/wheel
"$PY" -m pip download osrm-bindings --no-deps --only-binary=:all: --python-version 3.12 \
    --platform manylinux_2_28_x86_64 -d var/osrm/wheel
"$PY" -m zipfile -e var/osrm/wheel/osrm_bindings-*.whl var/osrm/
chmod +x var/osrm/osrm/bin/*
echo "OSRM unpacked in var/osrm/osrm"
