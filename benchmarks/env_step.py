"""Per-phase timings of reset and step, for rooms of 5, 10, 20, 40 and 80 objects.

Each room is stepped with its own reference layout (a valid, complete answer that comes to rest,
so every phase does its full work) and with a random complete layout from the action space (the
normal RL case: it overlaps and falls, so the settle runs to its step limit). Rooms up to 20
objects are generated; larger ones are rows of 20-object tiles whose interior walls carry
nothing (see :func:`room_with`), so every mount is on a real wall and the reference rests; they
keep the tiles' doors and windows in the long walls. Phases come from ``RoomLayoutEnv.timings``: parse, static checks, settle,
evaluate (rules and terms), reward, render. The baseline, measured in the same run, is the
text-only env on the same room (no rendering): ratios are printed against it and against the
DESIGN.md budgets (10 objects with the rasteriser: step <= 30 ms median, reset <= 100 ms).

    python -m benchmarks.env_step [--repeats 30] [--image-size 512 1024]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

from metaspatial_env.env import RoomLayoutEnv
from metaspatial_env.tasks import Task
from metaspatial_env.tasks.generator import generate_task

PHASES = ("parse", "static", "settle", "evaluate", "reward", "render", "step")
STEP_BUDGET_MS, RESET_BUDGET_MS = 30.0, 100.0


def room_with(n_objects: int) -> Task:
    """A room with exactly ``n_objects``: a generated one up to 20, else a row of tiles.

    Beyond 20, copies of the 20-object living room are laid side by side along x in one room
    ``k`` tiles wide.
    A wall between two tiles is not a wall of the big room, so every object placed against,
    in a corner of or mounted on such an interior wall is left out, with whatever stands on or
    under it, and rules naming a left-out object are dropped: every mount stays on a real wall,
    and the reference layout rests as it does in each tile. Tiles are added until ``n_objects``
    remain, then the last tile is trimmed of objects nothing depends on.
    """
    if n_objects <= 20:
        for seed in range(10_000):
            task = generate_task(seed, room_type="living_room", min_objects=n_objects, max_objects=n_objects)
            if len(task.objects) == n_objects:
                return task
        raise RuntimeError(f"no generated room with {n_objects} objects")
    base = room_with(20)
    tiles, kept = [], 0
    while kept < n_objects:
        tiles.append(base)
        kept = sum(len(_kept_objects(t, i, len(tiles))) for i, t in enumerate(tiles))
    return _tiled(tiles, n_objects)


INTERIOR = {"west_wall", "east_wall"}


def _kept_objects(task: Task, index: int, count: int) -> list[str]:
    """Ids of tile ``index`` of ``count`` that stay: none on a wall that is interior in the row."""
    interior = set()
    if index > 0:
        interior.add("west_wall")
    if index < count - 1:
        interior.add("east_wall")
    dropped = {o.id for o in task.objects if any(r.element in interior for r in o.layout_rules)}
    changed = True
    while changed:  # what stands on, under or is mounted above a dropped object goes with it
        changed = False
        for o in task.objects:
            if o.id not in dropped and any(r.target in dropped and r.preposition in ("on", "under")
                                           for r in o.object_rules):
                dropped.add(o.id)
                changed = True
    return [o.id for o in task.objects if o.id not in dropped]


def _tiled(tiles: list[Task], n_objects: int) -> Task:
    width, depth, height = tiles[0].size  # copies of one room
    data = {"room": {"id": f"bench_tiled_{n_objects}", "room_type": "living_room",
                     "size": {"x": round(width * len(tiles), 3), "y": depth, "z": height},
                     "user_preference": "A long living room."},
            "objects": [], "reference_layout": {}}
    for index, tile in enumerate(tiles):
        keep = _kept_objects(tile, index, len(tiles))
        if index == len(tiles) - 1:  # trim: drop, last first, objects no kept object depends on
            others = sum(len(_kept_objects(t, i, len(tiles))) for i, t in enumerate(tiles[:-1]))
            while others + len(keep) > n_objects:
                needed = {r.target for o in tile.objects if o.id in keep for r in o.object_rules}
                keep.remove(next(oid for oid in reversed(keep) if oid not in needed))
        shift = index * width
        walls = {"north_wall", "south_wall"}
        for record in tile.to_dict()["objects"]:
            oid = record["new_object_id"]
            if oid not in keep:
                continue
            renamed = f"{oid}_t{index}"
            record["new_object_id"] = renamed
            placement = record["placement"]
            placement["objects_in_room"] = [dict(r, object_id=f"{r['object_id']}_t{index}")
                                            for r in placement["objects_in_room"] if r["object_id"] in keep]
            if record["facing"] is not None and record["facing"] not in walls | INTERIOR:
                record["facing"] = f"{record['facing']}_t{index}" if record["facing"] in keep else None
            elif record["facing"] in INTERIOR:
                record["facing"] = None
            data["objects"].append(record)
            data["reference_layout"][renamed] = dict(tile.reference_layout[oid], x=tile.reference_layout[oid]["x"] + shift)
        # the tile's doors and windows in the long walls come along, so the function term has its
        # full work (those in the interior walls are left out, like the objects on them)
        data["room"].setdefault("openings", []).extend(
            dict(o.to_dict(), id=f"{o.id}_t{index}", offset=round(o.offset + shift, 4))
            for o in tile.openings if o.wall in walls)
    return Task.from_dict(data)


def answer_for(task: Task) -> str:
    return json.dumps([{"new_object_id": oid, **pose} for oid, pose in task.reference_layout.items()])


def random_answer(env: RoomLayoutEnv, task: Task, seed: int) -> str:
    """A random complete layout from the action space (the normal RL case: it never comes to rest)."""
    env.reset(seed=seed, options={"task": task})
    env.action_space.seed(seed)
    return env.action_space.sample()


def measure(env: RoomLayoutEnv, task: Task, repeats: int, action: str | None = None) -> dict[str, float]:
    """Median milliseconds per phase over ``repeats`` reset+step pairs (after one warm-up)."""
    action = answer_for(task) if action is None else action
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
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 10, 20, 40, 80])
    parser.add_argument("--layouts", nargs="+", default=["resting", "random"], choices=["resting", "random"],
                        help="the reference layout (comes to rest) and a random one (does not)")
    args = parser.parse_args()

    print(f"machine: {platform.node()} {platform.machine()}, python {platform.python_version()}")
    print(f"image {args.image_size[0]}x{args.image_size[1]} (two views of "
          f"{args.image_size[0]}x{args.image_size[1] // 2}), {args.repeats} repeats, medians in ms\n")
    raster = RoomLayoutEnv(renderer="raster", image_size=args.image_size, terminate_on_success=False)
    text = RoomLayoutEnv(observation="text", terminate_on_success=False)
    header = (f"{'objects':>7} {'layout':>7} {'env':>6} " + " ".join(f"{p:>8}" for p in PHASES)
              + f" {'reset':>7} {'steps/s':>8}")
    print(header)
    results = {}
    for n in args.sizes:
        task = room_with(n)
        for layout in args.layouts:
            action = None if layout == "resting" else random_answer(text, task, seed=n)
            for name, env in (("text", text), ("raster", raster)):
                r = measure(env, task, args.repeats, action)
                results[(n, layout, name)] = r
                print(f"{n:>7} {layout:>7} {name:>6} " + " ".join(f"{r[p]:8.2f}" for p in PHASES)
                      + f" {r['reset']:7.2f} {1e3 / r['step']:8.1f}", flush=True)
    raster.close()
    text.close()

    base = results.get((10, "resting", "text"))
    if base:
        print("\nratios against the baseline (10-object resting text-only step, same run):")
        for (n, layout, name), r in results.items():
            print(f"  {n:>2} objects {layout:>7} {name:>6}: step x{r['step'] / base['step']:.2f}")
    r10 = results.get((10, "resting", "raster"))
    if r10:
        print(f"\n10-object raster step {r10['step']:.1f} ms = {r10['step'] / STEP_BUDGET_MS:.2f} of the "
              f"{STEP_BUDGET_MS:.0f} ms budget; reset {r10['reset']:.1f} ms = "
              f"{r10['reset'] / RESET_BUDGET_MS:.2f} of the {RESET_BUDGET_MS:.0f} ms budget")


if __name__ == "__main__":
    main()
