"""The ``blender`` renderer: Blender (``bpy``) in a persistent worker process.

:class:`BlenderRenderer` implements :class:`~metaspatial_env.render.base.Renderer`. Blender holds
process-global state and can crash, so it lives in its own process
(:mod:`metaspatial_env.render.blender_worker`), started on the first render and kept warm: the
room is built when its size changes, and later renders only move, add or remove the objects
that changed. Images come back as raw bytes through a socket.

The image is the same as the rasteriser's: a perspective view framed to the room's real size
with the south and west walls cut away (left half) and a top-down plan, north up (right half),
with the same cameras (:class:`~metaspatial_env.render.views.ViewLayout`), so id labels, the
compass and the room-size caption are drawn by the same helpers at the same pixels. Furniture is
procedural (:mod:`metaspatial_env.render.furniture`): each category built from parts fitted
exactly to its bounding box, facing its ``z_angle``, coloured from its material and style words.
An object with a ``mesh`` (a GLB file, as MetaSpatial retrieves from Objaverse) is drawn with it
instead, fitted to the same box (:func:`metaspatial_env.assets.fit_transform`) and imported once
per worker (:mod:`.blender_assets`). A mesh that cannot be drawn (missing, over ``mesh_limits``,
not a GLB file, failing to import) falls back to the procedural furniture:
:attr:`BlenderRenderer.last_asset_fallbacks` maps the object's id to the reason (the env copies
it to ``info["asset_fallbacks"]``) and a warning is logged once per file.

Engines: ``workbench`` (the default: fast, flat studio lighting, fine on a CPU), ``eevee`` and
``cycles`` (``samples``, ``denoise``; on a machine with an NVIDIA GPU Cycles renders on it
through OptiX or CUDA unless ``device="cpu"``). The same scene and settings give the same image:
Cycles uses a fixed seed.

Robustness: a worker that died, hung or took too long gets killed and restarted and the render
retried once; :attr:`BlenderRenderer.last_render_restarted` says so (the env copies it to
``info["render_restarted"]``) and a warning is logged. A second failure raises
:class:`BlenderRenderError`.

- Hung: the worker's watchdog thread sends a heartbeat every 0.25 s (Blender releases the GIL
  while it renders, so the beat goes on during long renders). A render that has heard no beat
  for ``hang_timeout`` seconds (default 3) from a worker that also used (almost) no CPU in that
  time, or that the kernel reports stopped, is declared hung: a stopped (``SIGSTOP``) or
  deadlocked worker is replaced within about ``hang_timeout`` seconds. A worker that is silent but
  busy (a long C call holding the GIL) is left to finish, up to ``timeout``.
- Too long: ``timeout`` caps one render; by default it is scaled to the job (see
  :meth:`BlenderRenderer.render_timeout`: 30 s, plus 1 s per object, plus 2 s (Workbench) or
  20 s (EEVEE, Cycles) per sample per megapixel, plus 60 s on a worker's first render), a
  backstop for a worker that spins.

Lifetime: :meth:`BlenderRenderer.close` ends the worker, a ``weakref.finalize`` ends it when the
renderer is garbage-collected, and the worker ends by itself when the parent *process* dies,
whichever thread started it: every worker is started from one long-lived launcher thread, so
its Linux parent-death signal (``PR_SET_PDEATHSIG``, ``SIGKILL``, which follows the thread that
forked the child, not the process) fires only when the process ends, even if the parent is
``SIGKILL``-ed and the worker is hung or stopped; the worker's watchdog thread also exits when
its heartbeat socket reports that the parent is gone or ``os.getppid()`` changes (on systems
without ``prctl``). A process forked from the parent (``AsyncVectorEnv(context="fork")``) drops
the workers it inherited without touching them and starts its own.

The env process never imports ``bpy``: whether it is installed is checked with
``importlib.util.find_spec`` (importing it would cost about a second and 375 MiB and put
Blender's script folders on ``sys.path``, which spawned processes would inherit).
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..assets import DEFAULT_LIMITS, MeshLimits
from ..deps import MissingDependency
from .base import RenderScene
from .blender_process import BlenderRenderError, Worker, WorkerHung
from .labels import LabelPainter, font_size_for
from .openings import draw_plan_openings, perspective_boxes
from .views import ViewLayout, annotate_views, frame, wall_thickness

log = logging.getLogger(__name__)

ENGINES = ("workbench", "eevee", "cycles")
WORKBENCH_AA = ("OFF", "FXAA", "5", "8", "11", "16", "32")
DEVICES = ("auto", "cpu", "gpu")
#: (mesh path, problem) pairs already warned about in this process: one warning per broken file.
_WARNED_ASSETS: set[tuple[str, str]] = set()


def require_bpy() -> None:
    """Raise :class:`~metaspatial_env.deps.MissingDependency` unless ``bpy`` is installed, without importing it."""
    try:
        found = importlib.util.find_spec("bpy") is not None
    except (ImportError, ValueError):  # a broken or odd ``bpy`` entry: let the worker report it
        found = True
    if not found:
        raise MissingDependency("the Blender renderer needs 'bpy', which is not installed: "
                                "pip install 'metaspatial-env[blender]'")


def _quaternion_from_matrix(m: np.ndarray) -> tuple[float, float, float, float]:
    """(w, x, y, z) of a 3x3 rotation matrix (Blender's quaternion order)."""
    t = float(np.trace(m))
    if t > 0:
        s = math.sqrt(t + 1.0) * 2
        return (0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s)
    i = int(np.argmax(np.diag(m)))
    j, k = (i + 1) % 3, (i + 2) % 3
    s = math.sqrt(max(1.0 + m[i, i] - m[j, j] - m[k, k], 1e-12)) * 2
    q = [0.0, 0.0, 0.0, 0.0]
    q[0] = (m[k, j] - m[j, k]) / s
    q[1 + i] = 0.25 * s
    q[1 + j] = (m[j, i] + m[i, j]) / s
    q[1 + k] = (m[k, i] + m[i, k]) / s
    return tuple(q)  # type: ignore[return-value]


def blender_cameras(views: ViewLayout) -> dict[str, dict]:
    """Blender camera parameters that reproduce the two views of :class:`ViewLayout` exactly.

    The perspective view's matrix is ``fit @ projection @ view`` (a uniform zoom and recentring
    in NDC on top of a symmetric frustum). Its rows give the eye (where x, y and w vanish), the
    camera axes, and the off-centre window, which Blender expresses as a vertical field of view
    plus a lens shift (in units of the image height, with ``sensor_fit="VERTICAL"``).
    """
    m = views.persp_mvp
    eye = np.linalg.solve(m[[0, 1, 3], :3], -m[[0, 1, 3], 3])
    back = -m[3, :3] / np.linalg.norm(m[3, :3])  # camera +z points away from what it sees
    rows = []
    for r in (0, 1):
        along = float(m[r, :3] @ back)
        rest = m[r, :3] - along * back
        norm = float(np.linalg.norm(rest))
        rows.append((rest / norm, along / norm, 1.0 / norm))  # axis, window centre, half-size (tan)
    (right, cx, _), (up, cy, half_h) = rows
    rotation = np.column_stack([right, up, back])
    X, Y, Z = views.room
    extent = max(X, Y, Z)
    dist = float(np.linalg.norm(eye - np.array([X / 2, Y / 2, Z / 2])))
    persp = {
        "location": tuple(float(v) for v in eye),
        "quaternion": _quaternion_from_matrix(rotation),
        "angle_y": 2.0 * math.atan(half_h),
        "shift": (cx / (2.0 * half_h), cy / (2.0 * half_h)),
        "clip": (max(0.01, 0.05 * dist), dist + 4.0 * extent + 10.0),
        "resolution": (views.left_w, views.H),
    }
    top = max(Z, 1.0) * 4.0 + 10.0
    plan = {
        "location": (X / 2.0, Y / 2.0, top),
        "quaternion": (1.0, 0.0, 0.0, 0.0),  # looking straight down, north (+y) up
        "ortho_scale": views.H / views.plan_scale,
        "clip": (0.01, top + 1000.0),
        "resolution": (views.right_w, views.H),
    }
    return {"perspective": persp, "plan": plan}


def _far_clip(eye, room, objects) -> float:
    """Far clip distance of the perspective view: just past the farthest wall corner or object.

    Tight on purpose: Workbench's drop-shadow volumes are drawn out to the far plane, and on a
    software-GL machine clipping them at the room instead of far beyond it made a shadowed
    perspective view about 18 % cheaper (CPU time, 20-object room). Objects outside the room
    push it out, so nothing drawn is ever clipped.
    """
    X, Y, Z = room
    pad = 0.15  # the worker's walls and floor are up to 0.12 m thick, outside the room box
    corners = np.array([[x, y, z] for x in (-pad, X + pad) for y in (-pad, Y + pad) for z in (-pad, Z + pad)])
    far = float(np.linalg.norm(corners - np.asarray(eye), axis=1).max())
    for o in objects:
        reach = 0.5 * float(np.linalg.norm(o.box.size))
        far = max(far, float(np.linalg.norm(np.asarray(o.box.center, float) - eye)) + reach)
    return far * 1.02 + 0.1


def scene_request(scene: RenderScene, image_size: tuple[int, int]) -> tuple[dict, ViewLayout, tuple]:
    """The worker's render request for ``scene``, the views it was framed with and the objects drawn."""
    objects, views = frame(scene, image_size)
    cameras = blender_cameras(views)
    persp = cameras["perspective"]
    persp["clip"] = (persp["clip"][0], _far_clip(persp["location"], views.room, objects))
    request = {
        "room": tuple(float(v) for v in views.room),
        "plan_px": 1.0 / views.plan_scale,
        "cameras": cameras,
        "mesh_forward": scene.mesh_forward,
        # the perspective view's door and window panels, as boxes beside the room's (the plan's are
        # drawn over the image afterwards, as every backend draws them)
        "openings": [(tuple(row), tuple(rgb)) for row, rgb in
                     perspective_boxes(views.room, scene.openings, wall_thickness(views.room))],
        "objects": [{
            "id": o.id, "category": o.category or o.id, "material": o.material, "style": o.style,
            "size": tuple(min(max(abs(float(v)), 1e-3), 1e3) for v in o.box.size),
            "center": tuple(float(v) for v in o.box.center), "z_angle": float(o.box.z_angle),
            "mesh": None if o.mesh is None else str(o.mesh),
        } for o in objects],
    }
    return request, views, objects


class BlenderRenderer:
    """Blender implementation of :class:`~metaspatial_env.render.base.Renderer` (see module docs).

    Options:
        image_size: ``(height, width)`` of the composed image (two views side by side).
        engine: ``workbench`` (default), ``eevee`` or ``cycles``.
        samples: render samples for ``eevee`` (default 16) and ``cycles`` (default 32).
        denoise: Cycles denoising (default True).
        aa: Workbench anti-aliasing: ``OFF`` (default: FXAA triples a warm render's time on a
            software-GL machine, 0.33 s against 0.11 s for 10 objects here), ``FXAA`` or a sample
            count ``5`` ... ``32``.
        shadows: Workbench drop shadows (default True).
        device: Cycles device: ``auto`` (an NVIDIA GPU when there is one), ``cpu`` or ``gpu``.
        labels: write each object's id on both views (default True).
        overlay: the plan's north arrow and room-size caption (default True).
        label_size: font size in px for labels (default: from the image height).
        timeout: seconds one render may take before the worker is restarted; ``None`` (default)
            scales it to the job (:meth:`render_timeout`).
        hang_timeout: seconds without a heartbeat from a worker that is stopped or uses no CPU
            before it is declared hung and restarted (default 3); ``None`` turns the check off
            (then only ``timeout`` applies).
        start_timeout: seconds the worker may take to start (default 120).
        mesh_limits: what one GLB mesh may cost before it is refused (a
            :class:`~metaspatial_env.assets.MeshLimits` or a mapping of its fields; default 64 MiB
            and 500k vertices).
    """

    name = "blender"

    def __init__(self, image_size: Sequence[int] = (512, 1024), *, engine: str = "workbench",
                 samples: int | None = None, denoise: bool = True, aa: str = "OFF", shadows: bool = True,
                 device: str = "auto", labels: bool = True, overlay: bool = True,
                 label_size: int | None = None, timeout: float | None = None, hang_timeout: float | None = 3.0,
                 start_timeout: float = 120.0, mesh_limits: MeshLimits | dict | None = None):
        h, w = (int(v) for v in image_size)
        if h < 2 or w < 4:
            raise ValueError(f"image_size must be (height >= 2, width >= 4), got {tuple(image_size)}")
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
        if samples is not None and (not isinstance(samples, int) or isinstance(samples, bool) or samples < 1):
            raise ValueError(f"samples must be a positive int or None, got {samples!r}")
        if str(aa) not in WORKBENCH_AA:
            raise ValueError(f"aa must be one of {WORKBENCH_AA}, got {aa!r}")
        if device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
        for name, value, optional in (("timeout", timeout, True), ("hang_timeout", hang_timeout, True),
                                      ("start_timeout", start_timeout, False)):
            if value is None and optional:
                continue
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
                raise ValueError(f"{name} must be a positive number of seconds{' or None' if optional else ''}, "
                                 f"got {value!r}")
        if mesh_limits is None:
            mesh_limits = DEFAULT_LIMITS
        elif isinstance(mesh_limits, dict):
            try:
                mesh_limits = MeshLimits(**mesh_limits)
            except TypeError:
                raise ValueError(f"mesh_limits takes max_bytes and max_vertices, got {mesh_limits!r}") from None
        if not isinstance(mesh_limits, MeshLimits) or not all(
                isinstance(v, int) and not isinstance(v, bool) and v > 0
                for v in (mesh_limits.max_bytes, mesh_limits.max_vertices)):
            raise ValueError(f"mesh_limits must hold positive integers, got {mesh_limits!r}")
        self.image_size = (h, w)
        self.settings = {"engine": engine, "samples": samples, "denoise": bool(denoise), "aa": str(aa),
                         "shadows": bool(shadows), "device": device,
                         "mesh_limits": (mesh_limits.max_bytes, mesh_limits.max_vertices)}
        self.labels = bool(labels)
        self.overlay = bool(overlay)
        self.label_size = int(label_size) if label_size else font_size_for(h)
        self.timeout = None if timeout is None else float(timeout)
        self.hang_timeout = None if hang_timeout is None else float(hang_timeout)
        self.start_timeout = float(start_timeout)
        self.restarts = 0
        """How many times the worker was restarted after a death or a timeout."""
        self.last_render_restarted = False
        """Whether the last :meth:`render` had to restart the worker."""
        self.last_stats: dict = {}
        """Worker-side timings (sync, each view), change counts and the worker's mesh import
        counters (``assets``: ``imports``, ``failures``, ``cache_hits``) of the last render."""
        self.last_asset_fallbacks: dict[str, str] = {}
        """Objects of the last render drawn procedurally although they name a mesh: id -> why."""
        self._worker: Worker | None = None
        self._painter: LabelPainter | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    @property
    def worker_pid(self) -> int | None:
        """Process id of the running worker (None before the first render and after close)."""
        worker = self._owned_worker()
        return worker.pid if worker is not None else None

    @property
    def worker_info(self) -> dict:
        """What the worker reported at start: Blender version, engine id, Cycles device."""
        worker = self._owned_worker()
        return dict(worker.info) if worker is not None else {}

    def _owned_worker(self) -> Worker | None:
        """The worker, unless it is the one of the process this one was forked from (then: none)."""
        if self._worker is not None and self._worker.owner != os.getpid():
            self._worker = None  # abandoned at fork (see _after_fork_in_child): the parent's, not ours
        return self._worker

    def _ensure_worker(self) -> Worker:
        if self._owned_worker() is None:
            require_bpy()  # a clear error before starting a process; never imports bpy here
            self._worker = Worker(self.settings, self.start_timeout)
        return self._worker

    def render_timeout(self, n_objects: int, first: bool = False, meshes: int = 0) -> float:
        """Seconds one render may take: ``timeout``, or by default scaled to the job.

        30 s, plus 1 s per object, plus per sample and megapixel 2 s for Workbench (its
        anti-aliasing samples) or 20 s for EEVEE and Cycles (``samples``), plus 60 s for a
        worker's first render (room, materials, shader compilation), plus 10 s per distinct GLB
        mesh in the scene (its import, should the worker not have it yet). About 6x what a loaded
        2-core machine took (Cycles on the CPU: 3.4 s per sample and megapixel with two renders
        competing; Workbench: 0.4 s). Only a backstop for a worker that spins: a stopped or
        deadlocked one is caught within ``hang_timeout`` by the heartbeat.
        """
        if self.timeout is not None:
            return self.timeout
        engine = self.settings["engine"]
        if engine == "workbench":
            aa = self.settings["aa"]
            samples, per_sample = (int(aa) if aa.isdigit() else 1), 2.0
        else:
            samples, per_sample = self.settings["samples"] or (16 if engine == "eevee" else 32), 20.0
        megapixels = self.image_size[0] * self.image_size[1] / 1e6
        return (30.0 + 1.0 * n_objects + per_sample * samples * megapixels + (60.0 if first else 0.0)
                + 10.0 * meshes)

    def close(self) -> None:
        """End the worker process; safe to call more than once."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop()

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_worker"] = None
        state["_painter"] = None
        return state

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- rendering ----------------------------------------------------------------------------
    def views(self, scene: RenderScene) -> ViewLayout:
        """The frame's cameras (every backend's); ``to_pixels`` maps world points to pixels."""
        return scene_request(scene, self.image_size)[1]

    def render(self, scene: RenderScene) -> np.ndarray:
        """Draw ``scene``; returns the composed ``(H, W, 3)`` uint8 image."""
        request, views, objects = scene_request(scene, self.image_size)
        message = {"op": "render", "scene": request}
        self.last_render_restarted = False
        self.last_asset_fallbacks = {}
        meshes = len({o.mesh for o in objects if o.mesh is not None})
        try:
            reply = self._call(message, len(objects), meshes)
        except (TimeoutError, EOFError) as error:
            worker = self._worker
            reason = self._describe_failure(worker, error)
            log.warning("Blender worker (pid %s) %s; restarting it and retrying the render once",
                        worker.pid if worker else "?", reason)
            if worker is not None:
                worker.proc.kill()  # a hung worker would not answer a polite close
            self.close()
            self.restarts += 1
            self.last_render_restarted = True
            try:
                reply = self._call(message, len(objects), meshes)
            except (TimeoutError, EOFError) as second:
                reason = self._describe_failure(self._worker, second)
                if self._worker is not None:
                    self._worker.proc.kill()
                self.close()
                raise BlenderRenderError(f"the Blender worker failed twice in a row ({reason})") from second
        if not reply.get("ok"):
            raise BlenderRenderError(f"Blender failed to render the scene:\n{reply.get('error')}")
        h, w = reply["shape"]
        image = np.frombuffer(bytearray(reply["image"]), dtype=np.uint8).reshape(h, w, 3)
        self.last_stats = {"timings": reply.get("timings", {}), "counts": reply.get("counts", {}),
                           "assets": reply.get("assets", {})}
        self.last_asset_fallbacks = dict(reply.get("fallbacks", {}))
        self._warn_fallbacks(objects)
        draw_plan_openings(image, scene, views)
        if self.labels or self.overlay:
            self._annotate(image, scene, objects, views)
        return image

    def _warn_fallbacks(self, objects) -> None:
        meshes = {o.id: str(o.mesh) for o in objects if o.mesh is not None}
        for oid, problem in self.last_asset_fallbacks.items():
            key = (meshes.get(oid, "?"), problem)
            if key not in _WARNED_ASSETS:
                _WARNED_ASSETS.add(key)
                log.warning("mesh %s of %s cannot be drawn (%s); drawing the procedural furniture", key[0], oid, problem)

    def _call(self, message: dict, n_objects: int, meshes: int = 0) -> dict:
        worker = self._ensure_worker()
        timeout = self.render_timeout(n_objects, first=worker.renders == 0, meshes=meshes)
        reply = worker.call(message, timeout, self.hang_timeout)
        worker.renders += 1
        return reply

    @staticmethod
    def _describe_failure(worker: Worker | None, error: Exception) -> str:
        if worker is None:
            return f"failed: {error}"
        try:  # a lost connection usually means the process is ending: give it a moment to be reaped
            code = worker.proc.wait(timeout=0 if isinstance(error, TimeoutError) else 2)
        except subprocess.TimeoutExpired:
            code = None
        if isinstance(error, WorkerHung):
            what = f"hung ({error})"
        elif isinstance(error, TimeoutError):
            what = f"timed out ({error})"
        elif code is not None and code < 0:
            what = f"died from signal {signal.Signals(-code).name}"
        else:
            what = f"exited (code {code})" if code is not None else f"lost its connection ({error})"
        tail = worker.stderr_tail(600)
        return what + (f"; its last output: {tail}" if tail and code not in (None, -9) else "")

    def _annotate(self, image: np.ndarray, scene: RenderScene, objects, views: ViewLayout) -> None:
        """Id labels and the plan's compass, drawn as every backend draws them, at the same pixels."""
        if self._painter is None:
            self._painter = LabelPainter(self.label_size)
        annotate_views(self._painter, image, scene, objects, views, labels=self.labels, overlay=self.overlay)


def render_in_fresh_process(scene: RenderScene, image_size=(512, 1024), **settings) -> tuple[np.ndarray, float]:
    """Render ``scene`` the reference release's way: a new Blender process for this one image.

    Returns the unlabelled image and the wall time in seconds (process start included). For
    ``benchmarks/render.py``; the env never does this.
    """
    import pickle

    from PIL import Image

    renderer = BlenderRenderer(image_size, **settings)  # validates the settings
    request, _, _ = scene_request(scene, renderer.image_size)
    with tempfile.TemporaryDirectory(prefix="metaspatial_fresh_") as tmp:
        req_path, out_path = os.path.join(tmp, "request.pickle"), os.path.join(tmp, "out.png")
        with open(req_path, "wb") as f:
            pickle.dump({"settings": renderer.settings, "scene": request}, f)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(Path(__file__).resolve().parents[2]),
                                                        env.get("PYTHONPATH")) if p)
        clock = time.perf_counter()
        subprocess.run([sys.executable, "-m", "metaspatial_env.render.blender_worker", "--once", req_path, out_path],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        elapsed = time.perf_counter() - clock
        with Image.open(out_path) as im:
            return np.asarray(im.convert("RGB")), elapsed


__all__ = ["BlenderRenderError", "BlenderRenderer", "WorkerHung", "require_bpy", "ENGINES", "blender_cameras", "render_in_fresh_process",
           "scene_request"]
