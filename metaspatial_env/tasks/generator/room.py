"""The room under construction: the placement toolkit every group builder uses.

:class:`Room` holds the seeded random stream, the object budget and the objects placed so far,
and offers the primitives: random draws, specs, poses (against a wall, beside an anchor, on top
of a host, wall-mounted, on the ceiling), the fit check (bounds, penetration, front clearances)
and rule emission (a rule is written only when :mod:`metaspatial_env.relations` says the placed
boxes meet it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ...geometry import WALL_FACING_INTO_ROOM, Box
from ...relations import facing_violation, layout_rule_violation, object_rule_violation
from ...schema import LayoutRule, ObjectRule
from ..catalog import CATEGORIES, pick_material, pick_style
from .constants import CEILING_GAP, EPS, FRONT_CLEARANCE, OPPOSITE_WALL, WALL_GAP
from .records import Placed, Spec, axes, is_flat, overlap, r4, rect_overlap


class Room:
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
        self.objs: list[Placed] = []
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

    def spec(self, cat_name: str, size: tuple[float, float, float] | None = None) -> Spec:
        cat = CATEGORIES[cat_name]
        size = size if size is not None else cat.sample_size(self.rng)
        return Spec(cat, tuple(size), pick_style(cat, self.style, self.rng), pick_material(cat, self.style, self.rng))

    def clamp_spec(
        self,
        spec: Spec,
        max_length: float | None = None,
        max_width: float | None = None,
        max_height: float | None = None,
    ) -> Spec:
        L, W, H = spec.size
        if max_length is not None:
            L = min(L, math.floor(max_length * 100) / 100)
        if max_width is not None:
            W = min(W, math.floor(max_width * 100) / 100 if max_width >= 0.1 else math.floor(max_width * 1000) / 1000)
        if max_height is not None:
            H = min(H, math.floor(max_height * 100) / 100)
        return Spec(spec.cat, (L, W, H), spec.style, spec.material)

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
        best: tuple[int, list[Placed], list] | None = None
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
        spec: Spec,
        x: float,
        y: float,
        z: float,
        heading: float,
        *,
        on_floor: bool = True,
        wall: str | None = None,
        allow: tuple[int, ...] = (),
        zone_ok: tuple[int, ...] = (),
    ) -> Placed:
        heading = float(int(round(heading)) % 360)
        obj = Placed(self._next_key, spec, r4(x), r4(y), r4(z), heading, on_floor, wall, tuple(allow), tuple(zone_ok))
        self._next_key += 1
        L, W, H = spec.size
        ex, ey = (L, W) if heading % 180 == 0 else (W, L)
        obj.lo = (obj.x - ex / 2, obj.y - ey / 2, obj.z - H / 2)
        obj.hi = (obj.x + ex / 2, obj.y + ey / 2, obj.z + H / 2)
        obj.box = Box(spec.size, (obj.x, obj.y, obj.z), heading)
        depth = FRONT_CLEARANCE.get(spec.cat.name)
        if depth and on_floor:
            if self.dense:
                depth *= 0.6
            (fx, fy), _ = axes(heading)
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
        spec: Spec,
        wall: str,
        t: float,
        *,
        z: float | None = None,
        on_floor: bool = True,
        zone_ok: tuple[int, ...] = (),
        allow: tuple[int, ...] = (),
    ) -> Placed:
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
        ends = [r4(lo), r4(hi)]
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
        anchor: Placed,
        spec: Spec,
        side: str,
        gap: float,
        *,
        align: str = "center",
        offset: float = 0.0,
        heading: float | None = None,
        z: float | None = None,
        on_floor: bool = True,
        zone_ok: tuple[int, ...] | None = None,
    ) -> Placed:
        """A pose on one side (``left``/``right``/``front``/``behind``, in the anchor's frame) of ``anchor``.

        ``align`` lines the object up with the anchor's ``back``, ``center`` or ``front`` (for
        left/right) or is ignored (front/behind use ``offset`` along the anchor's length).
        """
        heading = anchor.heading if heading is None else heading
        (fx, fy), (rx, ry) = axes(anchor.heading)
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

    def on_top_candidates(self, host: Placed, spec: Spec, where: str = "any") -> list[Placed]:
        """Poses resting on ``host``'s top, fully over its footprint (same heading as the host)."""
        (fx, fy), (rx, ry) = axes(host.heading)
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

    def mounted(self, spec: Spec, wall: str, t: float, z_bottom: float) -> Placed:
        """Wall-mounted (off the floor) against ``wall`` with its bottom at ``z_bottom``."""
        return self.at_wall(spec, wall, t, z=round(z_bottom, 3) + spec.size[2] / 2, on_floor=False)

    def at_ceiling(self, spec: Spec, x: float, y: float, heading: float = 0.0) -> Placed:
        z = self.Z - CEILING_GAP - spec.size[2] / 2
        return self.make(spec, x, y, z, heading, on_floor=False)

    # ------------------------------------------------------------------ checks
    def fits(self, obj: Placed, *, ignore_zones: bool = False, rug: bool = False) -> bool:
        """Inside the room, no penetration of placed objects (except allowed pairs), clearances kept."""
        if self.left() < 1:
            return False
        lo, hi = obj.lo, obj.hi
        if lo[0] < -EPS or lo[1] < -EPS or lo[2] < -EPS:
            return False
        if hi[0] > self.X + EPS or hi[1] > self.Y + EPS or hi[2] > self.Z + EPS:
            return False
        zone = obj.zone
        if zone is not None and (zone[0] < -EPS or zone[1] < -EPS or zone[2] > self.X + EPS or zone[3] > self.Y + EPS):
            return False
        floorish = obj.on_floor and not rug
        for o in self.objs:
            if o.key in obj.allow or obj.key in o.allow:
                continue
            if (
                overlap(lo[0], hi[0], o.lo[0], o.hi[0]) > EPS
                and overlap(lo[1], hi[1], o.lo[1], o.hi[1]) > EPS
                and overlap(lo[2], hi[2], o.lo[2], o.hi[2]) > EPS
            ):
                return False
            if ignore_zones:
                continue
            # the new object may not stand in another's front clearance, nor put its clearance on one
            if floorish and o.zone is not None and o.key not in obj.zone_ok and rect_overlap(lo, hi, o.zone):
                return False
            if (
                zone is not None
                and o.on_floor
                and not is_flat(o)
                and obj.key not in o.zone_ok
                and rect_overlap(o.lo, o.hi, zone)
            ):
                return False
        return True

    def add(self, obj: Placed) -> Placed:
        self.objs.append(obj)
        return obj

    def place(self, candidates: Iterable[Placed], **fit_kw) -> Placed | None:
        """Add the first candidate that fits."""
        for c in candidates:
            if self.fits(c, **fit_kw):
                return self.add(c)
        return None

    # ------------------------------------------------------------------ rules (emitted only when met)
    def rule(self, subj: Placed, prep: str, target: Placed, adjacent: bool = True) -> bool:
        v = object_rule_violation(subj.box, ObjectRule("_", prep, adjacent), target.box)
        if v <= 0.0:
            subj.object_rules.append((target.key, prep, adjacent))
            return True
        return False

    def layout(self, subj: Placed, element: str, prep: str = "on") -> bool:
        v = layout_rule_violation(subj.box, LayoutRule(element, prep), (self.X, self.Y, self.Z))
        if v <= 0.0:
            subj.layout_rules.append((element, prep))
            return True
        return False

    def face(self, subj: Placed, target: Placed | str) -> bool:
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

    def face_out(self, obj: Placed) -> bool:
        """Face the wall opposite the one the object stands against."""
        return obj.wall is not None and self.face(obj, OPPOSITE_WALL[obj.wall])

    def side_of(self, subj: Placed, target: Placed) -> str | None:
        """Which of left/right/in front/behind ``subj`` satisfies relative to ``target`` (or None)."""
        for prep in ("left of", "right of", "in front", "behind"):
            if object_rule_violation(subj.box, ObjectRule("_", prep, False), target.box) <= 0.0:
                return prep
        return None

    def corner_layout(self, obj: Placed) -> bool:
        return obj.wall is not None and self.layout(obj, obj.wall, "in the corner")
