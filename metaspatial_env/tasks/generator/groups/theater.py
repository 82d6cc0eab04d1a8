"""The home theater's screen wall: a projector screen (optionally above a media console), speakers
beside it, rows of recliners (or one sofa) facing it and a projector on the ceiling."""

from __future__ import annotations

from dataclasses import dataclass

from ....geometry import WALL_FACING_INTO_ROOM, WALLS
from ..constants import OPPOSITE_WALL
from ..records import Placed, Spec, axes
from ..room import Room


@dataclass(frozen=True)
class _TheaterPlan:
    """What the group wants, drawn once before the screen's positions are tried."""

    wall: str
    far: str
    screen_spec: Spec
    console: bool
    stand_spec: Spec
    seat_cat: str
    seat_spec: Spec
    n_row: int
    """Seats per row."""
    rows: int
    want_proj: bool
    want_speakers: bool
    sp_spec: Spec


def _draw_plan(room: Room) -> _TheaterPlan:
    wall = room.choice(WALLS)
    far = OPPOSITE_WALL[wall]
    screen_spec = room.spec("projector_screen")
    console = room.p(0.6)
    stand_spec = room.spec("tv_stand")
    seat_cat = room.choice(("recliner", "recliner", "sectional_sofa", "sofa"))
    seat_spec = room.spec(seat_cat)
    n_row = int(room.rng.integers(2, 5)) if seat_cat == "recliner" else 1
    rows = 2 if seat_cat == "recliner" and room.p(0.35) else 1
    want_proj = room.p(0.7)
    want_speakers = room.p(0.6)
    sp_spec = room.spec("speaker")
    return _TheaterPlan(
        wall=wall,
        far=far,
        screen_spec=screen_spec,
        console=console,
        stand_spec=stand_spec,
        seat_cat=seat_cat,
        seat_spec=seat_spec,
        n_row=n_row,
        rows=rows,
        want_proj=want_proj,
        want_speakers=want_speakers,
        sp_spec=sp_spec,
    )


def g_screen_wall(room: Room) -> int:
    """Home theater: projector screen (optionally above a media console), speakers, a projector, recliner rows."""
    plan = _draw_plan(room)
    ts = room.wall_ts(plan.wall, plan.screen_spec.size[0], 3, prefer="center")

    def trial(t):
        placed = _screen(room, plan, t)
        if placed is None:
            return None
        score, stand, screen = placed
        if plan.want_speakers:
            score += _speakers(room, plan, t, stand, screen)
        dist = room.u(2.2, 3.2)
        row_gap = room.u(0.3, 0.5)
        first, seated = _seat_rows(room, plan, t, screen, dist, row_gap)
        if first is None:
            return None
        score += seated
        if plan.want_proj:
            score += _projector(room, plan, t, dist, screen)
        return score

    score = room.best_trial(ts, trial, 20, max_tries=4)
    return score or 0


def _screen(room: Room, plan: _TheaterPlan, t: float) -> tuple[int, Placed | None, Placed] | None:
    """The console (when wanted and it fits) and the screen above it: (count, console, screen), or None."""
    score = 0
    stand = None
    if plan.console:
        stand = room.at_wall(plan.stand_spec, plan.wall, t)
        if room.fits(stand):
            room.add(stand)
            room.layout(stand, plan.wall)
            room.face_out(stand)
            score += 1
        else:
            stand = None
    bottom = (stand.top + room.u(0.15, 0.3)) if stand is not None else room.u(0.6, 0.9)
    ss = plan.screen_spec
    if bottom + ss.size[2] > room.Z - 0.1:
        ss = room.clamp_spec(ss, max_height=room.Z - 0.1 - bottom)
    screen = room.mounted(ss, plan.wall, t, bottom)
    if ss.size[2] < 1.0 or not room.fits(screen):
        return None
    room.add(screen)
    room.layout(screen, plan.wall)
    room.face_out(screen)
    if stand is not None:
        room.rule(screen, "above", stand, True)
    return score + 1, stand, screen


def _speakers(room: Room, plan: _TheaterPlan, t: float, stand: Placed | None, screen: Placed) -> int:
    """A speaker left and right: beside the console, or against the wall just past the screen's edges."""
    score = 0
    wall, sp_spec = plan.wall, plan.sp_spec
    for side in ("left", "right"):
        if stand is not None:
            sp = room.beside(stand, sp_spec, side, room.u(0.05, 0.2), align="back")
        else:
            _, (rx, ry) = axes(screen.heading)
            along = (1 if side == "right" else -1) * (screen.size[0] / 2 + 0.1 + sp_spec.size[0] / 2)
            tt = t + along * (rx if wall in ("south_wall", "north_wall") else ry)
            sp = room.at_wall(sp_spec, wall, round(tt, 4))
        if room.fits(sp):
            room.add(sp)
            room.layout(sp, wall)
            room.face_out(sp)
            if stand is not None:
                room.rule(sp, f"{side} of", stand, True)
            score += 1
    return score


def _seat_rows(
    room: Room, plan: _TheaterPlan, t: float, screen: Placed, dist: float, row_gap: float
) -> tuple[Placed | None, int]:
    """The seating rows, ``dist`` from the screen wall: (the front row's first seat, seats placed).

    The group fails (first seat None) unless the front row's first seat fits."""
    first = None
    score = 0
    sW = plan.seat_spec.size[1]
    for r in range(plan.rows):
        x0, y0 = room.wall_point(plan.wall, t, sW, dist + r * (sW + row_gap))
        first, placed = _seat_row(room, plan, screen, x0, y0, first, front_row=r == 0)
        score += placed
    return first, score


def _seat_row(
    room: Room, plan: _TheaterPlan, screen: Placed, x0: float, y0: float, first: Placed | None, *, front_row: bool
) -> tuple[Placed | None, int]:
    """One row centred on (x0, y0), facing the screen; each seat is declared beside its neighbour,
    and a row's first seat behind the front row's first. Returns (front row's first seat, seats placed)."""
    seat_spec, seat_cat = plan.seat_spec, plan.seat_cat
    sL = seat_spec.size[0]
    total = plan.n_row * sL + (plan.n_row - 1) * 0.05
    heading = WALL_FACING_INTO_ROOM[plan.far]
    _, (rx, ry) = axes(heading)
    prev = None
    score = 0
    for i in range(plan.n_row):
        off = -total / 2 + sL / 2 + i * (sL + 0.05)
        seat = room.make(
            seat_spec,
            x0 + off * rx,
            y0 + off * ry,
            seat_spec.size[2] / 2,
            heading,
            zone_ok=tuple(o.key for o in room.objs if o.cat.name == seat_cat),
        )
        if not room.fits(seat):
            continue
        room.add(seat)
        score += 1
        if not room.face(seat, screen):
            room.face(seat, plan.wall)
        if prev is not None:
            side = room.side_of(seat, prev)
            if side:
                room.rule(seat, side, prev, True)
        elif first is not None:
            room.rule(seat, "behind", first, True)
        if front_row and i == 0:
            first = seat
        prev = seat
    return first, score


def _projector(room: Room, plan: _TheaterPlan, t: float, dist: float, screen: Placed) -> int:
    """A ceiling projector a little behind the front row (short of the back wall), pointed at the screen."""
    wall = plan.wall
    pr = room.spec("projector")
    depth = room.wall_length("west_wall" if wall in ("south_wall", "north_wall") else "south_wall")
    x, y = room.wall_point(wall, t, pr.size[1], min(dist + 0.5, depth - 0.5))
    proj = room.at_ceiling(pr, x, y, WALL_FACING_INTO_ROOM[plan.far] + 180)
    if not room.fits(proj):
        return 0
    room.add(proj)
    room.layout(proj, "ceiling")
    room.face(proj, screen)
    return 1
