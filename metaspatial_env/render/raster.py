"""A fast OpenGL rasteriser (moderngl, headless EGL) for :class:`RenderScene`.

The composed image is ``(H, W, 3)`` uint8 for ``image_size=(H, W)``, two views side by side:

- **left** (``W // 2`` wide): a perspective view from above the room's south-west, looking at
  the room's centre, framed to the room's real size so the whole floor is in view whatever
  the proportions. The south and west walls are cut away; the floor (with a 1 m grid) and the
  north and east walls are drawn in neutral colours, lit by one directional light so floor
  and the two walls are told apart.
- **right** (``W - W // 2`` wide): a top-down orthographic plan, north up and east right, the
  floor filling the view with a small margin, a thin outline of the walls around it, a 1 m
  floor grid, a north arrow (top right) and the room's size (bottom left).

Objects are oriented boxes coloured by category (:mod:`.palette`) with Lambert shading per
face and a thin dark outline on every face edge. The object's front (the way it faces,
``heading_vectors(z_angle)[0]``) is marked in both views: the front face is drawn darker (or
lighter, for dark objects) and so is a band along the front edge of the top face, which is
what the plan shows. Depth testing is on in both views, so in the plan taller objects hide
lower ones (a rug never hides the bed standing on it). Each object's id is written at the
projected centre of its top face in both views (``labels=True``). The cameras, room colours, labels
and which objects are drawn at all (a finite pose and size) are shared with every backend
(:mod:`.views`).

All boxes of a frame go into one vertex buffer (the room's geometry too) and each view is one
draw call. The GL context is created on the first :meth:`RasterRenderer.render` (so building
or pickling an env stays cheap) and freed by :meth:`RasterRenderer.close`.

Rendering is deterministic: the same scene gives the same bytes on the same machine and
driver (Mesa llvmpipe here). Images from different GL drivers may differ by a few levels.
A renderer (its context) is meant to be used from the thread that first rendered with it.

Fork: Mesa's GL does not survive ``fork()``. Once a process has created a GL context (even one
since released), a forked child's draws wait forever for rasteriser threads that only the
parent has, and a fresh context in the child hangs the same way. So a child forked after the
parent's first render (gymnasium's ``AsyncVectorEnv`` with the default ``fork`` start method,
``multiprocessing`` "fork" pools) raises :class:`GLForkError` at its first render, naming the fix
(``context="spawn"`` or ``"forkserver"``), and the contexts it inherited are abandoned, never
touched again, so closing or collecting their renderers cannot hang either. A child forked
before the parent touched GL renders normally.
"""

from __future__ import annotations

import math
import os
import weakref
from collections.abc import Sequence

import numpy as np

from ..geometry import heading_vectors
from .base import RenderObject, RenderScene
from .labels import LabelPainter, font_size_for
from .openings import draw_plan_openings, perspective_boxes
from .palette import category_color
from .views import (
    BACKGROUND,
    FLOOR_RGB,
    GRID_SHADE,
    PLAN_OUTLINE_PX,
    PLAN_WALL_RGB,
    WALL_RGB,
    ViewLayout,
    annotate_views,
    frame,
    room_boxes,
    wall_thickness,
)

# -- look (the room's colours and the cameras are every backend's: see .views) -----------------
#: Direction *towards* the light (from above the south-west, like the camera, but not the same
#: direction, so the south and west faces of a box get different shades).
LIGHT_DIR = (-0.35, -0.65, 1.0)
AMBIENT = 0.42

_VERTEX_SHADER = """
#version 330
uniform mat4 mvp;
in vec3 in_pos;
in vec3 in_normal;
in vec3 in_color;
in vec2 in_uv;
in float in_kind;
out vec3 v_pos;
out vec3 v_normal;
out vec3 v_color;
out vec2 v_uv;
flat out float v_kind;
void main() {
    v_pos = in_pos;
    v_normal = in_normal;
    v_color = in_color;
    v_uv = in_uv;
    v_kind = in_kind;
    gl_Position = mvp * vec4(in_pos, 1.0);
}
"""

_FRAGMENT_SHADER = """
#version 330
uniform vec3 light_dir;
uniform float ambient;
in vec3 v_pos;
in vec3 v_normal;
in vec3 v_color;
in vec2 v_uv;
flat in float v_kind;
out vec4 f_color;
void main() {
    vec3 n = normalize(v_normal);
    float lambert = ambient + (1.0 - ambient) * max(dot(n, light_dir), 0.0);
    vec3 col = v_color * lambert;
    if (v_kind > 0.5 && v_kind < 1.5 && n.z > 0.5) {
        // floor top: a 1 m grid, faded out where the lines would be denser than 1 per 3 px
        vec2 fw = max(fwidth(v_pos.xy), vec2(1e-6));
        vec2 g = abs(fract(v_pos.xy + 0.5) - 0.5) / fw;
        float line = clamp(min(g.x, g.y) - 0.25, 0.0, 1.0);
        float fade = smoothstep(0.15, 0.34, max(fw.x, fw.y));
        col *= mix(GRID_SHADE, 1.0, max(line, fade));
    } else {
        // every face of a box gets a thin dark outline
        vec2 fw = max(fwidth(v_uv), vec2(1e-6));
        vec2 d = min(v_uv, 1.0 - v_uv) / fw;
        float e = clamp(min(d.x, d.y) - 0.3, 0.0, 1.0);
        col *= mix(0.5, 1.0, e);
    }
    f_color = vec4(col, 1.0);
}
""".replace("GRID_SHADE", repr(GRID_SHADE))

# -- box template ---------------------------------------------------------------------------
# Local coordinates in half-extents along (right, forward, up); right = the length axis,
# forward = the width axis. _SPLIT marks where the top face splits into the plain part and
# the darker band along the front edge (replaced per box).
_SPLIT = 7.0
_FACES = [
    # corners (r, f, z)                                          normal (r, f, z)  marker
    ([(-1, 1, -1), (1, 1, -1), (1, 1, 1), (-1, 1, 1)], (0, 1, 0), 1),        # front
    ([(1, -1, -1), (-1, -1, -1), (-1, -1, 1), (1, -1, 1)], (0, -1, 0), 0),   # back
    ([(1, 1, -1), (1, -1, -1), (1, -1, 1), (1, 1, 1)], (1, 0, 0), 0),        # right
    ([(-1, -1, -1), (-1, 1, -1), (-1, 1, 1), (-1, -1, 1)], (-1, 0, 0), 0),   # left
    ([(-1, -1, -1), (1, -1, -1), (1, 1, -1), (-1, 1, -1)], (0, 0, -1), 0),   # bottom
    ([(-1, -1, 1), (1, -1, 1), (1, _SPLIT, 1), (-1, _SPLIT, 1)], (0, 0, 1), 0),  # top
    ([(-1, _SPLIT, 1), (1, _SPLIT, 1), (1, 1, 1), (-1, 1, 1)], (0, 0, 1), 1),    # top band
]
_QUAD_UV = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
_TRI = (0, 1, 2, 0, 2, 3)


def _build_template():
    loc, nrm, uv, mark = [], [], [], []
    for corners, normal, marker in _FACES:
        for i in _TRI:
            loc.append(corners[i])
            nrm.append(normal)
            uv.append(_QUAD_UV[i])
            mark.append(marker)
    return (np.array(loc, dtype=np.float64), np.array(nrm, dtype=np.float64),
            np.array(uv, dtype=np.float32), np.array(mark, dtype=bool))


_T_LOC, _T_NRM, _T_UV, _T_MARK = _build_template()
VERTICES_PER_BOX = len(_T_LOC)  # 7 quads = 14 triangles
_FLOATS = 12  # pos 3, normal 3, colour 3, uv 2, kind 1
_FORMAT = "3f 3f 3f 2f 1f"

KIND_OBJECT, KIND_FLOOR, KIND_WALL = 0.0, 1.0, 2.0

#: Views are drawn upside down so that OpenGL's bottom-up readback gives top-down rows.
_FLIP_Y = np.diag([1.0, -1.0, 1.0, 1.0])


def marker_color(rgb) -> np.ndarray:
    """The colour of an object's front marker: darker, or lighter for dark objects."""
    c = np.asarray(rgb, dtype=np.float64)
    lum = 0.2126 * c[..., 0] + 0.7152 * c[..., 1] + 0.0722 * c[..., 2]
    dark = c * 0.45
    light = c + (1.0 - c) * 0.6
    return np.where((lum < 0.3)[..., None], light, dark)


def box_vertices(centers, half, forward, right, base, marker, band, kind) -> np.ndarray:
    """Triangles of N boxes as an ``(N * VERTICES_PER_BOX, 12)`` float32 array.

    ``centers``/``half``: (N, 3); ``forward``/``right``: (N, 2) unit vectors; ``base``/``marker``:
    (N, 3) colours; ``band``: (N,) width of the top face's front band in metres; ``kind``: (N,).
    """
    n = len(centers)
    if n == 0:
        return np.zeros((0, _FLOATS), dtype=np.float32)
    centers = np.asarray(centers, dtype=np.float64)
    half = np.asarray(half, dtype=np.float64)
    fwd3 = np.zeros((n, 3))
    fwd3[:, :2] = forward
    rgt3 = np.zeros((n, 3))
    rgt3[:, :2] = right
    up3 = np.zeros((n, 3))
    up3[:, 2] = 1.0
    hw = np.maximum(half[:, 1], 1e-9)
    split = 1.0 - 2.0 * np.clip(np.asarray(band, dtype=np.float64) / (2.0 * hw), 0.0, 0.5)
    sr = _T_LOC[:, 0][None, :]
    sf = np.where(_T_LOC[:, 1][None, :] == _SPLIT, split[:, None], _T_LOC[:, 1][None, :])
    sz = _T_LOC[:, 2][None, :]
    out = np.empty((n, VERTICES_PER_BOX, _FLOATS), dtype=np.float32)
    out[..., 0:3] = (centers[:, None, :]
                     + (sr * half[:, 0:1])[..., None] * rgt3[:, None, :]
                     + (sf * half[:, 1:2])[..., None] * fwd3[:, None, :]
                     + (sz * half[:, 2:3])[..., None] * up3[:, None, :])
    out[..., 3:6] = (_T_NRM[None, :, 0:1] * rgt3[:, None, :]
                     + _T_NRM[None, :, 1:2] * fwd3[:, None, :]
                     + _T_NRM[None, :, 2:3] * up3[:, None, :])
    out[..., 6:9] = np.where(_T_MARK[None, :, None], np.asarray(marker)[:, None, :],
                             np.asarray(base)[:, None, :])
    out[..., 9:11] = _T_UV[None]
    out[..., 11] = np.asarray(kind, dtype=np.float32)[:, None]
    return out.reshape(-1, _FLOATS)


def _aabb_boxes(boxes, rgb, kind) -> np.ndarray:
    """Axis-aligned boxes given as rows (x0, y0, z0, x1, y1, z1), one colour, no marker."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 6)
    lo, hi = b[:, :3], b[:, 3:]
    n = len(b)
    col = np.tile(np.asarray(rgb, dtype=np.float64), (n, 1))
    return box_vertices((lo + hi) / 2.0, np.maximum((hi - lo) / 2.0, 0.0),
                        np.tile([0.0, 1.0], (n, 1)), np.tile([1.0, 0.0], (n, 1)),
                        col, col, np.zeros(n), np.full(n, kind))


def _opening_vertices(views: ViewLayout, openings) -> np.ndarray:
    """The perspective view's door and window panels (:mod:`.openings`), boxes like the walls'."""
    parts = [_aabb_boxes(row, rgb, KIND_WALL) for row, rgb in perspective_boxes(views.room, openings,
                                                                                 wall_thickness(views.room))]
    return np.concatenate(parts) if parts else np.zeros((0, _FLOATS), dtype=np.float32)


# -- fork safety -----------------------------------------------------------------------------
class GLForkError(RuntimeError):
    """Rendering in a process forked after its parent had used OpenGL (which would hang)."""


#: Process that first initialised OpenGL here (or in a forked ancestor); None: GL never touched.
_gl_pid: int | None = None
#: Renderers of this process, so a forked child can abandon the contexts it inherited.
_renderers: weakref.WeakSet[RasterRenderer] = weakref.WeakSet()
#: GL objects a forked child inherited: kept referenced and never released (that could hang).
_abandoned: list = []


def _gl_fork_message(parent: int) -> str:
    return (f"the raster renderer cannot draw in process {os.getpid()}: it was forked from process {parent} "
            "after that process had rendered with OpenGL, and Mesa's GL does not survive fork() (the first "
            "draw would hang forever). Start worker processes with 'spawn' or 'forkserver' instead of "
            "'fork': gymnasium.vector.AsyncVectorEnv(env_fns, context=\"spawn\") (or context=\"forkserver\"), "
            "multiprocessing.get_context(\"spawn\"); or create the vector env before the first render in "
            "the parent.")


def _abandon_inherited_contexts() -> None:
    """``os.register_at_fork(after_in_child=...)``: forget the parent's GL contexts, without releasing them."""
    for renderer in list(_renderers):
        state = renderer.__dict__
        _abandoned.append([state.get(k) for k in ("_ctx", "_prog", "_vbo", "_vao", "_fbo", "_resolve")])
        renderer._init_gl_state()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_abandon_inherited_contexts)


# -- the renderer ----------------------------------------------------------------------------
class RasterRenderer:
    """OpenGL rasteriser implementing :class:`~metaspatial_env.render.base.Renderer`.

    Options:
        image_size: ``(height, width)`` of the composed image (two views side by side).
        labels: write each object's id on both views (default True).
        overlay: draw the plan's north arrow and room-size caption (default True).
        samples: MSAA samples (0 = off, the default; 2/4 smooth edges at some cost).
        backend: moderngl context backend; ``None`` (default) tries ``"egl"`` (headless) and
            then the platform default.
        label_size: font size in px for labels (default: from the image height).
    """

    name = "raster"

    def __init__(self, image_size: Sequence[int] = (512, 1024), *, labels: bool = True,
                 overlay: bool = True, samples: int = 0, backend: str | None = None,
                 label_size: int | None = None):
        h, w = (int(v) for v in image_size)
        if h < 2 or w < 4:
            raise ValueError(f"image_size must be (height >= 2, width >= 4), got {tuple(image_size)}")
        self.image_size = (h, w)
        self.labels = bool(labels)
        self.overlay = bool(overlay)
        self.samples = max(0, int(samples))
        self.backend = backend
        self.label_size = int(label_size) if label_size else font_size_for(h)
        self._init_gl_state()

    # -- lifecycle --------------------------------------------------------------------------
    def _init_gl_state(self) -> None:
        self._ctx = None
        self._prog = None
        self._vbo = None
        self._vao = None
        self._vbo_capacity = 0
        self._fbo = None
        self._resolve = None
        self._painter = None
        self._room_cache: dict = {}

    def __getstate__(self):
        state = self.__dict__.copy()
        for key in ("_ctx", "_prog", "_vbo", "_vao", "_vbo_capacity", "_fbo", "_resolve",
                    "_painter", "_room_cache"):
            state.pop(key, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._init_gl_state()

    def _create_context(self):
        import moderngl

        global _gl_pid
        if _gl_pid is not None and _gl_pid != os.getpid():
            raise GLForkError(_gl_fork_message(_gl_pid))
        _load_triton_before_mesa()
        if _gl_pid is None:
            _gl_pid = os.getpid()  # from here on, a fork of this process cannot use GL
        attempts = [self.backend] if self.backend else ["egl", None]
        errors = []
        for backend in attempts:
            try:
                if backend:
                    return moderngl.create_standalone_context(require=330, backend=backend)
                return moderngl.create_standalone_context(require=330)
            except Exception as exc:  # try the next backend
                errors.append(f"{backend or 'default'}: {type(exc).__name__}: {exc}")
        raise RuntimeError(
            "RasterRenderer could not create an OpenGL 3.3 context ("
            + "; ".join(errors)
            + "). On a headless Linux machine install Mesa's EGL and software GL "
            "(e.g. apt-get install libegl1 libgl1-mesa-dri) or run with a display.")

    def _ensure_gl(self) -> None:
        if self._ctx is not None:
            return
        ctx = self._create_context()
        _renderers.add(self)
        try:
            self._prog = ctx.program(vertex_shader=_VERTEX_SHADER, fragment_shader=_FRAGMENT_SHADER)
            light = np.asarray(LIGHT_DIR, dtype=np.float64)
            self._prog["light_dir"].value = tuple(float(v) for v in light / np.linalg.norm(light))
            self._prog["ambient"].value = AMBIENT
            h, w = self.image_size
            samples = min(self.samples, ctx.max_samples) if self.samples > 1 else 0
            self._fbo = ctx.framebuffer(
                color_attachments=[ctx.renderbuffer((w, h), 4, samples=samples)],
                depth_attachment=ctx.depth_renderbuffer((w, h), samples=samples))
            if samples:
                self._resolve = ctx.framebuffer(color_attachments=[ctx.renderbuffer((w, h), 4)])
        except Exception:
            ctx.release()
            raise
        self._ctx = ctx

    def close(self) -> None:
        """Free the GL context and everything on it; safe to call more than once."""
        ctx = getattr(self, "_ctx", None)
        if ctx is not None:
            try:
                with ctx:  # make ours current: another renderer's context may be
                    for name in ("_vao", "_vbo", "_resolve", "_fbo", "_prog"):
                        obj = getattr(self, name, None)
                        if obj is not None:
                            obj.release()
            except Exception:
                pass
            try:
                ctx.release()
            except Exception:
                pass
        self._init_gl_state()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- geometry ----------------------------------------------------------------------------
    def views(self, scene: RenderScene) -> ViewLayout:
        """The frame's cameras; ``views(scene).to_pixels(points, "plan" | "perspective")``
        maps world points to pixel coordinates of the composed image."""
        return frame(scene, self.image_size)[1]

    def _room_vertices(self, views: ViewLayout) -> tuple[np.ndarray, np.ndarray]:
        key = (views.room, views.plan_scale)
        hit = self._room_cache.get(key)
        if hit is not None:
            return hit
        X, Y, _ = views.room
        boxes = room_boxes(views.room, PLAN_OUTLINE_PX / views.plan_scale)
        persp = np.concatenate([_aabb_boxes(boxes["floor"], FLOOR_RGB, KIND_FLOOR),
                                _aabb_boxes(boxes["walls"], WALL_RGB, KIND_WALL)])
        # the plan's floor is a thinner slab than the perspective's, as deep as its outline
        plan = np.concatenate([_aabb_boxes([0, 0, -0.02, X, Y, 0], FLOOR_RGB, KIND_FLOOR),
                               _aabb_boxes(boxes["outline"], PLAN_WALL_RGB, KIND_WALL)])
        if len(self._room_cache) > 16:
            self._room_cache.clear()
        self._room_cache[key] = (persp, plan)
        return persp, plan

    @staticmethod
    def _object_vertices(objects: Sequence[RenderObject]) -> np.ndarray:
        n = len(objects)
        if n == 0:
            return np.zeros((0, _FLOATS), dtype=np.float32)
        centers = np.empty((n, 3))
        half = np.empty((n, 3))
        fwd = np.empty((n, 2))
        rgt = np.empty((n, 2))
        base = np.empty((n, 3))
        for i, obj in enumerate(objects):
            box = obj.box
            centers[i] = box.center
            half[i] = box.half_extents
            fwd[i], rgt[i] = heading_vectors(float(box.z_angle))
            base[i] = category_color(obj.category or obj.id)
        half = np.clip(np.abs(half), 0.0, 1e6)  # finite (only drawable objects come here), maybe huge
        width = 2.0 * half[:, 1]
        band = np.minimum(np.clip(0.18 * width, 0.04, 0.3), 0.5 * width)
        return box_vertices(centers, half, fwd, rgt, base, marker_color(base), band,
                            np.full(n, KIND_OBJECT))

    def _upload(self, data: np.ndarray) -> None:
        nbytes = data.nbytes
        if self._vbo is None or nbytes > self._vbo_capacity:
            if self._vao is not None:
                self._vao.release()
            if self._vbo is not None:
                self._vbo.release()
            capacity = max(1 << 16, 1 << int(math.ceil(math.log2(max(nbytes, 1)))))
            self._vbo = self._ctx.buffer(reserve=capacity, dynamic=True)
            self._vbo_capacity = capacity
            self._vao = self._ctx.vertex_array(
                self._prog, [(self._vbo, _FORMAT, "in_pos", "in_normal", "in_color", "in_uv",
                              "in_kind")])
        self._vbo.write(data.tobytes())

    # -- rendering -----------------------------------------------------------------------------
    def render(self, scene: RenderScene) -> np.ndarray:
        """Draw ``scene``; returns the composed ``(H, W, 3)`` uint8 image."""
        self._ensure_gl()
        # several renderers (one per env) may live in one process: make ours current
        with self._ctx:
            image, views, objects = self._draw(scene)
        draw_plan_openings(image, scene, views)
        if self.labels or self.overlay:
            self._annotate(image, scene, objects, views)
        return image

    def _draw(self, scene: RenderScene):
        import moderngl

        ctx = self._ctx
        objects, views = frame(scene, self.image_size)
        persp_room, plan_room = self._room_vertices(views)
        if scene.openings:
            persp_room = np.concatenate([persp_room, _opening_vertices(views, scene.openings)])
        obj_verts = self._object_vertices(objects)
        # one buffer: [perspective room | objects | plan room]; each view is one draw call
        data = np.concatenate([persp_room, obj_verts, plan_room])
        self._upload(data)
        n_room, n_obj, n_plan = len(persp_room), len(obj_verts), len(plan_room)

        h, w = self.image_size
        fbo = self._fbo
        fbo.use()
        ctx.enable(moderngl.DEPTH_TEST)
        ctx.disable(moderngl.CULL_FACE)
        ctx.viewport = (0, 0, w, h)
        fbo.clear(*BACKGROUND, 1.0, depth=1.0)
        mvp = self._prog["mvp"]
        ctx.viewport = (0, 0, views.left_w, h)
        mvp.write((_FLIP_Y @ views.persp_mvp).T.astype("f4").tobytes())
        self._vao.render(moderngl.TRIANGLES, vertices=n_room + n_obj, first=0)
        ctx.viewport = (views.left_w, 0, views.right_w, h)
        mvp.write((_FLIP_Y @ views.plan_mvp).T.astype("f4").tobytes())
        self._vao.render(moderngl.TRIANGLES, vertices=n_obj + n_plan, first=n_room)
        src = fbo
        if self._resolve is not None:
            ctx.copy_framebuffer(self._resolve, fbo)
            src = self._resolve
        # rows were drawn upside down (see _FLIP_Y), so GL's bottom-up readback is already the
        # top-down image: read into a fresh buffer and wrap it without a copy
        buf = bytearray(w * h * 3)
        src.read_into(buf, components=3, alignment=1)
        image = np.frombuffer(buf, dtype=np.uint8).reshape(h, w, 3)
        return image, views, objects

    def _annotate(self, image, scene, objects, views: ViewLayout) -> None:
        if self._painter is None:
            self._painter = LabelPainter(self.label_size)
        annotate_views(self._painter, image, scene, objects, views, labels=self.labels, overlay=self.overlay)


def _load_triton_before_mesa() -> None:
    """Import Triton, when it is installed (CUDA builds of torch pull it in), before the first GL context.

    Mesa's software GL (llvmpipe) loads its LLVM with the context; a Triton imported after that
    (``import transformers`` does, through ``torch._dynamo``) crashes the process with a
    segmentation fault while loading its own bundled LLVM. In the other order both work.
    """
    import importlib.util

    if importlib.util.find_spec("triton") is None:
        return
    try:
        import triton  # noqa: F401
    except Exception:  # a broken Triton is torch's problem, not the renderer's
        pass


__all__ = ["GLForkError", "RasterRenderer", "box_vertices", "marker_color", "VERTICES_PER_BOX"]
