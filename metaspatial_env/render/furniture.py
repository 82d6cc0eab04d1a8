"""Procedural furniture: each category as parametric parts fitted exactly to its bounding box.

:func:`build_parts` turns an object (category, size, material, style) into a tuple of
:class:`Part` in the object's own frame: ``x`` along ``right`` (the length axis), ``y`` along
``forward`` (the width axis; the object faces +y), ``z`` up, measured from the centre of the
bounding box. Every part lies inside the box and the parts together reach all six of its faces,
so what is drawn is exactly the box the physics and the reward see. The renderer rotates the
parts by the object's compass heading (:func:`metaspatial_env.geometry.heading_vectors`).

Shapes are boxes, cylinders (upright, or lying along ``x``/``y``), ellipsoids and lamp shades
(truncated cones, narrow end up). Every part has a *role* (``body``, ``fabric``, ``metal``,
``screen`` ...) that :func:`color_scheme` turns into a colour read from the task's
``material`` and ``style`` words ("black metal and oak", "navy velvet", "olive tree in grey
stone pot", "oil painting with gold frame"), so a walnut desk looks walnut and a navy sofa navy.

A viewer can tell which way an object faces: seats have their backs, beds their headboards,
sofas their backrests at the back; cabinets show drawers and doors on the front, shelves are
open at the front, screens face forward. Objects with no front of their own (tables, rugs,
ottomans, unknown categories) get a contrasting band along the front edge of their top, as the
rasteriser draws. Categories are matched like :func:`metaspatial_env.render.palette.category_color`:
the whole name, then its trailing words (``king_size_bed`` -> ``bed``); anything else is a box.

Pure Python and deterministic; the Blender worker builds meshes from these parts.
"""

from __future__ import annotations

import colorsys
import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from .palette import category_color, category_of, hex_rgb

SHAPES = ("box", "cylinder", "sphere", "shade")
AXES = ("x", "y", "z")
#: Roles drawn with a metallic finish, a glossy finish, or glowing (lamp shades and bulbs).
METAL_ROLES = frozenset({"metal"})
GLOSSY_ROLES = frozenset({"screen", "glass", "mirror"})
GLOW_ROLES = frozenset({"light"})


@dataclass(frozen=True)
class Part:
    """One primitive of a piece of furniture, in the object's frame (metres, from the box centre)."""

    shape: str
    """``box``, ``cylinder``, ``sphere`` (an ellipsoid) or ``shade`` (truncated cone, narrow end up)."""
    center: tuple[float, float, float]
    """Centre (right, forward, up) relative to the bounding box's centre."""
    size: tuple[float, float, float]
    """Full extents along (right, forward, up)."""
    role: str
    """Colour role, looked up in :func:`color_scheme` (``body``, ``fabric``, ``metal`` ...)."""
    axis: str = "z"
    """Axis of a cylinder or shade: ``z`` upright, ``y`` pointing forward, ``x`` sideways."""


class _Kit:
    """Collects parts in box coordinates: x in [-L/2, L/2], y in [-W/2, W/2], z in [0, H].

    Coordinates are clamped to the box, so a builder can never draw outside it.
    """

    def __init__(self, size):
        self.L, self.W, self.H = (max(float(v), 1e-4) for v in size)
        self.parts: list[Part] = []

    def _add(self, shape, x0, x1, y0, y1, z0, z1, role, axis="z"):
        L2, W2, H = self.L / 2, self.W / 2, self.H
        x0, x1 = sorted((min(max(x0, -L2), L2), min(max(x1, -L2), L2)))
        y0, y1 = sorted((min(max(y0, -W2), W2), min(max(y1, -W2), W2)))
        z0, z1 = sorted((min(max(z0, 0.0), H), min(max(z1, 0.0), H)))
        if x1 - x0 < 1e-6 or y1 - y0 < 1e-6 or z1 - z0 < 1e-6:
            return
        self.parts.append(Part(shape, ((x0 + x1) / 2, (y0 + y1) / 2, (z0 + z1) / 2 - H / 2),
                               (x1 - x0, y1 - y0, z1 - z0), role, axis))

    def box(self, x0, x1, y0, y1, z0, z1, role="body"):
        self._add("box", x0, x1, y0, y1, z0, z1, role)

    def cyl(self, cx, cy, z0, z1, dx, dy=None, role="body", axis="z"):
        """Cylinder centred at (cx, cy) with diameters dx, dy, from z0 to z1 (axis ``z``)."""
        dy = dx if dy is None else dy
        self._add("cylinder", cx - dx / 2, cx + dx / 2, cy - dy / 2, cy + dy / 2, z0, z1, role, axis)

    def cyl_y(self, cx, y0, y1, cz, dx, dz=None, role="body"):
        """Cylinder lying along the forward axis (a clock face, a speaker cone, a lens)."""
        dz = dx if dz is None else dz
        self._add("cylinder", cx - dx / 2, cx + dx / 2, y0, y1, cz - dz / 2, cz + dz / 2, role, "y")

    def cyl_x(self, x0, x1, cy, cz, d, role="body"):
        self._add("cylinder", x0, x1, cy - d / 2, cy + d / 2, cz - d / 2, cz + d / 2, role, "x")

    def sphere(self, cx, cy, cz, dx, dy, dz, role="body"):
        self._add("sphere", cx - dx / 2, cx + dx / 2, cy - dy / 2, cy + dy / 2, cz - dz / 2, cz + dz / 2, role)

    def shade(self, cx, cy, z0, z1, d, role="light"):
        self._add("shade", cx - d / 2, cx + d / 2, cy - d / 2, cy + d / 2, z0, z1, role)

    # -- common assemblies -------------------------------------------------------------------
    def legs(self, z0, z1, t, inset=0.0, role="legs", y0=None, y1=None):
        """Four square legs at the corners of the footprint (or of y in [y0, y1])."""
        L2 = self.L / 2 - inset
        y0 = -self.W / 2 + inset if y0 is None else y0
        y1 = self.W / 2 - inset if y1 is None else y1
        for sx in (-1, 1):
            for y in (y0, y1):
                x = sx * L2
                xa, xb = (x - t, x) if sx > 0 else (x, x + t)
                ya, yb = (y, y + t) if y == y0 else (y - t, y)
                self.box(xa, xb, ya, yb, z0, z1, role)

    def front_band(self, z_top, role="marker", depth=None):
        """A thin band along the front edge of a top surface: tells the front of a symmetric object."""
        depth = depth if depth is not None else min(max(0.12 * self.W, 0.03), 0.25, 0.5 * self.W)
        self.box(-self.L / 2, self.L / 2, self.W / 2 - depth, self.W / 2, z_top - 0.003, z_top, role)

    def fronts(self, x0, x1, z0, z1, rows, cols, kind="drawer", role="body", handle="metal", gap=0.012):
        """Drawer or door fronts on the front face (a 2.5 cm slab), each with a small handle."""
        W2 = self.W / 2
        cw, rh = (x1 - x0) / cols, (z1 - z0) / rows
        for i in range(cols):
            for j in range(rows):
                a, b = x0 + i * cw + gap / 2, x0 + (i + 1) * cw - gap / 2
                c, d = z0 + j * rh + gap / 2, z0 + (j + 1) * rh - gap / 2
                self.box(a, b, W2 - 0.025, W2 - 0.006, c, d, role)
                if kind == "drawer":
                    hw = min(0.4 * (b - a), 0.16)
                    self.box((a + b) / 2 - hw / 2, (a + b) / 2 + hw / 2, W2 - 0.006, W2,
                             d - min(0.3 * (d - c), 0.06) - 0.012, d - min(0.3 * (d - c), 0.06), handle)
                else:  # doors: a vertical handle at the edge where two doors meet (or the right)
                    hx = b - 0.04 if (i % 2 == 0 and cols > 1) or cols == 1 else a + 0.03
                    hl = min(0.3 * (d - c), 0.3)
                    zc = (c + d) / 2 if rows > 1 or d - c < 1.0 else c + 0.5 * (d - c)
                    self.box(hx, hx + 0.014, W2 - 0.006, W2, zc - hl / 2, zc + hl / 2, handle)

    def books(self, x0, x1, y0, y1, z0, z1, seed=0):
        """A row of books of varying heights, colours from ``book0..book3``."""
        x, k = x0, seed
        while x < x1 - 0.02:
            w = 0.025 + 0.012 * ((k * 7) % 4)
            h = (z1 - z0) * (0.62 + 0.09 * ((k * 5) % 4))
            self.box(x, min(x + w, x1), y0, y1, z0, z0 + h, f"book{k % 4}")
            x += w + (0.05 if k % 6 == 5 else 0.0)
            k += 1


# -- builders: one per family of categories -----------------------------------------------------
def _leg(k: _Kit, frac=0.06, lo=0.025, hi=0.06) -> float:
    return min(max(frac * min(k.L, k.W), lo), hi)


def _bed(k: _Kit, bunk=False, crib=False):
    L, W, H = k.L, k.W, k.H
    L2, W2 = L / 2, W / 2
    hb = min(0.08, 0.05 * W)
    if crib:
        post = 0.045
        k.legs(0, H, post, role="body")
        for y in (-W2, W2 - 0.03):  # slatted ends and sides
            k.box(-L2, L2, y, y + 0.03, H - 0.05, H, "body")
        for x in (-L2, L2 - 0.03):
            k.box(x, x + 0.03, -W2, W2, H - 0.05, H, "body")
            for i in range(1, 12):
                y = -W2 + i * W / 12
                k.box(x, x + 0.03, y - 0.012, y + 0.012, 0.3, H - 0.05, "body")
        k.box(-L2 + post, L2 - post, -W2 + post, W2 - post, 0.25, 0.3, "body")
        k.box(-L2 + post, L2 - post, -W2 + post, W2 - post, 0.3, 0.42, "linen")
        k.box(-L2 + post, L2 - post, -W2 + post, -W2 + 0.75 * W, 0.3, 0.38, "fabric")
        k.box(-L2, L2, -W2, -W2 + hb, 0.3, H, "body")  # solid headboard end
        return
    levels = [(0.12, min(0.5, 0.45 * H) if not bunk else 0.45)]
    if bunk:
        levels.append((H * 0.55, H * 0.55 + 0.25))
        post = 0.06
        k.legs(0, H, post, role="body")
        k.box(-L2, L2, -W2, -W2 + 0.05, H - 0.35, H, "body")  # upper guard rail at the head
        k.box(-L2, L2, W2 - 0.05, W2, levels[1][1] + 0.05, H - 0.05, "body")  # front guard rail
        for z in (0.35, 0.65, 0.95, 1.25):  # ladder at the front right
            if z < levels[1][0]:
                k.box(L2 - 0.45, L2 - 0.08, W2 - 0.04, W2, z, z + 0.03, "metal")
    else:
        k.box(-L2, L2, -W2, -W2 + hb, 0.0, H, "body")  # headboard at the back
        k.box(-L2 + 0.03, L2 - 0.03, -W2 + hb, -W2 + hb + 0.03, H * 0.55, H - 0.06, "fabric")
        k.legs(0, 0.12, 0.06, role="legs")
    for z_frame, z_top in levels:
        y0 = -W2 + (hb if not bunk else 0.06)
        k.box(-L2, L2, y0, W2, z_frame, z_frame + 0.16, "body")  # frame
        zm = z_frame + 0.16
        mt = max(z_top - zm, 0.1)
        k.box(-L2 + 0.03, L2 - 0.03, y0 + 0.01, W2 - 0.03, zm, zm + mt, "linen")  # mattress
        k.box(-L2 + 0.02, L2 - 0.02, y0 + 0.42, W2 - 0.01, zm + 0.3 * mt, zm + mt + 0.04, "fabric")  # duvet
        n = 2 if L > 1.3 else 1
        pw = (L - 0.2 - 0.05 * (n - 1)) / n
        for i in range(n):  # pillows at the head
            x0 = -L2 + 0.1 + i * (pw + 0.05)
            k.box(x0, x0 + pw, y0 + 0.05, y0 + 0.38, zm + mt, zm + mt + 0.09, "pillow")


def _seat_height(k: _Kit) -> float:
    return min(0.47, 0.5 * k.H)


def _chair(k: _Kit, kind="dining"):
    L, W, H = k.L, k.W, k.H
    L2, W2 = L / 2, W / 2
    seat = _seat_height(k)
    if kind == "office":
        # star base (two crossed bars), casters, gas column, seat, back and armrests
        k.box(-L2, L2, -0.03, 0.03, 0.04, 0.08, "metal")
        k.box(-0.03, 0.03, -W2, W2, 0.04, 0.08, "metal")
        for x, y in ((-L2 + 0.03, 0), (L2 - 0.03, 0), (0, -W2 + 0.03), (0, W2 - 0.03)):
            k.sphere(x, y, 0.025, 0.05, 0.05, 0.05, "dark")
        k.cyl(0, 0, 0.08, seat - 0.06, 0.06, role="metal")
        k.box(-0.4 * L, 0.4 * L, -0.4 * W, 0.45 * W, seat - 0.08, seat, "fabric")
        k.box(-0.36 * L, 0.36 * L, -W2, -W2 + 0.09, seat + 0.04, H, "backrest")
        k.box(-0.05, 0.05, -W2 + 0.02, -W2 + 0.06, seat, seat + 0.06, "metal")
        for s in (-1, 1):
            x = s * 0.43 * L
            k.box(x - 0.015, x + 0.015, -0.1 * W, -0.05 * W, seat, seat + 0.2, "metal")
            k.box(x - 0.02, x + 0.02, -0.3 * W, 0.2 * W, seat + 0.2, seat + 0.23, "metal")
        return
    t = _leg(k, 0.07, 0.025, 0.045)
    k.legs(0, seat - 0.05, t)
    k.box(-L2, L2, -W2, W2, seat - 0.05, seat, "body")  # seat frame
    k.box(-L2 + 0.02, L2 - 0.02, -W2 + 0.06, W2 - 0.02, seat, seat + 0.025, "fabric")  # cushion
    for sx in (-1, 1):  # back posts rise from the back legs
        x = sx * (L2 - t / 2)
        k.box(x - t / 2, x + t / 2, -W2, -W2 + t, seat, H, "legs")
    k.box(-L2, L2, -W2, -W2 + 0.035, H - 0.35 * (H - seat), H, "backrest")
    k.box(-L2, L2, -W2, -W2 + 0.03, seat + 0.12, seat + 0.16, "body")


def _stool(k: _Kit):
    L, W, H = k.L, k.W, k.H
    t = _leg(k, 0.08, 0.022, 0.035)
    k.legs(0, H - 0.05, t, inset=0.0)
    ring = 0.35 * H
    k.box(-k.L / 2, k.L / 2, -0.012, 0.012, ring, ring + 0.02, "legs")
    k.box(-0.012, 0.012, -k.W / 2, k.W / 2, ring, ring + 0.02, "legs")
    k.cyl(0, 0, H - 0.05, H, L, W, "fabric")
    k.front_band(H, depth=min(0.04, 0.3 * W))


def _sofa(k: _Kit, seats=3, sectional=False, recliner=False):
    L, W, H = k.L, k.W, k.H
    L2, W2 = L / 2, W / 2
    leg = min(0.1, 0.12 * H)
    seat = min(0.45, 0.55 * H)
    arm_w = min(max(0.12 * L, 0.1), 0.22) if not recliner else 0.16
    arm_h = min(seat + 0.2, H)
    back_d = min(0.22, 0.28 * W) if not recliner else 0.28
    depth = min(W, 1.0) if sectional else W  # seat depth of the main run
    k.legs(0, leg, 0.05, inset=0.04, role="legs", y0=-W2 + 0.04, y1=-W2 + depth - 0.04)
    k.box(-L2, L2, -W2, -W2 + back_d, leg, H, "fabric")  # backrest along the back
    for sx in (-1, 1):  # arms
        xa, xb = (-L2, -L2 + arm_w) if sx < 0 else (L2 - arm_w, L2)
        y1 = -W2 + depth if not (sectional and sx > 0) else W2
        k.box(xa, xb, -W2, y1, leg, arm_h, "fabric")
    inner0, inner1 = -L2 + arm_w, L2 - arm_w
    k.box(inner0, inner1, -W2 + back_d, -W2 + depth, leg, seat - 0.12, "fabric")  # base
    n = seats
    cw = (inner1 - inner0) / n
    for i in range(n):  # seat cushions, then back cushions
        a, b = inner0 + i * cw + 0.006, inner0 + (i + 1) * cw - 0.006
        k.box(a, b, -W2 + back_d, -W2 + depth, seat - 0.12, seat, "cushion")
        k.box(a, b, -W2 + back_d, -W2 + back_d + 0.14, seat, H - 0.06, "cushion")
    if sectional:  # chaise on the right reaching the front
        cx0 = inner1 - min(0.85, 0.4 * L)
        k.box(cx0, inner1, -W2 + depth, W2, leg, seat - 0.12, "fabric")
        k.box(cx0 + 0.006, inner1, -W2 + depth, W2, seat - 0.12, seat, "cushion")
        k.legs(0, leg, 0.05, inset=0.04, role="legs", y0=W2 - 0.1, y1=W2 - 0.05)
    if recliner:
        k.box(inner0 + 0.02, inner1 - 0.02, W2 - 0.06, W2, leg + 0.05, seat - 0.14, "fabric")


def _bench(k: _Kit):
    L, W, H = k.L, k.W, k.H
    t = _leg(k, 0.1, 0.03, 0.06)
    k.legs(0, H - 0.05, t)
    k.box(-L / 2, L / 2, -W / 2, W / 2, H - 0.05, H - 0.003, "body")
    k.box(-L / 2 + 0.02, L / 2 - 0.02, -W / 2 + 0.02, W / 2, H - 0.003, H, "cushion")
    k.box(-L / 2 + t, L / 2 - t, -0.02, 0.02, 0.12, 0.15, "body")


def _ottoman(k: _Kit, bag=False):
    L, W, H = k.L, k.W, k.H
    if bag:
        k.sphere(0, 0.05 * W, 0.4 * H, L, 0.9 * W, 0.8 * H, "fabric")
        k.sphere(0, -0.2 * W, 0.6 * H, 0.8 * L, 0.6 * W, 0.8 * H, "fabric")
        k.sphere(0, -W / 2 + 0.3 * W, H - 0.25 * H, 0.7 * L, 0.6 * W, 0.5 * H, "fabric")
        k.box(-0.1 * L, 0.1 * L, W / 2 - 0.1 * W, W / 2, 0.02, 0.04, "marker")
        return
    k.legs(0, 0.06, 0.04, inset=0.03)
    k.box(-L / 2, L / 2, -W / 2, W / 2, 0.06, H - 0.003, "fabric")
    k.front_band(H, role="marker")


def _table(k: _Kit, kind="plain"):
    L, W, H = k.L, k.W, k.H
    L2, W2 = L / 2, W / 2
    top = min(max(0.05 * H, 0.025), 0.05)
    t = _leg(k, 0.07, 0.03, 0.07)
    k.box(-L2, L2, -W2, W2, H - top, H - 0.003, "body")
    k.front_band(H, role="marker")
    if kind == "desk":
        ped = min(0.4, 0.32 * L)  # drawer pedestal on the left, legs on the right
        k.box(-L2, -L2 + ped, -W2, W2 - 0.025, 0, H - top, "body")
        k.fronts(-L2, -L2 + ped, 0.03, H - top, 3, 1, "drawer", "accent")
        k.legs(0, H - top, t, y0=-W2, y1=W2)
        k.box(-L2 + ped, L2 - t, -W2, -W2 + 0.02, H * 0.35, H - top, "body")  # modesty panel at the back
        return
    if kind == "vanity":
        k.legs(0, H - top, t)
        k.box(-L2 + t, L2 - t, -W2, W2 - 0.03, H - top - 0.12, H - top, "body")
        k.fronts(-0.3 * L, 0.3 * L, H - top - 0.12, H - top, 1, 2, "drawer", "accent")
        return
    k.legs(0, H - top, t)
    k.box(-L2 + t, L2 - t, -W2 + 0.01, -W2 + 0.03, H - top - 0.08, H - top, "body")  # aprons
    k.box(-L2 + t, L2 - t, W2 - 0.03, W2 - 0.01, H - top - 0.08, H - top, "body")
    if kind == "low_shelf":  # coffee, console and side tables have a lower shelf
        k.box(-L2 + t, L2 - t, -W2 + t, W2 - t, 0.1 * H + 0.05, 0.1 * H + 0.07, "body")


def _cabinet(k: _Kit, rows=3, cols=1, kind="drawer", legs=0.08, top=None, plinth=False):
    """A carcass with drawer or door fronts; optional legs, plinth and a contrasting top."""
    L, W, H = k.L, k.W, k.H
    L2, W2 = L / 2, W / 2
    base = legs if not plinth else 0.08
    if legs and not plinth:
        k.legs(0, legs, _leg(k, 0.08, 0.03, 0.05), inset=0.02)
    if plinth:
        k.box(-L2 + 0.02, L2 - 0.02, -W2, W2 - 0.05, 0, base, "dark")
    top_h = 0.035 if top else 0.0
    k.box(-L2, L2, -W2, W2 - 0.025, base, H - top_h, "body")
    if top:
        k.box(-L2, L2, -W2, W2, H - top_h, H, top)
    k.fronts(-L2 + 0.02, L2 - 0.02, base + 0.02, H - top_h - 0.02, rows, cols, kind, "accent")


def _open_shelf(k: _Kit, boards=None, back=True, books=True):
    L, W, H = k.L, k.W, k.H
    L2, W2 = L / 2, W / 2
    t = min(0.025, 0.1 * L)
    k.box(-L2, -L2 + t, -W2, W2, 0, H, "body")
    k.box(L2 - t, L2, -W2, W2, 0, H, "body")
    k.box(-L2, L2, -W2, W2, H - t, H, "body")
    if back:
        k.box(-L2 + t, L2 - t, -W2, -W2 + 0.012, 0, H - t, "back")
    n = boards if boards is not None else max(1, int(H / 0.36))
    pitch = (H - t) / (n + 0.0)
    for i in range(n):
        z = i * pitch
        k.box(-L2 + t, L2 - t, -W2 + 0.012, W2, z, z + t, "body")
        if books and pitch > 0.12:
            k.books(-L2 + t + 0.01, L2 - t - 0.05, -W2 + 0.03, W2 - 0.04, z + t, z + pitch - 0.01, seed=i)


def _wardrobe(k: _Kit):
    # the cabinet's top is the cornice (a separate cornice box shared the carcass's top face, and
    # coincident faces render black in Cycles: each shadows the other)
    _cabinet(k, rows=1, cols=2 if k.L > 0.7 else 1, kind="door", legs=0.0, plinth=True, top="body")


def _fridge(k: _Kit):
    L, W, H = k.L, k.W, k.H
    k.box(-L / 2, L / 2, -W / 2, W / 2 - 0.025, 0, H, "body")
    split = 0.38 * H
    for z0, z1 in ((0.01, split - 0.01), (split + 0.01, H - 0.01)):
        k.box(-L / 2 + 0.01, L / 2 - 0.01, W / 2 - 0.025, W / 2 - 0.006, z0, z1, "body")
        k.box(L / 2 - 0.06, L / 2 - 0.04, W / 2 - 0.006, W / 2, max(z0 + 0.05, z1 - 0.45), z1 - 0.05, "metal")


def _kitchen_run(k: _Kit, sink=False, island=False):
    L, W, H = k.L, k.W, k.H
    W2 = W / 2
    _cabinet(k, rows=2 if not sink else 1, cols=max(1, round(L / 0.6)), kind="door" if sink else "drawer",
             legs=0.0, top="stone", plinth=True)
    if sink:
        k.box(-0.25 * L, 0.25 * L, -0.2 * W, 0.25 * W, H - 0.004, H, "metal")
        k.cyl(0, -W2 + 0.06, H, H, 0.03, role="metal")
    if island:
        k.box(-L / 2, L / 2, -W2, -W2 + 0.2, H - 0.004, H, "marker")


def _stove(k: _Kit):
    L, W, H = k.L, k.W, k.H
    L2, W2 = L / 2, W / 2
    k.box(-L2, L2, -W2, W2 - 0.02, 0, H - 0.02, "body")
    k.box(-L2, L2, -W2, W2, H - 0.02, H - 0.006, "dark")  # cooktop
    for x in (-0.25 * L, 0.25 * L):
        for y in (-0.2 * W, 0.2 * W):
            k.cyl(x, y, H - 0.006, H, 0.3 * min(L, W), role="metal")
    k.box(-L2 + 0.04, L2 - 0.04, W2 - 0.02, W2 - 0.005, 0.12, 0.62 * H, "body")  # oven door
    k.box(-L2 + 0.1, L2 - 0.1, W2 - 0.005, W2, 0.25, 0.5 * H, "glass")
    k.box(-L2 + 0.08, L2 - 0.08, W2 - 0.005, W2, 0.62 * H - 0.06, 0.62 * H - 0.04, "metal")


def _dishwasher(k: _Kit):
    L, W, H = k.L, k.W, k.H
    k.box(-L / 2, L / 2, -W / 2, W / 2 - 0.02, 0, H, "body")
    k.box(-L / 2 + 0.01, L / 2 - 0.01, W / 2 - 0.02, W / 2 - 0.005, 0.08, H - 0.01, "body")
    k.box(-L / 2 + 0.05, L / 2 - 0.05, W / 2 - 0.005, W / 2, H - 0.1, H - 0.08, "metal")


def _microwave(k: _Kit):
    L, W, H = k.L, k.W, k.H
    k.box(-L / 2, L / 2, -W / 2, W / 2 - 0.01, 0, H, "body")
    k.box(-L / 2 + 0.02, L / 2 - 0.14, W / 2 - 0.01, W / 2, 0.03, H - 0.03, "glass")
    k.box(L / 2 - 0.12, L / 2 - 0.02, W / 2 - 0.01, W / 2, 0.03, H - 0.03, "dark")


def _range_hood(k: _Kit):
    L, W, H = k.L, k.W, k.H
    k.box(-0.2 * L, 0.2 * L, -W / 2, -W / 2 + 0.35 * W, 0.3 * H, H, "metal")  # chimney at the back
    k.box(-L / 2, L / 2, -W / 2, W / 2, 0, 0.3 * H, "metal")
    k.box(-L / 2 + 0.03, L / 2 - 0.03, W / 2 - 0.004, W / 2, 0.05 * H, 0.2 * H, "dark")


def _screen(k: _Kit, face="screen", frame="dark", stand=False, tray=False, border=0.02):
    """A flat panel facing forward: TVs, monitors, screens, boards, mirrors and wall art."""
    L, W, H = k.L, k.W, k.H
    z0 = 0.0
    if stand:  # monitor: foot and neck at the back
        k.box(-0.2 * L, 0.2 * L, -W / 2, W / 2, 0, 0.02, "dark")
        k.box(-0.03, 0.03, -W / 2 + 0.03, -W / 2 + 0.06, 0.02, 0.3 * H, "dark")
        z0 = 0.25 * H
    depth = min(W, 0.06) if stand else W
    y0 = W / 2 - depth
    k.box(-L / 2, L / 2, y0, W / 2 - 0.004, z0, H, frame)
    b = min(border, 0.2 * min(L, H - z0))
    k.box(-L / 2 + b, L / 2 - b, W / 2 - 0.004, W / 2, z0 + b, H - b, face)
    if tray:
        k.box(-L / 2 + 0.1 * L, L / 2 - 0.1 * L, W / 2 - 0.004, W / 2, z0, z0 + 0.02, "metal")


def _clock(k: _Kit):
    L, W, H = k.L, k.W, k.H
    k.cyl_y(0, -W / 2, W / 2 - 0.004, H / 2, L, H, "body")
    k.cyl_y(0, W / 2 - 0.004, W / 2, H / 2, 0.86 * L, 0.86 * H, "paper")
    k.box(-0.01, 0.01, W / 2 - 0.003, W / 2, H / 2, H / 2 + 0.35 * H, "dark")
    k.box(0, 0.25 * L, W / 2 - 0.003, W / 2, H / 2 - 0.01, H / 2 + 0.01, "dark")


def _floor_lamp(k: _Kit):
    L, W, H = k.L, k.W, k.H
    d = min(L, W)
    k.cyl(0, 0, 0, 0.03, 0.8 * d, role="metal")
    k.cyl(0, 0, 0.03, H - 0.3 * H, 0.03, role="metal")
    k.shade(0, 0, H - 0.3 * H, H, d)
    k.front_band(0.03, depth=0.2 * W)


def _table_lamp(k: _Kit, desk=False):
    L, W, H = k.L, k.W, k.H
    d = min(L, W)
    if desk:  # a base at the back, an arm reaching forward, the head facing down at the front
        k.cyl(0, -W / 2 + 0.4 * d, 0, 0.03, L, 0.8 * d, role="body")
        k.box(-0.01, 0.01, -W / 2 + 0.35 * d, -W / 2 + 0.45 * d, 0.03, 0.9 * H, "metal")
        k.box(-0.01, 0.01, -W / 2 + 0.35 * d, W / 2 - 0.1 * d, 0.85 * H, 0.9 * H, "metal")
        k.shade(0, W / 2 - 0.25 * d, 0.65 * H, H, 0.5 * d, "body")
        k.cyl(0, W / 2 - 0.25 * d, 0.64 * H, 0.67 * H, 0.4 * d, role="light")
        return
    k.cyl(0, 0, 0, 0.5 * H, 0.45 * d, role="body")
    k.cyl(0, 0, 0.5 * H, 0.55 * H, 0.06, role="metal")
    k.shade(0, 0, 0.55 * H, H, d)


def _hanging(k: _Kit, kind="pendant"):
    L, W, H = k.L, k.W, k.H
    d = min(L, W)
    if kind == "flat":
        k.cyl(0, 0, 0.6 * H, H, d, role="metal")
        k.cyl(0, 0, 0, 0.6 * H, 0.9 * d, role="light")
        return
    if kind == "fan":
        k.cyl(0, 0, 0.6 * H, H, 0.08, role="metal")
        k.cyl(0, 0, 0.25 * H, 0.6 * H, 0.2 * d, role="body")
        k.box(-L / 2, L / 2, -0.06, 0.06, 0.3 * H, 0.35 * H, "body")
        k.box(-0.06, 0.06, -W / 2, W / 2, 0.3 * H, 0.35 * H, "body")
        k.cyl(0, 0, 0, 0.25 * H, 0.15 * d, role="light")
        return
    if kind == "chandelier":
        k.cyl(0, 0, 0.5 * H, H, 0.02, role="metal")
        k.sphere(0, 0, 0.45 * H, 0.15 * d, 0.15 * d, 0.15 * d, "metal")
        k.box(-L / 2 + 0.04, L / 2 - 0.04, -0.01, 0.01, 0.4 * H, 0.43 * H, "metal")
        k.box(-0.01, 0.01, -W / 2 + 0.04, W / 2 - 0.04, 0.4 * H, 0.43 * H, "metal")
        for x, y in ((-L / 2, 0), (L / 2, 0), (0, -W / 2), (0, W / 2)):
            cx = x + (0.06 if x < 0 else -0.06 if x > 0 else 0)
            cy = y + (0.06 if y < 0 else -0.06 if y > 0 else 0)
            k.cyl(cx, cy, 0.43 * H, 0.5 * H, 0.05, role="metal")
            k.sphere(cx, cy, 0.58 * H, 0.12, 0.12, 0.16 * H, "light")
        k.sphere(0, 0, 0.15 * H, 0.25 * d, 0.25 * d, 0.3 * H, "glass")
        return
    k.cyl(0, 0, 0.45 * H, H, 0.015, role="dark")  # cord, shade below it
    k.shade(0, 0, 0, 0.5 * H, d, "body")
    k.cyl(0, 0, 0, 0.02, 0.7 * d, role="light")


def _plant(k: _Kit):
    L, W, H = k.L, k.W, k.H
    d = min(L, W)
    pot = min(0.35 * H, 0.4)
    k.cyl(0, 0, 0, pot, 0.65 * d, role="pot")
    k.cyl(0, 0, pot, pot + 0.1 * H, 0.04, role="body")
    k.sphere(0, 0, pot + 0.55 * (H - pot), L, W, 0.9 * (H - pot), "leaf")
    k.sphere(0.15 * L, 0.1 * W, H - 0.2 * (H - pot), 0.5 * L, 0.5 * W, 0.4 * (H - pot), "leaf2")
    k.sphere(-0.15 * L, -0.12 * W, pot + 0.35 * (H - pot), 0.5 * L, 0.5 * W, 0.4 * (H - pot), "leaf2")


def _vase(k: _Kit):
    L, W, H = k.L, k.W, k.H
    k.cyl(0, 0, 0, 0.75 * H, L, W, "body")
    k.cyl(0, 0, 0.75 * H, 0.9 * H, 0.5 * L, 0.5 * W, "body")
    k.sphere(0, 0, 0.93 * H, 0.6 * L, 0.6 * W, 0.14 * H, "leaf")


def _rug(k: _Kit):
    L, W, H = k.L, k.W, k.H
    b = min(0.12, 0.08 * min(L, W))
    k.box(-L / 2 + b, L / 2 - b, -W / 2 + b, W / 2 - b, 0, H, "body")
    k.box(-L / 2, L / 2, -W / 2, -W / 2 + b, 0, H, "accent")
    k.box(-L / 2, -L / 2 + b, -W / 2 + b, W / 2 - b, 0, H, "accent")
    k.box(L / 2 - b, L / 2, -W / 2 + b, W / 2 - b, 0, H, "accent")
    k.box(-L / 2, L / 2, W / 2 - b, W / 2, 0, H, "marker")  # the front border


def _speaker(k: _Kit):
    L, W, H = k.L, k.W, k.H
    k.box(-L / 2, L / 2, -W / 2, W / 2 - 0.01, 0, H, "body")
    d = 0.7 * L
    for z in (0.3 * H, 0.55 * H):
        k.cyl_y(0, W / 2 - 0.01, W / 2, z, d, role="dark")
    k.cyl_y(0, W / 2 - 0.01, W / 2, 0.8 * H, 0.3 * L, role="metal")


def _projector(k: _Kit):
    L, W, H = k.L, k.W, k.H
    k.box(-L / 2, L / 2, -W / 2, W / 2 - 0.03, 0, 0.8 * H, "body")
    k.box(-0.02, 0.02, -0.02, 0.02, 0.8 * H, H, "metal")  # ceiling mount
    k.cyl_y(0.2 * L, W / 2 - 0.03, W / 2, 0.4 * H, min(0.5 * H, 0.3 * L), role="glass")


def _printer(k: _Kit):
    L, W, H = k.L, k.W, k.H
    k.box(-L / 2, L / 2, -W / 2, W / 2 - 0.01, 0, H, "body")
    k.box(-0.35 * L, 0.35 * L, W / 2 - 0.01, W / 2, 0.2 * H, 0.35 * H, "dark")
    k.box(-0.3 * L, 0.3 * L, -W / 2 + 0.02, 0, H - 0.004, H, "paper")


def _piano(k: _Kit):
    L, W, H = k.L, k.W, k.H
    W2 = W / 2
    body = 0.55 * W
    k.box(-L / 2, L / 2, -W2, -W2 + body, 0, H, "body")
    k.box(-L / 2, L / 2, -W2 + body, W2, 0.68, 0.74, "body")  # key bed
    k.box(-L / 2 + 0.06, L / 2 - 0.06, -W2 + body, W2 - 0.02, 0.74, 0.76, "paper")  # keys
    k.box(-L / 2 + 0.06, L / 2 - 0.06, -W2 + body, -W2 + body + 0.06, 0.76, 0.78, "dark")
    for x in (-L / 2, L / 2 - 0.05):
        k.box(x, x + 0.05, -W2 + body, W2, 0, 0.74, "body")


def _fireplace(k: _Kit):
    L, W, H = k.L, k.W, k.H
    k.box(-L / 2, L / 2, -W / 2, W / 2 - 0.06, 0, H - 0.06, "body")
    k.box(-L / 2, L / 2, -W / 2, W / 2, H - 0.06, H, "accent")  # mantel
    k.box(-L / 2, L / 2, W / 2 - 0.06, W / 2, 0, 0.06, "accent")  # hearth
    k.box(-0.3 * L, 0.3 * L, W / 2 - 0.065, W / 2 - 0.055, 0.06, 0.6 * H, "dark")  # firebox opening
    k.sphere(0, W / 2 - 0.16, 0.12, 0.3 * L, 0.1, 0.1, "light")


def _globe(k: _Kit):
    L, W, H = k.L, k.W, k.H
    k.cyl(0, 0, 0, 0.04, 0.6 * min(L, W), role="body")
    k.cyl(0, 0, 0.04, 0.5 * H, 0.04, role="body")
    k.sphere(0, 0, H - 0.5 * min(L, W, H), L, W, min(L, W, H), "globe")
    k.box(-0.01, 0.01, W / 2 - 0.02, W / 2, 0.45 * H, 0.5 * H, "marker")


def _coat_rack(k: _Kit):
    L, W, H = k.L, k.W, k.H
    k.box(-L / 2, L / 2, -0.02, 0.02, 0, 0.04, "body")
    k.box(-0.02, 0.02, -W / 2, W / 2, 0, 0.04, "body")
    k.cyl(0, 0, 0.04, H, 0.035, role="body")
    k.box(-L / 2 + 0.05, L / 2 - 0.05, -0.012, 0.012, H - 0.12, H - 0.1, "metal")
    k.box(-0.012, 0.012, -W / 2 + 0.05, W / 2 - 0.05, H - 0.2, H - 0.18, "metal")
    k.sphere(0, 0.1 * W, H - 0.45, 0.35 * L, 0.3 * W, 0.5, "fabric")  # a coat on it


def _easel(k: _Kit):
    L, W, H = k.L, k.W, k.H
    for x in (-0.35 * L, 0.35 * L - 0.03):
        k.box(x, x + 0.03, 0.1 * W, 0.1 * W + 0.03, 0, 0.95 * H, "body")
    k.box(-0.015, 0.015, -W / 2, -W / 2 + 0.03, 0, 0.85 * H, "body")  # back leg
    k.box(-0.015, 0.015, -W / 2, 0.13 * W, 0.5 * H, 0.53 * H, "body")
    k.box(-L / 2, L / 2, 0.13 * W, W / 2, 0.42 * H, 0.45 * H, "body")  # ledge
    k.box(-0.45 * L, 0.45 * L, 0.13 * W, 0.13 * W + 0.03, 0.45 * H, H, "art")  # canvas facing front
    k.box(-0.45 * L, 0.45 * L, 0.13 * W - 0.01, 0.13 * W, 0.45 * H, H, "paper")


def _bar_cart(k: _Kit):
    L, W, H = k.L, k.W, k.H
    k.legs(0.06, H - 0.05, 0.02, inset=0.03, role="metal")
    for z in (0.12, 0.55 * H):
        k.box(-L / 2 + 0.03, L / 2 - 0.03, -W / 2 + 0.03, W / 2 - 0.03, z, z + 0.02, "body")
    k.box(-L / 2, L / 2, -W / 2, -W / 2 + 0.02, H - 0.05, H, "metal")  # handle at the back
    for x in (-L / 2 + 0.03, L / 2 - 0.08):
        k.cyl_x(x, x + 0.05, W / 2 - 0.1, 0.06, 0.12, "dark")
        k.cyl_x(x, x + 0.05, -W / 2 + 0.1, 0.06, 0.12, "dark")
    k.cyl(-0.15 * L, 0, 0.55 * H + 0.02, 0.55 * H + 0.25, 0.07, role="glass")
    k.front_band(0.14, depth=0.04)


def _trash_can(k: _Kit):
    L, W, H = k.L, k.W, k.H
    k.cyl(0, 0, 0, H - 0.03, L, W, "body")
    k.cyl(0, 0, H - 0.03, H, L, W, "metal")
    k.box(-0.05, 0.05, W / 2 - 0.05, W / 2, 0.85 * H, H - 0.03, "dark")


def _book_stack(k: _Kit):
    L, W, H = k.L, k.W, k.H
    n = max(3, min(5, round(H / 0.035)))
    h = H / n
    for i in range(n):
        s = 0.02 * (i % 3)
        k.box(-L / 2 + s, L / 2 - (0.04 - s), -W / 2 + 0.5 * s, W / 2 - 0.5 * s, i * h, (i + 1) * h, f"book{i % 4}")


def _fruit_bowl(k: _Kit):
    L, W, H = k.L, k.W, k.H
    k.cyl(0, 0, 0, 0.55 * H, L, W, "body")
    for x, y, role in ((-0.18, 0, "fruit0"), (0.18, 0.05, "fruit1"), (0, -0.18, "fruit2"), (0.02, 0.2, "fruit0")):
        k.sphere(x * L, y * W, H - 0.22 * L, 0.4 * L, 0.4 * W, 0.44 * L, role)


def _box(k: _Kit):
    k.box(-k.L / 2, k.L / 2, -k.W / 2, k.W / 2, 0, k.H - 0.003, "body")
    k.front_band(k.H)


Builder = Callable[[_Kit], None]

#: Category -> builder. Other names resolve through their trailing words (see :func:`builder_for`).
BUILDERS: dict[str, Builder] = {
    "bed": _bed, "double_bed": _bed, "single_bed": _bed, "king_bed": _bed, "queen_bed": _bed,
    "bunk_bed": lambda k: _bed(k, bunk=True), "crib": lambda k: _bed(k, crib=True),
    "nightstand": lambda k: _cabinet(k, rows=2, legs=0.1), "bedside_table": lambda k: _cabinet(k, rows=2, legs=0.1),
    "dresser": lambda k: _cabinet(k, rows=3, cols=2 if k.L > 1.0 else 1, legs=0.1),
    "chest_of_drawers": lambda k: _cabinet(k, rows=4, legs=0.08),
    "filing_cabinet": lambda k: _cabinet(k, rows=max(2, round(k.H / 0.33)), legs=0.0),
    "toy_chest": lambda k: _cabinet(k, rows=1, legs=0.0, top="accent"),
    "tv_stand": lambda k: _cabinet(k, rows=1, cols=max(2, round(k.L / 0.5)), kind="door", legs=0.1),
    "media_console": lambda k: _cabinet(k, rows=1, cols=max(2, round(k.L / 0.5)), kind="door", legs=0.1),
    "sideboard": lambda k: _cabinet(k, rows=1, cols=max(2, round(k.L / 0.45)), kind="door", legs=0.14),
    "storage_cabinet": lambda k: _cabinet(k, rows=1, cols=2, kind="door", legs=0.06),
    "cabinet": lambda k: _cabinet(k, rows=1, cols=2, kind="door", legs=0.06),
    "wall_cabinet": lambda k: _cabinet(k, rows=1, cols=max(1, round(k.L / 0.45)), kind="door", legs=0.0),
    "pantry_cabinet": lambda k: _cabinet(k, rows=2, cols=2 if k.L > 0.7 else 1, kind="door", legs=0.0, plinth=True),
    "china_cabinet": lambda k: _cabinet(k, rows=2, cols=2, kind="door", legs=0.1),
    "wardrobe": _wardrobe, "closet": _wardrobe,
    "refrigerator": _fridge, "fridge": _fridge,
    "kitchen_counter": _kitchen_run, "counter": _kitchen_run,
    "sink_cabinet": lambda k: _kitchen_run(k, sink=True),
    "kitchen_island": lambda k: _kitchen_run(k, island=True),
    "stove": _stove, "oven": _stove, "dishwasher": _dishwasher, "microwave": _microwave,
    "range_hood": _range_hood,
    "bookshelf": _open_shelf, "bookcase": _open_shelf, "low_bookcase": _open_shelf,
    "shelf": _open_shelf, "wall_shelf": lambda k: _open_shelf(k, boards=1),
    "shoe_rack": lambda k: _open_shelf(k, back=False, books=False),
    "canvas_rack": lambda k: _open_shelf(k, boards=1, back=True, books=True),
    "magazine_rack": lambda k: _open_shelf(k, boards=1),
    "chair": _chair, "dining_chair": _chair, "kids_chair": _chair,
    "office_chair": lambda k: _chair(k, "office"), "desk_chair": lambda k: _chair(k, "office"),
    "stool": _stool, "bar_stool": _stool,
    "sofa": _sofa, "couch": _sofa, "loveseat": lambda k: _sofa(k, seats=2),
    "sectional_sofa": lambda k: _sofa(k, seats=3, sectional=True),
    "sectional": lambda k: _sofa(k, seats=3, sectional=True),
    "armchair": lambda k: _sofa(k, seats=1), "recliner": lambda k: _sofa(k, seats=1, recliner=True),
    "bench": _bench, "ottoman": _ottoman, "pouf": _ottoman, "bean_bag": lambda k: _ottoman(k, bag=True),
    "table": _table, "dining_table": _table, "library_table": _table, "meeting_table": _table,
    "kids_table": _table, "work_table": _table, "drafting_table": _table,
    "coffee_table": lambda k: _table(k, "low_shelf"), "side_table": lambda k: _table(k, "low_shelf"),
    "end_table": lambda k: _table(k, "low_shelf"), "console_table": lambda k: _table(k, "low_shelf"),
    "desk": lambda k: _table(k, "desk"), "vanity_table": lambda k: _table(k, "vanity"),
    "tv": _screen, "television": _screen,
    "computer_monitor": lambda k: _screen(k, stand=True), "monitor": lambda k: _screen(k, stand=True),
    "projector_screen": lambda k: _screen(k, face="paper", border=0.05),
    "whiteboard": lambda k: _screen(k, face="paper", frame="metal", tray=True),
    "mirror": lambda k: _screen(k, face="mirror", frame="body", border=0.04),
    "wall_art": lambda k: _screen(k, face="art", frame="accent", border=0.04),
    "painting": lambda k: _screen(k, face="art", frame="accent", border=0.04),
    "picture": lambda k: _screen(k, face="art", frame="accent", border=0.04),
    "poster": lambda k: _screen(k, face="art", frame="accent", border=0.02),
    "wall_clock": _clock, "clock": _clock,
    "floor_lamp": _floor_lamp, "lamp": _floor_lamp,
    "table_lamp": _table_lamp, "desk_lamp": lambda k: _table_lamp(k, desk=True),
    "pendant_light": _hanging, "pendant_lamp": _hanging, "pendant": _hanging,
    "chandelier": lambda k: _hanging(k, "chandelier"),
    "ceiling_light": lambda k: _hanging(k, "flat"), "ceiling_lamp": lambda k: _hanging(k, "flat"),
    "ceiling_fan": lambda k: _hanging(k, "fan"),
    "plant": _plant, "potted_plant": _plant, "table_plant": _plant, "tree": _plant,
    "vase": _vase, "rug": _rug, "carpet": _rug, "mat": _rug, "play_mat": _rug,
    "speaker": _speaker, "projector": _projector, "printer": _printer,
    "piano": _piano, "fireplace": _fireplace, "globe": _globe, "coat_rack": _coat_rack,
    "easel": _easel, "bar_cart": _bar_cart, "trash_can": _trash_can, "book_stack": _book_stack,
    "fruit_bowl": _fruit_bowl,
}


def builder_name(category: str) -> str | None:
    """The :data:`BUILDERS` key a category resolves to (whole name, then trailing words), or None."""
    name = re.sub(r"[^a-z0-9]+", "_", category_of(category)).strip("_")
    words = [w for w in name.split("_") if w]
    for i in range(len(words)):
        key = "_".join(words[i:])
        if key in BUILDERS:
            return key
    return None


@lru_cache(maxsize=2048)
def build_parts(category: str, size: tuple[float, float, float]) -> tuple[Part, ...]:
    """The parts of one object of ``category`` fitted to ``size = (length, width, height)``.

    Unknown categories are a plain box with a front band. The parts always stay inside the box.
    """
    kit = _Kit(size)
    key = builder_name(category)
    BUILDERS.get(key, _box)(kit) if key else _box(kit)
    return tuple(kit.parts)


# -- colours from material and style words ------------------------------------------------------
#: Colour words and material nouns -> sRGB. Multi-word names are matched before single words.
COLOR_WORDS: dict[str, tuple[float, float, float]] = {k: hex_rgb(v) for k, v in {
    # woods
    "light oak": "#d2b48a", "oak": "#b8874f", "white oak": "#d8c3a0", "grey oak": "#9b9286",
    "black oak": "#3b3430", "dark oak": "#6b4a2e", "weathered oak": "#a39680", "reclaimed oak": "#9a7a58",
    "walnut": "#6f4a30", "dark walnut": "#4a3020", "walnut burl": "#7a5034", "teak": "#a0703f",
    "pine": "#d9b77e", "knotty pine": "#cfa36a", "rough pine": "#c9a472", "ash": "#d6c29f",
    "birch": "#e3cfa8", "birch plywood": "#e0c89c", "maple": "#dcbc8a", "cherry": "#9b4f32",
    "mahogany": "#6e2f22", "ebony": "#2c2420", "macassar ebony": "#3d2b22", "rosewood": "#65301f",
    "bamboo": "#d8be80", "mango wood": "#a57a4f", "mango": "#a57a4f", "acacia": "#9c6a3c",
    "beech": "#d6b083", "chestnut": "#7b4a2c", "dark chestnut": "#5a3520", "driftwood": "#b3a592",
    "reclaimed wood": "#8f7458", "whitewashed wood": "#e6dfd2", "distressed white wood": "#e4ddcf",
    "wood": "#a77b52", "plywood": "#d8bf94", "veneer": "#8a6444",
    # wicker and fibres
    "rattan": "#c9a26b", "natural rattan": "#c9a26b", "wicker": "#c2a070", "cane": "#d4b27c",
    "jute": "#c4a878", "seagrass": "#b5a77a", "paper cord": "#c7ad82", "paper": "#f2efe8",
    # metals
    "brass": "#c9a44c", "antique brass": "#a8873f", "bronze": "#8c6a3f", "antique bronze": "#6f5434",
    "matte bronze": "#7a5f3e", "copper": "#b8734a", "hammered copper": "#a9653e", "gold": "#d4af37",
    "antique gold": "#b8954a", "chrome": "#d6d9dc", "polished chrome": "#dfe2e5", "steel": "#a9adb1",
    "brushed steel": "#b3b6b8", "stainless steel": "#c2c5c7", "galvanized steel": "#9ea5a8",
    "raw steel": "#6d7175", "aluminium": "#c4c8cb", "aluminum": "#c4c8cb", "nickel": "#bdbab0",
    "silver": "#c8c8cc", "iron": "#3a3a3c", "wrought iron": "#2e2d2c", "metal": "#7a7d80",
    # stone, glass, ceramic
    "marble": "#ece9e4", "white marble": "#efede8", "black marble": "#2a2a2c", "green marble": "#3f6b55",
    "terrazzo": "#ddd6cb", "concrete": "#9a9a96", "stone": "#a8a49c", "slate": "#555b60",
    "granite": "#6c6a68", "quartz": "#e8e6e1", "travertine": "#d9cbb0", "terracotta": "#c0653e",
    "ceramic": "#ece8e0", "porcelain": "#f0eee8", "enamel": "#eeeeea", "glass": "#bcd3dc",
    "crystal": "#e4eef2", "sea glass": "#9fc9c0", "mirrored glass": "#c9d8de", "mirror": "#c9d8de",
    # fabrics and leathers (their usual colour when no colour word is given)
    "leather": "#8a5a3a", "velvet": "#6a4a6a", "linen": "#d9d0bf", "wool": "#cfc7b8",
    "boucle": "#ece6da", "fabric": "#9a968f", "canvas": "#d8d0bc", "cotton": "#e8e4dc",
    "shag": "#d8cdb8", "mesh": "#3a3a3e", "vinyl": "#eeeeee", "plastic": "#d0d0d0",
    "brocade": "#b39347", "damask": "#4a3a5a", "plaid": "#9c3b32",
    # colour words
    "white": "#f0eee9", "off white": "#ece7dc", "ivory": "#efe8d6", "cream": "#ece2c8",
    "beige": "#d8c8a8", "oatmeal": "#d6ccb6", "sand": "#d4c09a", "tan": "#b88a5a",
    "cognac": "#9a5a2e", "saddle": "#8b5a2b", "brown": "#6d4c33", "black": "#26262a",
    "charcoal": "#3c3e42", "grey": "#8e8e8e", "gray": "#8e8e8e", "light grey": "#c2c2c0",
    "light gray": "#c2c2c0", "dark grey": "#555759", "dark gray": "#555759", "stone grey": "#9b978f",
    "pale grey": "#d2d2d0", "navy": "#243b63", "blue": "#3c6aa8", "light blue": "#9cc0dc",
    "sky blue": "#8cc3e8", "teal": "#227a7a", "aqua": "#6cc4c0", "turquoise": "#3cb4a8",
    "green": "#3f7f4a", "sage": "#9cae8c", "sage green": "#9cae8c", "olive": "#6b7440",
    "olive green": "#6b7440", "emerald": "#1f6e4a", "mint": "#a8d8b9", "mustard": "#c9a227",
    "yellow": "#e3c440", "orange": "#d9772e", "rust": "#a8502c", "red": "#b03a32",
    "burgundy": "#6e1f2a", "pink": "#e09ab0", "blush": "#e2b4b0", "purple": "#6a4a8c",
    "lavender": "#b4a4d0", "amber": "#c98a2a", "smoked": "#55585c", "frosted": "#dfe8ec",
    "clear": "#c8dce4", "natural": "#c8a676", "light": "#d0c0a0", "dark": "#4a3a30",
}.items()}

_METAL_NOUNS = ("brass", "bronze", "copper", "gold", "chrome", "steel", "aluminium", "aluminum",
                "nickel", "silver", "iron", "metal")
_FABRIC_NOUNS = ("fabric", "leather", "velvet", "linen", "wool", "boucle", "canvas", "cotton",
                 "shag", "mesh", "brocade", "damask", "plaid", "upholstered")
_HARD_NOUNS = ("wood", "oak", "walnut", "teak", "pine", "ash", "birch", "maple", "cherry", "mahogany",
               "ebony", "rosewood", "bamboo", "mango", "acacia", "beech", "chestnut", "driftwood",
               "marble", "stone", "concrete", "terrazzo", "slate", "granite", "quartz", "travertine",
               "plywood", "veneer", "rattan", "wicker", "cane", "ceramic", "porcelain", "plastic", "glass")

#: Per room style: (upholstery colour, metal colour) when the material names none.
STYLE_DEFAULTS: dict[str, tuple[str, str]] = {
    "scandinavian": ("light grey", "white"), "modern": ("grey", "black"), "minimalist": ("white", "black"),
    "industrial": ("tan", "iron"), "mid-century modern": ("mustard", "brass"), "japandi": ("oatmeal", "black"),
    "coastal": ("light blue", "white"), "traditional": ("burgundy", "antique brass"),
    "bohemian": ("rust", "antique brass"), "farmhouse": ("cream", "iron"), "rustic": ("tan", "iron"),
    "art deco": ("emerald", "gold"),
}

_WORD_RE = re.compile(r"[a-z]+(?:-[a-z]+)*")
_FOLIAGE = {"olive": "#7d8a55", "succulent": "#7fa58a", "fern": "#4f9a3c", "monstera": "#2f6b35",
            "fiddle": "#3a7034", "snake": "#4f7a3a", "pothos": "#4d9440", "cactus": "#4f8050"}


def _phrase_color(phrase: str) -> tuple[float, float, float] | None:
    """The colour a phrase names: the longest known name (two words, then one), colour words first."""
    words = _WORD_RE.findall(phrase.lower())
    for i in range(len(words) - 1):  # two-word names ("light oak", "sage green", "brushed steel")
        two = f"{words[i]} {words[i + 1]}"
        if two in COLOR_WORDS:
            return COLOR_WORDS[two]
    for w in words:
        if w in COLOR_WORDS:
            return COLOR_WORDS[w]
    return None


def _has(phrase: str, nouns) -> bool:
    words = set(_WORD_RE.findall(phrase.lower()))
    return any(n in words for n in nouns)


def _shift(rgb, factor: float) -> tuple[float, float, float]:
    """Darker (factor < 1) or lighter (factor > 1, towards white) version of a colour."""
    if factor <= 1.0:
        return tuple(c * factor for c in rgb)  # type: ignore[return-value]
    t = min(factor - 1.0, 1.0)
    return tuple(c + (1.0 - c) * t for c in rgb)  # type: ignore[return-value]


def _luma(rgb) -> float:
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]


def _contrast(rgb) -> tuple[float, float, float]:
    return _shift(rgb, 0.45) if _luma(rgb) > 0.3 else _shift(rgb, 1.55)


def _hash_hue(text: str, sat=0.55, val=0.75) -> tuple[float, float, float]:
    digest = hashlib.md5(text.encode("utf-8")).digest()
    return colorsys.hsv_to_rgb(digest[0] / 255.0, sat, val)  # type: ignore[return-value]


@lru_cache(maxsize=4096)
def color_scheme(category: str, material: str = "", style: str = "") -> dict[str, tuple[float, float, float]]:
    """sRGB colour (floats in [0, 1]) of every part role for one object.

    ``material`` is read as components joined by "and"/"with"/"in" ("black metal and oak",
    "oil painting with gold frame", "fern in terracotta pot"): hard materials (woods, stone)
    colour the body, metals the legs and fittings, fabrics the upholstery; a "... in ... pot"
    colours foliage and pot; "... with ... frame" the picture and its frame. Missing colours come
    from the room ``style`` and, last, from the category's palette colour.
    """
    material = (material or "").lower().strip()
    style = (style or "").lower().strip()
    fabric_default, metal_default = STYLE_DEFAULTS.get(style, ("grey", "black"))
    category_rgb = category_color(category)
    foliage, pot_phrase, frame_phrase = None, None, None
    if " in " in material and _has(material.split(" in ", 1)[1], ("pot", "basket", "planter")):
        plant_phrase, pot_phrase = material.split(" in ", 1)
        words = _WORD_RE.findall(plant_phrase)
        foliage = next((hex_rgb(_FOLIAGE[w]) for w in words if w in _FOLIAGE), hex_rgb("#3f8a3a"))
        material = plant_phrase
    if " with " in material:
        material, frame_phrase = material.split(" with ", 1)
    components = [c.strip() for c in re.split(r"\band\b|,", material) if c.strip()]

    hard = [c for c in components if _has(c, _HARD_NOUNS) and not _has(c, _METAL_NOUNS)]
    metals = [c for c in components if _has(c, _METAL_NOUNS)]
    fabrics = [c for c in components if _has(c, _FABRIC_NOUNS)]
    named = [c for c in components if _phrase_color(c) is not None]

    def color(phrases, fallback):
        for p in phrases:
            rgb = _phrase_color(p)
            if rgb is not None:
                return rgb
        return fallback

    body = color(hard or named, category_rgb)
    if not hard and fabrics:  # an upholstered object: its frame is a darker shade of the fabric
        body = _shift(color(fabrics, body), 0.75)
    metal = color(metals, COLOR_WORDS.get(metal_default, COLOR_WORDS["black"]))
    fabric = color(fabrics, None)
    if fabric is None:
        fabric = COLOR_WORDS.get(fabric_default, COLOR_WORDS["grey"]) if hard or metals else color(named, category_rgb)
    accent = color([c for c in components[1:]], None) or _shift(body, 0.8)
    legs = metal if metals else _shift(body, 0.85)
    scheme = {
        "body": body, "accent": accent, "legs": legs, "metal": metal, "fabric": fabric,
        "cushion": _shift(fabric, 1.08), "backrest": _shift(fabric, 0.6),
        "dark": hex_rgb("#2a2a2e"), "screen": hex_rgb("#15171c"),
        "glass": COLOR_WORDS["glass"], "mirror": COLOR_WORDS["mirror"], "paper": hex_rgb("#f4f2ec"),
        "linen": hex_rgb("#eeebe4"), "pillow": hex_rgb("#f6f4ef"), "back": _shift(body, 0.8),
        "light": hex_rgb("#fff1c4"), "leaf": foliage or hex_rgb("#3f8a3a"),
        "leaf2": _shift(foliage or hex_rgb("#3f8a3a"), 1.15),
        "pot": color([pot_phrase], hex_rgb("#c0653e")) if pot_phrase else body,
        "art": _hash_hue(f"{category}|{material}|{style}"), "globe": hex_rgb("#4f86b8"),
        "book0": hex_rgb("#8c2f2a"), "book1": hex_rgb("#2f4f7a"),
        "book2": hex_rgb("#d9c9a0"), "book3": hex_rgb("#3f6b45"),
        "fruit0": hex_rgb("#d9452b"), "fruit1": hex_rgb("#e8b430"), "fruit2": hex_rgb("#6aa83a"),
        "stone": color([c for c in components if _has(c, ("marble", "stone", "granite", "quartz", "concrete",
                                                           "terrazzo", "slate"))], hex_rgb("#e3e0da")),
    }
    if frame_phrase is not None:  # pictures, mirrors and boards: "X with Y frame"
        scheme["accent"] = color([frame_phrase], scheme["accent"])
        scheme["body"] = scheme["accent"] if category_of(category) in ("mirror",) else scheme["body"]
    scheme["marker"] = _contrast(scheme["body"])
    return scheme


def srgb_to_linear(rgb) -> tuple[float, float, float]:
    """sRGB [0, 1] -> linear (what Blender's colour inputs expect)."""
    return tuple(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb)  # type: ignore[return-value]


def part_finish(role: str) -> str:
    """``metal``, ``glossy``, ``glow`` or ``matte``: which shared material a part is drawn with."""
    if role in METAL_ROLES:
        return "metal"
    if role in GLOSSY_ROLES:
        return "glossy"
    if role in GLOW_ROLES:
        return "glow"
    return "matte"


def parts_extent(parts) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """(min, max) corners of the union of the parts (for checks that parts fill their box)."""
    lo = [math.inf] * 3
    hi = [-math.inf] * 3
    for p in parts:
        for i in range(3):
            lo[i] = min(lo[i], p.center[i] - p.size[i] / 2)
            hi[i] = max(hi[i], p.center[i] + p.size[i] / 2)
    return tuple(lo), tuple(hi)  # type: ignore[return-value]


__all__ = ["BUILDERS", "COLOR_WORDS", "Part", "build_parts", "builder_name", "color_scheme",
           "part_finish", "parts_extent", "srgb_to_linear"]
