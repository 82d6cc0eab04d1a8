"""What the function term (doors, windows, reach, clearances) costs per step, for rooms of 5 to 80
objects.

Each room (:func:`benchmarks.env_step.room_with`: generated up to 20 objects, tiles beyond, with
their doors and windows) is stepped in the text-only env, once with its reference layout (a valid
answer that comes to rest) and once with a random complete layout (the RL case: it overlaps and
falls). The function phase (``RoomLayoutEnv.timings["function"]``, part of "evaluate") is printed
in milliseconds against the whole step measured in the same run, as a share of it. The grid's cell
size is ``RewardConfig.function_grid`` (0.1 m by default); ``--grid 0.05`` measures the finer one.

    python -m benchmarks.function_term [--repeats 20] [--grid 0.1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

from metaspatial_env.env import RoomLayoutEnv

from .env_step import answer_for, random_answer, room_with

SIZES = (5, 10, 20, 40, 80)


def measure(env: RoomLayoutEnv, task, action: str, repeats: int) -> tuple[float, float]:
    """Median (function ms, step ms) over ``repeats`` reset+step pairs, after one warm-up."""
    function, step = [], []
    for i in range(repeats + 1):
        env.reset(options={"task": task})
        clock = time.perf_counter()
        env.step(action)
        wall = (time.perf_counter() - clock) * 1e3
        if i:
            function.append(env.timings["function"] * 1e3)
            step.append(wall)
    return statistics.median(function), statistics.median(step)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--grid", type=float, default=0.1, help="function_grid cell size (m)")
    args = parser.parse_args(argv)
    env = RoomLayoutEnv(observation="text", terminate_on_success=False, reward={"function_grid": args.grid})
    print(f"# {platform.node()} {platform.processor() or platform.machine()}, load {os.getloadavg()[0]:.2f}, "
          f"grid {args.grid} m, repeats {args.repeats}")
    print("| objects | openings | answer | function (ms) | step (ms) | share of step |")
    print("| ---: | ---: | --- | ---: | ---: | ---: |")
    rows = []
    for n in SIZES:
        task = room_with(n)
        for name, action in (("reference", answer_for(task)), ("random", random_answer(env, task, seed=n))):
            fn, step = measure(env, task, action, args.repeats)
            rows.append({"objects": n, "openings": len(task.openings), "answer": name, "function_ms": fn,
                         "step_ms": step})
            print(f"| {n} | {len(task.openings)} | {name} | {fn:.2f} | {step:.1f} | {fn / step:.1%} |", flush=True)
    env.close()
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
