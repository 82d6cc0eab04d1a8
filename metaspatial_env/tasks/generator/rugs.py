"""Rugs (and play mats): placed last, under an anchor that asked for one (bed, coffee table,
dining table ...), overlapping only objects that stand wholly on them."""

from __future__ import annotations

from ..catalog import Category
from .constants import EPS
from .records import Placed, Spec, axes, is_flat, rect_overlap
from .room import Room

#: Margins (m) added to the target's length, and (as centred back/front spans) to its width, largest first.
_MARGINS = (1.4, 1.1, 0.8, 0.6, 0.4, 0.2)


def place_rug(room: Room, target_key: int, cat: str) -> int:
    """A rug under a floor object: centred under it, or (beds, sofas) from just past its back
    (clear of nightstands) to beyond its front.

    The rug may only overlap objects that stand fully on it; it is declared ``under`` each of them.
    """
    target = next((o for o in room.objs if o.key == target_key), None)
    if target is None:
        return 0
    valid = _candidates(room, target, room.spec(cat))
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


def _sizes(room: Room, target: Placed, c: Category) -> list[tuple[float, float, float, float]]:
    """(area, length, width, shift towards the target's front) of the rug sizes to try, largest first."""
    tL, tW, _ = target.size
    max_L, max_W = c.length[1] + 0.6, c.width[1] + 0.6
    spans = [(-m / 2, m / 2) for m in _MARGINS]  # (back, front) offsets in the target's frame
    if target.cat.name in ("bed", "single_bed", "bunk_bed"):
        spans = [(b, f) for b in (0.55, 0.7, 0.9) for f in (0.7, 0.5, 0.3)] + spans
    configs = []
    for mL in _MARGINS:
        L = round(min(max(tL + mL, c.length[0]), max_L, room.X, room.Y), 2)
        for b, f in spans:
            W = round(min(max(tW - b + f, c.width[0]), max_W, room.X, room.Y), 2)
            configs.append((L * W, L, W, round((b + f) / 2, 4)))
    configs.sort(key=lambda cfg: -cfg[0])
    return configs


def _candidates(room: Room, target: Placed, spec0: Spec) -> list[tuple[Placed, list[Placed]]]:
    """The two largest rugs (with the objects each covers) that lie under the target and are allowed."""
    c = spec0.cat
    (fx, fy), _ = axes(target.heading)
    valid = []
    seen = set()
    for _, L, W, shift in _sizes(room, target, c):
        if (L, W, shift) in seen:
            continue
        seen.add((L, W, shift))
        spec = Spec(c, (L, W, spec0.size[2]), spec0.style, spec0.material)
        rug = room.make(spec, target.x + shift * fx, target.y + shift * fy, spec.size[2] / 2, target.heading)
        covered = _rug_cover(room, rug, target)
        if covered is not None and any(o is target for o in covered):
            valid.append((rug, covered))
            if len(valid) >= 2:
                break
    return valid


def _rug_cover(room: Room, rug: Placed, target: Placed) -> list[Placed] | None:
    """Floor objects the rug would overlap, or None when one of them (bar the target) is not fully on it."""
    if rug.lo[0] < 0 or rug.lo[1] < 0 or rug.hi[0] > room.X or rug.hi[1] > room.Y:
        return None
    covered = []
    for o in room.objs:
        if not o.on_floor or o.lo[2] > rug.hi[2] + EPS:
            continue
        if not rect_overlap(rug.lo, rug.hi, (o.lo[0], o.lo[1], o.hi[0], o.hi[1])):
            continue
        if is_flat(o):
            return None
        inside = (
            o.lo[0] >= rug.lo[0] - EPS
            and o.lo[1] >= rug.lo[1] - EPS
            and o.hi[0] <= rug.hi[0] + EPS
            and o.hi[1] <= rug.hi[1] + EPS
        )
        if not inside and o is not target:
            return None
        covered.append(o)
    return covered
