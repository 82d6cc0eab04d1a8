"""The ``heuristic`` policy: solves the scene graph on turn 1, repairs from feedback after.

:class:`HeuristicPolicy` answers with :func:`format_answer` of the solver's layout, checked and
repaired against the environment's own measures before every answer (:mod:`.repair`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from metaspatial_env.schema import Task

from .common import REPAIR_KINDS, SELF_REPAIRS, Pose
from .repair import Tabu, repair_layout, self_check
from .solver import LayoutSolver


class HeuristicPolicy:
    """The ``heuristic`` policy: solves the scene graph on turn 1, repairs from feedback after.

    ``act(observation, info)`` needs ``info["task"]`` (the task's scene-graph dict) on the
    first turn of an episode; later turns read ``info["problems"]``. Before answering, the
    policy checks its layout with the environment's own rule and overlap measures and repairs
    what it can (:meth:`_polish`); the feedback adds what only the physics settle can tell.
    ``seed`` makes a seeded policy vary its choices among near-equivalent poses, reproducibly;
    None keeps the most natural pose every time.
    """

    name = "heuristic"

    def __init__(self, seed: int | None = None):
        self.seed = seed
        self.reset()

    def reset(self) -> None:
        """Forget the episode: the next ``act`` must carry ``info["task"]``."""
        self._solver: LayoutSolver | None = None
        self._layout: dict[str, Pose] = {}
        self._tabu: Tabu = {}
        self._named_before: set[str] = set()

    @property
    def layout(self) -> dict[str, Pose]:
        """The poses of the last answer."""
        return dict(self._layout)

    def act(self, observation: Any, info: Mapping[str, Any]) -> str:
        """The layout answer for this turn."""
        if "task" in info:
            self._start(Task.from_dict(info["task"]))
        if self._solver is None:
            raise RuntimeError("HeuristicPolicy.act needs info['task'] on the first turn of an episode")
        if not self._layout:
            self._layout = self._polish(self._solver.solve({}, self._solver.order))
        elif not info.get("success", False):
            named = self._blamed(info.get("problems") or [])
            layout = repair_layout(self._solver, self._layout, named, self._tabu, self._named_before)
            self._named_before = named
            self._layout = self._polish(layout)
        return format_answer(self._layout)

    def _start(self, task: Task) -> None:
        rng = None if self.seed is None else np.random.default_rng(self.seed)
        self._solver = LayoutSolver(task, rng)
        self._layout = {}
        self._tabu = {}
        self._named_before = set()

    def _blamed(self, problems: list[Mapping[str, Any]]) -> set[str]:
        """Objects to move for the env's problems; of two colliding objects, the one placed later."""
        order = self._solver.order
        named = set()
        for p in problems:
            oid, other = p.get("object_id"), p.get("other")
            if p.get("kind") not in REPAIR_KINDS or oid not in order:
                continue
            if p.get("kind") == "collision" and other in order and order.index(other) > order.index(oid):
                oid = other
            named.add(oid)
        return named

    def _polish(self, layout: dict[str, Pose]) -> dict[str, Pose]:
        """Repair the layout against :func:`self_check` a few times, keeping the best version."""
        best, (named, badness) = layout, self_check(self._solver, layout)
        before: set[str] = set()
        for _ in range(SELF_REPAIRS):
            if not named:
                break
            candidate = repair_layout(self._solver, best, named, self._tabu, before)
            before = named
            candidate_named, candidate_badness = self_check(self._solver, candidate)
            if candidate_badness < badness:
                best, named, badness = candidate, candidate_named, candidate_badness
        return best


def format_answer(layout: Mapping[str, Pose]) -> str:
    """The action text: ``<answer>[{"new_object_id", "x", "y", "z", "z_angle"}, ...]</answer>``."""
    entries = [{"new_object_id": oid, "x": round(p.x, 3), "y": round(p.y, 3), "z": round(p.z, 3),
                "z_angle": round(p.z_angle % 360.0, 3) % 360.0} for oid, p in layout.items()]
    return "<answer>" + json.dumps(entries) + "</answer>"
