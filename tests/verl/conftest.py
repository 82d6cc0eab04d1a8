"""tests/verl run only in .venv-verl (verl 0.9.1 needs numpy>=2 and transformers<5.11, which the
main .venv cannot have): ``.venv-verl/bin/python -m pytest -q -p no:xdist tests/verl``.

Without verl the session stops here with the command that builds the virtualenv, rather than
skipping: a green run that tested nothing would hide a broken setup.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

try:
    import verl  # noqa: F401
    import verl.experimental.agent_loop  # noqa: F401
except ImportError as error:  # pragma: no cover - the message is the point
    pytest.exit(f"tests/verl need verl ({error}); build its virtualenv with `bash scripts/setup_verl.sh` and run "
                "`.venv-verl/bin/python -m pytest -q -p no:xdist tests/verl`", returncode=4)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tiny_vlm(tmp_path_factory) -> Path:
    """The project's tiny Qwen2.5-VL (random weights, real processor), built once per session."""
    from training.tiny_vlm import build_tiny_qwen25_vl

    return build_tiny_qwen25_vl(tmp_path_factory.mktemp("tiny_vlm"), seed=0)


@pytest.fixture(scope="session")
def rooms():
    """Two small rooms of the bundled test split (few objects keep the prompts short)."""
    from metaspatial_env.tasks import load_rooms

    return list(load_rooms("test", max_objects=4, limit=2))


#: The env the rows play: the rasteriser at a small size (a 112 x 224 render is 32 visual tokens).
ENV_KWARGS = {"image_size": [112, 224], "max_turns": 3}
