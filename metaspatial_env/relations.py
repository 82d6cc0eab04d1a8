"""Scene-graph rules measured on a layout: how far each placement rule is from being met.

Every rule reduces to a *violation*, the distance (metres) or angle (degrees) by which the
layout misses it beyond a tolerance, so 0 means satisfied. Scores decay smoothly with the
violation. Each rule is met by some layout of any valid task (a rule never asks for an
exact point), which is what keeps the relation reward honest.

Frames: "left of B" is B's own left and "in front of B" the side B faces
(:mod:`metaspatial_env.geometry`).

Each rule has one formula, written as an array form over :class:`~metaspatial_env.geometry.Boxes`
(:func:`layout_violations`, :func:`object_violations`, :func:`facing_violations`) that broadcasts
one box against many; solvers score thousands of candidate poses with it. The scalar functions
(:func:`layout_rule_violation` ...) are one-row calls of those forms. A ``margin`` (default 0,
which leaves every number as the plain rule has it) tightens each tolerance, for callers that
want to stay clear of a tolerance's edge.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from .geometry import (
    WALLS,
    Box,
    Boxes,
    angle_differences,
    headings_towards,
    hypots,
    point_polygon_distances,
    wall_gaps,
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


def _excess(value, tolerance):
    """``max(0.0, value - tolerance)`` element by element, exactly as Python's ``max`` picks."""
    excess = value - tolerance
    return np.where(excess > 0.0, excess, 0.0)


def _min(a, b):
    """``min(a, b)`` element by element, exactly as Python's ``min`` picks."""
    return np.where(b < a, b, a)


def _contact_violation(gap, margin: float = 0.0):
    """Distance from a gap to the band [-TOUCH_TOLERANCE, CONTACT_TOLERANCE] (tightened by ``margin``)."""
    return _excess(gap, CONTACT_TOLERANCE - margin) + _excess(-gap, TOUCH_TOLERANCE - margin)


def layout_violations(boxes: Boxes, element: str, preposition: str, room_size: tuple[float, float, float],
                      *, margin: float = 0.0) -> np.ndarray:
    """Violation (m) of a rule tying each box to a wall, the ceiling or the middle of the room."""
    if element == "ceiling":
        return _contact_violation(room_size[2] - boxes.z_hi, margin)
    if element == "middle of the room":
        # the centre must lie in the middle half of the room in x and in y
        x, y = boxes.center[..., 0], boxes.center[..., 1]
        X, Y = room_size[0], room_size[1]
        dx = _excess(np.abs(x - X / 2.0), X / 4.0 - margin)
        dy = _excess(np.abs(y - Y / 2.0), Y / 4.0 - margin)
        return hypots(dx, dy)
    if element not in WALLS:
        raise ValueError(f"unknown wall {element!r}")
    gaps = wall_gaps(boxes, room_size)
    violation = _contact_violation(gaps[element], margin)
    if preposition == "in the corner":
        first, second = (_contact_violation(gaps[w], margin) for w in PERPENDICULAR_WALLS[element])
        violation = violation + _min(first, second)
    return violation


def layout_rule_violation(box: Box, rule: LayoutRule, room_size: tuple[float, float, float]) -> float:
    """Violation (m) of a rule tying ``box`` to a wall, the ceiling or the middle of the room."""
    return float(layout_violations(Boxes.from_box(box), rule.element, rule.preposition, room_size)[0])


def _shrunk(boxes: Boxes, margin: float) -> Boxes:
    """The boxes with their footprints shrunk by ``margin`` on every side (never below nothing)."""
    if not margin:
        return boxes
    return replace(boxes, hl=np.maximum(boxes.hl - margin, 0.0), hw=np.maximum(boxes.hw - margin, 0.0))


def _vertical_violation(subject: Boxes, preposition: str, target: Boxes, margin: float) -> np.ndarray:
    """How far ``on`` / ``under`` / ``above`` misses in height, and in plan (centre over footprint)."""
    touch = TOUCH_TOLERANCE - margin
    if preposition == "on":
        vertical = _excess(np.abs(subject.z_lo - target.z_hi), touch)
        horizontal = point_polygon_distances(subject.center, _shrunk(target, margin).footprint())
    elif preposition == "under":
        vertical = _excess(subject.z_hi - target.z_lo, touch)
        horizontal = _min(point_polygon_distances(subject.center, _shrunk(target, margin).footprint()),
                          point_polygon_distances(target.center, _shrunk(subject, margin).footprint()))
    else:
        vertical = _excess(target.z_hi - subject.z_lo, touch)
        horizontal = _excess(point_polygon_distances(subject.center, target.footprint()), CONTACT_TOLERANCE - margin)
    return vertical + horizontal


def _side_violation(subject: Boxes, preposition: str, adjacent: bool, target: Boxes, margin: float) -> np.ndarray:
    """How far ``left of`` / ``right of`` / ``in front`` / ``behind`` misses, in the target's frame."""
    r_min, r_max, f_min, f_max = target.local_extent(subject)
    half_length, half_width = target.hl, target.hw
    r_mid, f_mid = (r_min + r_max) / 2.0, (f_min + f_max) / 2.0
    if preposition in ("left of", "right of"):
        gap = (-half_length - r_max) if preposition == "left of" else (r_min - half_length)
        alignment = _excess(np.abs(f_mid), half_width - margin)
    else:  # in front / behind
        gap = (f_min - half_width) if preposition == "in front" else (-half_width - f_max)
        alignment = _excess(np.abs(r_mid), half_length - margin)
    violation = _excess(-gap, TOUCH_TOLERANCE - margin) + alignment
    if adjacent:
        violation = violation + _excess(gap, ADJACENT_DISTANCE - margin)
    return violation


def object_violations(subject: Boxes, preposition: str, adjacent: bool, target: Boxes,
                      *, margin: float = 0.0) -> np.ndarray:
    """Violation (m) of ``subject <preposition> target`` for each (broadcast) pair of boxes.

    ``margin`` also shrinks every footprint a centre must lie over.
    """
    if preposition in ("on", "under", "above"):
        return _vertical_violation(subject, preposition, target, margin)
    return _side_violation(subject, preposition, adjacent, target, margin)


def object_rule_violation(subject: Box, rule: ObjectRule, target: Box) -> float:
    """Violation (m) of ``subject <preposition> target``, measured in the target's frame."""
    violation = object_violations(Boxes.from_box(subject), rule.preposition, rule.is_adjacent, Boxes.from_box(target))
    return float(violation[0])


def facing_violations(subject: Boxes, target: Boxes | str, *, margin: float = 0.0) -> np.ndarray:
    """Heading error (degrees) beyond tolerance of each subject facing a wall (a name) or a box.

    ``margin`` is in degrees.
    """
    tolerance = FACING_TOLERANCE_DEG - margin
    if isinstance(target, str):
        return _excess(angle_differences(subject.angle, HEADING_TO_WALL[target]), tolerance)
    dx = target.center[..., 0] - subject.center[..., 0]
    dy = target.center[..., 1] - subject.center[..., 1]
    violation = _excess(angle_differences(subject.angle, headings_towards(dx, dy)), tolerance)
    # stacked on its target: it faces nothing
    return np.where(hypots(dx, dy) < 1e-6, 180.0 - tolerance, violation)


def facing_violation(subject: Box, facing: str, boxes: Mapping[str, Box]) -> float:
    """Heading error (degrees) beyond tolerance for a ``facing`` field (an object or a wall)."""
    target = facing if facing in WALLS else Boxes.from_box(boxes[facing])
    return float(facing_violations(Boxes.from_box(subject), target)[0])


def object_rules(task: Task, obj: TaskObject, boxes: Mapping[str, Box]) -> list[RuleResult]:
    """Every rule of one object measured on ``boxes`` (which must hold every task object)."""
    return _measure(task, (obj,), boxes)


def evaluate_rules(task: Task, boxes: Mapping[str, Box]) -> list[RuleResult]:
    """Every placement rule of the task measured on a complete layout, in task order."""
    return _measure(task, task.objects, boxes)


def _measure(task: Task, objects: Sequence[TaskObject], boxes: Mapping[str, Box]) -> list[RuleResult]:
    """The rules of ``objects``: rules of one kind (a layout element and preposition, an object
    preposition, facing a wall, facing an object) are measured in one call of their array form,
    each pair of boxes on its own row, so a layout costs a handful of array calls, not one a rule."""
    ids = {obj.id for obj in objects} | {r.target for obj in objects for r in obj.object_rules}
    ids |= {obj.facing for obj in objects if obj.facing is not None and obj.facing not in WALLS}
    if not ids:
        return []
    order = sorted(ids)
    index = {oid: i for i, oid in enumerate(order)}
    rows = Boxes.from_boxes([boxes[oid] for oid in order])
    slots: list[tuple[str, str, str, str]] = []  # (subject, preposition, target, unit) in output order
    groups: dict[tuple, tuple[list[int], list[int], list[int]]] = {}  # kind -> (slots, subjects, targets)

    def add(kind: tuple, subject: str, preposition: str, target: str, unit: str, target_row: int = -1) -> None:
        positions, subjects, targets = groups.setdefault(kind, ([], [], []))
        positions.append(len(slots))
        subjects.append(index[subject])
        targets.append(target_row)
        slots.append((subject, preposition, target, unit))

    for obj in objects:
        for r in obj.layout_rules:
            add(("layout", r.element, r.preposition), obj.id, r.preposition, r.element, "m")
        for r in obj.object_rules:
            add(("object", r.preposition, r.is_adjacent), obj.id, r.preposition, r.target, "m", index[r.target])
        if obj.facing in WALLS:
            add(("facing", obj.facing), obj.id, "facing", obj.facing, "deg")
        elif obj.facing is not None:
            add(("facing", None), obj.id, "facing", obj.facing, "deg", index[obj.facing])

    violations = np.zeros(len(slots))
    for kind, (positions, subjects, targets) in groups.items():
        subject = rows[np.array(subjects)]
        if kind[0] == "layout":
            measured = layout_violations(subject, kind[1], kind[2], task.size)
        elif kind[0] == "object":
            measured = object_violations(subject, kind[1], kind[2], rows[np.array(targets)])
        else:
            measured = facing_violations(subject, kind[1] if kind[1] is not None else rows[np.array(targets)])
        violations[positions] = measured
    return [RuleResult(subject, preposition, target, float(v), unit)
            for (subject, preposition, target, unit), v in zip(slots, violations.tolist())]
