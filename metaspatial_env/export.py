"""Scenes out: a laid-out room as a glTF binary (``.glb``) for Blender, a game engine or a viewer.

:func:`export_scene` writes the room and every object at its (settled) pose:

- ``room``: a node whose children are ``floor`` (the floor slab, top at z = 0, exactly the room's
  x by y) and ``south_wall``, ``north_wall``, ``west_wall``, ``east_wall`` (thin boxes standing
  *outside* the room's interior, as tall as the room, so the interior is exactly x by y by z);
- ``objects``: one node per object, named by its id, whose transform is the pose: its origin is
  the box centre and it turns by the compass heading (:func:`metaspatial_env.geometry.heading_vectors`
  gives the object's right and forward axes). The drawing hangs below it: the object's GLB mesh
  (``TaskObject.mesh``) fitted to the box by :func:`metaspatial_env.assets.fit_transform`, else
  the procedural furniture of :func:`metaspatial_env.render.furniture.build_parts`, one child
  mesh per colour role (``sofa_1:fabric``) with a PBR material.

Coordinates. glTF is +Y up and right-handed; the room is +Z up. Every node transform and every
procedural vertex is written in glTF's frame, room ``(x, y, z)`` as glTF ``(x, z, -y)``
(:data:`ZUP_TO_GLTF`), rather than under one rotated root: Blender's importer converts each node
back (``(x, y, z)`` again, heading as a turn about +Z), so an imported object shows the pose the
env reports as its location and rotation, and three.js or a game engine sees the room upright
too. A GLB asset's vertices stay as the asset stored them (already glTF's frame); its node
carries the fit. The room's south-west floor corner is the glTF origin; units are metres.

Scene extras (``scenes[0].extras``, Blender's scene custom properties): ``task_id``,
``room_type``, ``room_size``, ``layout`` (id -> x, y, z, z_angle, as the env's ``info``),
``reward_terms``, ``success``, ``turn``, ``drawn`` (id -> ``mesh`` or ``procedural``) and
``mesh_fallbacks`` (id -> why an object's mesh was not used: missing, broken, too large).
Each object node's extras repeat its pose and category.

The file is written atomically (a temporary file in the target folder, then ``os.replace``), so
a reader never sees half a scene and a failed write leaves nothing behind. ``trimesh`` (the
``export`` extra) is imported only when a scene is written.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .assets import GLTF_TO_ZUP, check_glb, fit_transform
from .deps import require
from .geometry import WALLS, Box, heading_vectors
from .render.furniture import build_parts, color_scheme, part_finish, srgb_to_linear
from .render.views import FLOOR_RGB, WALL_RGB, wall_thickness
from .schema import Task
from .scoring import pose_dict

__all__ = ["ExportError", "ROOM_NODES", "ZUP_TO_GLTF", "export_scene", "scene_bytes"]

#: The room's frame (+Z up) to glTF's (+Y up): x stays, z becomes glTF +y, y becomes glTF -z.
ZUP_TO_GLTF = GLTF_TO_ZUP.T  # a rotation: its inverse is its transpose
#: Node names the room takes; an object id equal to one of them is refused (names must be unique).
ROOM_NODES = ("room", "floor", *WALLS, "objects")
#: Segments of cylinders, shades and ellipsoids: as the Blender worker draws them.
SEGMENTS = 16
#: (metallic, roughness) of each finish of :func:`metaspatial_env.render.furniture.part_finish`.
FINISHES = {"metal": (0.85, 0.35), "glossy": (0.0, 0.15), "glow": (0.0, 0.6), "matte": (0.0, 0.8)}


class ExportError(ValueError):
    """A scene cannot be written (bad layout, unwritable folder); the message is one line."""


# ----------------------------------------------------------------------------- public API
def export_scene(path: str | os.PathLike, task: Task | Mapping[str, Any], layout: Mapping[str, Any], *,
                 reward_terms: Mapping[str, float] | None = None, info: Mapping[str, Any] | None = None,
                 success: bool | None = None, turn: int | None = None) -> Path:
    """Write ``task``'s room with the objects at ``layout`` to ``path`` (a ``.glb``); return the path.

    ``layout`` maps object ids to a :class:`~metaspatial_env.geometry.Box` or to a pose mapping
    ``{x, y, z, z_angle}`` (the env's ``info["layout"]``); objects it leaves out are not drawn
    (an empty layout is the empty room). ``reward_terms``, ``success`` and ``turn`` go into the
    scene's extras; when not given they are read from a step's ``info`` (``reward_<term>``,
    ``success``, ``turn``). Raises :class:`ExportError` for a layout that does not fit the task
    or a file that cannot be written, and ``MissingDependency`` without ``trimesh``.
    """
    path = Path(path)
    data = scene_bytes(task, layout, reward_terms=reward_terms, info=info, success=success, turn=turn)
    _write_atomic(path, data)
    return path


def scene_bytes(task: Task | Mapping[str, Any], layout: Mapping[str, Any], *,
                reward_terms: Mapping[str, float] | None = None, info: Mapping[str, Any] | None = None,
                success: bool | None = None, turn: int | None = None) -> bytes:
    """The ``.glb`` bytes :func:`export_scene` writes (for a caller that stores them elsewhere)."""
    trimesh = require("trimesh", "export", "scene export")
    task = task if isinstance(task, Task) else Task.from_dict(task)
    boxes = _boxes(task, layout)
    info = info or {}
    if reward_terms is None:
        reward_terms = {k[len("reward_"):]: v for k, v in info.items() if k.startswith("reward_")}
    success = info.get("success") if success is None else success
    turn = info.get("turn") if turn is None else turn

    scene = trimesh.Scene()
    _add_room(trimesh, scene, task.size)
    scene.graph.update(frame_from=scene.graph.base_frame, frame_to="objects", matrix=np.eye(4))
    drawn: dict[str, str] = {}
    fallbacks: dict[str, str] = {}
    for obj in task.objects:
        if obj.id not in boxes:
            continue
        box = boxes[obj.id]
        pose = pose_dict(box)
        scene.graph.update(frame_from="objects", frame_to=obj.id, matrix=_to_gltf(_object_matrix(box)),
                           metadata={"object_id": obj.id, "category": obj.category, **pose})
        mesh_path = getattr(obj, "mesh", None)
        problem = None
        if mesh_path is not None:
            problem = _add_mesh(trimesh, scene, obj.id, mesh_path, obj.size, getattr(task, "mesh_forward", "-y"))
            if problem is None:
                drawn[obj.id] = "mesh"
                continue
            fallbacks[obj.id] = problem
        _add_parts(trimesh, scene, obj)
        drawn[obj.id] = "procedural"

    X, Y, Z = (float(v) for v in task.size)
    scene.metadata.update({
        "generator": "metaspatial_env.export",
        "task_id": task.id,
        "room_type": task.room_type,
        "room_size": {"x": X, "y": Y, "z": Z},
        "up_axis": "glTF +Y is the room's +z: room (x, y, z) is glTF (x, z, -y); "
                   "z_angle is a compass heading, clockwise seen from above, 0 faces room +y",
        "layout": {oid: pose_dict(boxes[oid]) for oid in task.object_ids if oid in boxes},
        "reward_terms": {str(k): float(v) for k, v in reward_terms.items()},
        "success": None if success is None else bool(success),
        "turn": None if turn is None else int(turn),
        "drawn": drawn,
        "mesh_fallbacks": fallbacks,
    })
    return scene.export(file_type="glb")


# ----------------------------------------------------------------------------- frames
def _to_gltf(matrix: np.ndarray) -> np.ndarray:
    """A node transform of the Z-up room in glTF's frame (the same motion, seen Y-up)."""
    return ZUP_TO_GLTF @ matrix @ GLTF_TO_ZUP


def _object_matrix(box: Box) -> np.ndarray:
    """Object frame (x right, y forward, z up, origin at the box centre) -> room frame."""
    forward, right = heading_vectors(float(box.z_angle))
    m = np.eye(4)
    m[:2, 0], m[:2, 1] = right, forward
    m[:3, 3] = box.center
    return m


def _boxes(task: Task, layout: Mapping[str, Any]) -> dict[str, Box]:
    """``layout`` as boxes of the task's objects; refuses unknown ids and poses that are not finite."""
    if not isinstance(layout, Mapping):
        raise ExportError(f"layout must map object ids to poses, got {type(layout).__name__}")
    taken = sorted(set(task.object_ids) & set(ROOM_NODES))
    if taken:
        raise ExportError(f"object ids {taken} clash with the room's node names {list(ROOM_NODES)}")
    boxes = {}
    for oid, pose in layout.items():
        if oid not in task.object_ids:
            raise ExportError(f"layout names {oid!r}, which is not an object of task {task.id!r}")
        obj = task.object(oid)
        if isinstance(pose, Box):
            box = Box(obj.size, tuple(float(v) for v in pose.center), float(pose.z_angle))
        else:
            try:
                center = (float(pose["x"]), float(pose["y"]), float(pose["z"]))
                box = Box(obj.size, center, float(pose.get("z_angle", obj.z_angle)))
            except (KeyError, TypeError, ValueError, AttributeError):
                raise ExportError(f"layout[{oid!r}] must be a Box or a mapping with numbers x, y, z "
                                  f"(and z_angle), got {pose!r}") from None
        if not all(math.isfinite(v) for v in (*box.center, box.z_angle)):
            raise ExportError(f"layout[{oid!r}] is not finite: {pose_dict(box)}")
        boxes[oid] = box
    return boxes


# ----------------------------------------------------------------------------- geometry
def _material(trimesh, name: str, srgb, finish: str = "matte"):
    metallic, roughness = FINISHES[finish]
    linear = srgb_to_linear(srgb)  # glTF's baseColorFactor is linear
    return trimesh.visual.material.PBRMaterial(
        name=name, baseColorFactor=[*linear, 1.0], metallicFactor=metallic, roughnessFactor=roughness,
        emissiveFactor=list(linear) if finish == "glow" else None, doubleSided=False)


def _add_geometry(trimesh, scene, parent: str, name: str, mesh) -> None:
    """``mesh`` (room-frame vertices, Z-up) as the node ``name`` under ``parent``, in glTF's frame."""
    mesh.apply_transform(ZUP_TO_GLTF)
    scene.add_geometry(mesh, node_name=name, geom_name=name, parent_node_name=parent)


def _add_room(trimesh, scene, size) -> None:
    X, Y, Z = (float(v) for v in size)
    t = wall_thickness((X, Y, Z))
    slabs = {  # (x0, y0, z0, x1, y1, z1): the walls stand outside the interior and meet at the corners
        "floor": (0.0, 0.0, -t, X, Y, 0.0),
        "south_wall": (-t, -t, -t, X + t, 0.0, Z),
        "north_wall": (-t, Y, -t, X + t, Y + t, Z),
        "west_wall": (-t, 0.0, -t, 0.0, Y, Z),
        "east_wall": (X, 0.0, -t, X + t, Y, Z),
    }
    scene.graph.update(frame_from=scene.graph.base_frame, frame_to="room", matrix=np.eye(4))
    floor = _material(trimesh, "floor", FLOOR_RGB)
    wall = _material(trimesh, "wall", WALL_RGB)
    for name, (x0, y0, z0, x1, y1, z1) in slabs.items():
        mesh = trimesh.creation.box(bounds=[[x0, y0, z0], [x1, y1, z1]])
        mesh.visual = trimesh.visual.TextureVisuals(material=floor if name == "floor" else wall)
        _add_geometry(trimesh, scene, "room", name, mesh)


def _unit_shape(trimesh, shape: str, axis: str):
    """The part ``shape`` filling the unit cube centred at the origin, its axis along ``axis``."""
    if shape == "box":
        return trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    if shape == "sphere":
        return trimesh.creation.uv_sphere(radius=0.5, count=(SEGMENTS // 2 + 2, SEGMENTS))
    if shape == "shade":  # truncated cone, narrow end up (the Blender worker's radii)
        return trimesh.creation.revolve([[0.0, -0.5], [0.5, -0.5], [0.3, 0.5], [0.0, 0.5]], sections=SEGMENTS)
    mesh = trimesh.creation.cylinder(radius=0.5, height=1.0, sections=SEGMENTS)
    if axis == "y":
        mesh.apply_transform(trimesh.transformations.rotation_matrix(math.pi / 2, (1, 0, 0)))
    elif axis == "x":
        mesh.apply_transform(trimesh.transformations.rotation_matrix(math.pi / 2, (0, 1, 0)))
    return mesh


def _add_parts(trimesh, scene, obj) -> None:
    """The procedural furniture of ``obj`` under its node: one mesh per colour role."""
    scheme = color_scheme(obj.category, obj.material, obj.style)
    by_role: dict[str, list] = {}
    for part in build_parts(obj.category, tuple(obj.size)):
        mesh = _unit_shape(trimesh, part.shape, part.axis)
        mesh.apply_scale(part.size)  # the unit shape, stretched to the part's extents
        mesh.apply_translation(part.center)
        by_role.setdefault(part.role, []).append(mesh)
    for role, meshes in by_role.items():
        mesh = trimesh.util.concatenate(meshes)
        rgb = scheme.get(role, scheme["body"])
        mesh.visual = trimesh.visual.TextureVisuals(material=_material(trimesh, f"{obj.id}:{role}", rgb,
                                                                       part_finish(role)))
        _add_geometry(trimesh, scene, obj.id, f"{obj.id}:{role}", mesh)


def _add_mesh(trimesh, scene, oid: str, path: str, size, mesh_forward: str) -> str | None:
    """The GLB asset at ``path`` under ``oid``'s node, fitted to its box; or why it cannot be.

    Nothing is added unless the whole asset loaded, so a failure leaves the node empty for the
    procedural parts. The reason names no path (it goes into the extras verbatim).
    """
    problem = check_glb(path)
    if problem is not None:
        return problem
    try:
        # process=False keeps the asset's vertices as stored (no merging): what was made is exported
        loaded = trimesh.load(path, file_type="glb", force="scene", process=False)
        meshes = [m for m in loaded.dump(concatenate=False) if isinstance(m, trimesh.Trimesh) and len(m.vertices)]
    except Exception as error:  # noqa: BLE001 -- any importer failure means "draw the procedural part"
        return f"cannot import the GLB file ({type(error).__name__})"
    if not meshes:
        return "GLB file holds no triangle mesh"
    lo = np.min([m.bounds[0] for m in meshes], axis=0)
    hi = np.max([m.bounds[1] for m in meshes], axis=0)
    corners = np.array([[x, y, z, 1.0] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    zup = (corners @ GLTF_TO_ZUP.T)[:, :3]  # the asset's bounds in its Z-up frame (a quarter turn)
    try:
        fit = fit_transform(zup.min(axis=0), zup.max(axis=0), size, mesh_forward)
    except ValueError as error:
        return f"cannot fit the mesh ({error})"
    # asset (glTF frame) -> its Z-up frame -> fitted into the object frame -> back to glTF's frame
    matrix = ZUP_TO_GLTF @ fit @ GLTF_TO_ZUP
    for i, mesh in enumerate(meshes):
        scene.add_geometry(mesh, node_name=f"{oid}:mesh{i}", geom_name=f"{oid}:mesh{i}", parent_node_name=oid,
                           transform=matrix)
    return None


# ----------------------------------------------------------------------------- writing
def _write_atomic(path: Path, data: bytes) -> None:
    """``data`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as error:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        raise ExportError(f"cannot write the scene to {path}: {error.strerror or error}") from None
    except BaseException:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        raise
