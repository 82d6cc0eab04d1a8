"""The Blender worker's lifetime and fault handling, with real Blender processes (no mocks).

- a worker lives as long as the process that started it, not the thread;
- a SIGKILL-ed parent leaves no Blender process, even when the worker is stopped;
- a hung (SIGSTOP-ed) worker is found by its missing heartbeat in seconds and replaced, and the
  step returns the same image with ``info["render_restarted"]``;
- a forked child does not use (or stop) its parent's worker;
- the env process never imports ``bpy``.
"""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from metaspatial_env.env import RoomLayoutEnv
from metaspatial_env.render import make_renderer
from metaspatial_env.render.blender import BlenderRenderer

from .test_blender import SIZE, process_gone, scene_with, wait_gone

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def blender_children(pid: int) -> list[int]:
    """Pids of the Blender workers whose parent is ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid and b"metaspatial_env.render.blender_worker" in cmdline:
            found.append(int(entry))
    return found


def test_a_renderer_started_from_a_thread_that_exits_keeps_its_worker():
    result = {}

    def start():
        r = BlenderRenderer(SIZE, labels=False)
        result["image"] = r.render(scene_with())
        result["renderer"] = r

    thread = threading.Thread(target=start)
    thread.start()
    thread.join()  # the thread that started the worker is gone
    r = result["renderer"]
    try:
        pid = r.worker_pid
        time.sleep(1.0)  # PR_SET_PDEATHSIG fires at once; give a wrongly tied worker time to die
        assert not process_gone(pid)
        image = r.render(scene_with())
        assert not r.last_render_restarted and r.restarts == 0 and r.worker_pid == pid
        assert np.array_equal(image, result["image"])
    finally:
        r.close()
    assert process_gone(pid)


PARENT = textwrap.dedent("""
    import os, signal, sys, threading, time
    from metaspatial_env.render import RenderScene
    from metaspatial_env.render.blender import BlenderRenderer
    box = {}
    def start():  # the worker is started from a thread that exits at once
        r = BlenderRenderer((64, 128))
        r.render(RenderScene((3.0, 3.0, 2.5), ()))
        box["r"] = r
    t = threading.Thread(target=start)
    t.start()
    t.join()
    r = box["r"]
    r.render(RenderScene((3.0, 3.0, 2.5), ()))
    assert not r.last_render_restarted
    print(r.worker_pid, flush=True)
    time.sleep(600)  # until the test SIGKILLs this process
""")


@pytest.mark.slow
@pytest.mark.parametrize("worker_state", ["idle", "stopped"])
def test_sigkill_of_the_parent_leaves_no_blender_process(worker_state):
    """Kernel-level: the worker's parent-death signal follows the process, even for a stopped worker
    (which no watchdog thread or socket EOF could wake)."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, cwd=REPO)
    try:
        line = parent.stdout.readline()
        assert line.strip().isdigit(), parent.stderr.read()
        pid = int(line)
        assert blender_children(parent.pid) == [pid]
        if worker_state == "stopped":
            os.kill(pid, signal.SIGSTOP)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        clock = time.monotonic()
        assert wait_gone(pid, 10), f"worker {pid} outlived its SIGKILL-ed parent"
        assert time.monotonic() - clock < 5
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


@pytest.mark.slow
def test_a_hung_worker_is_replaced_within_seconds_and_the_step_gives_the_same_image():
    env = RoomLayoutEnv(split="test", renderer="blender", image_size=list(SIZE), max_turns=3,
                        terminate_on_success=False)
    try:
        env.reset(seed=0)
        action = env.action_space.sample()
        healthy, _, _, _, info = env.step(action)
        assert info["render_restarted"] is False
        env.reset(seed=0)
        pid = env._renderer.worker_pid
        os.kill(pid, signal.SIGSTOP)  # alive, but never answers nor beats
        clock = time.monotonic()
        obs, _, _, _, info = env.step(action)
        elapsed = time.monotonic() - clock
        assert info["render_restarted"] is True
        assert np.array_equal(obs["image"], healthy["image"])
        # 3 s of silence (hang_timeout), then a fresh worker starts and renders (about 1 s here)
        assert 2.5 < elapsed < 15, elapsed
        assert env._renderer.worker_pid != pid and wait_gone(pid)
        print(f"hung worker detected and replaced, step took {elapsed:.2f} s")
    finally:
        env.close()


def test_hang_detection_is_configurable():
    with BlenderRenderer(SIZE, labels=False, hang_timeout=1.0) as r:
        first = r.render(scene_with())
        pid = r.worker_pid
        os.kill(pid, signal.SIGSTOP)
        clock = time.monotonic()
        image = r.render(scene_with())
        elapsed = time.monotonic() - clock
        assert r.last_render_restarted and np.array_equal(image, first) and elapsed < 12, elapsed
        assert wait_gone(pid)
    with BlenderRenderer(SIZE, labels=False, hang_timeout=None, timeout=2.0) as r:  # heartbeat off
        r.render(scene_with())
        os.kill(r.worker_pid, signal.SIGSTOP)
        clock = time.monotonic()
        r.render(scene_with())
        assert r.last_render_restarted and 2.0 <= time.monotonic() - clock < 12


def test_render_timeout_is_scaled_to_the_job():
    r = BlenderRenderer((512, 1024))
    assert r.render_timeout(0) == pytest.approx(30 + 2 * 0.524288)
    assert r.render_timeout(20, first=True) == pytest.approx(30 + 20 + 2 * 0.524288 + 60)
    cycles = BlenderRenderer((512, 1024), engine="cycles", samples=64)
    assert cycles.render_timeout(10) == pytest.approx(30 + 10 + 20 * 64 * 0.524288)
    assert BlenderRenderer((512, 1024), timeout=7).render_timeout(100, first=True) == 7


@pytest.mark.parametrize("options, match", [({"hang_timeout": 0}, "hang_timeout"), ({"timeout": -1}, "timeout"),
                                            ({"hang_timeout": True}, "hang_timeout")])
def test_bad_timeouts_are_clear_errors(options, match):
    with pytest.raises(ValueError, match=match):
        BlenderRenderer(SIZE, **options)


@pytest.mark.slow
def test_a_forked_child_starts_its_own_worker_and_leaves_the_parents_alone():
    r = BlenderRenderer(SIZE, labels=False)
    try:
        first = r.render(scene_with())
        parent_worker, scratch = r.worker_pid, r._worker.scratch
        read, write = os.pipe()
        child = os.fork()
        if child == 0:  # pragma: no cover - runs in the child
            code = 1
            try:
                os.close(read)
                assert r.worker_pid is None  # the parent's worker is not this process's
                image = r.render(scene_with())
                ok = np.array_equal(image, first) and r.worker_pid not in (None, parent_worker)
                os.write(write, f"{int(ok)} {r.worker_pid}".encode())
                r.close()
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        with os.fdopen(read) as f:
            reply = f.read()
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0 and reply.split()[0] == "1", reply
        assert wait_gone(int(reply.split()[1]))  # the child's own worker ended with the child's close()
        assert not process_gone(parent_worker) and os.path.isdir(scratch)
        image = r.render(scene_with())
        assert not r.last_render_restarted and r.worker_pid == parent_worker and np.array_equal(image, first)
    finally:
        r.close()


def test_the_env_process_never_imports_bpy():
    code = textwrap.dedent("""
        import sys
        import gymnasium as gym
        import metaspatial_env
        env = gym.make("MetaSpatial-v0", image_size=[64, 128])
        assert env.unwrapped._renderer is not None
        print("after_make", "bpy" in sys.modules, flush=True)
        obs, info = env.reset(seed=0)  # renders: the worker imports bpy, this process does not
        assert obs["image"].shape == (64, 128, 3)
        print("after_render", "bpy" in sys.modules, any("scripts" in p and "bpy" in p for p in sys.path))
        env.close()
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert "after_make False" in out.stdout
    assert "after_render False False" in out.stdout


def test_make_renderer_does_not_import_bpy():
    code = ("import sys; from metaspatial_env.render import make_renderer; "
            "r = make_renderer('blender', (64, 128)); print('bpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr
    assert make_renderer("blender", SIZE).worker_pid is None  # nothing started until the first render
