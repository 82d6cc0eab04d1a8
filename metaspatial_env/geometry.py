"""Geometry conventions shared by every module (DESIGN.md section 3).

Units are metres and degrees, +z is up, the floor is z = 0 and the room spans
x in [0, X], y in [0, Y], z in [0, Z] with the origin at the south-west floor corner.

``z_angle`` is a compass heading, clockwise seen from above: 0 faces +y (north), 90 faces
+x (east). At heading 0 an object's ``length`` lies along x and its ``width`` along y.

An object's *frame* has two horizontal axes: ``forward`` (the way it faces) and ``right``
(its own right hand when facing forward). "Left of B" is the side of B opposite ``B.right``,
i.e. B's own left. This module is the only place that turns headings into vectors; physics,
rendering, relations and the agents all call it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

WALLS = ("south_wall", "north_wall", "west_wall", "east_wall")

#: Inward unit normal of each wall (the direction from the wall into the room).
WALL_INWARD_NORMAL = {
    "south_wall": (0.0, 1.0),
    "north_wall": (0.0, -1.0),
    "west_wall": (1.0, 0.0),
    "east_wall": (-1.0, 0.0),
}

#: Heading (degrees) of an object whose back is against the wall and which faces into the room.
WALL_FACING_INTO_ROOM = {"south_wall": 0.0, "north_wall": 180.0, "west_wall": 90.0, "east_wall": 270.0}


def heading_vectors(z_angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Return the unit ``(forward, right)`` vectors in the xy plane for a compass heading."""
    a = math.radians(z_angle)
    s, c = math.sin(a), math.cos(a)
    return np.array([s, c]), np.array([c, -s])


def normalize_angle(z_angle: float) -> float:
    """Map any heading to [0, 360)."""
    return float(z_angle) % 360.0


def angle_difference(a: float, b: float) -> float:
    """Smallest absolute difference between two headings, in [0, 180]."""
    d = abs(normalize_angle(a) - normalize_angle(b))
    return min(d, 360.0 - d)


def heading_towards(dx: float, dy: float) -> float:
    """Compass heading of the direction (dx, dy)."""
    return normalize_angle(math.degrees(math.atan2(dx, dy)))


def quaternion_from_heading(z_angle: float) -> tuple[float, float, float, float]:
    """(x, y, z, w) quaternion of the rotation about +z by a compass heading.

    A compass heading turns clockwise seen from above, which is a negative rotation
    about +z in the right-handed maths convention that PyBullet and OpenGL use.
    """
    half = -math.radians(z_angle) / 2.0
    return (0.0, 0.0, math.sin(half), math.cos(half))


def heading_from_quaternion(q) -> float:
    """Compass heading of a quaternion's rotation about +z (tilt is ignored)."""
    x, y, z, w = q
    yaw = math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
    return normalize_angle(-math.degrees(yaw))


@dataclass(frozen=True)
class Box:
    """An object's oriented bounding box: rotated about +z only.

    ``size`` is (length, width, height); ``center`` is (x, y, z), the box centre.
    """

    size: tuple[float, float, float]
    center: tuple[float, float, float]
    z_angle: float = 0.0

    @property
    def half_extents(self) -> tuple[float, float, float]:
        return (self.size[0] / 2.0, self.size[1] / 2.0, self.size[2] / 2.0)

    @property
    def z_range(self) -> tuple[float, float]:
        h = self.size[2] / 2.0
        return (self.center[2] - h, self.center[2] + h)

    @property
    def volume(self) -> float:
        return self.size[0] * self.size[1] * self.size[2]

    def footprint(self) -> np.ndarray:
        """Corners (4, 2) of the box seen from above, counter-clockwise."""
        a = math.radians(self.z_angle)
        s, c = math.sin(a), math.cos(a)
        # length runs along `right` = (c, -s), width along `forward` = (s, c); right x forward = +1,
        # so this corner order is counter-clockwise for every heading.
        rx, ry = c * self.size[0] / 2.0, -s * self.size[0] / 2.0
        fx, fy = s * self.size[1] / 2.0, c * self.size[1] / 2.0
        x, y = self.center[0], self.center[1]
        return np.array([[x - rx - fx, y - ry - fy], [x + rx - fx, y + ry - fy],
                         [x + rx + fx, y + ry + fy], [x - rx + fx, y - ry + fy]])

    def to_local(self, point_xy) -> tuple[float, float]:
        """Coordinates (right, forward) of a world xy point in this box's frame."""
        forward, right = heading_vectors(self.z_angle)
        d = np.asarray(point_xy, dtype=float) - np.asarray(self.center[:2], dtype=float)
        return float(d @ right), float(d @ forward)

    def local_extent(self, other: Box) -> tuple[float, float, float, float]:
        """(min_right, max_right, min_forward, max_forward) of ``other``'s footprint in this frame."""
        forward, right = heading_vectors(self.z_angle)
        d = other.footprint() - np.asarray(self.center[:2], dtype=float)
        r, f = d @ right, d @ forward
        return float(r.min()), float(r.max()), float(f.min()), float(f.max())

    def aabb(self) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned (min, max) corners in 3D."""
        fp = self.footprint()
        lo, hi = self.z_range
        return (np.array([*fp.min(axis=0), lo]), np.array([*fp.max(axis=0), hi]))


def _signed_area(poly: np.ndarray) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def polygon_area(poly: np.ndarray) -> float:
    """Area of a simple polygon given as (n, 2) vertices."""
    return abs(_signed_area(poly)) if len(poly) >= 3 else 0.0


def clip_convex(subject: np.ndarray, clip: np.ndarray) -> np.ndarray:
    """Intersection of two convex polygons (Sutherland-Hodgman); ``clip`` is counter-clockwise."""
    output = [tuple(p) for p in subject]
    n = len(clip)
    for i in range(n):
        if not output:
            break
        ax, ay = clip[i]
        bx, by = clip[(i + 1) % n]
        ex, ey = bx - ax, by - ay
        inputs, output = output, []
        prev = inputs[-1]
        prev_in = ex * (prev[1] - ay) - ey * (prev[0] - ax) >= 0.0
        for cur in inputs:
            cur_in = ex * (cur[1] - ay) - ey * (cur[0] - ax) >= 0.0
            if cur_in != prev_in:
                # edge crosses the clip line: add the crossing point
                px, py = prev
                qx, qy = cur
                dx, dy = qx - px, qy - py
                denom = ex * dy - ey * dx
                t = (ey * (px - ax) - ex * (py - ay)) / denom if denom else 0.0
                output.append((px + t * dx, py + t * dy))
            if cur_in:
                output.append(cur)
            prev, prev_in = cur, cur_in
    return np.array(output, dtype=float).reshape(-1, 2)


def footprint_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Gap between two convex polygons (0 when they touch or overlap)."""
    if len(clip_convex(a, b)) >= 3:
        return 0.0
    best = math.inf
    for p_poly, q_poly in ((a, b), (b, a)):
        for p in p_poly:
            best = min(best, point_polygon_distance(p, q_poly))
    return best


def point_polygon_distance(p, poly: np.ndarray) -> float:
    """Distance from a point to a convex counter-clockwise polygon (0 inside)."""
    p = np.asarray(p, dtype=float)
    inside = True
    best = math.inf
    n = len(poly)
    for i in range(n):
        a, b = poly[i], poly[(i + 1) % n]
        e = b - a
        if e[0] * (p[1] - a[1]) - e[1] * (p[0] - a[0]) < 0:
            inside = False
        t = float(np.clip(np.dot(p - a, e) / max(float(np.dot(e, e)), 1e-12), 0.0, 1.0))
        best = min(best, float(np.linalg.norm(p - (a + t * e))))
    return 0.0 if inside else best


def room_polygon(room_x: float, room_y: float) -> np.ndarray:
    """The room's floor as a counter-clockwise polygon."""
    return np.array([[0.0, 0.0], [room_x, 0.0], [room_x, room_y], [0.0, room_y]])


def wall_gap(box: Box, wall: str, room_size: tuple[float, float, float]) -> float:
    """Distance from the box's footprint to a wall (negative when it pokes through)."""
    fp = box.footprint()
    X, Y = room_size[0], room_size[1]
    if wall == "south_wall":
        return float(fp[:, 1].min())
    if wall == "north_wall":
        return float(Y - fp[:, 1].max())
    if wall == "west_wall":
        return float(fp[:, 0].min())
    if wall == "east_wall":
        return float(X - fp[:, 0].max())
    raise ValueError(f"unknown wall {wall!r}")
