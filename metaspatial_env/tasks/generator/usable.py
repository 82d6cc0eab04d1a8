"""A usable room: the reference layout meets every function rule (:mod:`metaspatial_env.function`:
door clearance zones free, nothing tall before a window, every object's access side reachable
from a door, front clearance for what opens or is sat at).

:func:`make_usable` places the room's doors and windows (:mod:`.openings`) and, when the reference
layout fails a rule with them,

1. tries the other free spots for each door (a door in a corner that the furniture closes off
   leaves the rest of the room unreachable), keeping the move only when fewer rules fail;
2. drops, one at a time, the object whose removal helps most (fewest rules failing, then the
   cheapest: fillers before the recipe's groups, those before the room's first group; an object
   goes with everything resting on it and a rug with nothing left on it), never the room's
   defining furniture (:data:`PROTECTED`) and never below the room's least object count;
3. gives up (None) when that is not enough; the driver then builds the room again at a fresh size.

Rooms that meet every rule come out exactly as they would without this step. Nothing here reads
the room's random stream: the door spots are tried in an order drawn from ``default_rng([seed, 2])``,
so a room stays a function of its seed.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ...function import FunctionReport, blocks_walking, evaluate_function, is_seat
from ...schema import Opening, Task
from .openings import openings_for
from .records import Placed, is_flat
from .room import Room

#: Categories whose first object defines the room type: never dropped.
PROTECTED: dict[str, tuple[str, ...]] = {
    "bedroom": ("bed",),
    "living_room": ("sofa", "sectional_sofa"),
    "dining_room": ("dining_table",),
    "kitchen": ("kitchen_counter", "sink_cabinet", "stove", "refrigerator"),
    "office": ("desk",),
    "kids_room": ("single_bed", "bunk_bed", "crib"),
    "studio": ("bed",),
    "library": ("bookshelf",),
    "art_studio": ("easel",),
    "home_theater": ("projector_screen", "recliner", "sectional_sofa", "sofa"),
}
#: What dropping an object costs, by what placed it (:attr:`.records.Placed.origin`).
ORIGIN_COST = {"filler": 1, "rug": 1, "recipe": 2, "core": 3}


def make_usable(room: Room, seed: int, min_objects: int = 1) -> list[dict[str, Any]] | None:
    """The room's openings (on-disk form) once its reference layout meets every function rule,
    dropping objects from ``room`` as needed; None when it cannot be made to (``room`` may then have
    lost objects, and is not to be used)."""
    probe = _Probe(room)
    openings = openings_for(room, seed)
    report = probe.evaluate(openings)
    if _fails(report) == 0:
        return [o.to_dict() for o in openings]
    moved = openings_for(room, seed, _DoorChooser(probe, seed))
    if moved != openings:
        moved_report = probe.evaluate(moved)
        if _fails(moved_report) < _fails(report):
            openings, report = moved, moved_report
    while _fails(report) > 0:
        step = _best_drop(room, probe, openings, report, min_objects)
        if step is None:
            return None
        drop, report = step
        _drop(room, drop)
        probe.keep -= drop
    return [o.to_dict() for o in openings]


def _fails(report: FunctionReport | None, kinds: tuple[str, ...] = ("door", "window", "access", "clearance")) -> int:
    return 0 if report is None else sum(not r.satisfied and r.kind in kinds for r in report.rules)


def _deficit(report: FunctionReport | None) -> float:
    return 0.0 if report is None else sum(1.0 - r.score for r in report.rules)


class _Probe:
    """The room as a task (ids by internal key), to evaluate the function rules on any subset of its
    objects with any openings."""

    def __init__(self, room: Room):
        counters: dict[str, int] = {}
        self.ids: dict[int, str] = {}
        for o in room.objs:
            counters[o.cat.name] = counters.get(o.cat.name, 0) + 1
            self.ids[o.key] = f"{o.cat.name}_{counters[o.cat.name]}"
        self.key_of = {oid: key for key, oid in self.ids.items()}
        self.boxes = {self.ids[o.key]: o.box for o in room.objs}
        self.objects = _task_objects(room, self.ids)
        self.task = Task(id="probe", room_type=room.room_type, size=(room.X, room.Y, room.Z), user_preference="",
                         objects=tuple(self.objects[o.key] for o in room.objs))
        self.order = [o.key for o in room.objs]
        self.keep = set(self.order)

    def evaluate(self, openings: list[Opening], keep: set[int] | None = None) -> FunctionReport | None:
        keep = self.keep if keep is None else keep
        objects = tuple(self.objects[k] for k in self.order if k in keep)
        task = dataclasses.replace(self.task, objects=objects, openings=tuple(openings))
        return evaluate_function(task, self.boxes, {o.id for o in objects})


def _task_objects(room: Room, ids: dict[int, str]):
    """Bare :class:`~metaspatial_env.schema.TaskObject` records (id, size, pose) for the probe."""
    data = {
        "room": {"id": "probe", "room_type": room.room_type, "size": {"x": room.X, "y": room.Y, "z": room.Z},
                 "user_preference": ""},
        "objects": [
            {
                "new_object_id": ids[o.key], "style": o.spec.style, "material": o.spec.material,
                "size_in_meters": {"length": o.size[0], "width": o.size[1], "height": o.size[2]},
                "is_on_the_floor": o.on_floor, "facing": None,
                "placement": {"room_layout_elements": [], "objects_in_room": []},
                "rotation": {"z_angle": o.heading},
            }
            for o in room.objs
        ],
    }
    task = Task.from_dict(data)
    return {o.key: task.objects[i] for i, o in enumerate(room.objs)}


class _DoorChooser:
    """For :func:`.openings.openings_for`: the free spot for the next door with which the fewest
    door, reach and clearance rules fail (the one drawn when it is as good as any)."""

    KINDS = ("door", "access", "clearance")

    def __init__(self, probe: _Probe, seed: int):
        self.probe = probe
        self.seed = int(seed)

    def __call__(self, free: list[Opening], placed: list[Opening], drawn: Opening) -> Opening:
        doors = [o for o in placed if o.kind == "door"]
        best = _fails(self.probe.evaluate(doors + [drawn]), self.KINDS)
        if best == 0:
            return drawn
        # the reach from every free spot at once bounds what any one of them can do
        every = [dataclasses.replace(d, id=f"{d.id}_spot_{i}") for i, d in enumerate(free)]
        bound = _fails(self.probe.evaluate(doors + every), ("access",))
        bound += _fails(self.probe.evaluate(doors + [drawn]), ("clearance",))
        if bound >= best:
            return drawn
        choice = drawn
        order = np.random.default_rng([self.seed, 2, len(doors)]).permutation(len(free))
        for i in order:
            n = _fails(self.probe.evaluate(doors + [free[int(i)]]), self.KINDS)
            if n < best:
                best, choice = n, free[int(i)]
                if best <= bound:
                    break
        return choice


def _protected(room: Room) -> set[int]:
    keep: set[int] = set()
    for cat in PROTECTED.get(room.room_type, ()):
        first = next((o for o in room.objs if o.cat.name == cat), None)
        if first is not None:
            keep.add(first.key)
    return keep


def _closure(room: Room, keys: set[int]) -> set[int]:
    """``keys`` with everything resting on them (recursively) and the rugs left under nothing."""
    drop = set(keys)
    grew = True
    while grew:
        grew = False
        for o in room.objs:
            if o.key in drop:
                continue
            on = any(t in drop for t, p, _ in o.object_rules if p == "on")
            if on or (not o.on_floor and any(k in drop for k in o.allow)):
                drop.add(o.key)
                grew = True
    for o in room.objs:
        if o.key not in drop and is_flat(o):
            under = [t for t, p, _ in o.object_rules if p == "under"]
            if under and all(t in drop for t in under):
                drop.add(o.key)
    return drop


def _best_drop(room: Room, probe: _Probe, openings: list[Opening], report: FunctionReport, min_objects: int
               ) -> tuple[set[int], FunctionReport | None] | None:
    """The objects to drop next and the rules' outcome without them; None when no drop helps."""
    protected = _protected(room)
    by_key = {o.key: o for o in room.objs}
    named: set[int] = set()
    for r in report.rules:
        if not r.satisfied:
            named |= {probe.key_of[oid] for oid, _ in r.blockers if oid in probe.key_of}
            if r.kind in ("access", "clearance"):
                named.add(probe.key_of[r.subject])
    cands = [o for o in room.objs if o.key not in protected and (o.key in named or _obstacle(o))]
    current = (_fails(report), _deficit(report))
    rank = {k: i for i, k in enumerate(probe.order)}
    best = None
    seen: set[frozenset[int]] = set()
    for o in cands:
        unit = frozenset(_closure(room, {o.key}))
        if unit in seen or unit & protected or len(room.objs) - len(unit) < min_objects:
            continue
        seen.add(unit)
        rep = probe.evaluate(openings, probe.keep - unit)
        outcome = (_fails(rep), _deficit(rep))
        if outcome[0] > current[0] or (outcome[0] == current[0] and outcome[1] >= current[1] - 1e-9):
            continue
        cost = sum(ORIGIN_COST.get(by_key[k].origin, 2) for k in unit)
        key = (outcome[0], cost, outcome[1], -max(rank[k] for k in unit))
        if best is None or key < best[0]:
            best = (key, set(unit), rep)
    return None if best is None else (best[1], best[2])


def _obstacle(o: Placed) -> bool:
    """Whether a person walks round it (it can stand between a door and what it serves)."""
    return blocks_walking(o.box) and not is_seat(o.cat.name)


def _drop(room: Room, keys: set[int]) -> None:
    """Remove the objects and every rule that names them."""
    room.objs[:] = [o for o in room.objs if o.key not in keys]
    for o in room.objs:
        o.object_rules = [r for r in o.object_rules if r[0] not in keys]
        if isinstance(o.facing, int) and o.facing in keys:
            o.facing = None


__all__ = ["ORIGIN_COST", "PROTECTED", "make_usable"]
