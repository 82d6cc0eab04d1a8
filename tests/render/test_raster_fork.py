"""The rasteriser and fork: gymnasium's AsyncVectorEnv(context="fork") after the parent rendered.

Mesa's GL does not survive fork(): a child's first draw waited forever, so the vector env hung
and its workers outlived the parent. Now the child raises GLForkError at once, naming the fix.
Each scenario runs in a subprocess with a timeout, so a regression fails instead of hanging.
"""

import os
import subprocess
import sys
import textwrap
import time

import pytest

from .test_blender import wait_gone

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCRIPT = textwrap.dedent("""
    import sys, time
    import gymnasium as gym
    import metaspatial_env

    context, parent_renders = sys.argv[1], sys.argv[2] == "1"
    if parent_renders:
        env = gym.make("MetaSpatial-Fast-v0", image_size=[64, 128])
        env.reset(seed=0)  # the parent has a GL context now

    def make():
        import metaspatial_env  # noqa: F401 - a spawned worker registers the ids itself
        return gym.make("MetaSpatial-Fast-v0", image_size=[64, 128])

    vec = gym.vector.AsyncVectorEnv([make, make], context=context)
    print("workers", *[p.pid for p in vec.processes], flush=True)
    clock = time.monotonic()
    try:
        obs, info = vec.reset(seed=0)
        print("reset ok", obs["image"].shape, obs["image"].std() > 0, flush=True)
    except Exception as error:
        print("error", type(error).__name__, f"{time.monotonic() - clock:.2f}", flush=True)
        print("message", str(error).replace(chr(10), " "), flush=True)
    finally:
        vec.close()
""")


def run(context: str, parent_renders: bool, timeout: float = 120) -> tuple[str, list[int]]:
    out = subprocess.run([sys.executable, "-c", SCRIPT, context, str(int(parent_renders))], capture_output=True,
                         text=True, timeout=timeout, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    workers = [int(p) for p in out.stdout.split("workers", 1)[1].split("\n", 1)[0].split()]
    return out.stdout, workers


def test_async_vector_env_fork_after_a_parent_render_fails_at_once_with_the_fix():
    clock = time.monotonic()
    stdout, workers = run("fork", parent_renders=True, timeout=90)
    assert "error GLForkError" in stdout, stdout
    seconds = float(stdout.split("error GLForkError", 1)[1].split()[0])
    assert seconds < 10, stdout  # not a hang
    message = stdout.split("message", 1)[1]
    assert "fork" in message and 'context="spawn"' in message and "forkserver" in message
    assert all(wait_gone(pid, 10) for pid in workers), "vector env workers outlived the parent"
    print(f"fork after a parent render: GLForkError after {seconds:.2f} s, whole run {time.monotonic() - clock:.1f} s")


def test_async_vector_env_fork_works_when_the_parent_has_not_rendered():
    stdout, workers = run("fork", parent_renders=False, timeout=90)
    assert "reset ok (2, 64, 128, 3) True" in stdout, stdout
    assert all(wait_gone(pid, 10) for pid in workers)


@pytest.mark.slow
def test_async_vector_env_spawn_works_after_a_parent_render():
    stdout, workers = run("spawn", parent_renders=True, timeout=170)
    assert "reset ok (2, 64, 128, 3) True" in stdout, stdout
    assert all(wait_gone(pid, 10) for pid in workers)


def test_a_forked_child_abandons_the_inherited_context_and_the_parent_keeps_rendering():
    code = textwrap.dedent("""
        import os
        import numpy as np
        from metaspatial_env.render import RenderScene
        from metaspatial_env.render.raster import GLForkError, RasterRenderer
        scene = RenderScene((3.0, 3.0, 2.5), ())
        r = RasterRenderer((64, 128))
        first = r.render(scene)
        pid = os.fork()
        if pid == 0:
            code = 3
            try:
                try:
                    r.render(scene)
                except GLForkError:
                    code = 0
                r.close()  # must not touch (and hang on) the parent's context
                del r
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        print("child", os.waitstatus_to_exitcode(status), "parent", np.array_equal(r.render(scene), first))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert out.stdout.strip() == "child 0 parent True", out.stdout + out.stderr
