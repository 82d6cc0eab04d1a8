"""Geometry conventions shared by every module (DESIGN.md section 3).

Units are metres and degrees, +z is up, the floor is z = 0 and the room spans
x in [0, X], y in [0, Y], z in [0, Z] with the origin at the south-west floor corner.

``z_angle`` is a compass heading, clockwise seen from above: 0 faces +y (north), 90 faces
+x (east). At heading 0 an object's ``length`` lies along x and its ``width`` along y.

An object's *frame* has two horizontal axes: ``forward`` (the way it faces) and ``right``
(its own right hand when facing forward). "Left of B" is the side of B opposite ``B.right``,
i.e. B's own left. This module is the only place that turns headings into vectors; physics,
rendering, relations and the agents all call it.

Many boxes at once are a :class:`Boxes` (struct of arrays); the array forms here
(:meth:`Boxes.footprint`, :func:`wall_gaps`, :func:`point_polygon_distances`,
:func:`angle_differences`, :func:`headings_towards`) are the only copy of each formula: the scalar
functions (:meth:`Box.footprint`, :func:`wall_gap`, :func:`point_polygon_distance` ...) are
one-row calls of them, and compute bit for bit what they did before the array forms existed.
Transcendental functions (``sin``, ``cos``, ``atan2``, ``hypot``) are taken from :mod:`math`
element by element, because numpy's vectorised ones may differ from libm in the last bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
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


def _sin_cos(z_angle: float) -> tuple[float, float]:
    a = math.radians(z_angle)
    return math.sin(a), math.cos(a)


def _elementwise(fn: Callable[..., float], *arrays) -> np.ndarray:
    """``fn`` (a :mod:`math` function) applied element by element over broadcast float arrays."""
    return np.asarray(np.frompyfunc(fn, len(arrays), 1)(*arrays), dtype=float)


def heading_vectors(z_angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Return the unit ``(forward, right)`` vectors in the xy plane for a compass heading."""
    s, c = _sin_cos(z_angle)
    return np.array([s, c]), np.array([c, -s])


def normalize_angle(z_angle: float) -> float:
    """Map any heading to [0, 360)."""
    return float(z_angle) % 360.0


def angle_differences(a, b) -> np.ndarray:
    """Array form of :func:`angle_difference` (broadcast); numpy's ``%`` is Python's."""
    d = np.abs(np.remainder(np.asarray(a, dtype=float), 360.0) - np.remainder(np.asarray(b, dtype=float), 360.0))
    return np.where(360.0 - d < d, 360.0 - d, d)


def angle_difference(a: float, b: float) -> float:
    """Smallest absolute difference between two headings, in [0, 180]."""
    return float(angle_differences(a, b))


def hypots(dx, dy) -> np.ndarray:
    """:func:`math.hypot` element by element (broadcast); ``np.hypot`` may round differently."""
    return _elementwise(math.hypot, dx, dy)


def headings_towards(dx, dy) -> np.ndarray:
    """Array form of :func:`heading_towards` (broadcast)."""
    return np.remainder(np.degrees(_elementwise(math.atan2, dx, dy)), 360.0)


def heading_towards(dx: float, dy: float) -> float:
    """Compass heading of the direction (dx, dy)."""
    return float(headings_towards(dx, dy))


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
        """Corners (4, 2) of the box seen from above, counter-clockwise (see :meth:`Boxes.footprint`)."""
        return Boxes.from_box(self).footprint()[0]

    def to_local(self, point_xy) -> tuple[float, float]:
        """Coordinates (right, forward) of a world xy point in this box's frame."""
        r, f = Boxes.from_box(self).to_local(np.asarray(point_xy, dtype=float))
        return float(r[0]), float(f[0])

    def local_extent(self, other: Box) -> tuple[float, float, float, float]:
        """(min_right, max_right, min_forward, max_forward) of ``other``'s footprint in this frame."""
        extent = Boxes.from_box(self).local_extent(Boxes.from_box(other))
        return tuple(float(v[0]) for v in extent)

    def aabb(self) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned (min, max) corners in 3D."""
        fp = self.footprint()
        lo, hi = self.z_range
        return (np.array([*fp.min(axis=0), lo]), np.array([*fp.max(axis=0), hi]))


def _sin_cos_array(z_angle: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_sin_cos` of every heading, computed once per distinct heading (candidates share a
    few); headings are told apart by their bits, so -0.0 keeps its own sine."""
    shape = np.shape(z_angle)
    flat = np.ascontiguousarray(z_angle, dtype=float).reshape(-1)
    if len(flat) <= 16:
        sin_cos = np.array([_sin_cos(a) for a in flat.tolist()]).reshape(-1, 2)
        return sin_cos[:, 0].reshape(shape), sin_cos[:, 1].reshape(shape)
    unique, inverse = np.unique(flat.view(np.int64), return_inverse=True)
    sin_cos = np.array([_sin_cos(a) for a in unique.view(float).tolist()]).reshape(-1, 2)
    return sin_cos[inverse, 0].reshape(shape), sin_cos[inverse, 1].reshape(shape)


#: Signs of ``right * half length`` and ``forward * half width`` at the four footprint corners.
_CORNER_RIGHT = np.array([[-1.0], [1.0], [1.0], [-1.0]])
_CORNER_FORWARD = np.array([[-1.0], [-1.0], [1.0], [1.0]])


@dataclass(frozen=True)
class Boxes:
    """Many z-rotated boxes as arrays: the array form of :class:`Box`.

    Leading axes (shape ``S``) index the boxes: ``center`` is (*S, 2), ``z`` (box centre height)
    and ``angle`` (compass heading) are (*S,), ``fwd`` and ``right`` the unit frame vectors
    (*S, 2) of :func:`heading_vectors`; ``hl``, ``hw``, ``hh`` are half of length, width and
    height, arrays (*S,) or scalars shared by every box. Every array form in the env broadcasts
    two ``Boxes`` like numpy arrays, so ``a[:, None]`` against ``b[None]`` compares all pairs.
    """

    center: np.ndarray
    z: np.ndarray
    angle: np.ndarray
    fwd: np.ndarray
    right: np.ndarray
    hl: np.ndarray | float
    hw: np.ndarray | float
    hh: np.ndarray | float

    @classmethod
    def of(cls, size, xyz_angle) -> Boxes:
        """Boxes at poses given as rows (x, y, z, z_angle); ``size`` is one (length, width,
        height) for all of them or one row per pose."""
        poses = np.atleast_2d(np.asarray(xyz_angle, dtype=float))
        half = np.asarray(size, dtype=float) / 2.0
        s, c = _sin_cos_array(poses[..., 3])
        return cls(poses[..., :2], poses[..., 2], poses[..., 3], np.stack([s, c], -1), np.stack([c, -s], -1),
                   half[..., 0], half[..., 1], half[..., 2])

    @classmethod
    def from_box(cls, box: Box) -> Boxes:
        """One box as a row of one (what :meth:`of` makes of it, built directly: scalar calls are hot)."""
        s, c = _sin_cos(float(box.z_angle))
        x, y, z = (float(v) for v in box.center)
        length, width, height = (float(v) for v in box.size)
        return cls(np.array([[x, y]]), np.array([z]), np.array([float(box.z_angle)]), np.array([[s, c]]),
                   np.array([[c, -s]]), length / 2.0, width / 2.0, height / 2.0)

    @classmethod
    def from_boxes(cls, boxes: Sequence[Box]) -> Boxes:
        """Boxes of different sizes, one row each, in order."""
        return cls.of([b.size for b in boxes], [[*b.center, b.z_angle] for b in boxes])

    def __getitem__(self, index) -> Boxes:
        """The boxes at ``index`` over the leading axes (``boxes[:, None]`` adds an axis)."""
        hl, hw, hh = (v[index] if np.ndim(v) else v for v in (self.hl, self.hw, self.hh))
        return Boxes(self.center[index], self.z[index], self.angle[index], self.fwd[index], self.right[index],
                     hl, hw, hh)

    def __len__(self) -> int:
        return len(self.z)

    @property
    def shape(self) -> tuple[int, ...]:
        return np.shape(self.z)

    @property
    def z_lo(self) -> np.ndarray:
        return self.z - self.hh

    @property
    def z_hi(self) -> np.ndarray:
        return self.z + self.hh

    def extent(self, axis: np.ndarray) -> np.ndarray:
        """Half the footprint's extent along unit vector(s) ``axis`` (broadcast, (..., 2))."""
        return self.hl * np.abs(np.sum(self.right * axis, -1)) + self.hw * np.abs(np.sum(self.fwd * axis, -1))

    def footprint(self) -> np.ndarray:
        """Corners (*S, 4, 2) of each box seen from above, counter-clockwise."""
        # length runs along `right` = (c, -s), width along `forward` = (s, c); right x forward = +1,
        # so this corner order is counter-clockwise for every heading. Corner k is
        # (centre +- right * hl) +- forward * hw, rounded as written.
        r = (self.right * np.asarray(self.hl)[..., None])[..., None, :]
        f = (self.fwd * np.asarray(self.hw)[..., None])[..., None, :]
        return (self.center[..., None, :] + _CORNER_RIGHT * r) + _CORNER_FORWARD * f

    def to_local(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates (right, forward) of world xy points (..., 2) in each box's frame (broadcast)."""
        d = points - self.center
        return _dot(d, self.right), _dot(d, self.fwd)

    def local_extent(self, other: Boxes) -> tuple[np.ndarray, ...]:
        """(min_right, max_right, min_forward, max_forward) of ``other``'s footprints in these frames."""
        d = other.footprint() - self.center[..., None, :]
        r, f = _dot(d, self.right[..., None, :]), _dot(d, self.fwd[..., None, :])
        return r.min(-1), r.max(-1), f.min(-1), f.max(-1)


def _dot(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``u . v`` over the last axis (length 2), rounded as BLAS ``dot`` of two 2-vectors rounds it
    (its sum starts at +0.0, which is why a zero result is never -0.0)."""
    return (u[..., 0] * v[..., 0] + u[..., 1] * v[..., 1]) + 0.0


def _signed_area(poly: np.ndarray) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * (_ordered_dot(x, np.roll(y, -1)) - _ordered_dot(y, np.roll(x, -1)))


def _ordered_dot(u: np.ndarray, v: np.ndarray) -> float:
    """``u . v`` summed left to right from +0.0, the same bits on every CPU.

    ``np.dot`` goes to BLAS, whose kernel (picked by the CPU: AVX-512, AVX2, SSE) changes the order
    of the sum and so the last bits of a footprint's area; rewards must not depend on the machine.
    """
    total = 0.0
    for a, b in zip(u.tolist(), v.tolist()):
        total += a * b
    return total


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


def point_polygon_distances(points, polygons) -> np.ndarray:
    """Array form of :func:`point_polygon_distance`: points (..., 2) against convex CCW polygons
    (..., k, 2), broadcast."""
    p = np.asarray(points, dtype=float)[..., None, :]
    a = np.asarray(polygons, dtype=float)
    k = a.shape[-2]
    e = a[..., (np.arange(k) + 1) % k, :] - a                         # edge i runs from corner i to i + 1
    ex, ey = e[..., 0], e[..., 1]
    dx, dy = p[..., 0] - a[..., 0], p[..., 1] - a[..., 1]
    outside = (ex * dy - ey * dx < 0).any(axis=-1)
    length2 = ex * ex + ey * ey
    t = np.clip((dx * ex + dy * ey) / np.where(1e-12 > length2, 1e-12, length2), 0.0, 1.0)
    qx, qy = p[..., 0] - (a[..., 0] + t * ex), p[..., 1] - (a[..., 1] + t * ey)
    nearest = np.fmin.reduce(np.sqrt(qx * qx + qy * qy), axis=-1, initial=math.inf)
    return np.where(outside, nearest, 0.0)


def point_polygon_distance(p, poly: np.ndarray) -> float:
    """Distance from a point to a convex counter-clockwise polygon (0 inside)."""
    return float(point_polygon_distances(p, poly))


def room_polygon(room_x: float, room_y: float) -> np.ndarray:
    """The room's floor as a counter-clockwise polygon."""
    return np.array([[0.0, 0.0], [room_x, 0.0], [room_x, room_y], [0.0, room_y]])


def wall_gaps(boxes: Boxes, room_size: tuple[float, float, float]) -> dict[str, np.ndarray]:
    """Array form of :func:`wall_gap`: each box's gap to each wall, keyed by wall."""
    fp = boxes.footprint()
    X, Y = room_size[0], room_size[1]
    return {"south_wall": fp[..., 1].min(-1), "north_wall": Y - fp[..., 1].max(-1),
            "west_wall": fp[..., 0].min(-1), "east_wall": X - fp[..., 0].max(-1)}


def wall_gap(box: Box, wall: str, room_size: tuple[float, float, float]) -> float:
    """Distance from the box's footprint to a wall (negative when it pokes through)."""
    if wall not in WALLS:
        raise ValueError(f"unknown wall {wall!r}")
    return float(wall_gaps(Boxes.from_box(box), room_size)[wall][0])
