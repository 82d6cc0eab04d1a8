"""The sofa group: a TV wall (stand and/or TV), a sofa facing it, a coffee table in front of the
sofa with armchairs beside it, a side table and a floor lamp at the sofa's ends, art above it
and, later, a rug under the coffee table."""

from __future__ import annotations

from dataclasses import dataclass

from ....geometry import WALL_FACING_INTO_ROOM, WALLS
from ..constants import OPPOSITE_WALL
from ..records import Placed, Spec
from ..room import Room
from .common import art_above, put_on


@dataclass(frozen=True)
class _LivingPlan:
    """What the group wants, drawn once before the sofa's positions are tried."""

    tv_wall: str
    far: str
    depth: float
    sofa_spec: Spec
    stand_spec: Spec
    tv_spec: Spec
    mode: str
    """``stand_on`` (TV on the stand), ``stand_wall`` (TV on the wall above a stand) or ``wall`` (no stand)."""
    ct_spec: Spec
    want_ct: bool
    n_arm: int
    arm_spec: Spec
    want_side: bool
    want_lamp: bool
    want_art: bool
    want_rug: bool

    @property
    def wanted(self) -> int:
        return 2 + (self.mode != "wall") + self.want_ct + self.n_arm + self.want_side + self.want_lamp + self.want_art


def _draw_plan(room: Room, sofa_cat: str) -> _LivingPlan:
    tv_wall = room.choice(WALLS)
    far = OPPOSITE_WALL[tv_wall]
    depth = room.wall_length("west_wall") if tv_wall in ("south_wall", "north_wall") else room.wall_length("south_wall")
    sofa_spec = room.spec(sofa_cat)
    stand_spec = room.spec("tv_stand")
    tv_spec = room.spec("tv")
    mode = room.choice(("stand_on", "stand_wall", "wall", "stand_wall"))
    ct_spec = room.spec("coffee_table")
    want_ct = room.p(0.85)
    n_arm = int(room.rng.choice([0, 1, 2], p=[0.4, 0.4, 0.2]))
    arm_spec = room.spec("armchair")
    want_side = room.p(0.45)
    want_lamp = room.p(0.4)
    want_art = room.p(0.5)
    want_rug = room.p(0.5)
    return _LivingPlan(
        tv_wall=tv_wall,
        far=far,
        depth=depth,
        sofa_spec=sofa_spec,
        stand_spec=stand_spec,
        tv_spec=tv_spec,
        mode=mode,
        ct_spec=ct_spec,
        want_ct=want_ct,
        n_arm=n_arm,
        arm_spec=arm_spec,
        want_side=want_side,
        want_lamp=want_lamp,
        want_art=want_art,
        want_rug=want_rug,
    )


def g_living(room: Room, sofa_cat: str = "sofa") -> int:
    """TV wall (stand and/or TV), a sofa facing it, coffee table, armchairs, side table, lamp, rug."""
    plan = _draw_plan(room, sofa_cat)
    ts = room.wall_ts(plan.tv_wall, max(plan.stand_spec.size[0], plan.sofa_spec.size[0]), 4, prefer="center")

    def trial(t) -> int | None:
        tv_wall = _tv_wall(room, plan, t)
        if tv_wall is None:
            return None
        score, stand, tv = tv_wall
        placed = _sofa(room, plan, t, stand, tv)
        if placed is None:
            return None
        sofa, against = placed
        score += 1
        ct = _coffee_table(room, plan, sofa)
        score += ct is not None
        if ct is not None and plan.n_arm:
            score += _armchairs(room, plan, ct, sofa)
        score += _sofa_ends(room, plan, sofa, against)
        if plan.want_art and against:
            score += art_above(room, sofa, sofa.size[0])
        if plan.want_rug and ct is not None:
            room.rug_requests.append((ct.key, "rug"))
        return score

    score = room.best_trial(ts, trial, plan.wanted, max_tries=6)
    return score or 0


def _tv_wall(room: Room, plan: _LivingPlan, t: float) -> tuple[int, Placed | None, Placed] | None:
    """The TV stand (unless ``wall`` mode) and the TV at ``t`` along the TV wall: (count, stand, tv), or None."""
    score = 0
    stand = tv = None
    if plan.mode != "wall":
        stand = room.at_wall(plan.stand_spec, plan.tv_wall, t)
        if not room.fits(stand):
            return None
        room.add(stand)
        room.layout(stand, plan.tv_wall)
        room.face_out(stand)
        score += 1
    if plan.mode == "stand_on":
        ts_ = room.clamp_spec(plan.tv_spec, stand.size[0] - 0.06, stand.size[1] - 0.06)
        tv = room.place(room.on_top_candidates(stand, ts_, "center"))
        if tv is not None:
            room.rule(tv, "on", stand, True)
    else:
        base = stand.top + room.u(0.12, 0.3) if stand is not None else room.u(0.75, 0.95)
        tv = room.mounted(plan.tv_spec, plan.tv_wall, t, base)
        if tv.hi[2] > room.Z - 0.1 or not room.fits(tv):
            tv = None
        else:
            room.add(tv)
            room.layout(tv, plan.tv_wall)
            if stand is not None:
                room.rule(tv, "above", stand, True)
    if tv is None:
        return None
    return score + 1, stand, tv


def _sofa(room: Room, plan: _LivingPlan, t: float, stand: Placed | None, tv: Placed) -> tuple[Placed, bool] | None:
    """The sofa facing the TV: against the far wall when the room is shallow enough, else floating.

    Returns (sofa, against the far wall), or None when it does not fit. Also turns the TV and
    stand to the sofa where they can."""
    sofa_spec = plan.sofa_spec
    sW = sofa_spec.size[1]
    dist = room.u(2.0, 3.2)
    against = plan.depth - sW <= dist + 0.9 or room.p(0.4)
    sofa_t = t + room.u(-0.1, 0.1)
    if against:
        sofa = room.at_wall(sofa_spec, plan.far, sofa_t)
    else:
        x, y = room.wall_point(plan.tv_wall, sofa_t, sW, dist)
        sofa = room.make(sofa_spec, x, y, sofa_spec.size[2] / 2, WALL_FACING_INTO_ROOM[plan.far])
    if not room.fits(sofa):
        return None
    room.add(sofa)
    if against:
        room.layout(sofa, plan.far)
    elif room.p(0.5):
        room.layout(sofa, "middle of the room")
    if not room.face(sofa, tv):
        room.face(sofa, plan.tv_wall)
    if stand is not None and room.p(0.5):
        room.rule(sofa, "in front", stand, False)
    room.face(tv, sofa) or room.face_out(tv)
    if stand is not None:
        room.face(stand, sofa) or room.face_out(stand)
    return sofa, against


def _coffee_table(room: Room, plan: _LivingPlan, sofa: Placed) -> Placed | None:
    """The coffee table in front of the sofa (when wanted and it fits), sometimes with a small item on it.

    The item is not counted in the group's score."""
    if not plan.want_ct:
        return None
    ct = room.beside(sofa, plan.ct_spec, "front", room.u(0.35, 0.5))
    if not room.fits(ct):
        return None
    room.add(ct)
    room.rule(ct, "in front", sofa, True)
    if room.p(0.4):
        put_on(room, ct, room.choice(("book_stack", "vase", "table_plant")), "any")
    return ct


def _armchairs(room: Room, plan: _LivingPlan, ct: Placed, sofa: Placed) -> int:
    """Armchairs left and/or right of the coffee table, turned to face it."""
    score = 0
    for side in room.shuffled(["left", "right"])[: plan.n_arm]:
        arm = room.beside(
            ct,
            plan.arm_spec,
            side,
            room.u(0.3, 0.5),
            heading=ct.heading + (90 if side == "left" else 270),
            zone_ok=(ct.key, sofa.key),
        )
        if room.fits(arm):
            room.add(arm)
            room.rule(arm, f"{side} of", ct, True)
            room.face(arm, ct)
            score += 1
    return score


def _sofa_ends(room: Room, plan: _LivingPlan, sofa: Placed, against: bool) -> int:
    """A side table (maybe with a lamp) at one end of the sofa and a floor lamp at the other."""
    score = 0
    sides = room.shuffled(["left", "right"])
    align = "back" if against else "center"
    if plan.want_side:
        st = room.beside(sofa, room.spec("side_table"), sides[0], room.u(0.04, 0.12), align=align)
        if room.fits(st):
            room.add(st)
            room.rule(st, f"{sides[0]} of", sofa, True)
            score += 1
            if room.p(0.6):
                score += put_on(room, st, "table_lamp", "center")
    if plan.want_lamp:
        fl = room.beside(sofa, room.spec("floor_lamp"), sides[1], room.u(0.04, 0.15), align=align)
        if room.fits(fl):
            room.add(fl)
            room.rule(fl, f"{sides[1]} of", sofa, True)
            score += 1
    return score
