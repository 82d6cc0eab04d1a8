"""Verification of a task's reference layout: every rule met, inside the room, floor objects on
the floor, no interpenetration except declared ``on``/``under`` pairs, and (in a room with doors or
windows) every function rule met."""

from __future__ import annotations

import numpy as np

from ...function import evaluate_function
from ...geometry import Box
from ...relations import evaluate_rules
from ...schema import Task


def verify_reference_layout(task: Task, tolerance: float = 0.01) -> list[str]:
    """Problems with ``task.reference_layout`` (empty when fine).

    Checks that every rule is met (violation 0 via :func:`evaluate_rules`), every box lies inside
    the room, floor objects rest on the floor, no two boxes interpenetrate deeper than
    ``tolerance`` except pairs declared ``on``/``under`` one another, and every function rule
    (:func:`~metaspatial_env.function.evaluate_function`: doors, windows, reach, front clearance)
    holds in a room with openings.
    """
    if task.reference_layout is None:
        return ["no reference layout"]
    missing = [o.id for o in task.objects if o.id not in task.reference_layout]
    if missing:
        return [f"reference layout lacks {missing}"]
    boxes = {}
    for o in task.objects:
        p = task.reference_layout[o.id]
        boxes[o.id] = Box(o.size, (p["x"], p["y"], p["z"]), p.get("z_angle", o.z_angle))
    problems = [f"rule not met: {r.describe()}" for r in evaluate_rules(task, boxes) if r.violation > 0.0]
    problems += _bounds_problems(task, boxes)
    problems += _overlap_problems(task, boxes, tolerance)
    problems += _function_problems(task, boxes)
    return problems


def _function_problems(task: Task, boxes: dict[str, Box]) -> list[str]:
    """Function rules (doors, windows, reach, front clearance) the layout fails; none without openings."""
    report = evaluate_function(task, boxes, set(task.object_ids))
    if report is None:
        return []
    return [f"function rule not met: {r.kind} {r.subject} (score {r.score:.3f}"
            + (f", blocked by {', '.join(oid for oid, _ in r.blockers)})" if r.blockers else ")")
            for r in report.rules if not r.satisfied]


def _bounds_problems(task: Task, boxes: dict[str, Box]) -> list[str]:
    """Boxes poking out of the room, then floor objects not resting on the floor."""
    problems = []
    X, Y, Z = task.size
    for oid, b in boxes.items():
        lo, hi = b.aabb()
        if (lo < -1e-6).any() or hi[0] > X + 1e-6 or hi[1] > Y + 1e-6 or hi[2] > Z + 1e-6:
            problems.append(f"{oid} pokes out of the room")
    for o in task.objects:
        if o.on_floor and abs(boxes[o.id].z_range[0]) > 1e-6:
            problems.append(f"{o.id} is a floor object but does not rest on the floor")
    return problems


def _overlap_problems(task: Task, boxes: dict[str, Box], tolerance: float) -> list[str]:
    """Pairs of boxes, not declared ``on``/``under`` one another, overlapping deeper than ``tolerance``."""
    problems = []
    declared = {(o.id, r.target) for o in task.objects for r in o.object_rules if r.preposition in ("on", "under")}
    declared |= {(b, a) for a, b in declared}
    ids = list(boxes)
    aabbs = {k: boxes[k].aabb() for k in ids}
    for i, a in enumerate(ids):
        alo, ahi = aabbs[a]
        for b in ids[i + 1 :]:
            if (a, b) in declared:
                continue
            blo, bhi = aabbs[b]
            depth = np.minimum(ahi, bhi) - np.maximum(alo, blo)
            if depth.min() > tolerance + 1e-9:
                problems.append(f"{a} and {b} overlap by {depth.min():.3f} m")
    return problems
