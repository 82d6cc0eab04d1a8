"""Small seating groups: a reading corner (armchair with a lamp or side table and an ottoman),
an easel with a stool, and a fireplace with armchairs turned to it."""

from __future__ import annotations

from ....geometry import WALLS
from ..records import axes
from ..room import Room
from .common import art_above, put_on


def g_reading_corner(room: Room, chair_cat: str = "armchair") -> int:
    """An armchair in a corner facing into the room, with a floor lamp or side table beside it."""
    spec = room.spec(chair_cat)
    extra = room.choice(("floor_lamp", "side_table", "floor_lamp"))
    want_ottoman = room.p(0.3)
    cands = []
    for w in room.shuffled(WALLS):
        cands += [(w, t) for t in room.wall_ts(w, spec.size[0], 0, prefer="corner")[:2]]

    def trial(c):
        w, t = c
        chair = room.at_wall(spec, w, t)
        if not room.fits(chair):
            return None
        room.add(chair)
        room.corner_layout(chair)
        room.face_out(chair)
        score = 0
        # put the extra on the open side (towards the middle of the wall)
        mid = room.wall_length(w) / 2
        (fx, fy), (rx, ry) = axes(chair.heading)
        toward_mid = (mid - t) * (rx if w in ("south_wall", "north_wall") else ry)
        side = "right" if toward_mid > 0 else "left"
        ex = room.beside(chair, room.spec(extra), side, room.u(0.05, 0.15), align="back")
        if room.fits(ex):
            room.add(ex)
            room.rule(ex, f"{side} of", chair, True)
            room.layout(ex, w)
            score += 1
            if extra == "side_table" and room.p(0.6):
                score += put_on(room, ex, room.choice(("table_lamp", "book_stack", "table_plant")))
        if want_ottoman:
            ot = room.beside(chair, room.spec("ottoman"), "front", room.u(0.1, 0.25))
            if room.fits(ot):
                room.add(ot)
                room.rule(ot, "in front", chair, True)
                score += 1
        return score

    score = room.best_trial(cands, trial, 1 + want_ottoman + (extra == "side_table"), max_tries=6)
    return 0 if score is None else score + 1


def g_easel(room: Room) -> int:
    """An easel facing a wall-free side of the room with a stool in front of it."""
    spec = room.spec("easel")
    stool = room.spec("stool")
    cands = []
    for _ in range(8):
        cands.append(((room.u(0.8, room.X - 0.8), room.u(0.8, room.Y - 0.8)), room.choice((0.0, 90.0, 180.0, 270.0))))

    def trial(c):
        (x, y), h = c
        e = room.make(spec, x, y, spec.size[2] / 2, h)
        if not room.fits(e):
            return None
        room.add(e)
        s = room.beside(e, stool, "front", room.u(0.3, 0.5), heading=h + 180)
        if room.fits(s):
            room.add(s)
            room.rule(s, "in front", e, True)
            room.face(s, e)
            room.face(e, s)
            return 1
        return 0

    score = room.best_trial(cands, trial, 1, max_tries=6)
    return 0 if score is None else score + 1


def g_fireplace(room: Room) -> int:
    """A fireplace on a wall, with wall art or a mirror above and armchairs facing it."""
    spec = room.spec("fireplace")
    n_arm = int(room.rng.integers(0, 3))
    arm = room.spec("armchair")
    cands = [(w, t) for w in room.shuffled(WALLS) for t in room.wall_ts(w, spec.size[0], 3, prefer="center")]

    def trial(c):
        w, t = c
        fp = room.at_wall(spec, w, t)
        if not room.fits(fp):
            return None
        room.add(fp)
        room.layout(fp, w)
        room.face_out(fp)
        score = 0
        if room.p(0.5):
            score += art_above(room, fp, fp.size[0], room.choice(("wall_art", "mirror")))
        if room.p(0.4):
            score += put_on(room, fp, room.choice(("vase", "table_plant")), "any")
        offs = [-1, 1] if n_arm == 2 else [room.choice((-1, 1))] * n_arm
        for s in offs:
            # armchairs on either side of the hearth, turned to the fire
            a = room.beside(
                fp, arm, "front", room.u(0.9, 1.3), offset=s * round(fp.size[0] / 2 - 0.05, 3), heading=fp.heading + 180
            )
            if room.fits(a):
                room.add(a)
                room.face(a, fp)
                room.rule(a, "in front", fp, False)
                score += 1
        return score

    score = room.best_trial(cands, trial, 1 + n_arm, max_tries=6)
    return 0 if score is None else score + 1
