"""One layout, judged: static checks -> PyBullet settle -> rules -> reward terms -> problems.

This is the step pipeline of DESIGN.md section 6 without parsing and rendering, so the env,
the benchmarks and the agents all score layouts the same way.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from .actions import ParseResult
from .function import FunctionReport, describe, evaluate_function
from .geometry import Box
from .physics import PhysicsWorld, SettleBody, SettleResult, StaticReport, static_checks
from .relations import TOUCH_TOLERANCE, RuleResult, evaluate_rules, layout_rule_violation, support_under
from .reward import (
    TOLERANCE_SLACK,
    RewardConfig,
    bounds_term,
    collides,
    collision_penalties,
    collision_term,
    format_term,
    is_success,
    object_soundness,
    relations_term,
    stability_score,
    stability_term,
    total_reward,
    worst_term,
)
from .schema import LayoutRule, Task


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the layout, for feedback: what, about which object, and how much."""

    object_id: str | None
    kind: str
    """``unplaced``, ``parse``, ``collision``, ``out_of_bounds``, ``unstable``, ``rule``, or a
    function rule's: ``door``, ``window``, ``access``, ``clearance``."""
    amount: float
    unit: str
    """``m``, ``deg`` or ``""``."""
    other: str | None
    """The other object of a collision, the boundary left, or the target of a rule."""
    text: str

    def to_dict(self) -> dict:
        return {"object_id": self.object_id, "kind": self.kind, "amount": round(self.amount, 4),
                "unit": self.unit, "other": self.other, "text": self.text}


@dataclass(frozen=True)
class Evaluation:
    """Everything the step learnt about a layout."""

    terms: dict[str, float]
    total: float
    success: bool
    static: StaticReport
    settle: SettleResult
    rules: list[RuleResult]
    problems: list[Problem]
    function: FunctionReport | None = None
    """The function rules and the room's usability rates (None in a room without openings)."""

    def settled_layout(self) -> dict[str, dict[str, float]]:
        return {oid: pose_dict(s.box) for oid, s in self.settle.objects.items()}


def initial_boxes(task: Task) -> dict[str, Box]:
    """Every object's pose before an answer places it: stacked at the room's centre (DESIGN.md
    section 6), so leaving an object out of the answer costs."""
    X, Y, _ = task.size
    return {o.id: Box(o.size, (X / 2.0, Y / 2.0, o.size[2] / 2.0), o.z_angle) for o in task.objects}


def pose_dict(box: Box) -> dict[str, float]:
    """A box's pose in the action schema's keys, rounded to 0.1 mm."""
    x, y, z = box.center
    return {"x": round(x, 4), "y": round(y, 4), "z": round(z, 4), "z_angle": round(box.z_angle % 360.0, 2)}


def contact_pairs(task: Task) -> frozenset[frozenset[str]]:
    """Pairs of objects allowed to touch: those in a declared ``on``/``under`` relation."""
    return frozenset(
        frozenset((o.id, r.target)) for o in task.objects for r in o.object_rules if r.preposition in ("on", "under")
    )


def _held(task: Task, boxes: Mapping[str, Box]) -> set[str]:
    """Mounted objects touching their wall or ceiling; only these are held in place."""
    held = set()
    for obj in task.objects:
        mount = obj.mount
        if mount is not None and layout_rule_violation(boxes[obj.id], LayoutRule(mount, "on"), task.size) == 0.0:
            held.add(obj.id)
    return held


def _uncarried(task: Task, held: set[str]) -> list[tuple[str, str]]:
    """(mount, object) pairs that must not touch in the settle: a held fixture carries only what the
    scene graph puts ``on`` it, so anything else resting on it (a stove on the range hood, a
    bookcase on a picture) passes through and falls."""
    carried = {(r.target, o.id) for o in task.objects for r in o.object_rules if r.preposition == "on"}
    return [(mount, oid) for mount in sorted(held) for oid in task.object_ids
            if oid not in held and (mount, oid) not in carried]


def evaluate_layout(task: Task, boxes: Mapping[str, Box], placed: set[str], parse: ParseResult,
                    world: PhysicsWorld, cfg: RewardConfig, timings: dict[str, float] | None = None) -> Evaluation:
    """Score a complete layout (``boxes`` holds every task object; ``placed`` those validly placed)."""
    timings = {} if timings is None else timings
    clock = time.perf_counter()
    static = static_checks(task.size, boxes)
    contacts = contact_pairs(task)
    penalties = collision_penalties(((o.a, o.b, o.depth, o.ratio) for o in static.overlaps), task.object_ids,
                                    contacts, cfg)
    timings["static"] = time.perf_counter() - clock

    clock = time.perf_counter()
    held = _held(task, boxes)
    bodies = [SettleBody(oid, boxes[oid], fixed=oid in held) for oid in task.object_ids]
    settle = world.settle(task.size, bodies, ignore_pairs=_uncarried(task, held), static=static)
    timings["settle"] = time.perf_counter() - clock

    clock = time.perf_counter()
    settled = {oid: s.box for oid, s in settle.objects.items()}
    rules = evaluate_rules(task, settled)
    stability = {oid: stability_score(s.displacement, s.rotation, cfg) for oid, s in settle.objects.items()}
    inside = {oid: r.inside_fraction for oid, r in static.out_of_room.items()}
    required: dict[str, list[float]] = {oid: [] for oid in task.object_ids}
    for r in rules:
        if r.required:
            required[r.subject].append(r.score)
    soundness = {oid: object_soundness(penalties[oid], inside[oid], stability[oid], required[oid])
                 for oid in task.object_ids}
    terms = {
        "format": format_term(len(task.objects), len(parse.placements),
                              parse.count("unknown_id") + parse.count("duplicate_id"), cfg.id_error_penalty),
        "collision": collision_term(penalties, placed),
        "bounds": bounds_term(inside, placed),
        "stability": stability_term(stability, placed),
        "relations": relations_term(
            (r.score, r.subject in placed and (r.target in placed or r.target not in boxes)) for r in rules
        ),
        "worst": worst_term(soundness, placed),
    }
    function_clock = time.perf_counter()
    function = evaluate_function(task, settled, placed, cfg.function_grid, cfg.function_tolerance)
    timings["function"] = time.perf_counter() - function_clock  # part of "evaluate"
    if function is not None:
        terms["function"] = function.term
    success = is_success(
        clean_answer=len(placed) == len(task.objects) and not parse.errors,
        penalties=penalties,
        out_distance={oid: r.distance for oid, r in static.out_of_room.items()},
        stability_scores=stability,
        required_rules=(r.satisfied for r in rules if r.required),
        other_rules=(r.satisfied for r in rules if not r.required),
        cfg=cfg,
        function_rules=() if function is None else (r.satisfied for r in function.rules),
    )
    problems = _problems(task, boxes, placed, parse, static, penalties, contacts, held, settle, stability, rules, cfg)
    problems += _function_problems(task, function, placed)
    timings["evaluate"] = time.perf_counter() - clock
    return Evaluation(terms, total_reward(terms, cfg), success, static, settle, rules, problems, function)


def _function_problems(task: Task, function: FunctionReport | None, placed: set[str]) -> list[Problem]:
    """The broken function rules, one line per blocking object; an unplaced object's own rules are
    left to its ``unplaced`` line."""
    if function is None:
        return []
    problems = []
    for rule in function.rules:
        if rule.kind in ("access", "clearance") and rule.subject not in placed:
            continue
        for oid, amount, other, text in describe(rule, function, task):
            problems.append(Problem(oid, rule.kind, amount, "m", other, text))
    return problems


def _problems(task, boxes, placed, parse, static, penalties, contacts, held, settle, stability, rules,
              cfg) -> list[Problem]:
    problems = [
        Problem(e.object_id, "parse", 0.0, "", None, f"answer error {e.describe()}")
        for e in parse.errors if e.code != "missing_object"
    ]
    for oid in task.object_ids:
        if oid not in placed:
            problems.append(Problem(oid, "unplaced", 0.0, "", None,
                                    f"{oid} has no valid position yet (it sits stacked at the room centre)"))
    for o in static.overlaps:
        if collides(o.a, o.b, o.depth, contacts, cfg):
            problems.append(Problem(o.a, "collision", o.depth, "m", o.b,
                                    f"{o.a} overlaps {o.b} by {o.depth:.2f} m"))
    for oid, r in static.out_of_room.items():
        if r.distance > cfg.bounds_tolerance + TOLERANCE_SLACK:
            where = r.boundary.replace("_wall", " wall")
            where = f"the {where}" if "wall" in where else f"the {where}"
            problems.append(Problem(oid, "out_of_bounds", r.distance, "m", r.boundary,
                                    f"{oid} is {r.distance:.2f} m outside {where}"))
    for oid, s in settle.objects.items():
        if stability[oid] < 1.0:
            if s.drop > cfg.stable_displacement:
                text = f"{oid} fell {s.drop:.2f} m" + _fixture_note(task, oid, boxes, held)
            else:
                text = f"{oid} moved {s.displacement:.2f} m and turned {s.rotation:.0f} degrees when settling"
            problems.append(Problem(oid, "unstable", s.displacement, "m", None, text))
    for r in rules:
        if not r.satisfied:
            problems.append(Problem(r.subject, "rule", r.violation, r.unit, r.target, r.describe()))
    return problems


def _fixture_note(task: Task, oid: str, boxes: Mapping[str, Box], held: set[str]) -> str:
    """Why an object fell, when it was answered resting on a held fixture that does not carry it."""
    carriers = {r.target for r in task.object(oid).object_rules if r.preposition == "on"}
    fixtures = {m: boxes[m] for m in held if m not in carriers and m != oid}
    fixture = support_under(boxes[oid], fixtures, reach=TOUCH_TOLERANCE) if fixtures else None
    if fixture is None:
        return ""
    mount = task.object(fixture).mount or ""
    where = "on the ceiling" if mount == "ceiling" else f"on the {mount.replace('_wall', ' wall')}"
    return f": it stood on {fixture}, which hangs {where} and carries only what is put on it"
