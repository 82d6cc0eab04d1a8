"""Doors and windows in both views of both renderers: they change the pixels where they are, carry
their ids in the plan, and a room without openings draws as before."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from metaspatial_env.geometry import Box
from metaspatial_env.render import RenderObject, RenderScene
from metaspatial_env.render.blender import BlenderRenderer
from metaspatial_env.render.openings import opening_labels, swing_arc
from metaspatial_env.render.raster import RasterRenderer
from metaspatial_env.render.views import wall_thickness
from metaspatial_env.schema import Opening

SIZE = (256, 512)
ROOM = (4.0, 5.0, 2.8)
DOOR_EAST = Opening("door_2", "door", "east_wall", 3.8, 0.8, 2.0, 0.0, "end")
DOOR_SOUTH = Opening("door_1", "door", "south_wall", 1.0, 0.9, 2.1, 0.0, "start")
WINDOW_NORTH = Opening("window_1", "window", "north_wall", 2.8, 1.2, 1.2, 0.9, None)
WINDOW_WEST = Opening("window_2", "window", "west_wall", 2.5, 1.4, 1.3, 0.9, None)
OPENINGS = (DOOR_EAST, DOOR_SOUTH, WINDOW_NORTH, WINDOW_WEST)


def room(openings=()) -> RenderScene:
    bed = RenderObject("bed_1", "bed", Box((1.6, 2.0, 0.5), (1.6, 3.9, 0.25), 180.0))
    return RenderScene(ROOM, (bed,), "bedroom", openings=tuple(openings))


def _changed_near(a: np.ndarray, b: np.ndarray, px, pad: int = 2) -> bool:
    x, y = (int(round(v)) for v in px)
    window = (slice(max(y - pad, 0), y + pad + 1), slice(max(x - pad, 0), x + pad + 1))
    return bool(np.any(a[window] != b[window]))


def _points(views) -> dict[str, tuple[str, list[float]]]:
    """Where each opening shows: a point on it in one view, world coordinates."""
    X, Y, _ = ROOM
    t = wall_thickness(ROOM)
    south_jamb = DOOR_SOUTH.span(ROOM)[0][0] - 0.025  # the frame's bar beside the cut-away wall's gap
    west_sill = WINDOW_WEST.centre(ROOM)[1]
    return {
        "east door panel": ("perspective", [X - 0.005, DOOR_EAST.offset, 1.0]),
        "north window glass": ("perspective", [WINDOW_NORTH.offset - 0.3, Y - 0.005, 1.5]),
        "south door frame": ("perspective", [south_jamb, -t / 2, 1.0]),
        "west window sill bar": ("perspective", [-t / 2, west_sill, 0.88]),
        "east door swing": ("plan", [*swing_arc(DOOR_EAST, ROOM)[12], 0.0]),
        "south door leaf": ("plan", [*(np.add(DOOR_SOUTH.hinge_point(ROOM), [0.0, 0.45])), 0.0]),
        "north window strip": ("plan", [WINDOW_NORTH.offset, Y, 0.0]),
        "west window strip": ("plan", [0.0, WINDOW_WEST.offset, 0.0]),
    }


@pytest.fixture(scope="module", params=["raster", "blender"])
def plain(request):
    if request.param == "raster":
        r = RasterRenderer(SIZE, labels=False, overlay=False)
    else:
        r = BlenderRenderer(SIZE, labels=False, overlay=False, shadows=False, aa="OFF")
    yield r
    r.close()


def test_every_opening_changes_the_pixels_where_it_is(plain):
    with_openings, without = plain.render(room(OPENINGS)), plain.render(room())
    views = plain.views(room())
    for name, (view, point) in _points(views).items():
        px = views.to_pixels([point], view)[0]
        assert _changed_near(with_openings, without, px), f"{type(plain).__name__}: {name} not drawn at {px}"


def test_openings_leave_the_far_floor_alone(plain):
    with_openings, without = plain.render(room(OPENINGS)), plain.render(room())
    views = plain.views(room())
    centre = views.to_pixels([[2.6, 1.9, 0.0]], "plan")[0]  # open floor, away from every opening
    assert not _changed_near(with_openings, without, centre, pad=4)


def test_a_room_without_openings_draws_as_before(plain):
    assert np.array_equal(plain.render(room()), plain.render(RenderScene(ROOM, room().objects, "bedroom")))


def test_a_new_opening_rebuilds_the_room(plain):
    """Same room size, other openings: the Blender worker must not keep the old room's panels."""
    first = plain.render(room((DOOR_EAST,)))
    moved = plain.render(room((replace(DOOR_EAST, offset=1.0),)))
    views = plain.views(room())
    px = views.to_pixels([[ROOM[0] - 0.005, DOOR_EAST.offset, 1.0]], "perspective")[0]
    assert _changed_near(first, moved, px)


@pytest.mark.parametrize("renderer", ["raster", "blender"])
def test_opening_ids_are_labelled_in_the_plan(renderer):
    make = RasterRenderer if renderer == "raster" else BlenderRenderer
    options = {} if renderer == "raster" else {"shadows": False, "aa": "OFF"}
    labelled, bare = make(SIZE, labels=True, overlay=False, **options), make(SIZE, labels=False, overlay=False,
                                                                             **options)
    try:
        scene = room(OPENINGS)
        with_labels, without = labelled.render(scene), bare.render(scene)
        views = labelled.views(scene)
        anchors = opening_labels(scene, views, labelled._painter.text_height)
        assert [a.text for a in anchors] == [o.id for o in OPENINGS]
        plan_x0 = views.plan_rect[0]
        for label in anchors:
            assert label.x >= plan_x0
            assert _changed_near(with_labels, without, (label.x, label.y), pad=3), label.text
    finally:
        labelled.close()
        bare.close()
