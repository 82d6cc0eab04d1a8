"""Candidate poses: the spots, headings and heights an object's rules suggest.

For each object the generator proposes poses from its rules, most natural first (back to the
named wall facing into the room, corners, the middle, beside / in front of / behind an anchor at
a few gaps and offsets in the anchor's frame, on top of it, centred under it, on the ceiling above
it, flush on a wall above it), and a grid over the free floor (or walls) as the fallback. Heights
follow what holds the object: the floor, its support's top, the ceiling or its wall.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from metaspatial_env.geometry import WALL_FACING_INTO_ROOM, WALLS, Boxes, angle_differences, headings_towards, hypots
from metaspatial_env.relations import HEADING_TO_WALL, PERPENDICULAR_WALLS
from metaspatial_env.schema import ObjectRule, TaskObject

from .common import (
    ABOVE_CLEARANCES,
    CEILING_GAP,
    FACING_BACK,
    FAR_GAPS,
    GRID_POINTS,
    INNER,
    NEAR_GAPS,
    SIDES,
    WALL_GAP,
    WALL_MOUNT_HEIGHT,
    X_AXIS,
    Y_AXIS,
    Pose,
)
from .scene import SceneGraph


class CandidateGenerator(SceneGraph):
    """Candidate poses for one object given the placed ones (a part of :class:`~.solver.LayoutSolver`)."""

    def rule_candidates(self, obj: TaskObject, placed: Mapping[str, Pose]) -> list[tuple]:
        """Poses suggested by the object's rules, most natural first."""
        walls = [r.element for r in obj.layout_rules if r.element in WALLS]
        corners = [r.element for r in obj.layout_rules if r.preposition == "in the corner"]
        out: list[tuple] = []
        for heading in self.headings(obj, placed):
            spots = []
            for rule in obj.object_rules:
                if rule.target in placed:
                    spots += self.relative_spots(obj, heading, rule, placed)
            under = [placed[r.target] for r in obj.object_rules if r.preposition == "under" and r.target in placed]
            if len(under) > 1:  # a rug under a sofa group: centred under all of them
                spots.insert(0, (float(np.mean([p.x for p in under])), float(np.mean([p.y for p in under]))))
            spots += [self.snap(obj, heading, xy, w) for xy in list(spots) for w in walls]
            for wall in corners:
                spots += self.corner_spots(obj, heading, wall)
            for wall in walls:
                spots += self.wall_spots(obj, heading, wall, placed)
            if any(r.element == "middle of the room" for r in obj.layout_rules):
                spots += self.middle_spots()
            if obj.mount == "ceiling" and not spots:
                spots += self.grid_spots(obj, heading)
            out += self.poses_at(obj, heading, spots, placed)
        return out

    def grid_candidates(self, obj: TaskObject, placed: Mapping[str, Pose]) -> list[tuple]:
        """Fallback: a grid over the whole floor (snapped to every wall for wall-mounted objects)."""
        out: list[tuple] = []
        for heading in self.headings(obj, placed):
            spots = self.grid_spots(obj, heading)
            if obj.mount in WALLS:  # snapped, only the coordinate along the wall matters: thin the grid
                spots = [self.snap(obj, heading, xy, w) for w in WALLS for xy in spots[:: max(1, len(spots) // 40)]]
            out += self.poses_at(obj, heading, spots, placed, grid=True)
        return out

    def headings(self, obj: TaskObject, placed: Mapping[str, Pose]) -> list[float]:
        """Candidate headings: what ``facing`` asks, the task's own, into the room, like the anchor."""
        wanted: list[float] = []
        if obj.facing in WALLS:
            wanted.append(HEADING_TO_WALL[obj.facing])
        for rule in obj.object_rules:
            if rule.target in placed and obj.facing == rule.target and rule.preposition in FACING_BACK:
                wanted.append(placed[rule.target].z_angle + FACING_BACK[rule.preposition])
        # back to the wall it stands on before the task's own heading: a picture hangs flat
        wanted += [WALL_FACING_INTO_ROOM[r.element] for r in obj.layout_rules if r.element in WALLS]
        wanted.append(obj.z_angle)
        wanted += [placed[r.target].z_angle for r in obj.object_rules if r.target in placed]
        wanted += [0.0, 90.0, 180.0, 270.0]
        unique: list[float] = []
        for h in wanted:
            h %= 360.0
            if np.all(angle_differences(h, unique) > 1e-6):
                unique.append(h)
        return unique

    def relative_spots(self, obj: TaskObject, heading: float, rule: ObjectRule,
                       placed: Mapping[str, Pose]) -> list[tuple[float, float]]:
        """Floor spots for ``obj`` ``rule.preposition`` its target, in the target's frame."""
        target = self._boxes(rule.target, placed)
        me = Boxes.of(obj.size, np.array([[0.0, 0.0, 0.0, heading]]))
        c, right, fwd = target.center[0], target.right[0], target.fwd[0]
        t_hl, t_hw = float(target.hl), float(target.hw)
        if rule.preposition in ("on", "under", "above"):
            # inside the target's footprint, centre first, then spread for several objects on one top
            r_room = max(0.0, t_hl - float(me.extent(right)[0]))
            f_room = max(0.0, t_hw - float(me.extent(fwd)[0]))
            offsets = [(0.0, 0.0)] + [(r, f) for r in (-r_room, 0.0, r_room) for f in (-f_room, 0.0, f_room)
                                      if (r, f) != (0.0, 0.0)]
            return [tuple(c + right * r + fwd * f) for r, f in offsets]
        sign, axis = SIDES[rule.preposition]
        along, across = (right, fwd) if axis == 0 else (fwd, right)
        half_along, half_across = (t_hl, t_hw) if axis == 0 else (t_hw, t_hl)
        reach, width = float(me.extent(along)[0]), float(me.extent(across)[0])
        gaps = NEAR_GAPS if rule.is_adjacent else NEAR_GAPS + FAR_GAPS
        # this satellite's share of the side, centred, flush with either end, then spread along it
        slide = max(0.0, half_across - width)
        shifts = [self.slot[(obj.id, rule)] * half_across, 0.0, -slide, slide]
        shifts += list(np.linspace(-INNER * half_across, INNER * half_across, 5))
        return [tuple(c + along * sign * (half_along + gap + reach) + across * s) for gap in gaps for s in shifts]

    def half_extents(self, obj: TaskObject, heading: float) -> tuple[float, float]:
        """Half the x and y extent of the object's footprint at a heading (memoised)."""
        key = (obj.id, heading)
        if key not in self._extents:
            me = Boxes.of(obj.size, np.array([[0.0, 0.0, 0.0, heading]]))
            self._extents[key] = (float(me.extent(X_AXIS)[0]), float(me.extent(Y_AXIS)[0]))
        return self._extents[key]

    def snap(self, obj: TaskObject, heading: float, xy, wall: str) -> tuple[float, float]:
        """Move a spot perpendicular to ``wall`` so the object's footprint stands WALL_GAP from it."""
        ex, ey = self.half_extents(obj, heading)
        x, y = float(xy[0]), float(xy[1])
        X, Y = self.room[0], self.room[1]
        if wall == "south_wall":
            return x, ey + WALL_GAP
        if wall == "north_wall":
            return x, Y - ey - WALL_GAP
        if wall == "west_wall":
            return ex + WALL_GAP, y
        return X - ex - WALL_GAP, y

    def wall_spots(self, obj: TaskObject, heading: float, wall: str,
                   placed: Mapping[str, Pose]) -> list[tuple[float, float]]:
        """Spots along a wall: in line with related objects, then centre-out or packed to a corner.

        Objects that others face or that have satellites on both sides (a TV, a bed between
        nightstands) take the middle of the wall. Everything else packs towards a corner,
        counting the floor its side satellites need: a run of bookshelves starts at one end of
        the wall and leaves the rest of it in one piece for the next run.
        """
        me = Boxes.of(obj.size, np.array([[0.0, 0.0, 0.0, heading]]))
        along_x = wall in ("south_wall", "north_wall")
        axis = X_AXIS if along_x else Y_AXIS
        length = self.room[0] if along_x else self.room[1]
        half = float(me.extent(axis)[0])
        lo, hi = half + WALL_GAP, length - half - WALL_GAP
        if lo > hi:
            return []
        related = [r.target for r in obj.object_rules] + ([obj.facing] if obj.facing else [])
        aligned = [placed[t].x if along_x else placed[t].y for t in related if t in placed]
        samples = np.linspace(lo, hi, max(2, min(40, int((hi - lo) / 0.1) + 1)))
        reserve = self.reserve[obj.id]
        centred = any(rule is None for _, rule in self.incoming[obj.id]) or (
            reserve is not None and reserve[0] > 0 and reserve[1] > 0)
        if centred:
            key = np.abs(samples - (lo + hi) / 2.0)
        else:  # distance from the zone's end to the nearer end of the wall
            zone = self.reserve_zone(obj, me)
            shift, reach = float((zone.center[0] - me.center[0]) @ axis), float(zone.extent(axis)[0])
            key = np.minimum(samples + shift - reach, length - (samples + shift + reach))
        ordered = samples[np.argsort(key, kind="stable")]
        along = [float(np.clip(a, lo, hi)) for a in aligned] + ordered.tolist()
        # snapping sets the other coordinate
        return [self.snap(obj, heading, (s, 0.0) if along_x else (0.0, s), wall) for s in along]

    def corner_spots(self, obj: TaskObject, heading: float, wall: str) -> list[tuple[float, float]]:
        """The two corners at the ends of ``wall``."""
        spots = []
        for other in PERPENDICULAR_WALLS[wall]:
            xy = self.snap(obj, heading, (self.room[0] / 2.0, self.room[1] / 2.0), wall)
            spots.append(self.snap(obj, heading, xy, other))
        return spots

    def middle_spots(self) -> list[tuple[float, float]]:
        """The room's centre, then a grid over the middle half of the room."""
        X, Y = self.room[0], self.room[1]
        rx, ry = INNER * X / 4.0, INNER * Y / 4.0
        xs, ys = np.linspace(X / 2.0 - rx, X / 2.0 + rx, 5), np.linspace(Y / 2.0 - ry, Y / 2.0 + ry, 5)
        grid = [(x, y) for x in xs for y in ys]
        return [(X / 2.0, Y / 2.0)] + sorted(grid, key=lambda p: math.hypot(p[0] - X / 2.0, p[1] - Y / 2.0))

    def grid_spots(self, obj: TaskObject, heading: float) -> list[tuple[float, float]]:
        """A grid of spots keeping the object's footprint inside the room, middle first.

        Spots in the open middle come first so that objects free to go anywhere leave the
        walls to the furniture that must stand against them.
        """
        ex, ey = self.half_extents(obj, heading)
        X, Y = self.room[0], self.room[1]
        step = max(0.05, math.sqrt(X * Y / GRID_POINTS))
        xs = np.arange(ex + WALL_GAP, X - ex - WALL_GAP + 1e-9, step)
        ys = np.arange(ey + WALL_GAP, Y - ey - WALL_GAP + 1e-9, step)
        spots = [(float(x), float(y)) for x in xs for y in ys]
        return sorted(spots, key=lambda p: math.hypot(p[0] - X / 2.0, p[1] - Y / 2.0))

    def poses_at(self, obj: TaskObject, heading: float, spots, placed: Mapping[str, Pose],
                 grid: bool = False) -> list[tuple]:
        """Full poses at the spots: each height that suits the object, facing its target exactly too."""
        heights = [obj.size[2] / 2.0] if grid and obj.mount is None else self.heights(obj, placed)
        facing = placed.get(obj.facing) if obj.facing in self.objects else None
        towards: list[float | None] = [None] * len(spots)
        if facing is not None and spots:
            xy = np.array(spots, dtype=float)
            dx, dy = facing.x - xy[:, 0], facing.y - xy[:, 1]
            towards = np.where(hypots(dx, dy) > 1e-6, headings_towards(dx, dy), np.nan).tolist()
        out = []
        for (x, y), exact in zip(spots, towards):
            for z in heights:
                out.append((x, y, z, heading))
                if exact is not None and not math.isnan(exact):
                    out.append((x, y, z, exact))
        return out

    def heights(self, obj: TaskObject, placed: Mapping[str, Pose]) -> list[float]:
        """Centre heights: on the floor, on top of its support, flush on the ceiling or on a wall."""
        h, Z = obj.size[2], self.room[2]
        top = self._top_of
        if obj.mount == "ceiling":
            return [Z - h / 2.0 - CEILING_GAP]
        if obj.mount in WALLS:
            highest = Z - h / 2.0 - CEILING_GAP
            above = [r.target for r in obj.object_rules if r.preposition == "above" and r.target in placed]
            wanted = [top(t, placed) + gap + h / 2.0 for t in above for gap in ABOVE_CLEARANCES]
            wanted += [WALL_MOUNT_HEIGHT, Z * 0.5, highest]
            return list(dict.fromkeys(round(min(max(z, h / 2.0), highest), 4) for z in wanted))
        supports = [t for t in self.supports(obj) if t in placed]
        return [top(supports[0], placed) + h / 2.0] if supports else [h / 2.0]
