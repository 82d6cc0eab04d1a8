"""The solver driver: objects placed one at a time, in order, each at its cheapest candidate.

:class:`LayoutSolver` joins the candidate generator (:mod:`.candidates`) and the cost model
(:mod:`.cost`): for each object in :func:`~.scene.placement_order` it scores the rule-driven
candidates, falls back to a grid when none is clean, and finally rests every object on what is
under it now (:meth:`LayoutSolver.restack`), so a PyBullet settle leaves the layout where it
was answered.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import replace

import numpy as np

from metaspatial_env.geometry import Boxes, point_polygon_distances
from metaspatial_env.physics.static import penetration
from metaspatial_env.schema import TaskObject

from .candidates import CandidateGenerator
from .common import DECIMALS, EPS, RULE_MISS, THIN, Pose
from .cost import CostModel
from .repair import Tabu


def _flat(boxes: Boxes) -> Boxes:
    """The boxes as tall slabs at one height, so :func:`penetration` compares footprints only."""
    return replace(boxes, z=np.zeros_like(boxes.z), hh=1.0)


class LayoutSolver(CandidateGenerator, CostModel):
    """Places a task's objects one at a time by scoring rule-driven candidate poses.

    ``solve(fixed, todo)`` keeps the poses in ``fixed`` and places the ``todo`` objects in
    :func:`placement_order`; ``tabu`` lists poses per object that must not be repeated.
    """

    def solve(self, fixed: Mapping[str, Pose], todo: Iterable[str],
              tabu: Tabu | None = None) -> dict[str, Pose]:
        """Place every object in ``todo`` (in placement order) around the ``fixed`` ones."""
        placed = dict(fixed)
        todo = set(todo)
        for oid in self.order:
            if oid in todo:
                placed[oid] = self.place(self.objects[oid], placed, (tabu or {}).get(oid, []))
        return self.restack(placed)

    def restack(self, placed: Mapping[str, Pose]) -> dict[str, Pose]:
        """Rest every object on what is under it now, supports first.

        A carpet placed after the table it lies under would leave the table sunk 1 cm into it
        (a collision by the reward's count); objects standing on carpets are lifted onto them,
        and whatever rests on those follows.
        """
        out = dict(placed)
        for oid in self.order:
            obj, pose = self.objects[oid], out[oid]
            if self.stands_on_floor(obj) and pose.z <= obj.size[2] / 2.0 + THIN + EPS:
                level = float(self.floor_level(obj, np.array([[pose.x, pose.y, pose.z, pose.z_angle]]), out)[0])
            else:
                support = self.support(obj, pose, out)
                if support is None:
                    continue
                level = self._top_of(support, out)
            out[oid] = Pose(pose.x, pose.y, round(level + obj.size[2] / 2.0, DECIMALS), pose.z_angle)
        return out

    def floor_level(self, obj: TaskObject, poses: np.ndarray, placed: Mapping[str, Pose]) -> np.ndarray:
        """Height each pose of a standing object rests at: 0, or the top of a carpet it overlaps."""
        level = np.zeros(len(poses))
        carpets = [oid for oid in placed if oid != obj.id and self.is_thin(self.objects[oid])]
        if not carpets:
            return level
        cands = _flat(Boxes.of(obj.size, poses))
        for oid in carpets:
            touching = penetration(cands, _flat(self._boxes(oid, placed))) > 1e-6
            level = np.where(touching, np.maximum(level, self._top_of(oid, placed)), level)
        return level

    def support(self, obj: TaskObject, pose: Pose, placed: Mapping[str, Pose]) -> str | None:
        """The object ``obj`` rests on at ``pose``: one of :meth:`supports` its centre lies over."""
        point = np.array([[pose.x, pose.y]])
        for oid in self.supports(obj):
            if oid in placed and float(point_polygon_distances(point, self._boxes(oid, placed).footprint())[0]) <= 0.0:
                return oid
        return None

    def place(self, obj: TaskObject, placed: Mapping[str, Pose], tabu: list[tuple[Pose, float]]) -> Pose:
        """The cheapest pose for ``obj`` given the placed objects: rule candidates, then a grid.

        The room's centre is the last resort, for an object that fills the room wall to wall.
        """
        others = {oid: p for oid, p in placed.items() if oid != obj.id}
        centre = (self.room[0] / 2.0, self.room[1] / 2.0, self.heights(obj, others)[0], obj.z_angle)
        best_pose, best_cost = Pose(*centre), math.inf
        for candidates in (self.rule_candidates(obj, others), self.grid_candidates(obj, others)):
            if not candidates:
                continue
            poses = np.array(candidates, dtype=float)
            if self.stands_on_floor(obj):
                poses[:, 2] = self.floor_level(obj, poses, others) + obj.size[2] / 2.0
            poses = np.round(poses, DECIMALS)
            cost = self.cost(obj, poses, others, tabu)
            i = int(np.argmin(cost))
            if cost[i] < best_cost:
                best_pose, best_cost = Pose(*(float(v) for v in poses[i])), float(cost[i])
            if best_cost < RULE_MISS * 0.5:  # every rule met, nothing hit: no need to search on
                break
        return best_pose
