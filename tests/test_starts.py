"""Repair starts (metaspatial_env.starts): episodes that begin from a layout to fix."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import metaspatial_env  # noqa: F401  (registers the ids)
from metaspatial_env.continuous import ContinuousLayoutEnv
from metaspatial_env.env import RoomLayoutEnv
from metaspatial_env.prompting import START_HEADER, parse_task_prompt, task_prompt
from metaspatial_env.starts import StartSpec, make_start
from metaspatial_env.tasks.splits import load_split

KINDS = [{"kind": "perturbed", "scale": 0.3, "angle": 10.0}, {"kind": "chaotic"}, {"kind": "missing", "count": 2}]


@pytest.fixture(scope="module")
def task():
    return load_split("test")[3]


@pytest.fixture(scope="module")
def env():
    env = RoomLayoutEnv(observation="text", split="test", terminate_on_success=False)
    yield env
    env.close()


def _poses(start):
    return {oid: (b.center, b.z_angle) for oid, b in start.boxes.items()}


@pytest.mark.parametrize("spec", KINDS, ids=[k["kind"] for k in KINDS])
def test_generated_starts_are_deterministic_from_the_seed_and_valid(task, spec):
    spec = StartSpec.from_dict(spec)
    a = make_start(task, spec, np.random.default_rng(5))
    b = make_start(task, spec, np.random.default_rng(5))
    c = make_start(task, spec, np.random.default_rng(6))
    assert _poses(a) == _poses(b) and _poses(a) != _poses(c)
    assert set(a.boxes) == set(task.object_ids) and a.kind == spec.kind
    X, Y, _ = task.size
    for oid, box in a.boxes.items():
        assert box.size == task.object(oid).size and all(np.isfinite(box.center))
    if spec.kind == "missing":
        assert len(a.placed) == len(task.objects) - 2
        gone = set(task.object_ids) - a.placed
        for oid in gone:  # stacked at the centre, like an empty start
            assert a.boxes[oid].center[:2] == (X / 2.0, Y / 2.0)
    else:
        assert a.placed == frozenset(task.object_ids)
    if spec.kind == "chaotic":
        for box in a.boxes.values():
            assert 0.0 <= box.center[0] <= X and 0.0 <= box.center[1] <= Y
            assert box.center[2] == pytest.approx(box.size[2] / 2.0)
    if spec.kind == "perturbed":
        ref = task.reference_layout
        moved = [np.hypot(b.center[0] - ref[o]["x"], b.center[1] - ref[o]["y"]) for o, b in a.boxes.items()]
        assert 0.05 < np.mean(moved) < 1.0


@pytest.mark.parametrize("spec", KINDS, ids=[k["kind"] for k in KINDS])
def test_the_first_observation_shows_the_start_and_its_problems(env, task, spec):
    obs, info = env.reset(seed=11, options={"task_id": task.id, "start": spec})
    again, info2 = env.reset(seed=11, options={"task_id": task.id, "start": spec})
    assert obs == again and info["start"] == info2["start"]
    start = info["start"]
    assert start["kind"] == spec["kind"] and not start["success"] and start["problems"]
    assert 0.0 <= start["reward_total"] < 1.0 and set(start["layout"]) == set(task.object_ids)
    text = obs["text"]
    assert text.startswith(task_prompt(task)) and START_HEADER in text
    assert "Problems:" in text.split(START_HEADER)[1]
    assert parse_task_prompt(text).object_ids == task.object_ids  # the prompt still reads back
    if spec["kind"] == "missing":
        assert "Not placed yet: " in text


def test_improvement_pays_the_change_from_the_start(task):
    env = RoomLayoutEnv(observation="text", split="test", reward_mode="improvement")
    try:
        _, info = env.reset(seed=2, options={"task_id": task.id, "start": "perturbed"})
        ref = task.reference_layout
        import json

        answer = json.dumps([{"new_object_id": oid, **pose} for oid, pose in ref.items()])
        _, reward, terminated, _, step = env.step(answer)
    finally:
        env.close()
    assert step["reward_total"] > info["start"]["reward_total"]
    assert reward == pytest.approx(step["reward_total"] - info["start"]["reward_total"])


def test_a_given_layout_start_keeps_what_the_answer_leaves_out(env, task):
    ref = task.reference_layout
    keep = task.object_ids[:2]
    layout = {oid: dict(ref[oid]) for oid in keep}
    obs, info = env.reset(options={"task_id": task.id, "start": {"kind": "layout", "layout": layout}})
    assert set(info["start"]["layout"]) == set(task.object_ids)
    assert f"Not placed yet: {', '.join(task.object_ids[2:])}." in obs["text"]
    # an empty answer: the two given objects stay placed, the others stay unplaced
    _, _, _, _, step = env.step("[]")
    unplaced = {p["object_id"] for p in step["problems"] if p["kind"] == "unplaced"}
    assert unplaced == set(task.object_ids[2:])


@pytest.mark.parametrize("bad,message", [
    ({"kind": "wild"}, "start kind must be one of"),
    ({"kind": "perturbed", "scale": -1}, "start scale must be a finite number >= 0"),
    ({"kind": "missing", "count": 0}, "start count must be a positive int"),
    ({"kind": "perturbed", "sigma": 1}, "unknown start keys ['sigma']"),
    ({"kind": "layout"}, "needs a non-empty 'layout'"),
    ({"kind": "layout", "layout": {"ghost_1": {"x": 1, "y": 1, "z": 1}}}, "names unknown objects ['ghost_1']"),
    ({"kind": "missing", "count": 999}, "at most"),
])
def test_bad_starts_are_one_clear_error(env, task, bad, message):
    with pytest.raises(ValueError) as error:
        env.reset(options={"task_id": task.id, "start": bad})
    assert message in str(error.value)


def test_a_room_without_a_reference_has_no_perturbed_start(env, task):
    bare = task.to_dict()
    bare.pop("reference_layout")
    with pytest.raises(ValueError, match="has no reference layout"):
        env.reset(options={"task": bare, "start": "perturbed"})
    env.reset(options={"task": bare, "start": "chaotic"})  # needs none


def test_the_vector_face_starts_from_the_same_layout(task):
    text = RoomLayoutEnv(observation="text", split="test")
    vector = ContinuousLayoutEnv(split="test")
    try:
        _, a = text.reset(seed=4, options={"task_id": task.id, "start": "chaotic"})
        obs, b = vector.reset(seed=4, options={"task_id": task.id, "start": "chaotic"})
        empty, _ = vector.reset(seed=4, options={"task_id": task.id})
    finally:
        text.close()
        vector.close()
    assert a["start"]["layout"] == b["start"]["layout"] and a["start"]["reward_total"] == b["start"]["reward_total"]
    assert not np.array_equal(obs, empty)


def test_the_repair_id_starts_perturbed_and_renders_the_start():
    env = gym.make("MetaSpatial-Repair-v0", split="test", image_size=(64, 128))
    try:
        obs, info = env.reset(seed=0)
        blank, _ = gym.make("MetaSpatial-Fast-v0", split="test", image_size=(64, 128)).reset(
            seed=0, options={"task_id": info["task_id"]})
    finally:
        env.close()
    assert info["start"]["kind"] == "perturbed" and START_HEADER in obs["text"]
    assert not np.array_equal(obs["image"], blank["image"])  # the start's furniture is drawn
