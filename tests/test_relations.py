"""Placement rules measured on layouts: hand-computed tables, satisfiability, and the array forms
(one row of which is the scalar rule; many rows score many poses at once)."""

import math

import numpy as np
import pytest

from metaspatial_env.geometry import (
    WALLS,
    Box,
    Boxes,
    point_polygon_distance,
    point_polygon_distances,
    wall_gap,
    wall_gaps,
)
from metaspatial_env.relations import (
    FACING_TOLERANCE_DEG,
    RuleResult,
    facing_violation,
    facing_violations,
    layout_rule_violation,
    layout_violations,
    object_rule_violation,
    object_violations,
)
from metaspatial_env.tasks import LayoutRule, ObjectRule

ROOM = (4.0, 5.0, 2.8)
BED = Box((2.0, 1.6, 0.5), (2.0, 5.0 - 0.8, 0.25), 180.0)        # back to the north wall, facing south
TABLE = Box((1.2, 0.8, 0.75), (2.0, 2.5, 0.375), 0.0)


@pytest.mark.parametrize(
    "box, rule, expected",
    [
        (BED, LayoutRule("north_wall", "on"), 0.0),
        (Box((2.0, 1.6, 0.5), (2.0, 4.2 - 0.3, 0.25), 180.0), LayoutRule("north_wall", "on"), 0.25),   # 0.3 gap - 0.05
        (Box((2.0, 1.6, 0.5), (2.0, 4.2 + 0.1, 0.25), 180.0), LayoutRule("north_wall", "on"), 0.07),   # 0.1 through - 0.03
        (Box((0.5, 0.5, 1.0), (0.25, 0.25, 0.5), 0.0), LayoutRule("south_wall", "in the corner"), 0.0),
        (Box((0.5, 0.5, 1.0), (1.25, 0.25, 0.5), 0.0), LayoutRule("south_wall", "in the corner"), 0.95),  # 1 m from west wall
        (TABLE, LayoutRule("middle of the room", "on"), 0.0),
        (Box((1.0, 1.0, 0.1), (0.5, 2.5, 0.05), 0.0), LayoutRule("middle of the room", "on"), 0.5),     # x=0.5, band starts at 1.0
        (Box((0.4, 0.4, 0.3), (2.0, 2.5, 2.65), 0.0), LayoutRule("ceiling", "on"), 0.0),
        (Box((0.4, 0.4, 0.3), (2.0, 2.5, 2.0), 0.0), LayoutRule("ceiling", "on"), 0.6),
    ],
)
def test_layout_rules(box, rule, expected):
    assert layout_rule_violation(box, rule, ROOM) == pytest.approx(expected, abs=1e-9)


NIGHTSTAND = (0.5, 0.4, 0.55)


def stand(x, y, z_angle=180.0):
    return Box(NIGHTSTAND, (x, y, 0.275), z_angle)


@pytest.mark.parametrize(
    "subject, rule, target, expected",
    [
        # The bed faces south, so its own left is east (+x) and its right is west.
        (stand(3.3, 4.8), ObjectRule("bed_1", "left of", True), BED, 0.0),
        (stand(0.7, 4.8), ObjectRule("bed_1", "right of", True), BED, 0.0),
        (stand(0.7, 4.8), ObjectRule("bed_1", "left of", True), BED, 2.55 - 0.03),  # on the wrong side
        (stand(3.9, 4.8), ObjectRule("bed_1", "left of", True), BED, 0.05),         # 0.65 gap > 0.6 adjacency
        (stand(3.9, 4.8), ObjectRule("bed_1", "left of", False), BED, 0.0),         # fine when not adjacent
        (stand(2.0, 2.5), ObjectRule("bed_1", "in front", False), BED, 0.0),
        (stand(2.0, 2.5), ObjectRule("bed_1", "in front", True), BED, 0.1),         # 0.7 gap > 0.6
        (stand(2.0, 2.5), ObjectRule("bed_1", "behind", False), BED, 2.7 - 0.03),
        (Box((0.3, 0.3, 0.4), (2.0, 2.5, 0.75 + 0.2), 0.0), ObjectRule("table_1", "on", False), TABLE, 0.0),
        (Box((0.3, 0.3, 0.4), (2.0, 2.5, 0.75 + 0.3), 0.0), ObjectRule("table_1", "on", False), TABLE, 0.07),
        (Box((0.3, 0.3, 0.4), (3.6, 2.5, 0.95), 0.0), ObjectRule("table_1", "on", False), TABLE, 1.0),  # beside it
        (Box((2.0, 1.4, 0.01), (2.0, 2.5, 0.005), 0.0), ObjectRule("table_1", "under", False), TABLE, 0.0),
        (Box((0.4, 0.4, 0.3), (2.0, 2.5, 2.65), 0.0), ObjectRule("table_1", "above", False), TABLE, 0.0),
        (Box((0.4, 0.4, 0.3), (3.6, 2.5, 2.65), 0.0), ObjectRule("table_1", "above", False), TABLE, 0.95),
    ],
)
def test_object_rules(subject, rule, target, expected):
    assert object_rule_violation(subject, rule, target) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    "z_angle, facing, expected",
    [
        (180.0, "south_wall", 0.0),
        (200.0, "south_wall", 0.0),     # within 30 degrees
        (90.0, "south_wall", 60.0),
        (0.0, "table_1", 150.0),        # the chair north of the table faces away from it
        (180.0, "table_1", 0.0),
    ],
)
def test_facing(z_angle, facing, expected):
    chair = Box((0.5, 0.5, 0.9), (2.0, 3.4, 0.45), z_angle)
    assert facing_violation(chair, facing, {"table_1": TABLE}) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    "violation, unit, score, satisfied",
    [(0.0, "m", 1.0, True), (0.5, "m", 0.36787944, False), (45.0, "deg", 0.36787944, False)],
)
def test_score_decays_smoothly(violation, unit, score, satisfied):
    result = RuleResult("a", "on", "b", violation, unit)
    assert result.score == pytest.approx(score) and result.satisfied is satisfied


def test_feedback_sentence():
    text = RuleResult("nightstand_2", "right of", "bed_1", 0.8, "m").describe()
    assert text == "nightstand_2 should be right of bed_1; it is 0.80 m off"


# ----------------------------------------------------------------------------- array forms
LAYOUT_CASES = [
    (BED, LayoutRule("north_wall", "on"), 0.0),
    (Box((2.0, 1.6, 0.5), (2.0, 4.2 - 0.3, 0.25), 180.0), LayoutRule("north_wall", "on"), 0.25),
    (Box((0.5, 0.5, 1.0), (1.25, 0.25, 0.5), 0.0), LayoutRule("south_wall", "in the corner"), 0.95),
    (Box((1.0, 1.0, 0.1), (0.5, 2.5, 0.05), 0.0), LayoutRule("middle of the room", "on"), 0.5),
    (Box((1.0, 1.0, 0.1), (0.5, 0.5, 0.05), 30.0), LayoutRule("middle of the room", "on"), math.hypot(0.5, 0.75)),
    (Box((0.4, 0.4, 0.3), (2.0, 2.5, 2.0), 0.0), LayoutRule("ceiling", "on"), 0.6),
]


@pytest.mark.parametrize("box, rule, expected", LAYOUT_CASES)
def test_layout_array_form_row_is_the_scalar_rule(box, rule, expected):
    row = layout_violations(Boxes.from_box(box), rule.element, rule.preposition, ROOM)
    assert row.shape == (1,)
    assert row[0] == layout_rule_violation(box, rule, ROOM)
    assert row[0] == pytest.approx(expected, abs=1e-9)


def test_layout_array_form_scores_many_poses_at_once():
    # a nightstand slid along the north wall, then pulled off it: only the gap matters
    poses = [[x, 5.0 - 0.2 - gap, 0.275, 180.0] for x in (0.5, 2.0, 3.5) for gap in (0.0, 0.05, 0.3)]
    many = Boxes.of(NIGHTSTAND, poses)
    got = layout_violations(many, "north_wall", "on", ROOM)
    assert got.shape == (9,)
    assert got == pytest.approx([0.0, 0.0, 0.25] * 3, abs=1e-9)
    for pose, value in zip(poses, got):
        assert value == layout_rule_violation(Box(NIGHTSTAND, tuple(pose[:3]), pose[3]), LayoutRule("north_wall", "on"), ROOM)


def test_unknown_wall_is_an_error():
    with pytest.raises(ValueError, match="unknown wall"):
        layout_violations(Boxes.from_box(BED), "floor", "on", ROOM)


OBJECT_CASES = [
    (stand(3.3, 4.8), ObjectRule("bed_1", "left of", True), BED, 0.0),
    (stand(0.7, 4.8), ObjectRule("bed_1", "left of", True), BED, 2.55 - 0.03),
    (stand(3.9, 4.8), ObjectRule("bed_1", "left of", True), BED, 0.05),
    (stand(2.0, 2.5), ObjectRule("bed_1", "in front", True), BED, 0.1),
    (stand(2.0, 2.5), ObjectRule("bed_1", "behind", False), BED, 2.7 - 0.03),
    (Box((0.3, 0.3, 0.4), (2.0, 2.5, 0.75 + 0.3), 0.0), ObjectRule("table_1", "on", False), TABLE, 0.07),
    (Box((0.3, 0.3, 0.4), (3.6, 2.5, 0.95), 0.0), ObjectRule("table_1", "on", False), TABLE, 1.0),
    (Box((2.0, 1.4, 0.01), (2.0, 2.5, 0.005), 0.0), ObjectRule("table_1", "under", False), TABLE, 0.0),
    (Box((0.4, 0.4, 0.3), (3.6, 2.5, 2.65), 0.0), ObjectRule("table_1", "above", False), TABLE, 0.95),
]


@pytest.mark.parametrize("subject, rule, target, expected", OBJECT_CASES)
def test_object_array_form_row_is_the_scalar_rule(subject, rule, target, expected):
    row = object_violations(Boxes.from_box(subject), rule.preposition, rule.is_adjacent, Boxes.from_box(target))
    assert row.shape == (1,)
    assert row[0] == object_rule_violation(subject, rule, target)
    assert row[0] == pytest.approx(expected, abs=1e-9)


def test_object_array_form_broadcasts_one_target_against_many_subjects():
    # nightstands east of the bed (its own left) at growing gaps, one on the wrong side
    xs = [3.0 + 0.25 + gap for gap in (0.0, 0.3, 0.6, 0.65)] + [0.7]
    subjects = Boxes.of(NIGHTSTAND, [[x, 4.8, 0.275, 180.0] for x in xs])
    got = object_violations(subjects, "left of", True, Boxes.from_box(BED))
    assert got.shape == (5,)
    assert got == pytest.approx([0.0, 0.0, 0.0, 0.05, 2.55 - 0.03], abs=1e-9)
    # and one subject against many targets: the same bed shifted west step by step
    beds = Boxes.of(BED.size, [[x, 4.2, 0.25, 180.0] for x in (2.0, 1.5, 1.0)])
    got = object_violations(Boxes.from_box(stand(3.3, 4.8)), "left of", True, beds)
    assert got == pytest.approx([0.0, 0.0, 0.45], abs=1e-9)  # gaps 0.05, 0.55, 1.05


def test_object_array_form_all_pairs():
    subjects = Boxes.of(NIGHTSTAND, [[3.3, 4.8, 0.275, 180.0], [0.7, 4.8, 0.275, 180.0]])
    targets = Boxes.from_boxes([BED, TABLE])
    got = object_violations(subjects[:, None], "left of", False, targets[None])
    assert got.shape == (2, 2)
    for i in range(2):
        for j in range(2):
            assert got[i, j] == object_violations(subjects[i:i + 1], "left of", False, targets[j:j + 1])[0]


@pytest.mark.parametrize("preposition", ["on", "under", "above", "left of", "right of", "in front", "behind"])
def test_margin_only_makes_a_rule_harder(preposition):
    rng = np.random.default_rng(3)
    subjects = Boxes.of((0.5, 0.4, 0.5), np.column_stack([rng.uniform(0, 4, 200), rng.uniform(0, 5, 200),
                                                          rng.uniform(0, 2, 200), rng.uniform(0, 360, 200)]))
    target = Boxes.from_box(TABLE)
    plain = object_violations(subjects, preposition, True, target)
    assert np.array_equal(plain, object_violations(subjects, preposition, True, target, margin=0.0))
    strict = object_violations(subjects, preposition, True, target, margin=0.02)
    assert np.all(strict >= plain)


def test_object_margin_tightens_tolerances_and_shrinks_the_footprint():
    # a lamp floating 3 cm over the table (the touch tolerance's edge), centred 5 mm inside its edge
    lamp = Boxes.from_box(Box((0.3, 0.3, 0.4), (2.0 + 0.6 - 0.005, 2.5, 0.75 + 0.2 + 0.03), 0.0))
    table = Boxes.from_box(TABLE)
    assert object_violations(lamp, "on", False, table)[0] == pytest.approx(0.0, abs=1e-9)
    # 1 cm of margin: 1 cm more than the tolerance in height, and 5 mm outside the shrunk top
    assert object_violations(lamp, "on", False, table, margin=0.01)[0] == pytest.approx(0.015, abs=1e-9)


def test_layout_margin_tightens_the_contact_band():
    gap = Box((2.0, 1.6, 0.5), (2.0, 4.2 - 0.05, 0.25), 180.0)  # 5 cm from the wall: the band's edge
    row = Boxes.from_box(gap)
    assert layout_violations(row, "north_wall", "on", ROOM)[0] == pytest.approx(0.0, abs=1e-12)
    assert layout_violations(row, "north_wall", "on", ROOM, margin=0.01)[0] == pytest.approx(0.01, abs=1e-9)


@pytest.mark.parametrize("z_angle, facing, expected", [
    (180.0, "south_wall", 0.0), (90.0, "south_wall", 60.0), (0.0, "table_1", 150.0), (180.0, "table_1", 0.0),
])
def test_facing_array_form_row_is_the_scalar_rule(z_angle, facing, expected):
    chair = Box((0.5, 0.5, 0.9), (2.0, 3.4, 0.45), z_angle)
    target = facing if facing == "south_wall" else Boxes.from_box(TABLE)
    row = facing_violations(Boxes.from_box(chair), target)
    assert row.shape == (1,)
    assert row[0] == facing_violation(chair, facing, {"table_1": TABLE})
    assert row[0] == pytest.approx(expected, abs=1e-6)


def test_facing_array_form_many_headings_and_a_stacked_subject():
    chairs = Boxes.of((0.5, 0.5, 0.9), [[2.0, 3.4, 0.45, a] for a in (180.0, 210.0, 270.0, 0.0)])
    got = facing_violations(chairs, Boxes.from_box(TABLE), margin=2.0)
    assert got == pytest.approx([0.0, 2.0, 62.0, 152.0], abs=1e-6)
    on_top = Boxes.of((0.3, 0.3, 0.3), [[2.0, 2.5, 1.0, 0.0]])
    assert facing_violations(on_top, Boxes.from_box(TABLE))[0] == 180.0 - FACING_TOLERANCE_DEG


# ----------------------------------------------------------------------------- box arrays
def test_boxes_rows_are_the_boxes():
    boxes = [BED, TABLE, stand(3.3, 4.8, 33.0)]
    rows = Boxes.from_boxes(boxes)
    assert rows.shape == (3,) and len(rows) == 3
    footprints = rows.footprint()
    assert footprints.shape == (3, 4, 2)
    for k, box in enumerate(boxes):
        assert np.array_equal(footprints[k], box.footprint())
        assert np.array_equal(Boxes.from_box(box).footprint()[0], box.footprint())
        assert (rows.z_lo[k], rows.z_hi[k]) == box.z_range
        gaps = wall_gaps(rows, ROOM)
        for wall in WALLS:
            assert gaps[wall][k] == wall_gap(box, wall, ROOM)
    # extent along x of a box turned 90 degrees is half its width
    assert Boxes.from_box(stand(1.0, 1.0, 90.0)).extent(np.array([1.0, 0.0]))[0] == pytest.approx(0.2)


def test_point_polygon_distances_broadcast():
    square = Box((2.0, 2.0, 1.0), (0.0, 0.0, 0.5)).footprint()
    points = np.array([[0.0, 0.0], [1.0, 0.5], [2.0, 0.0], [2.0, 2.0], [-1.0, -4.0]])
    got = point_polygon_distances(points, square)
    assert got == pytest.approx([0.0, 0.0, 1.0, math.sqrt(2.0), 3.0])
    for p, d in zip(points, got):
        assert point_polygon_distance(p, square) == d
