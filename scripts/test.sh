#!/usr/bin/env bash
# Set up (scripts/setup.sh, scripts/setup_verl.sh) and run the whole test suite in both virtualenvs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh all
.venv/bin/python -m pytest -q -n 2 --ignore=tests/verl "$@"
# verl needs numpy 2 and an older transformers: its tests run in a virtualenv of their own.
bash scripts/setup_verl.sh
.venv-verl/bin/python -m pytest -q -p no:xdist tests/verl
