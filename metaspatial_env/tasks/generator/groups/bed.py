"""The bed group: a bed against a wall with nightstands (and lamps on them) beside it, art above
it, a bench or toy chest at its foot and, later, a rug under it."""

from __future__ import annotations

from ....geometry import WALLS
from ..records import Placed, Spec
from ..room import Room
from .common import art_above


def g_bed(room: Room, cat: str = "bed") -> int:
    """A bed (``bed``, ``single_bed``, ``bunk_bed`` or ``crib``) and its satellites; returns how many placed."""
    spec = room.spec(cat)
    L = spec.size[0]
    kids = room.room_type == "kids_room"
    n_ns = int(room.rng.choice([0, 1, 2], p=[0.4, 0.5, 0.1] if kids else [0.12, 0.23, 0.65]))
    ns_spec = room.spec("nightstand")
    lamp_spec = room.spec("table_lamp")
    lamps = [room.p(0.6) for _ in range(2)]
    want_art = room.p(0.5)
    foot = "toy_chest" if kids else "bench"
    want_foot = room.p(0.35 if kids else 0.25) and cat != "crib"
    wanted = n_ns + sum(lamps[:n_ns]) + want_art + want_foot
    sides = room.shuffled(["left", "right"])[:n_ns]
    cands = [(w, t) for w in room.shuffled(WALLS) for t in room.wall_ts(w, L, 3, prefer="center")]

    def trial(c) -> int | None:
        w, t = c
        bed = room.at_wall(spec, w, t)
        if not room.fits(bed):
            return None
        room.add(bed)
        room.layout(bed, w)
        room.face_out(bed)
        score = _nightstands(room, bed, w, sides, lamps, ns_spec, lamp_spec)
        if want_art:
            score += art_above(room, bed, max_length=bed.size[0])
        if want_foot:
            score += _foot_piece(room, bed, foot)
        return score

    score = room.best_trial(cands, trial, wanted)
    if score is None:
        return 0
    bed = next(o for o in reversed(room.objs) if o.cat.name == cat)
    if room.p(0.45 if not room.dense else 0.3):
        room.rug_requests.append((bed.key, "rug"))
    return score + 1


def _nightstands(
    room: Room, bed: Placed, wall: str, sides: list[str], lamps: list[bool], ns_spec: Spec, lamp_spec: Spec
) -> int:
    """Nightstands on ``sides`` of the bed, lined up with its back, each with a table lamp when ``lamps`` says."""
    score = 0
    for i, side in enumerate(sides):
        ns = room.beside(bed, ns_spec, side, room.u(0.03, 0.12), align="back")
        if not room.fits(ns):
            continue
        room.add(ns)
        score += 1
        room.rule(ns, f"{side} of", bed, True)
        if room.p(0.7):
            room.layout(ns, wall)
        if room.p(0.4):
            room.face_out(ns)
        if lamps[i]:
            lamp_s = room.clamp_spec(lamp_spec, ns.size[0] - 0.06, ns.size[1] - 0.06)
            lamp = room.place(room.on_top_candidates(ns, lamp_s, "center"))
            if lamp is not None:
                room.rule(lamp, "on", ns, True)
                score += 1
    return score


def _foot_piece(room: Room, bed: Placed, cat: str) -> int:
    """A bench or toy chest in front of the bed, no longer than the bed is wide."""
    fs = room.spec(cat)
    fs = room.clamp_spec(fs, bed.size[0])
    ob = room.beside(bed, fs, "front", room.u(0.05, 0.2))
    if not room.fits(ob):
        return 0
    room.add(ob)
    room.rule(ob, "in front", bed, True)
    return 1
