#!/usr/bin/env bash
# Set up a fresh machine for metaspatial-env: system GL libraries (EGL + Mesa software GL for the
# rasteriser), a Python 3.11 virtualenv in .venv, and the package with the given extras.
# Usage: bash scripts/setup.sh [EXTRAS]   (default extras: dev)
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-dev}"

if ! ldconfig -p | grep -q 'libEGL.so.1' || ! ls /usr/lib/*/dri/swrast_dri.so >/dev/null 2>&1; then
  echo "installing EGL and Mesa software GL (libegl1, libgl1-mesa-dri) ..."
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq libegl1 libegl-mesa0 libgl1-mesa-dri >/dev/null
fi

python_bin="${PYTHON:-python3.11}"
command -v "$python_bin" >/dev/null || python_bin=python3
if [ ! -x .venv/bin/python ]; then
  "$python_bin" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[${extras}]"
