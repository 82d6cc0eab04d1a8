"""What every render backend shares: the two views, the room's look, and the labels on top.

A frame is two views side by side (:class:`ViewLayout`): a perspective view framed to the
room's real size from above its south-west (left, ``W // 2`` wide) and a top-down plan, north
up (right). The cameras, the room's colours and boxes, and which objects are drawn at all
(:func:`drawable`) live here so that every backend draws the same room from the same cameras,
and :func:`annotate_views` writes id labels, the compass and the room-size caption at the
same pixels whatever drew the views. Backends import this module, never each other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .base import RenderObject, RenderScene
from .labels import Label, LabelPainter
from .openings import opening_labels
from .palette import category_color

# -- the room's look ----------------------------------------------------------------------------
BACKGROUND = (0.17, 0.18, 0.21)
FLOOR_RGB = (0.80, 0.77, 0.72)
WALL_RGB = (0.93, 0.92, 0.89)
PLAN_WALL_RGB = (0.42, 0.40, 0.38)
#: How much darker the floor's 1 m grid lines are than the floor.
GRID_SHADE = 0.86
#: Width of the wall outline around the plan's floor, in plan pixels.
PLAN_OUTLINE_PX = 3.0

#: Compass heading from the room's centre towards the perspective camera, and its elevation.
CAMERA_AZIMUTH = 212.0
CAMERA_ELEVATION = 42.0
CAMERA_FOV_Y = 40.0


def wall_thickness(room: Sequence[float]) -> float:
    """Thickness of the perspective view's floor slab and walls (thin in a tiny room)."""
    return min(0.12, 0.04 * max(room))


def room_boxes(room: Sequence[float], outline: float) -> dict[str, list[list[float]]]:
    """The room as axis-aligned boxes, rows ``(x0, y0, z0, x1, y1, z1)`` in metres.

    ``floor``: the floor slab, top at z = 0; ``walls``: the north and east walls (the
    perspective view cuts the south and west ones away); ``outline``: the plan's wall outline,
    ``outline`` metres wide, around the floor (south, north, west, east).
    """
    X, Y, Z = room
    t = wall_thickness(room)
    o = outline
    return {
        "floor": [[0, 0, -t, X, Y, 0]],
        "walls": [[0, Y, -t, X + t, Y + t, Z], [X, 0, -t, X + t, Y, Z]],
        "outline": [[-o, -o, -0.02, X + o, 0, 0], [-o, Y, -0.02, X + o, Y + o, 0],
                    [-o, 0, -0.02, 0, Y, 0], [X, 0, -0.02, X + o, Y, 0]],
    }


# -- which objects are drawn --------------------------------------------------------------------
def drawable(o: RenderObject) -> bool:
    """Whether a backend draws ``o``: its centre, size and heading are all finite.

    An object whose pose is not finite cannot be placed by the physics or judged by the rules
    either, so no backend draws or labels it (rather than guessing a pose for it).
    """
    return all(math.isfinite(float(v)) for v in (*o.box.center, *o.box.size, o.box.z_angle))


def z_span(objects: Sequence[RenderObject]) -> tuple[float, float]:
    """Lowest bottom and highest top of ``objects``; ``(0, 0)`` for none."""
    if not objects:
        return (0.0, 0.0)
    return (min(o.box.z_range[0] for o in objects), max(o.box.z_range[1] for o in objects))


def frame(scene: RenderScene, image_size: Sequence[int]) -> tuple[tuple[RenderObject, ...], ViewLayout]:
    """The objects of ``scene`` a backend draws, and the views it frames them with."""
    objects = tuple(o for o in scene.objects if drawable(o))
    return objects, ViewLayout(scene.room_size, image_size, z_span(objects))


# -- cameras ------------------------------------------------------------------------------------
def perspective(fovy_deg: float, aspect: float, near: float, far: float) -> np.ndarray:
    """OpenGL's symmetric perspective projection (camera looks down its -z)."""
    f = 1.0 / math.tan(math.radians(fovy_deg) / 2.0)
    m = np.zeros((4, 4))
    m[0, 0] = f / aspect
    m[1, 1] = f
    m[2, 2] = (far + near) / (near - far)
    m[2, 3] = 2.0 * far * near / (near - far)
    m[3, 2] = -1.0
    return m


def look_at(eye, target, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """World-to-camera matrix of a camera at ``eye`` looking at ``target``, ``up`` kept up."""
    eye, target, up = (np.asarray(v, dtype=np.float64) for v in (eye, target, up))
    f = target - eye
    f /= np.linalg.norm(f)
    r = np.cross(f, up)
    r /= np.linalg.norm(r)
    u = np.cross(r, f)
    m = np.eye(4)
    m[0, :3], m[1, :3], m[2, :3] = r, u, -f
    m[:3, 3] = -m[:3, :3] @ eye
    return m


def project(mvp: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NDC xy (N, 2) and clip w (N,) of world points (N, 3)."""
    h = np.c_[pts, np.ones(len(pts))] @ mvp.T
    w = h[:, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        ndc = h[:, :2] / w[:, None]
    return ndc, w


class ViewLayout:
    """The two views of one frame: matrices and pixel rectangles in the composed image.

    ``z_span`` (the objects' lowest bottom and highest top) widens the plan's depth range so
    that objects above the ceiling or below the floor are not clipped away.
    """

    def __init__(self, room_size, image_size, z_span=(0.0, 0.0)):
        H, W = int(image_size[0]), int(image_size[1])
        X, Y, Z = (min(max(float(v), 1e-3), 1e5) if math.isfinite(float(v)) else 1.0
                   for v in room_size)
        self.room = (X, Y, Z)
        self.left_w = W // 2
        self.right_w = W - W // 2
        self.H = H
        # pixel rectangles (x0, y0, x1, y1) in the composed (top-left origin) image
        self.persp_rect = (0, 0, self.left_w, H)
        self.plan_rect = (self.left_w, 0, W, H)
        self.persp_mvp = self._perspective_mvp(X, Y, Z, self.left_w / H)
        self.plan_mvp, self.plan_scale = self._plan_mvp(X, Y, Z, z_span)

    @staticmethod
    def _perspective_mvp(X, Y, Z, aspect) -> np.ndarray:
        target = np.array([X / 2.0, Y / 2.0, Z * 0.25])
        az, el = math.radians(CAMERA_AZIMUTH), math.radians(CAMERA_ELEVATION)
        back = np.array([math.sin(az) * math.cos(el), math.cos(az) * math.cos(el), math.sin(el)])
        fit = np.array([[0, 0, 0], [X, 0, 0], [X, Y, 0], [0, Y, 0],
                        [0, Y, Z], [X, Y, Z], [X, 0, Z]], dtype=np.float64)
        # distance so that every fit point is inside the frustum (then refined in NDC below)
        ty = math.tan(math.radians(CAMERA_FOV_Y) / 2.0)
        tx = ty * aspect
        view0 = look_at(target + back, target)
        q = (fit - target) @ view0[:3, :3].T  # camera axes: x right, y up, z towards camera
        dist = float(np.max(np.maximum(np.abs(q[:, 0]) / tx, np.abs(q[:, 1]) / ty) + q[:, 2]))
        dist = max(dist, 0.5 * math.sqrt(X * X + Y * Y + Z * Z), 1e-2)
        eye = target + back * dist
        view = look_at(eye, target)
        depth = -(np.c_[fit, np.ones(len(fit))] @ view.T)[:, 2]
        near = max(float(depth.min()) * 0.25, 1e-3)
        far = float(depth.max()) * 6.0 + 10.0
        proj = perspective(CAMERA_FOV_Y, aspect, near, far)
        mvp = proj @ view
        ndc, _ = project(mvp, fit)
        lo, hi = ndc.min(axis=0), ndc.max(axis=0)
        span = np.maximum(hi - lo, 1e-9)
        s = 2.0 * 0.92 / float(max(span[0], span[1]))
        c = (lo + hi) / 2.0
        fit2d = np.eye(4)  # uniform zoom and recentring in NDC, applied in clip space
        fit2d[0, 0] = fit2d[1, 1] = s
        fit2d[0, 3], fit2d[1, 3] = -s * c[0], -s * c[1]
        return fit2d @ mvp

    def _plan_mvp(self, X, Y, Z, z_span):
        vw, vh = self.right_w, self.H
        margin = max(6.0, 0.045 * min(vw, vh))
        scale = min((vw - 2 * margin) / X, (vh - 2 * margin) / Y)  # px per metre
        scale = max(scale, 1e-6)
        zlo = max(min(-1.0, z_span[0] - 1.0), -1000.0)
        zhi = min(max(Z + 1.0, z_span[1] + 1.0), 1000.0)
        m = np.zeros((4, 4))
        m[0, 0] = 2.0 * scale / vw
        m[0, 3] = -X / 2.0 * m[0, 0]
        m[1, 1] = 2.0 * scale / vh
        m[1, 3] = -Y / 2.0 * m[1, 1]
        m[2, 2] = -2.0 / (zhi - zlo)  # higher z is nearer (smaller depth)
        m[2, 3] = (zhi + zlo) / (zhi - zlo)
        m[3, 3] = 1.0
        return m, scale

    def to_pixels(self, pts, view: str) -> np.ndarray:
        """Pixel (x, y) in the composed image of world points; NaN when behind the camera."""
        pts = np.asarray(pts, dtype=np.float64).reshape(-1, 3)
        if view == "plan":
            ndc, w = project(self.plan_mvp, pts)
            x0, vw = self.plan_rect[0], self.right_w
        elif view == "perspective":
            ndc, w = project(self.persp_mvp, pts)
            x0, vw = self.persp_rect[0], self.left_w
        else:
            raise ValueError(f"unknown view {view!r}; use 'plan' or 'perspective'")
        px = np.empty((len(pts), 2))
        px[:, 0] = x0 + (ndc[:, 0] + 1.0) * 0.5 * vw
        px[:, 1] = (1.0 - ndc[:, 1]) * 0.5 * self.H
        px[w <= 1e-9] = np.nan
        return px


# -- labels -------------------------------------------------------------------------------------
def annotate_views(painter: LabelPainter, image: np.ndarray, scene: RenderScene, objects, views: ViewLayout, *,
                   labels: bool, overlay: bool) -> None:
    """Draw the plan's compass and room size (``overlay``) and each object's and opening's id
    (``labels``; openings in the plan only) in place.

    ``objects`` are the ones drawn (see :func:`frame`); each id sits at the projected centre of
    its object's top face in both views.
    """
    if overlay:
        X, Y, Z = (float(v) for v in scene.room_size)
        painter.compass(image, views.plan_rect, f"{X:g} x {Y:g} m, h {Z:g} m")
    if not labels or not (objects or scene.openings):
        return
    tops = np.array([[*o.box.center[:2], o.box.center[2] + o.box.size[2] / 2.0]
                     for o in objects], dtype=np.float64).reshape(-1, 3)
    accents = [tuple(int(round(c * 255)) for c in category_color(o.category or o.id))
               for o in objects]
    # higher objects are labelled first, so they keep their spot when labels collide
    order = sorted(range(len(objects)), key=lambda i: (-tops[i, 2], objects[i].id))
    for view, rect in (("perspective", views.persp_rect), ("plan", views.plan_rect)):
        px = views.to_pixels(tops, view)
        drawn = [Label(objects[i].id, px[i, 0], px[i, 1], accents[i]) for i in order]
        if view == "plan":  # after the objects, so an opening's id never moves an object's
            drawn += opening_labels(scene, views, painter.text_height)
        painter.draw(image, drawn, rect)


__all__ = ["BACKGROUND", "CAMERA_AZIMUTH", "CAMERA_ELEVATION", "CAMERA_FOV_Y", "FLOOR_RGB", "GRID_SHADE",
           "PLAN_OUTLINE_PX", "PLAN_WALL_RGB", "WALL_RGB", "ViewLayout", "annotate_views", "drawable", "frame",
           "look_at", "perspective", "project", "room_boxes", "wall_thickness", "z_span"]
