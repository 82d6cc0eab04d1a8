"""What a task's scene graph says about each object, worked out once per task.

:func:`placement_order` puts anchors before their satellites; :class:`SceneGraph` holds the
rules that point at each object, the side reserve an anchor must leave for its satellites,
which objects stand on the floor or on carpets, and turns placed poses into
:class:`~metaspatial_env.geometry.Boxes`. The candidate generator, the cost model and the solver
(:mod:`.candidates`, :mod:`.cost`, :mod:`.solver`) build on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from metaspatial_env.geometry import Boxes
from metaspatial_env.schema import ObjectRule, Task, TaskObject

from .common import NEAR_GAPS, SIDES, THIN, Pose
from .repair import dependents


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


class SceneGraph:
    """The task's objects and the rules between them, as the solver reads them.

    ``incoming`` lists, per object, the rules of other objects that point at it (``None`` for a
    ``facing``), scored when that object is placed; ``reserve`` the floor its side satellites
    need; ``group`` the object and everything that hangs on it; ``slot`` the share of a target's
    side each satellite takes when several share it.
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

    def _top_of(self, oid: str, placed: Mapping[str, Pose]) -> float:
        return placed[oid].z + self.objects[oid].size[2] / 2.0

    def _carpet_pair(self, a: TaskObject, b: TaskObject) -> bool:
        return (self.is_thin(a) and self.stands_on_floor(b)) or (self.is_thin(b) and self.stands_on_floor(a))

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
        return Boxes.of(np.array([self.objects[i].size for i in ids]), poses)
