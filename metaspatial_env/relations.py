"""Scene-graph rules measured on a layout: how far each placement rule is from being met.

Every rule reduces to a *violation*, the distance (metres) or angle (degrees) by which the
layout misses it beyond a tolerance, so 0 means satisfied. Scores decay smoothly with the
violation. Each rule is met by some layout of any valid task (a rule never asks for an
exact point), which is what keeps the relation reward honest.

Frames: "left of B" is B's own left and "in front of B" the side B faces
(:mod:`metaspatial_env.geometry`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from .geometry import (
    WALLS,
    Box,
    angle_difference,
    heading_towards,
    point_polygon_distance,
    wall_gap,
)
from .schema import LayoutRule, ObjectRule, Task, TaskObject

#: Gap allowed between an object and the wall or ceiling it stands against.
CONTACT_TOLERANCE = 0.05
#: Overlap allowed where a rule asks for contact (an object on another, a side-by-side pair).
TOUCH_TOLERANCE = 0.03
#: Largest gap for an ``is_adjacent`` relation.
ADJACENT_DISTANCE = 0.6
#: Heading error allowed by a ``facing`` rule.
FACING_TOLERANCE_DEG = 30.0
#: Violations at which a rule's score has decayed to 1/e.
DISTANCE_SCALE = 0.5
ANGLE_SCALE_DEG = 45.0
#: Walls meeting a given wall at a corner.
PERPENDICULAR_WALLS = {
    "south_wall": ("west_wall", "east_wall"),
    "north_wall": ("west_wall", "east_wall"),
    "west_wall": ("south_wall", "north_wall"),
    "east_wall": ("south_wall", "north_wall"),
}
#: Heading that points at each wall from inside the room.
HEADING_TO_WALL = {"north_wall": 0.0, "east_wall": 90.0, "south_wall": 180.0, "west_wall": 270.0}


@dataclass(frozen=True)
class RuleResult:
    """One placement rule measured on a layout."""

    subject: str
    preposition: str
    """``on``, ``in the corner``, ``left of`` ... or ``facing``."""
    target: str
    """An object id or a layout element."""
    violation: float
    """How far beyond tolerance the layout misses the rule (0 when met)."""
    unit: str
    """``m`` or ``deg``."""

    @property
    def satisfied(self) -> bool:
        return self.violation <= 0.0

    @property
    def score(self) -> float:
        """1 when met, decaying smoothly (exponentially) with the violation."""
        scale = ANGLE_SCALE_DEG if self.unit == "deg" else DISTANCE_SCALE
        return math.exp(-self.violation / scale)

    def describe(self) -> str:
        """Feedback sentence, e.g. ``nightstand_2 should be right of bed_1; it is 0.80 m off``."""
        target = self.target.replace("middle of the room", "the middle of the room")
        if self.preposition == "facing":
            rule = f"{self.subject} should face {target}"
        elif self.preposition == "in the corner":
            rule = f"{self.subject} should be in a corner along {target}"
        else:
            preposition = "in front of" if self.preposition == "in front" else self.preposition
            rule = f"{self.subject} should be {preposition} {target}"
        amount = f"{self.violation:.0f} degrees" if self.unit == "deg" else f"{self.violation:.2f} m"
        return f"{rule}; it is {amount} off"


def _excess(value: float, tolerance: float) -> float:
    return max(0.0, value - tolerance)


def _contact_violation(gap: float) -> float:
    """Distance from a gap to the band [-TOUCH_TOLERANCE, CONTACT_TOLERANCE]."""
    return _excess(gap, CONTACT_TOLERANCE) + _excess(-gap, TOUCH_TOLERANCE)


def layout_rule_violation(box: Box, rule: LayoutRule, room_size: tuple[float, float, float]) -> float:
    """Violation (m) of a rule tying ``box`` to a wall, the ceiling or the middle of the room."""
    if rule.element == "ceiling":
        return _contact_violation(room_size[2] - box.z_range[1])
    if rule.element == "middle of the room":
        # the centre must lie in the middle half of the room in x and in y
        x, y = box.center[0], box.center[1]
        X, Y = room_size[0], room_size[1]
        dx = _excess(abs(x - X / 2.0), X / 4.0)
        dy = _excess(abs(y - Y / 2.0), Y / 4.0)
        return math.hypot(dx, dy)
    violation = _contact_violation(wall_gap(box, rule.element, room_size))
    if rule.preposition == "in the corner":
        violation += min(_contact_violation(wall_gap(box, w, room_size)) for w in PERPENDICULAR_WALLS[rule.element])
    return violation


def object_rule_violation(subject: Box, rule: ObjectRule, target: Box) -> float:
    """Violation (m) of ``subject <preposition> target``, measured in the target's frame."""
    prep = rule.preposition
    if prep in ("on", "under", "above"):
        s_lo, s_hi = subject.z_range
        t_lo, t_hi = target.z_range
        if prep == "on":
            vertical = _excess(abs(s_lo - t_hi), TOUCH_TOLERANCE)
            horizontal = point_polygon_distance(subject.center[:2], target.footprint())
        elif prep == "under":
            vertical = _excess(s_hi - t_lo, TOUCH_TOLERANCE)
            horizontal = min(
                point_polygon_distance(subject.center[:2], target.footprint()),
                point_polygon_distance(target.center[:2], subject.footprint()),
            )
        else:
            vertical = _excess(t_hi - s_lo, TOUCH_TOLERANCE)
            horizontal = _excess(point_polygon_distance(subject.center[:2], target.footprint()), CONTACT_TOLERANCE)
        return vertical + horizontal

    r_min, r_max, f_min, f_max = target.local_extent(subject)
    half_length, half_width = target.size[0] / 2.0, target.size[1] / 2.0
    r_mid, f_mid = (r_min + r_max) / 2.0, (f_min + f_max) / 2.0
    if prep in ("left of", "right of"):
        gap = (-half_length - r_max) if prep == "left of" else (r_min - half_length)
        alignment = _excess(abs(f_mid), half_width)
    else:  # in front / behind
        gap = (f_min - half_width) if prep == "in front" else (-half_width - f_max)
        alignment = _excess(abs(r_mid), half_length)
    violation = _excess(-gap, TOUCH_TOLERANCE) + alignment
    if rule.is_adjacent:
        violation += _excess(gap, ADJACENT_DISTANCE)
    return violation


def facing_violation(subject: Box, facing: str, boxes: Mapping[str, Box]) -> float:
    """Heading error (degrees) beyond tolerance for a ``facing`` field (an object or a wall)."""
    if facing in WALLS:
        wanted = HEADING_TO_WALL[facing]
    else:
        target = boxes[facing]
        dx = target.center[0] - subject.center[0]
        dy = target.center[1] - subject.center[1]
        if math.hypot(dx, dy) < 1e-6:
            return 180.0 - FACING_TOLERANCE_DEG  # stacked on its target: it faces nothing
        wanted = heading_towards(dx, dy)
    return _excess(angle_difference(subject.z_angle, wanted), FACING_TOLERANCE_DEG)


def object_rules(task: Task, obj: TaskObject, boxes: Mapping[str, Box]) -> list[RuleResult]:
    """Every rule of one object measured on ``boxes`` (which must hold every task object)."""
    box = boxes[obj.id]
    results = [
        RuleResult(obj.id, r.preposition, r.element, layout_rule_violation(box, r, task.size), "m")
        for r in obj.layout_rules
    ]
    results += [
        RuleResult(obj.id, r.preposition, r.target, object_rule_violation(box, r, boxes[r.target]), "m")
        for r in obj.object_rules
    ]
    if obj.facing is not None:
        results.append(RuleResult(obj.id, "facing", obj.facing, facing_violation(box, obj.facing, boxes), "deg"))
    return results


def evaluate_rules(task: Task, boxes: Mapping[str, Box]) -> list[RuleResult]:
    """Every placement rule of the task measured on a complete layout."""
    return [result for obj in task.objects for result in object_rules(task, obj, boxes)]
