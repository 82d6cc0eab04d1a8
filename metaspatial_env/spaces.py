"""Gymnasium spaces of the env: printable-ASCII text, and the layout action space."""

from __future__ import annotations

import json
import string
from typing import Any

import numpy as np
from gymnasium import spaces

from .actions import MAX_ACTION_CHARS
from .schema import Task

#: Printable ASCII plus newline: every character of JSON, of the answer tags and of our feedback.
TEXT_CHARSET = "".join(sorted(set(string.printable) - set("\r\x0b\x0c")))


class LayoutActionSpace(spaces.Text):
    """Text over JSON's characters whose ``sample()`` is a valid random layout of the current room.

    The env sets :attr:`task` on reset and seeds this space from its own ``np_random``, so samples
    are reproducible. A sample places every object inside the room at a random spot and heading
    (floor objects on the floor); it is well-formed but almost never a good layout.
    """

    def __init__(self, max_length: int = MAX_ACTION_CHARS, seed: int | np.random.Generator | None = None):
        super().__init__(max_length=max_length, min_length=0, charset=TEXT_CHARSET, seed=seed)
        self.task: Task | None = None

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        if mask is not None or probability is not None:
            raise ValueError("LayoutActionSpace.sample takes no mask or probability: samples are layouts")
        if self.task is None:
            return "<answer>[]</answer>"
        rng = self.np_random
        X, Y, Z = self.task.size
        entries = []
        for obj in self.task.objects:
            length, width, height = obj.size
            reach = max(length, width) / 2.0
            x = rng.uniform(min(reach, X / 2), max(X - reach, X / 2))
            y = rng.uniform(min(reach, Y / 2), max(Y - reach, Y / 2))
            z = height / 2.0 if obj.on_floor else rng.uniform(height / 2.0, Z - height / 2.0)
            entries.append({"new_object_id": obj.id, "x": round(float(x), 3), "y": round(float(y), 3),
                            "z": round(float(z), 3), "z_angle": float(rng.choice([0.0, 90.0, 180.0, 270.0]))})
        return "<answer>" + json.dumps(entries) + "</answer>"

    def __repr__(self) -> str:
        return f"LayoutActionSpace(max_length={self.max_length})"

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, LayoutActionSpace) and self.max_length == other.max_length
