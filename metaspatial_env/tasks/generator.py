"""Procedural rooms: IDesign-style scene graphs built from a reference layout.

:func:`generate_task` draws one room from a seed (``numpy.random.default_rng(seed)``, no global
randomness, so the same seed always gives the same task). It works layout-first:

1. pick a room type, a size typical for it, a style and a target object count;
2. place anchors against walls or in the middle of the room (bed, sofa, desk, dining table,
   kitchen counter run, bookshelves ...), then satellites relative to them (nightstands left and
   right of the bed, a chair in front of the desk facing it, chairs around the table, a lamp on
   the nightstand, wall art above the sofa, a pendant light on the ceiling above the table, a rug
   under the coffee table ...), then fillers (plants in corners, lamps, wall art, shelves ...).
   Every candidate pose is checked against the room bounds, the poses already placed (no
   penetration except declared ``on``/``under`` pairs) and the clearance kept in front of beds,
   wardrobes, counters and the like; objects that do not fit are dropped;
3. emit only rules the layout satisfies: each rule is measured with
   :mod:`metaspatial_env.relations` on the placed boxes before it is written, and the finished
   task is re-measured with :func:`~metaspatial_env.relations.evaluate_rules` (every violation
   must be 0), re-checked for bounds and collisions, and rejected otherwise.

Conventions of the reference layout (``Task.reference_layout``): floor objects rest at
``z = height / 2``; an object ``on`` another rests on its top; wall-mounted objects are flush
against their wall (2 mm gap) at a sensible height; ceiling objects touch the ceiling (2 mm gap);
headings are 0/90/180/270 so they match the walls. Sizes are rounded to 1 cm (1 mm below 10 cm),
positions to 0.1 mm, so the rounded layout is the one that was checked.

Scene-graph conventions: an object against a wall gets ``{layout_element_id: <wall>,
preposition: "on"}`` (or ``in the corner``) and usually faces the opposite wall; wall-mounted and
ceiling objects, and objects ``on`` another, have ``is_on_the_floor: false``; ``facing`` names the
wall an object points at or the object it turns to (within the 30 degree tolerance of
:func:`~metaspatial_env.relations.facing_violation`), else null. A rug only overlaps objects that
stand wholly on it and is declared ``under`` each of them (so collision checks may exempt those
pairs); no other pair of boxes interpenetrates.

``dense=True`` packs 14-20 objects into the smaller rooms of a type (the ``hard`` split). The
object count is drawn in ``[min_objects, max_objects]``; the generator retries with fresh room
sizes until at least ``min_objects`` fit (``RuntimeError`` if 40 attempts fail, which the
bundled ranges never do).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..geometry import WALL_FACING_INTO_ROOM, WALLS, Box
from ..relations import evaluate_rules, facing_violation, layout_rule_violation, object_rule_violation
from .catalog import CATEGORIES, ROOM_TYPES, STYLE_COLOUR_PHRASES, STYLES, Category, pick_material, pick_style
from ..schema import LayoutRule, ObjectRule, Task

__all__ = ["ROOM_TYPES", "ROOM_SIZE_RANGES", "generate_task", "verify_reference_layout"]

#: (x range, y range) in metres per room type; a room is drawn in these and may be turned 90 degrees.
ROOM_SIZE_RANGES: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "bedroom": ((3.2, 5.5), (3.0, 4.8)),
    "living_room": ((4.0, 8.0), (3.6, 6.0)),
    "dining_room": ((3.4, 6.5), (3.2, 5.0)),
    "kitchen": ((3.0, 6.0), (2.8, 5.0)),
    "office": ((3.2, 7.5), (3.0, 6.0)),
    "kids_room": ((3.0, 5.0), (3.0, 4.5)),
    "studio": ((5.0, 8.0), (4.0, 6.0)),
    "library": ((3.6, 7.5), (3.4, 6.0)),
    "art_studio": ((4.0, 7.0), (3.5, 6.0)),
    "home_theater": ((4.2, 7.5), (3.8, 6.0)),
}
ROOM_HEIGHTS = (2.4, 2.5, 2.6, 2.7, 2.8, 2.9, 3.0, 3.2)

#: Gap between a wall-backed object and its wall, and between a ceiling object and the ceiling.
WALL_GAP = 0.002
CEILING_GAP = 0.002
#: Overlap (m) counted as penetration when placing.
_EPS = 1e-6
#: Depth of the clearance kept free in front of these categories (scaled down in dense rooms).
_FRONT_CLEARANCE = {
    "bed": 0.6,
    "single_bed": 0.5,
    "bunk_bed": 0.5,
    "crib": 0.4,
    "wardrobe": 0.7,
    "dresser": 0.6,
    "vanity_table": 0.5,
    "sofa": 0.45,
    "loveseat": 0.45,
    "sectional_sofa": 0.45,
    "desk": 0.6,
    "bookshelf": 0.5,
    "low_bookcase": 0.4,
    "sideboard": 0.5,
    "china_cabinet": 0.6,
    "tv_stand": 0.2,
    "kitchen_counter": 0.8,
    "sink_cabinet": 0.8,
    "stove": 0.8,
    "dishwasher": 0.8,
    "refrigerator": 0.8,
    "pantry_cabinet": 0.7,
    "fireplace": 0.5,
    "piano": 0.6,
    "filing_cabinet": 0.5,
    "storage_cabinet": 0.5,
    "toy_chest": 0.4,
    "canvas_rack": 0.5,
    "shoe_rack": 0.4,
    "easel": 0.5,
    "drafting_table": 0.5,
    "recliner": 0.3,
    "armchair": 0.25,
    "console_table": 0.3,
    "bar_cart": 0.3,
}
_OPPOSITE_WALL = {
    "south_wall": "north_wall",
    "north_wall": "south_wall",
    "west_wall": "east_wall",
    "east_wall": "west_wall",
}
_ROOM_PHRASES = {
    "bedroom": "bedroom",
    "living_room": "living room",
    "dining_room": "dining room",
    "kitchen": "kitchen",
    "office": "home office",
    "kids_room": "kids' room",
    "studio": "studio apartment",
    "library": "home library",
    "art_studio": "art studio",
    "home_theater": "home theater",
}
_STYLE_NAMES = {"scandinavian": "Scandinavian", "japandi": "Japandi", "art deco": "Art Deco"}


# ============================================================================ layout records
@dataclass(frozen=True)
class _Spec:
    """What an object is before it is placed: category, size, style and material."""

    cat: Category
    size: tuple[float, float, float]
    style: str
    material: str


@dataclass(eq=False)
class _Obj:
    """A placed object (poses are rounded on creation; ``key`` is an internal id)."""

    key: int
    spec: _Spec
    x: float
    y: float
    z: float
    heading: float
    on_floor: bool = True
    wall: str | None = None
    """The wall its back is against, if any."""
    allow: tuple[int, ...] = ()
    """Keys of objects it may overlap (declared on/under partners)."""
    zone_ok: tuple[int, ...] = ()
    """Keys of objects whose front clearance it may stand in (its anchors)."""
    layout_rules: list[tuple[str, str]] = field(default_factory=list)
    object_rules: list[tuple[int, str, bool]] = field(default_factory=list)
    facing: str | int | None = None
    lo: tuple[float, float, float] = (0.0, 0.0, 0.0)
    hi: tuple[float, float, float] = (0.0, 0.0, 0.0)
    zone: tuple[float, float, float, float] | None = None
    box: Box | None = None

    @property
    def cat(self) -> Category:
        return self.spec.cat

    @property
    def size(self) -> tuple[float, float, float]:
        return self.spec.size

    @property
    def top(self) -> float:
        return self.hi[2]


def _r4(v: float) -> float:
    return round(float(v), 4)


def _axes(heading: float) -> tuple[tuple[int, int], tuple[int, int]]:
    """(forward, right) unit vectors of an axis-aligned heading, as integers."""
    h = int(round(heading)) % 360
    return {0: ((0, 1), (1, 0)), 90: ((1, 0), (0, -1)), 180: ((0, -1), (-1, 0)), 270: ((-1, 0), (0, 1))}[h]


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return min(a1, b1) - max(a0, b0)


# ============================================================================ the room under construction
class _Room:
    """A room being laid out: placement primitives, collision checks and rule emission."""

    def __init__(
        self,
        rng: np.random.Generator,
        room_type: str,
        size: tuple[float, float, float],
        style: str,
        budget: int,
        dense: bool,
    ):
        self.rng = rng
        self.room_type = room_type
        self.X, self.Y, self.Z = size
        self.style = style
        self.budget = budget
        self.dense = dense
        self.objs: list[_Obj] = []
        self.rug_requests: list[tuple[int, str]] = []
        self._next_key = 0

    # ------------------------------------------------------------------ random helpers
    def u(self, lo: float, hi: float, step: float = 0.01) -> float:
        """Uniform in [lo, hi] rounded to ``step``."""
        v = float(self.rng.uniform(lo, max(lo, hi)))
        return round(round(v / step) * step, 4)

    def p(self, prob: float) -> bool:
        return bool(self.rng.random() < prob)

    def choice(self, seq):
        return seq[int(self.rng.integers(len(seq)))]

    def shuffled(self, seq) -> list:
        seq = list(seq)
        order = self.rng.permutation(len(seq))
        return [seq[i] for i in order]

    # ------------------------------------------------------------------ budget and bookkeeping
    def left(self) -> int:
        return self.budget - len(self.objs) - len(self.rug_requests)

    def count(self, cat_name: str) -> int:
        return sum(o.cat.name == cat_name for o in self.objs)

    def has(self, cat_name: str) -> bool:
        return any(o.cat.name == cat_name for o in self.objs)

    def spec(self, cat_name: str, size: tuple[float, float, float] | None = None) -> _Spec:
        cat = CATEGORIES[cat_name]
        size = size if size is not None else cat.sample_size(self.rng)
        return _Spec(cat, tuple(size), pick_style(cat, self.style, self.rng), pick_material(cat, self.style, self.rng))

    def clamp_spec(
        self,
        spec: _Spec,
        max_length: float | None = None,
        max_width: float | None = None,
        max_height: float | None = None,
    ) -> _Spec:
        L, W, H = spec.size
        if max_length is not None:
            L = min(L, math.floor(max_length * 100) / 100)
        if max_width is not None:
            W = min(W, math.floor(max_width * 100) / 100 if max_width >= 0.1 else math.floor(max_width * 1000) / 1000)
        if max_height is not None:
            H = min(H, math.floor(max_height * 100) / 100)
        return _Spec(spec.cat, (L, W, H), spec.style, spec.material)

    def mark(self) -> tuple[int, int]:
        return len(self.objs), len(self.rug_requests)

    def truncate(self, mark: tuple[int, int]) -> None:
        del self.objs[mark[0] :]
        del self.rug_requests[mark[1] :]

    def best_trial(
        self, candidates: Iterable[Any], trial: Callable[[Any], int | None], perfect: int, max_tries: int = 14
    ) -> int | None:
        """Run ``trial`` per candidate (each places an anchor and satellites and returns a score, or
        None when the anchor does not fit); keep the best-scoring placement. Stops early at ``perfect``."""
        mark = self.mark()
        best: tuple[int, list[_Obj], list] | None = None
        tries = 0
        for cand in candidates:
            if tries >= max_tries:
                break
            score = trial(cand)
            if score is not None:
                tries += 1
                if best is None or score > best[0]:
                    best = (score, self.objs[mark[0] :], self.rug_requests[mark[1] :])
            self.truncate(mark)
            if best is not None and best[0] >= perfect:
                break
        if best is None:
            return None
        self.objs.extend(best[1])
        self.rug_requests.extend(best[2])
        return best[0]

    # ------------------------------------------------------------------ poses
    def make(
        self,
        spec: _Spec,
        x: float,
        y: float,
        z: float,
        heading: float,
        *,
        on_floor: bool = True,
        wall: str | None = None,
        allow: tuple[int, ...] = (),
        zone_ok: tuple[int, ...] = (),
    ) -> _Obj:
        heading = float(int(round(heading)) % 360)
        obj = _Obj(self._next_key, spec, _r4(x), _r4(y), _r4(z), heading, on_floor, wall, tuple(allow), tuple(zone_ok))
        self._next_key += 1
        L, W, H = spec.size
        ex, ey = (L, W) if heading % 180 == 0 else (W, L)
        obj.lo = (obj.x - ex / 2, obj.y - ey / 2, obj.z - H / 2)
        obj.hi = (obj.x + ex / 2, obj.y + ey / 2, obj.z + H / 2)
        obj.box = Box(spec.size, (obj.x, obj.y, obj.z), heading)
        depth = _FRONT_CLEARANCE.get(spec.cat.name)
        if depth and on_floor:
            if self.dense:
                depth *= 0.6
            (fx, fy), _ = _axes(heading)
            cx, cy = obj.x + fx * (W / 2 + depth / 2), obj.y + fy * (W / 2 + depth / 2)
            zx, zy = (L, depth) if heading % 180 == 0 else (depth, L)
            obj.zone = (cx - zx / 2, cy - zy / 2, cx + zx / 2, cy + zy / 2)
        return obj

    def wall_length(self, wall: str) -> float:
        return self.X if wall in ("south_wall", "north_wall") else self.Y

    def wall_point(self, wall: str, t: float, depth: float, offset: float = 0.0) -> tuple[float, float]:
        """xy of a point at ``t`` along ``wall`` whose distance from the wall is ``offset + depth / 2``."""
        d = offset + depth / 2
        if wall == "south_wall":
            return t, d
        if wall == "north_wall":
            return t, self.Y - d
        if wall == "west_wall":
            return d, t
        return self.X - d, t

    def wall_t(self, wall: str, x: float, y: float) -> float:
        return x if wall in ("south_wall", "north_wall") else y

    def at_wall(
        self,
        spec: _Spec,
        wall: str,
        t: float,
        *,
        z: float | None = None,
        on_floor: bool = True,
        zone_ok: tuple[int, ...] = (),
        allow: tuple[int, ...] = (),
    ) -> _Obj:
        """Back against ``wall`` (2 mm gap), facing into the room, centred at ``t`` along the wall."""
        x, y = self.wall_point(wall, t, spec.size[1], WALL_GAP)
        z = spec.size[2] / 2 if z is None else z
        return self.make(
            spec, x, y, z, WALL_FACING_INTO_ROOM[wall], on_floor=on_floor, wall=wall, zone_ok=zone_ok, allow=allow
        )

    def wall_ts(self, wall: str, length: float, n_random: int = 5, prefer: str = "any") -> list[float]:
        """Candidate centre positions along a wall for an object of ``length``: corners, centre, random."""
        lo = WALL_GAP + length / 2
        hi = self.wall_length(wall) - WALL_GAP - length / 2
        if hi < lo - 1e-9:
            return []
        ends = [_r4(lo), _r4(hi)]
        mid = [round((lo + hi) / 2, 2)]
        rand = [self.u(lo, hi) for _ in range(n_random)] if hi > lo else []
        rand = [min(max(t, lo), hi) for t in rand]
        if prefer == "center":
            out = mid + self.shuffled(rand) + self.shuffled(ends)
        elif prefer == "corner":
            out = self.shuffled(ends) + self.shuffled(rand) + mid
        else:
            out = self.shuffled(mid + rand + ends)
        return out

    def beside(
        self,
        anchor: _Obj,
        spec: _Spec,
        side: str,
        gap: float,
        *,
        align: str = "center",
        offset: float = 0.0,
        heading: float | None = None,
        z: float | None = None,
        on_floor: bool = True,
        zone_ok: tuple[int, ...] | None = None,
    ) -> _Obj:
        """A pose on one side (``left``/``right``/``front``/``behind``, in the anchor's frame) of ``anchor``.

        ``align`` lines the object up with the anchor's ``back``, ``center`` or ``front`` (for
        left/right) or is ignored (front/behind use ``offset`` along the anchor's length).
        """
        heading = anchor.heading if heading is None else heading
        (fx, fy), (rx, ry) = _axes(anchor.heading)
        aL, aW, _ = anchor.size
        L, W, H = spec.size
        rel = int(round(heading - anchor.heading)) % 180
        eR, eF = (L, W) if rel == 0 else (W, L)
        if side in ("left", "right"):
            lr = (aL / 2 + gap + eR / 2) * (1 if side == "right" else -1)
            if align == "back":
                lf = -(aW - eF) / 2
            elif align == "front":
                lf = (aW - eF) / 2
            else:
                lf = offset
        else:
            lf = (aW / 2 + gap + eF / 2) * (1 if side == "front" else -1)
            lr = offset
        x = anchor.x + lr * rx + lf * fx
        y = anchor.y + lr * ry + lf * fy
        z = H / 2 if z is None else z
        obj = self.make(
            spec,
            x,
            y,
            z,
            heading,
            on_floor=on_floor,
            wall=anchor.wall if align == "back" else None,
            zone_ok=(anchor.key,) if zone_ok is None else zone_ok,
        )
        return obj

    def on_top_candidates(self, host: _Obj, spec: _Spec, where: str = "any") -> list[_Obj]:
        """Poses resting on ``host``'s top, fully over its footprint (same heading as the host)."""
        (fx, fy), (rx, ry) = _axes(host.heading)
        hL, hW, _ = host.size
        L, W, H = spec.size
        m = 0.02
        if L > hL - 2 * m or W > hW - 2 * m:
            return []
        max_r, max_f = max(0.0, (hL - L) / 2 - m), max(0.0, (hW - W) / 2 - m)
        spots = {
            "center": [(0.0, 0.0)],
            "back": [(0.0, -max_f)],
            "back_corner": [(max_r, -max_f), (-max_r, -max_f)],
            "corner": [(max_r, -max_f), (-max_r, -max_f), (max_r, max_f), (-max_r, max_f)],
        }
        if where == "any":
            pts = (
                spots["center"]
                + self.shuffled(spots["corner"])
                + [(self.u(-max_r, max_r), self.u(-max_f, max_f)) for _ in range(3)]
            )
        else:
            pts = list(spots[where])
            if where != "center":
                pts = self.shuffled(pts)
            pts += [(self.u(-max_r, max_r), self.u(-max_f, max_f)) for _ in range(2)]
        out = []
        for lr, lf in pts:
            x = host.x + lr * rx + lf * fx
            y = host.y + lr * ry + lf * fy
            out.append(self.make(spec, x, y, host.top + H / 2, host.heading, on_floor=False, allow=(host.key,)))
        return out

    def mounted(self, spec: _Spec, wall: str, t: float, z_bottom: float) -> _Obj:
        """Wall-mounted (off the floor) against ``wall`` with its bottom at ``z_bottom``."""
        return self.at_wall(spec, wall, t, z=round(z_bottom, 3) + spec.size[2] / 2, on_floor=False)

    def at_ceiling(self, spec: _Spec, x: float, y: float, heading: float = 0.0) -> _Obj:
        z = self.Z - CEILING_GAP - spec.size[2] / 2
        return self.make(spec, x, y, z, heading, on_floor=False)

    # ------------------------------------------------------------------ checks
    def fits(self, obj: _Obj, *, ignore_zones: bool = False, rug: bool = False) -> bool:
        """Inside the room, no penetration of placed objects (except allowed pairs), clearances kept."""
        if self.left() < 1:
            return False
        lo, hi = obj.lo, obj.hi
        if lo[0] < -_EPS or lo[1] < -_EPS or lo[2] < -_EPS:
            return False
        if hi[0] > self.X + _EPS or hi[1] > self.Y + _EPS or hi[2] > self.Z + _EPS:
            return False
        zone = obj.zone
        if zone is not None and (
            zone[0] < -_EPS or zone[1] < -_EPS or zone[2] > self.X + _EPS or zone[3] > self.Y + _EPS
        ):
            return False
        floorish = obj.on_floor and not rug
        for o in self.objs:
            if o.key in obj.allow or obj.key in o.allow:
                continue
            if (
                _overlap(lo[0], hi[0], o.lo[0], o.hi[0]) > _EPS
                and _overlap(lo[1], hi[1], o.lo[1], o.hi[1]) > _EPS
                and _overlap(lo[2], hi[2], o.lo[2], o.hi[2]) > _EPS
            ):
                return False
            if ignore_zones:
                continue
            # the new object may not stand in another's front clearance, nor put its clearance on one
            if floorish and o.zone is not None and o.key not in obj.zone_ok and _rect_overlap(lo, hi, o.zone):
                return False
            if (
                zone is not None
                and o.on_floor
                and not _is_flat(o)
                and obj.key not in o.zone_ok
                and _rect_overlap(o.lo, o.hi, zone)
            ):
                return False
        return True

    def add(self, obj: _Obj) -> _Obj:
        self.objs.append(obj)
        return obj

    def place(self, candidates: Iterable[_Obj], **fit_kw) -> _Obj | None:
        """Add the first candidate that fits."""
        for c in candidates:
            if self.fits(c, **fit_kw):
                return self.add(c)
        return None

    # ------------------------------------------------------------------ rules (emitted only when met)
    def rule(self, subj: _Obj, prep: str, target: _Obj, adjacent: bool = True) -> bool:
        v = object_rule_violation(subj.box, ObjectRule("_", prep, adjacent), target.box)
        if v <= 0.0:
            subj.object_rules.append((target.key, prep, adjacent))
            return True
        return False

    def layout(self, subj: _Obj, element: str, prep: str = "on") -> bool:
        v = layout_rule_violation(subj.box, LayoutRule(element, prep), (self.X, self.Y, self.Z))
        if v <= 0.0:
            subj.layout_rules.append((element, prep))
            return True
        return False

    def face(self, subj: _Obj, target: _Obj | str) -> bool:
        if not subj.cat.has_front:
            return False
        if isinstance(target, str):
            ok = facing_violation(subj.box, target, {}) <= 0.0
            value: str | int = target
        else:
            ok = facing_violation(subj.box, "_t", {"_t": target.box}) <= 0.0
            value = target.key
        if ok:
            subj.facing = value
        return ok

    def face_out(self, obj: _Obj) -> bool:
        """Face the wall opposite the one the object stands against."""
        return obj.wall is not None and self.face(obj, _OPPOSITE_WALL[obj.wall])

    def side_of(self, subj: _Obj, target: _Obj) -> str | None:
        """Which of left/right/in front/behind ``subj`` satisfies relative to ``target`` (or None)."""
        for prep in ("left of", "right of", "in front", "behind"):
            if object_rule_violation(subj.box, ObjectRule("_", prep, False), target.box) <= 0.0:
                return prep
        return None

    def corner_layout(self, obj: _Obj) -> bool:
        return obj.wall is not None and self.layout(obj, obj.wall, "in the corner")


def _rect_overlap(lo, hi, rect) -> bool:
    return _overlap(lo[0], hi[0], rect[0], rect[2]) > _EPS and _overlap(lo[1], hi[1], rect[1], rect[3]) > _EPS


def _is_flat(o: _Obj) -> bool:
    return o.cat.name in ("rug", "play_mat")


# ============================================================================ group builders
# Each builder tries to add a group of objects and returns how many it placed (0 when none fit).


def g_bed(room: _Room, cat: str = "bed") -> int:
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
        score = 0
        for i, side in enumerate(sides):
            ns = room.beside(bed, ns_spec, side, room.u(0.03, 0.12), align="back")
            if not room.fits(ns):
                continue
            room.add(ns)
            score += 1
            room.rule(ns, f"{side} of", bed, True)
            if room.p(0.7):
                room.layout(ns, w)
            if room.p(0.4):
                room.face_out(ns)
            if lamps[i]:
                lamp_s = room.clamp_spec(lamp_spec, ns.size[0] - 0.06, ns.size[1] - 0.06)
                lamp = room.place(room.on_top_candidates(ns, lamp_s, "center"))
                if lamp is not None:
                    room.rule(lamp, "on", ns, True)
                    score += 1
        if want_art:
            score += _art_above(room, bed, max_length=bed.size[0])
        if want_foot:
            fs = room.spec(foot)
            fs = room.clamp_spec(fs, bed.size[0])
            ob = room.beside(bed, fs, "front", room.u(0.05, 0.2))
            if room.fits(ob):
                room.add(ob)
                room.rule(ob, "in front", bed, True)
                score += 1
        return score

    score = room.best_trial(cands, trial, wanted)
    if score is None:
        return 0
    bed = next(o for o in reversed(room.objs) if o.cat.name == cat)
    if room.p(0.45 if not room.dense else 0.3):
        room.rug_requests.append((bed.key, "rug"))
    return score + 1


def _art_above(room: _Room, host: _Obj, max_length: float, cat: str = "wall_art") -> int:
    """Wall art (or a mirror) on the host's wall above it. Returns 1 when placed."""
    if host.wall is None or room.left() < 1:
        return 0
    spec = room.spec(cat)
    spec = room.clamp_spec(spec, max(0.3, max_length - 0.1))
    if spec.size[0] < spec.cat.length[0] * 0.6:
        return 0
    H = spec.size[2]
    t0 = room.wall_t(host.wall, host.x, host.y)
    for _ in range(3):
        bottom = host.top + room.u(0.15, 0.35)
        if bottom + H > room.Z - 0.1:
            spec = room.clamp_spec(spec, max_height=room.Z - 0.1 - bottom)
            H = spec.size[2]
            if H < 0.25:
                return 0
        art = room.mounted(spec, host.wall, t0 + room.u(-0.05, 0.05), bottom)
        if room.fits(art):
            room.add(art)
            room.layout(art, host.wall)
            room.rule(art, "above", host, bottom - host.top < 0.5)
            room.face_out(art)
            return 1
    return 0


def g_wall_piece(
    room: _Room,
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
                    n += _put_on(room, obj, item)
            if art_prob and room.p(art_prob):
                n += _art_above(room, obj, obj.size[0], art_cat)
            return n
    return 0


def _put_on(room: _Room, host: _Obj, cat: str, where: str = "any") -> int:
    spec = room.spec(cat)
    item = room.place(room.on_top_candidates(host, spec, where))
    if item is None:
        return 0
    room.rule(item, "on", host, True)
    if item.cat.has_front and room.p(0.5):
        room.face(item, _OPPOSITE_WALL[host.wall] if host.wall else host)
    return 1


def g_corner(room: _Room, cat: str) -> int:
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


def g_wall_item(room: _Room, cat: str, z_center: tuple[float, float] = (1.35, 1.6)) -> int:
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


def g_ceiling_light(room: _Room, cat: str = "ceiling_light", above: _Obj | None = None) -> int:
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


def g_desk(room: _Room, desk_cat: str = "desk", chair_cat: str = "office_chair") -> int:
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
            score += _put_on(room, desk, "computer_monitor", "back")
        if want_lamp:
            score += _put_on(room, desk, "desk_lamp", "back_corner")
        if want_chair:
            chair = room.beside(
                desk, chair_spec, "front", room.u(0.02, 0.2), offset=room.u(-0.1, 0.1), heading=desk.heading + 180
            )
            if room.fits(chair):
                room.add(chair)
                room.rule(chair, "in front", desk, True)
                room.face(chair, desk)
                score += 1
        if side_cat is not None:
            side = room.choice(("left", "right"))
            ss = room.spec(side_cat)
            obj = room.beside(desk, ss, side, room.u(0.03, 0.15), align="back")
            if room.fits(obj):
                room.add(obj)
                score += 1
                room.rule(obj, f"{side} of", desk, True)
                room.layout(obj, w)
                if side_cat == "filing_cabinet" and room.p(0.5):
                    score += _put_on(room, obj, "printer", "center")
        if want_art:
            score += _art_above(room, desk, desk.size[0], room.choice(("wall_art", "wall_shelf", "wall_art")))
        return score

    score = room.best_trial(cands, trial, wanted)
    return 0 if score is None else score + 1


def g_seating_table(
    room: _Room,
    table_cat: str,
    chair_cat: str,
    *,
    n_chairs: int | None = None,
    light: str | None = None,
    rug_prob: float = 0.4,
    centre: bool = True,
    top_items: tuple[str, ...] = ("fruit_bowl", "vase", "table_plant"),
) -> int:
    """A table (middle of the room or against a wall) with chairs around it facing it."""
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

    poses: list[tuple[float, float]] = []  # centre candidates
    for _ in range(8):
        if centre:
            jx, jy = room.u(-0.25, 0.25), room.u(-0.25, 0.25)
            poses.append((round(room.X / 2 + jx, 2), round(room.Y / 2 + jy, 2)))
        else:
            poses.append((room.u(0.6, room.X - 0.6), room.u(0.6, room.Y - 0.6)))
    headings = room.shuffled([0.0, 90.0])

    def seats() -> list[tuple[str, float]]:
        long_offsets = [((i + 0.5) / per_side - 0.5) * (L - cL) * 0.9 if per_side > 1 else 0.0 for i in range(per_side)]
        # pair up sides so that chairs come in facing pairs
        order = []
        for i in range(per_side):
            order += [("front", long_offsets[i]), ("behind", long_offsets[i])]
        ends_l = [("left", 0.0), ("right", 0.0)] if ends else []
        if n_chairs % 2 == 1 or n_chairs > 2 * per_side:
            order = ends_l + order if n_chairs > 2 * per_side else order + ends_l
        return order[:n_chairs] if n_chairs <= len(order) else order

    seat_list = seats()
    wanted = len(seat_list) + (light is not None) + (top is not None)

    def trial(c):
        (x, y), h = c
        table = room.make(spec, x, y, spec.size[2] / 2, h)
        if not room.fits(table):
            return None
        room.add(table)
        room.layout(table, "middle of the room")
        score = 0
        for side, off in seat_list:
            face_h = {
                "front": table.heading + 180,
                "behind": table.heading,
                "left": table.heading + 90,
                "right": table.heading + 270,
            }[side]
            chair = room.beside(table, chair_spec, side, gap, offset=round(off, 3), heading=face_h)
            if room.fits(chair):
                room.add(chair)
                prep = {"front": "in front", "behind": "behind", "left": "left of", "right": "right of"}[side]
                room.rule(chair, prep, table, True)
                room.face(chair, table)
                score += 1
        if top is not None:
            score += _put_on(room, table, top, "center")
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


def g_living(room: _Room, sofa_cat: str = "sofa") -> int:
    """TV wall (stand and/or TV), a sofa facing it, coffee table, armchairs, side table, lamp, rug."""
    tv_wall = room.choice(WALLS)
    far = _OPPOSITE_WALL[tv_wall]
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
    wanted = 2 + (mode != "wall") + want_ct + n_arm + want_side + want_lamp + want_art
    ts = room.wall_ts(tv_wall, max(stand_spec.size[0], sofa_spec.size[0]), 4, prefer="center")

    def trial(t) -> int | None:
        score = 0
        stand = tv = None
        if mode != "wall":
            stand = room.at_wall(stand_spec, tv_wall, t)
            if not room.fits(stand):
                return None
            room.add(stand)
            room.layout(stand, tv_wall)
            room.face_out(stand)
            score += 1
        if mode == "stand_on":
            ts_ = room.clamp_spec(tv_spec, stand.size[0] - 0.06, stand.size[1] - 0.06)
            tv = room.place(room.on_top_candidates(stand, ts_, "center"))
            if tv is not None:
                room.rule(tv, "on", stand, True)
        else:
            base = stand.top + room.u(0.12, 0.3) if stand is not None else room.u(0.75, 0.95)
            tv = room.mounted(tv_spec, tv_wall, t, base)
            if tv.hi[2] > room.Z - 0.1 or not room.fits(tv):
                tv = None
            else:
                room.add(tv)
                room.layout(tv, tv_wall)
                if stand is not None:
                    room.rule(tv, "above", stand, True)
        if tv is None:
            return None
        score += 1
        # the sofa: against the far wall when the room is shallow enough, else floating
        sW = sofa_spec.size[1]
        dist = room.u(2.0, 3.2)
        against = depth - sW <= dist + 0.9 or room.p(0.4)
        sofa_t = t + room.u(-0.1, 0.1)
        if against:
            sofa = room.at_wall(sofa_spec, far, sofa_t)
        else:
            x, y = room.wall_point(tv_wall, sofa_t, sW, dist)
            sofa = room.make(sofa_spec, x, y, sofa_spec.size[2] / 2, WALL_FACING_INTO_ROOM[far])
        if not room.fits(sofa):
            return None
        room.add(sofa)
        score += 1
        if against:
            room.layout(sofa, far)
        elif room.p(0.5):
            room.layout(sofa, "middle of the room")
        if not room.face(sofa, tv):
            room.face(sofa, tv_wall)
        if stand is not None and room.p(0.5):
            room.rule(sofa, "in front", stand, False)
        room.face(tv, sofa) or room.face_out(tv)
        if stand is not None:
            room.face(stand, sofa) or room.face_out(stand)
        ct = None
        if want_ct:
            ct = room.beside(sofa, ct_spec, "front", room.u(0.35, 0.5))
            if room.fits(ct):
                room.add(ct)
                room.rule(ct, "in front", sofa, True)
                score += 1
                if room.p(0.4):
                    _put_on(room, ct, room.choice(("book_stack", "vase", "table_plant")), "any")
            else:
                ct = None
        if ct is not None and n_arm:
            for side in room.shuffled(["left", "right"])[:n_arm]:
                arm = room.beside(
                    ct,
                    arm_spec,
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
        sides = room.shuffled(["left", "right"])
        if want_side:
            st = room.beside(
                sofa, room.spec("side_table"), sides[0], room.u(0.04, 0.12), align="back" if against else "center"
            )
            if room.fits(st):
                room.add(st)
                room.rule(st, f"{sides[0]} of", sofa, True)
                score += 1
                if room.p(0.6):
                    score += _put_on(room, st, "table_lamp", "center")
        if want_lamp:
            fl = room.beside(
                sofa, room.spec("floor_lamp"), sides[1], room.u(0.04, 0.15), align="back" if against else "center"
            )
            if room.fits(fl):
                room.add(fl)
                room.rule(fl, f"{sides[1]} of", sofa, True)
                score += 1
        if want_art and against:
            score += _art_above(room, sofa, sofa.size[0])
        if want_rug and ct is not None:
            room.rug_requests.append((ct.key, "rug"))
        return score

    score = room.best_trial(ts, trial, wanted, max_tries=6)
    return score or 0


def g_reading_corner(room: _Room, chair_cat: str = "armchair") -> int:
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
        (fx, fy), (rx, ry) = _axes(chair.heading)
        toward_mid = (mid - t) * (rx if w in ("south_wall", "north_wall") else ry)
        side = "right" if toward_mid > 0 else "left"
        ex = room.beside(chair, room.spec(extra), side, room.u(0.05, 0.15), align="back")
        if room.fits(ex):
            room.add(ex)
            room.rule(ex, f"{side} of", chair, True)
            room.layout(ex, w)
            score += 1
            if extra == "side_table" and room.p(0.6):
                score += _put_on(room, ex, room.choice(("table_lamp", "book_stack", "table_plant")))
        if want_ottoman:
            ot = room.beside(chair, room.spec("ottoman"), "front", room.u(0.1, 0.25))
            if room.fits(ot):
                room.add(ot)
                room.rule(ot, "in front", chair, True)
                score += 1
        return score

    score = room.best_trial(cands, trial, 1 + want_ottoman + (extra == "side_table"), max_tries=6)
    return 0 if score is None else score + 1


def g_row(room: _Room, cat: str, n: int, *, top_items: tuple[str, ...] = (), chain: bool = True) -> int:
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
                    placed += _put_on(room, obj, item)
            prev = obj
        return placed or None

    score = room.best_trial(cands, trial, n, max_tries=8)
    return score or 0


def g_kitchen_run(room: _Room) -> int:
    """Counter run along a wall: fridge, counters, sink, stove, dishwasher; hood and wall cabinets above."""
    wall = room.choice(sorted(WALLS, key=room.wall_length, reverse=True)[:2])
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
    specs = [room.spec(m) for m in modules]
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
        pos = start
        prev = None
        score = 0
        placed = []
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
            score += 1
            if not (obj is placed[0] and room.p(0.3) and room.corner_layout(obj)):
                room.layout(obj, wall)
            if room.p(0.5):
                room.face_out(obj)
            if prev is not None:
                side = room.side_of(obj, prev)
                if side is not None:
                    room.rule(obj, side, prev, True)
            prev = obj
        if not placed:
            return None
        for obj in placed:
            name = obj.cat.name
            if room.left() < 1:
                break
            if name == "stove" and room.p(0.8):
                score += _mount_above(room, obj, "range_hood", room.u(0.65, 0.75))
            elif name in ("kitchen_counter", "sink_cabinet") and want_upper and room.p(0.6):
                score += _mount_above(room, obj, "wall_cabinet", room.u(0.5, 0.6))
            if name == "kitchen_counter" and room.p(0.4):
                score += _put_on(room, obj, room.choice(("microwave", "fruit_bowl", "table_plant")), "any")
        return score

    score = room.best_trial(starts, trial, len(specs) + 2, max_tries=3)
    return score or 0


def _mount_above(room: _Room, host: _Obj, cat: str, clearance: float) -> int:
    spec = room.clamp_spec(room.spec(cat), host.size[0])
    bottom = host.top + clearance
    if bottom + spec.size[2] > room.Z - 0.01:
        spec = room.clamp_spec(spec, max_height=room.Z - 0.01 - bottom)
    if spec.size[2] < 0.2:
        return 0
    obj = room.mounted(spec, host.wall, room.wall_t(host.wall, host.x, host.y), bottom)
    if not room.fits(obj):
        return 0
    room.add(obj)
    room.layout(obj, host.wall)
    room.rule(obj, "above", host, clearance < 0.6)
    if room.p(0.5):
        room.face_out(obj)
    return 1


def g_island(room: _Room) -> int:
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
        for i in range(n_pend):
            off = ((i + 0.5) / n_pend - 0.5) * isl.size[0] * 0.6 if n_pend > 1 else 0.0
            (fx, fy), (rx, ry) = _axes(isl.heading)
            ps = room.spec("pendant_light")
            p = room.at_ceiling(ps, isl.x + off * rx, isl.y + off * ry)
            if room.fits(p):
                room.add(p)
                room.layout(p, "ceiling")
                room.rule(p, "above", isl, False)
                score += 1
        return score

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


def g_screen_wall(room: _Room) -> int:
    """Home theater: projector screen (optionally above a media console), speakers, a projector, recliner rows."""
    wall = room.choice(WALLS)
    far = _OPPOSITE_WALL[wall]
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
    ts = room.wall_ts(wall, screen_spec.size[0], 3, prefer="center")

    def trial(t):
        score = 0
        stand = None
        if console:
            stand = room.at_wall(stand_spec, wall, t)
            if room.fits(stand):
                room.add(stand)
                room.layout(stand, wall)
                room.face_out(stand)
                score += 1
            else:
                stand = None
        bottom = (stand.top + room.u(0.15, 0.3)) if stand is not None else room.u(0.6, 0.9)
        ss = screen_spec
        if bottom + ss.size[2] > room.Z - 0.1:
            ss = room.clamp_spec(ss, max_height=room.Z - 0.1 - bottom)
        screen = room.mounted(ss, wall, t, bottom)
        if ss.size[2] < 1.0 or not room.fits(screen):
            return None
        room.add(screen)
        room.layout(screen, wall)
        room.face_out(screen)
        if stand is not None:
            room.rule(screen, "above", stand, True)
        score += 1
        if want_speakers:
            for side in ("left", "right"):
                if stand is not None:
                    sp = room.beside(stand, sp_spec, side, room.u(0.05, 0.2), align="back")
                else:
                    _, (rx, ry) = _axes(screen.heading)
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
        # seating rows facing the screen
        dist = room.u(2.2, 3.2)
        row_gap = room.u(0.3, 0.5)
        first = None
        for r in range(rows):
            sL, sW, _ = seat_spec.size
            total = n_row * sL + (n_row - 1) * 0.05
            x0, y0 = room.wall_point(wall, t, sW, dist + r * (sW + row_gap))
            (fx, fy), (rx, ry) = _axes(WALL_FACING_INTO_ROOM[far])
            prev = None
            for i in range(n_row):
                off = -total / 2 + sL / 2 + i * (sL + 0.05)
                seat = room.make(
                    seat_spec,
                    x0 + off * rx,
                    y0 + off * ry,
                    seat_spec.size[2] / 2,
                    WALL_FACING_INTO_ROOM[far],
                    zone_ok=tuple(o.key for o in room.objs if o.cat.name == seat_cat),
                )
                if not room.fits(seat):
                    continue
                room.add(seat)
                score += 1
                if not room.face(seat, screen):
                    room.face(seat, wall)
                if prev is not None:
                    side = room.side_of(seat, prev)
                    if side:
                        room.rule(seat, side, prev, True)
                elif first is not None:
                    room.rule(seat, "behind", first, True)
                if r == 0 and i == 0:
                    first = seat
                prev = seat
        if first is None:
            return None
        if want_proj:
            pr = room.spec("projector")
            x, y = room.wall_point(
                wall,
                t,
                pr.size[1],
                min(
                    dist + 0.5,
                    room.wall_length("west_wall" if wall in ("south_wall", "north_wall") else "south_wall") - 0.5,
                ),
            )
            proj = room.at_ceiling(pr, x, y, WALL_FACING_INTO_ROOM[far] + 180)
            if room.fits(proj):
                room.add(proj)
                room.layout(proj, "ceiling")
                room.face(proj, screen)
                score += 1
        return score

    score = room.best_trial(ts, trial, 20, max_tries=4)
    return score or 0


def g_easel(room: _Room) -> int:
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


def g_fireplace(room: _Room) -> int:
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
            score += _art_above(room, fp, fp.size[0], room.choice(("wall_art", "mirror")))
        if room.p(0.4):
            score += _put_on(room, fp, room.choice(("vase", "table_plant")), "any")
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


def g_piano(room: _Room) -> int:
    return g_wall_piece(room, "piano", corner_ok=False, art_prob=0.3)


# ============================================================================ room recipes
# (builder, probability) pairs run in order while the budget lasts; then weighted fillers.
def _b(fn, *args, **kw):
    return lambda room: fn(room, *args, **kw)


def _recipe(room: _Room) -> list[tuple[Callable[[_Room], int], float]]:
    t = room.room_type
    big = room.X * room.Y >= 20
    if t == "bedroom":
        return [
            (_b(g_bed, "bed"), 1.0),
            (_b(g_wall_piece, "wardrobe"), 0.75),
            (_b(g_wall_piece, "dresser", top_items=("table_lamp", "vase"), art_prob=0.5, art_cat="mirror"), 0.5),
            (_b(g_desk), 0.25),
            (_b(g_reading_corner), 0.35),
            (_b(g_wall_piece, "vanity_table", top_items=("table_plant",), art_prob=0.6, art_cat="mirror"), 0.15),
            (_b(g_ceiling_light, "ceiling_fan" if big else "ceiling_light"), 0.6),
        ]
    if t == "living_room":
        return [
            (_b(g_living, "sectional_sofa" if room.p(0.25) else "sofa"), 1.0),
            (_b(g_reading_corner), 0.4),
            (_b(g_row, "bookshelf", 1 + int(room.p(0.4))), 0.45),
            (_b(g_wall_piece, "sideboard", top_items=("vase", "table_lamp"), art_prob=0.4), 0.3),
            (_b(g_fireplace), 0.2),
            (_b(g_piano), 0.12),
            (_b(g_wall_piece, "console_table", top_items=("vase",), art_prob=0.4, art_cat="mirror"), 0.2),
            (_b(g_ceiling_light, "chandelier" if room.p(0.4) else "ceiling_light"), 0.6),
        ]
    if t == "dining_room":
        return [
            (
                _b(
                    g_seating_table,
                    "dining_table",
                    "dining_chair",
                    light=room.choice(("pendant_light", "chandelier")),
                    rug_prob=0.5,
                ),
                1.0,
            ),
            (_b(g_wall_piece, "sideboard", top_items=("vase", "table_lamp", "fruit_bowl"), art_prob=0.5), 0.7),
            (_b(g_wall_piece, "china_cabinet"), 0.45),
            (_b(g_wall_piece, "bar_cart", top_items=("vase",)), 0.25),
            (_b(g_wall_piece, "console_table", top_items=("vase",), art_prob=0.4, art_cat="mirror"), 0.2),
        ]
    if t == "kitchen":
        return [
            (_b(g_kitchen_run), 1.0),
            (_b(g_island), 0.5 if big else 0.25),
            (_b(g_seating_table, "dining_table", "dining_chair", light="pendant_light", rug_prob=0.0), 0.35),
            (_b(g_wall_piece, "storage_cabinet", top_items=("microwave",)), 0.2),
            (_b(g_corner, "trash_can"), 0.4),
        ]
    if t == "office":
        n_desks = 1 + int(room.p(0.35)) + int(room.p(0.15))
        return [(_b(g_desk), 1.0)] * n_desks + [
            (
                _b(
                    g_seating_table,
                    "meeting_table",
                    "office_chair",
                    light="pendant_light",
                    rug_prob=0.2,
                    top_items=("table_plant",),
                ),
                0.35 if big else 0.1,
            ),
            (_b(g_row, "bookshelf", 1 + int(room.p(0.5))), 0.55),
            (_b(g_wall_piece, "filing_cabinet", top_items=("printer",)), 0.35),
            (_b(g_wall_item, "whiteboard", (1.3, 1.5)), 0.35),
            (_b(g_reading_corner), 0.2),
            (_b(g_ceiling_light, "ceiling_light"), 0.5),
        ]
    if t == "kids_room":
        bed = room.choice(("single_bed", "single_bed", "bunk_bed", "crib"))
        return [
            (_b(g_bed, bed), 1.0),
            (_b(g_wall_piece, "wardrobe"), 0.5),
            (
                _b(
                    g_seating_table,
                    "kids_table",
                    "kids_chair",
                    rug_prob=0.6,
                    centre=False,
                    top_items=("desk_lamp", "table_plant"),
                ),
                0.55,
            ),
            (_b(g_wall_piece, "toy_chest"), 0.45),
            (_b(g_row, "low_bookcase", 1), 0.4),
            (_b(g_desk), 0.25),
            (_b(g_corner, "bean_bag"), 0.35),
            (_b(g_easel), 0.15),
            (_b(g_ceiling_light, "ceiling_light"), 0.6),
        ]
    if t == "studio":
        return [
            (_b(g_bed, "bed"), 1.0),
            (_b(g_living, "loveseat" if room.p(0.5) else "sofa"), 0.9),
            (_b(g_kitchen_run), 0.7),
            (
                _b(
                    g_seating_table,
                    "dining_table",
                    "dining_chair",
                    n_chairs=int(room.rng.integers(2, 5)),
                    light="pendant_light",
                    rug_prob=0.0,
                    centre=False,
                ),
                0.5,
            ),
            (_b(g_wall_piece, "wardrobe"), 0.5),
            (_b(g_desk), 0.2),
        ]
    if t == "library":
        return [
            (_b(g_row, "bookshelf", int(room.rng.integers(2, 5)), top_items=()), 1.0),
            (_b(g_row, "bookshelf", int(room.rng.integers(1, 4))), 0.6),
            (
                _b(
                    g_seating_table,
                    "library_table",
                    "dining_chair",
                    light=room.choice(("chandelier", "pendant_light")),
                    rug_prob=0.4,
                    top_items=("desk_lamp", "book_stack"),
                ),
                0.6,
            ),
            (_b(g_reading_corner), 0.7),
            (_b(g_fireplace), 0.2),
            (_b(g_desk), 0.25),
            (_b(g_corner, "globe"), 0.3),
            (_b(g_wall_piece, "magazine_rack"), 0.2),
        ]
    if t == "art_studio":
        return [
            (_b(g_easel), 1.0),
            (
                _b(
                    g_seating_table,
                    "work_table",
                    "stool",
                    n_chairs=int(room.rng.integers(1, 4)),
                    light="pendant_light",
                    rug_prob=0.0,
                    top_items=("table_lamp", "table_plant"),
                ),
                0.7,
            ),
            (_b(g_easel), 0.4),
            (_b(g_wall_piece, "canvas_rack"), 0.6),
            (_b(g_wall_piece, "storage_cabinet", top_items=("table_plant",)), 0.5),
            (_b(g_desk, "drafting_table", "stool"), 0.35),
            (_b(g_wall_item, "whiteboard", (1.3, 1.5)), 0.2),
            (_b(g_reading_corner), 0.25),
        ]
    if t == "home_theater":
        return [
            (_b(g_screen_wall), 1.0),
            (_b(g_wall_piece, "side_table", top_items=("table_lamp",)), 0.3),
            (_b(g_row, "bookshelf", 1), 0.25),
            (_b(g_corner, "bean_bag"), 0.2),
            (_b(g_ceiling_light, "ceiling_light"), 0.5),
        ]
    raise ValueError(f"unknown room type {t!r}")


#: Most objects of a category that fillers add (groups may add more).
_FILLER_CAPS = {
    "plant": 3,
    "wall_art": 3,
    "wall_clock": 1,
    "mirror": 1,
    "ceiling_light": 2,
    "floor_lamp": 2,
    "bookshelf": 4,
    "coat_rack": 1,
    "trash_can": 1,
    "globe": 1,
    "whiteboard": 1,
    "wall_shelf": 2,
    "speaker": 4,
    "bean_bag": 2,
    "stool": 3,
    "toy_chest": 1,
    "shoe_rack": 1,
    "magazine_rack": 1,
    "dresser": 2,
    "filing_cabinet": 2,
    "side_table": 2,
    "bar_cart": 1,
    "easel": 3,
    "canvas_rack": 2,
    "low_bookcase": 2,
    "armchair": 3,
    "desk": 3,
    "storage_cabinet": 2,
    "sideboard": 1,
    "console_table": 1,
}
_DECOR = ("plant", "wall_art", "wall_clock", "mirror", "wall_shelf", "ceiling_light", "floor_lamp")


def _fillers(room: _Room) -> list[tuple[str, float, Callable[[_Room], int]]]:
    """(category capped, weight, builder) of the fillers for the room's type."""
    t = room.room_type
    out: list[tuple[str, float, Callable[[_Room], int]]] = [
        ("plant", 2.0, _b(g_corner, "plant")),
        ("wall_art", 2.0, _b(g_wall_item, "wall_art", (1.4, 1.65))),
        ("floor_lamp", 1.0, _b(g_corner, "floor_lamp")),
        ("ceiling_light", 0.6, _b(g_ceiling_light, "ceiling_light")),
        ("bookshelf", 0.8, _b(g_row, "bookshelf", 1)),
    ]
    extra = {
        "bedroom": [
            ("mirror", 1.0, _b(g_wall_item, "mirror", (1.3, 1.5))),
            ("shoe_rack", 0.5, _b(g_wall_piece, "shoe_rack")),
            ("coat_rack", 0.5, _b(g_corner, "coat_rack")),
            ("wall_shelf", 0.6, _b(g_wall_item, "wall_shelf", (1.3, 1.7))),
            ("dresser", 1.0, _b(g_wall_piece, "dresser", top_items=("vase", "table_lamp"))),
            ("armchair", 1.0, _b(g_reading_corner)),
            ("desk", 0.6, _b(g_desk)),
        ],
        "living_room": [
            ("wall_shelf", 0.8, _b(g_wall_item, "wall_shelf", (1.3, 1.7))),
            ("wall_clock", 0.6, _b(g_wall_item, "wall_clock", (1.8, 2.0))),
            ("armchair", 1.5, _b(g_reading_corner)),
            ("magazine_rack", 0.3, _b(g_wall_piece, "magazine_rack")),
            ("speaker", 0.4, _b(g_corner, "speaker")),
            ("sideboard", 0.8, _b(g_wall_piece, "sideboard", top_items=("vase", "table_lamp"))),
            ("console_table", 0.5, _b(g_wall_piece, "console_table", top_items=("vase",))),
        ],
        "dining_room": [
            ("wall_clock", 0.8, _b(g_wall_item, "wall_clock", (1.8, 2.0))),
            ("mirror", 0.6, _b(g_wall_item, "mirror", (1.4, 1.6))),
            ("bar_cart", 0.6, _b(g_wall_piece, "bar_cart", top_items=("vase",))),
            ("sideboard", 1.0, _b(g_wall_piece, "sideboard", top_items=("vase", "fruit_bowl"))),
            ("console_table", 0.6, _b(g_wall_piece, "console_table", top_items=("vase",))),
        ],
        "kitchen": [
            ("wall_clock", 1.0, _b(g_wall_item, "wall_clock", (1.8, 2.0))),
            ("wall_shelf", 0.8, _b(g_wall_item, "wall_shelf", (1.4, 1.7))),
            ("trash_can", 0.8, _b(g_corner, "trash_can")),
            ("stool", 0.4, _b(g_corner, "stool")),
            ("storage_cabinet", 1.0, _b(g_wall_piece, "storage_cabinet", top_items=("microwave", "fruit_bowl"))),
        ],
        "office": [
            ("wall_clock", 0.8, _b(g_wall_item, "wall_clock", (1.8, 2.0))),
            ("coat_rack", 0.6, _b(g_corner, "coat_rack")),
            ("filing_cabinet", 1.0, _b(g_wall_piece, "filing_cabinet", top_items=("printer",))),
            ("trash_can", 0.6, _b(g_corner, "trash_can")),
            ("wall_shelf", 0.6, _b(g_wall_item, "wall_shelf", (1.4, 1.7))),
            ("globe", 0.2, _b(g_corner, "globe")),
            ("desk", 1.2, _b(g_desk)),
            ("armchair", 0.6, _b(g_reading_corner)),
            ("storage_cabinet", 0.8, _b(g_wall_piece, "storage_cabinet", top_items=("printer", "table_plant"))),
        ],
        "kids_room": [
            ("bean_bag", 0.8, _b(g_corner, "bean_bag")),
            ("wall_shelf", 0.8, _b(g_wall_item, "wall_shelf", (1.2, 1.5))),
            ("toy_chest", 0.8, _b(g_wall_piece, "toy_chest")),
            ("whiteboard", 0.4, _b(g_wall_item, "whiteboard", (1.1, 1.3))),
            ("trash_can", 0.3, _b(g_corner, "trash_can")),
            ("low_bookcase", 0.8, _b(g_row, "low_bookcase", 1)),
            ("desk", 0.6, _b(g_desk)),
            ("easel", 0.4, _b(g_easel)),
        ],
        "studio": [
            ("wall_shelf", 0.8, _b(g_wall_item, "wall_shelf", (1.4, 1.7))),
            ("coat_rack", 0.6, _b(g_corner, "coat_rack")),
            ("shoe_rack", 0.5, _b(g_wall_piece, "shoe_rack")),
            ("mirror", 0.5, _b(g_wall_item, "mirror", (1.3, 1.5))),
            ("armchair", 0.8, _b(g_reading_corner)),
            ("desk", 0.6, _b(g_desk)),
            ("dresser", 0.6, _b(g_wall_piece, "dresser", top_items=("vase",))),
        ],
        "library": [
            ("bookshelf", 2.5, _b(g_row, "bookshelf", 1)),
            ("armchair", 1.2, _b(g_reading_corner)),
            ("globe", 0.4, _b(g_corner, "globe")),
            ("wall_clock", 0.4, _b(g_wall_item, "wall_clock", (1.8, 2.0))),
            ("low_bookcase", 0.8, _b(g_wall_piece, "low_bookcase", top_items=("vase", "book_stack"))),
            ("desk", 0.5, _b(g_desk)),
            ("magazine_rack", 0.3, _b(g_wall_piece, "magazine_rack")),
        ],
        "art_studio": [
            ("easel", 1.0, _b(g_easel)),
            ("canvas_rack", 0.8, _b(g_wall_piece, "canvas_rack")),
            ("stool", 0.4, _b(g_corner, "stool")),
            ("trash_can", 0.4, _b(g_corner, "trash_can")),
            ("wall_clock", 0.3, _b(g_wall_item, "wall_clock", (1.8, 2.0))),
            ("storage_cabinet", 0.8, _b(g_wall_piece, "storage_cabinet", top_items=("table_plant", "table_lamp"))),
            ("armchair", 0.5, _b(g_reading_corner)),
        ],
        "home_theater": [
            ("speaker", 1.0, _b(g_corner, "speaker")),
            ("bean_bag", 0.6, _b(g_corner, "bean_bag")),
            ("side_table", 0.6, _b(g_wall_piece, "side_table", top_items=("table_lamp",))),
            ("armchair", 0.5, _b(g_reading_corner)),
        ],
    }[t]
    out = out + extra
    if room.dense:  # pack furniture rather than decor
        out = [(c, w * (0.4 if c in _DECOR else 1.5), fn) for c, w, fn in out]
    return out


# ============================================================================ rugs
def _place_rug(room: _Room, target_key: int, cat: str) -> int:
    """A rug under a floor object: centred under it, or (beds, sofas) from just past its back
    (clear of nightstands) to beyond its front.

    The rug may only overlap objects that stand fully on it; it is declared ``under`` each of them.
    """
    target = next((o for o in room.objs if o.key == target_key), None)
    if target is None:
        return 0
    spec0 = room.spec(cat)
    c = spec0.cat
    tL, tW, _ = target.size
    max_L, max_W = c.length[1] + 0.6, c.width[1] + 0.6
    spans = [(-m / 2, m / 2) for m in (1.4, 1.1, 0.8, 0.6, 0.4, 0.2)]  # (back, front) offsets in the target's frame
    if target.cat.name in ("bed", "single_bed", "bunk_bed"):
        spans = [(b, f) for b in (0.55, 0.7, 0.9) for f in (0.7, 0.5, 0.3)] + spans
    configs = []
    for mL in (1.4, 1.1, 0.8, 0.6, 0.4, 0.2):
        L = round(min(max(tL + mL, c.length[0]), max_L, room.X, room.Y), 2)
        for b, f in spans:
            W = round(min(max(tW - b + f, c.width[0]), max_W, room.X, room.Y), 2)
            configs.append((L * W, L, W, round((b + f) / 2, 4)))
    configs.sort(key=lambda cfg: -cfg[0])
    (fx, fy), _ = _axes(target.heading)
    valid = []
    seen = set()
    for _, L, W, shift in configs:
        if (L, W, shift) in seen:
            continue
        seen.add((L, W, shift))
        spec = _Spec(c, (L, W, spec0.size[2]), spec0.style, spec0.material)
        rug = room.make(spec, target.x + shift * fx, target.y + shift * fy, spec.size[2] / 2, target.heading)
        covered = _rug_cover(room, rug, target)
        if covered is not None and any(o is target for o in covered):
            valid.append((rug, covered))
            if len(valid) >= 2:
                break
    if not valid:
        return 0
    rug, covered = valid[0] if len(valid) == 1 or room.p(0.7) else valid[1]
    rug.allow = tuple(o.key for o in covered)
    if not room.fits(rug, rug=True):
        return 0
    room.add(rug)
    for o in [target] + [o for o in covered if o is not target]:
        room.rule(rug, "under", o, True)
    if room.p(0.4):
        room.layout(rug, "middle of the room")
    return 1


def _rug_cover(room: _Room, rug: _Obj, target: _Obj) -> list[_Obj] | None:
    """Floor objects the rug would overlap, or None when one of them (bar the target) is not fully on it."""
    if rug.lo[0] < 0 or rug.lo[1] < 0 or rug.hi[0] > room.X or rug.hi[1] > room.Y:
        return None
    covered = []
    for o in room.objs:
        if not o.on_floor or o.lo[2] > rug.hi[2] + _EPS:
            continue
        if not _rect_overlap(rug.lo, rug.hi, (o.lo[0], o.lo[1], o.hi[0], o.hi[1])):
            continue
        if _is_flat(o):
            return None
        inside = (
            o.lo[0] >= rug.lo[0] - _EPS
            and o.lo[1] >= rug.lo[1] - _EPS
            and o.hi[0] <= rug.hi[0] + _EPS
            and o.hi[1] <= rug.hi[1] + _EPS
        )
        if not inside and o is not target:
            return None
        covered.append(o)
    return covered


# ============================================================================ the driver
def _room_size(rng: np.random.Generator, room_type: str, dense: bool, attempt: int) -> tuple[float, float, float]:
    (x0, x1), (y0, y1) = ROOM_SIZE_RANGES[room_type]
    if dense:
        grow = min(1.0, 0.45 + 0.08 * attempt)
        x1, y1 = x0 + (x1 - x0) * grow, y0 + (y1 - y0) * grow
    X = round(float(rng.uniform(x0, x1)) * 20) / 20
    Y = round(float(rng.uniform(y0, y1)) * 20) / 20
    if rng.random() < 0.5:
        X, Y = Y, X
    Z = float(ROOM_HEIGHTS[int(rng.integers(len(ROOM_HEIGHTS)))])
    return (X, Y, Z)


def _build(rng: np.random.Generator, room_type: str, size, style: str, target: int, dense: bool) -> _Room:
    room = _Room(rng, room_type, size, style, target, dense)
    for builder, prob in _recipe(room):
        if room.left() < 1:
            break
        if room.p(math.sqrt(prob) if dense else prob):
            builder(room)
    _fill(room)
    pending, room.rug_requests = room.rug_requests, []
    for key, cat in pending:
        _place_rug(room, key, cat)
    _fill(room)
    return room


def _fill(room: _Room) -> None:
    fillers = _fillers(room)
    failures = 0
    caps = dict(_FILLER_CAPS)
    if room.room_type == "library":
        caps["bookshelf"] = 10
    while room.left() >= 1 and failures < 12:
        live = [f for f in fillers if room.count(f[0]) < caps.get(f[0], 2)]
        if not live:
            break
        weights = np.array([w for _, w, _ in live], dtype=float)
        i = int(room.rng.choice(len(live), p=weights / weights.sum()))
        if live[i][2](room) <= 0:
            failures += 1


def generate_task(
    seed: int,
    *,
    room_type: str | None = None,
    min_objects: int = 4,
    max_objects: int = 20,
    dense: bool = False,
    task_id: str | None = None,
) -> Task:
    """Generate one room deterministically from ``seed``.

    ``room_type`` (one of :data:`ROOM_TYPES`) is drawn from the seed when None. The room holds
    between ``min_objects`` and ``max_objects`` objects (``dense`` raises the minimum to 14 and uses
    smaller rooms). The task's ``reference_layout`` satisfies every emitted rule (checked with
    :func:`metaspatial_env.relations.evaluate_rules`), lies inside the room and is collision-free.
    ``task_id`` defaults to ``gen_{seed}_{room_type}``.
    """
    task, _ = _generate(
        seed, room_type=room_type, min_objects=min_objects, max_objects=max_objects, dense=dense, task_id=task_id
    )
    return task


def _generate(
    seed: int, *, room_type: str | None, min_objects: int, max_objects: int, dense: bool, task_id: str | None
) -> tuple[Task, list[str]]:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if room_type is not None and room_type not in ROOM_TYPES:
        raise ValueError(f"unknown room type {room_type!r}; known: {', '.join(ROOM_TYPES)}")
    if dense:
        min_objects = max(min_objects, 14)
    if not 1 <= min_objects <= max_objects:
        raise ValueError(f"need 1 <= min_objects <= max_objects, got {min_objects}, {max_objects}")
    rng = np.random.default_rng(int(seed))
    if room_type is None:
        room_type = ROOM_TYPES[int(rng.integers(len(ROOM_TYPES)))]
    if task_id is None:
        task_id = f"gen_{int(seed)}_{room_type}"
    style = STYLES[int(rng.integers(len(STYLES)))]
    target = int(rng.integers(min_objects, max_objects + 1))
    best: _Room | None = None
    for attempt in range(40):
        size = _room_size(rng, room_type, dense, attempt)
        room = _build(rng, room_type, size, style, target, dense)
        n = len(room.objs)
        if best is None or n > len(best.objs):
            best = room
        if n >= min_objects and n >= min(target, max_objects) - (0 if dense else 3):
            best = room
            break
    assert best is not None
    if len(best.objs) < min_objects:
        raise RuntimeError(f"could not fit {min_objects} objects in a {room_type} (seed {seed})")
    return _finalize(best, task_id, rng)


# ============================================================================ output
def _finalize(room: _Room, task_id: str, rng: np.random.Generator) -> tuple[Task, list[str]]:
    counters: dict[str, int] = {}
    ids: dict[int, str] = {}
    for o in room.objs:
        n = counters.get(o.cat.name, 0) + 1
        counters[o.cat.name] = n
        ids[o.key] = f"{o.cat.name}_{n}"
    dropped: list[str] = []
    data = _task_dict(room, task_id, ids, _preference(room, rng))
    task = Task.from_dict(data)
    boxes = {ids[o.key]: o.box for o in room.objs}
    bad = [r for r in evaluate_rules(task, boxes) if r.violation > 0.0]
    if bad:  # never expected: every rule was measured before it was written; drop and re-check
        for r in bad:
            dropped.append(f"{r.subject} {r.preposition} {r.target}")
            rec = next(x for x in data["objects"] if x["new_object_id"] == r.subject)
            if r.preposition == "facing":
                rec["facing"] = None
            elif r.target in ids.values():
                rec["placement"]["objects_in_room"] = [
                    e
                    for e in rec["placement"]["objects_in_room"]
                    if not (e["object_id"] == r.target and e["preposition"] == r.preposition)
                ]
            else:
                rec["placement"]["room_layout_elements"] = [
                    e
                    for e in rec["placement"]["room_layout_elements"]
                    if not (e["layout_element_id"] == r.target and e["preposition"] == r.preposition)
                ]
        task = Task.from_dict(data)
    problems = verify_reference_layout(task)
    if problems:
        raise AssertionError(f"generated task {task_id!r} has an invalid reference layout: {problems[:5]}")
    return task, dropped


def _task_dict(room: _Room, task_id: str, ids: dict[int, str], preference: str) -> dict[str, Any]:
    objects = []
    layout = {}
    for o in room.objs:
        oid = ids[o.key]
        facing = o.facing if isinstance(o.facing, str) or o.facing is None else ids[o.facing]
        objects.append(
            {
                "new_object_id": oid,
                "style": o.spec.style,
                "material": o.spec.material,
                "size_in_meters": {"length": o.size[0], "width": o.size[1], "height": o.size[2]},
                "is_on_the_floor": o.on_floor,
                "facing": facing,
                "placement": {
                    "room_layout_elements": [{"layout_element_id": e, "preposition": p} for e, p in o.layout_rules],
                    "objects_in_room": [
                        {"object_id": ids[k], "preposition": p, "is_adjacent": a} for k, p, a in o.object_rules
                    ],
                },
                "rotation": {"z_angle": o.heading},
            }
        )
        layout[oid] = {"x": o.x, "y": o.y, "z": o.z, "z_angle": o.heading}
    return {
        "room": {
            "id": task_id,
            "room_type": room.room_type,
            "size": {"x": room.X, "y": room.Y, "z": room.Z},
            "user_preference": preference,
        },
        "objects": objects,
        "reference_layout": layout,
    }


def verify_reference_layout(task: Task, tolerance: float = 0.01) -> list[str]:
    """Problems with ``task.reference_layout`` (empty when fine).

    Checks that every rule is met (violation 0 via :func:`evaluate_rules`), every box lies inside
    the room, floor objects rest on the floor, and no two boxes interpenetrate deeper than
    ``tolerance`` except pairs declared ``on``/``under`` one another.
    """
    if task.reference_layout is None:
        return ["no reference layout"]
    missing = [o.id for o in task.objects if o.id not in task.reference_layout]
    if missing:
        return [f"reference layout lacks {missing}"]
    boxes = {}
    for o in task.objects:
        p = task.reference_layout[o.id]
        boxes[o.id] = Box(o.size, (p["x"], p["y"], p["z"]), p.get("z_angle", o.z_angle))
    problems = [f"rule not met: {r.describe()}" for r in evaluate_rules(task, boxes) if r.violation > 0.0]
    X, Y, Z = task.size
    for oid, b in boxes.items():
        lo, hi = b.aabb()
        if (lo < -1e-6).any() or hi[0] > X + 1e-6 or hi[1] > Y + 1e-6 or hi[2] > Z + 1e-6:
            problems.append(f"{oid} pokes out of the room")
    for o in task.objects:
        if o.on_floor and abs(boxes[o.id].z_range[0]) > 1e-6:
            problems.append(f"{o.id} is a floor object but does not rest on the floor")
    declared = {(o.id, r.target) for o in task.objects for r in o.object_rules if r.preposition in ("on", "under")}
    declared |= {(b, a) for a, b in declared}
    ids = list(boxes)
    aabbs = {k: boxes[k].aabb() for k in ids}
    for i, a in enumerate(ids):
        alo, ahi = aabbs[a]
        for b in ids[i + 1 :]:
            if (a, b) in declared:
                continue
            blo, bhi = aabbs[b]
            depth = np.minimum(ahi, bhi) - np.maximum(alo, blo)
            if depth.min() > tolerance + 1e-9:
                problems.append(f"{a} and {b} overlap by {depth.min():.3f} m")
    return problems


# ============================================================================ preference text
_ADJECTIVES = ("cozy", "bright", "airy", "calm", "elegant", "warm", "inviting", "relaxed", "stylish", "practical")


def _preference(room: _Room, rng: np.random.Generator) -> str:
    style = _STYLE_NAMES.get(room.style, room.style)
    area = room.X * room.Y
    adjectives = list(_ADJECTIVES)
    if room.dense or area < 12:
        adjectives += ["compact", "snug"] * 2
    elif area > 30:
        adjectives += ["spacious", "open"] * 2
    adj = adjectives[int(rng.integers(len(adjectives)))]
    article = "An" if adj[0] in "aeiou" else "A"
    colours = STYLE_COLOUR_PHRASES[room.style]
    colour = colours[int(rng.integers(len(colours)))]
    wishes = _wishes(room)
    k = 1 if len(wishes) < 2 or rng.random() < 0.5 else 2
    picks = [wishes[i] for i in sorted(rng.choice(len(wishes), size=k, replace=False))]
    tail = " and ".join(picks)
    return f"{article} {adj} {style} {_ROOM_PHRASES[room.room_type]} in {colour} {tail}."


def _wishes(room: _Room) -> list[str]:
    has = room.has
    w: list[str] = []
    beds = [o for o in room.objs if o.cat.name in ("bed", "single_bed", "bunk_bed")]
    if beds:
        w.append("with space to walk around the bed")
        if beds[0].wall:
            w.append(f"with the bed against the {beds[0].wall.replace('_', ' ')}")
    if room.count("nightstand") == 2:
        w.append("with a nightstand on each side of the bed")
    if has("crib"):
        w.append("with a safe corner for the baby's crib")
    if (has("sofa") or has("loveseat") or has("sectional_sofa")) and has("tv"):
        w.append("with the sofa facing the TV")
    if has("coffee_table"):
        w.append("with a coffee table within reach of the sofa")
    chairs = room.count("dining_chair")
    if has("dining_table") and chairs:
        w.append(f"with a dining table that seats {chairs}")
    if has("pendant_light") or has("chandelier"):
        w.append("with a statement light hanging above the table")
    if has("desk"):
        w.append("with a quiet desk for working")
    if room.count("bookshelf") + room.count("low_bookcase") >= 2:
        w.append("with plenty of shelf space for books")
    if room.count("plant") >= 1:
        w.append("with some greenery in the corners")
    if has("kitchen_island"):
        w.append("with an island for quick breakfasts")
    if has("stove") or has("refrigerator"):
        w.append("with an efficient counter run along one wall")
    if has("play_mat") or has("toy_chest"):
        w.append("with room to play on the floor")
    if has("armchair") and has("floor_lamp"):
        w.append("with a reading corner")
    if has("projector_screen"):
        w.append("with every seat facing the screen")
    if has("easel"):
        w.append("with an easel and space to paint")
    if has("library_table"):
        w.append("with a large table for studying")
    if has("fireplace"):
        w.append("with seating gathered around the fireplace")
    if has("rug"):
        w.append("with a soft rug underfoot")
    if has("meeting_table"):
        w.append("with a table for team meetings")
    w.append("that fits everything without feeling cramped" if room.dense else "with space to move around")
    return w
