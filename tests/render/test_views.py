"""What the render backends share (metaspatial_env.render.views): which objects are drawn, the
cameras, and the rule that neither backend imports the other."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from metaspatial_env.geometry import Box
from metaspatial_env.render import RenderObject, RenderScene
from metaspatial_env.render.blender import BlenderRenderer, scene_request
from metaspatial_env.render.raster import RasterRenderer
from metaspatial_env.render.views import drawable, frame, z_span

SIZE = (128, 256)
NAN, INF = float("nan"), float("inf")


def obj(oid, size=(0.5, 0.5, 0.9), center=(1.0, 1.0, 0.45), z_angle=0.0):
    return RenderObject(oid, oid.rsplit("_", 1)[0], Box(tuple(size), tuple(center), z_angle))


GOOD = (obj("chair_1"), obj("table_1", (1.2, 0.8, 0.75), (2.5, 1.5, 0.375), 90.0),
        obj("lamp_1", (0.3, 0.3, 1.6), (3.5, 2.5, 0.8), -30.0))
BAD = (obj("chair_2", z_angle=INF), obj("chair_3", z_angle=NAN), obj("chair_4", size=(0.5, NAN, 0.9)),
       obj("chair_5", center=(NAN, 1.0, 0.45)), obj("shelf_1", center=(2.0, 2.0, INF)),
       obj("shelf_2", size=(1.0, 0.4, INF)))
ROOM = (4.0, 3.0, 2.5)


def test_an_object_is_drawn_only_when_its_pose_and_size_are_finite():
    assert all(drawable(o) for o in GOOD)
    assert not any(drawable(o) for o in BAD)


def test_z_span_is_the_lowest_bottom_and_highest_top():
    assert z_span(()) == (0.0, 0.0)
    assert z_span(GOOD) == (0.0, 1.6)


@pytest.fixture(scope="module")
def raster():
    r = RasterRenderer(SIZE)  # labels on: an object skipped but labelled would show
    yield r
    r.close()


def test_both_backends_skip_and_keep_the_same_objects(raster):
    mixed = RenderScene(ROOM, BAD[:3] + GOOD + BAD[3:])
    clean = RenderScene(ROOM, GOOD)
    ids = [o.id for o in GOOD]

    request, blender_views, drawn = scene_request(mixed, SIZE)
    assert [o.id for o in drawn] == ids
    assert [o["id"] for o in request["objects"]] == ids
    assert [o.id for o in frame(mixed, SIZE)[0]] == ids
    # the rasteriser draws and labels the mixed scene exactly as the scene without the bad objects
    assert np.array_equal(raster.render(mixed), raster.render(clean))
    # and frames it with the same cameras as Blender (the plan's depth range follows the objects drawn)
    raster_views = raster.views(mixed)
    for name in ("persp_mvp", "plan_mvp", "plan_scale", "persp_rect", "plan_rect"):
        assert np.array_equal(getattr(raster_views, name), getattr(blender_views, name)), name
    assert np.array_equal(BlenderRenderer(SIZE).views(mixed).plan_mvp, raster.views(clean).plan_mvp)


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_the_backends_share_views_and_never_import_each_other():
    render = Path(__file__).resolve().parents[2] / "metaspatial_env" / "render"
    raster = _imports(render / "raster.py")
    blender = _imports(render / "blender.py") | _imports(render / "blender_worker.py")
    assert ".views" in raster and ".views" in blender
    assert not {m for m in raster if "blender" in m}
    assert not {m for m in blender if "raster" in m}
