"""How every backend draws a room's doors and windows (the geometry itself is :class:`~metaspatial_env.schema.Opening`'s).

- **perspective view**: boxes the backend adds to its room geometry (:func:`perspective_boxes`).
  On the two walls the view shows (north and east) an opening is a coloured panel in a frame,
  standing a few millimetres proud of the wall's inner face so that it is never lost in the wall:
  a wooden leaf for a door, light-blue glass in a white frame for a window. On the two walls the
  view cuts away (south and west) there is no wall to put a panel on, so only a thin frame of
  bars stands where the opening is (and a threshold on the floor for a door): the frame marks the
  opening without hiding the room behind it from the camera.
- **plan view**: drawn over the finished plan in 2D (:func:`draw_plan_openings`), because a swing
  arc and an open leaf are not axis-aligned boxes, which is all the Blender worker builds: a door
  is the gap across the wall outline, its leaf opened 90 degrees from the hinge and the quarter
  circle it sweeps, all in the door colour; a window is a light-blue strip across the outline with
  a dark line along it. The arc is drawn over furniture on purpose: what stands in a door's swing
  is what the room gets wrong. Ids are written next to each opening with the object labels
  (:func:`opening_labels`).

A scene without openings draws nothing here, so its images are what they were before openings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from .labels import Label

DOOR_RGB = (0.62, 0.40, 0.22)
DOOR_FRAME_RGB = (0.36, 0.23, 0.13)
WINDOW_RGB = (0.60, 0.82, 0.97)
WINDOW_FRAME_RGB = (0.97, 0.97, 0.97)
#: The plan's window line and the accent of window labels.
WINDOW_LINE_RGB = (0.16, 0.38, 0.62)
#: Width of a frame's bars, in metres.
FRAME = 0.05
#: How far a panel and its frame stand in front of a shown wall's inner face, in metres.
PANEL_PROUD = 0.012
FRAME_PROUD = 0.006
#: Points along a door's swing arc in the plan.
ARC_POINTS = 24

#: Walls the perspective view draws; the others are cut away (see :func:`~.views.room_boxes`).
SHOWN_WALLS = ("north_wall", "east_wall")


def _rect(opening, room, along: tuple[float, float], depth: tuple[float, float], z: tuple[float, float]) -> list[float]:
    """An axis-aligned box ``(x0, y0, z0, x1, y1, z1)``: ``along`` the wall from its start, ``depth``
    measured into the room from the wall line (negative: into the wall), ``z`` above the floor."""
    (sx, sy), (ex, ey) = opening.span(room)
    half = opening.width / 2.0
    cx, cy = opening.centre(room)
    ux, uy = (ex - sx) / opening.width, (ey - sy) / opening.width
    nx, ny = opening.inward()
    xs, ys = [], []
    for a in along:
        for d in depth:
            xs.append(cx + ux * (a - half) + nx * d)
            ys.append(cy + uy * (a - half) + ny * d)
    return [min(xs), min(ys), z[0], max(xs), max(ys), z[1]]


def perspective_boxes(room: Sequence[float], openings, wall_thickness: float) -> list[tuple[list[float], tuple]]:
    """The perspective view's boxes for ``openings``: ``[(row, rgb)]``, rows ``(x0, y0, z0, x1, y1, z1)``."""
    out: list[tuple[list[float], tuple]] = []
    t = wall_thickness
    for o in openings:
        w, lo, hi = o.width, o.sill, o.sill + o.height
        door = o.kind == "door"
        panel, frame_rgb = (DOOR_RGB, DOOR_FRAME_RGB) if door else (WINDOW_RGB, WINDOW_FRAME_RGB)
        # the frame reaches FRAME past the opening on every side, but never below the floor or past the ceiling
        f_lo, f_hi = max(lo - FRAME, 0.0), min(hi + FRAME, float(room[2]))
        if o.wall in SHOWN_WALLS:
            out.append((_rect(o, room, (-FRAME, w + FRAME), (-t / 2, FRAME_PROUD), (f_lo, f_hi)), frame_rgb))
            out.append((_rect(o, room, (0.0, w), (-t / 2, PANEL_PROUD), (lo, hi)), panel))
            if not door:  # a mullion, so the glass reads as a window and not a blue poster
                mid = w / 2.0
                out.append((_rect(o, room, (mid - FRAME / 4, mid + FRAME / 4), (-t / 2, PANEL_PROUD * 1.5), (lo, hi)),
                            frame_rgb))
            continue
        bars = [(-FRAME, 0.0, f_lo, f_hi), (w, w + FRAME, f_lo, f_hi), (-FRAME, w + FRAME, hi, f_hi)]
        if not door:
            bars.append((-FRAME, w + FRAME, f_lo, lo))
        rgb = DOOR_FRAME_RGB if door else WINDOW_LINE_RGB
        out += [(_rect(o, room, (a0, a1), (-t, 0.0), (z0, z1)), rgb) for a0, a1, z0, z1 in bars if z1 > z0]
        if door:
            out.append((_rect(o, room, (0.0, w), (-t, 0.0), (0.0, 0.004)), DOOR_RGB))
    return out


def _u8(rgb) -> tuple[int, int, int]:
    return tuple(int(round(c * 255)) for c in rgb)


def swing_arc(opening, room, points: int = ARC_POINTS) -> np.ndarray:
    """A door's swing on the floor: the open leaf's tip, then the quarter circle from it to the span's
    far end, as ``(points + 1, 2)`` floor points; the hinge is :meth:`~Opening.hinge_point`."""
    hinge = np.asarray(opening.hinge_point(room), dtype=float)
    start, end = (np.asarray(p, dtype=float) for p in opening.span(room))
    far = end if opening.hinge == "start" else start
    u = (far - hinge) / opening.width
    n = np.asarray(opening.inward(), dtype=float)
    theta = np.linspace(0.0, math.pi / 2.0, points + 1)[:, None]
    return hinge + opening.width * (np.sin(theta) * u + np.cos(theta) * n)


def draw_plan_openings(image: np.ndarray, scene, views) -> None:
    """Draw ``scene.openings`` over the plan of ``image`` (in place); nothing when there are none."""
    if not scene.openings:
        return
    x0, y0, x1, y1 = views.plan_rect
    picture = Image.fromarray(image[y0:y1, x0:x1])
    draw = ImageDraw.Draw(picture)
    outline = 3.0 / views.plan_scale  # metres a few pixels wide, the wall outline's width and then some
    room = views.room

    def px(points) -> list[tuple[float, float]]:
        pts = np.asarray(points, dtype=float).reshape(-1, 2)
        p = views.to_pixels(np.c_[pts, np.zeros(len(pts))], "plan")
        return [(float(x) - x0, float(y) - y0) for x, y in p]

    line = max(1, int(round(views.plan_scale * 0.03)))
    for o in scene.openings:
        strip = o.zone(room, -outline * 1.2)  # across the wall outline, from the floor's edge outwards
        if o.kind == "door":
            draw.polygon(px(strip), fill=_u8(DOOR_RGB), outline=_u8(DOOR_FRAME_RGB))
            arc = swing_arc(o, room)
            hinge = o.hinge_point(room)
            draw.line(px([hinge, arc[0]]), fill=_u8(DOOR_FRAME_RGB), width=line + 1)
            draw.line(px(arc), fill=_u8(DOOR_RGB), width=line, joint="curve")
        else:  # a little into the room too: the outline alone is too thin to read as glass
            (end_out, start_out), (end_in, start_in) = strip[2:], o.zone(room, outline * 0.6)[2:]
            draw.polygon(px([start_out, end_out, end_in, start_in]), fill=_u8(WINDOW_RGB),
                         outline=_u8(WINDOW_LINE_RGB))
            draw.line(px(o.zone(room, -outline * 0.6)[:2]), fill=_u8(WINDOW_LINE_RGB), width=1)
    image[y0:y1, x0:x1] = np.asarray(picture, dtype=np.uint8)


def opening_labels(scene, views, gap_px: float) -> list[Label]:
    """Each opening's id in the plan, ``gap_px`` pixels into the room from its centre."""
    labels = []
    for o in scene.openings:
        cx, cy = o.centre(views.room)
        nx, ny = o.inward()
        d = 1.3 * gap_px / views.plan_scale
        p = views.to_pixels([[cx + nx * d, cy + ny * d, 0.0]], "plan")[0]
        accent = _u8(DOOR_FRAME_RGB if o.kind == "door" else WINDOW_LINE_RGB)
        labels.append(Label(o.id, float(p[0]), float(p[1]), accent))
    return labels


__all__ = ["DOOR_FRAME_RGB", "DOOR_RGB", "WINDOW_FRAME_RGB", "WINDOW_LINE_RGB", "WINDOW_RGB",
           "draw_plan_openings", "opening_labels", "perspective_boxes", "swing_arc"]
