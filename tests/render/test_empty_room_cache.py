"""The reset observation's empty-room render is made once per process for a room and its renderer
settings: later resets of that room, by any env of the process, reuse it; the pixels equal a
fresh render."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

import metaspatial_env  # noqa: F401
from metaspatial_env import env as env_module
from metaspatial_env.tasks.splits import load_split


class _Counting:
    """The env's real renderer, counting its renders."""

    def __init__(self, renderer):
        self.renderer, self.calls = renderer, 0

    def render(self, scene):
        self.calls += 1
        return self.renderer.render(scene)

    def __getattr__(self, name):
        return getattr(self.renderer, name)


def _counted(env):
    inner = env.unwrapped
    inner._renderer = _Counting(inner._make_renderer())
    return inner._renderer


def test_a_room_seen_before_resets_without_a_render_and_with_the_same_pixels():
    env_module._EMPTY_ROOMS.clear()
    rooms = load_split("test")[:2]
    first, second = (gym.make("MetaSpatial-Fast-v0", split="test", image_size=(64, 128)) for _ in range(2))
    counts = [_counted(first), _counted(second)]
    image_a = first.reset(seed=0, options={"task_id": rooms[0].id})[0]["image"]
    assert counts[0].calls == 1
    again = second.reset(seed=1, options={"task_id": rooms[0].id})[0]["image"]  # another env, same process
    assert counts[1].calls == 0 and np.array_equal(again, image_a)
    again[:] = 0  # the caller's copy: the cache is not touched
    assert np.array_equal(first.reset(seed=2, options={"task_id": rooms[0].id})[0]["image"], image_a)
    other = second.reset(seed=3, options={"task_id": rooms[1].id})[0]["image"]
    assert counts[1].calls == 1 and not np.array_equal(other, image_a)
    fresh = gym.make("MetaSpatial-Fast-v0", split="test", image_size=(64, 128))
    env_module._EMPTY_ROOMS.clear()
    assert np.array_equal(fresh.reset(seed=0, options={"task_id": rooms[0].id})[0]["image"], image_a)
    # other renderer settings are another key
    small = gym.make("MetaSpatial-Fast-v0", split="test", image_size=(32, 64))
    assert small.reset(seed=0, options={"task_id": rooms[0].id})[0]["image"].shape == (32, 64, 3)
    for e in (first, second, fresh, small):
        e.close()
