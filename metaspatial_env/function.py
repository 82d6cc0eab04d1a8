"""Whether a room stays usable (DESIGN.md section 6, the ``function`` term): doors that open, windows
left free, furniture a person can walk up to and use.

The rules, after the layout evaluators people trust for exactly this (SceneEval's navigability,
accessibility and opening clearance; SceneTeract's reachability and clearance checks):

- **door**: a door's clearance zone (:meth:`~metaspatial_env.schema.Opening.zone`, ``width`` x
  ``width +`` :data:`DOOR_ZONE_EXTRA`: the floor its leaf sweeps and a step more) holds no object
  that one cannot walk over, below the door's head.
- **window**: nothing taller than the sill stands within :data:`WINDOW_DEPTH` of a window's span.
- **access**: a person (:data:`PERSON_WIDTH` wide) who walks in through a door can come within
  :data:`REACH` of every object's access side: a bed's long sides, a seat's or a desk's front,
  a sofa's front, a wardrobe's or a cabinet's doors (:func:`access_kind` reads it off the name).
- **clearance**: what opens (wardrobe doors, drawers, a fridge) keeps :data:`OPEN_DEPTH` in front
  of it free, and what is sat at (a desk, a vanity) keeps :data:`SIT_DEPTH` free of anything but
  seats.

Zones are measured exactly, as polygon areas (:func:`~metaspatial_env.geometry.clip_convex`), each
shrunk by the tolerance so an object touching a zone's edge does not block it. Reach is measured on
a floor occupancy grid of its own (``RewardConfig.function_grid`` cells), independent of
rendering: a cell is walkable when its centre is at least half a person's width from every wall
and from the footprint of every object one cannot walk over (the grid eroded by a person's width,
done exactly per cell), the walkable cells connected to a door's threshold are the reachable
floor. Seats (chairs, stools, benches, ottomans, bean bags) are pulled out to be used and walked
round, so they never block reach; they still block a door, a window and a wardrobe's doors.

Every rule scores in [0, 1]: a zone rule is 1 minus the share of its zone covered (partial credit,
strictly lower for every square centimetre more), an access rule is 1 when reached and decays
with the distance from its access side to the reachable floor (:data:`ACCESS_SCALE`), 0 when no
floor is reachable at all. The term is their mean; a rule about an object that is not placed yet
scores 0. A room with no openings (the MetaSpatial/IDesign data) has no function term: reach is
defined from a door.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .geometry import Box, Boxes, clip_convex, polygon_area
from .schema import Opening, Task

#: Depth (m) beyond a door's width that its clearance zone reaches into the room.
DOOR_ZONE_EXTRA = 0.1
#: Depth (m) of the strip in front of a window that must hold nothing taller than the sill.
WINDOW_DEPTH = 0.5
#: A person's width (m): walkable floor keeps half of it from every wall and obstacle.
PERSON_WIDTH = 0.4
#: How far (m) from an access side a person may stand (the centre of the person) and still use it.
REACH = 0.5
#: Floor clearance (m) in front of what opens (doors, drawers, a fridge).
OPEN_DEPTH = 0.5
#: Floor clearance (m) in front of what is sat at (a desk, a vanity), where only seats may stand.
SIT_DEPTH = 0.6
#: Distance (m) from the reachable floor at which an access rule's score has decayed to 1/e.
ACCESS_SCALE = 0.5
#: Objects no taller than this (m) are walked over (rugs, play mats).
FLAT_HEIGHT = 0.03
#: Objects whose underside is higher than this (m) are walked under (wall cabinets, pendant lights).
WALK_HEIGHT = 1.0

#: What each object's name says about its use, by the last word of its id (``dining_chair_2`` ->
#: ``chair``), then by the whole name: ``(access side, clearance)``. Access sides: ``front``,
#: ``sides`` (either long side, as for a bed), ``any``; clearance: ``open``, ``sit`` or None.
USE_BY_WORD: Mapping[str, tuple[str, str | None]] = {
    "bed": ("sides", None), "crib": ("sides", None),
    "sofa": ("front", None), "loveseat": ("front", None), "couch": ("front", None),
    "armchair": ("front", None), "recliner": ("front", None),
    "chair": ("any", None), "stool": ("any", None), "bench": ("any", None), "ottoman": ("any", None),
    "bag": ("any", None), "pouf": ("any", None),
    "desk": ("front", "sit"), "vanity": ("front", "sit"),
    "wardrobe": ("front", "open"), "closet": ("front", "open"), "armoire": ("front", "open"),
    "dresser": ("front", "open"), "cabinet": ("front", "open"), "sideboard": ("front", "open"),
    "refrigerator": ("front", "open"), "fridge": ("front", "open"), "dishwasher": ("front", "open"),
    "stove": ("front", "open"), "oven": ("front", "open"), "bookshelf": ("front", None),
    "bookcase": ("front", None), "nightstand": ("front", None), "chest": ("front", None),
    "piano": ("front", None),
}
USE_BY_NAME: Mapping[str, tuple[str, str | None]] = {
    "vanity_table": ("front", "sit"), "drafting_table": ("front", "sit"), "work_table": ("front", "sit"),
    "dining_table": ("any", None), "meeting_table": ("any", None), "library_table": ("any", None),
    "kids_table": ("any", None), "kitchen_island": ("any", None), "kitchen_counter": ("front", None),
    "sink_cabinet": ("front", "open"), "bean_bag": ("any", None), "toy_chest": ("front", None),
}
#: Access kinds that never block reach (seats are pulled out and walked round).
SEAT_WORDS = frozenset({"chair", "stool", "bench", "ottoman", "bag", "pouf"})


def base_name(object_id: str) -> str:
    """An object's category name: its id without a trailing ``_<n>``."""
    head, _, tail = object_id.rpartition("_")
    return head if head and tail.isdigit() else object_id


def access_kind(object_id: str) -> tuple[str | None, str | None]:
    """``(access side, clearance)`` of an object, read off its name (None, None: no rule)."""
    name = base_name(object_id)
    if name in USE_BY_NAME:
        return USE_BY_NAME[name]
    return USE_BY_WORD.get(name.rpartition("_")[2], (None, None))


def is_seat(object_id: str) -> bool:
    name = base_name(object_id)
    return name == "bean_bag" or name.rpartition("_")[2] in SEAT_WORDS


@dataclass(frozen=True)
class FunctionRule:
    """One function rule's outcome: the door, window or object it is about, its score in [0, 1],
    whether it holds, and what is wrong (for feedback)."""

    kind: str
    """``door``, ``window``, ``access`` or ``clearance``."""
    subject: str
    """The opening's id (door, window) or the object's (access, clearance)."""
    score: float
    satisfied: bool
    blockers: tuple[tuple[str, float], ...] = ()
    """Objects in the zone and how deep (m) each reaches into it, deepest first."""
    distance: float = 0.0
    """Access: metres between the access side and the reachable floor (inf: no floor reachable)."""


@dataclass(frozen=True)
class FunctionReport:
    """The rules, the term (their mean) and the room's usability rates for evaluation."""

    rules: tuple[FunctionRule, ...]
    term: float
    navigability: float
    """Share of the walkable floor that is reachable from a door."""
    depth: Mapping[str, float]
    """Each zone's depth (m), by the door's or window's id or the object's (clearance)."""

    def rate(self, *kinds: str) -> float:
        """Share of the rules of these kinds that hold (1 when there are none)."""
        rules = [r for r in self.rules if r.kind in kinds]
        return sum(r.satisfied for r in rules) / len(rules) if rules else 1.0

    @property
    def metrics(self) -> dict[str, float]:
        """The room's SceneEval-style rates: navigability, accessibility, opening clearance."""
        return {"navigability": self.navigability, "accessibility": self.rate("access"),
                "opening_clearance": self.rate("door", "window"), "front_clearance": self.rate("clearance")}


# ----------------------------------------------------------------------------- zones
def door_depth(door: Opening) -> float:
    return door.width + DOOR_ZONE_EXTRA


def _rect(corners) -> tuple[float, float, float, float]:
    xs = [p[0] for p in corners]
    ys = [p[1] for p in corners]
    return min(xs), max(xs), min(ys), max(ys)


def _ccw(x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=float)


def zone_coverage(zone: np.ndarray, full: np.ndarray, inward, footprints: Sequence[tuple[str, np.ndarray]]
                  ) -> tuple[float, list[tuple[str, float]]]:
    """Share of ``zone`` (a counter-clockwise rectangle: the ``full`` zone shrunk by the
    tolerance) covered by the footprints, summed over objects, and for each covering object how
    much of the full zone's depth along ``inward`` it takes away: the full depth less the distance
    from the zone's base (the wall, or the front of a cabinet) to the object, deepest first."""
    if len(zone) < 3:
        return 0.0, []
    # zones are rectangles: side times side
    area = math.hypot(*(zone[1] - zone[0])) * math.hypot(*(zone[3] - zone[0]))
    if area <= 0.0 or not footprints:
        return 0.0, []
    inward = np.asarray(inward, dtype=float)
    along = full @ inward
    base, depth = float(along.min()), float(along.max() - along.min())
    covered, blockers = 0.0, []
    zlo, zhi = zone.min(axis=0), zone.max(axis=0)
    for oid, fp in footprints:
        if (fp.max(axis=0) <= zlo).any() or (fp.min(axis=0) >= zhi).any():
            continue
        part_area = polygon_area(clip_convex(fp, zone))
        if part_area <= 1e-9:
            continue
        covered += part_area
        nearest = float(min(clip_convex(fp, full) @ inward)) - base
        blockers.append((oid, min(depth, max(0.0, depth - nearest))))
    blockers.sort(key=lambda b: -b[1])
    return covered / area, blockers


def _zone_polygons(corners, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """An axis-aligned zone (four corners), counter-clockwise, shrunk by ``tolerance`` on every side
    and whole."""
    x0, x1, y0, y1 = _rect(corners)
    full = _ccw(x0, x1, y0, y1)
    x0, x1, y0, y1 = x0 + tolerance, x1 - tolerance, y0 + tolerance, y1 - tolerance
    if x1 <= x0 or y1 <= y0:
        return np.zeros((0, 2)), full
    return _ccw(x0, x1, y0, y1), full


def front_zone(box: Box, depth: float, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """The strip ``depth`` deep in front of a box, as wide as the box: shrunk by ``tolerance`` on
    every side, and whole (both counter-clockwise)."""
    b = Boxes.from_box(box)
    fwd, right = b.fwd[0], b.right[0]
    hl, hw = float(b.hl), float(b.hw)
    c = b.center[0] + fwd * hw

    def strip(half: float, near: float, far: float) -> np.ndarray:
        # right x forward = +1, so right-then-forward corners run counter-clockwise
        a, z = c + fwd * near, c + fwd * far
        return np.array([a - right * half, a + right * half, z + right * half, z - right * half])

    full = strip(hl, 0.0, depth)
    if hl <= tolerance or depth <= 2 * tolerance:
        return np.zeros((0, 2)), full
    return strip(hl - tolerance, tolerance, depth - tolerance), full


# ----------------------------------------------------------------------------- the grid
def floor_grid(room_size, resolution: float) -> tuple[np.ndarray, np.ndarray]:
    """Cell centres of the floor grid, as x (nx,) and y (ny,) arrays."""
    nx = max(1, int(math.ceil(float(room_size[0]) / resolution - 1e-9)))
    ny = max(1, int(math.ceil(float(room_size[1]) / resolution - 1e-9)))
    xs = np.minimum((np.arange(nx) + 0.5) * resolution, float(room_size[0]))
    ys = np.minimum((np.arange(ny) + 0.5) * resolution, float(room_size[1]))
    return xs, ys


def _windows(boxes: Boxes, pad: float, xs: np.ndarray, ys: np.ndarray, resolution: float):
    """The grid cells around each box (its footprint's bounding box grown by ``pad``), all boxes at
    once: flat cell indices (N, wx, wy) and the cell centres in each box's frame (u along its
    length, v along its width). Windows share one size, the largest; cells beyond the grid's edge
    repeat the edge cell (computed with that cell's own centre, so they agree)."""
    ex = np.asarray(boxes.extent(np.array([1.0, 0.0]))) + pad
    ey = np.asarray(boxes.extent(np.array([0.0, 1.0]))) + pad
    cx, cy = boxes.center[:, 0], boxes.center[:, 1]
    i0 = np.clip(np.floor((cx - ex) / resolution).astype(int), 0, len(xs) - 1)
    j0 = np.clip(np.floor((cy - ey) / resolution).astype(int), 0, len(ys) - 1)
    wx = int(np.ceil(2 * ex.max() / resolution)) + 2
    wy = int(np.ceil(2 * ey.max() / resolution)) + 2
    ii = np.minimum(i0[:, None] + np.arange(wx), len(xs) - 1)
    jj = np.minimum(j0[:, None] + np.arange(wy), len(ys) - 1)
    dx = xs[ii][:, :, None] - cx[:, None, None]
    dy = ys[jj][:, None, :] - cy[:, None, None]
    r, f = boxes.right[:, None, None, :], boxes.fwd[:, None, None, :]
    u = dx * r[..., 0] + dy * r[..., 1]
    v = dx * f[..., 0] + dy * f[..., 1]
    flat = ii[:, :, None] * len(ys) + jj[:, None, :]
    return flat, u, v


def _half(boxes: Boxes, name: str) -> np.ndarray:
    return np.broadcast_to(getattr(boxes, name), boxes.shape)[:, None, None]


def walkable(room_size, obstacles: Boxes | None, resolution: float, radius: float = PERSON_WIDTH / 2.0) -> np.ndarray:
    """(nx, ny) cells whose centre lies at least ``radius`` from every wall and obstacle footprint:
    the floor eroded by a person's width, computed per cell (a Minkowski sum, not a pixel erosion)."""
    xs, ys = floor_grid(room_size, resolution)
    X, Y = float(room_size[0]), float(room_size[1])
    ok = (((xs >= radius) & (xs <= X - radius))[:, None]) & (((ys >= radius) & (ys <= Y - radius))[None, :])
    if obstacles is None or len(obstacles) == 0:
        return ok
    flat, u, v = _windows(obstacles, radius + resolution, xs, ys, resolution)
    du = np.maximum(np.abs(u) - _half(obstacles, "hl"), 0.0)
    dv = np.maximum(np.abs(v) - _half(obstacles, "hw"), 0.0)
    ok.ravel()[flat[du * du + dv * dv < radius * radius]] = False
    return ok


def threshold_cells(door: Opening, room_size, free: np.ndarray, resolution: float) -> np.ndarray:
    """Walkable cells just inside a door: within its span, up to two cells deeper than a person's
    half width from the wall."""
    xs, ys = floor_grid(room_size, resolution)
    x0, x1, y0, y1 = _rect(door.zone(room_size, PERSON_WIDTH / 2.0 + 2 * resolution))
    mask = ((xs >= x0) & (xs <= x1))[:, None] & ((ys >= y0) & (ys <= y1))[None, :]
    return mask & free


def reachable_floor(room_size, openings: Sequence[Opening], obstacles: Boxes | None,
                    resolution: float) -> tuple[np.ndarray, np.ndarray]:
    """(walkable, reachable) cell masks: the eroded free floor, and its part connected to a door."""
    free = walkable(room_size, obstacles, resolution)
    labels, _ = ndimage.label(free)
    seeds = np.zeros_like(free)
    for door in openings:
        if door.kind == "door":
            seeds |= threshold_cells(door, room_size, free, resolution)
    keep = np.zeros(int(labels.max()) + 1, dtype=bool)
    keep[labels[seeds]] = True
    keep[0] = False  # label 0 is the blocked floor
    reached = keep[labels]
    return free, reached


def walk_obstacles(task: Task, boxes: Mapping[str, Box]) -> Boxes | None:
    """The boxes a person walks round (no rugs, nothing above the hips, no seats)."""
    blocking = [boxes[oid] for oid in task.object_ids if blocks_walking(boxes[oid]) and not is_seat(oid)]
    return Boxes.from_boxes(blocking) if blocking else None


def blocks_walking(box: Box) -> bool:
    """Whether a person must walk round it: not flat on the floor, not hanging above the hips."""
    lo, hi = box.z_range
    return hi - max(lo, 0.0) > FLAT_HEIGHT and lo < WALK_HEIGHT


def access_distances(boxes: Boxes, sides: Sequence[str], reached: np.ndarray, room_size,
                     resolution: float) -> np.ndarray:
    """Distance (m) from the reachable floor (cell mask ``reached``) to where a person uses each box
    (one access side per box): within :data:`REACH` of its front, of either long side, or of any
    side. 0 when a reachable cell's centre lies there; otherwise the least, over the cells around
    the box, of the cell's distance to that place plus its grid distance to the reachable floor;
    infinite when nothing is reachable."""
    out = np.full(len(boxes), math.inf)
    if not reached.any() or len(boxes) == 0:
        return out
    xs, ys = floor_grid(room_size, resolution)
    sides = np.asarray(sides)
    groups = []
    for side in ("front", "sides", "any"):
        rows = np.flatnonzero(sides == side)
        if len(rows):
            group = boxes[rows]
            flat, u, v = _windows(group, REACH + resolution, xs, ys, resolution)
            gap = side_gaps(side, u, v, _half(group, "hl"), _half(group, "hw")).reshape(len(rows), -1)
            flat = flat.reshape(len(rows), -1)
            hit = ((gap <= 0.0) & reached.ravel()[flat]).any(axis=1)
            out[rows[hit]] = 0.0
            groups.append((rows[~hit], gap[~hit], flat[~hit]))
    if any(len(rows) for rows, _, _ in groups):  # only then the distances to the reachable floor
        to_reached = ndimage.distance_transform_edt(~reached, sampling=resolution).ravel()
        for rows, gap, flat in groups:
            if len(rows):
                out[rows] = (gap + to_reached[flat]).min(axis=1)
    return out


def side_gaps(side: str, u: np.ndarray, v: np.ndarray, hl, hw) -> np.ndarray:
    """Distance from points (u, v in a box's frame) to the place a person uses the box from."""
    au, av = np.abs(u), np.abs(v)
    if side == "front":  # ahead of the front face, up to REACH beyond it
        return np.hypot(np.maximum(au - hl, 0.0), np.maximum(hw - v, 0.0) + np.maximum(v - hw - REACH, 0.0))
    if side == "sides":  # beside either long side, up to REACH out from it
        # a box longer front to back (a bed) has its long sides at u = +-hl, running along v
        sides_at_u = hl <= hw
        run, out = np.where(sides_at_u, av, au), np.where(sides_at_u, au, av)
        half_run, half_out = np.where(sides_at_u, hw, hl), np.where(sides_at_u, hl, hw)
        return np.hypot(np.maximum(run - half_run, 0.0),
                        np.maximum(half_out - out, 0.0) + np.maximum(out - half_out - REACH, 0.0))
    # anywhere within REACH of its footprint
    return np.maximum(np.hypot(np.maximum(au - hl, 0.0), np.maximum(av - hw, 0.0)) - REACH, 0.0)


# ----------------------------------------------------------------------------- the rules
def evaluate_function(task: Task, boxes: Mapping[str, Box], placed: set[str] | frozenset[str],
                      resolution: float = 0.1, tolerance: float = 0.02) -> FunctionReport | None:
    """Every function rule of ``task`` on the (settled) ``boxes``; None for a room without openings."""
    if not task.openings:
        return None
    ids = task.object_ids
    every = Boxes.from_boxes([boxes[oid] for oid in ids])
    fps = every.footprint()
    lo, hi = every.z_lo, every.z_hi
    solid = hi - np.maximum(lo, 0.0) > FLAT_HEIGHT  # not a rug
    walk = solid & (lo < WALK_HEIGHT)  # what a person walks round
    rules: list[FunctionRule] = []
    depth: dict[str, float] = {}

    def covering(zone: np.ndarray, full: np.ndarray, inward, mask: np.ndarray):
        # only footprints whose bounding boxes meet the zone's are clipped
        if len(zone):
            zlo, zhi = zone.min(axis=0), zone.max(axis=0)
            mask = mask & (fps.max(axis=1) > zlo).all(axis=1) & (fps.min(axis=1) < zhi).all(axis=1)
        return zone_coverage(zone, full, inward, [(ids[k], fps[k]) for k in np.flatnonzero(mask)])

    for opening in task.openings:
        if opening.kind == "door":
            zone_depth, mask = door_depth(opening), solid & (lo < opening.height)
        else:
            zone_depth = WINDOW_DEPTH
            mask = (lo < opening.sill + opening.height) & (hi > opening.sill + tolerance / 2)
        depth[opening.id] = zone_depth
        zone, full = _zone_polygons(opening.zone(task.size, zone_depth), tolerance)
        share, blockers = covering(zone, full, opening.inward(), mask)
        rules.append(FunctionRule(opening.kind, opening.id, max(0.0, 1.0 - share), share <= 0.0, tuple(blockers)))

    seats = np.array([is_seat(oid) for oid in ids])
    free, reached = reachable_floor(task.size, task.openings, every[walk & ~seats] if (walk & ~seats).any() else None,
                                    resolution)
    uses = [access_kind(oid) for oid in ids]
    users = [k for k in range(len(ids)) if uses[k][0] is not None and walk[k]]
    distances = access_distances(every[np.array(users, dtype=int)], [uses[k][0] for k in users], reached,
                                 task.size, resolution) if users else np.zeros(0)
    distance = dict(zip(users, distances.tolist()))
    for k, oid in enumerate(ids):
        side, clearance = uses[k]
        if k in distance:
            d = distance[k]
            score = math.exp(-d / ACCESS_SCALE) if oid in placed else 0.0
            rules.append(FunctionRule("access", oid, score, d <= 0.0 and oid in placed, distance=d))
        if clearance is not None and walk[k]:
            need = OPEN_DEPTH if clearance == "open" else SIT_DEPTH
            depth[oid] = need
            zone, full = front_zone(boxes[oid], need, tolerance)
            mask = walk & (lo < hi[k]) & (np.arange(len(ids)) != k)
            if clearance == "sit":
                mask &= ~seats
            share, blockers = covering(zone, full, every.fwd[k], mask)
            score = max(0.0, 1.0 - share) if oid in placed else 0.0
            rules.append(FunctionRule("clearance", oid, score, share <= 0.0 and oid in placed, tuple(blockers)))
    term = sum(r.score for r in rules) / len(rules)
    navigability = float(reached.sum() / free.sum()) if free.any() else 0.0
    return FunctionReport(tuple(rules), term, navigability, depth)


# ----------------------------------------------------------------------------- feedback
def describe(rule: FunctionRule, report: FunctionReport, task: Task) -> list[tuple[str | None, float, str | None, str]]:
    """What is wrong with one rule, as ``(object id, amount m, other id, text)`` lines for feedback."""
    if rule.satisfied:
        return []
    if rule.kind == "door":
        full = report.depth[rule.subject]
        return [(oid, amount, rule.subject, f"{oid} blocks {rule.subject}: {amount:.2f} m of its {full:.2f} m clearance")
                for oid, amount in rule.blockers]
    if rule.kind == "window":
        opening = task.opening(rule.subject)
        return [(oid, amount, rule.subject,
                 f"{oid} stands in front of {rule.subject}, taller than its {opening.sill:.2f} m sill: move it "
                 f"{amount:.2f} m further from the window or away from its span")
                for oid, amount in rule.blockers]
    if rule.kind == "clearance":
        full = report.depth[rule.subject]
        what = "to open" if access_kind(rule.subject)[1] == "open" else "to sit at it"
        if not rule.blockers:
            return [(rule.subject, 0.0, None, f"{rule.subject} has no valid position yet")]
        return [(rule.subject, amount, oid, f"{oid} stands in front of {rule.subject}: {amount:.2f} m of the "
                 f"{full:.2f} m it needs {what}") for oid, amount in rule.blockers]
    doors = [o.id for o in task.openings if o.kind == "door"]
    where = doors[0] if len(doors) == 1 else "any door"
    side = {"front": "its front", "sides": "either long side", "any": "it"}[access_kind(rule.subject)[0] or "any"]
    if math.isinf(rule.distance):
        return [(rule.subject, 0.0, None, f"{rule.subject} cannot be reached from {where}: no walkable floor "
                 f"leads in from {where}")]
    return [(rule.subject, rule.distance, None, f"{rule.subject} cannot be reached from {where}: the nearest "
             f"floor a person can walk to is {rule.distance:.2f} m from {side}")]


__all__ = [
    "ACCESS_SCALE", "DOOR_ZONE_EXTRA", "FunctionReport", "FunctionRule", "OPEN_DEPTH", "PERSON_WIDTH", "REACH",
    "SIT_DEPTH", "WINDOW_DEPTH", "access_kind", "blocks_walking", "describe", "door_depth", "evaluate_function",
    "is_seat",
    "access_distances", "reachable_floor", "side_gaps", "walk_obstacles", "walkable", "zone_coverage",
]
