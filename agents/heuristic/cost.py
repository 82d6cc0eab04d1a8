"""The cost of candidate poses: rules, hard failures, and look-aheads for what is still to come.

Every candidate is scored at once with the environment's own array forms: each rule whose other
end is placed (:func:`~metaspatial_env.relations.layout_violations`,
:func:`~metaspatial_env.relations.object_violations`,
:func:`~metaspatial_env.relations.facing_violations`, with a small safety margin so the physics
settle cannot nudge a pose off a tolerance's edge), penetration into placed objects and out of
the room (:func:`~metaspatial_env.physics.static.penetration`,
:func:`~metaspatial_env.physics.static.protrusion`), a crowding penalty when an anchor leaves no
floor for the satellites that must stand beside it, and a wall budget: the furniture still to
come on each wall must still fit on it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from metaspatial_env.geometry import WALLS, Boxes, wall_gaps
from metaspatial_env.physics.static import penetration, protrusion
from metaspatial_env.relations import (
    ANGLE_SCALE_DEG,
    DISTANCE_SCALE,
    FLOOR,
    SUPPORT_PREPOSITIONS,
    back_to_wall_violations,
    facing_violations,
    floor_violations,
    implied_rules,
    layout_violations,
    object_violations,
)
from metaspatial_env.schema import TaskObject

from .common import (
    BOUNDS_SLACK,
    CEILING_GAP,
    COLLISION_SLACK,
    CONTACT_SLACK,
    CROWDING,
    EPS,
    FACING_MARGIN_DEG,
    HARD,
    PREFERENCE,
    REQUIRED_MISS,
    RULE_MARGIN,
    RULE_MISS,
    SEEDED_SPREAD,
    SHALLOW_OVERLAP,
    WALL_GAP,
    X_AXIS,
    Y_AXIS,
    Pose,
)
from .repair import tabu_penalty
from .scene import SceneGraph


def rule_cost(violation: np.ndarray, unit: str, required: bool = False) -> np.ndarray:
    """Cost of a rule: a step for missing it (the success bar counts met rules; a required rule,
    which success cannot do without, costs :data:`REQUIRED_MISS`) plus its size."""
    scale = ANGLE_SCALE_DEG if unit == "deg" else DISTANCE_SCALE
    return np.where(violation > EPS, (REQUIRED_MISS if required else RULE_MISS) + violation / scale, 0.0)


def _pack(length: float, blocked: list[tuple[float, float]], demands: list[tuple[float, bool]]) -> float:
    """How much of the demanded wall length does not fit in the free stretches of a wall.

    ``blocked`` are covered stretches of [0, length]; ``demands`` are (length, corner-bound)
    pieces. Corner-bound pieces go to stretches at either end of the wall, then the rest is
    packed first-fit, largest first, with a small gap each.
    """
    free, start = [], 0.0
    for a, b in sorted(blocked):
        if a - start > 0:
            free.append([start, a])
        start = max(start, b)
    if length - start > 0:
        free.append([start, length])
    short = 0.0
    for need, corner in sorted(demands, key=lambda d: (not d[1], -d[0])):
        need += 2 * WALL_GAP
        fits = [f for f in free if f[1] - f[0] >= need and (not corner or f[0] <= EPS or f[1] >= length - EPS)]
        if not fits:
            short += need
        elif fits[0][0] <= EPS or not corner:
            fits[0][0] += need
        else:
            fits[0][1] -= need
    return short


class CostModel(SceneGraph):
    """Costs of candidate poses for one object given the placed ones (a part of
    :class:`~.solver.LayoutSolver`); lower is better, :data:`HARD` per hard failure."""

    def cost(self, obj: TaskObject, poses: np.ndarray, placed: Mapping[str, Pose],
             tabu: list[tuple[Pose, float]]) -> np.ndarray:
        """Cost of each candidate pose (rows x, y, z, z_angle) for ``obj``; lower is better."""
        cands = Boxes.of(obj.size, poses)
        total = self.rules_cost(obj, cands, placed)
        total += self.hard_cost(obj, cands, placed)
        total += self.crowding_cost(obj, cands, placed)
        total += self.wall_budget_cost(obj, cands, placed)
        for bad, radius in tabu:
            total += tabu_penalty(poses, bad, radius)
        rank = np.arange(len(poses), dtype=float)
        if self.rng is not None:
            rank += self.rng.uniform(0.0, SEEDED_SPREAD, len(poses))
        return total + PREFERENCE * rank / (len(poses) + SEEDED_SPREAD)

    def rules_cost(self, obj: TaskObject, cands: Boxes, placed: Mapping[str, Pose]) -> np.ndarray:
        """Summed cost of every rule between ``obj`` and the room or an already placed object."""
        m, deg = RULE_MARGIN, FACING_MARGIN_DEG
        total = np.zeros(len(cands.z))
        for r in obj.layout_rules:
            total += rule_cost(layout_violations(cands, r.element, r.preposition, self.room, margin=m), "m")
        for r in obj.object_rules:
            if r.target in placed:
                target = self._boxes(r.target, placed)
                total += rule_cost(object_violations(cands, r.preposition, r.is_adjacent, target, margin=m), "m",
                                   r.preposition in SUPPORT_PREPOSITIONS)
        for _, target in implied_rules(obj):
            if target == FLOOR:
                total += rule_cost(floor_violations(cands, margin=m), "m", required=True)
            else:
                total += rule_cost(back_to_wall_violations(cands, target, margin=deg), "deg", required=True)
        if obj.facing in WALLS:
            total += rule_cost(facing_violations(cands, obj.facing, margin=deg), "deg")
        elif obj.facing in placed:
            total += rule_cost(facing_violations(cands, self._boxes(obj.facing, placed), margin=deg), "deg")
        for subject, rule in self.incoming[obj.id]:
            if subject.id not in placed:
                continue
            other = self._boxes(subject.id, placed)
            if rule is None:
                total += rule_cost(facing_violations(other, cands, margin=deg), "deg")
            else:
                total += rule_cost(object_violations(other, rule.preposition, rule.is_adjacent, cands, margin=m), "m",
                                   rule.preposition in SUPPORT_PREPOSITIONS)
        return total

    def hard_cost(self, obj: TaskObject, cands: Boxes, placed: Mapping[str, Pose]) -> np.ndarray:
        """Cost of poking out of the room and of penetrating placed objects beyond tolerance."""
        out = protrusion(cands, self.room)
        total = np.where(out > BOUNDS_SLACK, HARD + HARD * out, 0.0)
        if not placed:
            return total
        # a carpet and a standing object never collide: the standing one is lifted onto the carpet
        ids = [oid for oid in placed if not self._carpet_pair(obj, self.objects[oid])]
        if not ids:
            return total
        depth = penetration(cands[:, None], self._stack(ids, placed)[None])
        slack = np.array([CONTACT_SLACK if frozenset((obj.id, oid)) in self.contact_pairs else COLLISION_SLACK
                          for oid in ids])
        total += np.where(depth > slack, HARD + HARD * depth, 0.0).sum(axis=1)
        shallow = (depth > 0.001) & (depth <= slack) & (slack == COLLISION_SLACK)
        return total + SHALLOW_OVERLAP * shallow.sum(axis=1)

    def crowding_cost(self, obj: TaskObject, cands: Boxes, placed: Mapping[str, Pose]) -> np.ndarray:
        """Look-ahead for anchors: the floor their side satellites need must be free and in the room."""
        if self.reserve[obj.id] is None:
            return np.zeros(len(cands.z))
        zone = self.reserve_zone(obj, cands)
        # the last satellite stands WALL_GAP clear of the wall, like every object against one
        worst = np.maximum(protrusion(zone, self.room) + WALL_GAP, 0.0)
        floor_ids = [oid for oid in placed if oid not in self._satellites(obj.id)]
        if floor_ids:
            depth = penetration(zone[:, None], self._stack(floor_ids, placed)[None])
            worst = np.maximum(worst, np.maximum(depth, 0.0).max(axis=1))
        return np.where(worst > 0.01, CROWDING + worst, 0.0)

    def wall_budget_cost(self, obj: TaskObject, cands: Boxes, placed: Mapping[str, Pose]) -> np.ndarray:
        """Look-ahead for walls: the furniture still to come on each wall must fit on it.

        For every wall, the objects not yet placed that must stand or hang against it (a
        chain counted whole, with its side reserve; corner-bound ones at a wall end) are packed
        into the stretches of wall that the placed objects and this candidate leave free in
        their height band (see :meth:`_wall_demands`). A candidate that leaves too little wall
        costs about one lost rule plus the shortfall: a cabinet in a corner can take the end of
        a wall that a counter run needs, and a row of tall bookshelves the wall a picture needs.
        """
        total = np.zeros(len(cands.z))
        floor = obj.on_floor and obj.mount is None
        boxes = self.reserve_zone(obj, cands) if floor else cands
        others = self._stack(list(placed), placed) if placed else None
        for (wall, depth, z_lo, z_hi), demands in self._wall_demands(obj, placed).items():
            length = self.room[0] if wall in ("south_wall", "north_wall") else self.room[1]
            fixed = []
            if others is not None:
                lo, hi, near = self._wall_intervals(others, wall, depth, z_lo, z_hi)
                fixed = [(a, b) for a, b, n in zip(lo, hi, near) if n]
            lo, hi, near = self._wall_intervals(boxes, wall, depth, z_lo, z_hi)
            stretch = [(round(a, 2), round(b, 2)) if n else None for a, b, n in zip(lo, hi, near)]
            shortfall = {key: _pack(length, fixed + ([key] if key else []), demands) for key in set(stretch)}
            short = np.array([shortfall[key] for key in stretch])
            total += np.where(short > 0.01, CROWDING + short, 0.0)
        return total

    def _wall_demands(self, obj: TaskObject, placed: Mapping[str, Pose]) -> dict[tuple, list[tuple[float, bool]]]:
        """Wall space still wanted, keyed by (wall, strip depth, band bottom, band top).

        Floor objects still to come need the strip along their wall up to their height;
        wall-mounted objects that hang free (not above something) need a stretch where
        nothing reaches within their height of the ceiling. Each demand is (length along the
        wall, corner-bound). Objects in ``obj``'s own group are left out (its side reserve
        speaks for them), and so are side satellites whose anchor still to come stands on the
        same wall (the anchor's demand includes them).
        """
        waiting = {oid for oid in self.objects if oid not in placed} - self.group[obj.id]
        floor: dict[str, tuple[float, float, list]] = {}
        hung: dict[str, tuple[float, list]] = {}
        for oid in sorted(waiting):
            o = self.objects[oid]
            if o.mount in WALLS and not o.object_rules:
                tallest, demands = hung.get(o.mount, (0.0, []))
                hung[o.mount] = (max(tallest, o.size[2]), demands + [(o.size[0], False)])
            if not self.stands_on_floor(o):
                continue
            for rule in o.layout_rules:
                if rule.element not in WALLS or any(
                        r.preposition in ("left of", "right of") and r.target in waiting
                        and any(q.element == rule.element for q in self.objects[r.target].layout_rules)
                        for r in o.object_rules):
                    continue
                left, right, *_ = self.reserve[oid] or (0.0, 0.0)
                depth, height, demands = floor.get(rule.element, (0.0, 0.0, []))
                floor[rule.element] = (max(depth, o.size[1]), max(height, o.size[2]),
                                       demands + [(o.size[0] + left + right, rule.preposition == "in the corner")])
        out = {(wall, depth, 0.0, height): demands for wall, (depth, height, demands) in floor.items()}
        top = self.room[2]
        for wall, (tallest, demands) in hung.items():
            out[(wall, 2 * WALL_GAP + EPS, top - tallest - CEILING_GAP - 2 * WALL_GAP, top)] = demands
        return out

    def _wall_intervals(self, boxes: Boxes, wall: str, depth: float, z_lo: float, z_hi: float):
        """Stretch (lo, hi) of the wall each box covers, and whether it reaches into the wall's
        strip (closer than ``depth``) within the height band (``z_lo``, ``z_hi``)."""
        ex, ey = boxes.extent(X_AXIS), boxes.extent(Y_AXIS)
        x, y = boxes.center[:, 0], boxes.center[:, 1]
        gap = wall_gaps(boxes, self.room)[wall]
        near = (gap < depth) & (boxes.z + boxes.hh > z_lo) & (boxes.z - boxes.hh < z_hi)
        if wall in ("south_wall", "north_wall"):
            return x - ex, x + ex, near
        return y - ey, y + ey, near
