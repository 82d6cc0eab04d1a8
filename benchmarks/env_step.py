"""Per-phase timings of reset and step, for rooms of 5, 10, 20 and 40 objects.

Each room is stepped with its own reference layout (a valid, complete answer, so every phase
does its full work). Phases come from ``RoomLayoutEnv.timings``: parse, static checks, settle,
evaluate (rules and terms), reward, render. The baseline, measured in the same run, is the
text-only env on the same room (no rendering): ratios are printed against it and against the
DESIGN.md budgets (10 objects with the rasteriser: step <= 30 ms median, reset <= 100 ms).

    python -m benchmarks.env_step [--repeats 30] [--image-size 512 1024]
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import statistics
import time

from metaspatial_env.env import RoomLayoutEnv
from metaspatial_env.tasks import Task
from metaspatial_env.tasks.generator import generate_task

PHASES = ("parse", "static", "settle", "evaluate", "reward", "render", "step")
STEP_BUDGET_MS, RESET_BUDGET_MS = 30.0, 100.0


def room_with(n_objects: int) -> Task:
    """A generated room with exactly ``n_objects`` (two rooms side by side beyond 20)."""
    if n_objects <= 20:
        for seed in range(10_000):
            task = generate_task(seed, room_type="living_room", min_objects=n_objects, max_objects=n_objects)
            if len(task.objects) == n_objects:
                return task
        raise RuntimeError(f"no generated room with {n_objects} objects")
    half = room_with(n_objects // 2)
    data, twin = half.to_dict(), half.to_dict()

    def renamed(oid: str | None) -> str | None:  # sofa_1 -> sofa_101: same category, new id
        if oid is None or oid not in half.object_ids:
            return oid
        return re.sub(r"_(\d+)$", lambda m: f"_{int(m.group(1)) + 100}", oid)

    for obj in twin["objects"]:
        obj["new_object_id"], obj["facing"] = renamed(obj["new_object_id"]), renamed(obj["facing"])
        for rule in obj["placement"]["objects_in_room"]:
            rule["object_id"] = renamed(rule["object_id"])
    shift = half.size[0]
    data["room"].update(id="bench_twin", size={"x": 2 * shift, "y": half.size[1], "z": half.size[2]})
    data["objects"] += twin["objects"]
    for oid, pose in twin["reference_layout"].items():
        data["reference_layout"][renamed(oid)] = pose | {"x": pose["x"] + shift}
    return Task.from_dict(data)


def answer_for(task: Task) -> str:
    return json.dumps([{"new_object_id": oid, **pose} for oid, pose in task.reference_layout.items()])


def measure(env: RoomLayoutEnv, task: Task, repeats: int) -> dict[str, float]:
    """Median milliseconds per phase over ``repeats`` reset+step pairs (after one warm-up)."""
    action = answer_for(task)
    samples: dict[str, list[float]] = {name: [] for name in (*PHASES, "reset")}
    for i in range(repeats + 1):
        env.reset(options={"task": task})
        reset_ms = env.timings["reset"] * 1e3
        clock = time.perf_counter()
        env.step(action)
        wall_ms = (time.perf_counter() - clock) * 1e3
        if i == 0:
            continue  # warm-up: contexts, shaders, caches
        samples["reset"].append(reset_ms)
        for name in PHASES:
            samples[name].append(env.timings.get(name, 0.0) * 1e3)
        samples["step"][-1] = wall_ms
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--image-size", type=int, nargs=2, default=[512, 1024], metavar=("H", "W"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 10, 20, 40])
    args = parser.parse_args()

    print(f"machine: {platform.node()} {platform.machine()}, python {platform.python_version()}")
    print(f"image {args.image_size[0]}x{args.image_size[1]} (two views of "
          f"{args.image_size[0]}x{args.image_size[1] // 2}), {args.repeats} repeats, medians in ms\n")
    raster = RoomLayoutEnv(renderer="raster", image_size=args.image_size, terminate_on_success=False)
    text = RoomLayoutEnv(observation="text", terminate_on_success=False)
    header = f"{'objects':>7} {'env':>6} " + " ".join(f"{p:>8}" for p in PHASES) + f" {'reset':>7} {'steps/s':>8}"
    print(header)
    results = {}
    for n in args.sizes:
        task = room_with(n)
        for name, env in (("text", text), ("raster", raster)):
            r = measure(env, task, args.repeats)
            results[(n, name)] = r
            print(f"{n:>7} {name:>6} " + " ".join(f"{r[p]:8.2f}" for p in PHASES)
                  + f" {r['reset']:7.2f} {1e3 / r['step']:8.1f}")
    raster.close()
    text.close()

    base = results.get((10, "text"))
    if base:
        print("\nratios against the baseline (10-object text-only step, same run):")
        for (n, name), r in results.items():
            print(f"  {n:>2} objects {name:>6}: step x{r['step'] / base['step']:.2f}")
    r10 = results.get((10, "raster"))
    if r10:
        print(f"\n10-object raster step {r10['step']:.1f} ms = {r10['step'] / STEP_BUDGET_MS:.2f} of the "
              f"{STEP_BUDGET_MS:.0f} ms budget; reset {r10['reset']:.1f} ms = "
              f"{r10['reset'] / RESET_BUDGET_MS:.2f} of the {RESET_BUDGET_MS:.0f} ms budget")


if __name__ == "__main__":
    main()
