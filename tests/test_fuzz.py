"""Hostile actions: thousands of them, and the env neither raises nor pays for garbage."""

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metaspatial_env.actions import ERROR_CODES
from metaspatial_env.env import RoomLayoutEnv

ENV = RoomLayoutEnv(split="test", image_size=(32, 64), max_turns=10**9, terminate_on_success=False, labels=False)
ENV.reset(seed=0)
IDS = list(ENV.task.object_ids)

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, 1e-308, 0.0, -0.0, 10**400, -(10**30)]),
    st.integers(min_value=-(10**40), max_value=10**40),
)
junk = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=30)),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
ids = st.one_of(st.sampled_from(IDS), st.text(max_size=20), st.sampled_from(["", "BED_1", "bed_1 ", "\u202e"]))
entries = st.fixed_dictionaries(
    {"new_object_id": ids},
    optional={"x": numbers | junk, "y": numbers | junk, "z": numbers | junk, "z_angle": numbers | junk},
)


def dumps(value):
    try:
        return json.dumps(value, allow_nan=True)
    except (ValueError, OverflowError):
        return "[]"


def truncate(text, cut):
    return text[: max(0, int(len(text) * cut))]


hostile = st.one_of(
    st.lists(entries, max_size=25).map(lambda e: f"<answer>{dumps(e)}</answer>"),
    st.lists(entries | junk, max_size=8).map(dumps),
    st.tuples(st.lists(entries, min_size=1, max_size=10).map(dumps), st.floats(0, 1)).map(lambda t: truncate(*t)),
    st.dictionaries(st.sampled_from(IDS), entries, max_size=5).map(dumps),
    junk.map(dumps),
    st.text(max_size=200),
    st.text(alphabet="[]{}\":,<>/answerthink0123456789.e-", max_size=300),
    st.integers(1, 40).map(lambda n: "[" * (n * 1000)),
    st.sampled_from(["x" * (1 << 20), "[" + "1," * 400000 + "1]", "\u0000" * 5000, "<answer>" * 10000]),
    junk,  # not even a string
)


@settings(max_examples=2100, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(hostile)
def test_hostile_actions_are_scored_never_raised(action):
    obs, reward, terminated, truncated, info = ENV.step(action)
    assert ENV.observation_space.contains(obs)
    assert math.isfinite(reward) and 0.0 <= reward <= 1.0
    assert isinstance(terminated, bool) and isinstance(truncated, bool)
    assert all(code in ERROR_CODES for code in info["parse_errors"])
    assert all(math.isfinite(v) for k, v in info.items() if k.startswith("reward_"))
    if not isinstance(action, str) or not action.strip():
        assert info["parse_errors"] and info["reward_format"] == 0.0
    for pose in info["layout"].values():
        assert all(math.isfinite(v) for v in pose.values())


@pytest.mark.parametrize(
    "action, code",
    [
        ("x" * (1 << 20), "too_long"),
        ("<answer>[{\"new_object_id\": \"" + "a" * 60000 + "\"}]</answer>", "unknown_id"),
        ("{\"bed_1\": {\"x\": 1}}", "not_a_list"),
        ("[{\"new_object_id\": 1}]", "bad_entry"),
        (None, "not_text"),
        (np.zeros(3), "not_text"),
    ],
)
def test_named_errors_in_info(action, code):
    _, reward, _, _, info = ENV.step(action)
    assert code in info["parse_errors"] and math.isfinite(reward)
