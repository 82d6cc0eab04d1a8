"""The Blender side of the ``blender`` renderer: runs in its own process and imports ``bpy``.

Started by :class:`metaspatial_env.render.blender.BlenderRenderer` as
``python -m metaspatial_env.render.blender_worker FD SCRATCH BEAT_FD PARENT_PID``, where ``FD`` is
one end of a socket pair wrapped in a :class:`multiprocessing.connection.Connection`, ``SCRATCH``
the directory for its image files and ``BEAT_FD`` one end of a second socket pair, the heartbeat.
Messages are dicts:

- ``{"op": "configure", "settings": {...}}``: engine and its parameters (see ``Settings``).
- ``{"op": "render", "scene": {...}}``: draw the scene (room size, the two cameras and the
  objects) and reply ``{"ok": True, "image": bytes, "shape": (h, w)}``, the two views composed
  side by side as raw RGB rows. The room is rebuilt only when its size or openings change; objects are
  matched by id, moved when only their pose changed and rebuilt when their category, size,
  material, style or mesh changed; objects no longer in the scene are deleted. An object with a
  ``mesh`` (a GLB path) is drawn with it, fitted to its box (:mod:`.blender_assets`: imported once
  per worker); one that cannot be drawn falls back to the procedural furniture, and the reply's
  ``fallbacks`` maps its id to the reason.
- ``{"op": "ping"}`` and ``{"op": "close"}``.

Errors in a request are replied as ``{"ok": False, "error": traceback}``; the worker keeps going.
The worker exits when the parent closes its end of the socket, on ``close``, and when the parent
process dies: Linux's parent-death signal (``SIGKILL``; the parent starts workers from a
long-lived thread, so it follows the process), and a watchdog thread that also sends the
heartbeat: one byte on ``BEAT_FD`` every :data:`HEARTBEAT_INTERVAL` seconds, even while Blender
renders (Blender releases the GIL then), and an exit when that socket reports the parent's end
closed or ``os.getppid()`` is no longer ``PARENT_PID``.

Blender 5's Python API cannot read a render result's pixels in background mode, so each view is
written into a directory private to the worker on a memory-backed filesystem (``/dev/shm`` when
present), read back at once and sent through the socket as raw bytes; nothing is left on disk.
The file is an uncompressed half-float OpenEXR of the linear render: Blender writes it in about
a third of the time of an 8-bit BMP (which goes through its display transform), and the worker
applies the "Standard" view (the sRGB transfer curve) itself with a 65536-entry table indexed by
the half floats' bits (:func:`read_exr_half` and :func:`srgb_table`).

``python -m metaspatial_env.render.blender_worker --once REQUEST.pickle OUT.png`` renders one
request in a fresh process and exits: the way the reference release rendered (a new Blender per
sample), kept for ``benchmarks/render.py`` to compare against.
"""

from __future__ import annotations

import math
import os
import pickle
import select
import shutil
import signal
import socket
import struct
import sys
import tempfile
import threading
import time
import traceback
from multiprocessing.connection import Connection

import numpy as np

from ..assets import MeshLimits, fit_transform
from ..deps import require
from .blender_assets import AssetLibrary, placement_matrix
from .furniture import build_parts, color_scheme, part_finish, srgb_to_linear
from .views import BACKGROUND, FLOOR_RGB, GRID_SHADE, PLAN_OUTLINE_PX, PLAN_WALL_RGB, WALL_RGB, room_boxes

#: Material slots of every mesh, in order (a face's ``material_index`` picks its finish).
FINISHES = ("matte", "metal", "glossy", "glow")

#: Name of the meshes' point colour attribute, read by the materials' Attribute node (EEVEE,
#: Cycles) and drawn by Workbench as the active colour attribute. Not "color": Cycles resolves
#: that name to its standard volume-colour attribute, which meshes lack, so every surface read
#: black there (grey only from its specular highlights).
COLOR_ATTRIBUTE = "surface_color"

#: Engine names of the renderer -> Blender engine identifiers (EEVEE's is found at run time).
ENGINE_IDS = {"workbench": "BLENDER_WORKBENCH", "cycles": "CYCLES"}


def eevee_engine_id(bpy) -> str:
    """``BLENDER_EEVEE_NEXT`` on Blender 4.2-4.x, ``BLENDER_EEVEE`` before and since 5.0."""
    items = {e.identifier for e in bpy.types.RenderSettings.bl_rna.properties["engine"].enum_items}
    return "BLENDER_EEVEE_NEXT" if "BLENDER_EEVEE_NEXT" in items else "BLENDER_EEVEE"


def srgb_table() -> np.ndarray:
    """uint8 sRGB code of every float16 bit pattern: Blender's "Standard" view of a linear value.

    Negative, NaN and values above 1 clip as Blender's 8-bit output does; codes are rounded to
    nearest (matches Blender's own BMP output to within one level).
    """
    linear = np.arange(1 << 16, dtype=np.uint16).view(np.float16).astype(np.float64)
    linear = np.nan_to_num(linear, nan=0.0, posinf=1.0, neginf=0.0).clip(0.0, 1.0)
    encoded = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * np.power(linear, 1.0 / 2.4) - 0.055)
    return np.rint(encoded * 255.0).astype(np.uint8)


def read_exr_half(data: bytes) -> np.ndarray:
    """The ``(h, w, 3)`` float16 bit patterns (uint16) of an uncompressed half-float RGB(A) OpenEXR.

    Only what the worker writes is supported (single part, scanlines, no compression, half
    channels); anything else raises ``ValueError`` naming what differs.
    """
    if data[:4] != b"\x76\x2f\x31\x01":
        raise ValueError("not an OpenEXR file")
    if data[5] & 0x1A:  # version flags: tiled (bit 9), deep data (11), multi-part (12)
        raise ValueError(f"unsupported OpenEXR layout (version flags {data[4:8].hex()})")
    pos, attrs = 8, {}
    while data[pos] != 0:  # header: name\0 type\0 int32 size, value; ends with an empty name
        end = data.index(b"\0", pos)
        name = data[pos:end].decode()
        pos = data.index(b"\0", end + 1) + 1
        (size,) = struct.unpack_from("<i", data, pos)
        attrs[name] = data[pos + 4:pos + 4 + size]
        pos += 4 + size
    pos += 1
    if attrs.get("compression", b"\xff")[:1] != b"\0":
        raise ValueError("OpenEXR file is compressed; the worker writes exr_codec='NONE'")
    x0, y0, x1, y1 = struct.unpack("<4i", attrs["dataWindow"])
    w, h = x1 - x0 + 1, y1 - y0 + 1
    channels, chlist, p = [], attrs["channels"], 0
    while chlist[p] != 0:  # name\0, int32 pixel type, 12 bytes of flags and sampling
        end = chlist.index(b"\0", p)
        channels.append((chlist[p:end].decode(), struct.unpack_from("<i", chlist, end + 1)[0]))
        p = end + 17
    names = [n for n, _ in channels]
    if any(t != 1 for _, t in channels) or not {"R", "G", "B"} <= set(names):
        raise ValueError(f"expected half-float R, G, B channels, got {channels}")
    pos += 8 * h  # offset table: one scanline per chunk, stored in order
    row = 8 + 2 * w * len(names)  # int32 y, int32 byte count, then each channel's row in turn
    if len(data) < pos + h * row:
        raise ValueError("truncated OpenEXR file")
    rows = np.frombuffer(data, np.uint8, count=h * row, offset=pos).reshape(h, row)
    planes = rows[:, 8:].copy().view(np.uint16).reshape(h, len(names), w)
    return np.stack([planes[:, names.index(c)] for c in "RGB"], axis=-1)


SCRATCH_PREFIX = "metaspatial_blender_"


def scratch_dir() -> str:
    """A new directory for the worker's image files, in memory (``/dev/shm``) where possible.

    Its name holds the creating process's pid. The creator removes it when its worker ends; a
    creator that died without cleaning up (killed, ``os._exit``) took its workers with it, so its
    directories are removed here, the next time any process makes one.
    """
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else tempfile.gettempdir()
    for name in os.listdir(base):
        pid = name[len(SCRATCH_PREFIX):].split("_", 1)[0] if name.startswith(SCRATCH_PREFIX) else ""
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(os.path.join(base, name), ignore_errors=True)
    return tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}_", dir=base)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


class BlenderScene:
    """The worker's Blender state: shared meshes and materials, the room, cameras and objects."""

    def __init__(self, settings: dict, scratch: str | None = None):
        bpy = require("bpy", "blender", "the Blender renderer")
        self.bpy = bpy
        bpy.ops.wm.read_factory_settings(use_empty=True)
        self.scene = bpy.context.scene
        self.tmp = scratch or scratch_dir()
        self.room_key = None
        self.room_objects: dict[str, list] = {"both": [], "perspective": [], "plan": []}
        self.objects: dict[str, list] = {}  # id -> [signature, object, pose, fit matrix or None, fallback]
        self.assets = AssetLibrary(bpy, self.scene.collection, COLOR_ATTRIBUTE)
        self._build_shared()
        self.configure(settings)

    # -- one-time setup -------------------------------------------------------------------------
    def _build_shared(self) -> None:
        self._build_materials()
        self._build_templates()
        self._build_world()
        self._build_cameras_and_output()

    def _build_materials(self) -> None:
        bpy = self.bpy
        # one material per finish (a mesh's material slots, in FINISHES order, picked per face);
        # the colour comes from the mesh's COLOR_ATTRIBUTE (Attribute node), which is also what
        # Workbench draws with color_type="VERTEX"
        self.materials = {}
        for finish, (metallic, roughness, emission) in {
            "matte": (0.0, 0.65, 0.0), "metal": (1.0, 0.35, 0.0), "glossy": (0.0, 0.08, 0.0),
            "glow": (0.0, 0.5, 0.6),
        }.items():
            mat = bpy.data.materials.new(f"finish_{finish}")
            mat.use_nodes = True
            nodes, links = mat.node_tree.nodes, mat.node_tree.links
            bsdf = next(n for n in nodes if n.type == "BSDF_PRINCIPLED")
            info = nodes.new("ShaderNodeAttribute")
            info.attribute_name = COLOR_ATTRIBUTE
            links.new(info.outputs["Color"], bsdf.inputs["Base Color"])
            bsdf.inputs["Metallic"].default_value = metallic
            bsdf.inputs["Roughness"].default_value = roughness
            if emission:
                links.new(info.outputs["Color"], bsdf.inputs["Emission Color"])
                bsdf.inputs["Emission Strength"].default_value = emission
            self.materials[finish] = mat

    def _build_templates(self) -> None:
        import bmesh
        from mathutils import Matrix

        bpy = self.bpy
        # unit primitives as arrays, copied (scaled and moved) into each object's one mesh
        self.templates: dict[str, tuple[np.ndarray, ...]] = {}

        def make(name, build, smooth, transform=None):
            bm = bmesh.new()
            build(bm)
            bm.normal_update()
            for face in bm.faces:  # smooth curved sides, keep flat caps crisp
                face.smooth = smooth and abs(face.normal.z) < 0.99
            if transform is not None:
                bmesh.ops.transform(bm, matrix=transform, verts=bm.verts)
            mesh = bpy.data.meshes.new(name)
            bm.to_mesh(mesh)
            bm.free()
            co = np.empty(3 * len(mesh.vertices), np.float32)
            loops = np.empty(len(mesh.loops), np.int32)
            starts = np.empty(len(mesh.polygons), np.int32)
            smooth_faces = np.empty(len(mesh.polygons), bool)
            mesh.vertices.foreach_get("co", co)
            mesh.loops.foreach_get("vertex_index", loops)
            mesh.polygons.foreach_get("loop_start", starts)
            mesh.polygons.foreach_get("use_smooth", smooth_faces)
            bpy.data.meshes.remove(mesh)
            self.templates[name] = (co.reshape(-1, 3), loops, starts, smooth_faces)

        def cube(bm):
            bmesh.ops.create_cube(bm, size=1.0)

        def cylinder(bm):
            bmesh.ops.create_cone(bm, cap_ends=True, segments=16, radius1=0.5, radius2=0.5, depth=1.0)

        def shade(bm):
            bmesh.ops.create_cone(bm, cap_ends=True, segments=16, radius1=0.5, radius2=0.3, depth=1.0)

        def sphere(bm):
            bmesh.ops.create_uvsphere(bm, u_segments=16, v_segments=10, radius=0.5)

        make("box", cube, False)
        make("cylinder", cylinder, True)
        make("cylinder_y", cylinder, True, Matrix.Rotation(math.pi / 2, 4, "X"))
        make("cylinder_x", cylinder, True, Matrix.Rotation(math.pi / 2, 4, "Y"))
        make("shade", shade, True)
        make("sphere", sphere, True)

    def _build_world(self) -> None:
        """A sky that lights the room, the background colour behind it, and a sun."""
        bpy = self.bpy
        scene = self.scene
        world = bpy.data.worlds.new("world")
        scene.world = world
        self.background = srgb_to_linear(BACKGROUND)
        world.color = self.background
        world.use_nodes = True
        nodes, links = world.node_tree.nodes, world.node_tree.links
        for n in list(nodes):  # start from an empty tree (bpy wrappers are not identical: no `is`)
            nodes.remove(n)
        out = nodes.new("ShaderNodeOutputWorld")
        # exposure: no view transform compresses highlights (the worker applies the plain sRGB
        # curve), so sky and sun are set for a sunlit white wall just below clipping and surfaces
        # near their Workbench shades; twice as much light clipped walls to white, and most of
        # the rest to pastel
        sky = nodes.new("ShaderNodeBackground")  # what lights the room
        sky.inputs["Color"].default_value = (0.9, 0.92, 1.0, 1.0)
        sky.inputs["Strength"].default_value = 0.45
        seen = nodes.new("ShaderNodeBackground")  # what the camera sees behind the room
        seen.inputs["Color"].default_value = (*self.background, 1.0)
        path = nodes.new("ShaderNodeLightPath")
        mix = nodes.new("ShaderNodeMixShader")
        links.new(path.outputs["Is Camera Ray"], mix.inputs[0])
        links.new(sky.outputs[0], mix.inputs[1])
        links.new(seen.outputs[0], mix.inputs[2])
        links.new(mix.outputs[0], out.inputs["Surface"])

        sun = bpy.data.lights.new("sun", "SUN")
        sun.energy = 1.6
        sun.angle = math.radians(8.0)
        self.sun = bpy.data.objects.new("sun", sun)
        self.sun.rotation_euler = (math.radians(40.0), math.radians(-25.0), math.radians(-35.0))
        scene.collection.objects.link(self.sun)

    def _build_cameras_and_output(self) -> None:
        bpy = self.bpy
        scene = self.scene
        self.cameras = {}
        for view in ("perspective", "plan"):
            cam = bpy.data.cameras.new(view)
            cam.sensor_fit = "VERTICAL"
            obj = bpy.data.objects.new(view, cam)
            obj.rotation_mode = "QUATERNION"
            scene.collection.objects.link(obj)
            self.cameras[view] = obj

        scene.render.resolution_percentage = 100
        scene.render.film_transparent = False
        # linear half floats, uncompressed: the cheapest file Blender writes (see module docs); the
        # file holds scene-linear values, so Blender's view transform and dither do not apply and
        # the worker's sRGB table is the "Standard" view
        image_settings = scene.render.image_settings
        image_settings.file_format = "OPEN_EXR"
        image_settings.exr_codec = "NONE"
        image_settings.color_depth = "16"
        image_settings.color_mode = "RGB"
        self.to_srgb = srgb_table()
        scene.render.use_persistent_data = True
        # nothing to composite or sequence: skipping both passes saves a few ms per view
        scene.render.use_compositing = False
        scene.render.use_sequencer = False
        shading = scene.display.shading
        shading.light = "STUDIO"
        shading.color_type = "VERTEX"  # the meshes' COLOR_ATTRIBUTE
        shading.show_specular_highlight = False

    def configure(self, settings: dict) -> None:
        """Apply engine settings: ``engine``, ``samples``, ``denoise``, ``aa``, ``device``, ``shadows``."""
        bpy, scene = self.bpy, self.scene
        engine = settings.get("engine", "workbench")
        scene.render.engine = eevee_engine_id(bpy) if engine == "eevee" else ENGINE_IDS[engine]
        self.settings = dict(settings)
        self.assets.limits = MeshLimits(*settings.get("mesh_limits", (MeshLimits().max_bytes, MeshLimits().max_vertices)))
        self.shadows = engine == "workbench" and bool(settings.get("shadows", True))
        samples = settings.get("samples")
        if engine == "workbench":
            scene.display.render_aa = settings.get("aa", "OFF")
            scene.display.shading.shadow_intensity = 0.3
            scene.display.light_direction = (0.3, 0.45, 0.85)
        elif engine == "eevee":
            scene.eevee.taa_render_samples = int(samples or 16)
        else:
            cycles = scene.cycles
            cycles.samples = int(samples or 32)
            cycles.seed = 0  # fixed noise: the same scene gives the same image
            cycles.use_animated_seed = False
            cycles.use_denoising = bool(settings.get("denoise", True))
            cycles.max_bounces = 4
            cycles.device = self._cycles_device(settings.get("device", "auto"))
        self.sun.hide_render = engine == "workbench"

    def _cycles_device(self, device: str) -> str:
        """``GPU`` when asked (or ``auto``) and Cycles finds an OptiX / CUDA device, else ``CPU``."""
        if device == "cpu":
            return "CPU"
        try:
            prefs = self.bpy.context.preferences.addons["cycles"].preferences
            for backend in ("OPTIX", "CUDA"):
                try:
                    prefs.compute_device_type = backend
                except TypeError:
                    continue
                prefs.get_devices()
                gpus = [d for d in prefs.devices if d.type == backend]
                if gpus:
                    for d in prefs.devices:
                        d.use = d.type == backend
                    return "GPU"
        except Exception:  # no Cycles preferences in this build: CPU it is
            pass
        if device == "gpu":
            raise RuntimeError("Cycles found no OptiX or CUDA GPU (render option device='gpu')")
        return "CPU"

    # -- scene building ------------------------------------------------------------------------
    def _mesh_object(self, name, pieces):
        """One object whose mesh holds every piece ``(template, center, size, srgb, finish)``.

        One object per piece of furniture (not per part): Blender builds a new depsgraph for
        every render call and pays for each object in it (about 60 us on this machine), so
        262 part objects cost some 15 ms a view more than 20 merged ones.
        """
        bpy = self.bpy
        co, loops, starts, smooth, material, color = [], [], [], [], [], []
        n_verts = n_loops = 0
        for shape, center, size, rgb, finish in pieces:
            t_co, t_loops, t_starts, t_smooth = self.templates[shape]
            co.append(t_co * np.asarray(size, np.float32) + np.asarray(center, np.float32))
            loops.append(t_loops + n_verts)
            starts.append(t_starts + n_loops)
            smooth.append(t_smooth)
            material.append(np.full(len(t_starts), FINISHES.index(finish), np.int32))
            color.append(np.tile(np.array([*srgb_to_linear(rgb), 1.0], np.float32), (len(t_co), 1)))
            n_verts += len(t_co)
            n_loops += len(t_loops)
        mesh = bpy.data.meshes.new(name)
        mesh.vertices.add(n_verts)
        mesh.vertices.foreach_set("co", np.concatenate(co).ravel())
        mesh.loops.add(n_loops)
        mesh.loops.foreach_set("vertex_index", np.concatenate(loops))
        mesh.polygons.add(sum(len(s) for s in starts))
        mesh.polygons.foreach_set("loop_start", np.concatenate(starts))
        mesh.polygons.foreach_set("use_smooth", np.concatenate(smooth))
        mesh.polygons.foreach_set("material_index", np.concatenate(material))
        mesh.update()
        for finish in FINISHES:
            mesh.materials.append(self.materials[finish])
        # point colours in scene-linear floats, as Object.color was: each piece has its own vertices
        attribute = mesh.color_attributes.new(COLOR_ATTRIBUTE, "FLOAT_COLOR", "POINT")
        attribute.data.foreach_set("color", np.concatenate(color).ravel())
        mesh.color_attributes.active_color = attribute
        mesh.color_attributes.render_color_index = mesh.color_attributes.active_color_index
        obj = bpy.data.objects.new(name, mesh)
        self.scene.collection.objects.link(obj)
        return obj

    def _remove(self, obj) -> None:
        mesh = obj.data
        self.bpy.data.objects.remove(obj, do_unlink=True)
        self.bpy.data.meshes.remove(mesh)

    def _build_room(self, room, plan_px, openings=()) -> None:
        """The room as one object per view group: ``both`` views, ``perspective`` only, ``plan`` only;
        ``openings`` are the perspective view's door and window boxes ``(row, rgb)``."""
        for objs in self.room_objects.values():
            for obj in objs:
                self._remove(obj)
            objs.clear()
        X, Y, _ = room
        boxes = {group: [] for group in self.room_objects}

        def box(lo, hi, rgb, group):
            center = tuple((a + b) / 2 for a, b in zip(lo, hi))
            boxes[group].append(("box", center, tuple(max(b - a, 1e-5) for a, b in zip(lo, hi)), rgb, "matte"))

        shared = room_boxes(room, PLAN_OUTLINE_PX * plan_px)
        for group, key, rgb in (("both", "floor", FLOOR_RGB), ("perspective", "walls", WALL_RGB),
                                ("plan", "outline", PLAN_WALL_RGB)):
            for row in shared[key]:
                box(row[:3], row[3:], rgb, group)
        for row, rgb in openings:
            box(row[:3], row[3:], tuple(rgb), "perspective")
        grid = tuple(c * GRID_SHADE for c in FLOOR_RGB)  # a 1 m floor grid, as the rasteriser draws
        w = max(0.008, 1.0 * plan_px)
        for i in range(1, int(math.ceil(X))):
            if i < X:
                box((i - w / 2, 0, 0), (i + w / 2, Y, 0.0015), grid, "both")
        for j in range(1, int(math.ceil(Y))):
            if j < Y:
                box((0, j - w / 2, 0), (X, j + w / 2, 0.0015), grid, "both")
        for group, pieces in boxes.items():
            self.room_objects[group].append(self._mesh_object(f"room_{group}", pieces))

    def _remove_object(self, oid) -> None:
        entry = self.objects.pop(oid)
        if entry[3] is not None:  # an asset's mesh is the library's, shared with other objects
            self.bpy.data.objects.remove(entry[1], do_unlink=True)
        else:
            self._remove(entry[1])

    def _build_asset(self, oid, size, mesh, forward):
        """``(object, fit, None)`` showing the GLB ``mesh`` fitted to the box, or ``(None, None, why not)``."""
        asset, problem = self.assets.get(mesh)
        if asset is None:
            return None, None, problem
        fit = fit_transform(asset.bounds_min, asset.bounds_max, size, forward)
        return self.assets.instance(f"obj:{oid}", asset), fit, None

    def _build_object(self, oid, category, size, material, style):
        scheme = color_scheme(category, material, style)
        pieces = []
        for p in build_parts(category, tuple(size)):
            shape = p.shape if p.shape != "cylinder" or p.axis == "z" else f"cylinder_{p.axis}"
            pieces.append((shape, p.center, p.size, scheme.get(p.role, scheme["body"]), part_finish(p.role)))
        return self._mesh_object(f"obj:{oid}", pieces)

    def sync(self, scene: dict) -> dict:
        """Bring Blender's scene to ``scene``; returns counts of what changed (for benchmarks)."""
        counts = {"built": 0, "moved": 0, "removed": 0, "room": 0}
        forward = scene.get("mesh_forward", "-y")
        openings = tuple((tuple(row), tuple(rgb)) for row, rgb in scene.get("openings", ()))
        room_key = (tuple(scene["room"]), round(scene["plan_px"], 9), openings)
        if room_key != self.room_key:
            self._build_room(scene["room"], scene["plan_px"], openings)
            self.room_key = room_key
            counts["room"] = 1
        wanted = {o["id"] for o in scene["objects"]}
        for oid in [k for k in self.objects if k not in wanted]:
            self._remove_object(oid)
            counts["removed"] += 1
        for o in scene["objects"]:
            mesh = o.get("mesh")
            signature = (o["category"], tuple(o["size"]), o["material"], o["style"], mesh, mesh and forward)
            current = self.objects.get(o["id"])
            if current is None or current[0] != signature:
                if current is not None:
                    self._remove_object(o["id"])
                obj, fit, fallback = self._build_asset(o["id"], o["size"], mesh, forward) if mesh else (None,) * 3
                if obj is None:
                    obj = self._build_object(o["id"], o["category"], o["size"], o["material"], o["style"])
                current = self.objects[o["id"]] = [signature, obj, None, fit, fallback]
                counts["built"] += 1
            pose = (tuple(o["center"]), o["z_angle"])
            if current[2] != pose:  # compared in float64: Blender stores float32
                obj = current[1]
                if current[3] is not None:  # a fitted mesh: its scale and quarter turn are in the matrix
                    from mathutils import Matrix

                    obj.matrix_world = Matrix(placement_matrix(pose[0], pose[1], current[3]).tolist())
                else:
                    obj.location = pose[0]
                    obj.rotation_euler = (0.0, 0.0, -math.radians(pose[1]))  # compass heading: clockwise from above
                current[2] = pose
                counts["moved"] += 1
        return counts

    def fallbacks(self) -> dict[str, str]:
        """Objects drawn procedurally although they name a mesh, and why (sorted by id)."""
        return {oid: e[4] for oid, e in sorted(self.objects.items()) if e[4] is not None}

    # -- rendering -----------------------------------------------------------------------------
    def _set_camera(self, view: str, cam: dict) -> None:
        obj = self.cameras[view]
        data = obj.data
        obj.location = cam["location"]
        obj.rotation_quaternion = cam["quaternion"]
        if view == "plan":
            data.type = "ORTHO"
            data.ortho_scale = cam["ortho_scale"]
        else:
            data.type = "PERSP"
            data.angle_y = cam["angle_y"]
            data.shift_x, data.shift_y = cam["shift"]
        data.clip_start, data.clip_end = cam["clip"]

    def render(self, scene: dict) -> tuple[bytes, tuple[int, int], dict]:
        """Sync, then render both views; returns raw RGB bytes of the composed image."""
        clock = time.perf_counter()
        counts = self.sync(scene)
        timings = {"sync": time.perf_counter() - clock}
        bpy, sc = self.bpy, self.scene
        views = []
        for view in ("perspective", "plan"):
            clock = time.perf_counter()
            cam = scene["cameras"][view]
            self._set_camera(view, cam)
            hidden = "plan" if view == "perspective" else "perspective"
            for obj in self.room_objects[view]:
                obj.hide_render = False
            for obj in self.room_objects[hidden]:
                obj.hide_render = True
            # drop shadows help depth in the perspective view but only clutter the plan
            sc.display.shading.show_shadows = self.shadows and view == "perspective"
            sc.camera = self.cameras[view]
            sc.render.resolution_x, sc.render.resolution_y = cam["resolution"]
            path = os.path.join(self.tmp, f"{view}.exr")
            sc.render.filepath = path
            bpy.ops.render.render(write_still=True)
            with open(path, "rb") as f:
                data = f.read()
            os.unlink(path)
            views.append(self.to_srgb[read_exr_half(data)])
            timings[view] = time.perf_counter() - clock
        image = np.ascontiguousarray(np.concatenate(views, axis=1))
        return image.tobytes(), image.shape[:2], {"timings": timings, "counts": counts,
                                                   "assets": dict(self.assets.stats), "fallbacks": self.fallbacks()}

    def close(self) -> None:
        self.assets.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


#: Seconds between two heartbeats of the watchdog thread.
HEARTBEAT_INTERVAL = 0.25


def _watch_parent(parent: int | None = None) -> None:
    """Die with the parent: Linux's parent-death signal (the watchdog and the idle loop also check getppid).

    The signal is sent when the thread that forked this process exits; the parent forks workers
    from a thread that lives as long as it does. A parent that died before this call is caught
    by comparing ``os.getppid()`` with its pid.
    """
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # not Linux: the watchdog's getppid check covers it
        pass
    if parent is not None and os.getppid() != parent:
        os._exit(0)


def _watchdog(beat: socket.socket, parent: int, interval: float = HEARTBEAT_INTERVAL) -> None:
    """Beat every ``interval`` s; exit the process when the parent is gone.

    Runs in a daemon thread. The parent never writes to ``beat``: readable means its end closed
    (the parent died or dropped this worker). ``os._exit`` leaves the scratch directory for the
    next ``scratch_dir()`` call to sweep, as a ``SIGKILL`` would.
    """
    beat.setblocking(False)
    while True:
        try:
            readable, _, _ = select.select([beat], [], [], interval)
            if readable and not beat.recv(64):
                os._exit(0)
            if os.getppid() != parent:
                os._exit(0)
            try:
                beat.send(b".")
            except (BlockingIOError, InterruptedError):  # the parent is not reading just now: fine
                pass
        except (BrokenPipeError, ConnectionResetError):
            os._exit(0)
        except Exception:  # keep beating: a dead watchdog would look like a hung worker
            time.sleep(interval)


def start_watchdog(beat_fd: int, parent: int) -> threading.Thread:
    beat = socket.socket(fileno=beat_fd)
    thread = threading.Thread(target=_watchdog, args=(beat, parent), name="metaspatial-watchdog", daemon=True)
    thread.start()
    return thread


def serve(conn: Connection, scratch: str | None = None) -> None:
    """Answer requests on ``conn`` until it closes, the parent dies or ``close`` arrives.

    Images are written to ``scratch``; the parent creates it and removes it once the worker has
    ended, so a killed worker leaves no directory behind."""
    parent = os.getppid()
    state: BlenderScene | None = None
    try:
        while True:
            if not conn.poll(1.0):
                if os.getppid() != parent:
                    return
                continue
            try:
                message = conn.recv()
            except (EOFError, OSError):
                return
            op = message.get("op")
            try:
                if op == "close":
                    conn.send({"ok": True})
                    return
                if op == "ping":
                    conn.send({"ok": True, "pid": os.getpid()})
                elif op == "configure":
                    if state is None:
                        state = BlenderScene(message["settings"], scratch)
                    else:
                        state.configure(message["settings"])
                    conn.send({"ok": True, "pid": os.getpid(), "blender": state.bpy.app.version_string,
                               "engine": state.scene.render.engine,
                               "device": getattr(state.scene.cycles, "device", "CPU")})
                elif op == "render":
                    if state is None:
                        raise RuntimeError("render before configure")
                    data, shape, extra = state.render(message["scene"])
                    conn.send({"ok": True, "image": data, "shape": shape, **extra})
                else:
                    raise ValueError(f"unknown op {op!r}")
            except (BrokenPipeError, ConnectionResetError):
                return
            except Exception:
                conn.send({"ok": False, "error": traceback.format_exc()})
    finally:
        if state is not None:
            state.close()


def render_once(request_path: str, out_path: str) -> None:
    """Fresh-process rendering (the reference's way): configure, build, render, write, exit."""
    from PIL import Image

    with open(request_path, "rb") as f:
        request = pickle.load(f)
    state = BlenderScene(request["settings"])
    try:
        data, shape, _ = state.render(request["scene"])
        Image.fromarray(np.frombuffer(data, np.uint8).reshape(*shape, 3)).save(out_path)
    finally:
        state.close()


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "--once":
        render_once(argv[1], argv[2])
        return 0
    if len(argv) not in (1, 2, 4):
        print("usage: python -m metaspatial_env.render.blender_worker FD [SCRATCH_DIR [BEAT_FD PARENT_PID]]"
              " | --once REQUEST OUT.png", file=sys.stderr)
        return 2
    parent = int(argv[3]) if len(argv) == 4 else None
    _watch_parent(parent)
    if len(argv) == 4:
        start_watchdog(int(argv[2]), parent)
    conn = Connection(int(argv[0]))
    try:
        serve(conn, argv[1] if len(argv) == 2 else None)
    finally:
        conn.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
