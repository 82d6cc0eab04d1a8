"""A heuristic layout policy: a constraint-driven solver that reads only the scene graph.

The policy lays a room out object by object. Objects are ordered so that *anchors* (objects
whose rules point only at walls, the middle of the room or the ceiling; larger first) come
before their *satellites* (an object ``left of`` / ``in front`` / ``on`` / ``under`` / ``above``
another is placed after it, and an object ``facing`` another after that one where possible),
and a satellite is placed right after its anchor so it gets the best spots next to it.

For each object the solver generates candidate poses from its rules (back to the named wall
facing into the room, corners, the middle, beside / in front of / behind an anchor at a few
gaps and offsets in the anchor's frame, on top of it, centred under it, on the ceiling above
it, flush on a wall above it) and scores every candidate at once with numpy: the violation of
each rule whose other end is already placed (the formulas of :mod:`metaspatial_env.relations`,
vectorised over the candidates: :func:`layout_violation`, :func:`object_violation`,
:func:`facing_violation`), penetration into placed objects and out of the room, and a
look-ahead penalty when an anchor leaves no floor for the satellites that must stand beside it
(whole chains: a fridge needs room for the counter, sink and stove to its right), and a
wall budget: the furniture still to come on each wall must still fit on it. Every rule is
scored with a small safety margin, so the physics settle cannot nudge a pose off a
tolerance's edge. The cheapest candidate wins; a grid search over the free floor (or walls,
or ceiling) is the fallback when no rule-driven candidate is clean.

Heights: floor objects stand at ``h / 2`` (or on a rug they overlap, which the reward would
otherwise count as a 1 cm collision), an object ``on`` another rests on its top, ceiling
objects touch the ceiling and wall-mounted objects hang flush on their wall (above whatever
they are ``above``), so a PyBullet settle leaves the layout where it was answered.

Before answering, the policy measures its own layout exactly as the environment will (rules
with :func:`~metaspatial_env.relations.evaluate_rules`, overlaps and bounds with
:func:`~metaspatial_env.physics.static.static_checks`) and repairs what fails. A repair keeps
the layout, re-solves each blamed object (and the satellites that hang on it) with the rest
fixed, and forbids the poses that already failed; an object blamed twice in a row drags its
anchor chain into the re-solve, barred from its old neighbourhood. On later turns the
environment's feedback drives the same repair and adds what only the physics settle can tell.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from metaspatial_env.geometry import WALL_FACING_INTO_ROOM, WALLS, Box
from metaspatial_env.physics.static import static_checks
from metaspatial_env.relations import (
    ADJACENT_DISTANCE,
    ANGLE_SCALE_DEG,
    CONTACT_TOLERANCE,
    DISTANCE_SCALE,
    FACING_TOLERANCE_DEG,
    HEADING_TO_WALL,
    PERPENDICULAR_WALLS,
    TOUCH_TOLERANCE,
    evaluate_rules,
)
from metaspatial_env.schema import ObjectRule, Task, TaskObject

#: Gap left between an object's back and its wall (inside the 5 cm contact band, never through).
WALL_GAP = 0.01
#: Gap left between a ceiling object's top and the ceiling.
CEILING_GAP = 0.005
#: Gaps tried between an object and the one it stands beside (all within ADJACENT_DISTANCE).
NEAR_GAPS = (0.01, 0.05, 0.15, 0.3, 0.45)
#: Extra gaps tried when the rule does not ask for adjacency.
FAR_GAPS = (0.7, 1.0, 1.4, 1.9, 2.5, 3.2)
#: Clearances tried between a wall-mounted object and the top of what it hangs above.
ABOVE_CLEARANCES = (0.15, 0.35, 0.6)
#: Centre height of a wall-mounted object that hangs above nothing in particular.
WALL_MOUNT_HEIGHT = 1.5
#: Penetrations tolerated when choosing poses, kept below the reward's 1 cm / 3 cm so that
#: rounding the answer to millimetres can never push a pair over.
COLLISION_SLACK = 0.008
CONTACT_SLACK = 0.025
#: Protrusion out of the room tolerated when choosing poses (the reward allows 1 cm).
BOUNDS_SLACK = 0.003
#: Cost of a hard failure (collision, outside the room): always worse than any rule trade-off.
HARD = 100.0
#: Cost of an unmet rule on top of its scaled violation: the success bar counts met rules.
RULE_MISS = 1.0
#: Cost of an anchor pose that leaves no floor for its side satellites (about one lost rule).
CROWDING = 0.9
#: Cost of a shallow, tolerated overlap (a chair standing on a rug's edge): avoided when possible.
SHALLOW_OVERLAP = 0.3
#: Cost of repeating a pose that the environment already reported as failing.
TABU = 3.0
#: Radius (m) of the neighbourhood barred around a failed pose, and around the old pose of an
#: anchor pulled into a repair (it has to move somewhere substantially different).
TABU_RADIUS = 0.03
ANCHOR_TABU_RADIUS = 0.5
#: Rounds of self-checked repair before each answer.
SELF_REPAIRS = 4
#: Weight of the candidate's rank in generation order, the tie-breaker between equal poses.
PREFERENCE = 1e-3
#: How many places in that order a seeded policy lets a candidate jump: neighbours in the
#: order are alike (next spot along the wall, next gap), so seeds vary the layout gently.
SEEDED_SPREAD = 6.0
#: Safety margins kept inside every rule's tolerance when choosing poses (metres, degrees):
#: the settle nudges things by fractions of a millimetre, and a pose right on a tolerance's
#: edge can fall either side of it.
RULE_MARGIN = 0.005
FACING_MARGIN_DEG = 2.0
#: Share of a target's side (or of the middle of the room) used for spreading spots, so none
#: lands exactly on the edge where the rule stops holding.
INNER = 0.9
#: Decimals of the answer; candidates are scored exactly as they will be answered.
DECIMALS = 3
#: Target number of points in a fallback grid.
GRID_POINTS = 400
#: Objects at most this tall lying on the floor (rugs, mats) are carpets: others stand on them.
THIN = 0.03
#: Problem kinds that make the policy re-solve the object they name.
REPAIR_KINDS = ("unplaced", "parse", "collision", "out_of_bounds", "unstable", "rule")
#: Side prepositions and (sign, axis) of the side in the target's frame: axis 0 = right, 1 = forward.
SIDES = {"left of": (-1.0, 0), "right of": (1.0, 0), "in front": (1.0, 1), "behind": (-1.0, 1)}
#: Heading offset from the target's heading of a satellite on each side that faces the target.
FACING_BACK = {"left of": 90.0, "right of": 270.0, "in front": 180.0, "behind": 0.0}
EPS = 1e-9


@dataclass(frozen=True)
class Pose:
    """An answered pose: box centre (m) and compass heading (degrees)."""

    x: float
    y: float
    z: float
    z_angle: float

    def box(self, obj: TaskObject) -> Box:
        return Box(size=obj.size, center=(self.x, self.y, self.z), z_angle=self.z_angle)


#: Poses barred per object, each with the radius (m) of the neighbourhood barred around it.
Tabu = dict[str, list[tuple["Pose", float]]]


# ----------------------------------------------------------------------------- box arrays
@dataclass(frozen=True)
class Boxes:
    """Many z-rotated boxes as arrays, the vectorised twin of :class:`~metaspatial_env.geometry.Box`.

    ``center`` is (n, 2), ``z`` (n,), ``fwd`` / ``right`` the unit frame vectors (n, 2) (see
    :func:`metaspatial_env.geometry.heading_vectors`); ``hl``, ``hw``, ``hh`` are half of
    length, width and height, arrays (n,) or scalars.
    """

    center: np.ndarray
    z: np.ndarray
    angle: np.ndarray
    fwd: np.ndarray
    right: np.ndarray
    hl: np.ndarray | float
    hw: np.ndarray | float
    hh: np.ndarray | float

    @classmethod
    def of(cls, size: tuple[float, float, float], xyz_angle: np.ndarray) -> Boxes:
        """Boxes of one size at poses given as rows (x, y, z, z_angle)."""
        poses = np.atleast_2d(np.asarray(xyz_angle, dtype=float))
        rad = np.radians(poses[:, 3])
        s, c = np.sin(rad), np.cos(rad)
        return cls(poses[:, :2], poses[:, 2], poses[:, 3], np.stack([s, c], 1), np.stack([c, -s], 1),
                   size[0] / 2.0, size[1] / 2.0, size[2] / 2.0)

    @classmethod
    def from_box(cls, box: Box) -> Boxes:
        return cls.of(box.size, np.array([[*box.center, box.z_angle]]))

    def extent(self, axis: np.ndarray) -> np.ndarray:
        """Half the footprint's extent along unit vector(s) ``axis`` (broadcast, (..., 2))."""
        return self.hl * np.abs(np.sum(self.right * axis, -1)) + self.hw * np.abs(np.sum(self.fwd * axis, -1))

    @property
    def z_lo(self) -> np.ndarray:
        return self.z - self.hh

    @property
    def z_hi(self) -> np.ndarray:
        return self.z + self.hh


_X_AXIS, _Y_AXIS = np.array([1.0, 0.0]), np.array([0.0, 1.0])


def _excess(value, tolerance):
    return np.maximum(0.0, value - tolerance)


def _contact(gap, margin: float = 0.0):
    """Vectorised ``relations._contact_violation``: distance to [-TOUCH, CONTACT] tolerance."""
    return _excess(gap, CONTACT_TOLERANCE - margin) + _excess(-gap, TOUCH_TOLERANCE - margin)


def wall_gaps(boxes: Boxes, room: tuple[float, float, float]) -> dict[str, np.ndarray]:
    """Gap from each box's footprint to each wall (negative through it), as ``geometry.wall_gap``."""
    ex, ey = boxes.extent(_X_AXIS), boxes.extent(_Y_AXIS)
    x, y = boxes.center[:, 0], boxes.center[:, 1]
    return {"south_wall": y - ey, "north_wall": room[1] - (y + ey),
            "west_wall": x - ex, "east_wall": room[0] - (x + ex)}


def _rect_distance(points: np.ndarray, rect: Boxes, inset: float = 0.0) -> np.ndarray:
    """Distance from points (n, 2) to rectangles' footprints shrunk by ``inset`` (0 inside)."""
    d = points - rect.center
    r = np.abs(np.sum(d * rect.right, -1)) - (rect.hl - inset)
    f = np.abs(np.sum(d * rect.fwd, -1)) - (rect.hw - inset)
    return np.hypot(np.maximum(r, 0.0), np.maximum(f, 0.0))


def _heading_towards(d: np.ndarray) -> np.ndarray:
    return np.degrees(np.arctan2(d[..., 0], d[..., 1])) % 360.0


def _angle_difference(a, b):
    d = np.abs(np.asarray(a) % 360.0 - np.asarray(b) % 360.0)
    return np.minimum(d, 360.0 - d)


def layout_violation(boxes: Boxes, element: str, preposition: str, room, margin: float = 0.0) -> np.ndarray:
    """Vectorised ``relations.layout_rule_violation``; ``margin`` tightens every tolerance."""
    if element == "ceiling":
        return _contact(room[2] - boxes.z_hi, margin)
    if element == "middle of the room":
        dx = _excess(np.abs(boxes.center[:, 0] - room[0] / 2.0), room[0] / 4.0 - margin)
        dy = _excess(np.abs(boxes.center[:, 1] - room[1] / 2.0), room[1] / 4.0 - margin)
        return np.hypot(dx, dy)
    gaps = wall_gaps(boxes, room)
    violation = _contact(gaps[element], margin)
    if preposition == "in the corner":
        violation = violation + np.minimum(*(_contact(gaps[w], margin) for w in PERPENDICULAR_WALLS[element]))
    return violation


def object_violation(subject: Boxes, preposition: str, adjacent: bool, target: Boxes,
                     margin: float = 0.0) -> np.ndarray:
    """Vectorised ``relations.object_rule_violation``; either side may be a single box.

    ``margin`` tightens every tolerance and shrinks every footprint a centre must lie over.
    """
    touch = TOUCH_TOLERANCE - margin
    if preposition in ("on", "under", "above"):
        if preposition == "on":
            vertical = _excess(np.abs(subject.z_lo - target.z_hi), touch)
            horizontal = _rect_distance(subject.center, target, margin)
        elif preposition == "under":
            vertical = _excess(subject.z_hi - target.z_lo, touch)
            horizontal = np.minimum(_rect_distance(subject.center, target, margin),
                                    _rect_distance(target.center, subject, margin))
        else:
            vertical = _excess(target.z_hi - subject.z_lo, touch)
            horizontal = _excess(_rect_distance(subject.center, target), CONTACT_TOLERANCE - margin)
        return vertical + horizontal
    sign, axis = SIDES[preposition]
    along = target.right if axis == 0 else target.fwd
    across = target.fwd if axis == 0 else target.right
    half_along = target.hl if axis == 0 else target.hw
    half_across = target.hw if axis == 0 else target.hl
    d = subject.center - target.center
    mid_along, mid_across = np.sum(d * along, -1), np.sum(d * across, -1)
    reach = subject.extent(along)
    # the near edge of the subject measured outwards from the target's side
    gap = sign * mid_along - reach - half_along
    violation = _excess(-gap, touch) + _excess(np.abs(mid_across), half_across - margin)
    if adjacent:
        violation = violation + _excess(gap, ADJACENT_DISTANCE - margin)
    return violation


def facing_violation(subject: Boxes, target: Boxes | str, margin: float = 0.0) -> np.ndarray:
    """Vectorised ``relations.facing_violation`` towards a wall name or a box (``margin`` in degrees)."""
    tolerance = FACING_TOLERANCE_DEG - margin
    if isinstance(target, str):
        return _excess(_angle_difference(subject.angle, HEADING_TO_WALL[target]), tolerance)
    d = target.center - subject.center
    violation = _excess(_angle_difference(subject.angle, _heading_towards(d)), tolerance)
    stacked = np.hypot(d[..., 0], d[..., 1]) < 1e-6
    return np.where(stacked, 180.0 - tolerance, violation)


def rule_cost(violation: np.ndarray, unit: str) -> np.ndarray:
    """Cost of a rule: a step for missing it (the success bar counts met rules) plus its size."""
    scale = ANGLE_SCALE_DEG if unit == "deg" else DISTANCE_SCALE
    return np.where(violation > EPS, RULE_MISS + violation / scale, 0.0)


def penetration(a: Boxes, b: Boxes) -> np.ndarray:
    """Separating-axis penetration depth of every a against every b, shape (len(a), len(b)).

    Same measure as :mod:`metaspatial_env.physics.static` (0 or less when apart).
    """
    def pairs(boxes: Boxes, axis: int) -> tuple[np.ndarray, ...]:
        n = len(boxes.z)
        return tuple(np.expand_dims(v, axis) for v in (
            boxes.center, boxes.right, boxes.fwd,
            np.broadcast_to(boxes.hl, n), np.broadcast_to(boxes.hw, n), np.broadcast_to(boxes.hh, n), boxes.z))

    ca, ra, fa, hla, hwa, hha, za = pairs(a, 1)
    cb, rb, fb, hlb, hwb, hhb, zb = pairs(b, 0)
    push = None
    for axis in (ra, fa, rb, fb):
        reach_a = hla * np.abs(np.sum(ra * axis, -1)) + hwa * np.abs(np.sum(fa * axis, -1))
        reach_b = hlb * np.abs(np.sum(rb * axis, -1)) + hwb * np.abs(np.sum(fb * axis, -1))
        overlap = reach_a + reach_b - np.abs(np.sum((ca - cb) * axis, -1))
        push = overlap if push is None else np.minimum(push, overlap)
    return np.minimum(push, hha + hhb - np.abs(za - zb))


def _flat(boxes: Boxes) -> Boxes:
    """The boxes as tall slabs at one height, so :func:`penetration` compares footprints only."""
    return replace(boxes, z=np.zeros_like(boxes.z), hh=1.0)


def protrusion(boxes: Boxes, room) -> np.ndarray:
    """How far each box pokes out of the room through its worst boundary (<= 0 inside)."""
    gaps = wall_gaps(boxes, room)
    worst = np.maximum.reduce([-g for g in gaps.values()])
    return np.maximum.reduce([worst, -boxes.z_lo, boxes.z_hi - room[2]])


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


# ----------------------------------------------------------------------------- ordering
def placement_order(task: Task) -> list[str]:
    """Anchors first (larger first), each followed by the satellites that hang on it.

    An object waits for every target of its object rules, and for the object it faces when
    that creates no deadlock. Among ready objects, those bound to a corner go first (a room has
    only a few corners, and anything else would happily take them), then satellites before new
    anchors, so they get the spots beside their anchor before other furniture claims them, and
    objects with no placement rule at all last, once the walls are spoken for. Cycles of rules
    are broken at the object with most of its targets already placed.
    """
    objects = {o.id: o for o in task.objects}
    needs = {o.id: {r.target for r in o.object_rules} for o in task.objects}
    faces = {o.id: {o.facing} & set(objects) for o in task.objects}
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(objects):
        remaining = [oid for oid in objects if oid not in done]
        ready = [oid for oid in remaining if needs[oid] <= done]
        if not ready:  # a cycle of rules: take the object closest to ready
            ready = [max(remaining, key=lambda oid: len(needs[oid] & done) - len(needs[oid]))]
        preferred = [oid for oid in ready if faces[oid] <= done] or ready
        best = min(preferred, key=lambda oid: (_rank(objects[oid]), -_footprint(objects[oid]), oid))
        order.append(best)
        done.add(best)
    return order


def _rank(obj: TaskObject) -> int:
    """Placement priority among ready objects: corner-bound, satellites, anchors, free objects."""
    if obj.object_rules:
        return 1
    if not obj.layout_rules:
        return 3
    return 0 if any(r.preposition == "in the corner" for r in obj.layout_rules) else 2


def _footprint(obj: TaskObject) -> float:
    return obj.size[0] * obj.size[1]


def dependents(task: Task, roots: Iterable[str]) -> set[str]:
    """``roots`` and every object whose object rules (transitively) point at one of them."""
    out = set(roots)
    grew = True
    while grew:
        grew = False
        for o in task.objects:
            if o.id not in out and any(r.target in out for r in o.object_rules):
                out.add(o.id)
                grew = True
    return out


# ----------------------------------------------------------------------------- the solver
class LayoutSolver:
    """Places a task's objects one at a time by scoring rule-driven candidate poses.

    ``solve(fixed, todo)`` keeps the poses in ``fixed`` and places the ``todo`` objects in
    :func:`placement_order`; ``tabu`` lists poses per object that must not be repeated.
    """

    def __init__(self, task: Task, rng: np.random.Generator | None = None):
        self.task = task
        self.room = tuple(float(v) for v in task.size)
        self.objects = {o.id: o for o in task.objects}
        self.order = placement_order(task)
        self.rng = rng
        # rules of other objects that point at each object, scored when that object is placed
        self.incoming: dict[str, list[tuple[TaskObject, ObjectRule | None]]] = {oid: [] for oid in self.objects}
        for o in task.objects:
            for r in o.object_rules:
                self.incoming[r.target].append((o, r))
            if o.facing in self.objects:
                self.incoming[o.facing].append((o, None))
        self.contact_pairs = {frozenset((o.id, r.target)) for o in task.objects for r in o.object_rules
                              if r.preposition in ("on", "under")}
        self.reserve = {oid: self._side_reserve(oid) for oid in self.objects}
        self.group = {oid: dependents(task, {oid}) for oid in self.objects}
        self._extents: dict[tuple[str, float], tuple[float, float]] = {}
        # satellites sharing one side of a target (two chairs in front of a table) split it evenly
        self.slot: dict[tuple[str, ObjectRule], float] = {}
        for o in task.objects:
            for r in o.object_rules:
                peers = [p.id for p in task.objects
                         if any(q.target == r.target and q.preposition == r.preposition for q in p.object_rules)]
                self.slot[(o.id, r)] = (2 * peers.index(o.id) + 1) / len(peers) - 1.0

    # -- public -----------------------------------------------------------------------
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

    def stands_on_floor(self, obj: TaskObject) -> bool:
        """Whether ``obj`` stands on the floor (or on a carpet), not on another object or a mount."""
        return obj.mount is None and not self.is_thin(obj) and not self.supports(obj)

    def supports(self, obj: TaskObject) -> list[str]:
        """Objects ``obj`` should rest on: its ``on`` targets, and for an unmounted object that is
        not on the floor its ``above`` targets (nothing else would hold it up)."""
        wanted = [r.target for r in obj.object_rules if r.preposition == "on"]
        if obj.mount is None and not obj.on_floor:
            wanted += [r.target for r in obj.object_rules if r.preposition == "above"]
        return wanted

    def is_thin(self, obj: TaskObject) -> bool:
        """Carpets: flat floor objects that others may stand on."""
        return obj.on_floor and obj.mount is None and obj.size[2] <= THIN

    def floor_level(self, obj: TaskObject, poses: np.ndarray, placed: Mapping[str, Pose]) -> np.ndarray:
        """Height each pose of a standing object rests at: 0, or the top of a carpet it overlaps."""
        level = np.zeros(len(poses))
        carpets = [oid for oid in placed if oid != obj.id and self.is_thin(self.objects[oid])]
        if not carpets:
            return level
        cands = _flat(Boxes.of(obj.size, poses))
        for oid in carpets:
            touching = penetration(cands, _flat(self._boxes(oid, placed)))[:, 0] > 1e-6
            level = np.where(touching, np.maximum(level, self._top_of(oid, placed)), level)
        return level

    def support(self, obj: TaskObject, pose: Pose, placed: Mapping[str, Pose]) -> str | None:
        """The object ``obj`` rests on at ``pose``: one of :meth:`supports` its centre lies over."""
        point = np.array([[pose.x, pose.y]])
        for oid in self.supports(obj):
            if oid in placed and float(_rect_distance(point, self._boxes(oid, placed))[0]) <= 0.0:
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

    # -- scoring ----------------------------------------------------------------------
    def cost(self, obj: TaskObject, poses: np.ndarray, placed: Mapping[str, Pose],
             tabu: list[tuple[Pose, float]]) -> np.ndarray:
        """Cost of each candidate pose (rows x, y, z, z_angle) for ``obj``; lower is better."""
        cands = Boxes.of(obj.size, poses)
        total = self.rules_cost(obj, cands, placed)
        total += self.hard_cost(obj, cands, placed)
        total += self.crowding_cost(obj, cands, placed)
        total += self.wall_budget_cost(obj, cands, placed)
        for bad, radius in tabu:
            near = (np.hypot(poses[:, 0] - bad.x, poses[:, 1] - bad.y) <= radius) & (np.abs(poses[:, 2] - bad.z) <= 0.03)
            total += np.where(near & (_angle_difference(poses[:, 3], bad.z_angle) <= 3.0), TABU, 0.0)
        rank = np.arange(len(poses), dtype=float)
        if self.rng is not None:
            rank += self.rng.uniform(0.0, SEEDED_SPREAD, len(poses))
        return total + PREFERENCE * rank / (len(poses) + SEEDED_SPREAD)

    def rules_cost(self, obj: TaskObject, cands: Boxes, placed: Mapping[str, Pose]) -> np.ndarray:
        """Summed cost of every rule between ``obj`` and the room or an already placed object."""
        m, deg = RULE_MARGIN, FACING_MARGIN_DEG
        total = np.zeros(len(cands.z))
        for r in obj.layout_rules:
            total += rule_cost(layout_violation(cands, r.element, r.preposition, self.room, m), "m")
        for r in obj.object_rules:
            if r.target in placed:
                target = self._boxes(r.target, placed)
                total += rule_cost(object_violation(cands, r.preposition, r.is_adjacent, target, m), "m")
        if obj.facing in WALLS:
            total += rule_cost(facing_violation(cands, obj.facing, deg), "deg")
        elif obj.facing in placed:
            total += rule_cost(facing_violation(cands, self._boxes(obj.facing, placed), deg), "deg")
        for subject, rule in self.incoming[obj.id]:
            if subject.id not in placed:
                continue
            other = self._boxes(subject.id, placed)
            if rule is None:
                total += rule_cost(facing_violation(other, cands, deg), "deg")
            else:
                total += rule_cost(object_violation(other, rule.preposition, rule.is_adjacent, cands, m), "m")
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
        depth = penetration(cands, self._stack(ids, placed))
        slack = np.array([CONTACT_SLACK if frozenset((obj.id, oid)) in self.contact_pairs else COLLISION_SLACK
                          for oid in ids])
        total += np.where(depth > slack, HARD + HARD * depth, 0.0).sum(axis=1)
        shallow = (depth > 0.001) & (depth <= slack) & (slack == COLLISION_SLACK)
        return total + SHALLOW_OVERLAP * shallow.sum(axis=1)

    def _carpet_pair(self, a: TaskObject, b: TaskObject) -> bool:
        return (self.is_thin(a) and self.stands_on_floor(b)) or (self.is_thin(b) and self.stands_on_floor(a))

    def crowding_cost(self, obj: TaskObject, cands: Boxes, placed: Mapping[str, Pose]) -> np.ndarray:
        """Look-ahead for anchors: the floor their side satellites need must be free and in the room."""
        if self.reserve[obj.id] is None:
            return np.zeros(len(cands.z))
        zone = self.reserve_zone(obj, cands)
        worst = np.maximum(protrusion(zone, self.room), 0.0)
        floor_ids = [oid for oid in placed if oid not in self._satellites(obj.id)]
        if floor_ids:
            depth = penetration(zone, self._stack(floor_ids, placed))
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
        ex, ey = boxes.extent(_X_AXIS), boxes.extent(_Y_AXIS)
        x, y = boxes.center[:, 0], boxes.center[:, 1]
        gap = wall_gaps(boxes, self.room)[wall]
        near = (gap < depth) & (boxes.z + boxes.hh > z_lo) & (boxes.z - boxes.hh < z_hi)
        if wall in ("south_wall", "north_wall"):
            return x - ex, x + ex, near
        return y - ey, y + ey, near

    def reserve_zone(self, obj: TaskObject, cands: Boxes) -> Boxes:
        """The floor an object and its side satellites (:meth:`_side_reserve`) cover at each pose."""
        left, right, front, behind, height = self.reserve[obj.id] or (0.0, 0.0, 0.0, 0.0, obj.size[2])
        offset = cands.right * ((right - left) / 2.0) + cands.fwd * ((front - behind) / 2.0)
        return replace(cands, center=cands.center + offset, z=np.full(len(cands.z), height / 2.0),
                       hl=cands.hl + (left + right) / 2.0, hw=cands.hw + (front + behind) / 2.0, hh=height / 2.0)

    def _side_reserve(self, oid: str, seen: frozenset[str] = frozenset()) -> tuple[float, ...] | None:
        """Floor depth (left, right, front, behind) and height the side satellites of ``oid`` need.

        A satellite beside its anchor usually shares its heading or faces it, so its length
        lies along the anchor's right axis and its width along the anchor's forward axis.
        Chains count whole: in a counter run (sink right of counter right of fridge) the fridge
        needs room for the counter and the sink on its right.
        """
        depth = {"left of": 0.0, "right of": 0.0, "in front": 0.0, "behind": 0.0}
        height = 0.0
        for subject, rule in self.incoming[oid]:
            if rule is None or rule.preposition not in SIDES or not subject.on_floor or subject.id in seen:
                continue
            need = subject.size[0] if SIDES[rule.preposition][1] == 0 else subject.size[1]
            chain = self._side_reserve(subject.id, seen | {oid})
            if chain is not None:
                need += chain[list(depth).index(rule.preposition)]
            depth[rule.preposition] = max(depth[rule.preposition], need + NEAR_GAPS[0])
            height = max(height, subject.size[2])
        if height == 0.0:
            return None
        return depth["left of"], depth["right of"], depth["in front"], depth["behind"], height

    def _satellites(self, oid: str) -> set[str]:
        return {s.id for s, r in self.incoming[oid] if r is not None}

    def _boxes(self, oid: str, placed: Mapping[str, Pose]) -> Boxes:
        p = placed[oid]
        return Boxes.of(self.objects[oid].size, np.array([[p.x, p.y, p.z, p.z_angle]]))

    def _stack(self, ids: list[str], placed: Mapping[str, Pose]) -> Boxes:
        """Placed objects of different sizes as one :class:`Boxes`."""
        poses = np.array([[placed[i].x, placed[i].y, placed[i].z, placed[i].z_angle] for i in ids])
        half = np.array([self.objects[i].size for i in ids]) / 2.0
        return replace(Boxes.of((0.0, 0.0, 0.0), poses), hl=half[:, 0], hw=half[:, 1], hh=half[:, 2])

    # -- candidates -------------------------------------------------------------------
    def rule_candidates(self, obj: TaskObject, placed: Mapping[str, Pose]) -> list[tuple]:
        """Poses suggested by the object's rules, most natural first."""
        walls = [r.element for r in obj.layout_rules if r.element in WALLS]
        corners = [r.element for r in obj.layout_rules if r.preposition == "in the corner"]
        out: list[tuple] = []
        for heading in self.headings(obj, placed):
            spots = []
            for rule in obj.object_rules:
                if rule.target in placed:
                    spots += self.relative_spots(obj, heading, rule, placed)
            under = [placed[r.target] for r in obj.object_rules if r.preposition == "under" and r.target in placed]
            if len(under) > 1:  # a rug under a sofa group: centred under all of them
                spots.insert(0, (float(np.mean([p.x for p in under])), float(np.mean([p.y for p in under]))))
            spots += [self.snap(obj, heading, xy, w) for xy in list(spots) for w in walls]
            for wall in corners:
                spots += self.corner_spots(obj, heading, wall)
            for wall in walls:
                spots += self.wall_spots(obj, heading, wall, placed)
            if any(r.element == "middle of the room" for r in obj.layout_rules):
                spots += self.middle_spots()
            if obj.mount == "ceiling" and not spots:
                spots += self.grid_spots(obj, heading)
            out += self.poses_at(obj, heading, spots, placed)
        return out

    def grid_candidates(self, obj: TaskObject, placed: Mapping[str, Pose]) -> list[tuple]:
        """Fallback: a grid over the whole floor (snapped to every wall for wall-mounted objects)."""
        out: list[tuple] = []
        for heading in self.headings(obj, placed):
            spots = self.grid_spots(obj, heading)
            if obj.mount in WALLS:  # snapped, only the coordinate along the wall matters: thin the grid
                spots = [self.snap(obj, heading, xy, w) for w in WALLS for xy in spots[:: max(1, len(spots) // 40)]]
            out += self.poses_at(obj, heading, spots, placed, grid=True)
        return out

    def headings(self, obj: TaskObject, placed: Mapping[str, Pose]) -> list[float]:
        """Candidate headings: what ``facing`` asks, the task's own, into the room, like the anchor."""
        wanted: list[float] = []
        if obj.facing in WALLS:
            wanted.append(HEADING_TO_WALL[obj.facing])
        for rule in obj.object_rules:
            if rule.target in placed and obj.facing == rule.target and rule.preposition in FACING_BACK:
                wanted.append(placed[rule.target].z_angle + FACING_BACK[rule.preposition])
        # back to the wall it stands on before the task's own heading: a picture hangs flat
        wanted += [WALL_FACING_INTO_ROOM[r.element] for r in obj.layout_rules if r.element in WALLS]
        wanted.append(obj.z_angle)
        wanted += [placed[r.target].z_angle for r in obj.object_rules if r.target in placed]
        wanted += [0.0, 90.0, 180.0, 270.0]
        unique: list[float] = []
        for h in wanted:
            h %= 360.0
            if all(_angle_difference(h, u) > 1e-6 for u in unique):
                unique.append(h)
        return unique

    def relative_spots(self, obj: TaskObject, heading: float, rule: ObjectRule,
                       placed: Mapping[str, Pose]) -> list[tuple[float, float]]:
        """Floor spots for ``obj`` ``rule.preposition`` its target, in the target's frame."""
        target = self._boxes(rule.target, placed)
        me = Boxes.of(obj.size, np.array([[0.0, 0.0, 0.0, heading]]))
        c, right, fwd = target.center[0], target.right[0], target.fwd[0]
        t_hl, t_hw = float(target.hl), float(target.hw)
        if rule.preposition in ("on", "under", "above"):
            # inside the target's footprint, centre first, then spread for several objects on one top
            r_room = max(0.0, t_hl - float(me.extent(right)[0]))
            f_room = max(0.0, t_hw - float(me.extent(fwd)[0]))
            offsets = [(0.0, 0.0)] + [(r, f) for r in (-r_room, 0.0, r_room) for f in (-f_room, 0.0, f_room)
                                      if (r, f) != (0.0, 0.0)]
            return [tuple(c + right * r + fwd * f) for r, f in offsets]
        sign, axis = SIDES[rule.preposition]
        along, across = (right, fwd) if axis == 0 else (fwd, right)
        half_along, half_across = (t_hl, t_hw) if axis == 0 else (t_hw, t_hl)
        reach, width = float(me.extent(along)[0]), float(me.extent(across)[0])
        gaps = NEAR_GAPS if rule.is_adjacent else NEAR_GAPS + FAR_GAPS
        # this satellite's share of the side, centred, flush with either end, then spread along it
        slide = max(0.0, half_across - width)
        shifts = [self.slot[(obj.id, rule)] * half_across, 0.0, -slide, slide]
        shifts += list(np.linspace(-INNER * half_across, INNER * half_across, 5))
        return [tuple(c + along * sign * (half_along + gap + reach) + across * s) for gap in gaps for s in shifts]

    def half_extents(self, obj: TaskObject, heading: float) -> tuple[float, float]:
        """Half the x and y extent of the object's footprint at a heading (memoised)."""
        key = (obj.id, heading)
        if key not in self._extents:
            me = Boxes.of(obj.size, np.array([[0.0, 0.0, 0.0, heading]]))
            self._extents[key] = (float(me.extent(_X_AXIS)[0]), float(me.extent(_Y_AXIS)[0]))
        return self._extents[key]

    def snap(self, obj: TaskObject, heading: float, xy, wall: str) -> tuple[float, float]:
        """Move a spot perpendicular to ``wall`` so the object's footprint stands WALL_GAP from it."""
        ex, ey = self.half_extents(obj, heading)
        x, y = float(xy[0]), float(xy[1])
        X, Y = self.room[0], self.room[1]
        if wall == "south_wall":
            return x, ey + WALL_GAP
        if wall == "north_wall":
            return x, Y - ey - WALL_GAP
        if wall == "west_wall":
            return ex + WALL_GAP, y
        return X - ex - WALL_GAP, y

    def wall_spots(self, obj: TaskObject, heading: float, wall: str,
                   placed: Mapping[str, Pose]) -> list[tuple[float, float]]:
        """Spots along a wall: in line with related objects, then centre-out or packed to a corner.

        Objects that others face or that have satellites on both sides (a TV, a bed between
        nightstands) take the middle of the wall. Everything else packs towards a corner,
        counting the floor its side satellites need: a run of bookshelves starts at one end of
        the wall and leaves the rest of it in one piece for the next run.
        """
        me = Boxes.of(obj.size, np.array([[0.0, 0.0, 0.0, heading]]))
        along_x = wall in ("south_wall", "north_wall")
        axis = _X_AXIS if along_x else _Y_AXIS
        length = self.room[0] if along_x else self.room[1]
        half = float(me.extent(axis)[0])
        lo, hi = half + WALL_GAP, length - half - WALL_GAP
        if lo > hi:
            return []
        related = [r.target for r in obj.object_rules] + ([obj.facing] if obj.facing else [])
        aligned = [placed[t].x if along_x else placed[t].y for t in related if t in placed]
        samples = np.linspace(lo, hi, max(2, min(40, int((hi - lo) / 0.1) + 1)))
        reserve = self.reserve[obj.id]
        centred = any(rule is None for _, rule in self.incoming[obj.id]) or (
            reserve is not None and reserve[0] > 0 and reserve[1] > 0)
        if centred:
            key = np.abs(samples - (lo + hi) / 2.0)
        else:  # distance from the zone's end to the nearer end of the wall
            zone = self.reserve_zone(obj, me)
            shift, reach = float((zone.center[0] - me.center[0]) @ axis), float(zone.extent(axis)[0])
            key = np.minimum(samples + shift - reach, length - (samples + shift + reach))
        ordered = samples[np.argsort(key, kind="stable")]
        along = [float(np.clip(a, lo, hi)) for a in aligned] + ordered.tolist()
        # snapping sets the other coordinate
        return [self.snap(obj, heading, (s, 0.0) if along_x else (0.0, s), wall) for s in along]

    def corner_spots(self, obj: TaskObject, heading: float, wall: str) -> list[tuple[float, float]]:
        """The two corners at the ends of ``wall``."""
        spots = []
        for other in PERPENDICULAR_WALLS[wall]:
            xy = self.snap(obj, heading, (self.room[0] / 2.0, self.room[1] / 2.0), wall)
            spots.append(self.snap(obj, heading, xy, other))
        return spots

    def middle_spots(self) -> list[tuple[float, float]]:
        """The room's centre, then a grid over the middle half of the room."""
        X, Y = self.room[0], self.room[1]
        rx, ry = INNER * X / 4.0, INNER * Y / 4.0
        xs, ys = np.linspace(X / 2.0 - rx, X / 2.0 + rx, 5), np.linspace(Y / 2.0 - ry, Y / 2.0 + ry, 5)
        grid = [(x, y) for x in xs for y in ys]
        return [(X / 2.0, Y / 2.0)] + sorted(grid, key=lambda p: math.hypot(p[0] - X / 2.0, p[1] - Y / 2.0))

    def grid_spots(self, obj: TaskObject, heading: float) -> list[tuple[float, float]]:
        """A grid of spots keeping the object's footprint inside the room, middle first.

        Spots in the open middle come first so that objects free to go anywhere leave the
        walls to the furniture that must stand against them.
        """
        ex, ey = self.half_extents(obj, heading)
        X, Y = self.room[0], self.room[1]
        step = max(0.05, math.sqrt(X * Y / GRID_POINTS))
        xs = np.arange(ex + WALL_GAP, X - ex - WALL_GAP + 1e-9, step)
        ys = np.arange(ey + WALL_GAP, Y - ey - WALL_GAP + 1e-9, step)
        spots = [(float(x), float(y)) for x in xs for y in ys]
        return sorted(spots, key=lambda p: math.hypot(p[0] - X / 2.0, p[1] - Y / 2.0))

    def poses_at(self, obj: TaskObject, heading: float, spots, placed: Mapping[str, Pose],
                 grid: bool = False) -> list[tuple]:
        """Full poses at the spots: each height that suits the object, facing its target exactly too."""
        heights = [obj.size[2] / 2.0] if grid and obj.mount is None else self.heights(obj, placed)
        facing = placed.get(obj.facing) if obj.facing in self.objects else None
        out = []
        for x, y in spots:
            for z in heights:
                out.append((x, y, z, heading))
                if facing is not None and math.hypot(facing.x - x, facing.y - y) > 1e-6:
                    out.append((x, y, z, math.degrees(math.atan2(facing.x - x, facing.y - y)) % 360.0))
        return out

    def heights(self, obj: TaskObject, placed: Mapping[str, Pose]) -> list[float]:
        """Centre heights: on the floor, on top of its support, flush on the ceiling or on a wall."""
        h, Z = obj.size[2], self.room[2]
        top = self._top_of
        if obj.mount == "ceiling":
            return [Z - h / 2.0 - CEILING_GAP]
        if obj.mount in WALLS:
            highest = Z - h / 2.0 - CEILING_GAP
            above = [r.target for r in obj.object_rules if r.preposition == "above" and r.target in placed]
            wanted = [top(t, placed) + gap + h / 2.0 for t in above for gap in ABOVE_CLEARANCES]
            wanted += [WALL_MOUNT_HEIGHT, Z * 0.5, highest]
            return list(dict.fromkeys(round(min(max(z, h / 2.0), highest), 4) for z in wanted))
        supports = [t for t in self.supports(obj) if t in placed]
        return [top(supports[0], placed) + h / 2.0] if supports else [h / 2.0]

    def _top_of(self, oid: str, placed: Mapping[str, Pose]) -> float:
        return placed[oid].z + self.objects[oid].size[2] / 2.0


# ----------------------------------------------------------------------------- the policy
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


def self_check(solver: LayoutSolver, layout: Mapping[str, Pose]) -> tuple[set[str], float]:
    """What the environment's static measures will blame in ``layout``, before any physics.

    Returns the objects to move (subjects of unmet rules, the later-placed object of each
    colliding pair, objects out of the room) and a badness score: a collision or an object out
    of the room outweighs any number of unmet rules, which count one each plus their size.
    """
    task = solver.task
    boxes = {oid: p.box(solver.objects[oid]) for oid, p in layout.items()}
    named: set[str] = set()
    badness = 0.0
    for rule in evaluate_rules(task, boxes):
        if not rule.satisfied:
            named.add(rule.subject)
            badness += RULE_MISS + 0.01 * rule.violation
    report = static_checks(task.size, boxes)
    for overlap in report.overlaps:
        pair = frozenset((overlap.a, overlap.b))
        if overlap.depth > (CONTACT_SLACK if pair in solver.contact_pairs else COLLISION_SLACK):
            named.add(max(pair, key=solver.order.index))
            badness += HARD
    for oid, out in report.out_of_room.items():
        if out.distance > BOUNDS_SLACK:
            named.add(oid)
            badness += HARD
    return named, badness


def ancestors(task: Task, oid: str) -> set[str]:
    """Every object ``oid``'s object rules lead to, transitively (its anchor chain)."""
    objects = {o.id: o for o in task.objects}
    out: set[str] = set()
    todo = [oid]
    while todo:
        for rule in objects[todo.pop()].object_rules:
            if rule.target not in out and rule.target != oid:
                out.add(rule.target)
                todo.append(rule.target)
    return out


def repair_layout(solver: LayoutSolver, layout: Mapping[str, Pose], named: set[str],
                  tabu: Tabu, named_before: Iterable[str] = ()) -> dict[str, Pose]:
    """Re-solve the ``named`` objects and their satellites around the rest of ``layout``.

    The poses that failed join ``tabu`` (so the next attempt differs). An object named again
    right after a repair had its chance: the anchors its rules lead to are re-solved with it,
    and barred from their old neighbourhood, because a chain (sink right of stove right of
    counter) that runs into a wall or a corner only fits when its first link moves.
    ``tabu`` is updated in place.
    """
    if not named:
        return dict(layout)
    for oid in named:
        tabu.setdefault(oid, []).append((layout[oid], TABU_RADIUS))
    roots = set(named)
    for oid in named & set(named_before):
        chain = ancestors(solver.task, oid)
        obj = solver.objects[oid]
        chain |= {obj.facing} & set(solver.objects)
        for anchor in chain:
            tabu.setdefault(anchor, []).append((layout[anchor], ANCHOR_TABU_RADIUS))
        roots |= chain
    redo = dependents(solver.task, roots)
    fixed = {oid: p for oid, p in layout.items() if oid not in redo}
    return solver.solve(fixed, redo, tabu)


def format_answer(layout: Mapping[str, Pose]) -> str:
    """The action text: ``<answer>[{"new_object_id", "x", "y", "z", "z_angle"}, ...]</answer>``."""
    entries = [{"new_object_id": oid, "x": round(p.x, 3), "y": round(p.y, 3), "z": round(p.z, 3),
                "z_angle": round(p.z_angle % 360.0, 3) % 360.0} for oid, p in layout.items()]
    return "<answer>" + json.dumps(entries) + "</answer>"
