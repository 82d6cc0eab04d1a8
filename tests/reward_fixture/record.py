"""Record the reward fixture: fixed layouts over the ``test`` split and what the env made of them.

Run from a checkout whose rewards are the reference (``python tests/reward_fixture/record.py``):
it writes ``layouts.json.gz`` beside this file. ``tests/test_reward_fixture.py`` replays every
recorded answer and asks for bit-identical rewards, terms, success, problems and feedback, so a
refactor that changes what the env computes cannot pass unnoticed.

Per room of the ``test`` split, three text answers and one vector one:

- ``heuristic``: the heuristic policy's first answer (``reward_mode="absolute"``);
- ``random`` then ``perturbed`` (one episode, ``reward_mode="improvement"``, no early end): a
  random layout from the action space, then the heuristic layout with every object moved by
  Gaussian noise (0.3 m in plan, 0.1 m in height, 30 degrees of heading) and one object left out;
- ``vector``: a random ``MetaSpatialContinuous-v0`` action for the same room.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / "layouts.json.gz"
ROOMS = 200
SEED = 20261201


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def outcome(reward, terminated, truncated, info, obs_text: str) -> dict:
    """What a step is compared on (floats kept exactly: JSON writes ``repr``)."""
    return {"reward": float(reward), "terminated": bool(terminated), "truncated": bool(truncated),
            "terms": {k: v for k, v in info.items() if k.startswith("reward_")},
            "success": info.get("success"), "problems": info.get("problems"),
            "parse_errors": info.get("parse_errors"), "layout": info.get("layout"),
            "feedback_sha256": digest(obs_text) if obs_text is not None else None}


def perturbed(answer: str, rng: np.random.Generator) -> str:
    entries = json.loads(answer.removeprefix("<answer>").removesuffix("</answer>"))
    for e in entries:
        e["x"] = round(e["x"] + float(rng.normal(0, 0.3)), 3)
        e["y"] = round(e["y"] + float(rng.normal(0, 0.3)), 3)
        e["z"] = round(e["z"] + float(rng.normal(0, 0.1)), 3)
        e["z_angle"] = round((e["z_angle"] + float(rng.normal(0, 30))) % 360.0, 3)
    if len(entries) > 1:
        entries.pop(int(rng.integers(len(entries))))
    return "<answer>" + json.dumps(entries) + "</answer>"


def record() -> list[dict]:
    import metaspatial_env  # noqa: F401
    from agents.heuristic import HeuristicPolicy
    from metaspatial_env.tasks.splits import load_split

    rng = np.random.default_rng(SEED)
    tasks = load_split("test")[:ROOMS]
    text_abs = gym.make("MetaSpatial-Text-v0", split="test", reward_mode="absolute").unwrapped
    text_imp = gym.make("MetaSpatial-Text-v0", split="test", reward_mode="improvement",
                        terminate_on_success=False).unwrapped
    vector = gym.make("MetaSpatialContinuous-v0", split="test").unwrapped
    cases = []
    for i, task in enumerate(tasks):
        policy = HeuristicPolicy()
        obs, info = text_abs.reset(seed=i, options={"task_id": task.id})
        answer = policy.act(obs, info)
        step = text_abs.step(answer)
        cases.append({"env": "MetaSpatial-Text-v0", "kwargs": {"split": "test", "reward_mode": "absolute"},
                      "task_id": task.id, "kind": "heuristic", "seed": i,
                      "actions": [answer], "steps": [outcome(*step[1:], step[0]["text"])]})

        obs, info = text_imp.reset(seed=i, options={"task_id": task.id})
        text_imp.action_space.seed(int(rng.integers(2**31 - 1)))
        actions = [text_imp.action_space.sample(), perturbed(answer, rng)]
        steps = []
        for action in actions:
            s = text_imp.step(action)
            steps.append(outcome(*s[1:], s[0]["text"]))
        cases.append({"env": "MetaSpatial-Text-v0",
                      "kwargs": {"split": "test", "reward_mode": "improvement", "terminate_on_success": False},
                      "task_id": task.id, "kind": "random+perturbed", "seed": i,
                      "actions": actions, "steps": steps})

        if len(task.objects) <= vector.config.max_objects:
            vector.reset(seed=i, options={"task_id": task.id})
            action = rng.uniform(-1, 1, vector.action_space.shape).astype(np.float32)
            s = vector.step(action)
            cases.append({"env": "MetaSpatialContinuous-v0", "kwargs": {"split": "test"},
                          "task_id": task.id, "kind": "vector", "seed": i,
                          "actions": [action.tolist()], "steps": [outcome(*s[1:], None)],
                          "observation_sha256": digest(np.asarray(s[0], np.float32).tobytes().hex())})
        if i % 20 == 0:
            print(f"{i + 1}/{len(tasks)} rooms", file=sys.stderr)
    return cases


def main() -> None:
    cases = record()
    tmp = FIXTURE.with_suffix(".tmp")
    with gzip.open(tmp, "wt") as f:
        json.dump({"seed": SEED, "rooms": ROOMS, "cases": cases}, f)
    os.replace(tmp, FIXTURE)
    layouts = sum(len(c["actions"]) for c in cases)
    print(f"wrote {FIXTURE}: {len(cases)} cases, {layouts} layouts")


if __name__ == "__main__":
    main()
