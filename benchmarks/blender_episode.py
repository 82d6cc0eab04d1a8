"""Blender worker CPU per 3-turn episode, with the process-wide empty-room cache and without it.

RL plays ``group_size`` episodes of each room, so the same room is reset again and again. Each
mode plays ``--episodes`` 3-turn episodes of ``--rooms`` rooms of the ``test`` split (each room's
episodes in a row, as a GRPO group) in one ``MetaSpatial-v0`` env, answering the reference
layout with noise, and reads the Blender worker's own CPU time (``utime + stime`` from
``/proc/PID/stat``, so neither the env process nor wall-clock noise counts). ``off`` sets the
cache size to 0, which is what every reset cost before: the empty room rendered each time.
The two modes alternate, paired in one run.

    python -m benchmarks.blender_episode [--rooms 3] [--episodes 4] [--image-size 512 1024]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np

TURNS = 3


def worker_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) the process has used, from ``/proc/PID/stat``."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def play(env, task, seed: int) -> None:
    """One 3-turn episode: the reference layout moved by noise each turn."""
    rng = np.random.default_rng(seed)
    env.reset(seed=seed, options={"task_id": task.id})
    for _ in range(TURNS):
        answer = [{"new_object_id": oid, **pose, "x": pose["x"] + float(rng.normal(0, 0.2)),
                   "y": pose["y"] + float(rng.normal(0, 0.2))} for oid, pose in task.reference_layout.items()]
        env.step(json.dumps(answer))


def run(mode: str, rooms, episodes: int, image_size) -> dict[str, float]:
    import gymnasium as gym

    from metaspatial_env import env as env_module

    env_module.EMPTY_ROOM_CACHE_SIZE = 256 if mode == "on" else 0
    env_module._EMPTY_ROOMS.clear()
    env = gym.make("MetaSpatial-v0", split="test", max_turns=TURNS, terminate_on_success=False,
                   image_size=image_size)
    play(env, rooms[0], seed=0)  # starts the worker; not counted
    renderer = env.unwrapped._renderer
    pid = renderer.worker_pid
    cpu, wall = worker_cpu_seconds(pid), time.perf_counter()
    for r, task in enumerate(rooms):
        for k in range(episodes):
            play(env, task, seed=1000 * r + k + 1)
    assert renderer.worker_pid == pid, "the worker restarted during the measurement"
    result = {"worker_cpu_s_per_episode": (worker_cpu_seconds(pid) - cpu) / (len(rooms) * episodes),
              "wall_s_per_episode": (time.perf_counter() - wall) / (len(rooms) * episodes)}
    env.close()
    return result


def main(argv: list[str] | None = None) -> int:
    from metaspatial_env.tasks.splits import load_split

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rooms", type=int, default=3)
    parser.add_argument("--episodes", type=int, default=4, help="episodes per room, in a row (a GRPO group)")
    parser.add_argument("--image-size", type=int, nargs=2, default=[512, 1024])
    parser.add_argument("--pairs", type=int, default=2, help="on/off runs, alternating")
    args = parser.parse_args(argv)
    rooms = list(load_split("test")[: args.rooms])
    results: dict[str, list[dict[str, float]]] = {"off": [], "on": []}
    for _ in range(args.pairs):
        for mode in ("off", "on"):
            results[mode].append(run(mode, rooms, args.episodes, tuple(args.image_size)))
            print(mode, results[mode][-1], flush=True)
    summary = {mode: {k: statistics.median(r[k] for r in runs) for k in runs[0]} for mode, runs in results.items()}
    ratio = summary["on"]["worker_cpu_s_per_episode"] / summary["off"]["worker_cpu_s_per_episode"]
    print(json.dumps(summary, indent=1))
    print(f"worker CPU per {TURNS}-turn episode, cache on / off: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
