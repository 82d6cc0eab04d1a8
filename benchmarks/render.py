"""Rendering speed: the persistent Blender backend per engine, a fresh Blender per render, the rasteriser.

Scenes are bundled ``test``-split rooms with 10 and 20 objects, laid out by the heuristic policy;
each view is 512 x 512 (composed image 512 x 1024) by default. A "step" re-renders the room after
the layout changed: renders alternate between the heuristic layout and a variant with a third of
the objects moved, so the persistent worker moves objects every time (as in an episode).

Measured in one run, on the same scenes:

- ``blender-<engine>``: :class:`~metaspatial_env.render.blender.BlenderRenderer` kept warm
  (workbench, eevee, cycles with few samples); median seconds per render after a warm-up render.
- ``fresh-process``: the reference release's way, a new Python + bpy process per render that
  builds the scene, renders it and exits (Workbench, same scene and cameras), timed in pairs with
  the warm renderer, with the default settings and again with ``shadows=False``.
- ``raster``: the moderngl rasteriser.
- ``env``: ``MetaSpatial-v0`` itself (Blender Workbench) on the 10-object room: reset and step
  times (parse, physics, reward and render together) against the DESIGN.md budgets.

    python -m benchmarks.render [--repeats 10] [--image-size 512 1024] [--skip-eevee] [--skip-cycles]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

from metaspatial_env.env import RoomLayoutEnv
from metaspatial_env.geometry import Box
from metaspatial_env.render import RenderObject, RenderScene, make_renderer
from metaspatial_env.render.blender import render_in_fresh_process
from metaspatial_env.tasks import Task
from metaspatial_env.tasks.splits import load_split

STEP_BUDGET_S, RESET_BUDGET_S = 0.5, 0.6


def room_with(n_objects: int) -> Task:
    """The first bundled test room with exactly ``n_objects`` objects."""
    return next(t for t in load_split("test") if len(t.objects) == n_objects)


def heuristic_layout(task: Task) -> dict[str, dict]:
    """The heuristic policy's answer for ``task``, as {id: {x, y, z, z_angle}}."""
    from agents import make_policy

    env = RoomLayoutEnv(observation="text", split="test")
    obs, info = env.reset(options={"task": task})
    answer = make_policy("heuristic").act(obs, info)
    env.close()
    body = answer.split("<answer>")[-1].split("</answer>")[0]
    return {e["new_object_id"]: e for e in json.loads(body)}


def scenes_for(task: Task) -> tuple[RenderScene, RenderScene]:
    """The heuristic layout and a variant with every third object shifted 0.3 m and turned."""
    layout = heuristic_layout(task)

    def scene(shift: bool) -> RenderScene:
        objects = []
        for i, o in enumerate(task.objects):
            pose = layout[o.id]
            dx = 0.3 if shift and i % 3 == 0 else 0.0
            angle = pose.get("z_angle", o.z_angle) + (30.0 if shift and i % 3 == 0 else 0.0)
            objects.append(RenderObject(o.id, o.category, Box(o.size, (pose["x"] + dx, pose["y"], pose["z"]), angle),
                                        o.style, o.material))
        return RenderScene(task.size, tuple(objects), task.room_type)

    return scene(False), scene(True)


def time_renderer(renderer, scenes, repeats: int) -> float:
    """Median seconds per render (after one warm-up render), alternating the two layouts."""
    renderer.render(scenes[1])
    times = []
    for i in range(repeats):
        clock = time.perf_counter()
        renderer.render(scenes[i % 2])
        times.append(time.perf_counter() - clock)
    return statistics.median(times)


def time_env(task: Task, image_size, repeats: int) -> tuple[float, float]:
    """Median reset and step seconds of MetaSpatial-v0 (Blender Workbench) on ``task``."""
    layout = heuristic_layout(task)
    answer = json.dumps(list(layout.values()))
    env = RoomLayoutEnv(renderer="blender", image_size=image_size, terminate_on_success=False, split="test")
    env.reset(options={"task": task})
    env.step(answer)  # warm-up: worker start, shaders, first build of every object
    resets, steps = [], []
    for _ in range(repeats):
        clock = time.perf_counter()
        env.reset(options={"task": task})
        resets.append(time.perf_counter() - clock)
        clock = time.perf_counter()
        env.step(answer)
        steps.append(time.perf_counter() - clock)
    env.close()
    return statistics.median(resets), statistics.median(steps)


def time_paired(scenes, size, repeats: int, **settings) -> tuple[dict[int, float], dict[int, float]]:
    """Median seconds of a fresh-process render and of a warm Workbench render, timed in pairs.

    One fresh-process render, then two warm renders, repeated: a shared machine's changing load
    hits both sides alike. Both use the same renderer ``settings``.
    """
    fresh, paired = {}, {}
    warm = make_renderer("blender", size, **settings)
    try:
        for n, pair in scenes.items():
            warm.render(pair[1])
            f_times, w_times = [], []
            for _ in range(repeats):
                f_times.append(render_in_fresh_process(pair[0], size, **settings)[1])
                for scene in pair:
                    clock = time.perf_counter()
                    warm.render(scene)
                    w_times.append(time.perf_counter() - clock)
            fresh[n], paired[n] = statistics.median(f_times), statistics.median(w_times)
    finally:
        warm.close()
    return fresh, paired


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help="renders per persistent backend")
    parser.add_argument("--fresh-repeats", type=int, default=3, help="fresh-process renders per scene")
    parser.add_argument("--slow-repeats", type=int, default=2, help="renders per scene for eevee and cycles")
    parser.add_argument("--image-size", type=int, nargs=2, default=[512, 1024], metavar=("H", "W"))
    parser.add_argument("--cycles-samples", type=int, default=8)
    parser.add_argument("--eevee-samples", type=int, default=4)
    parser.add_argument("--skip-eevee", action="store_true")
    parser.add_argument("--skip-cycles", action="store_true")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args()
    size = tuple(args.image_size)

    print(f"machine: {platform.node()} {platform.machine()}, python {platform.python_version()}")
    print(f"image {size[0]}x{size[1]} (two views of {size[0]}x{size[1] // 2}); median seconds per render\n")
    backends = [("raster", "raster", {}, args.repeats), ("blender-workbench", "blender", {}, args.repeats)]
    if not args.skip_eevee:
        backends.append(("blender-eevee", "blender", {"engine": "eevee", "samples": args.eevee_samples},
                         args.slow_repeats))
    if not args.skip_cycles:
        backends.append(("blender-cycles", "blender", {"engine": "cycles", "samples": args.cycles_samples},
                         args.slow_repeats))
    results: dict[str, dict[int, float]] = {}
    tasks = {n: room_with(n) for n in (10, 20)}
    scenes = {n: scenes_for(task) for n, task in tasks.items()}
    for label, name, options, repeats in backends:
        renderer = make_renderer(name, size, **options)
        try:
            results[label] = {n: time_renderer(renderer, scenes[n], repeats) for n in scenes}
            device = getattr(renderer, "worker_info", {}).get("device")
            note = f" (cycles device {device})" if label == "blender-cycles" else ""
        finally:
            renderer.close()
        print(f"{label:>18}: " + "  ".join(f"{n} objects {t:7.3f} s" for n, t in results[label].items()) + note)
    # the speed-up, with the default settings (drop shadows in the perspective view) and with the
    # `shadows=False` option, each against a fresh process with the same settings
    fresh, paired = time_paired(scenes, size, args.fresh_repeats)
    fresh_flat, paired_flat = time_paired(scenes, size, args.fresh_repeats, shadows=False)
    results["fresh-process"], results["blender-workbench-paired"] = fresh, paired
    results["fresh-process-no-shadows"], results["blender-workbench-no-shadows-paired"] = fresh_flat, paired_flat
    for label, times in (("fresh-process", fresh), ("(paired workbench)", paired),
                         ("fresh, no shadows", fresh_flat), ("(paired, no shadows)", paired_flat)):
        print(f"{label:>18}: " + "  ".join(f"{n} objects {t:7.3f} s" for n, t in times.items()))

    reset_s, step_s = time_env(tasks[10], size, args.repeats)
    results["env-10"] = {"reset": reset_s, "step": step_s}
    print(f"\nMetaSpatial-v0 (Blender Workbench), 10 objects ({tasks[10].id}): reset {reset_s:.3f} s, "
          f"step {step_s:.3f} s")

    print("\nratios (same run):")
    workbench = results["blender-workbench"]
    for n in scenes:
        print(f"  {n} objects: fresh process / persistent Workbench (paired) = x{fresh[n] / paired[n]:.1f} "
              f"(goal >= 10); without shadows x{fresh_flat[n] / paired_flat[n]:.1f}; "
              f"persistent Workbench / raster = x{workbench[n] / results['raster'][n]:.1f}")
        for label in ("blender-eevee", "blender-cycles"):
            if label in results:
                print(f"  {n} objects: {label} / Workbench = x{results[label][n] / workbench[n]:.1f}")
    print(f"\nbudget (DESIGN.md): 10-object Workbench step {step_s:.3f} s = {step_s / STEP_BUDGET_S:.2f} of "
          f"{STEP_BUDGET_S} s; reset {reset_s:.3f} s = {reset_s / RESET_BUDGET_S:.2f} of {RESET_BUDGET_S} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({k: {str(kk): vv for kk, vv in v.items()} for k, v in results.items()}, f, indent=2)


if __name__ == "__main__":
    main()
