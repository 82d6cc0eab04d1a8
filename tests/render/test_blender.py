"""The Blender renderer with the real bpy worker process: incremental updates, restarts, cleanup."""

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from metaspatial_env.env import RoomLayoutEnv
from metaspatial_env.geometry import Box
from metaspatial_env.render import RenderObject, RenderScene, make_renderer
from metaspatial_env.render.blender import BlenderRenderer, BlenderRenderError

SIZE = (160, 320)  # two 160 x 160 views: small, so each render takes a few tens of ms
ROOM = (4.0, 3.0, 2.6)


def scene_with(**moves):
    objects = {
        "bed_1": RenderObject("bed_1", "bed", Box((1.6, 2.05, 1.0), (1.2, 1.5, 0.5), 90.0), "modern", "walnut"),
        "armchair_1": RenderObject("armchair_1", "armchair", Box((0.8, 0.8, 0.9), (3.3, 0.6, 0.45), 0.0),
                                   "modern", "navy velvet"),
        "floor_lamp_1": RenderObject("floor_lamp_1", "floor_lamp", Box((0.35, 0.35, 1.6), (3.5, 2.5, 0.8), 0.0),
                                     "modern", "brass"),
    }
    for oid, center in moves.items():
        o = objects[oid]
        objects[oid] = RenderObject(o.id, o.category, Box(o.box.size, center, o.box.z_angle), o.style, o.material)
    return RenderScene(ROOM, tuple(objects.values()), "bedroom")


def process_gone(pid: int) -> bool:
    """True when ``pid`` no longer runs (absent, or a zombie waiting for a reaper)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return any(line.startswith("State:") and "Z" in line.split()[1] for line in f)
    except FileNotFoundError:
        return True


def wait_gone(pid: int, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process_gone(pid):
            return True
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def renderer():
    # no anti-aliasing filter and no shadows: FXAA blurs along whole edges and shadows fall far, which
    # would blur the "changes only near the moved object" check
    r = BlenderRenderer(SIZE, labels=False, overlay=False, shadows=False, aa="OFF")
    yield r
    r.close()


def box_pixels(renderer, box: Box, pad: int) -> np.ndarray:
    """Mask of the pixels around the projection of ``box`` in both views."""
    views = renderer.views(RenderScene(ROOM, ()))
    lo, hi = box.z_range
    corners = np.array([[x, y, z] for x, y in box.footprint() for z in (lo, hi)])
    mask = np.zeros(SIZE, dtype=bool)
    for view in ("perspective", "plan"):
        px = views.to_pixels(corners, view)
        x0, y0 = np.floor(px.min(axis=0)).astype(int) - pad
        x1, y1 = np.ceil(px.max(axis=0)).astype(int) + pad
        mask[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = True
    return mask


def test_moving_an_object_changes_pixels_there_and_nowhere_far_from_it(renderer):
    before = renderer.render(scene_with())
    assert before.shape == (*SIZE, 3) and before.dtype == np.uint8
    after = renderer.render(scene_with(armchair_1=(2.5, 0.6, 0.45)))
    assert renderer.last_stats["counts"] == {"built": 0, "moved": 1, "removed": 0, "room": 0}
    changed = np.any(before != after, axis=2)
    old = scene_with().objects[1].box
    new = scene_with(armchair_1=(2.5, 0.6, 0.45)).objects[1].box
    near = box_pixels(renderer, old, 4) | box_pixels(renderer, new, 4)
    assert changed.sum() > 100
    assert not np.any(changed & ~near), f"{int((changed & ~near).sum())} pixels changed away from the armchair"
    # moving it back gives the first image again: incremental updates leave nothing behind
    assert np.array_equal(renderer.render(scene_with()), before)


def test_objects_are_drawn_where_the_labels_say(renderer):
    """The Blender cameras are the rasteriser's: an object's pixels sit around its projected centre."""
    lamp = RenderObject("cube_1", "unknown_gadget", Box((0.6, 0.6, 0.6), (3.0, 0.8, 0.3), 0.0), "", "red")
    empty = renderer.render(RenderScene(ROOM, ()))
    image = renderer.render(RenderScene(ROOM, (lamp,)))
    assert renderer.last_stats["counts"]["built"] == 1
    changed = np.any(image != empty, axis=2)
    views = renderer.views(RenderScene(ROOM, (lamp,)))
    for view, (x0, x1) in (("perspective", (0, SIZE[1] // 2)), ("plan", (SIZE[1] // 2, SIZE[1]))):
        ys, xs = np.nonzero(changed[:, x0:x1])
        expected = views.to_pixels([lamp.box.center], view)[0]
        assert abs(xs.mean() + x0 - expected[0]) < 6 and abs(ys.mean() - expected[1]) < 6, view


def test_same_scene_gives_the_same_image_in_another_process(renderer):
    first = renderer.render(scene_with())
    with BlenderRenderer(SIZE, labels=False, overlay=False, shadows=False, aa="OFF") as other:
        second = other.render(scene_with())
        assert other.worker_pid != renderer.worker_pid
    assert np.array_equal(first, second)


def test_killed_worker_is_restarted_and_the_step_succeeds(caplog):
    env = RoomLayoutEnv(split="test", renderer="blender", image_size=list(SIZE), max_turns=3,
                        terminate_on_success=False)
    obs, info = env.reset(seed=0)
    assert info["render_restarted"] is False
    pid = env._renderer.worker_pid
    scratch = env._renderer._worker.scratch
    assert os.path.isdir(scratch)
    os.kill(pid, signal.SIGKILL)
    with caplog.at_level(logging.WARNING, logger="metaspatial_env.render.blender"):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert info["render_restarted"] is True
    assert obs["image"].shape == (*SIZE, 3) and obs["image"].std() > 0
    assert any("died from signal SIGKILL" in r.getMessage() and "restarting" in r.getMessage() for r in caplog.records)
    assert env._renderer.worker_pid != pid and wait_gone(pid)
    assert not os.path.exists(scratch)  # the killed worker's image directory went with it
    _, _, _, _, info = env.step(env.action_space.sample())
    assert info["render_restarted"] is False
    new_pid, new_scratch = env._renderer.worker_pid, env._renderer._worker.scratch
    env.close()
    assert process_gone(new_pid) and not os.path.exists(new_scratch)


def test_hung_worker_times_out_and_is_replaced():
    r = BlenderRenderer(SIZE, labels=False, timeout=5.0)
    try:
        r.render(scene_with())
        pid = r.worker_pid
        os.kill(pid, signal.SIGSTOP)  # a worker that never answers
        image = r.render(scene_with())
        assert r.last_render_restarted and r.restarts == 1 and image.shape == (*SIZE, 3)
        assert r.worker_pid != pid and wait_gone(pid)
    finally:
        r.close()


def test_a_worker_that_keeps_dying_is_a_clear_error(monkeypatch):
    r = BlenderRenderer(SIZE, labels=False, timeout=5.0)
    r.render(scene_with())
    from metaspatial_env.render import blender

    start = blender.Worker.__init__

    def start_and_die(self, *args, **kwargs):
        start(self, *args, **kwargs)
        self.proc.kill()
        self.proc.wait()

    os.kill(r.worker_pid, signal.SIGKILL)
    monkeypatch.setattr(blender.Worker, "__init__", start_and_die)
    with pytest.raises(BlenderRenderError, match="failed twice"):
        r.render(scene_with())
    assert r.worker_pid is None
    r.close()


def test_close_and_garbage_collection_leave_no_process():
    env = RoomLayoutEnv(split="test", renderer="blender", image_size=list(SIZE))
    env.reset(seed=1)
    pid = env._renderer.worker_pid
    env.close()
    assert process_gone(pid)
    env.close()  # twice is fine

    r = make_renderer("blender", SIZE)
    r.render(scene_with())
    pid = r.worker_pid
    del r
    import gc

    gc.collect()
    assert wait_gone(pid, 10)


def test_worker_exits_when_its_parent_dies():
    code = textwrap.dedent("""
        import os, sys
        from metaspatial_env.render.blender import BlenderRenderer
        from metaspatial_env.render import RenderScene
        r = BlenderRenderer((64, 128))
        r.render(RenderScene((3.0, 3.0, 2.5), ()))
        print(r._worker.scratch, r.worker_pid, flush=True)
        os._exit(0)  # no close(), no finalizers: the worker must notice on its own
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, check=True)
    scratch, pid = out.stdout.split()[-2:]
    assert wait_gone(int(pid), 15)
    # Nobody cleaned up the dead parent's scratch directory; the next one made removes it.
    from metaspatial_env.render.blender_worker import scratch_dir

    assert os.path.isdir(scratch)
    os.rmdir(scratch_dir())
    assert not os.path.exists(scratch)


@pytest.mark.parametrize(
    "options, match",
    [({"engine": "povray"}, "engine"), ({"samples": 0}, "samples"), ({"aa": "MSAA"}, "aa"),
     ({"device": "tpu"}, "device"), ({"timeout": 0}, "timeout")],
)
def test_bad_options_are_clear_errors(options, match):
    with pytest.raises(ValueError, match=match):
        BlenderRenderer(SIZE, **options)


@pytest.mark.parametrize(
    "render_options, match",
    [({"colour": 1}, "bad render_options"), ({"engine": "povray"}, "engine"), ([1], "dict"),
     ({"engine": object()}, "JSON")],
)
def test_env_rejects_bad_render_options(render_options, match):
    with pytest.raises(ValueError, match=match):
        RoomLayoutEnv(renderer="blender", render_options=render_options)


def test_cycles_is_deterministic():
    options = dict(engine="cycles", samples=4, denoise=False, labels=False)
    with BlenderRenderer((48, 96), **options) as a, BlenderRenderer((48, 96), **options) as b:
        first = a.render(scene_with())
        assert a.worker_info["engine"] == "CYCLES"
        assert np.array_equal(first, b.render(scene_with()))
        assert first.std() > 0


def test_cycles_shows_the_material_colours_and_is_well_exposed():
    """A red and a blue object come out red and blue where they are, in a room that is neither dark nor blown out.

    Catches colours that reach Workbench (which draws the colour attribute itself) but not the
    node materials of Cycles and EEVEE, and lights too weak or too strong for them.
    """
    size = (96, 192)
    red = RenderObject("box_1", "unknown_gadget", Box((0.8, 0.8, 0.5), (1.2, 1.5, 0.25), 0.0), "", "red")
    blue = RenderObject("box_2", "unknown_gadget", Box((0.8, 0.8, 0.5), (2.8, 1.5, 0.25), 0.0), "", "blue")
    scene = RenderScene(ROOM, (red, blue))
    with BlenderRenderer(size, engine="cycles", samples=4, denoise=False, device="cpu", labels=False,
                         overlay=False) as r:
        image = r.render(scene).astype(float)
        views = r.views(scene)
    for obj, channel in ((red, 0), (blue, 2)):
        # the object's top face in the plan (an orthographic view from above), 2 px inside its edges
        top = np.array([[x, y, obj.box.z_range[1]] for x, y in obj.box.footprint()])
        px = views.to_pixels(top, "plan")
        (x0, y0), (x1, y1) = px.min(axis=0), px.max(axis=0)
        plan = image[int(y0) + 2:int(y1) - 1, int(x0) + 2:int(x1) - 1].reshape(-1, 3).mean(axis=0)
        # and around its top's centre in the perspective view
        cx, cy = views.to_pixels([(*obj.box.center[:2], obj.box.z_range[1])], "perspective")[0].round().astype(int)
        persp = image[cy - 1:cy + 2, cx - 2:cx + 3].reshape(-1, 3).mean(axis=0)
        for where, mean in (("plan", plan), ("perspective", persp)):
            others = [mean[c] for c in range(3) if c != channel]
            assert mean[channel] > 1.4 * max(others) and mean[channel] > 80, (obj.id, where, mean.round(1))
    # the floor north of the objects in the plan: lit like the rasteriser's floor, not dark, not white
    fx, fy = views.to_pixels([(2.0, 2.6, 0.0)], "plan")[0].round().astype(int)
    floor = image[fy - 2:fy + 3, fx - 2:fx + 3].reshape(-1, 3).mean(axis=0)
    assert 130 < floor.mean() < 245, floor.round(1)
    assert image.mean() > 90, image.reshape(-1, 3).mean(axis=0).round(1)
    # the walls facing the sun are bright but not clipped to white (lights twice as strong clip ~9 %)
    assert (image.min(axis=2) >= 250).mean() < 0.02


@pytest.mark.slow
def test_eevee_renders():
    with BlenderRenderer((48, 96), engine="eevee", samples=1, labels=False) as r:
        image = r.render(scene_with())
        assert r.worker_info["engine"].startswith("BLENDER_EEVEE")
        assert image.shape == (48, 96, 3) and image.std() > 0


def _exr(channels, w, h, planes, compression=0):
    """A minimal scanline OpenEXR file: ``planes[name]`` is an (h, w) float16 array per channel."""
    import struct

    def attr(name, kind, value):
        return name.encode() + b"\0" + kind.encode() + b"\0" + struct.pack("<i", len(value)) + value

    chlist = b"".join(c.encode() + b"\0" + struct.pack("<i", 1) + bytes(12) for c in channels) + b"\0"
    header = (b"\x76\x2f\x31\x01" + bytes([2, 0, 0, 0]) + attr("channels", "chlist", chlist)
              + attr("compression", "compression", bytes([compression]))
              + attr("dataWindow", "box2i", struct.pack("<4i", 0, 0, w - 1, h - 1)) + b"\0")
    rows = [struct.pack("<ii", y, 2 * w * len(channels)) + b"".join(planes[c][y].tobytes() for c in channels)
            for y in range(h)]
    offsets, at = [], len(header) + 8 * h
    for row in rows:
        offsets.append(at)
        at += len(row)
    return header + struct.pack(f"<{h}Q", *offsets) + b"".join(rows)


def test_worker_reads_blenders_half_float_exr_and_applies_the_srgb_curve():
    from metaspatial_env.render.blender_worker import read_exr_half, srgb_table

    w, h = 3, 2
    rng = np.random.default_rng(0)
    planes = {c: rng.uniform(0, 1, (h, w)).astype(np.float16) for c in "ABGR"}  # stored alphabetically
    bits = read_exr_half(_exr("ABGR", w, h, planes))
    assert bits.shape == (h, w, 3) and bits.dtype == np.uint16
    for i, c in enumerate("RGB"):
        np.testing.assert_array_equal(bits[..., i].view(np.float16), planes[c])
    table = srgb_table()
    linear = np.array([-1.0, 0.0, 0.002, 0.05, 0.2, 1.0, 7.0, np.nan], dtype=np.float16)
    assert table[linear.view(np.uint16)].tolist() == [0, 0, 7, 63, 124, 255, 255, 0]
    with pytest.raises(ValueError, match="compressed"):
        read_exr_half(_exr("BGR", w, h, planes, compression=3))
    with pytest.raises(ValueError, match="truncated"):
        read_exr_half(_exr("BGR", w, h, planes)[:-4])
    with pytest.raises(ValueError, match="not an OpenEXR"):
        read_exr_half(b"BM" + bytes(60))
