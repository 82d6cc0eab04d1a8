"""Re-render an exported scene (``.glb``) in Blender: the README's proof that "scenes out" opens upright.

Usage (from the repository root, with the virtualenv that has ``bpy`` and ``trimesh``)::

    .venv/bin/python docs/render_export.py --room test_0001_living_room
    .venv/bin/python docs/render_export.py --glb out/demo/heuristic/ROOM/ROOM_turn3.glb

Without ``--glb`` it first plays the room with a policy (``heuristic`` by default, text-only env,
so no renderer runs) and exports its last settled layout with ``env.export_scene``; either way
the file goes through Blender's own glTF importer (``bpy.ops.import_scene.gltf``, which turns
glTF's +Y up back into Blender's +Z up), gets a camera from the room's south-west above (where
the env's perspective view looks from) and a sun, and is rendered to
``docs/images/export_<room>.png``. The south and west walls are hidden, as the env's own views
cut them away, by the node names the export gives them.
"""

from __future__ import annotations

import argparse
import json
import math
import struct
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The env's perspective camera: compass heading from the room's centre, elevation, vertical field of view.
CAMERA_AZIMUTH, CAMERA_ELEVATION, CAMERA_FOV = 212.0, 38.0, 40.0


def glb_extras(path: Path) -> dict:
    """The scene extras of a GLB file, read from its JSON chunk (no glTF library needed)."""
    data = path.read_bytes()
    if data[:4] != b"glTF":
        raise SystemExit(f"render_export: {path} is not a GLB file")
    length, _ = struct.unpack("<II", data[12:20])
    doc = json.loads(data[20:20 + length])
    return doc["scenes"][doc.get("scene", 0)].get("extras", {})


def export_room(room: str, split: str, policy_name: str, turns: int, folder: Path) -> Path:
    """Play ``room`` with ``policy_name`` and export the last settled layout; return the file."""
    sys.path.insert(0, str(ROOT))
    import gymnasium as gym

    import metaspatial_env  # noqa: F401  (registers the ids)
    from agents import make_policy
    from agents.runner import run_episode

    env = gym.make("MetaSpatial-Text-v0", split=split, max_turns=turns)
    try:
        record = run_episode(env, make_policy(policy_name), task_id=room, seed=0, export_dir=folder)
    finally:
        env.close()
    last = record.turns[-1]
    print(f"{room}: {len(record.turns)} turns, final total {record.final_total:.3f}, success {record.success}")
    return last.scene


def render(glb: Path, out: Path, size: tuple[int, int], engine: str, samples: int, quantize: bool = True) -> None:
    import bpy
    from mathutils import Vector

    extras = glb_extras(glb)
    X, Y, Z = (extras["room_size"][k] for k in "xyz")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.gltf(filepath=str(glb))
    scene = bpy.context.scene
    for name in ("south_wall", "west_wall"):  # the camera looks in over them
        if name in bpy.data.objects:
            bpy.data.objects[name].hide_render = True

    centre = Vector((X / 2, Y / 2, 0.35 * Z))
    a, e = math.radians(CAMERA_AZIMUTH), math.radians(CAMERA_ELEVATION)
    direction = Vector((math.sin(a) * math.cos(e), math.cos(a) * math.cos(e), math.sin(e)))
    radius = 0.5 * math.sqrt(X * X + Y * Y + Z * Z)
    distance = 1.15 * radius / math.sin(math.radians(CAMERA_FOV) / 2)
    camera = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    camera.data.angle_y = math.radians(CAMERA_FOV)
    camera.data.sensor_fit = "VERTICAL"
    camera.location = centre + distance * direction
    camera.rotation_euler = (-direction).to_track_quat("-Z", "Y").to_euler()
    scene.collection.objects.link(camera)
    scene.camera = camera

    sun = bpy.data.objects.new("sun", bpy.data.lights.new("sun", type="SUN"))
    sun.data.energy = 3.0
    sun.data.angle = math.radians(8)
    sun.rotation_euler = (math.radians(40), 0.0, math.radians(150))
    scene.collection.objects.link(sun)
    world = bpy.data.worlds.new("world")
    if bpy.app.version < (5, 0, 0):  # since 5.0 a world always has its node tree
        world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Color"].default_value = (0.62, 0.66, 0.72, 1.0)
    world.node_tree.nodes["Background"].inputs["Strength"].default_value = 0.9
    scene.world = world

    scene.render.resolution_x, scene.render.resolution_y = size
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    scene.render.filepath = str(out)
    if engine == "cycles":
        scene.render.engine = "CYCLES"
        scene.cycles.device = "CPU"
        scene.cycles.samples = samples
        scene.cycles.use_denoising = True
    else:
        scene.render.engine = "BLENDER_WORKBENCH"
        scene.display.shading.light = "STUDIO"
        scene.display.shading.color_type = "MATERIAL"
        scene.display.shading.show_shadows = True
    scene.view_settings.view_transform = "Standard"
    out.parent.mkdir(parents=True, exist_ok=True)
    bpy.ops.render.render(write_still=True)
    if quantize:  # a 256-colour palette: a quarter of the bytes of Cycles' noisy RGB, for the README
        from PIL import Image

        Image.open(out).convert("RGB").quantize(colors=256, dither=Image.Dither.NONE).save(out, optimize=True)
    print(f"wrote {out} from {glb} ({extras['task_id']}, {len(extras['layout'])} objects, Blender {bpy.app.version_string})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--glb", type=Path, help="an exported scene to render")
    source.add_argument("--room", help="a room id to play and export first")
    parser.add_argument("--split", default="test")
    parser.add_argument("--policy", default="heuristic")
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="PNG (default: docs/images/export_<room>.png)")
    parser.add_argument("--size", default="960x640", help="WIDTHxHEIGHT in pixels")
    parser.add_argument("--engine", choices=("cycles", "workbench"), default="cycles")
    parser.add_argument("--samples", type=int, default=48, help="Cycles samples (denoised)")
    parser.add_argument("--full-colour", action="store_true", help="keep the render's RGB (default: a 256-colour PNG)")
    args = parser.parse_args(argv)
    width, _, height = args.size.partition("x")
    with tempfile.TemporaryDirectory() as folder:
        glb = args.glb if args.glb is not None else export_room(args.room, args.split, args.policy, args.turns,
                                                                Path(folder))
        room = glb_extras(glb)["task_id"]
        out = args.out or ROOT / "docs" / "images" / f"export_{room}.png"
        render(glb, out.resolve(), (int(width), int(height)), args.engine, args.samples, not args.full_colour)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
