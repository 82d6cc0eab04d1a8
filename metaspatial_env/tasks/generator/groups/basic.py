"""Single-object groups: a piece against a wall (with items on top and art above), an object in
a corner, a wall-mounted item, a ceiling light, and a row of identical pieces along one wall."""

from __future__ import annotations

from ....geometry import WALLS
from ..records import Placed
from ..room import Room
from .common import art_above, put_on


def g_wall_piece(
    room: Room,
    cat: str,
    *,
    top_items: tuple[str, ...] = (),
    art_prob: float = 0.0,
    art_cat: str = "wall_art",
    corner_ok: bool = True,
) -> int:
    """A floor object with its back against a wall (wardrobe, dresser, bookshelf, sideboard ...)."""
    spec = room.spec(cat)
    cands = [(w, t) for w in room.shuffled(WALLS) for t in room.wall_ts(w, spec.size[0], 3)]
    for w, t in cands[:16]:
        obj = room.at_wall(spec, w, t)
        if room.fits(obj):
            room.add(obj)
            if corner_ok and room.p(0.5) and room.corner_layout(obj):
                pass
            else:
                room.layout(obj, w)
            if obj.cat.has_front and room.p(0.6):
                room.face_out(obj)
            n = 1
            for item in top_items:
                if room.p(0.6) and room.left() >= 1:
                    n += put_on(room, obj, item)
            if art_prob and room.p(art_prob):
                n += art_above(room, obj, obj.size[0], art_cat)
            return n
    return 0


def g_corner(room: Room, cat: str) -> int:
    """An object in a corner (plant, floor lamp, coat rack, globe ...)."""
    spec = room.spec(cat)
    cands = []
    for w in room.shuffled(WALLS):
        ts = room.wall_ts(w, spec.size[0], 0, prefer="corner")
        cands += [(w, t) for t in ts[:2]]
    for w, t in cands:
        obj = room.at_wall(spec, w, t)
        if room.fits(obj):
            room.add(obj)
            room.corner_layout(obj)
            if obj.cat.has_front:
                room.face_out(obj)
            return 1
    return 0


def g_wall_item(room: Room, cat: str, z_center: tuple[float, float] = (1.35, 1.6)) -> int:
    """A wall-mounted object at a height (wall art, clock, shelf, mirror, whiteboard)."""
    spec = room.spec(cat)
    H = spec.size[2]
    for w in room.shuffled(WALLS):
        for t in room.wall_ts(w, spec.size[0], 3)[:5]:
            zc = room.u(*z_center)
            zc = min(zc, room.Z - 0.15 - H / 2)
            obj = room.mounted(spec, w, t, zc - H / 2)
            if obj.lo[2] < 0.3:
                continue
            if room.fits(obj):
                room.add(obj)
                room.layout(obj, w)
                if obj.cat.has_front:
                    room.face_out(obj)
                return 1
    return 0


def g_ceiling_light(room: Room, cat: str = "ceiling_light", above: Placed | None = None) -> int:
    """A ceiling light near the middle of the room, or right above ``above`` (declared ``above`` it)."""
    spec = room.spec(cat)
    if above is not None:
        x, y = above.x, above.y
    else:
        x, y = round(room.X / 2 + room.u(-0.2, 0.2), 2), round(room.Y / 2 + room.u(-0.2, 0.2), 2)
    obj = room.at_ceiling(spec, x, y)
    if not room.fits(obj):
        return 0
    room.add(obj)
    room.layout(obj, "ceiling")
    if above is not None:
        room.rule(obj, "above", above, False)
    return 1


def g_row(room: Room, cat: str, n: int, *, top_items: tuple[str, ...] = (), chain: bool = True) -> int:
    """``n`` identical objects side by side against one wall (bookshelves, wardrobes)."""
    spec = room.spec(cat)
    gap = room.u(0.0, 0.05, 0.005)
    total = n * spec.size[0] + (n - 1) * gap
    cands = [(w, t) for w in room.shuffled(WALLS) for t in room.wall_ts(w, total, 3)]

    def trial(c):
        w, t = c
        start = t - total / 2 + spec.size[0] / 2
        prev = None
        placed = 0
        for i in range(n):
            obj = room.at_wall(spec, w, round(start + i * (spec.size[0] + gap), 4))
            if not room.fits(obj):
                break
            room.add(obj)
            placed += 1
            room.layout(obj, w)
            if room.p(0.4):
                room.face_out(obj)
            if prev is not None and chain:
                side = room.side_of(obj, prev)
                if side is not None:
                    room.rule(obj, side, prev, True)
            for item in top_items:
                if room.p(0.35):
                    placed += put_on(room, obj, item)
            prev = obj
        return placed or None

    score = room.best_trial(cands, trial, n, max_tries=8)
    return score or 0


def g_piano(room: Room) -> int:
    """A piano against a wall (never in a corner), sometimes with art above it."""
    return g_wall_piece(room, "piano", corner_ok=False, art_prob=0.3)
