"""Doors and windows for a finished room, placed so that the room's own reference layout keeps them usable.

Openings are drawn after the objects, from their own stream ``default_rng([seed, 1])``, so the
objects, their ids and the reference layout of a room are those it had before rooms had openings.

- **doors**: every room gets one (a second, sometimes, in the larger rooms of the types that have
  two ways in). A door goes where its clearance zone, the ``width x (width + 0.1)`` m rectangle in
  front of it (:meth:`~metaspatial_env.schema.Opening.zone`, the floor its leaf sweeps and a step
  more), holds no object lower than the door's head (rugs and play mats are walked over), and at
  least :data:`CORNER_GAP` from the adjoining walls (failing that, the narrowest door, then one
  right in a corner). It is hinged at the end nearer its corner, so
  that it opens against the wall. When no such spot exists the door goes where its zone is least
  covered (:func:`door_blockage` measures it), which the bundled splits' statistics count.
- **windows**: most rooms get one or two, where no object taller than the sill (and below the
  window's head) stands within :data:`WINDOW_DEPTH` of the window's span; a room with no such
  place gets none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...function import DOOR_ZONE_EXTRA, WINDOW_DEPTH
from ...geometry import WALLS
from ...schema import Opening, wall_length
from .records import Placed, is_flat, overlap
from .room import Room

#: Door sizes: width (m), height (m).
DOOR_WIDTHS = (0.8, 0.85, 0.9)
DOOR_HEIGHTS = (2.0, 2.05, 2.1)
#: Closest a door or window comes to the adjoining wall.
CORNER_GAP = 0.1
WINDOW_CORNER_GAP = 0.2
#: Gap between two openings on one wall.
OPENING_GAP = 0.2
WINDOW_WIDTH = (0.6, 1.8)
WINDOW_SILL = (0.8, 1.0)
#: Gap kept between a door's or window's zone and the objects around it, so that a reward measuring
#: the zones on a grid of its own does not find an object's edge in them.
MARGIN = 0.02
#: Objects whose top comes this close to a window's sill count as taller than it.
SILL_MARGIN = 0.01
#: Room left between a window's head and the ceiling.
WINDOW_HEAD_GAP = 0.3
#: Step of the positions tried along a wall.
STEP = 0.05
#: Chance of any window, and of a second one, per room type (the default otherwise).
WINDOW_CHANCE = {"home_theater": 0.3, "library": 0.75}
DEFAULT_WINDOW_CHANCE = 0.9
SECOND_WINDOW_CHANCE = 0.4
#: Room types that often have a second door, and the floor area (m^2) from which they may.
TWO_DOOR_TYPES = ("living_room", "dining_room", "kitchen", "studio")
TWO_DOOR_AREA = 20.0
SECOND_DOOR_CHANCE = 0.3


#: ``choose_door(free, placed, drawn)``: the door to take among the ``free`` spots found for the next
#: door (every one with a free clearance zone), given the openings ``placed`` so far and the spot
#: ``drawn`` at random; :func:`place_openings` takes ``drawn`` without one.
DoorChooser = Callable[[list[Opening], list[Opening], Opening], Opening]


def place_openings(room: Room, seed: int, choose_door: DoorChooser | None = None) -> list[dict[str, Any]]:
    """The room's openings in their on-disk form (``room.openings``), drawn from ``default_rng([seed, 1])``.

    ``choose_door`` may pick another free spot for a door than the one drawn (the random stream is
    read the same either way); the windows are then placed around the doors chosen."""
    return [o.to_dict() for o in openings_for(room, seed, choose_door)]


def openings_for(room: Room, seed: int, choose_door: DoorChooser | None = None) -> list[Opening]:
    """:func:`place_openings`, as :class:`~metaspatial_env.schema.Opening` records."""
    rng = np.random.default_rng([int(seed), 1])
    size = (room.X, room.Y, room.Z)
    placed: list[Opening] = []
    doors = 1
    if room.room_type in TWO_DOOR_TYPES and room.X * room.Y >= TWO_DOOR_AREA and rng.random() < SECOND_DOOR_CHANCE:
        doors = 2
    for n in range(1, doors + 1):
        width = float(rng.choice(DOOR_WIDTHS))
        height = float(rng.choice(DOOR_HEIGHTS))
        door = _place_door(room, size, placed, f"door_{n}", width, height, rng, fallback=n == 1,
                           choose=choose_door)
        if door is not None:
            placed.append(door)
    windows = 0
    if rng.random() < WINDOW_CHANCE.get(room.room_type, DEFAULT_WINDOW_CHANCE):
        windows = 2 if rng.random() < SECOND_WINDOW_CHANCE else 1
    for n in range(1, windows + 1):
        window = _place_window(room, size, placed, f"window_{n}", rng)
        if window is None:
            break
        placed.append(window)
    return placed


def _blockers(room: Room, top: float, bottom: float = 0.0) -> list[Placed]:
    """Objects reaching into the heights ``bottom``..``top`` that one cannot walk over (rugs can be)."""
    return [o for o in room.objs if not is_flat(o) and o.lo[2] < top and o.hi[2] > bottom]


def _covered(zone, objs: list[Placed], margin: float = 0.0) -> float:
    """Floor area of ``zone`` (four corners of an axis-aligned rectangle), grown by ``margin`` on every
    side, covered by the objects' footprints."""
    xs, ys = [p[0] for p in zone], [p[1] for p in zone]
    x0, x1, y0, y1 = min(xs) - margin, max(xs) + margin, min(ys) - margin, max(ys) + margin
    area = 0.0
    for o in objs:
        dx, dy = overlap(x0, x1, o.lo[0], o.hi[0]), overlap(y0, y1, o.lo[1], o.hi[1])
        if dx > 1e-6 and dy > 1e-6:
            area += dx * dy
    return area


def door_blockage(room_size, door: Opening, objs: list[Placed], margin: float = 0.0) -> float:
    """Floor area (m^2) of the door's clearance zone (grown by ``margin``) covered by ``objs`` (0: a usable door)."""
    return _covered(door.zone(room_size, door.width + DOOR_ZONE_EXTRA), objs, margin)


def _free_on_wall(candidate: Opening, placed: list[Opening]) -> bool:
    return all(o.wall != candidate.wall
               or abs(o.offset - candidate.offset) >= (o.width + candidate.width) / 2.0 + OPENING_GAP
               for o in placed)


def _positions(size, wall: str, width: float, corner_gap: float) -> list[float]:
    length = wall_length(wall, size)
    lo, hi = width / 2.0 + corner_gap, length - width / 2.0 - corner_gap
    if hi < lo:
        return []
    n = int(np.floor((hi - lo) / STEP + 1e-9))
    return [round(lo + i * STEP, 3) for i in range(n + 1)]


def _hinge(size, wall: str, offset: float) -> str:
    """The end nearer its corner, so the open leaf lies against the nearer wall."""
    return "start" if offset <= wall_length(wall, size) / 2.0 else "end"


def _place_door(room: Room, size, placed: list[Opening], oid: str, width: float, height: float,
                rng: np.random.Generator, *, fallback: bool, choose: DoorChooser | None = None) -> Opening | None:
    """A door whose clearance zone is free (drawn at random, or as ``choose`` picks among the free
    spots); else (``fallback``) the least blocked spot, else None."""
    objs = _blockers(room, height)
    scored = []
    # a free spot away from the corners, then the narrowest door there, then one right in a corner
    for corner_gap, w in ((CORNER_GAP, width), (CORNER_GAP, DOOR_WIDTHS[0]), (0.0, DOOR_WIDTHS[0])):
        free = []
        for wall in WALLS:
            for offset in _positions(size, wall, w, corner_gap):
                door = Opening(oid, "door", wall, offset, w, height, 0.0, _hinge(size, wall, offset))
                if not _free_on_wall(door, placed) or _zones_meet(size, door, placed):
                    continue
                blocked = door_blockage(size, door, objs, MARGIN)
                (free if blocked == 0.0 else scored).append((blocked, door))
        if free:
            drawn = free[int(rng.integers(len(free)))][1]
            return drawn if choose is None else choose([d for _, d in free], placed, drawn)
    if not fallback or not scored:
        return None
    return min(scored, key=lambda item: (item[0], WALLS.index(item[1].wall), item[1].offset, item[1].width))[1]


def _zones_meet(size, door: Opening, placed: list[Opening]) -> bool:
    """Whether the door's clearance zone meets another door's (two doors must not swing into each other)."""
    mine = door.zone(size, door.width + DOOR_ZONE_EXTRA)
    for other in placed:
        if other.kind != "door":
            continue
        theirs = other.zone(size, other.width + DOOR_ZONE_EXTRA)
        xs = overlap(min(p[0] for p in mine), max(p[0] for p in mine), min(p[0] for p in theirs),
                     max(p[0] for p in theirs))
        ys = overlap(min(p[1] for p in mine), max(p[1] for p in mine), min(p[1] for p in theirs),
                     max(p[1] for p in theirs))
        if xs > -OPENING_GAP and ys > -OPENING_GAP:
            return True
    return False


def _place_window(room: Room, size, placed: list[Opening], oid: str, rng: np.random.Generator) -> Opening | None:
    """A window with nothing taller than its sill in front of it, shrunk until one fits; None if none does."""
    sill = round(float(rng.uniform(*WINDOW_SILL)) / STEP) * STEP
    head_room = room.Z - sill - WINDOW_HEAD_GAP
    if head_room < 0.5:
        return None
    height = round(np.floor(float(rng.uniform(min(1.0, head_room), min(1.6, head_room))) / STEP) * STEP, 2)
    longest = max(room.X, room.Y)
    width = round(float(rng.uniform(WINDOW_WIDTH[0], min(WINDOW_WIDTH[1], 0.45 * longest))) / STEP) * STEP
    # a centimetre of margin below the sill: a bowl whose top is the sill to the last float bit is
    # one a reward's own rounding may call taller
    objs = _blockers(room, sill + height, sill - SILL_MARGIN)
    while width >= WINDOW_WIDTH[0] - 1e-9:
        width = round(width, 2)
        free = []
        for wall in WALLS:
            for offset in _positions(size, wall, width, WINDOW_CORNER_GAP):
                window = Opening(oid, "window", wall, offset, width, height, round(sill, 2), None)
                if _free_on_wall(window, placed) and _covered(window.zone(size, WINDOW_DEPTH), objs, MARGIN) == 0.0:
                    free.append(window)
        if free:
            return free[int(rng.integers(len(free)))]
        width -= 0.2
    return None


__all__ = ["DoorChooser", "door_blockage", "openings_for", "place_openings"]
