"""Repair: what the environment will blame in a layout, and re-solving it around the rest.

:func:`self_check` measures a layout with the environment's own rules and static checks;
:func:`repair_layout` re-solves the blamed objects (and what hangs on them) with the rest fixed,
barring the poses that already failed (the :data:`Tabu` list, priced by :func:`tabu_penalty`); an
object blamed twice in a row drags its anchor chain (:func:`ancestors`) into the re-solve.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import numpy as np

from metaspatial_env.geometry import angle_differences
from metaspatial_env.physics.static import static_checks
from metaspatial_env.relations import evaluate_rules
from metaspatial_env.schema import Task

from .common import (
    ANCHOR_TABU_RADIUS,
    BOUNDS_SLACK,
    COLLISION_SLACK,
    CONTACT_SLACK,
    HARD,
    REQUIRED_MISS,
    RULE_MISS,
    TABU,
    TABU_RADIUS,
    Pose,
)

if TYPE_CHECKING:
    from .solver import LayoutSolver

#: Poses barred per object, each with the radius (m) of the neighbourhood barred around it.
Tabu = dict[str, list[tuple[Pose, float]]]


def tabu_penalty(poses: np.ndarray, bad: Pose, radius: float) -> np.ndarray:
    """:data:`TABU` for each candidate pose (rows x, y, z, z_angle) within ``radius`` of a barred pose."""
    near = (np.hypot(poses[:, 0] - bad.x, poses[:, 1] - bad.y) <= radius) & (np.abs(poses[:, 2] - bad.z) <= 0.03)
    return np.where(near & (angle_differences(poses[:, 3], bad.z_angle) <= 3.0), TABU, 0.0)


def self_check(solver: LayoutSolver, layout: Mapping[str, Pose]) -> tuple[set[str], float]:
    """What the environment's static measures will blame in ``layout``, before any physics.

    Returns the objects to move (subjects of unmet rules, the later-placed object of each
    colliding pair, objects out of the room) and a badness score: a collision or an object out
    of the room outweighs any number of unmet rules, which count one each plus their size.
    """
    task = solver.task
    boxes = {oid: p.box(solver.objects[oid]) for oid, p in layout.items()}
    named: set[str] = set()
    badness = 0.0
    for rule in evaluate_rules(task, boxes):
        if not rule.satisfied:
            named.add(rule.subject)
            badness += (REQUIRED_MISS if rule.required else RULE_MISS) + 0.01 * rule.violation
    report = static_checks(task.size, boxes)
    for overlap in report.overlaps:
        pair = frozenset((overlap.a, overlap.b))
        if overlap.depth > (CONTACT_SLACK if pair in solver.contact_pairs else COLLISION_SLACK):
            named.add(max(pair, key=solver.order.index))
            badness += HARD
    for oid, out in report.out_of_room.items():
        if out.distance > BOUNDS_SLACK:
            named.add(oid)
            badness += HARD
    return named, badness


def ancestors(task: Task, oid: str) -> set[str]:
    """Every object ``oid``'s object rules lead to, transitively (its anchor chain)."""
    objects = {o.id: o for o in task.objects}
    out: set[str] = set()
    todo = [oid]
    while todo:
        for rule in objects[todo.pop()].object_rules:
            if rule.target not in out and rule.target != oid:
                out.add(rule.target)
                todo.append(rule.target)
    return out


def dependents(task: Task, roots: Iterable[str]) -> set[str]:
    """``roots`` and every object whose object rules (transitively) point at one of them."""
    out = set(roots)
    grew = True
    while grew:
        grew = False
        for o in task.objects:
            if o.id not in out and any(r.target in out for r in o.object_rules):
                out.add(o.id)
                grew = True
    return out


def repair_layout(solver: LayoutSolver, layout: Mapping[str, Pose], named: set[str],
                  tabu: Tabu, named_before: Iterable[str] = ()) -> dict[str, Pose]:
    """Re-solve the ``named`` objects and their satellites around the rest of ``layout``.

    The poses that failed join ``tabu`` (so the next attempt differs). An object named again
    right after a repair had its chance: the anchors its rules lead to are re-solved with it,
    and barred from their old neighbourhood, because a chain (sink right of stove right of
    counter) that runs into a wall or a corner only fits when its first link moves.
    ``tabu`` is updated in place.
    """
    if not named:
        return dict(layout)
    for oid in named:
        tabu.setdefault(oid, []).append((layout[oid], TABU_RADIUS))
    roots = set(named)
    for oid in named & set(named_before):
        chain = ancestors(solver.task, oid)
        obj = solver.objects[oid]
        chain |= {obj.facing} & set(solver.objects)
        for anchor in chain:
            tabu.setdefault(anchor, []).append((layout[anchor], ANCHOR_TABU_RADIUS))
        roots |= chain
    redo = dependents(solver.task, roots)
    fixed = {oid: p for oid, p in layout.items() if oid not in redo}
    return solver.solve(fixed, redo, tabu)
