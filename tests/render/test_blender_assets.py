"""GLB meshes drawn by the real Blender worker: fitted into their boxes, turned to their heading,
imported once per worker, and replaced by the procedural furniture (with a note) when the file
cannot be drawn. Every GLB here is built by the test with trimesh."""

from __future__ import annotations

import json
import logging
import struct

import numpy as np
import pytest

from metaspatial_env.env import RoomLayoutEnv
from metaspatial_env.geometry import Box
from metaspatial_env.render import RenderObject, RenderScene
from metaspatial_env.render.blender import BlenderRenderer

trimesh = pytest.importorskip("trimesh")

SIZE = (160, 320)  # two 160 x 160 views
ROOM = (4.0, 3.0, 2.6)
BLUE, YELLOW, RED = (40, 60, 230, 255), (250, 220, 20, 255), (230, 30, 30, 255)


def _material(rgba):
    return trimesh.visual.TextureVisuals(material=trimesh.visual.material.PBRMaterial(baseColorFactor=rgba))


def write_glb(path, *meshes):
    path.write_bytes(trimesh.Scene(list(meshes)).export(file_type="glb"))
    return str(path)


def nosed_body():
    """A blue block with a yellow nose on its front. trimesh writes its coordinates as glTF's
    (Y up, front +Z), so this is a model standing upright and facing glTF's conventional front."""
    body = trimesh.creation.box(extents=(1.0, 0.6, 0.8))  # x wide, y (up) short, z deep
    body.visual = _material(BLUE)
    nose = trimesh.creation.box(extents=(0.3, 0.3, 0.3))
    nose.apply_translation((0.0, 0.0, 0.55))  # in front (+z), sticking out of the body
    nose.visual.face_colors = YELLOW  # vertex colours (COLOR_0), the other colour path
    return body, nose


def glb_doc(doc: dict) -> bytes:
    """A GLB holding only a JSON chunk (no binary buffer)."""
    text = json.dumps(doc).encode()
    text += b" " * (-len(text) % 4)
    body = struct.pack("<II", len(text), 0x4E4F534A) + text
    return b"glTF" + struct.pack("<II", 2, 12 + len(body)) + body


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    root = tmp_path_factory.mktemp("assets")
    files = {"nosed": write_glb(root / "nosed.glb", *nosed_body())}
    cone = trimesh.creation.cone(radius=0.5, height=1.0)
    cone.visual = _material(RED)
    files["cone"] = write_glb(root / "cone.glb", cone)
    data = (root / "cone.glb").read_bytes()
    (root / "garbage.glb").write_bytes(b"\x00 definitely not a mesh " * 20)
    (root / "truncated.glb").write_bytes(data[: len(data) // 2])
    # a well-formed container whose accessor points at a buffer that is not there: passes the
    # cheap check, fails in the importer
    (root / "broken.glb").write_bytes(glb_doc({
        "asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
        "accessors": [{"count": 3, "bufferView": 5, "componentType": 5126, "type": "VEC3"}]}))
    for name in ("garbage", "truncated", "broken"):
        files[name] = str(root / f"{name}.glb")
    files["missing"] = str(root / "missing.glb")
    return files


@pytest.fixture(scope="module")
def renderer():
    r = BlenderRenderer(SIZE, labels=False, overlay=False, shadows=False, aa="OFF")
    yield r
    r.close()


BOX = Box((1.2, 0.8, 0.6), (2.0, 1.5, 0.3), 90.0)  # faces east; a quarter turn keeps the plan axis-aligned


def scene(mesh=None, box=BOX, oid="bed_1", forward="-y", extra=()):
    return RenderScene(ROOM, (RenderObject(oid, "bed", box, "modern", "walnut", mesh), *extra), "bedroom", forward)


def plan_footprint(renderer, box: Box) -> tuple[int, int, int, int]:
    """(x0, x1, y0, y1) pixel bounds of ``box``'s footprint in the plan view (composed image)."""
    px = renderer.views(scene()).to_pixels([[x, y, box.z_range[1]] for x, y in box.footprint()], "plan")
    return (*np.floor(px.min(axis=0)).astype(int), *np.ceil(px.max(axis=0)).astype(int))


def test_a_mesh_is_drawn_inside_its_box_instead_of_the_furniture(renderer, assets):
    empty = renderer.render(RenderScene(ROOM, ()))
    procedural = renderer.render(scene())
    meshed = renderer.render(scene(assets["nosed"]))
    assert renderer.last_asset_fallbacks == {}
    changed = np.any(meshed != empty, axis=2)
    differs = np.any(meshed != procedural, axis=2)
    assert differs.sum() > 200  # the mesh, not the bed, is what is drawn
    plan = np.zeros(SIZE, bool)
    plan[:, SIZE[1] // 2:] = True
    x0, y0, x1, y1 = plan_footprint(renderer, BOX)
    inside = np.zeros(SIZE, bool)
    inside[y0 - 1:y1 + 1, x0 - 1:x1 + 1] = True  # one pixel of rasterisation slack
    assert (changed & plan).sum() > 0.5 * (x1 - x0) * (y1 - y0)  # it fills its footprint ...
    assert not np.any(changed & plan & ~inside), "the mesh reaches outside its box in the plan"


def test_the_front_turns_to_the_heading(renderer, assets):
    """The nose (the model's front, glTF +Z) points east for an object with z_angle 90."""
    image = renderer.render(scene(assets["nosed"])).astype(int)
    x0, y0, x1, y1 = plan_footprint(renderer, BOX)
    region = image[y0:y1, x0:x1]
    yellow = (region[..., 0] > 150) & (region[..., 1] > 120) & (region[..., 2] < 90)
    blue = (region[..., 2] > 120) & (region[..., 0] < 100)
    assert yellow.sum() > 10 and blue.sum() > 10
    mid = (x1 - x0) / 2
    assert np.nonzero(yellow)[1].mean() > mid > np.nonzero(blue)[1].mean()  # nose east, body west of it
    # told the assets face +x instead, the same file turns a quarter the other way: its -y side
    # (the nose) becomes the object's right, which is south for an object facing east
    image = renderer.render(scene(assets["nosed"], forward="+x")).astype(int)
    region = image[y0:y1, x0:x1]
    yellow = (region[..., 0] > 150) & (region[..., 1] > 120) & (region[..., 2] < 90)
    assert yellow.sum() > 10 and np.nonzero(yellow)[0].mean() > (y1 - y0) / 2  # plan rows grow southwards


@pytest.mark.parametrize("name, problem", [
    ("garbage", "not a GLB file"),
    ("truncated", "truncated GLB file"),
    ("missing", "missing file"),
    ("broken", "import failed"),
])
def test_a_file_that_cannot_be_drawn_falls_back_to_the_furniture(renderer, assets, name, problem, caplog):
    procedural = renderer.render(scene())
    pid = renderer.worker_pid
    with caplog.at_level(logging.WARNING, logger="metaspatial_env.render.blender"):
        image = renderer.render(scene(assets[name]))
        (note,) = renderer.last_asset_fallbacks.values()
        assert list(renderer.last_asset_fallbacks) == ["bed_1"] and note.startswith(problem)
        assert np.array_equal(image, procedural)  # exactly the procedural bed
        moved = Box(BOX.size, (2.2, 1.5, 0.3), 90.0)
        renderer.render(scene(assets[name], box=moved))  # the same file again: one warning per file
        assert renderer.last_asset_fallbacks == {"bed_1": note}
    warnings = [r for r in caplog.records if assets[name] in r.getMessage()]
    assert len(warnings) <= 1 and renderer.worker_pid == pid and not renderer.last_render_restarted
    renderer.render(scene(assets["cone"]))  # and it keeps drawing meshes
    assert renderer.last_asset_fallbacks == {}


def test_an_oversized_file_falls_back(assets):
    with BlenderRenderer(SIZE, labels=False, overlay=False, shadows=False, mesh_limits={"max_bytes": 100}) as r:
        r.render(scene(assets["cone"]))
        assert r.last_asset_fallbacks["bed_1"].startswith("file is ") and "at most 100" in r.last_asset_fallbacks["bed_1"]
    with BlenderRenderer(SIZE, labels=False, overlay=False, shadows=False, mesh_limits={"max_vertices": 10}) as r:
        r.render(scene(assets["cone"]))
        assert r.last_asset_fallbacks["bed_1"].startswith("mesh has ")
    with pytest.raises(ValueError, match="mesh_limits"):
        BlenderRenderer(SIZE, mesh_limits={"max_bytes": 0})


def test_each_file_is_imported_once_per_worker(assets):
    """Two objects share one import; rebuilding one (a new size) or a new room imports nothing."""
    lamp = RenderObject("floor_lamp_1", "floor_lamp", Box((0.4, 0.4, 1.5), (3.4, 2.4, 0.75), 0.0), "", "brass",
                        assets["cone"])
    with BlenderRenderer(SIZE, labels=False, overlay=False, shadows=False) as r:
        r.render(scene(assets["cone"], extra=(lamp,)))
        assert r.last_stats["counts"]["built"] == 2 and r.last_stats["assets"]["imports"] == 1
        bigger = Box((1.4, 0.9, 0.7), (2.0, 1.5, 0.35), 90.0)
        r.render(scene(assets["cone"], box=bigger, extra=(lamp,)))
        assert r.last_stats["counts"]["built"] == 1 and r.last_stats["assets"]["imports"] == 1
        r.render(RenderScene((5.0, 4.0, 2.8), (lamp,)))
        stats = r.last_stats["assets"]
        assert stats["imports"] == 1 and stats["cache_hits"] >= 2 and r.last_asset_fallbacks == {}


def test_the_env_reports_fallbacks_in_info(assets, tmp_path):
    task = {
        "room": {"id": "asset_room", "room_type": "bedroom", "size": {"x": 4, "y": 3, "z": 2.6}},
        "objects": [
            {"new_object_id": "bed_1", "size_in_meters": {"length": 1.2, "width": 0.8, "height": 0.6},
             "mesh": assets["garbage"]},
            {"new_object_id": "lamp_1", "size_in_meters": {"length": 0.4, "width": 0.4, "height": 1.5},
             "mesh": assets["cone"]},
        ],
    }
    env = RoomLayoutEnv(renderer="blender", image_size=SIZE, labels=False)
    try:
        _, info = env.reset(seed=0, options={"task": task})
        assert "mesh" not in json.dumps(info["task"])  # nothing path-like in info
        answer = '[{"new_object_id": "bed_1", "x": 2, "y": 1.5, "z": 0.3}, {"new_object_id": "lamp_1", "x": 3.5, "y": 2.5, "z": 0.75}]'
        _, _, _, _, info = env.step(answer)
        assert info["asset_fallbacks"] == {"bed_1": "not a GLB file"}
    finally:
        env.close()
