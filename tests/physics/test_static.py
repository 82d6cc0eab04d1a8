"""Static checks: exact overlap depth/volume of z-rotated boxes and room containment."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metaspatial_env.geometry import Box, Boxes, clip_convex, polygon_area, wall_gap
from metaspatial_env.physics import OutOfRoom, PairOverlap, StaticReport, static_checks
from metaspatial_env.physics.static import BOUNDARIES, CONTACT_EPS, boundary_protrusion, penetration, protrusion

ROOM = (4.0, 3.0, 2.5)
UNIT = (1.0, 1.0, 1.0)
SQRT2 = math.sqrt(2.0)


def unit(x, y, z=0.5, angle=0.0, size=UNIT):
    return Box(size=size, center=(x, y, z), z_angle=angle)


# --- pairs ----------------------------------------------------------------------------------

@pytest.mark.parametrize("a, b", [
    pytest.param(unit(1, 1), unit(3, 1), id="apart-in-x"),
    pytest.param(unit(1, 1), unit(1, 2.2), id="apart-in-y"),
    pytest.param(unit(1, 1), unit(1, 1, z=1.6), id="apart-in-z"),
    # a lamp floating above a table: same footprint, different heights
    pytest.param(Box((1.2, 0.8, 0.75), (2, 1.5, 0.375)), Box((0.3, 0.3, 0.5), (2, 1.5, 1.1)), id="lamp-above-table"),
    # a diamond beside a square: bounding boxes overlap, the shapes do not (a separating axis)
    pytest.param(unit(1, 1), unit(1.9, 1.9, angle=45), id="diamond-off-corner"),
])
def test_separated_boxes_do_not_overlap(a, b):
    assert static_checks(ROOM, {"a": a, "b": b}).overlaps == ()


@pytest.mark.parametrize("a, b", [
    pytest.param(unit(1, 1), unit(2, 1), id="x-faces"),
    pytest.param(unit(1, 1), unit(1, 2), id="y-faces"),
    pytest.param(Box((1.2, 0.8, 0.75), (2, 1.5, 0.375)), Box((0.3, 0.3, 0.5), (2, 1.5, 1.0)), id="lamp-on-table"),
    pytest.param(Box((2, 1, 1), (1, 1, 0.5), 90), Box((2, 1, 1), (2, 1, 0.5), 90), id="rotated-90-faces"),
    pytest.param(unit(1, 1, angle=45), unit(1 + SQRT2 / 2, 1 + SQRT2 / 2, angle=45), id="rotated-45-faces"),
    pytest.param(unit(1, 1, angle=30), unit(1 + math.sin(math.radians(30)), 1 + math.cos(math.radians(30)),
                                            angle=30), id="rotated-30-faces"),
])
def test_touching_faces_are_not_overlaps(a, b):
    assert static_checks(ROOM, {"a": a, "b": b}).overlaps == ()


OCTAGON = 2.0 * SQRT2 - 2.0  # unit square intersected with itself turned 45 degrees


@pytest.mark.parametrize("a, b, depth, volume, ratio", [
    pytest.param(unit(1, 1), unit(1.5, 1), 0.5, 0.5, 0.5, id="half-in-x"),
    pytest.param(unit(1, 1), unit(1.5, 1.25), 0.5, 0.375, 0.375, id="corner-xy"),
    pytest.param(unit(1, 1), unit(1, 1, z=1.2), 0.3, 0.3, 0.3, id="partial-z"),
    pytest.param(unit(1, 1), Box((0.2, 0.2, 0.2), (1, 1, 0.5)), 0.6, 0.008, 1.0, id="contained"),
    pytest.param(Box((1.2, 0.8, 0.75), (2, 1.5, 0.375)), Box((0.2, 0.2, 0.5), (2, 1.5, 0.98)),
                 0.02, 0.2 * 0.2 * 0.02, 0.02 / 0.5, id="lamp-sunk-2cm"),
    pytest.param(unit(1, 1), unit(1.5, 1.5, angle=45), 0.5, 0.25, 0.25, id="diamond-into-corner"),
    pytest.param(unit(1, 1), unit(1, 1, angle=45), 1.0, OCTAGON, OCTAGON, id="square-vs-45-octagon"),
    pytest.param(unit(1, 1, angle=45), unit(1 + 0.25 * SQRT2, 1 + 0.25 * SQRT2, angle=45), 0.5, 0.5, 0.5,
                 id="both-45-offset"),
    pytest.param(Box((2, 1, 1), (1, 1, 0.5)), Box((2, 1, 1), (1, 1, 0.5), 90), 1.0, 1.0, 0.5, id="cross"),
    pytest.param(Box((2, 1, 1), (1, 1, 0.5), 30), Box((2, 1, 1), (1, 1, 0.5), 210), 1.0, 2.0, 1.0,
                 id="same-box-turned-180"),
])
def test_known_overlaps(a, b, depth, volume, ratio):
    (pair,) = static_checks(ROOM, {"a": a, "b": b}).overlaps
    assert (pair.a, pair.b) == ("a", "b")
    assert pair.depth == pytest.approx(depth, abs=1e-9)
    assert pair.volume == pytest.approx(volume, abs=1e-9)
    assert pair.ratio == pytest.approx(ratio, abs=1e-9)


def test_penetration_row_is_the_reported_depth():
    """The array form's depth for one pair is the depth static_checks reports for it."""
    for a, b, depth in [(unit(1, 1), unit(1.5, 1), 0.5), (unit(1, 1), unit(1.5, 1.5, angle=45), 0.5),
                        (unit(1, 1), unit(1, 1, z=1.2), 0.3), (unit(1, 1), unit(1, 1, angle=45), 1.0)]:
        (pair,) = static_checks(ROOM, {"a": a, "b": b}).overlaps
        row = penetration(Boxes.from_box(a), Boxes.from_box(b))
        assert row.shape == (1,)
        assert row[0] == pair.depth
        assert row[0] == pytest.approx(depth, abs=1e-9)


@pytest.mark.parametrize("a, b, depth", [
    pytest.param(unit(1, 1), unit(3, 1), -1.0, id="apart-by-a-metre"),
    pytest.param(unit(1, 1), unit(2, 1), 0.0, id="touching"),
    pytest.param(unit(1, 1), unit(1, 1, z=1.6), -0.1, id="apart-in-z"),
    pytest.param(unit(1, 1), unit(1.9, 1.9, angle=45), 0.5 - 0.4 * SQRT2, id="diamond-off-corner"),
])
def test_penetration_is_negative_by_the_gap_when_apart(a, b, depth):
    assert penetration(Boxes.from_box(a), Boxes.from_box(b))[0] == pytest.approx(depth, abs=1e-9)


def test_penetration_broadcasts_one_box_against_many_and_all_pairs():
    movers = Boxes.of(UNIT, [[x, 1.0, 0.5, 0.0] for x in (1.0, 1.5, 2.0, 3.0)])
    fixed = Boxes.from_box(unit(1, 1))
    assert penetration(movers, fixed) == pytest.approx([1.0, 0.5, 0.0, -1.0], abs=1e-12)
    others = Boxes.from_boxes([unit(1, 1), unit(3, 1), unit(1, 1, angle=45)])
    table = penetration(movers[:, None], others[None])
    assert table.shape == (4, 3)
    for i in range(4):
        assert np.array_equal(table[i], penetration(movers[i:i + 1], others))


def test_protrusion_through_the_worst_boundary():
    boxes = Boxes.from_boxes([Box(UNIT, (2.0, 1.5, 1.0)), Box(UNIT, (4.05, 2.8, 0.5)), Box(UNIT, (2.0, 1.5, 2.8))])
    assert protrusion(boxes, ROOM) == pytest.approx([-0.5, 0.55, 0.8], abs=1e-12)
    per = boundary_protrusion(boxes, ROOM)
    assert per.shape == (3, 6)
    assert [BOUNDARIES[k] for k in per[1:].argmax(axis=1)] == ["east_wall", "ceiling"]
    for k, box in enumerate([Box(UNIT, (4.05, 2.8, 0.5)), Box(UNIT, (2.0, 1.5, 2.8))], start=1):
        out = static_checks(ROOM, {"a": box}).out_of_room["a"]
        assert out.distance == protrusion(boxes, ROOM)[k] and out.boundary == BOUNDARIES[per[k].argmax()]


def test_pairs_are_ordered_and_sorted():
    boxes = {"zeta": unit(1, 1), "beta": unit(1.5, 1), "alpha": unit(1.2, 1.2), "far": unit(3.5, 2.5)}
    pairs = static_checks(ROOM, boxes).overlaps
    assert [(p.a, p.b) for p in pairs] == [("alpha", "beta"), ("alpha", "zeta"), ("beta", "zeta")]


def test_empty_and_single():
    assert static_checks(ROOM, {}) == StaticReport(overlaps=(), out_of_room={})
    report = static_checks(ROOM, {"a": unit(1, 1)})
    assert report.overlaps == ()
    assert report.out_of_room == {"a": OutOfRoom(inside_fraction=1.0, distance=0.0, boundary="")}


# --- room containment -----------------------------------------------------------------------

@pytest.mark.parametrize("center, boundary", [
    ((2.0, 0.0, 0.5), "south_wall"),
    ((2.0, 3.0, 0.5), "north_wall"),
    ((0.0, 1.5, 0.5), "west_wall"),
    ((4.0, 1.5, 0.5), "east_wall"),
    ((2.0, 1.5, 0.0), "floor"),
    ((2.0, 1.5, 2.5), "ceiling"),
])
def test_half_outside_each_boundary(center, boundary):
    out = static_checks(ROOM, {"a": Box(UNIT, center)}).out_of_room["a"]
    assert out.inside_fraction == pytest.approx(0.5, abs=1e-12)
    assert out.distance == pytest.approx(0.5, abs=1e-12)
    assert out.boundary == boundary


def test_rotated_box_half_through_east_wall():
    out = static_checks(ROOM, {"a": unit(4.0, 1.5, angle=45)}).out_of_room["a"]
    assert out == OutOfRoom(inside_fraction=pytest.approx(0.5), distance=pytest.approx(SQRT2 / 2),
                            boundary="east_wall")


@pytest.mark.parametrize("center, fraction, distance, boundary", [
    pytest.param((2.0, 1.5, 0.5), 1.0, 0.0, "", id="inside"),
    pytest.param((3.5, 2.5, 0.5), 1.0, 0.0, "", id="touching-two-walls"),
    pytest.param((0.1, 2.8, 0.5), 0.6 * 0.7, 0.4, "west_wall", id="corner-west-worse"),
    pytest.param((4.05, 2.8, 0.5), 0.45 * 0.7, 0.55, "east_wall", id="corner-east-worse"),
    pytest.param((2.0, 3.2, 2.4), 0.3 * 0.6, 0.7, "north_wall", id="north-and-ceiling"),
    pytest.param((2.0, 1.5, 2.8), 0.2, 0.8, "ceiling", id="mostly-above"),
    pytest.param((10.0, 1.5, 0.5), 0.0, 6.5, "east_wall", id="entirely-outside"),
])
def test_out_of_room(center, fraction, distance, boundary):
    out = static_checks(ROOM, {"a": Box(UNIT, center)}).out_of_room["a"]
    assert out.inside_fraction == pytest.approx(fraction, abs=1e-12)
    assert out.distance == pytest.approx(distance, abs=1e-12)
    assert out.boundary == boundary


# --- properties -----------------------------------------------------------------------------

sizes = st.floats(1e-6, 5.0)
coords = st.floats(-1e6, 1e6)
angles = st.floats(-720.0, 720.0)
boxes = st.builds(Box, size=st.tuples(sizes, sizes, sizes), center=st.tuples(coords, coords, coords), z_angle=angles)
near_boxes = st.builds(Box, size=st.tuples(st.floats(0.05, 2.0), st.floats(0.05, 2.0), st.floats(0.05, 2.0)),
                       center=st.tuples(st.floats(-0.5, 4.5), st.floats(-0.5, 3.5), st.floats(-0.5, 3.0)),
                       z_angle=st.sampled_from([0.0, 90.0, 180.0, 45.0]) | st.floats(0.0, 360.0))


def _finite(report: StaticReport) -> bool:
    values = [v for p in report.overlaps for v in (p.depth, p.volume, p.ratio)]
    values += [v for o in report.out_of_room.values() for v in (o.inside_fraction, o.distance)]
    return all(math.isfinite(v) for v in values)


@settings(max_examples=200, deadline=None)
@given(st.lists(boxes, min_size=1, max_size=6) | st.lists(near_boxes, min_size=1, max_size=6))
def test_never_nan_and_bounded(box_list):
    report = static_checks(ROOM, {f"o{i}": b for i, b in enumerate(box_list)})
    assert _finite(report)
    for p in report.overlaps:
        assert p.a < p.b and p.depth > 0.0 and p.volume >= 0.0 and 0.0 <= p.ratio <= 1.0
    for o in report.out_of_room.values():
        assert 0.0 <= o.inside_fraction <= 1.0 and o.distance >= 0.0
        assert (o.boundary == "") == (o.distance == 0.0)


def _reference_volume(a: Box, b: Box) -> float:
    area = polygon_area(clip_convex(a.footprint(), b.footprint()))
    z = max(0.0, min(a.z_range[1], b.z_range[1]) - max(a.z_range[0], b.z_range[0]))
    return area * z


@settings(max_examples=300, deadline=None)
@given(near_boxes, near_boxes)
def test_volume_matches_polygon_clipping(a, b):
    """The vectorised area agrees with the shared clip_convex helper."""
    report = static_checks(ROOM, {"a": a, "b": b})
    got = report.overlaps[0].volume if report.overlaps else 0.0
    assert got == pytest.approx(_reference_volume(a, b), abs=1e-8)
    if report.overlaps:
        assert report.overlaps[0].volume <= min(a.volume, b.volume) + 1e-12


@settings(max_examples=200, deadline=None)
@given(near_boxes, near_boxes)
def test_penetration_agrees_with_reported_overlaps(a, b):
    """Pairs static_checks reports overlap by exactly the array form's depth; others by at most CONTACT_EPS."""
    overlaps = static_checks(ROOM, {"a": a, "b": b}).overlaps
    depth = float(penetration(Boxes.from_box(a), Boxes.from_box(b))[0])
    if overlaps:
        assert depth == overlaps[0].depth
    else:
        assert depth <= CONTACT_EPS


@settings(max_examples=100, deadline=None)
@given(st.lists(near_boxes, min_size=2, max_size=12))
def test_prefilter_drops_no_overlapping_pair(box_list):
    named = {f"o{i:02d}": b for i, b in enumerate(box_list)}
    found = {(p.a, p.b): p.volume for p in static_checks(ROOM, named).overlaps}
    for i, a in enumerate(named):
        for b in list(named)[i + 1:]:
            expected = _reference_volume(named[a], named[b])
            if expected > 1e-6:
                assert found[(a, b)] == pytest.approx(expected, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(near_boxes)
def test_wall_distance_agrees_with_wall_gap(box):
    out = static_checks(ROOM, {"a": box}).out_of_room["a"]
    worst_wall = max(-wall_gap(box, w, ROOM) for w in ("south_wall", "north_wall", "west_wall", "east_wall"))
    worst = max(worst_wall, -box.z_range[0], box.z_range[1] - ROOM[2])
    assert out.distance == pytest.approx(max(0.0, worst), abs=1e-9)


def test_pair_overlap_is_a_plain_value():
    assert PairOverlap("a", "b", 0.1, 0.2, 0.3) == PairOverlap("a", "b", 0.1, 0.2, 0.3)
