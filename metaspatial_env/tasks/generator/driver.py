"""The driver: :func:`generate_task` draws the room type, style, object count and room size from
the seed, builds the room (recipe, fillers, rugs, fillers again), gives it doors and windows that
its layout keeps usable (:func:`.usable.make_usable`), retries with fresh sizes until enough
objects fit and emits the task."""

from __future__ import annotations

import math

import numpy as np

from ...schema import Task
from ..catalog import ROOM_TYPES, STYLES
from .constants import ROOM_HEIGHTS, ROOM_SIZE_RANGES
from .fillers import fill
from .output import finalize
from .recipes import recipe
from .room import Room
from .rugs import place_rug
from .usable import make_usable

#: Room sizes tried before giving up.
_ATTEMPTS = 40


def generate_task(
    seed: int,
    *,
    room_type: str | None = None,
    min_objects: int = 4,
    max_objects: int = 20,
    dense: bool = False,
    task_id: str | None = None,
) -> Task:
    """Generate one room deterministically from ``seed``.

    ``room_type`` (one of :data:`ROOM_TYPES`) is drawn from the seed when None. The room holds
    between ``min_objects`` and ``max_objects`` objects (``dense`` raises the minimum to 14 and uses
    smaller rooms). The task's ``reference_layout`` satisfies every emitted rule (checked with
    :func:`metaspatial_env.relations.evaluate_rules`), lies inside the room and is collision-free.
    ``task_id`` defaults to ``gen_{seed}_{room_type}``.
    """
    task, _ = _generate(
        seed, room_type=room_type, min_objects=min_objects, max_objects=max_objects, dense=dense, task_id=task_id
    )
    return task


def _generate(
    seed: int, *, room_type: str | None, min_objects: int, max_objects: int, dense: bool, task_id: str | None
) -> tuple[Task, list[str]]:
    """:func:`generate_task`, and the rules dropped at the final re-measure (never expected: empty)."""
    min_objects = _check_args(seed, room_type, min_objects, max_objects, dense)
    rng = np.random.default_rng(int(seed))
    if room_type is None:
        room_type = ROOM_TYPES[int(rng.integers(len(ROOM_TYPES)))]
    if task_id is None:
        task_id = f"gen_{int(seed)}_{room_type}"
    style = STYLES[int(rng.integers(len(STYLES)))]
    target = int(rng.integers(min_objects, max_objects + 1))
    chosen: tuple[Room, list] | None = None
    smaller: list[Room] = []  # rooms short of the target, each larger than the ones before
    for attempt in range(_ATTEMPTS):
        size = _room_size(rng, room_type, dense, attempt)
        room = _build(rng, room_type, size, style, target, dense)
        n = len(room.objs)
        if n >= min_objects and n >= min(target, max_objects) - (0 if dense else 3):
            # doors and windows the layout keeps usable (dropping objects if need be), or another size
            openings = make_usable(room, int(seed), min_objects)
            if openings is not None:
                chosen = (room, openings)
                break
        elif not smaller or n > len(smaller[-1].objs):
            smaller.append(room)
    for room in reversed(smaller):  # none reached the target: the largest that can be made usable
        if chosen is not None or len(room.objs) < min_objects:
            break
        openings = make_usable(room, int(seed), min_objects)
        if openings is not None:
            chosen = (room, openings)
    if chosen is None:
        raise RuntimeError(f"could not fit {min_objects} usable objects in a {room_type} (seed {seed})")
    return finalize(chosen[0], task_id, rng, int(seed), chosen[1])


def _check_args(seed, room_type: str | None, min_objects: int, max_objects: int, dense: bool) -> int:
    """``ValueError`` for bad arguments; returns the effective ``min_objects`` (at least 14 when dense)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if room_type is not None and room_type not in ROOM_TYPES:
        raise ValueError(f"unknown room type {room_type!r}; known: {', '.join(ROOM_TYPES)}")
    if dense:
        min_objects = max(min_objects, 14)
    if not 1 <= min_objects <= max_objects:
        raise ValueError(f"need 1 <= min_objects <= max_objects, got {min_objects}, {max_objects}")
    return min_objects


def _room_size(rng: np.random.Generator, room_type: str, dense: bool, attempt: int) -> tuple[float, float, float]:
    """A size in the type's ranges (dense rooms: the small end, growing with each attempt), maybe turned 90 degrees."""
    (x0, x1), (y0, y1) = ROOM_SIZE_RANGES[room_type]
    if dense:
        grow = min(1.0, 0.45 + 0.08 * attempt)
        x1, y1 = x0 + (x1 - x0) * grow, y0 + (y1 - y0) * grow
    X = round(float(rng.uniform(x0, x1)) * 20) / 20
    Y = round(float(rng.uniform(y0, y1)) * 20) / 20
    if rng.random() < 0.5:
        X, Y = Y, X
    Z = float(ROOM_HEIGHTS[int(rng.integers(len(ROOM_HEIGHTS)))])
    return (X, Y, Z)


def _build(rng: np.random.Generator, room_type: str, size, style: str, target: int, dense: bool) -> Room:
    """One room of ``target`` objects at most: the recipe's groups, fillers, the rugs asked for, fillers."""
    room = Room(rng, room_type, size, style, target, dense)
    for i, (builder, prob) in enumerate(recipe(room)):
        if room.left() < 1:
            break
        if room.p(math.sqrt(prob) if dense else prob):
            builder(room)
            _tag(room, "core" if i == 0 else "recipe")
    fill(room)
    _tag(room, "filler")
    pending, room.rug_requests = room.rug_requests, []
    for key, cat in pending:
        place_rug(room, key, cat)
    _tag(room, "rug")
    fill(room)
    _tag(room, "filler")
    return room


def _tag(room: Room, origin: str) -> None:
    """Mark the objects placed since the last call as placed by ``origin``."""
    for o in room.objs:
        if not o.origin:
            o.origin = origin
