"""Placement rules measured on layouts: hand-computed tables, and satisfiability."""

import pytest

from metaspatial_env.geometry import Box
from metaspatial_env.relations import (
    RuleResult,
    facing_violation,
    layout_rule_violation,
    object_rule_violation,
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
