"""The table group: a dining, meeting, kids', library or work table with chairs around it in
facing pairs, something on it, a light above it and, later, a rug under it."""

from __future__ import annotations

from ..records import Placed, Spec
from ..room import Room
from .basic import g_ceiling_light
from .common import put_on

#: Turn (degrees, added to the table's heading) of a chair on each side, so it faces the table.
_CHAIR_TURN = {"front": 180, "behind": 0, "left": 90, "right": 270}
_CHAIR_PREPOSITION = {"front": "in front", "behind": "behind", "left": "left of", "right": "right of"}


def g_seating_table(
    room: Room,
    table_cat: str,
    chair_cat: str,
    *,
    n_chairs: int | None = None,
    light: str | None = None,
    rug_prob: float = 0.4,
    centre: bool = True,
    top_items: tuple[str, ...] = ("fruit_bowl", "vase", "table_plant"),
) -> int:
    """A table (near the middle of the room, or anywhere when not ``centre``) with chairs around it facing it."""
    spec = room.spec(table_cat)
    chair_spec = room.spec(chair_cat)
    L, W, _ = spec.size
    cL, cW, _ = chair_spec.size
    per_side = max(1, min(4, int((L - 0.1) // (cL + 0.15))))
    ends = 1 if W >= cL + 0.1 else 0
    max_chairs = 2 * per_side + 2 * ends
    if n_chairs is None:
        n_chairs = int(room.rng.integers(2, max_chairs + 1))
    n_chairs = min(n_chairs, max_chairs)
    gap = room.u(0.04, 0.18)
    top = room.choice(top_items) if top_items and room.p(0.5) else None
    poses = _table_centres(room, centre)
    headings = room.shuffled([0.0, 90.0])
    seat_list = _seat_list(L, cL, per_side, ends, n_chairs)
    wanted = len(seat_list) + (light is not None) + (top is not None)

    def trial(c):
        (x, y), h = c
        table = room.make(spec, x, y, spec.size[2] / 2, h)
        if not room.fits(table):
            return None
        room.add(table)
        room.layout(table, "middle of the room")
        score = _chairs_around(room, table, chair_spec, seat_list, gap)
        if top is not None:
            score += put_on(room, table, top, "center")
        if light is not None:
            score += g_ceiling_light(room, light, above=table)
        return score

    cands = [(p, h) for p in poses for h in headings]
    score = room.best_trial(cands, trial, wanted, max_tries=8)
    if score is None:
        return 0
    table = next(o for o in reversed(room.objs) if o.cat.name == table_cat)
    if rug_prob and room.p(rug_prob):
        room.rug_requests.append((table.key, "play_mat" if room.room_type == "kids_room" and room.p(0.6) else "rug"))
    return score + 1


def _table_centres(room: Room, centre: bool) -> list[tuple[float, float]]:
    """Eight candidate table centres: jittered around the middle of the room, or anywhere 0.6 m from the walls."""
    poses: list[tuple[float, float]] = []
    for _ in range(8):
        if centre:
            jx, jy = room.u(-0.25, 0.25), room.u(-0.25, 0.25)
            poses.append((round(room.X / 2 + jx, 2), round(room.Y / 2 + jy, 2)))
        else:
            poses.append((room.u(0.6, room.X - 0.6), room.u(0.6, room.Y - 0.6)))
    return poses


def _seat_list(L: float, cL: float, per_side: int, ends: int, n_chairs: int) -> list[tuple[str, float]]:
    """(side, offset along the table) of each chair: facing pairs along the long sides, ends when needed."""
    long_offsets = [((i + 0.5) / per_side - 0.5) * (L - cL) * 0.9 if per_side > 1 else 0.0 for i in range(per_side)]
    # pair up sides so that chairs come in facing pairs
    order = []
    for i in range(per_side):
        order += [("front", long_offsets[i]), ("behind", long_offsets[i])]
    ends_l = [("left", 0.0), ("right", 0.0)] if ends else []
    if n_chairs % 2 == 1 or n_chairs > 2 * per_side:
        order = ends_l + order if n_chairs > 2 * per_side else order + ends_l
    return order[:n_chairs] if n_chairs <= len(order) else order


def _chairs_around(room: Room, table: Placed, chair_spec: Spec, seat_list: list[tuple[str, float]], gap: float) -> int:
    """The chairs of ``seat_list`` that fit, each facing the table; returns how many."""
    score = 0
    for side, off in seat_list:
        face_h = table.heading + _CHAIR_TURN[side]
        chair = room.beside(table, chair_spec, side, gap, offset=round(off, 3), heading=face_h)
        if room.fits(chair):
            room.add(chair)
            room.rule(chair, _CHAIR_PREPOSITION[side], table, True)
            room.face(chair, table)
            score += 1
    return score
