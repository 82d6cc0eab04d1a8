"""GLB meshes in the Blender renderer: what a warm render costs with them, and what an import costs.

Measured in one run, on the first bundled ``test`` room with 10 objects, laid out by the heuristic
policy (:mod:`benchmarks.render`'s scenes: renders alternate between that layout and a variant
with a third of the objects moved and turned, so the warm worker moves objects every time):

- ``warm``: median seconds per render of the room drawn with procedural furniture and of the same
  room with every object drawn from its own GLB file (built here with trimesh: an icosphere of
  ``--warm-subdivisions`` and a box, two materials), by two warm Workbench renderers timed in
  turns, so a shared machine's changing load hits both alike; the ratio is meshes / procedural.
  Once with the default settings, once with ``shadows=False`` (Workbench's drop shadows cost
  in proportion to the triangles that cast them).
- ``import``: for meshes of a few sizes (icospheres of 2.5k to 164k vertices), the first render
  of the room with one object switched to a new file minus the next render (the same scene with
  objects moved: warm), median over ``--files`` distinct files per size. That difference is the
  worker's import of the file (glTF import, join, colour bake) plus building its object.

    python -m benchmarks.assets [--repeats 10] [--files 3] [--image-size 512 1024]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from metaspatial_env.render import RenderScene
from metaspatial_env.render.blender import BlenderRenderer

from .render import room_with, scenes_for

SIZES = (4, 5, 6, 7)  # icosphere subdivisions: 2562, 10242, 40962, 163842 vertices


def write_mesh(path: Path, subdivisions: int, seed: int) -> tuple[int, int]:
    """A two-material GLB (a sphere on a box); returns (vertices, bytes)."""
    import trimesh

    sphere = trimesh.creation.icosphere(subdivisions=subdivisions, radius=0.5)
    sphere.apply_translation((0.0, 0.5 + 0.01 * seed, 0.0))  # distinct files of one size
    sphere.visual = trimesh.visual.TextureVisuals(
        material=trimesh.visual.material.PBRMaterial(baseColorFactor=[200, 80 + 10 * (seed % 10), 40, 255]))
    base = trimesh.creation.box(extents=(1.0, 0.3, 1.0))
    base.visual = trimesh.visual.TextureVisuals(
        material=trimesh.visual.material.PBRMaterial(baseColorFactor=[60, 60, 70, 255]))
    data = trimesh.Scene([sphere, base]).export(file_type="glb")
    path.write_bytes(data)
    return len(sphere.vertices) + len(base.vertices), len(data)


def with_meshes(scene: RenderScene, meshes: dict[str, str]) -> RenderScene:
    return replace(scene, objects=tuple(replace(o, mesh=meshes.get(o.id)) for o in scene.objects))


def timed(renderer, scene) -> float:
    clock = time.perf_counter()
    renderer.render(scene)
    return time.perf_counter() - clock


def time_warm(plain: tuple, meshed: tuple, size, repeats: int, **settings) -> tuple[float, float]:
    """Median seconds per warm render: procedural furniture, and every object a GLB mesh."""
    a, b = (BlenderRenderer(size, **settings) for _ in range(2))
    try:
        for r, pair in ((a, plain), (b, meshed)):
            r.render(pair[1])  # warm-up: worker start, shaders, every object built (and imported)
            r.render(pair[0])
        assert not b.last_asset_fallbacks, b.last_asset_fallbacks
        ta, tb = [], []
        for i in range(repeats):
            ta.append(timed(a, plain[i % 2]))
            tb.append(timed(b, meshed[i % 2]))
        return statistics.median(ta), statistics.median(tb)
    finally:
        a.close()
        b.close()


def time_imports(pair: tuple, folder: Path, size, files: int) -> list[dict]:
    """Per mesh size: median (first render with a new file) - (the next, warm render)."""
    target = pair[0].objects[0].id
    rows = []
    with BlenderRenderer(size) as r:
        r.render(pair[1])
        r.render(pair[0])
        for sub in SIZES:
            costs, warm = [], []
            for k in range(files):
                path = folder / f"ico{sub}_{k}.glb"
                vertices, nbytes = write_mesh(path, sub, k)
                scenes = [with_meshes(s, {target: str(path)}) for s in (pair[1], pair[0])]
                imports = r.last_stats.get("assets", {}).get("imports", 0)
                first = timed(r, scenes[0])
                assert r.last_stats["assets"]["imports"] == imports + 1, "the file was not imported"
                again = timed(r, scenes[1])
                costs.append(first - again)
                warm.append(again)
            rows.append({"vertices": vertices, "bytes": nbytes, "import_s": statistics.median(costs),
                         "warm_s": statistics.median(warm)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help="warm renders per renderer")
    parser.add_argument("--files", type=int, default=3, help="distinct files per mesh size")
    parser.add_argument("--warm-subdivisions", type=int, default=5, help="icosphere of the warm room's meshes")
    parser.add_argument("--image-size", type=int, nargs=2, default=[512, 1024], metavar=("H", "W"))
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args()
    size = tuple(args.image_size)
    task = room_with(10)
    plain = scenes_for(task)
    print(f"machine: {platform.node()} {platform.machine()}, python {platform.python_version()}")
    print(f"room {task.id} ({len(task.objects)} objects), image {size[0]}x{size[1]}, Workbench\n")
    with tempfile.TemporaryDirectory(prefix="metaspatial_assets_") as tmp:
        folder = Path(tmp)
        meshes, total = {}, 0
        for i, o in enumerate(task.objects):
            path = folder / f"{o.id}.glb"
            total += write_mesh(path, args.warm_subdivisions, i)[0]
            meshes[o.id] = str(path)
        meshed = tuple(with_meshes(s, meshes) for s in plain)
        warm = {}
        print(f"warm render, 10 objects; meshes: one GLB per object, {total} vertices in all")
        print("| shadows | procedural furniture | GLB meshes | meshes / procedural |")
        print("| --- | ---: | ---: | ---: |")
        for shadows in (True, False):
            procedural_s, mesh_s = time_warm(plain, meshed, size, args.repeats, shadows=shadows)
            warm["on" if shadows else "off"] = {"procedural_s": procedural_s, "meshes_s": mesh_s}
            print(f"| {'on' if shadows else 'off'} | {procedural_s * 1000:.1f} ms | {mesh_s * 1000:.1f} ms | "
                  f"x{mesh_s / procedural_s:.2f} |")
        print()
        rows = time_imports(plain, folder, size, args.files)
    print("| vertices | file | import cost (first - warm) | warm render |")
    print("| ---: | ---: | ---: | ---: |")
    for row in rows:
        print(f"| {row['vertices']} | {row['bytes'] / 1024:.0f} KiB | {row['import_s'] * 1000:.0f} ms | "
              f"{row['warm_s'] * 1000:.0f} ms |")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "room": task.id, "image_size": size, "warm": warm,
            "mesh_vertices": total, "imports": rows}, indent=2))


if __name__ == "__main__":
    main()
