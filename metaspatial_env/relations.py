"""Scene-graph rules measured on a layout: how far each placement rule is from being met.

Every rule reduces to a *violation*, the distance (metres) or angle (degrees) by which the
layout misses it beyond a tolerance, so 0 means satisfied. Scores decay smoothly with the
violation. Each rule is met by some layout of any valid task (a rule never asks for an
exact point), which is what keeps the relation reward honest.

Frames: "left of B" is B's own left and "in front of B" the side B faces
(:mod:`metaspatial_env.geometry`).

Besides the rules a scene graph spells out, it implies two (DESIGN.md section 6), measured with
them by :func:`evaluate_rules` (:func:`implied_rules` lists them for an object):

- *on the floor*: an object that is on the floor and not ``on`` another object stands on the
  floor, its bottom within the contact band of z = 0 (a rug or mat, at most
  :data:`CARPET_HEIGHT` thick, lifts it less than that). A wardrobe stacked on the bed misses it.
- *back to the wall*: a floor object with a front that is placed ``on`` a wall or ``in the
  corner`` of one, and a wall-mounted one, faces into the room, its back to that wall, within the
  facing tolerance (the wall rule itself measures how flush it stands). A wardrobe facing the
  wall, or standing end-on or corner-on to it, misses it; so does a picture hung sideways.

*Required* rules (:attr:`RuleResult.required`) are those a successful layout must meet whatever the
other rules do: the support rules (``on``, ``under``, on the floor) and the back to the wall.

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
    WALL_FACING_INTO_ROOM,
    WALLS,
    Box,
    Boxes,
    angle_differences,
    clip_convex,
    headings_towards,
    hypots,
    point_polygon_distances,
    polygon_area,
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
#: Thickest floor covering (rug, mat): a floor object this thin is one, and others stand on it.
#: It lifts what stands on it less than CONTACT_TOLERANCE, so they still stand on the floor.
CARPET_HEIGHT = 0.03
#: The target of the implied floor rule and the preposition of the implied wall rule.
FLOOR = "floor"
BACK_TO = "back to"
#: Object prepositions a successful layout must meet (with the implied rules).
SUPPORT_PREPOSITIONS = ("on", "under")
_COMPASS = ("north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west")


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
    required: bool = False
    """Whether a successful layout must meet it: ``on``, ``under``, on the floor, back to the wall."""
    measured: float | None = None
    """For the implied rules, what was measured: the bottom's height (m) or the heading (degrees)."""
    support: str | None = None
    """For the floor rule, the object the subject stands on instead of the floor, if any."""

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
        if self.target == FLOOR:
            return self._describe_floor()
        if self.preposition == BACK_TO:
            return self._describe_back()
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

    def _describe_floor(self) -> str:
        """``wardrobe_1 stands 0.46 m above the floor, on bed_1; ...``, or how far it sinks in."""
        bottom = self.measured if self.measured is not None else 0.0
        if bottom < 0.0:
            return f"{self.subject} sinks {-bottom:.2f} m into the floor; a floor object stands on the floor"
        where = f", on {self.support}" if self.support else ""
        return (f"{self.subject} stands {bottom:.2f} m above the floor{where}; "
                "a floor object stands on the floor (or on a rug)")

    def _describe_back(self) -> str:
        """Which way the object faces and which way, back to its wall, it should."""
        heading = (self.measured if self.measured is not None else 0.0) % 360.0
        wanted = WALL_FACING_INTO_ROOM[self.target]
        wall = self.target.replace("_wall", " wall")
        return (f"{self.subject} faces {compass(heading)} (z_angle {heading:.0f}); with its back to the {wall} "
                f"it should face {compass(wanted)} into the room (z_angle {wanted:.0f}); "
                f"it is {self.violation:.0f} degrees off")


def compass(heading: float) -> str:
    """The nearest of the eight compass points to a heading, e.g. ``north-east``."""
    return _COMPASS[int(((heading % 360.0) + 22.5) // 45.0) % 8]


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


def floor_violations(boxes: Boxes, *, margin: float = 0.0) -> np.ndarray:
    """Violation (m) of each box standing on the floor: its bottom's distance from the contact band."""
    return _contact_violation(boxes.z_lo, margin)


def back_to_wall_violations(boxes: Boxes, wall: str, *, margin: float = 0.0) -> np.ndarray:
    """Heading error (degrees) beyond tolerance of each box standing with its back to ``wall``
    (facing into the room). ``margin`` is in degrees."""
    return _excess(angle_differences(boxes.angle, WALL_FACING_INTO_ROOM[wall]), FACING_TOLERANCE_DEG - margin)


def implied_rules(obj: TaskObject) -> tuple[tuple[str, str], ...]:
    """The rules the scene graph implies for ``obj``, as (preposition, target).

    ``("on", "floor")`` for an object on the floor and not ``on`` another; ``("back to", wall)`` for
    an object with a front that stands on or in the corner of a wall (its first such wall) or hangs
    on one: a wardrobe, or a picture, turned to the wall or end-on to it is never what a person asks for.
    """
    rules: list[tuple[str, str]] = []
    if obj.on_floor and obj.mount is None and not any(r.preposition == "on" for r in obj.object_rules):
        rules.append(("on", FLOOR))
    if obj.on_floor and obj.mount is None:
        wall = next((r.element for r in obj.layout_rules if r.element in WALLS), None)
    else:
        wall = obj.mount if obj.mount in WALLS else None
    if wall is not None and obj.has_front:
        rules.append((BACK_TO, wall))
    return tuple(rules)


def support_under(subject: Box, others: Mapping[str, Box], reach: float = math.inf) -> str | None:
    """The object ``subject`` rests on: of those whose footprint overlaps its own and whose top is
    at most ``reach`` below its bottom and no higher than its centre (or the contact band above its
    bottom), the highest. A settled box may lie tilted, which its upright box does not show: its
    supports may reach above its upright bottom, and by default there is no lower bound."""
    bottom = subject.z_range[0]
    ceiling = max(bottom + CONTACT_TOLERANCE, float(subject.center[2]))
    footprint = subject.footprint()
    lo, hi = footprint.min(axis=0), footprint.max(axis=0)
    best, best_top = None, -math.inf
    for oid, box in others.items():
        top = box.z_range[1]
        if top > ceiling or top < bottom - reach or top <= best_top:
            continue
        other = box.footprint()
        # the step calls this for every object off the floor: clip only footprints whose boxes meet
        if (other.min(axis=0) >= hi).any() or (other.max(axis=0) <= lo).any():
            continue
        if polygon_area(clip_convex(footprint, other)) > 0.0:
            best, best_top = oid, top
    return best


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
    """The rules of ``objects``, spelt out and implied: rules of one kind (a layout element and
    preposition, an object preposition, facing a wall, facing an object, the floor, back to a wall)
    are measured in one call of their array form, each pair of boxes on its own row, so a layout
    costs a handful of array calls, not one a rule."""
    ids = {obj.id for obj in objects} | {r.target for obj in objects for r in obj.object_rules}
    ids |= {obj.facing for obj in objects if obj.facing is not None and obj.facing not in WALLS}
    if not ids:
        return []
    order = sorted(ids)
    index = {oid: i for i, oid in enumerate(order)}
    rows = Boxes.from_boxes([boxes[oid] for oid in order])
    slots: list[tuple[str, str, str, str, bool]] = []  # (subject, preposition, target, unit, required) in order
    groups: dict[tuple, tuple[list[int], list[int], list[int]]] = {}  # kind -> (slots, subjects, targets)

    def add(kind: tuple, subject: str, preposition: str, target: str, unit: str, target_row: int = -1,
            required: bool = False) -> None:
        positions, subjects, targets = groups.setdefault(kind, ([], [], []))
        positions.append(len(slots))
        subjects.append(index[subject])
        targets.append(target_row)
        slots.append((subject, preposition, target, unit, required))

    for obj in objects:
        for r in obj.layout_rules:
            add(("layout", r.element, r.preposition), obj.id, r.preposition, r.element, "m")
        for r in obj.object_rules:
            add(("object", r.preposition, r.is_adjacent), obj.id, r.preposition, r.target, "m", index[r.target],
                required=r.preposition in SUPPORT_PREPOSITIONS)
        if obj.facing in WALLS:
            add(("facing", obj.facing), obj.id, "facing", obj.facing, "deg")
        elif obj.facing is not None:
            add(("facing", None), obj.id, "facing", obj.facing, "deg", index[obj.facing])
        for preposition, target in implied_rules(obj):
            kind = ("floor",) if target == FLOOR else (BACK_TO, target)
            add(kind, obj.id, preposition, target, "m" if target == FLOOR else "deg", required=True)

    violations = np.zeros(len(slots))
    measured: dict[int, float] = {}
    for kind, (positions, subjects, targets) in groups.items():
        subject = rows[np.array(subjects)]
        if kind[0] == "layout":
            values = layout_violations(subject, kind[1], kind[2], task.size)
        elif kind[0] == "object":
            values = object_violations(subject, kind[1], kind[2], rows[np.array(targets)])
        elif kind[0] == "facing":
            values = facing_violations(subject, kind[1] if kind[1] is not None else rows[np.array(targets)])
        elif kind[0] == "floor":
            values = floor_violations(subject)
            measured.update(zip(positions, subject.z_lo.tolist()))
        else:
            values = back_to_wall_violations(subject, kind[1])
            measured.update(zip(positions, subject.angle.tolist()))
        violations[positions] = values
    results = []
    for position, ((subject, preposition, target, unit, required), v) in enumerate(zip(slots, violations.tolist())):
        support = None
        if target == FLOOR and v > 0.0:
            support = support_under(boxes[subject], {oid: b for oid, b in boxes.items() if oid != subject})
        results.append(RuleResult(subject, preposition, target, float(v), unit, required,
                                  measured.get(position), support))
    return results
