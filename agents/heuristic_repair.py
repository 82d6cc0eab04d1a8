"""Baselines that bracket refinement: a policy that repairs from the env's feedback only, and a
control that ignores the feedback.

The ``heuristic`` policy solves a room on turn 1 and its self-check fixes what is left, so its
repair path from feedback never runs. These two make that path measurable:

- ``heuristic_repair`` (:class:`HeuristicRepairPolicy`): turn 1 is a poor layout (the solver's
  with every object moved by N(0, ``noise``) m, drawn from ``seed``), or, in a repair episode, the
  starting layout repaired once from the start's problems. Each later turn re-solves only the
  objects the env's feedback names (and what hangs on them), around the rest of the last answer
  (:func:`agents.heuristic.repair.repair_layout`): no self-check, no full solve.
- ``heuristic_resample`` (:class:`FeedbackBlindPolicy`): the control. Its turn 1 is drawn like
  ``heuristic_repair``'s; each later turn is a fresh draw from the same distribution, feedback
  unread, so a gain over turns measures resampling, not the use of feedback.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from metaspatial_env.schema import Task

from .heuristic.common import Pose
from .heuristic.policy import HeuristicPolicy, format_answer
from .heuristic.repair import Tabu, repair_layout
from .heuristic.solver import LayoutSolver

#: Standard deviation (m) of the move in x and y that spoils the solver's layout on turn 1.
TURN_ONE_NOISE = 0.35


def noisy(layout: Mapping[str, Pose], noise: float, rng: np.random.Generator) -> dict[str, Pose]:
    """Every pose moved in x and y by N(0, ``noise``) m (heights and headings kept)."""
    out = {}
    for oid, pose in layout.items():
        dx, dy = rng.normal(0.0, noise, 2)
        out[oid] = Pose(round(pose.x + float(dx), 3), round(pose.y + float(dy), 3), pose.z, pose.z_angle)
    return out


def start_layout(info: Mapping[str, Any]) -> dict[str, Pose] | None:
    """A repair episode's starting layout (settled), from the reset info; None otherwise."""
    start = info.get("start")
    if not start:
        return None
    return {oid: Pose(p["x"], p["y"], p["z"], p["z_angle"]) for oid, p in start["layout"].items()}


class _NoisyStart:
    """What both baselines share: the solver, and a poor turn 1 drawn from ``seed``."""

    def __init__(self, seed: int | None = 0, noise: float = TURN_ONE_NOISE):
        if not noise >= 0:
            raise ValueError(f"noise must be a number >= 0, got {noise!r}")
        self.seed = seed
        self.noise = float(noise)
        self._rng = np.random.default_rng(seed)
        self.reset()

    def reset(self) -> None:
        self._solver: LayoutSolver | None = None
        self._solved: dict[str, Pose] = {}
        self._layout: dict[str, Pose] = {}

    def _begin(self, info: Mapping[str, Any]) -> None:
        if "task" in info:
            self._solver = LayoutSolver(Task.from_dict(info["task"]), None)
            self._solved = self._solver.solve({}, self._solver.order)
            self._layout = {}
        if self._solver is None:
            raise RuntimeError(f"{type(self).__name__}.act needs info['task'] on the first turn of an episode")

    def _draw(self) -> dict[str, Pose]:
        return noisy(self._solved, self.noise, self._rng)


class HeuristicRepairPolicy(_NoisyStart):
    """``heuristic_repair``: a poor turn 1, then repairs of what the env's feedback names."""

    name = "heuristic_repair"

    def reset(self) -> None:
        super().reset()
        self._tabu: Tabu = {}
        self._named_before: set[str] = set()

    def act(self, observation: Any, info: Mapping[str, Any]) -> str:
        self._begin(info)
        if not self._layout:
            start = start_layout(info)
            self._tabu, self._named_before = {}, set()
            if start is None:
                self._layout = self._draw()
                return format_answer(self._layout)
            self._layout = start
            info = info["start"]  # the start's problems are the first feedback
        if not info.get("success", False):
            named = HeuristicPolicy._blamed(self, info.get("problems") or [])
            self._layout = repair_layout(self._solver, self._layout, named, self._tabu, self._named_before)
            self._named_before = named
        return format_answer(self._layout)


class FeedbackBlindPolicy(_NoisyStart):
    """``heuristic_resample``: the control; a fresh poor layout every turn, feedback unread."""

    name = "heuristic_resample"

    def act(self, observation: Any, info: Mapping[str, Any]) -> str:
        self._begin(info)
        self._layout = self._draw()
        return format_answer(self._layout)


__all__ = ["FeedbackBlindPolicy", "HeuristicRepairPolicy", "TURN_ONE_NOISE", "noisy"]
