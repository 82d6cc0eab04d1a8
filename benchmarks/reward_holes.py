"""Reward integrity: layouts a person would reject, made by changing one object of a good layout.

Each *hole* is a one-object change to a room's reference layout (which satisfies every rule:
a successful layout, total 1.0): a wardrobe stacked on the bed beside it, a bookcase standing on
a picture, a wardrobe turned to face its wall, an answer padded with unknown ids, the largest
floor object floating 1 m up ... For every room of a split and every object the change applies
to, the layout is scored as the env scores a step (:func:`~metaspatial_env.scoring.evaluate_layout`,
PyBullet settle included) and the script counts how many variants still *succeed* and how many
lower the total by at least :data:`GROSS_DROP` from the room's unchanged layout.

    python -m benchmarks.reward_holes [--split test] [--first-only] [--out results.json]

Every hole should succeed 0 times; the gross errors (:data:`GROSS`: floating, inside another,
half through a wall) should lower the total by 0.1 or more on at least 95 % of rooms
(DESIGN.md section 6). ``tests/test_reward_holes.py`` runs the first variant of each room.
The script uses only the env's public scoring API, so it also measures older checkouts
(``PYTHONPATH=/path/to/old/checkout python benchmarks/reward_holes.py``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from metaspatial_env.actions import parse_action
from metaspatial_env.geometry import WALL_FACING_INTO_ROOM, WALL_INWARD_NORMAL, WALLS, Box, wall_gap
from metaspatial_env.physics import PhysicsWorld
from metaspatial_env.reward import RewardConfig
from metaspatial_env.schema import Task, TaskObject
from metaspatial_env.scoring import evaluate_layout
from metaspatial_env.tasks import load_split
from metaspatial_env.tasks.catalog import CATEGORIES

#: The drop in total one gross error must cause.
GROSS_DROP = 0.1
#: Holes whose total must drop by GROSS_DROP (on at least 95 % of rooms).
GROSS = ("floating", "inside_another", "half_through_wall")
#: Thickest object that counts as a floor covering (the env's ``relations.CARPET_HEIGHT``, written
#: out because older checkouts, which this script also measures, lack the constant).
CARPET = 0.03

Pose = list[float]  # x, y, z, z_angle
Layout = dict[str, Pose]


@dataclass(frozen=True)
class Variant:
    """One changed layout: which object changed, the poses, and extra answer entries."""

    object_id: str
    layout: Layout
    extra: tuple[dict, ...] = ()


# ----------------------------------------------------------------------------- helpers
def reference(task: Task) -> Layout:
    return {oid: [p["x"], p["y"], p["z"], p["z_angle"]] for oid, p in task.reference_layout.items()}


def box(task: Task, oid: str, pose: Pose) -> Box:
    return Box(task.object(oid).size, tuple(pose[:3]), pose[3])


def top(task: Task, oid: str, pose: Pose) -> float:
    return pose[2] + task.object(oid).size[2] / 2.0


def wall_of(obj: TaskObject) -> str | None:
    return next((r.element for r in obj.layout_rules if r.element in WALLS), None)


def has_front(obj: TaskObject) -> bool:
    """From the catalog, so that checkouts whose schema has no ``has_front`` get the same variants."""
    category = CATEGORIES.get(obj.category)
    return category.has_front if category is not None else True


def standing(obj: TaskObject) -> bool:
    """On the floor, not on another object, not a rug."""
    return (obj.on_floor and obj.size[2] > CARPET and not any(r.preposition == "on" for r in obj.object_rules)
            and obj.mount is None)


def along(wall: str) -> int:
    """Index of the coordinate that runs along a wall (0 = x, 1 = y)."""
    return 0 if wall in ("south_wall", "north_wall") else 1


def snapped(task: Task, oid: str, pose: Pose, wall: str, gap: float) -> Pose:
    """``pose`` moved perpendicular to ``wall`` so its footprint stands ``gap`` from it."""
    pose = list(pose)
    now = wall_gap(box(task, oid, pose), wall, task.size)
    nx, ny = WALL_INWARD_NORMAL[wall]
    pose[0] += nx * (gap - now)
    pose[1] += ny * (gap - now)
    return pose


def fits(task: Task, oid: str, pose: Pose) -> bool:
    """Under the ceiling and, seen from above, inside the room."""
    lo, hi = box(task, oid, pose).aabb()
    inside = lo[0] >= -1e-6 and lo[1] >= -1e-6 and hi[0] <= task.size[0] + 1e-6 and hi[1] <= task.size[1] + 1e-6
    return inside and top(task, oid, pose) <= task.size[2] - 1e-6


# ----------------------------------------------------------------------------- the holes
def stacked(task: Task, base: Layout) -> Iterator[Variant]:
    """A floor object against a wall stacked on another floor object along the same wall."""
    for a in task.objects:
        wall = wall_of(a)
        if not standing(a) or wall is None:
            continue
        for b in task.objects:
            if b.id == a.id or not standing(b) or wall_of(b) != wall:
                continue
            pose = list(base[a.id])
            pose[along(wall)] = base[b.id][along(wall)]
            pose[2] = top(task, b.id, base[b.id]) + a.size[2] / 2.0
            if fits(task, a.id, pose):
                yield Variant(a.id, base | {a.id: pose})


def on_fixture(task: Task, base: Layout) -> Iterator[Variant]:
    """A floor object standing on a wall-mounted fixture, back to that wall."""
    for m in task.objects:
        wall = m.mount
        if wall not in WALLS:
            continue
        for a in task.objects:
            if not standing(a):
                continue
            pose = list(base[a.id])
            pose[3] = WALL_FACING_INTO_ROOM[wall]
            pose[along(wall)] = base[m.id][along(wall)]
            pose[2] = top(task, m.id, base[m.id]) + a.size[2] / 2.0
            pose = snapped(task, a.id, pose, wall, 0.01)
            if fits(task, a.id, pose):
                yield Variant(a.id, base | {a.id: pose})


def _turned(task: Task, base: Layout, degrees: float) -> Iterator[Variant]:
    for a in task.objects:
        wall = wall_of(a) if a.on_floor else None
        if wall is None or not has_front(a):
            continue
        gap = wall_gap(box(task, a.id, base[a.id]), wall, task.size)
        pose = list(base[a.id])
        pose[3] = (pose[3] + degrees) % 360.0
        yield Variant(a.id, base | {a.id: snapped(task, a.id, pose, wall, gap)})


def facing_wall(task: Task, base: Layout) -> Iterator[Variant]:
    """An object with a front against a wall, turned to face the wall."""
    return _turned(task, base, 180.0)


def end_on(task: Task, base: Layout) -> Iterator[Variant]:
    """The same turned 90 degrees, end-on to the wall, sticking into the room."""
    return _turned(task, base, 90.0)


def corner_on(task: Task, base: Layout) -> Iterator[Variant]:
    """The same at 45 degrees, one corner touching the wall."""
    return _turned(task, base, 45.0)


def padded(task: Task, base: Layout) -> Iterator[Variant]:
    """A complete answer padded with an unknown id and a duplicate entry."""
    first = task.objects[0].id
    x, y, z, a = base[first]
    ghost = {"new_object_id": "ghost_object_1", "x": x, "y": y, "z": z, "z_angle": a}
    yield Variant(first, base, (ghost, {"new_object_id": first, "x": x, "y": y, "z": z, "z_angle": a}))


def floating(task: Task, base: Layout) -> Iterator[Variant]:
    """The largest floor object floating 1 m up (or as high as the ceiling allows)."""
    floor = [o for o in task.objects if standing(o)]
    if not floor:
        return
    a = max(floor, key=lambda o: o.volume)
    pose = list(base[a.id])
    pose[2] += min(1.0, task.size[2] - top(task, a.id, pose) - 0.01)
    yield Variant(a.id, base | {a.id: pose})


def inside_another(task: Task, base: Layout) -> Iterator[Variant]:
    """A floor object fully inside a larger one (a plant inside the sofa)."""
    for big in sorted(task.objects, key=lambda o: -o.volume):
        if not standing(big):
            continue
        for small in sorted(task.objects, key=lambda o: o.volume):
            if small.id == big.id or not standing(small) or small.size[2] > big.size[2]:
                continue
            for turn in (0.0, 90.0):
                length, width = small.size[:2] if turn == 0.0 else small.size[1::-1]
                if length <= big.size[0] and width <= big.size[1]:
                    bx, by, _, ba = base[big.id]
                    pose = [bx, by, small.size[2] / 2.0, (ba + turn) % 360.0]
                    yield Variant(small.id, base | {small.id: pose})
                    break


def half_through_wall(task: Task, base: Layout) -> Iterator[Variant]:
    """A floor object against a wall pushed out through it by half its depth."""
    for a in task.objects:
        wall = wall_of(a)
        if not standing(a) or wall is None:
            continue
        b = box(task, a.id, base[a.id])
        lo, hi = b.aabb()
        depth = float(hi[1 - along(wall)] - lo[1 - along(wall)])
        yield Variant(a.id, base | {a.id: snapped(task, a.id, base[a.id], wall, -depth / 2.0)})


def rug_draped(task: Task, base: Layout) -> Iterator[Variant]:
    """A rug draped over the largest floor object and out through the nearest wall."""
    rugs = [o for o in task.objects if o.on_floor and o.size[2] <= CARPET]
    floor = [o for o in task.objects if standing(o)]
    if not rugs or not floor:
        return
    big = max(floor, key=lambda o: o.volume)
    for rug in rugs:
        pose = [base[big.id][0], base[big.id][1], top(task, big.id, base[big.id]) + rug.size[2] / 2.0,
                base[rug.id][3]]
        wall = min(WALLS, key=lambda w: wall_gap(box(task, rug.id, pose), w, task.size))
        lo, hi = box(task, rug.id, pose).aabb()
        depth = float(hi[1 - along(wall)] - lo[1 - along(wall)])
        yield Variant(rug.id, base | {rug.id: snapped(task, rug.id, pose, wall, -depth / 4.0)})


def support_missed(task: Task, base: Layout) -> Iterator[Variant]:
    """An object that belongs on another (a lamp on its nightstand) left on the floor beside it."""
    for a in task.objects:
        support = next((r.target for r in a.object_rules if r.preposition == "on"), None)
        if support is None:
            continue
        s = box(task, support, base[support])
        reach = max(a.size[0], a.size[1]) / 2.0 + max(s.size[0], s.size[1]) / 2.0 + 0.05
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            pose = [s.center[0] + dx * reach, s.center[1] + dy * reach, a.size[2] / 2.0, base[a.id][3]]
            lo, hi = box(task, a.id, pose).aabb()
            if lo[0] >= 0 and lo[1] >= 0 and hi[0] <= task.size[0] and hi[1] <= task.size[1]:
                yield Variant(a.id, base | {a.id: pose})
                break


HOLES: dict[str, Callable[[Task, Layout], Iterator[Variant]]] = {
    "stacked": stacked,
    "on_fixture": on_fixture,
    "facing_wall": facing_wall,
    "end_on": end_on,
    "corner_on": corner_on,
    "padded": padded,
    "floating": floating,
    "inside_another": inside_another,
    "rug_draped": rug_draped,
    "support_missed": support_missed,
    "half_through_wall": half_through_wall,
}


# ----------------------------------------------------------------------------- scoring
def answer(layout: Layout, extra: tuple[dict, ...] = ()) -> str:
    entries = [{"new_object_id": oid, "x": p[0], "y": p[1], "z": p[2], "z_angle": p[3]} for oid, p in layout.items()]
    return json.dumps(entries + list(extra))


def score(task: Task, layout: Layout, world: PhysicsWorld, cfg: RewardConfig,
          extra: tuple[dict, ...] = ()):
    """The env's evaluation of an answer giving ``layout`` (and ``extra`` entries)."""
    parse = parse_action(answer(layout, extra), task.object_ids)
    boxes = {o.id: Box(o.size, (p.x, p.y, p.z), p.z_angle if p.z_angle is not None else o.z_angle)
             for o in task.objects for p in [parse.placements[o.id]]}
    return evaluate_layout(task, boxes, set(parse.placements), parse, world, cfg)


@dataclass
class Tally:
    """Counts of one hole over a split."""

    rooms: int = 0
    variants: int = 0
    successes: int = 0
    dropped_rooms: int = 0
    """Rooms where every variant lowered the total by at least GROSS_DROP."""
    min_drop: float = math.inf

    def row(self) -> dict:
        return {"rooms": self.rooms, "variants": self.variants, "successes": self.successes,
                "rooms_total_drop_0.1": self.dropped_rooms,
                "min_drop": None if math.isinf(self.min_drop) else round(self.min_drop, 4)}


def measure(tasks: list[Task], first_only: bool = False) -> dict[str, Tally]:
    """Every hole over ``tasks``: successes and total drops against each room's unchanged layout
    (the ``reference`` row counts those: each should succeed)."""
    cfg = RewardConfig()
    tallies = {"reference": Tally()} | {name: Tally() for name in HOLES}
    with PhysicsWorld() as world:
        for task in tasks:
            base = reference(task)
            unchanged = score(task, base, world, cfg)
            base_total = unchanged.total
            tallies["reference"].rooms += 1
            tallies["reference"].variants += 1
            tallies["reference"].successes += bool(unchanged.success)
            for name, hole in HOLES.items():
                drops = []
                for variant in hole(task, base):
                    evaluation = score(task, variant.layout, world, cfg, variant.extra)
                    tallies[name].variants += 1
                    tallies[name].successes += bool(evaluation.success)
                    drops.append(base_total - evaluation.total)
                    if first_only:
                        break
                if drops:
                    tallies[name].rooms += 1
                    tallies[name].dropped_rooms += min(drops) >= GROSS_DROP
                    tallies[name].min_drop = min(tallies[name].min_drop, min(drops))
    return tallies


def _write_json(path: str, data: dict) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", default="test")
    parser.add_argument("--first-only", action="store_true", help="one variant per room and hole")
    parser.add_argument("--out", help="write the counts as JSON here")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    tasks = list(load_split(args.split))
    tallies = measure(tasks, args.first_only)
    print(f"{'hole':<18} {'rooms':>5} {'variants':>8} {'success':>7} {'drop>=0.1 rooms':>15} {'min drop':>8}")
    for name, t in tallies.items():
        row = t.row()
        print(f"{name:<18} {t.rooms:>5} {t.variants:>8} {t.successes:>7} {t.dropped_rooms:>15} "
              f"{row['min_drop'] if row['min_drop'] is not None else '-':>8}")
    elapsed = time.perf_counter() - start
    print(f"{len(tasks)} rooms of {args.split!r} in {elapsed:.0f} s ({platform.processor() or platform.machine()})",
          file=sys.stderr)
    if args.out:
        _write_json(args.out, {"split": args.split, "first_only": args.first_only,
                               "holes": {name: t.row() for name, t in tallies.items()}})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
