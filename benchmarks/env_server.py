"""Env-server throughput: steps/s through ``metaspatial serve-env`` with 1, 2 and 4 concurrent
sessions, against the in-process env with as many envs, in the same run.

For each env (``raster``: ``MetaSpatial-Fast-v0``; ``blender``: ``MetaSpatial-v0``, Workbench) and
each session count k, k threads of this process each play their own env: in-process (``gymnasium
.make``) or through a :class:`~metaspatial_env.env_client.RemoteEnv` session of a server started
as a subprocess on loopback (``python -m metaspatial_env.cli serve-env``, what a trainer in
another virtualenv talks to). Every session plays 3-turn episodes of random complete layouts
(a :class:`~metaspatial_env.spaces.LayoutActionSpace` seeded per session, so both sides step the
same answers); one warm-up episode per session is not timed (Blender worker start, GL context).
Throughput is all sessions' steps over the wall time from the common start to the last finish,
resets included. The server column pays the protocol: JSON over a WebSocket, the render encoded
(JPEG by default) and decoded again, and the server's own process beside the client's.

    python -m benchmarks.env_server [--steps 60] [--blender-steps 24] [--sessions 1 2 4]
                                    [--image-size 256 512] [--envs raster blender]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import gymnasium as gym

import metaspatial_env  # noqa: F401 -- registers the ids
from metaspatial_env.schema import Task
from metaspatial_env.spaces import LayoutActionSpace

ENVS = {"raster": "MetaSpatial-Fast-v0", "blender": "MetaSpatial-v0"}
#: Seconds a server may take to answer /health (openenv's import alone takes seconds here).
SERVER_START_S = 180.0


def play(make: Callable[[], Any], seed: int, steps: int, start: threading.Barrier) -> tuple[float, float, int]:
    """One session: a warm-up episode, then ``steps`` timed steps; (start, end, steps) in perf_counter s."""
    env = make()
    try:
        space = LayoutActionSpace(seed=seed)
        episode = [seed * 1000]

        def reset() -> None:
            _, info = env.reset(seed=episode[0])
            episode[0] += 1
            space.task = Task.from_dict(info["task"])

        reset()
        done = False
        while not done:  # warm-up episode
            *_, terminated, truncated, _ = env.step(space.sample())
            done = terminated or truncated
        reset()
        start.wait()
        began = time.perf_counter()
        for _ in range(steps):
            *_, terminated, truncated, _ = env.step(space.sample())
            if terminated or truncated:
                reset()
        return began, time.perf_counter(), steps
    finally:
        env.close()


def throughput(make: Callable[[], Any], sessions: int, steps: int) -> float:
    """Steps per second of ``sessions`` concurrent sessions made by ``make``."""
    start = threading.Barrier(sessions)
    results: list[Any] = [None] * sessions

    def run(i: int) -> None:
        try:
            results[i] = play(make, seed=i + 1, steps=steps, start=start)
        except BaseException as error:  # noqa: BLE001 -- re-raised below, in the main thread
            results[i] = error
            start.abort()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        if isinstance(result, BaseException):
            raise result
    began = min(r[0] for r in results)
    ended = max(r[1] for r in results)
    return sum(r[2] for r in results) / (ended - began)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``metaspatial serve-env`` as a subprocess on a free loopback port, until ``close``."""

    def __init__(self, env_id: str, env_kwargs: dict[str, Any], max_sessions: int, image_encoding: str):
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = tempfile.TemporaryFile(mode="w+")
        command = [sys.executable, "-m", "metaspatial_env.cli", "serve-env", "--env-id", env_id,
                   "--env-kwargs", json.dumps(env_kwargs), "--max-sessions", str(max_sessions),
                   "--image-encoding", image_encoding, "--port", self.url.rpartition(":")[2]]
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + SERVER_START_S
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=5):
                    return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.close()
                    self.log.seek(0)
                    raise RuntimeError(f"the env server did not start:\n{self.log.read()[-2000:]}") from None
                time.sleep(0.2)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="timed steps per session, rasteriser")
    parser.add_argument("--blender-steps", type=int, default=24, help="timed steps per session, Blender")
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--image-size", type=int, nargs=2, default=[256, 512], metavar=("H", "W"))
    parser.add_argument("--envs", nargs="+", default=list(ENVS), choices=list(ENVS))
    parser.add_argument("--image-encoding", choices=["jpeg", "png"], default="jpeg")
    args = parser.parse_args()

    from metaspatial_env.env_client import RemoteEnv

    env_kwargs = {"image_size": list(args.image_size), "terminate_on_success": False}
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, python "
          f"{platform.python_version()}; load average at start {os.getloadavg()[0]:.2f}")
    print(f"image {args.image_size[0]}x{args.image_size[1]} ({args.image_encoding} over the wire), 3-turn "
          f"episodes of random layouts, steps/s of all sessions together (resets included)\n")
    print(f"{'env':>8} {'sessions':>8} {'in-process':>11} {'server':>8} {'server/in-process':>18}")
    rows = []
    for name in args.envs:
        env_id = ENVS[name]
        steps = args.steps if name == "raster" else args.blender_steps
        server = Server(env_id, env_kwargs, max(args.sessions), args.image_encoding)
        try:
            for k in args.sessions:
                local = throughput(lambda env_id=env_id: gym.make(env_id, **env_kwargs), k, steps)
                remote = throughput(lambda url=server.url: RemoteEnv(url, timeout=600), k, steps)
                rows.append((name, k, local, remote))
                print(f"{name:>8} {k:>8} {local:>11.2f} {remote:>8.2f} {remote / local:>17.2f}x", flush=True)
        finally:
            server.close()
    print(f"\nload average at end {os.getloadavg()[0]:.2f}")
    for name in args.envs:
        by_k = {k: (local, remote) for n, k, local, remote in rows if n == name}
        if 1 in by_k and len(by_k) > 1:
            scaling = ", ".join(f"{k} sessions x{remote / by_k[1][1]:.2f}" for k, (_, remote) in by_k.items() if k != 1)
            print(f"{name}: server throughput against 1 session: {scaling}")


if __name__ == "__main__":
    main()
