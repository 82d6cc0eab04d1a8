"""Rewards are bit-identical to the recorded reference on 800 fixed layouts of the ``test`` split.

``tests/reward_fixture/record.py`` recorded, from the code before the package restructure, what
the env made of heuristic, random and perturbed answers (text) and random vector actions; this
test replays every answer and compares rewards, every term, success, the flags, the problems,
the settled layout and the feedback text exactly (floats by ``==``, no tolerance).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import metaspatial_env  # noqa: F401
from tests.reward_fixture.record import digest, outcome

FIXTURE = json.loads(gzip.open(Path(__file__).parent / "reward_fixture" / "layouts.json.gz", "rt").read())
CASES = FIXTURE["cases"]
CHUNKS = 8


def test_fixture_is_large_enough():
    kinds = {c["kind"] for c in CASES}
    assert kinds == {"heuristic", "random+perturbed", "vector"}
    assert sum(len(c["actions"]) for c in CASES) >= 500


def _replay(case: dict, envs: dict) -> list[dict]:
    key = (case["env"], json.dumps(case["kwargs"], sort_keys=True))
    if key not in envs:
        envs[key] = gym.make(case["env"], **case["kwargs"]).unwrapped
    env = envs[key]
    env.reset(seed=case["seed"], options={"task_id": case["task_id"]})
    steps = []
    for action in case["actions"]:
        if case["env"] == "MetaSpatialContinuous-v0":
            action = np.asarray(action, dtype=np.float32)
        obs, reward, terminated, truncated, info = env.step(action)
        steps.append(outcome(reward, terminated, truncated, info, obs["text"] if isinstance(obs, dict) else None))
        if case["env"] == "MetaSpatialContinuous-v0":
            assert digest(np.asarray(obs, np.float32).tobytes().hex()) == case["observation_sha256"]
    return steps


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_rewards_bit_identical(chunk):
    envs: dict = {}
    mismatches = []
    for case in CASES[chunk::CHUNKS]:
        for turn, (got, want) in enumerate(zip(_replay(case, envs), case["steps"], strict=True)):
            # keys the reference did not record (None) are new info, not a change
            diff = {k: (got.get(k), v) for k, v in want.items() if v is not None and got.get(k) != v}
            if diff:
                mismatches.append((case["task_id"], case["kind"], turn, sorted(diff)))
    for env in envs.values():
        env.close()
    assert not mismatches, f"{len(mismatches)} steps differ, first: {mismatches[:3]}"
