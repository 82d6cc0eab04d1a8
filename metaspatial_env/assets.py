"""Per-object meshes (GLB files, as MetaSpatial retrieves from Objaverse): the rules that decide
whether a file may be drawn and how it is fitted into its object's box.

One home for both, shared by the Blender renderer and the glTF scene exporter:

- :class:`MeshLimits` and :func:`check_glb`: a cheap look at a file before any importer touches
  it (exists, under the size cap, a GLB version 2 container whose length matches its header,
  no more vertices than the cap, inside the dataset root). It returns a short, deterministic
  problem text (no paths, so it can go into a step's ``info``) or None.
- :func:`fit_transform`: the 4x4 matrix that turns the mesh's front to +y and stretches its
  bounds onto the object's box, in the frame of :mod:`metaspatial_env.render.furniture`'s parts
  (x right = length, y forward = width, z up, origin at the box centre).

Frames. Every mesh is taken in a Z-up frame: what Blender's glTF importer produces, i.e. glTF's
Y-up coordinates ``(x, y, z)`` read as ``(x, -z, y)`` (:data:`GLTF_TO_ZUP`). A task's
``mesh_forward`` (``+x``, ``-x``, ``+y``, ``-y``) is the direction the assets' fronts face in that
Z-up frame; glTF models conventionally face glTF +Z, which is Z-up -Y, hence the default ``-y``.

Pure Python and numpy: no ``bpy``, no ``trimesh``.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "DEFAULT_LIMITS",
    "GLTF_TO_ZUP",
    "MESH_FORWARDS",
    "MeshLimits",
    "check_glb",
    "fit_transform",
    "inside_root",
]

#: The directions ``mesh_forward`` may name, in the mesh's Z-up frame.
MESH_FORWARDS = ("+x", "-x", "+y", "-y")

#: glTF's Y-up frame to the Z-up frame (Blender's glTF importer does the same): x stays,
#: glTF +y (up) becomes +z, glTF +z (the conventional front) becomes -y.
GLTF_TO_ZUP = np.array(
    [[1.0, 0.0, 0.0, 0.0],
     [0.0, 0.0, -1.0, 0.0],
     [0.0, 1.0, 0.0, 0.0],
     [0.0, 0.0, 0.0, 1.0]]
)

_GLB_MAGIC = b"glTF"
_CHUNK_JSON = 0x4E4F534A  # "JSON" little-endian


@dataclass(frozen=True)
class MeshLimits:
    """What one asset may cost before the renderer refuses it and draws the procedural part.

    ``max_bytes`` caps the file (64 MiB: Objaverse's furniture is mostly under 20 MiB; a file
    above the cap is read, parsed and uploaded on every cold worker, and would dominate a step).
    ``max_vertices`` caps the vertices the file stores, counted from its accessors (500k: a
    detailed sofa is 50-200k; more buys nothing at 512x512 and costs import time and memory
    per worker).
    """

    max_bytes: int = 64 * 1024 * 1024
    max_vertices: int = 500_000


DEFAULT_LIMITS = MeshLimits()


def inside_root(path: str | os.PathLike, root: str | os.PathLike) -> bool:
    """Whether ``path`` resolves (symlinks followed) to a place inside ``root``."""
    try:
        Path(path).resolve().relative_to(Path(root).resolve())
    except ValueError:
        return False
    return True


def check_glb(path: str | os.PathLike, limits: MeshLimits = DEFAULT_LIMITS,
              root: str | os.PathLike | None = None) -> str | None:
    """The reason ``path`` cannot be drawn, or None when it looks like a usable GLB file.

    Reads the 12-byte header and the JSON chunk only (never the binary buffer), so it costs a
    ``stat`` and a small read. The text names no path: it goes into a step's ``info`` verbatim.
    Passing this check does not promise the importer succeeds; the renderer still falls back
    when the import fails.
    """
    if root is not None and not inside_root(path, root):
        return "outside the dataset root"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "missing file"
    except OSError as exc:
        return f"unreadable file ({exc.strerror or type(exc).__name__})"
    if not os.path.isfile(path):
        return "not a file"
    size = st.st_size
    if size > limits.max_bytes:
        return f"file is {size} bytes; at most {limits.max_bytes}"
    try:
        with open(path, "rb") as f:
            header = f.read(12)
            if len(header) < 12 or header[:4] != _GLB_MAGIC:
                return "not a GLB file"
            version, length = struct.unpack("<II", header[4:12])
            if version != 2:
                return f"GLB version {version}; only version 2 is read"
            if length != size:
                return f"truncated GLB file (header says {length} bytes, file has {size})"
            chunk = f.read(8)
            if len(chunk) < 8:
                return "truncated GLB file (no JSON chunk)"
            chunk_len, chunk_type = struct.unpack("<II", chunk)
            if chunk_type != _CHUNK_JSON or 20 + chunk_len > size:
                return "malformed GLB file (bad JSON chunk)"
            text = f.read(chunk_len)
    except OSError as exc:
        return f"unreadable file ({exc.strerror or type(exc).__name__})"
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return "malformed GLB file (JSON chunk is not valid JSON)"
    vertices = _stored_vertices(doc)
    if vertices is None:
        return "malformed GLB file (bad mesh accessors)"
    if vertices == 0:
        return "GLB file holds no mesh"
    if vertices > limits.max_vertices:
        return f"mesh has {vertices} vertices; at most {limits.max_vertices}"
    return None


def _stored_vertices(doc: object) -> int | None:
    """Vertices the file stores: the counts of the distinct POSITION accessors of its meshes
    (a mesh instanced by several nodes is stored, and imported, once)."""
    if not isinstance(doc, dict):
        return None
    meshes, accessors = doc.get("meshes", []), doc.get("accessors", [])
    if not isinstance(meshes, list) or not isinstance(accessors, list):
        return None
    seen: set[int] = set()
    for mesh in meshes:
        prims = mesh.get("primitives", []) if isinstance(mesh, dict) else None
        if not isinstance(prims, list):
            return None
        for prim in prims:
            attrs = prim.get("attributes", {}) if isinstance(prim, dict) else None
            if not isinstance(attrs, dict):
                return None
            index = attrs.get("POSITION")
            if index is None:
                continue
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(accessors):
                return None
            seen.add(index)
    total = 0
    for index in seen:
        acc = accessors[index]
        count = acc.get("count") if isinstance(acc, dict) else None
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            return None
        total += count
    return total


# ---------------------------------------------------------------------------- fitting
#: Turn about +z (counter-clockwise seen from above, in degrees) that brings each front to +y.
_TURN = {"+y": 0, "-y": 180, "+x": 90, "-x": -90}


def _turn_matrix(mesh_forward: str) -> np.ndarray:
    if mesh_forward not in _TURN:
        raise ValueError(f"mesh_forward must be one of {MESH_FORWARDS}, got {mesh_forward!r}")
    # Exact quarter turns: cos/sin of multiples of 90 degrees, without rounding noise.
    c, s = {0: (1, 0), 180: (-1, 0), 90: (0, 1), -90: (0, -1)}[_TURN[mesh_forward]]
    m = np.eye(4)
    m[0, 0], m[0, 1], m[1, 0], m[1, 1] = c, -s, s, c
    return m


def fit_transform(bounds_min, bounds_max, box_size, mesh_forward: str = "-y") -> np.ndarray:
    """The 4x4 matrix taking mesh coordinates (its Z-up frame, any bounds) into the object's frame.

    ``bounds_min``/``bounds_max`` are the mesh's axis-aligned bounds in its own frame;
    ``box_size`` is the object's (length, width, height). The result first turns the mesh about
    +z so its front (``mesh_forward``) faces +y, then scales each axis on its own so the turned
    bounds fill the box exactly (non-uniform: the box is what physics and the reward see, so the
    drawing must cover it, even if a retrieved chair is stretched a little), and moves it so the
    bounds are centred in x and y and its bottom rests on the box's bottom (z = -height/2; the
    top then touches z = +height/2). An axis along which the mesh is flat (a rug, a picture) is
    not scaled: it is centred in x/y, or laid on the bottom in z.

    Apply it as ``object_matrix @ fit_transform(...)``, where the object matrix places the box
    centre in the room and turns +y to the object's heading, as for the procedural parts.
    """
    lo = np.asarray(bounds_min, dtype=float).reshape(3)
    hi = np.asarray(bounds_max, dtype=float).reshape(3)
    size = np.asarray(box_size, dtype=float).reshape(3)
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)) and np.all(hi >= lo)):
        raise ValueError(f"mesh bounds must be finite with max >= min, got {lo} .. {hi}")
    if not (np.all(np.isfinite(size)) and np.all(size > 0)):
        raise ValueError(f"box size must be positive, got {size}")
    turn = _turn_matrix(mesh_forward)
    # The turned bounds: a quarter turn maps an axis-aligned box onto an axis-aligned box.
    corners = np.array([[x, y, z, 1.0] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    turned = corners @ turn.T
    tlo, thi = turned[:, :3].min(axis=0), turned[:, :3].max(axis=0)
    extent = thi - tlo
    flat = extent <= 1e-9 * max(1.0, float(np.abs(turned[:, :3]).max()))
    scale = np.where(flat, 1.0, size / np.where(flat, 1.0, extent))
    centre = (tlo + thi) / 2
    offset = -scale * centre
    offset[2] = -size[2] / 2 - scale[2] * tlo[2]
    fit = np.diag([*scale, 1.0])
    fit[:3, 3] = offset
    return fit @ turn
