"""Kitchen groups: the counter run along a wall (fridge, counters, sink, stove, dishwasher,
pantry) with a hood and wall cabinets above it, and an island with bar stools and pendants."""

from __future__ import annotations

from ....geometry import WALLS
from ..constants import WALL_GAP
from ..records import Placed, Spec, axes
from ..room import Room
from .common import mount_above, put_on


def g_kitchen_run(room: Room) -> int:
    """Counter run along a wall: fridge, counters, sink, stove, dishwasher; hood and wall cabinets above."""
    wall = room.choice(sorted(WALLS, key=room.wall_length, reverse=True)[:2])
    specs = [room.spec(m) for m in _run_modules(room)]
    length = room.wall_length(wall)
    while specs and sum(s.size[0] for s in specs) + 0.005 * len(specs) > length - 0.01:
        specs.pop()
    if not specs:
        return 0
    gap = 0.005
    total = sum(s.size[0] for s in specs) + gap * (len(specs) - 1)
    starts = [WALL_GAP, round(length - WALL_GAP - total, 4), round((length - total) / 2, 2)]
    want_upper = room.p(0.7)

    def trial(start):
        placed = _place_run(room, specs, wall, start, gap)
        if not placed:
            return None
        return len(placed) + _above_and_on_run(room, placed, want_upper)

    score = room.best_trial(starts, trial, len(specs) + 2, max_tries=3)
    return score or 0


def _run_modules(room: Room) -> list[str]:
    """The categories of the run, in order along the wall."""
    modules = ["refrigerator"] if room.p(0.85) else []
    middle = ["kitchen_counter", "sink_cabinet", "stove"]
    if room.room_type == "kitchen" and room.p(0.5):
        middle.insert(2, "dishwasher")
    middle = room.shuffled(middle[:2]) + middle[2:] if room.p(0.5) else middle
    modules += middle
    if room.p(0.6):
        modules.append("kitchen_counter")
    if room.room_type == "kitchen" and room.p(0.3):
        modules.append("pantry_cabinet")
    if room.p(0.5):
        modules.reverse()
    return modules


def _place_run(room: Room, specs: list[Spec], wall: str, start: float, gap: float) -> list[Placed]:
    """The modules side by side from ``start`` along ``wall`` (a module that does not fit leaves its slot empty)."""
    pos = start
    prev = None
    placed: list[Placed] = []
    for s in specs:
        if room.left() < 1:
            break
        obj = room.at_wall(s, wall, round(pos + s.size[0] / 2, 4))
        pos += s.size[0] + gap
        if not room.fits(obj):
            prev = None
            continue
        room.add(obj)
        placed.append(obj)
        if not (obj is placed[0] and room.p(0.3) and room.corner_layout(obj)):
            room.layout(obj, wall)
        if room.p(0.5):
            room.face_out(obj)
        if prev is not None:
            side = room.side_of(obj, prev)
            if side is not None:
                room.rule(obj, side, prev, True)
        prev = obj
    return placed


def _above_and_on_run(room: Room, placed: list[Placed], want_upper: bool) -> int:
    """A range hood above the stove, wall cabinets above counters and sinks, an item on a counter."""
    score = 0
    for obj in placed:
        name = obj.cat.name
        if room.left() < 1:
            break
        if name == "stove" and room.p(0.8):
            score += mount_above(room, obj, "range_hood", room.u(0.65, 0.75))
        elif name in ("kitchen_counter", "sink_cabinet") and want_upper and room.p(0.6):
            score += mount_above(room, obj, "wall_cabinet", room.u(0.5, 0.6))
        if name == "kitchen_counter" and room.p(0.4):
            score += put_on(room, obj, room.choice(("microwave", "fruit_bowl", "table_plant")), "any")
    return score


def g_island(room: Room) -> int:
    """A kitchen island near the middle of the room with bar stools in front and pendant lights above."""
    spec = room.spec("kitchen_island")
    stool = room.spec("bar_stool")
    n = int(room.rng.integers(2, 5))
    n_pend = int(room.rng.integers(0, 3))
    gap = room.u(0.15, 0.3)

    def trial(c):
        (x, y), h = c
        isl = room.make(spec, x, y, spec.size[2] / 2, h)
        if not room.fits(isl):
            return None
        room.add(isl)
        room.layout(isl, "middle of the room")
        return _stools(room, isl, stool, n, gap) + _pendants(room, isl, n_pend)

    cands = []
    for _ in range(6):
        cands.append(
            (
                (round(room.X / 2 + room.u(-0.3, 0.3), 2), round(room.Y / 2 + room.u(-0.3, 0.3), 2)),
                room.choice((0.0, 90.0, 180.0, 270.0)),
            )
        )
    score = room.best_trial(cands, trial, n + n_pend, max_tries=6)
    return 0 if score is None else score + 1


def _stools(room: Room, isl: Placed, stool: Spec, n: int, gap: float) -> int:
    """Up to ``n`` stools (as many as the island's length takes) in front of it, facing it."""
    score = 0
    k = max(1, min(n, int(isl.size[0] // (stool.size[0] + 0.15))))
    for i in range(k):
        off = ((i + 0.5) / k - 0.5) * (isl.size[0] - stool.size[0]) * 0.9 if k > 1 else 0.0
        s = room.beside(isl, stool, "front", gap, offset=round(off, 3), heading=isl.heading + 180)
        if room.fits(s):
            room.add(s)
            room.rule(s, "in front", isl, True)
            room.face(s, isl)
            score += 1
    return score


def _pendants(room: Room, isl: Placed, n_pend: int) -> int:
    """``n_pend`` pendant lights on the ceiling, spread along the island above it."""
    score = 0
    for i in range(n_pend):
        off = ((i + 0.5) / n_pend - 0.5) * isl.size[0] * 0.6 if n_pend > 1 else 0.0
        _, (rx, ry) = axes(isl.heading)
        ps = room.spec("pendant_light")
        p = room.at_ceiling(ps, isl.x + off * rx, isl.y + off * ry)
        if room.fits(p):
            room.add(p)
            room.layout(p, "ceiling")
            room.rule(p, "above", isl, False)
            score += 1
    return score
