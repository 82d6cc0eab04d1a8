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

Engines: ``workbench`` (the default: fast, flat studio lighting, fine on a CPU), ``eevee`` and
``cycles`` (``samples``, ``denoise``; on a machine with an NVIDIA GPU Cycles renders on it
through OptiX or CUDA unless ``device="cpu"``). The same scene and settings give the same image:
Cycles uses a fixed seed.

Robustness: a render that takes longer than ``timeout`` seconds, or a worker that died, gets
the worker killed and restarted and the render retried once; :attr:`BlenderRenderer.last_render_restarted`
says so (the env copies it to ``info["render_restarted"]``) and a warning is logged. A second
failure raises :class:`BlenderRenderError`. :meth:`BlenderRenderer.close` ends the worker, a
``weakref.finalize`` ends it when the renderer is garbage-collected, and the worker exits by
itself when its parent process dies.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from ..deps import require
from .base import RenderScene
from .labels import LabelPainter, font_size_for
from .views import ViewLayout, annotate_views, frame

log = logging.getLogger(__name__)

ENGINES = ("workbench", "eevee", "cycles")
WORKBENCH_AA = ("OFF", "FXAA", "5", "8", "11", "16", "32")
DEVICES = ("auto", "cpu", "gpu")


class BlenderRenderError(RuntimeError):
    """The Blender worker failed (twice in a row, or with an error inside Blender)."""


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
        "objects": [{
            "id": o.id, "category": o.category or o.id, "material": o.material, "style": o.style,
            "size": tuple(min(max(abs(float(v)), 1e-3), 1e3) for v in o.box.size),
            "center": tuple(float(v) for v in o.box.center), "z_angle": float(o.box.z_angle),
        } for o in objects],
    }
    return request, views, objects


class _Worker:
    """One worker process and the parent's end of its socket."""

    def __init__(self, settings: dict, start_timeout: float):
        from .blender_worker import scratch_dir

        parent_sock, child_sock = socket.socketpair()
        self.log = tempfile.TemporaryFile()  # the worker's stderr, shown when it fails
        self.scratch = scratch_dir()  # the worker's image files; removed here, even if it was killed
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "metaspatial_env.render.blender_worker", str(child_sock.fileno()),
                 self.scratch],
                pass_fds=(child_sock.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=self.log, env=env)
        except BaseException:
            shutil.rmtree(self.scratch, ignore_errors=True)
            raise
        finally:
            child_sock.close()
        self.conn = Connection(parent_sock.detach())
        self.pid = self.proc.pid
        self.finalizer = weakref.finalize(self, _stop, self.proc, self.conn, self.log, self.scratch)
        reply = self.call({"op": "configure", "settings": settings}, start_timeout)
        if not reply.get("ok"):
            self.stop()
            raise BlenderRenderError(f"the Blender worker could not start:\n{reply.get('error')}")
        self.info = reply

    def call(self, message: dict, timeout: float) -> dict:
        """Send a request and wait for its reply; raises ``TimeoutError`` or ``EOFError``."""
        try:
            self.conn.send(message)
            if not self.conn.poll(timeout):
                raise TimeoutError(f"no reply within {timeout:g} s")
            return self.conn.recv()
        except (BrokenPipeError, ConnectionResetError, OSError) as error:
            if isinstance(error, TimeoutError):
                raise
            raise EOFError(str(error)) from error

    def stderr_tail(self, chars: int = 2000) -> str:
        try:
            self.log.seek(0, os.SEEK_END)
            size = self.log.tell()
            self.log.seek(max(0, size - chars))
            return self.log.read().decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""

    def stop(self) -> None:
        self.finalizer()


def _stop(proc: subprocess.Popen, conn: Connection, log_file, scratch: str) -> None:
    """End a worker: ask politely, then kill; never leaves a zombie or its scratch directory behind."""
    try:
        if proc.poll() is None:
            try:
                conn.send({"op": "close"})
                proc.wait(timeout=5)
            except (OSError, EOFError, subprocess.TimeoutExpired, ValueError):
                pass
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
    except Exception:  # interpreter shutdown: do the least
        try:
            proc.kill()
        except Exception:
            pass
    for closeable in (conn, log_file):
        try:
            closeable.close()
        except Exception:
            pass
    shutil.rmtree(scratch, ignore_errors=True)


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
        timeout: seconds one render may take before the worker is restarted (default 120).
        start_timeout: seconds the worker may take to start (default 120).
    """

    name = "blender"

    def __init__(self, image_size: Sequence[int] = (512, 1024), *, engine: str = "workbench",
                 samples: int | None = None, denoise: bool = True, aa: str = "OFF", shadows: bool = True,
                 device: str = "auto", labels: bool = True, overlay: bool = True,
                 label_size: int | None = None, timeout: float = 120.0, start_timeout: float = 120.0):
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
        for name, value in (("timeout", timeout), ("start_timeout", start_timeout)):
            if not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        self.image_size = (h, w)
        self.settings = {"engine": engine, "samples": samples, "denoise": bool(denoise), "aa": str(aa),
                         "shadows": bool(shadows), "device": device}
        self.labels = bool(labels)
        self.overlay = bool(overlay)
        self.label_size = int(label_size) if label_size else font_size_for(h)
        self.timeout = float(timeout)
        self.start_timeout = float(start_timeout)
        self.restarts = 0
        """How many times the worker was restarted after a death or a timeout."""
        self.last_render_restarted = False
        """Whether the last :meth:`render` had to restart the worker."""
        self.last_stats: dict = {}
        """Worker-side timings (sync, each view) and change counts of the last render."""
        self._worker: _Worker | None = None
        self._painter: LabelPainter | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    @property
    def worker_pid(self) -> int | None:
        """Process id of the running worker (None before the first render and after close)."""
        return self._worker.pid if self._worker is not None else None

    @property
    def worker_info(self) -> dict:
        """What the worker reported at start: Blender version, engine id, Cycles device."""
        return dict(self._worker.info) if self._worker is not None else {}

    def _ensure_worker(self) -> _Worker:
        if self._worker is None:
            require("bpy", "blender", "the Blender renderer")  # a clear error before starting a process
            self._worker = _Worker(self.settings, self.start_timeout)
        return self._worker

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
        try:
            reply = self._ensure_worker().call(message, self.timeout)
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
                reply = self._ensure_worker().call(message, self.timeout)
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
        self.last_stats = {"timings": reply.get("timings", {}), "counts": reply.get("counts", {})}
        if self.labels or self.overlay:
            self._annotate(image, scene, objects, views)
        return image

    @staticmethod
    def _describe_failure(worker: _Worker | None, error: Exception) -> str:
        if worker is None:
            return f"failed: {error}"
        try:  # a lost connection usually means the process is ending: give it a moment to be reaped
            code = worker.proc.wait(timeout=0 if isinstance(error, TimeoutError) else 2)
        except subprocess.TimeoutExpired:
            code = None
        if isinstance(error, TimeoutError):
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


__all__ = ["BlenderRenderError", "BlenderRenderer", "ENGINES", "blender_cameras", "render_in_fresh_process",
           "scene_request"]
