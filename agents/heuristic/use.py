"""Use: the solver's look-ahead for the environment's function rules (:mod:`metaspatial_env.function`).

A layout that meets every rule of the scene graph can still shut a door, stand a wardrobe across
a window or leave a desk with no room for its chair. :class:`UseCosts` prices each candidate pose
for what it would do to the room's use, with the environment's own rules and constants:

- **openings**: penetrating a door's clearance zone (below the door's head) or the strip in front
  of a window (above its sill), as boxes a little larger than the rule's (it shrinks its zones by
  the tolerance, the solver does not);
- **front clearance**: the candidate's own clearance zone (what opens, what is sat at) holding a
  placed object, and the candidate standing in the clearance zone of a placed one;

Each miss costs :data:`~.common.FUNCTION_MISS` plus its amount: the success bar needs every function
rule, as it needs every required rule. Reach, which only the whole layout can tell (a row of
furniture that cuts the room in two), is left to the self-check (:func:`~.repair.self_check`), which measures
the layout with :func:`~metaspatial_env.function.evaluate_function` itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from metaspatial_env.function import (
    FLAT_HEIGHT,
    OPEN_DEPTH,
    SIT_DEPTH,
    WALK_HEIGHT,
    WINDOW_DEPTH,
    access_kind,
    door_depth,
    is_seat,
)
from metaspatial_env.geometry import Boxes
from metaspatial_env.physics.static import penetration
from metaspatial_env.schema import TaskObject

from .common import FUNCTION_MISS, USE_MARGIN, Pose


def _zone_box(corners, z_lo: float, z_hi: float, margin: float) -> tuple[list[float], list[float]]:
    """An axis-aligned zone (four corners) as a box's size and pose row, grown by ``margin``."""
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    x0, x1, y0, y1 = min(xs) - margin, max(xs) + margin, min(ys) - margin, max(ys) + margin
    # heading 0: a box's length runs along x, its width along y
    return [x1 - x0, y1 - y0, z_hi - z_lo], [(x0 + x1) / 2, (y0 + y1) / 2, (z_lo + z_hi) / 2, 0.0]


def front_zones(cands: Boxes, depth: float, margin: float) -> Boxes:
    """The strip ``depth`` deep in front of each box, as wide as it (``margin`` wider each side),
    from the floor to the box's top: where a clearance rule wants nothing standing."""
    top = cands.z_hi
    return replace(cands, center=cands.center + cands.fwd * (np.asarray(cands.hw)[..., None] + depth / 2.0),
                   z=top / 2.0, hl=cands.hl + margin, hw=depth / 2.0 + margin, hh=top / 2.0)


class UseCosts:
    """Function-rule costs of candidate poses (a part of :class:`~.cost.CostModel`, which gives
    ``task``, ``objects``, ``room`` and ``_stack``)."""

    def _openings(self) -> tuple[Boxes | None, list[str]]:
        """The doors' and windows' zones as boxes, once per task, and each zone's kind."""
        if not hasattr(self, "_opening_zones"):
            sizes, poses, kinds = [], [], []
            for o in self.task.openings:
                if o.kind == "door":
                    size, pose = _zone_box(o.zone(self.room, door_depth(o)), 0.0, o.height, USE_MARGIN)
                else:
                    size, pose = _zone_box(o.zone(self.room, WINDOW_DEPTH), o.sill + FLAT_HEIGHT,
                                           o.sill + o.height, USE_MARGIN)
                sizes.append(size)
                poses.append(pose)
                kinds.append(o.kind)
            self._opening_zones = (Boxes.of(np.array(sizes), np.array(poses)) if sizes else None, kinds)
        return self._opening_zones

    def use_cost(self, obj: TaskObject, cands: Boxes, placed: Mapping[str, Pose]) -> np.ndarray:
        """What each candidate pose costs the room's use: openings, front clearances, access."""
        total = np.zeros(len(cands.z))
        if not self.task.openings:
            return total
        solid = cands.z_hi - np.maximum(cands.z_lo, 0.0) > FLAT_HEIGHT
        zones, kinds = self._openings()
        if zones is not None:
            depth = penetration(cands[:, None], zones[None])
            total += np.where((depth > 0.0) & solid[:, None], FUNCTION_MISS + depth, 0.0).sum(axis=1)
        walker = solid & (cands.z_lo < WALK_HEIGHT)
        others = [oid for oid in placed if oid != obj.id]
        if not others or not walker.any():
            return total
        return total + self._clearance_cost(obj, cands, walker, others, placed)

    def _walkers(self, ids: list[str], placed: Mapping[str, Pose]) -> tuple[list[str], Boxes | None]:
        """The placed objects one walks round (not flat, not above the hips)."""
        if not ids:
            return [], None
        boxes = self._stack(ids, placed)
        keep = (boxes.z_hi - np.maximum(boxes.z_lo, 0.0) > FLAT_HEIGHT) & (boxes.z_lo < WALK_HEIGHT)
        rows = np.flatnonzero(keep)
        return [ids[k] for k in rows], (boxes[rows] if len(rows) else None)

    def _clearance_cost(self, obj: TaskObject, cands: Boxes, walker: np.ndarray, others: list[str],
                        placed: Mapping[str, Pose]) -> np.ndarray:
        total = np.zeros(len(cands.z))
        ids, boxes = self._walkers(others, placed)
        if boxes is None:
            return total
        _, clearance = access_kind(obj.id)
        if clearance is not None:
            mine = front_zones(cands, OPEN_DEPTH if clearance == "open" else SIT_DEPTH, USE_MARGIN)
            counts = np.array([clearance == "open" or not is_seat(oid) for oid in ids])
            if counts.any():
                depth = penetration(mine[:, None], boxes[np.flatnonzero(counts)][None])
                total += np.where((depth > 0.0) & walker[:, None], FUNCTION_MISS + depth, 0.0).sum(axis=1)
        mover_is_seat = is_seat(obj.id)
        for k, oid in enumerate(ids):
            _, theirs = access_kind(oid)
            if theirs is None or (theirs == "sit" and mover_is_seat):
                continue
            zone = front_zones(boxes[k:k + 1], OPEN_DEPTH if theirs == "open" else SIT_DEPTH, USE_MARGIN)
            depth = penetration(cands, zone)
            total += np.where((depth > 0.0) & walker, FUNCTION_MISS + depth, 0.0)
        return total


__all__ = ["UseCosts", "front_zones"]
