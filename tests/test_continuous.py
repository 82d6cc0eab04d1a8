"""MetaSpatialContinuous-v0: the vector/Box variant scores layouts with the shared reward."""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from metaspatial_env.continuous import (
    ACTION_DIMS,
    MAX_OPENINGS,
    OPENING_FEATURES,
    ContinuousLayoutEnv,
    decode_action,
    encode_action,
    encode_observation,
    object_features,
)
from metaspatial_env.env import RoomLayoutEnv
from metaspatial_env.tasks.splits import load_split


def test_registered_and_checked():
    env = gym.make("metaspatial_env:MetaSpatialContinuous-v0", max_objects=5)
    assert isinstance(env.unwrapped, ContinuousLayoutEnv)
    check_env(env.unwrapped)
    assert env.observation_space.shape == (4 + 5 * object_features(5) + MAX_OPENINGS * OPENING_FEATURES,)
    assert env.action_space.shape == (5 * ACTION_DIMS,)
    env.close()


@pytest.mark.parametrize("task", load_split("test")[:12], ids=lambda t: t.id)
def test_reference_layout_as_action_succeeds_with_the_same_reward_as_text(task):
    """Derived z (floor, on-top, ceiling, wall-mounted) reproduces the reference layout, and the
    continuous env pays exactly what the text env pays for the same poses."""
    env = ContinuousLayoutEnv(split="test")
    env.reset(options={"task_id": task.id})
    _, reward, terminated, _, info = env.step(encode_action(task, task.reference_layout, env.config.max_objects))
    assert info["success"] and terminated and reward == pytest.approx(1.0)

    action = np.random.default_rng(0).uniform(-1, 1, env.action_space.shape).astype(np.float32)
    env.reset(options={"task_id": task.id})
    _, _, _, _, info = env.step(action)
    boxes = decode_action(task, action.astype(np.float64))
    text = RoomLayoutEnv(observation="text", split="test")
    text.reset(options={"task_id": task.id})
    answer = [{"new_object_id": oid, "x": b.center[0], "y": b.center[1], "z": b.center[2], "z_angle": b.z_angle}
              for oid, b in boxes.items()]
    import json

    _, _, _, _, text_info = text.step(json.dumps(answer))
    for term in ("format", "collision", "bounds", "stability", "relations", "total"):
        assert info[f"reward_{term}"] == pytest.approx(text_info[f"reward_{term}"], abs=1e-6), term
    env.close()
    text.close()


def test_observation_shows_the_doors_and_windows():
    from dataclasses import replace

    from metaspatial_env.schema import Opening

    task = load_split("test")[0]
    door = Opening("door_1", "door", "east_wall", 1.0, 0.9, 2.1, 0.0, "end")
    window = Opening("window_1", "window", "south_wall", 2.0, 1.2, 1.2, 0.9, None)
    task = replace(task, openings=(door, window))
    boxes = decode_action(task, np.zeros(20 * ACTION_DIMS))
    obs = encode_observation(task, boxes, set(), 0.0, 20)
    slots = obs[4 + 20 * object_features(20):].reshape(MAX_OPENINGS, OPENING_FEATURES)
    X, Y, Z = task.size
    assert slots[0, :6].tolist() == [1, 1, 0, 0, 0, 1]  # a door in the east wall
    assert slots[0, 6:].tolist() == pytest.approx([1.0, 2 * 1.0 / Y - 1, 0.9 / Y, 0.0, 2.1 / Z, 1.0])
    assert slots[1, :6].tolist() == [1, 0, 1, 0, 0, 0]  # a window in the south wall
    assert slots[1, 6:].tolist() == pytest.approx([2 * 2.0 / X - 1, -1.0, 1.2 / X, 0.9 / Z, 1.2 / Z, 0.0])
    assert not slots[2:].any()  # empty slots, mask 0
    without = encode_observation(replace(task, openings=()), boxes, set(), 0.0, 20)
    assert np.array_equal(without[:4 + 20 * object_features(20)], obs[:4 + 20 * object_features(20)])


def test_decoded_poses_stay_in_the_room_plan():
    task = load_split("test")[0]
    X, Y, _ = task.size
    for a in (-1.0, 1.0):
        boxes = decode_action(task, np.full(20 * ACTION_DIMS, a))
        for box in boxes.values():
            lo, hi = box.aabb()
            assert lo[0] >= -1e-9 and lo[1] >= -1e-9 and hi[0] <= X + 1e-9 and hi[1] <= Y + 1e-9


def test_observation_shows_settled_poses_and_turns():
    env = ContinuousLayoutEnv(max_objects=5, max_turns=2, terminate_on_success=False)
    obs0, _ = env.reset(seed=3)
    obs1, r1, terminated, truncated, info = env.step(env.action_space.sample())
    assert env.observation_space.contains(obs0) and env.observation_space.contains(obs1)
    assert not np.array_equal(obs0, obs1) and obs1[3] == pytest.approx(0.5)
    assert (terminated, truncated) == (False, False)
    _, r2, _, truncated, info = env.step(env.action_space.sample())
    assert truncated and r1 + r2 == pytest.approx(info["reward_total"])  # improvement mode sums to the last total
    with pytest.raises(RuntimeError, match="reset"):
        env.step(env.action_space.sample())


def test_non_finite_entries_are_unplaced_not_a_crash():
    env = ContinuousLayoutEnv(max_objects=5, max_turns=1)
    env.reset(seed=0)
    action = np.zeros(env.action_space.shape, dtype=np.float32)
    action[:ACTION_DIMS] = np.nan
    _, reward, _, _, info = env.step(action)
    n = len(env.task.objects)
    assert info["reward_format"] == pytest.approx((n - 1) / n) and np.isfinite(reward)
    with pytest.raises(ValueError, match="shape"):
        env.reset(seed=0)
        env.step(np.zeros(3))


def test_same_seed_same_episode_and_pickle():
    def run(env):
        obs, info = env.reset(seed=11)
        return obs, info, env.step(np.linspace(-1, 1, env.action_space.shape[0]))

    a, b = ContinuousLayoutEnv(max_objects=5), ContinuousLayoutEnv(max_objects=5)
    (oa, ia, sa), (ob, ib, sb) = run(a), run(b)
    assert np.array_equal(oa, ob) and ia == ib and np.array_equal(sa[0], sb[0]) and sa[1:] == sb[1:]
    clone = pickle.loads(pickle.dumps(a))
    assert clone.config == a.config and np.array_equal(run(clone)[0], oa)


def test_rooms_limits_the_pool_to_the_first_filtered_rooms():
    everything = ContinuousLayoutEnv(max_objects=5)
    env = gym.make("metaspatial_env:MetaSpatialContinuous-v0", max_objects=5, rooms=3)
    assert env.unwrapped.tasks == everything.tasks[:3]
    drawn = {env.reset(seed=seed)[1]["task_id"] for seed in range(40)}
    assert drawn == {t.id for t in everything.tasks[:3]}  # 40 draws from 3 rooms reach each, and only them
    # A named room outside the pool is still reachable.
    outside = everything.tasks[5].id
    assert env.reset(options={"task_id": outside})[1]["task_id"] == outside
    check_env(env.unwrapped)
    assert ContinuousLayoutEnv(max_objects=5, rooms=len(everything.tasks)).tasks == everything.tasks
    env.close()


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"max_objects": 0}, "max_objects"),
    ({"rooms": -1}, "rooms must be"),
    ({"rooms": 2.0}, "rooms must be"),
    ({"rooms": True}, "rooms must be"),
    ({"max_objects": 5, "rooms": 10_000}, "only"),
    ({"min_objects": 6, "max_objects": 5}, "min_objects"),
    ({"min_objects": 21, "max_objects": 30, "split": "test"}, "no room"),
    ({"observation": "image"}, "vector"),
    ({"reward_mode": "best"}, "reward_mode"),
    ({"image_size": [64, 64]}, "unknown ContinuousLayoutEnv arguments"),
])
def test_bad_configuration(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ContinuousLayoutEnv(**kwargs)
