#!/usr/bin/env bash
# Build .venv-verl: a virtualenv of its own for verl 0.9.1, which needs numpy>=2 and
# transformers<5.11 and so cannot share .venv (numpy 1.x for Blender, transformers>=5.24 for the
# hf extra). Idempotent: a second run only re-checks what is installed. Fails on the first error.
# Usage: bash scripts/setup_verl.sh            (then: .venv-verl/bin/python -m pytest -q tests/verl)
set -euo pipefail
cd "$(dirname "$0")/.."

python_bin="${PYTHON:-python3.11}"
command -v "$python_bin" >/dev/null || { echo "setup_verl.sh: $python_bin not found (verl needs Python 3.11)" >&2; exit 1; }
venv=.venv-verl
if [ ! -x "$venv/bin/python" ]; then
  "$python_bin" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip)
"${pip[@]}" install -q --upgrade pip

# torch first and pinned: the torchvision release Qwen2.5-VL's processor needs, and the one
# verl's resolver would otherwise replace with whatever torch it likes.
"${pip[@]}" install -q torch==2.14.1 torchvision==0.29.1
# The package with its verl extra (verl itself, numpy 2, transformers<5.11 and the packages verl
# imports without declaring), plus what tests/verl needs.
"${pip[@]}" install -q -e ".[verl]" "pytest>=8" "pillow>=10"

# A broken resolve (torch swapped, numpy 1.x kept) fails here rather than in the first test.
"$venv/bin/python" - <<'EOF'
import numpy, torch, transformers
import verl, verl.experimental.agent_loop  # noqa: F401
import gymnasium, pybullet, moderngl  # noqa: F401  the env's own stack under numpy 2
assert numpy.__version__.split(".")[0] == "2", f"numpy {numpy.__version__}: verl needs numpy>=2"
assert torch.__version__.startswith("2.14.1"), f"torch {torch.__version__}: expected 2.14.1"
print(f"verl {verl.__version__}, torch {torch.__version__}, transformers {transformers.__version__}, "
      f"numpy {numpy.__version__}")
EOF
echo "ready: $venv (tests: $venv/bin/python -m pytest -q -p no:xdist tests/verl)"
