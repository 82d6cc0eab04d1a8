"""The desk group: a desk against a wall with a monitor and a lamp on it, a chair in front facing
it, a side piece (filing cabinet, bookshelf ...) beside it and art or a shelf above it."""

from __future__ import annotations

from ....geometry import WALLS
from ...catalog import CATEGORIES
from ..records import Placed, Spec
from ..room import Room
from .common import art_above, put_on


def g_desk(room: Room, desk_cat: str = "desk", chair_cat: str = "office_chair") -> int:
    """A desk (or drafting table) and its satellites; returns how many placed."""
    spec = room.spec(desk_cat)
    chair_spec = room.spec(chair_cat)
    want_chair = room.p(0.9)
    want_monitor = room.p(0.5) and room.room_type in ("office", "studio", "bedroom", "kids_room", "library")
    want_lamp = room.p(0.5)
    side_cat = room.choice(("filing_cabinet", "bookshelf", "trash_can", "storage_cabinet", None, None))
    if side_cat is not None and room.room_type not in CATEGORIES[side_cat].room_types:
        side_cat = None
    want_art = room.p(0.3)
    wanted = want_chair + want_monitor + want_lamp + (side_cat is not None) + want_art
    cands = [(w, t) for w in room.shuffled(WALLS) for t in room.wall_ts(w, spec.size[0], 3)]

    def trial(c):
        w, t = c
        desk = room.at_wall(spec, w, t)
        if not room.fits(desk):
            return None
        room.add(desk)
        room.layout(desk, w)
        if room.p(0.5):
            room.face_out(desk)
        score = 0
        if want_monitor:
            score += put_on(room, desk, "computer_monitor", "back")
        if want_lamp:
            score += put_on(room, desk, "desk_lamp", "back_corner")
        if want_chair:
            score += _desk_chair(room, desk, chair_spec)
        if side_cat is not None:
            score += _side_piece(room, desk, w, side_cat)
        if want_art:
            score += art_above(room, desk, desk.size[0], room.choice(("wall_art", "wall_shelf", "wall_art")))
        return score

    score = room.best_trial(cands, trial, wanted)
    return 0 if score is None else score + 1


def _desk_chair(room: Room, desk: Placed, chair_spec: Spec) -> int:
    """A chair in front of the desk, turned to face it."""
    chair = room.beside(
        desk, chair_spec, "front", room.u(0.02, 0.2), offset=room.u(-0.1, 0.1), heading=desk.heading + 180
    )
    if not room.fits(chair):
        return 0
    room.add(chair)
    room.rule(chair, "in front", desk, True)
    room.face(chair, desk)
    return 1


def _side_piece(room: Room, desk: Placed, wall: str, cat: str) -> int:
    """A ``cat`` left or right of the desk against the same wall (a printer on a filing cabinet)."""
    side = room.choice(("left", "right"))
    ss = room.spec(cat)
    obj = room.beside(desk, ss, side, room.u(0.03, 0.15), align="back")
    if not room.fits(obj):
        return 0
    room.add(obj)
    score = 1
    room.rule(obj, f"{side} of", desk, True)
    room.layout(obj, wall)
    if cat == "filing_cabinet" and room.p(0.5):
        score += put_on(room, obj, "printer", "center")
    return score
