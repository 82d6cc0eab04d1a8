"""Per-object GLB meshes inside the Blender worker: import once, colour for Workbench, instance.

Runs in the worker process (:mod:`metaspatial_env.render.blender_worker`), which owns ``bpy``.
:class:`AssetLibrary` turns a GLB path into an :class:`Asset`: one mesh datablock holding every
mesh of the file (joined, node transforms applied, in the Z-up frame Blender's glTF importer
produces) and its bounds. Each file is imported once per worker: entries are keyed by the
resolved path, the file size and its modification time, so a file rewritten in place is imported
again, and every object drawn with it links the same datablock (:meth:`AssetLibrary.instance`).
Problems are cached under the same key, so a broken file costs one look per worker, not one per
render.

A file is refused, and the caller draws the procedural furniture instead, when
:func:`metaspatial_env.assets.check_glb` finds a problem (missing, too big, not GLB 2,
truncated, too many stored vertices), when the importer raises or yields no geometry, or when
the joined mesh has more vertices than the limit. The problem is a short text without paths
(it goes into the step's ``info``); what the importer left behind is removed.

Colours: the imported materials stay on the mesh, so EEVEE and Cycles draw them as the file
describes (textures included). Workbench draws the worker's colour attribute
(``shading.color_type = "VERTEX"`` for the whole scene), so the library bakes one colour per
face corner into that attribute: the material's base colour, times the file's vertex colours
where the material uses them, or the mean colour of its base-colour texture.

Fitting the mesh to the object's box is :func:`metaspatial_env.assets.fit_transform`'s (one rule
shared with the glTF exporter); :func:`placement_matrix` composes it with the object's pose.
"""

from __future__ import annotations

import math
import os
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from ..assets import DEFAULT_LIMITS, MeshLimits, check_glb

#: Vertices the library keeps imported at most (over all files); least recently used files that
#: no object shows are dropped past it. A worker that walks a large dataset would otherwise keep
#: every mesh it ever drew: 4M vertices is about 0.5-1 GiB of Blender mesh data.
MAX_CACHED_VERTICES = 4_000_000
#: Colour of geometry whose material says nothing (the glTF default base colour, linear).
DEFAULT_RGB = (0.8, 0.8, 0.8)
#: Side of the thumbnail a texture is averaged on (copying a 4k texture's pixels costs 256 MB).
TEXTURE_SAMPLE_PX = 32


@dataclass
class Asset:
    """One imported file: its joined mesh (shared by every object drawn with it) and bounds."""

    mesh: object
    bounds_min: tuple[float, float, float]
    bounds_max: tuple[float, float, float]
    vertices: int


def placement_matrix(center, z_angle: float, fit: np.ndarray) -> np.ndarray:
    """World matrix of an asset object: the fitted mesh turned to the compass heading ``z_angle``
    (clockwise from above, as the procedural furniture) and moved to the box centre."""
    a = -math.radians(z_angle)
    c, s = math.cos(a), math.sin(a)
    place = np.array([[c, -s, 0, center[0]], [s, c, 0, center[1]], [0, 0, 1, center[2]], [0, 0, 0, 1.0]])
    return place @ fit


class AssetLibrary:
    """Imported GLB files of one worker, with counters a test or benchmark can read (:attr:`stats`)."""

    def __init__(self, bpy, collection, color_attribute: str, limits: MeshLimits = DEFAULT_LIMITS,
                 max_cached_vertices: int = MAX_CACHED_VERTICES):
        self.bpy = bpy
        self.collection = collection
        self.color_attribute = color_attribute
        self.limits = limits
        self.max_cached_vertices = int(max_cached_vertices)
        self._entries: OrderedDict[tuple, Asset | str] = OrderedDict()
        self.stats = {"imports": 0, "failures": 0, "cache_hits": 0, "evicted": 0}
        """``imports``: files imported; ``failures``: files refused (each once per version);
        ``cache_hits``: lookups answered from the cache; ``evicted``: files dropped to stay
        under :attr:`max_cached_vertices`."""

    # -- lookup --------------------------------------------------------------------------------
    def get(self, path: str) -> tuple[Asset | None, str | None]:
        """The asset for ``path``, or None and the reason it cannot be drawn."""
        try:
            st = os.stat(path)
        except OSError:
            problem = check_glb(path, self.limits)  # names what is wrong: missing, unreadable ...
            return None, problem or "missing file"
        key = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            self.stats["cache_hits"] += 1
        else:
            entry = self._load(path)
            self._entries[key] = entry
            self.stats["imports" if isinstance(entry, Asset) else "failures"] += 1
            self._evict()
        return (entry, None) if isinstance(entry, Asset) else (None, entry)

    def instance(self, name: str, asset: Asset):
        """A new object showing ``asset`` (a linked copy: the mesh is shared, not duplicated)."""
        obj = self.bpy.data.objects.new(name, asset.mesh)
        self.collection.objects.link(obj)
        return obj

    def _evict(self) -> None:
        total = sum(e.vertices for e in self._entries.values() if isinstance(e, Asset))
        for key in list(self._entries):
            if total <= self.max_cached_vertices:
                return
            entry = self._entries[key]
            if isinstance(entry, Asset) and entry.mesh.users <= 1:  # only its fake user holds it
                total -= entry.vertices
                del self._entries[key]
                self.bpy.data.meshes.remove(entry.mesh)
                self.stats["evicted"] += 1

    def close(self) -> None:
        for entry in self._entries.values():
            if isinstance(entry, Asset):
                try:
                    self.bpy.data.meshes.remove(entry.mesh)
                except (ReferenceError, RuntimeError):
                    pass
        self._entries.clear()

    # -- import --------------------------------------------------------------------------------
    def _load(self, path: str) -> Asset | str:
        problem = check_glb(path, self.limits)
        if problem is not None:
            return problem
        bpy = self.bpy
        kinds = ("objects", "meshes", "materials", "images", "cameras", "lights", "node_groups", "actions")
        before = {kind: {d.as_pointer() for d in getattr(bpy.data, kind)} for kind in kinds}
        try:
            result = bpy.ops.import_scene.gltf(filepath=path)
            if "FINISHED" not in result:
                raise RuntimeError("the importer did not finish")
            new = {kind: [d for d in getattr(bpy.data, kind) if d.as_pointer() not in before[kind]]
                   for kind in kinds}
            mesh = self._join([o for o in new["objects"] if o.type == "MESH" and len(o.data.vertices)])
        except Exception as error:  # noqa: BLE001 - any importer fault is a fallback, never a crash
            self._remove_new(kinds, before, keep=None)
            return f"import failed ({type(error).__name__})"
        self._remove_new(("objects", "meshes", "cameras", "lights", "actions"), before, keep=mesh)
        if mesh is None:
            return "GLB file holds no mesh"
        n = len(mesh.vertices)
        if n > self.limits.max_vertices:
            self._remove_new(kinds, before, keep=None)
            bpy.data.meshes.remove(mesh)
            return f"mesh has {n} vertices; at most {self.limits.max_vertices}"
        co = np.empty(3 * n, np.float32)
        mesh.vertices.foreach_get("co", co)
        co = co.reshape(-1, 3)
        self._bake_colors(mesh)
        mesh.use_fake_user = True  # kept while no object shows it (between rooms)
        return Asset(mesh, tuple(map(float, co.min(axis=0))), tuple(map(float, co.max(axis=0))), n)

    def _join(self, objects):
        """One mesh holding every imported mesh object, in world coordinates; None if none."""
        bpy = self.bpy
        if not objects:
            return None
        bpy.context.view_layer.update()  # parent and node transforms into matrix_world
        active = objects[0]
        if len(objects) > 1:
            with bpy.context.temp_override(active_object=active, object=active, selected_objects=objects,
                                           selected_editable_objects=objects):
                bpy.ops.object.join()
        mesh = active.data
        mesh.transform(active.matrix_world)  # join moved the others into the active one's frame
        mesh.name = f"asset:{os.path.basename(mesh.name)}"
        return mesh

    def _remove_new(self, kinds, before, keep) -> None:
        """Remove what the import added (objects first, so their data lose their users)."""
        bpy = self.bpy
        for kind in kinds:
            coll = getattr(bpy.data, kind)
            for d in [d for d in coll if d.as_pointer() not in before[kind]]:
                if keep is not None and d.as_pointer() == keep.as_pointer():
                    continue
                try:
                    coll.remove(d)
                except (ReferenceError, RuntimeError):
                    pass

    # -- colours -------------------------------------------------------------------------------
    def _bake_colors(self, mesh) -> None:
        """The Workbench colour of every face corner (see the module docs), in scene-linear RGB."""
        n_loops = len(mesh.loops)
        mat_index = np.zeros(len(mesh.polygons), np.int32)
        totals = np.zeros(len(mesh.polygons), np.int32)
        mesh.polygons.foreach_get("material_index", mat_index)
        mesh.polygons.foreach_get("loop_total", totals)
        loop_mat = np.repeat(mat_index, totals)
        slots = [self._material_color(m) for m in mesh.materials] or [(DEFAULT_RGB, False)]
        rgb = np.array([c for c, _ in slots], np.float32)
        uses_vc = np.array([v for _, v in slots], bool)
        loop_mat = np.clip(loop_mat, 0, len(slots) - 1)
        colors = np.ones((n_loops, 4), np.float32)
        colors[:, :3] = rgb[loop_mat]
        vc = self._vertex_colors(mesh) if uses_vc.any() else None
        if vc is not None:
            colors[:, :3] *= np.where(uses_vc[loop_mat][:, None], vc, 1.0)
        attribute = mesh.color_attributes.new(self.color_attribute, "FLOAT_COLOR", "CORNER")
        attribute.data.foreach_set("color", colors.ravel())
        mesh.color_attributes.active_color = attribute
        mesh.color_attributes.render_color_index = mesh.color_attributes.active_color_index

    def _vertex_colors(self, mesh) -> np.ndarray | None:
        """The file's vertex colours (its first colour attribute) per corner, or None."""
        attrs = [a for a in mesh.color_attributes if a.name != self.color_attribute]
        if not attrs:
            return None
        a = attrs[0]
        data = np.empty(4 * len(a.data), np.float32)
        a.data.foreach_get("color", data)
        data = data.reshape(-1, 4)[:, :3]
        if a.domain == "POINT":
            index = np.empty(len(mesh.loops), np.int32)
            mesh.loops.foreach_get("vertex_index", index)
            return data[index]
        return data if len(data) == len(mesh.loops) else None

    def _material_color(self, material) -> tuple[tuple[float, float, float], bool]:
        """(linear base colour, whether vertex colours multiply it) of an imported material."""
        if material is None:
            return DEFAULT_RGB, False
        rgb = tuple(material.diffuse_color[:3])
        tree = material.node_tree if material.use_nodes else None
        bsdf = next((n for n in tree.nodes if n.type == "BSDF_PRINCIPLED"), None) if tree else None
        if bsdf is None:
            return rgb, False
        socket = bsdf.inputs["Base Color"]
        if not socket.is_linked:
            return tuple(socket.default_value[:3]), False
        # the importer wires factor x texture x vertex colour through mix nodes: walk back to
        # what feeds it and take the factor, the texture's mean and the vertex-colour flag
        factor, texture, vertex = np.ones(3), None, False
        stack, seen = [socket.links[0].from_node], set()
        while stack:
            node = stack.pop()
            if node.as_pointer() in seen:
                continue
            seen.add(node.as_pointer())
            if node.type == "TEX_IMAGE" and node.image is not None and texture is None:
                texture = self._image_mean(node.image)
            elif node.type in ("VERTEX_COLOR", "ATTRIBUTE"):
                vertex = True
            elif node.type == "RGB":
                factor = factor * np.asarray(node.outputs[0].default_value[:3])
            for inp in node.inputs:
                if inp.is_linked:
                    stack.extend(link.from_node for link in inp.links)
                elif inp.type == "RGBA" and node.type in ("MIX", "MIX_RGB"):
                    factor = factor * np.asarray(inp.default_value[:3])
        base = factor * (texture if texture is not None else 1.0)
        return tuple(float(v) for v in np.clip(base, 0.0, 1.0)), vertex

    def _image_mean(self, image) -> np.ndarray | None:
        """Mean linear colour of a texture, averaged on a small copy; None if it has no pixels."""
        try:
            small = image.copy()
            try:
                small.scale(TEXTURE_SAMPLE_PX, TEXTURE_SAMPLE_PX)
                px = np.empty(4 * TEXTURE_SAMPLE_PX * TEXTURE_SAMPLE_PX, np.float32)
                small.pixels.foreach_get(px)
            finally:
                self.bpy.data.images.remove(small)
        except (RuntimeError, ValueError, ReferenceError):
            return None
        mean = px.reshape(-1, 4)[:, :3].mean(axis=0)
        if image.colorspace_settings.name.lower().startswith("srgb") and not image.is_float:
            mean = np.where(mean <= 0.04045, mean / 12.92, ((mean + 0.055) / 1.055) ** 2.4)
        return mean


__all__ = ["Asset", "AssetLibrary", "placement_matrix"]
