"""The raster renderer, for real (moderngl on EGL / Mesa llvmpipe)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from metaspatial_env.geometry import Box
from metaspatial_env.render import RenderObject, RenderScene, make_renderer, renderer_names
from metaspatial_env.render.labels import Label, LabelPainter
from metaspatial_env.render.palette import PALETTE, category_color, category_color_u8, category_of
from metaspatial_env.render.raster import RasterRenderer

SIZE = (256, 512)


def obj(oid, size, center, z_angle=0.0, category=None):
    return RenderObject(oid, category or category_of(oid), Box(tuple(size), tuple(center), z_angle))


def scene(room=(4.0, 4.0, 2.5), *objects):
    return RenderScene(tuple(room), tuple(objects))


@pytest.fixture(scope="module")
def plain():
    """A renderer without text overlays, so pixel checks see only geometry."""
    r = RasterRenderer(SIZE, labels=False, overlay=False)
    yield r
    r.close()


def plan_half(img):
    return img[:, img.shape[1] // 2:]


def changed_mask(a, b):
    return np.any(a.astype(int) != b.astype(int), axis=-1)


def bedroom():
    X, Y, Z = 4.0, 5.0, 2.8
    return RenderScene((X, Y, Z), (
        obj("bed_1", (1.6, 2.0, 0.5), (2.0, Y - 1.0, 0.25), 180),
        obj("nightstand_1", (0.5, 0.4, 0.55), (0.85, Y - 0.2, 0.275), 180),
        obj("nightstand_2", (0.5, 0.4, 0.55), (3.15, Y - 0.2, 0.275), 180),
        obj("wardrobe_1", (1.2, 0.6, 2.0), (X - 0.3, 1.5, 1.0), 270),
        obj("rug_1", (2.0, 1.4, 0.01), (2.0, 2.2, 0.005)),
        obj("wall_art_1", (1.0, 0.05, 0.6), (2.0, Y - 0.025, 1.5), 180),
        obj("pendant_light_1", (0.4, 0.4, 0.3), (2.0, 2.5, Z - 0.15)),
    ), "bedroom")


# -- factory ---------------------------------------------------------------------------------
def test_make_renderer_builds_raster_and_rejects_unknown_names():
    r = make_renderer("raster", (64, 128), labels=False)
    assert isinstance(r, RasterRenderer)
    assert r.image_size == (64, 128)
    assert "raster" in renderer_names()
    r.close()
    with pytest.raises(ValueError, match="raster"):
        make_renderer("povray")


# -- output -----------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [(256, 512), (512, 1024), (720, 1280), (101, 203)])
def test_output_shape_and_dtype(size):
    r = RasterRenderer(size)
    try:
        img = r.render(bedroom())
        assert img.shape == (size[0], size[1], 3)
        assert img.dtype == np.uint8
        assert img.flags.c_contiguous and img.flags.writeable
        assert img.std() > 5  # not a blank frame
    finally:
        r.close()


def test_deterministic_across_renders_and_instances():
    a = RasterRenderer(SIZE)
    b = RasterRenderer(SIZE)
    try:
        sc = bedroom()
        first = a.render(sc)
        other = b.render(sc)  # b's context is now the current one
        second = a.render(sc)  # a must switch back to its own context
        assert first.tobytes() == second.tobytes()
        assert first.tobytes() == other.tobytes()
    finally:
        a.close()
        b.close()


def test_two_views_side_by_side(plain):
    img = plain.render(bedroom())
    h, w = SIZE
    left, right = img[:, : w // 2], img[:, w // 2:]
    assert left.shape == right.shape == (h, w // 2, 3)
    # both halves show the room (not only the background)
    bg = img[0, 0]
    assert changed_mask(left, np.broadcast_to(bg, left.shape)).mean() > 0.2
    assert changed_mask(right, np.broadcast_to(bg, right.shape)).mean() > 0.3


# -- objects in the plan ----------------------------------------------------------------------
def test_object_changes_its_region_and_not_a_far_corner(plain):
    empty = scene()
    chair = obj("chair_1", (0.6, 0.6, 0.9), (1.0, 1.0, 0.45))
    with_chair = scene((4.0, 4.0, 2.5), chair)
    a, b = plain.render(empty), plain.render(with_chair)
    views = plain.views(with_chair)
    cx, cy = views.to_pixels([(1.0, 1.0, 0.9)], "plan")[0]
    cx, cy = int(cx), int(cy)
    diff = changed_mask(a, b)
    assert diff[cy - 3:cy + 4, cx - 3:cx + 4].all()
    fx, fy = (int(v) for v in views.to_pixels([(3.6, 3.6, 0.0)], "plan")[0])
    assert not diff[fy - 5:fy + 6, fx - 5:fx + 6].any()
    # the perspective half changes too
    assert diff[:, : SIZE[1] // 2].any()


def _plan_centroid(renderer, base, sc):
    diff = changed_mask(plan_half(renderer.render(base)), plan_half(renderer.render(sc)))
    ys, xs = np.nonzero(diff)
    assert len(xs) > 0
    return xs.mean(), ys.mean()


def test_moving_an_object_moves_its_colour_in_the_plan(plain):
    room = (5.0, 4.0, 2.5)
    base = scene(room)
    at = lambda x, y: scene(room, obj("bed_1", (1.0, 1.0, 0.5), (x, y, 0.25)))  # noqa: E731
    x0, y0 = _plan_centroid(plain, base, at(2.0, 2.0))
    x1, y1 = _plan_centroid(plain, base, at(3.0, 2.0))  # +x: right in the image
    x2, y2 = _plan_centroid(plain, base, at(2.0, 3.0))  # +y: up in the image
    assert x1 > x0 + 10 and abs(y1 - y0) < 2
    assert y2 < y0 - 10 and abs(x2 - x0) < 2


@pytest.mark.parametrize("z_angle, side", [(0, "north"), (90, "east"), (180, "south"), (270, "west")])
def test_front_marker_on_the_expected_side_in_the_plan(plain, z_angle, side):
    sc = scene((4.0, 4.0, 2.5), obj("table_1", (1.2, 1.2, 0.7), (2.0, 2.0, 0.35), z_angle))
    img = plain.render(sc)
    views = plain.views(sc)
    offsets = {"north": (0, 1), "east": (1, 0), "south": (0, -1), "west": (-1, 0)}
    brightness = {}
    for name, (dx, dy) in offsets.items():
        # a point inside the top face, close to that side's edge (inside the front band)
        px, py = views.to_pixels([(2.0 + 0.52 * dx, 2.0 + 0.52 * dy, 0.7)], "plan")[0]
        px, py = int(px), int(py)
        brightness[name] = img[py - 1:py + 2, px - 1:px + 2].astype(float).mean()
    assert min(brightness, key=brightness.get) == side
    others = [v for k, v in brightness.items() if k != side]
    assert brightness[side] < 0.8 * min(others)


def test_bigger_room_draws_the_same_object_smaller(plain):
    chair = obj("chair_1", (0.6, 0.6, 0.9), (1.5, 1.5, 0.45))
    counts = []
    for room in ((3.0, 3.0, 2.5), (9.0, 3.0, 2.5)):
        a = plain.render(scene(room))
        b = plain.render(scene(room, chair))
        counts.append(int(changed_mask(plan_half(a), plan_half(b)).sum()))
    assert counts[1] < 0.6 * counts[0]


def test_room_proportions_in_the_plan(plain):
    sc = scene((8.0, 2.0, 2.5))
    px = plain.views(sc).to_pixels([(0, 0, 0), (8, 0, 0), (0, 2, 0)], "plan")
    width = px[1, 0] - px[0, 0]
    height = px[0, 1] - px[2, 1]  # north is up: y grows upwards
    assert width > 0 and height > 0
    assert width / height == pytest.approx(4.0, rel=1e-6)
    h, w = SIZE
    assert px[0, 0] >= w // 2 and px[1, 0] <= w  # inside the plan half


def test_low_objects_do_not_hide_taller_ones_in_the_plan(plain):
    room = (4.0, 4.0, 2.5)
    rug = obj("rug_1", (2.0, 2.0, 0.01), (2.0, 2.0, 0.005))
    chair = obj("chair_1", (0.5, 0.5, 0.9), (2.0, 2.0, 0.45))
    rug_only = plain.render(scene(room, rug))
    # the chair listed first and the rug last: draw order must not matter
    both = plain.render(scene(room, chair, rug))
    cx, cy = (int(v) for v in plain.views(scene(room, rug)).to_pixels([(2.0, 2.0, 0.9)], "plan")[0])
    assert changed_mask(rug_only, both)[cy - 2:cy + 3, cx - 2:cx + 3].all()


def test_thin_mounted_objects_are_visible(plain):
    X, Y, Z = 4.0, 5.0, 2.8
    empty = scene((X, Y, Z))
    art = obj("wall_art_1", (1.0, 0.05, 0.6), (2.0, Y - 0.025, 1.5), 180)
    pendant = obj("pendant_light_1", (0.4, 0.4, 0.3), (1.0, 1.0, Z - 0.15))
    rug = obj("rug_1", (1.5, 1.0, 0.01), (3.0, 2.5, 0.005))
    base = plain.render(empty)
    for o in (art, pendant, rug):
        sc = scene((X, Y, Z), o)
        diff = changed_mask(base, plain.render(sc))
        views = plain.views(sc)
        top = (*o.box.center[:2], o.box.center[2] + o.box.size[2] / 2)
        for view in ("plan", "perspective"):
            x, y = (int(v) for v in views.to_pixels([top], view)[0])
            assert diff[max(y - 2, 0):y + 3, max(x - 2, 0):x + 3].any(), (o.id, view)


# -- labels and overlays --------------------------------------------------------------------
def test_labels_on_and_off_differ():
    sc = bedroom()
    on, off = RasterRenderer(SIZE, labels=True), RasterRenderer(SIZE, labels=False)
    try:
        a, b = on.render(sc), off.render(sc)
        diff = changed_mask(a, b)
        assert diff[:, : SIZE[1] // 2].any() and diff[:, SIZE[1] // 2:].any()
    finally:
        on.close()
        off.close()


def test_overlay_draws_a_compass_on_the_plan():
    sc = scene()
    a = RasterRenderer(SIZE, labels=False, overlay=True)
    b = RasterRenderer(SIZE, labels=False, overlay=False)
    try:
        diff = changed_mask(a.render(sc), b.render(sc))
        h, w = SIZE
        assert diff[: h // 4, w - w // 8:].any()  # top right corner of the plan
        assert not diff[:, : w // 2 - 2].any()  # nothing on the perspective view
    finally:
        a.close()
        b.close()


def test_many_objects_with_long_ids():
    objects = []
    for i in range(40):
        oid = ("x" * 60) if i % 4 == 0 else f"chair_{i}"
        oid = oid[:-len(str(i))] + str(i) if i % 4 == 0 else oid
        objects.append(obj(oid, (0.5, 0.5, 0.9), (0.5 + i % 8, 0.5 + (i // 8) * 1.1, 0.45), i * 37.0,
                            category="chair"))
    sc = scene((8.0, 6.0, 3.0), *objects)
    for size in ((256, 512), (512, 1024)):
        r = RasterRenderer(size)
        try:
            img = r.render(sc)
            assert img.shape == (*size, 3)
        finally:
            r.close()


def test_label_painter_keeps_labels_inside_their_region():
    painter = LabelPainter(11)
    img = np.zeros((60, 200, 3), np.uint8)
    region = (100, 0, 200, 60)
    painter.draw(img, [Label("a" * 60, 150.0, 30.0), Label("edge", 199.0, 59.0),
                       Label("nan", float("nan"), 3.0), Label("outside", 20.0, 20.0)], region)
    assert not img[:, :100].any()
    assert img[:, 100:].any()


# -- lifecycle --------------------------------------------------------------------------------
def test_close_is_idempotent_and_render_after_close_reopens():
    r = RasterRenderer((64, 128))
    r.close()  # before any render
    first = r.render(bedroom())
    r.close()
    r.close()
    again = r.render(bedroom())
    assert first.tobytes() == again.tobytes()
    r.close()
    del r


def test_pickle_round_trip():
    r = RasterRenderer((64, 128), labels=False)
    r2 = pickle.loads(pickle.dumps(r))  # before the context exists
    img = r.render(bedroom())
    r3 = pickle.loads(pickle.dumps(r))  # with a live context: it is not pickled
    try:
        assert r3.image_size == (64, 128) and r3.labels is False
        assert r2.render(bedroom()).tobytes() == img.tobytes()
        assert r3.render(bedroom()).tobytes() == img.tobytes()
    finally:
        for x in (r, r2, r3):
            x.close()


# -- degenerate scenes ------------------------------------------------------------------------
DEGENERATE = {
    "unit_cube_room": scene((1.0, 1.0, 1.0), obj("chair_1", (0.4, 0.4, 0.8), (0.5, 0.5, 0.4), 90)),
    "corridor": scene((50.0, 0.5, 2.5), obj("bench_1", (1.5, 0.3, 0.5), (10.0, 0.25, 0.25))),
    "empty": scene((4.0, 3.0, 2.5)),
    "far_away": scene((4.0, 3.0, 2.5),
                      obj("sofa_1", (2.0, 1.0, 1.0), (1e4, 1e4, 0.5)),
                      obj("sofa_2", (2.0, 1.0, 1.0), (-1e4, 1.5, 0.5), 33),
                      obj("lamp_1", (0.3, 0.3, 1.0), (2.0, 1.5, 1e4)),
                      obj("rug_1", (1.0, 1.0, 0.01), (2.0, 1.5, -1e4))),
    "zero_size": scene((4.0, 3.0, 2.5), obj("mystery_thing_1", (0.0, 0.0, 0.0), (2.0, 1.5, 0.0))),
    "not_finite": scene((4.0, 3.0, 2.5),
                        obj("chair_1", (0.5, 0.5, 0.9), (1.0, 1.0, 0.45), float("inf")),
                        obj("chair_2", (0.5, float("nan"), 0.9), (2.0, 1.0, 0.45)),
                        obj("chair_3", (0.5, 0.5, 0.9), (float("nan"), 1.0, 0.45))),
}


@pytest.mark.parametrize("name", sorted(DEGENERATE))
def test_degenerate_scenes_render(name):
    r = RasterRenderer(SIZE)
    try:
        img = r.render(DEGENERATE[name])
        assert img.shape == (*SIZE, 3) and img.dtype == np.uint8
        assert img.std() > 1  # the room is drawn
    finally:
        r.close()


# -- palette ------------------------------------------------------------------------------------
def test_palette_is_deterministic_and_falls_back():
    assert category_of("dining_chair_2") == "dining_chair"
    assert category_of("tv") == "tv"
    assert category_color("bed") == PALETTE["bed"]
    assert category_color("bed_3") == PALETTE["bed"]
    assert category_color("office_chair") == PALETTE["office_chair"]
    assert category_color("velvet_chair") == PALETTE["chair"]  # last word
    for name in ("bed", "sofa", "chair", "table", "desk", "wardrobe", "bookshelf", "nightstand",
                 "lamp", "rug", "tv", "plant", "wall_art", "pendant"):
        assert name in PALETTE
    unknown = category_color("quantum_flux_capacitor")
    assert unknown == category_color("quantum_flux_capacitor")
    assert all(0.0 <= c <= 1.0 for c in unknown)
    assert unknown != category_color("zebra_thing")
    assert all(0 <= c <= 255 for c in category_color_u8("zebra_thing"))


def test_torch_stack_imports_after_rendering_in_the_same_process():
    # Mesa's llvmpipe and Triton's bundled LLVM crash when Triton loads second; a fresh process
    # renders first, then imports transformers (which imports Triton through torch._dynamo).
    import subprocess
    import sys

    code = ("from metaspatial_env.render import make_renderer\n"
            "from metaspatial_env.render.base import RenderScene\n"
            "make_renderer('raster', (32, 64)).render(RenderScene((4.0, 4.0, 3.0), ()))\n"
            "import transformers.activations\n"
            "print('imported')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "imported" in done.stdout
