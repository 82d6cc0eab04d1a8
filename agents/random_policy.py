"""The random baseline: every object somewhere inside the room, at a random right-angle heading."""

from __future__ import annotations

from typing import Any

from metaspatial_env.spaces import LayoutActionSpace
from metaspatial_env.tasks import Task


class RandomPolicy:
    """Samples a fresh random layout every turn (the env action space's ``sample``)."""

    def __init__(self, seed: int | None = None):
        self._space = LayoutActionSpace(seed=seed)

    def reset(self) -> None:
        self._space.task = None

    def act(self, observation: dict[str, Any], info: dict[str, Any]) -> str:
        if "task" in info:
            self._space.task = Task.from_dict(info["task"])
        if self._space.task is None:
            raise ValueError("RandomPolicy needs the reset info (with 'task') on the episode's first act")
        return self._space.sample()
