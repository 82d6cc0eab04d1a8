"""Scenes out (metaspatial_env.export): an exported .glb read back by independent readers.

The file is read with ``pygltflib`` (not the ``trimesh`` that wrote it) for node names, poses,
extents and extras, and with ``trimesh.load`` for the drawn geometry. The Y-up conversion is
checked by its definition, not by the module's constants: room ``(x, y, z)`` is glTF
``(x, z, -y)``, and a compass heading is a clockwise turn seen from above with 0 facing +y.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import struct

import gymnasium as gym
import numpy as np
import pygltflib
import pytest
import trimesh

import metaspatial_env  # noqa: F401  (registers the ids)
from metaspatial_env.cli import main
from metaspatial_env.export import ExportError, export_scene
from metaspatial_env.geometry import Box
from metaspatial_env.schema import Task

ROOM = (4.0, 3.5, 2.6)
POSES = {  # id -> (centre, heading): a quarter turn, an odd angle and a turned-around object
    "desk_1": ((1.0, 0.6, 0.375), 0.0),
    "armchair_1": ((2.6, 1.7, 0.45), 90.0),
    "bookshelf_1": ((3.5, 2.9, 0.9), 217.5),
}
SIZES = {"desk_1": (1.2, 0.6, 0.75), "armchair_1": (0.8, 0.85, 0.9), "bookshelf_1": (0.9, 0.35, 1.8)}
MM = 1e-3


def task_dict(meshes: dict[str, str] | None = None) -> dict:
    objects = []
    for oid, (length, width, height) in SIZES.items():
        rec = {"new_object_id": oid, "style": "modern", "material": "oak and navy fabric",
               "size_in_meters": {"length": length, "width": width, "height": height},
               "is_on_the_floor": True, "facing": None,
               "placement": {"room_layout_elements": [], "objects_in_room": []}, "rotation": {"z_angle": 0.0}}
        if meshes and oid in meshes:
            rec["mesh"] = meshes[oid]
        objects.append(rec)
    return {"room": {"id": "export_test_room", "room_type": "study",
                     "size": {"x": ROOM[0], "y": ROOM[1], "z": ROOM[2]}, "user_preference": "a study"},
            "objects": objects}


def layout() -> dict[str, Box]:
    return {oid: Box(SIZES[oid], centre, heading) for oid, (centre, heading) in POSES.items()}


# ----------------------------------------------------------------------------- reading back
def node_matrix(node) -> np.ndarray:
    """A glTF node's local transform (column vectors), from ``matrix`` or TRS."""
    if node.matrix:
        return np.array(node.matrix, dtype=float).reshape(4, 4).T
    m = np.eye(4)
    if node.rotation:
        x, y, z, w = node.rotation
        m[:3, :3] = [[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]]
    if node.scale:
        m[:3, :3] = m[:3, :3] @ np.diag(node.scale)
    if node.translation:
        m[:3, 3] = node.translation
    return m


def world_matrices(gltf) -> dict[str, np.ndarray]:
    """Every node's world transform in glTF's frame, by node name."""
    out: dict[str, np.ndarray] = {}

    def walk(index: int, parent: np.ndarray) -> None:
        node = gltf.nodes[index]
        world = parent @ node_matrix(node)
        out[node.name] = world
        for child in node.children or []:
            walk(child, world)

    for root in gltf.scenes[gltf.scene or 0].nodes:
        walk(root, np.eye(4))
    return out


def gltf_to_room(p) -> np.ndarray:
    """glTF (x, y, z) -> room (x, y, z): room (x, y, z) was written as glTF (x, z, -y)."""
    p = np.asarray(p, dtype=float)
    return np.stack([p[..., 0], -p[..., 2], p[..., 1]], axis=-1)


def mesh_corners(gltf, node) -> np.ndarray:
    """The 8 corners of a node's mesh bounds (accessor min/max), in the node's frame."""
    accessor = gltf.accessors[gltf.meshes[node.mesh].primitives[0].attributes.POSITION]
    lo, hi = accessor.min, accessor.max
    return np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])


def vertex_count(gltf) -> int:
    return sum(gltf.accessors[p.attributes.POSITION].count for m in gltf.meshes for p in m.primitives)


def heading_of(world: np.ndarray) -> float:
    """Compass heading of a node from its forward axis (object +y) seen in the room."""
    forward = gltf_to_room(world[:3, :3] @ np.array([0.0, 0.0, -1.0]))  # room +y is glTF -z
    return math.degrees(math.atan2(forward[0], forward[1])) % 360.0


def object_geometry(scene: trimesh.Scene, oid: str) -> np.ndarray:
    """Every vertex drawn for ``oid`` (its child geometry nodes) in room coordinates."""
    points = []
    for node in scene.graph.nodes_geometry:
        if node.startswith(f"{oid}:"):
            matrix, geometry = scene.graph[node]
            points.append(trimesh.transform_points(scene.geometry[geometry].vertices, matrix))
    return gltf_to_room(np.concatenate(points))


def in_box_frame(points: np.ndarray, box: Box) -> np.ndarray:
    """Room points as (right, forward, up) offsets from the box centre (heading clockwise from +y)."""
    a = math.radians(box.z_angle)
    right, forward = np.array([math.cos(a), -math.sin(a)]), np.array([math.sin(a), math.cos(a)])
    d = points - np.asarray(box.center)
    return np.stack([d[:, :2] @ right, d[:, :2] @ forward, d[:, 2]], axis=1)


@pytest.fixture
def exported(tmp_path):
    path = export_scene(tmp_path / "room.glb", Task.from_dict(task_dict()), layout(),
                        reward_terms={"format": 1.0, "collision": 0.75, "total": 0.8}, success=False, turn=2)
    return path, pygltflib.GLTF2.load(str(path))


# ----------------------------------------------------------------------------- tests
def test_one_node_per_object_at_its_pose(exported):
    _, gltf = exported
    worlds = world_matrices(gltf)
    names = [n.name for n in gltf.nodes]
    for oid, (centre, heading) in POSES.items():
        assert names.count(oid) == 1
        world = worlds[oid]
        x, y, z = centre
        assert world[:3, 3] == pytest.approx([x, z, -y], abs=1e-6)  # glTF is Y-up
        assert gltf_to_room(world[:3, 1]) == pytest.approx([0, 0, 1], abs=1e-9)  # stands upright
        assert heading_of(world) == pytest.approx(heading, abs=1e-6)
        node = gltf.nodes[names.index(oid)]
        assert node.extras == {"object_id": oid, "category": oid[:-2], "x": x, "y": y, "z": z, "z_angle": heading}
    # an armchair facing east (90) has its forward axis along room +x
    forward = gltf_to_room(worlds["armchair_1"][:3, :3] @ [0, 0, -1])
    assert forward == pytest.approx([1, 0, 0], abs=1e-9)


def test_the_room_has_its_real_size(exported):
    _, gltf = exported
    worlds = world_matrices(gltf)
    nodes = {n.name: n for n in gltf.nodes}
    X, Y, Z = ROOM

    def extent(name):
        corners = mesh_corners(gltf, nodes[name])
        world = (worlds[name] @ np.c_[corners, np.ones(8)].T).T[:, :3]
        room = gltf_to_room(world)
        return room.min(axis=0), room.max(axis=0)

    lo, hi = extent("floor")
    assert (lo[0], lo[1], hi[0], hi[1], hi[2]) == pytest.approx((0, 0, X, Y, 0), abs=1e-6)
    assert extent("south_wall")[1][1] == pytest.approx(0, abs=1e-6)  # inner faces bound the interior
    assert extent("north_wall")[0][1] == pytest.approx(Y, abs=1e-6)
    assert extent("west_wall")[1][0] == pytest.approx(0, abs=1e-6)
    assert extent("east_wall")[0][0] == pytest.approx(X, abs=1e-6)
    for wall in ("south_wall", "north_wall", "west_wall", "east_wall"):
        assert extent(wall)[1][2] == pytest.approx(Z, abs=1e-6)
    room = gltf.nodes[[n.name for n in gltf.nodes].index("room")]
    assert sorted(gltf.nodes[i].name for i in room.children) == sorted(
        ["floor", "south_wall", "north_wall", "west_wall", "east_wall"])


def test_extras_hold_the_layout_and_the_reward(exported):
    path, gltf = exported
    extras = gltf.scenes[gltf.scene or 0].extras
    assert extras["task_id"] == "export_test_room"
    assert extras["room_size"] == {"x": ROOM[0], "y": ROOM[1], "z": ROOM[2]}
    assert extras["layout"] == {oid: {"x": c[0], "y": c[1], "z": c[2], "z_angle": h} for oid, (c, h) in POSES.items()}
    assert extras["reward_terms"] == {"format": 1.0, "collision": 0.75, "total": 0.8}
    assert extras["success"] is False and extras["turn"] == 2
    assert extras["drawn"] == dict.fromkeys(POSES, "procedural") and extras["mesh_fallbacks"] == {}
    assert not list(path.parent.glob(".*.tmp"))


def test_drawn_geometry_lies_in_each_rotated_box(exported):
    path, _ = exported
    scene = trimesh.load(path)
    for oid, box in layout().items():
        local = in_box_frame(object_geometry(scene, oid), box)
        half = np.asarray(box.size) / 2
        assert np.all(np.abs(local) <= half + MM), oid
        # and it is the box the physics sees: the parts reach its faces (sideways, front, top, bottom)
        assert local.max(axis=0) == pytest.approx(half, abs=0.01), oid
        assert local.min(axis=0) == pytest.approx(-half, abs=0.01), oid


def write_glb(path, mesh: trimesh.Trimesh) -> None:
    path.write_bytes(trimesh.Scene(mesh).export(file_type="glb"))


def test_a_glb_mesh_is_exported_fitted_to_its_box(tmp_path):
    # a wedge with a nose towards glTF +z, the conventional front (mesh_forward "-y" once Z is up)
    body = trimesh.creation.box(extents=(0.5, 0.3, 0.4))
    nose = trimesh.creation.cone(radius=0.1, height=0.3, sections=7)
    nose.apply_translation((0.05, 0.0, 0.2))  # tip at glTF z = 0.5, off centre in x
    source = trimesh.util.concatenate([body, nose])
    write_glb(tmp_path / "desk.glb", source)
    source_gltf = pygltflib.GLTF2.load(str(tmp_path / "desk.glb"))
    task = Task.from_dict(task_dict({"desk_1": str(tmp_path / "desk.glb")}))
    path = export_scene(tmp_path / "out.glb", task, layout())

    gltf = pygltflib.GLTF2.load(str(path))
    names = [n.name for n in gltf.nodes]
    mesh_node = gltf.nodes[names.index("desk_1:mesh0")]
    assert names.index("desk_1:mesh0") in gltf.nodes[names.index("desk_1")].children
    exported_count = sum(gltf.accessors[p.attributes.POSITION].count for p in gltf.meshes[mesh_node.mesh].primitives)
    assert exported_count == vertex_count(source_gltf)
    extras = gltf.scenes[0].extras
    assert extras["drawn"]["desk_1"] == "mesh" and extras["mesh_fallbacks"] == {}
    assert not any(n.startswith("desk_1:") and n != "desk_1:mesh0" for n in names)  # no procedural parts

    box = layout()["desk_1"]
    local = in_box_frame(object_geometry(trimesh.load(path), "desk_1"), box)
    half = np.asarray(box.size) / 2
    assert local.max(axis=0) == pytest.approx(half, abs=MM)  # stretched onto the box exactly
    assert local.min(axis=0) == pytest.approx(-half, abs=MM)
    tip = local[np.argmax(local[:, 1])]  # the nose points along the object's forward axis
    assert tip[1] == pytest.approx(half[1], abs=MM) and abs(tip[0]) > 0.01


def broken_glb() -> bytes:
    """A GLB whose header and JSON pass the cheap check but whose accessor overruns its buffer."""
    doc = {"asset": {"version": "2.0"}, "buffers": [{"byteLength": 4}],
           "bufferViews": [{"buffer": 0, "byteLength": 400}],
           "accessors": [{"bufferView": 0, "componentType": 5126, "count": 30, "type": "VEC3"}],
           "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}], "nodes": [{"mesh": 0}],
           "scenes": [{"nodes": [0]}], "scene": 0}
    text = json.dumps(doc).encode()
    text += b" " * (-len(text) % 4)
    chunks = struct.pack("<II", len(text), 0x4E4F534A) + text + struct.pack("<II", 4, 0x004E4942) + b"\0" * 4
    return b"glTF" + struct.pack("<II", 2, 12 + len(chunks)) + chunks


def test_a_broken_or_missing_mesh_falls_back_to_the_procedural_part_with_a_note(tmp_path):
    (tmp_path / "garbage.glb").write_bytes(b"not a model at all")
    (tmp_path / "overrun.glb").write_bytes(broken_glb())
    meshes = {"desk_1": str(tmp_path / "garbage.glb"), "armchair_1": str(tmp_path / "overrun.glb"),
              "bookshelf_1": str(tmp_path / "missing.glb")}
    path = export_scene(tmp_path / "out.glb", Task.from_dict(task_dict(meshes)), layout())
    gltf = pygltflib.GLTF2.load(str(path))
    extras = gltf.scenes[0].extras
    assert extras["drawn"] == dict.fromkeys(POSES, "procedural")
    assert extras["mesh_fallbacks"] == {"desk_1": "not a GLB file", "armchair_1": "cannot import the GLB file "
                                        "(AssertionError)", "bookshelf_1": "missing file"}
    assert str(tmp_path) not in json.dumps(extras)  # the notes name no path
    names = [n.name for n in gltf.nodes]
    for oid in POSES:
        children = [gltf.nodes[i].name for i in gltf.nodes[names.index(oid)].children]
        assert children and all(c.startswith(f"{oid}:") and "mesh" not in c for c in children)


def test_env_exports_the_settled_layout_of_a_real_step(tmp_path):
    env = gym.make("MetaSpatial-Fast-v0", image_size=[64, 128])
    with pytest.raises(RuntimeError, match="reset"):
        env.unwrapped.export_scene(tmp_path / "never.glb")
    assert not (tmp_path / "never.glb").exists()
    env.reset(seed=3)
    empty = pygltflib.GLTF2.load(str(env.unwrapped.export_scene(tmp_path / "empty.glb")))
    assert empty.scenes[0].extras["layout"] == {} and empty.scenes[0].extras["turn"] == 0
    assert {n.name for n in empty.nodes} == {"room", "floor", "south_wall", "north_wall", "west_wall", "east_wall",
                                             "objects"}

    _, _, _, _, info = env.step(env.action_space.sample())
    path = env.unwrapped.export_scene(tmp_path / "step.glb")
    env.close()
    gltf = pygltflib.GLTF2.load(str(path))
    extras = gltf.scenes[0].extras
    worlds = world_matrices(gltf)
    assert extras["task_id"] == info["task_id"] and extras["turn"] == 1 and extras["success"] == info["success"]
    assert extras["layout"] == info["layout"]
    assert extras["reward_terms"] == {k[len("reward_"):]: v for k, v in info.items() if k.startswith("reward_")}
    for oid, pose in info["layout"].items():
        assert gltf_to_room(worlds[oid][:3, 3]) == pytest.approx([pose["x"], pose["y"], pose["z"]], abs=1e-4)
        assert math.cos(math.radians(heading_of(worlds[oid]) - pose["z_angle"])) == pytest.approx(1, abs=1e-6)


def test_the_vector_face_exports_its_episode_too(tmp_path):
    """``export_scene`` belongs to the episode core, so ``MetaSpatialContinuous-v0`` has it as well."""
    env = gym.make("MetaSpatialContinuous-v0", max_objects=5)
    env.reset(seed=4)
    _, _, _, _, info = env.step(env.action_space.sample())
    gltf = pygltflib.GLTF2.load(str(env.unwrapped.export_scene(tmp_path / "vector.glb")))
    env.close()
    assert gltf.scenes[0].extras["layout"] == info["layout"] and gltf.scenes[0].extras["turn"] == 1
    assert set(info["layout"]) <= {n.name for n in gltf.nodes}


def test_a_failed_write_leaves_no_partial_file_and_says_why_in_one_line(tmp_path, monkeypatch):
    task = Task.from_dict(task_dict())
    (tmp_path / "a_file").write_text("in the way")
    with pytest.raises(ExportError, match="cannot write the scene to") as error:
        export_scene(tmp_path / "a_file" / "room.glb", task, layout())  # its folder cannot be made
    assert "\n" not in str(error.value)

    target = tmp_path / "room.glb"
    target.write_bytes(b"the previous scene")

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(ExportError, match="No space left on device"):
        export_scene(target, task, layout())
    assert target.read_bytes() == b"the previous scene"  # the old file stands, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "room.glb"]  # no temporary left


def test_bad_layouts_are_one_clear_error(tmp_path):
    task = Task.from_dict(task_dict())
    with pytest.raises(ExportError, match="'sofa_9', which is not an object"):
        export_scene(tmp_path / "x.glb", task, {"sofa_9": {"x": 1, "y": 1, "z": 1}})
    with pytest.raises(ExportError, match="must be a Box or a mapping"):
        export_scene(tmp_path / "x.glb", task, {"desk_1": {"x": 1}})
    with pytest.raises(ExportError, match="not finite"):
        export_scene(tmp_path / "x.glb", task, {"desk_1": {"x": float("nan"), "y": 1, "z": 1}})
    assert not list(tmp_path.iterdir())


def test_demo_export_writes_a_scene_per_turn(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--policies", "heuristic", "--env", "MetaSpatial-Fast-v0", "--renderer", "raster",
                 "--rooms", "1", "--turns", "1", "--out", str(out), "--export"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    episode = metrics["policies"]["heuristic"]["episodes"][0]
    room = episode["task_id"]
    assert episode["scenes"] == [f"heuristic/{room}/{room}_turn1.glb"]
    gltf = pygltflib.GLTF2.load(str(out / episode["scenes"][0]))
    assert gltf.scenes[0].extras["task_id"] == room
    assert gltf.scenes[0].extras["reward_terms"]["total"] == pytest.approx(episode["final_total"], abs=1e-4)


def test_eval_export_writes_scenes_and_lists_them(tmp_path):
    from agents.evaluate import EvalConfig, evaluate

    config = EvalConfig(policy="heuristic", env_id="MetaSpatial-Text-v0", episodes=1, turns=1, images=False,
                        export=True)
    results = evaluate(config, tmp_path, progress=False)
    episode = results["episodes"][0]
    assert episode["scenes"] == {"1": f"scenes/{episode['task_id']}_turn1.glb"}
    gltf = pygltflib.GLTF2.load(str(tmp_path / episode["scenes"]["1"]))
    assert set(gltf.scenes[0].extras["layout"]) == {n for n in gltf.scenes[0].extras["drawn"]}


def test_exporting_is_off_by_default():
    from agents.cli import add_demo, add_eval
    from agents.evaluate import EvalConfig

    for add, argv in ((add_demo, []), (add_eval, ["--policy", "heuristic"])):
        parser = argparse.ArgumentParser()
        add(parser)
        assert parser.parse_args(argv).export is False
    assert EvalConfig(policy="heuristic").export is False


BLENDER_READS = """
import json, math, sys
import bpy
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.import_scene.gltf(filepath=sys.argv[1])
out = {}
for ob in bpy.data.objects:
    m = ob.matrix_world
    out[ob.name] = {"location": list(m.translation), "forward": list(m.to_3x3().col[1]),
                    "up": list(m.to_3x3().col[2]), "bbox": [list(m @ v.co) for v in ob.data.vertices]
                    if ob.type == "MESH" else None}
print("RESULT" + json.dumps(out))
"""


@pytest.mark.slow
def test_blender_imports_the_scene_upright_at_the_settled_poses(exported):
    """Blender's own glTF importer (bpy, in a subprocess: it owns global state) sees the room Z-up,
    every object at its pose with the heading as a clockwise turn, nothing mirrored."""
    import subprocess
    import sys

    path, _ = exported
    done = subprocess.run([sys.executable, "-c", BLENDER_READS, str(path)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("RESULT"))[len("RESULT"):])
    for oid, (centre, heading) in POSES.items():
        assert seen[oid]["location"] == pytest.approx(centre, abs=1e-5)
        assert seen[oid]["up"] == pytest.approx([0, 0, 1], abs=1e-6)
        a = math.radians(heading)
        assert seen[oid]["forward"] == pytest.approx([math.sin(a), math.cos(a), 0], abs=1e-6)
    floor = np.array(seen["floor"]["bbox"])
    assert floor.max(axis=0) == pytest.approx([ROOM[0], ROOM[1], 0], abs=1e-5)
    assert floor.min(axis=0)[:2] == pytest.approx([0, 0], abs=1e-5)
    assert np.array(seen["north_wall"]["bbox"]).min(axis=0)[1] == pytest.approx(ROOM[1], abs=1e-5)
    assert np.array(seen["east_wall"]["bbox"]).max(axis=0)[2] == pytest.approx(ROOM[2], abs=1e-5)
