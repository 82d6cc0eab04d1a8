"""Where an episode starts (DESIGN.md section 7): the empty stack, or a layout to repair.

MetaSpatial's promise is refinement: a policy sees a layout and its problems and fixes them. A
repair episode starts from a layout instead of the empty stack (SceneReVis's chaotic and
incomplete scenes, as tasks), and its first observation shows and describes that layout:

- ``{"kind": "empty"}`` (the default): every object stacked at the room's centre, none placed;
- ``{"kind": "layout", "layout": {id: {"x", "y", "z", "z_angle"}}}``: a given layout; objects it
  leaves out stay stacked and unplaced;
- ``{"kind": "perturbed", "scale": s, "angle": a}``: the room's reference layout with every
  object moved by N(0, s) m in x and y and turned by N(0, a) degrees;
- ``{"kind": "chaotic"}``: every object anywhere on the floor of the room, at any heading;
- ``{"kind": "missing", "count": k}``: the reference layout with ``k`` objects (1 by default)
  taken out, stacked at the room's centre and unplaced.

Generated starts draw from a child of the reset's seed sequence (``EpisodeEnv._start_rng``), so a
seeded reset gives the same start every time, on either face of the env. A start is given as the env's registered ``start``
argument or as the ``start`` reset option (which wins), a mapping of :class:`StartSpec` fields.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .config import from_mapping
from .geometry import Box
from .schema import Task
from .scoring import initial_boxes

START_KINDS = ("empty", "layout", "perturbed", "chaotic", "missing")
#: Generated starts that are made from the room's reference layout.
FROM_REFERENCE = ("perturbed", "missing")


@dataclass(frozen=True)
class StartSpec:
    """How an episode's layout starts; unknown keys are errors (see :meth:`from_dict`)."""

    kind: str = "empty"
    """One of :data:`START_KINDS`."""
    scale: float = 0.3
    """``perturbed``: standard deviation (m) of the move in x and in y."""
    angle: float = 0.0
    """``perturbed``: standard deviation (degrees) of the turn."""
    count: int = 1
    """``missing``: how many objects are taken out (at most all but one)."""
    layout: dict = field(default_factory=dict)
    """``layout``: the poses, ``{object id: {"x", "y", "z", "z_angle"}}`` (``z_angle`` optional)."""

    def __post_init__(self) -> None:
        if self.kind not in START_KINDS:
            raise ValueError(f"start kind must be one of {START_KINDS}, got {self.kind!r}")
        for name in ("scale", "angle"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
                raise ValueError(f"start {name} must be a finite number >= 0, got {value!r}")
        if not isinstance(self.count, int) or isinstance(self.count, bool) or self.count < 1:
            raise ValueError(f"start count must be a positive int, got {self.count!r}")
        if not isinstance(self.layout, dict):
            raise ValueError(f"start layout must be a mapping of object ids to poses, got {self.layout!r}")
        if self.kind == "layout" and not self.layout:
            raise ValueError("a start of kind 'layout' needs a non-empty 'layout' of poses")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | StartSpec | str | None) -> StartSpec:
        """From a mapping of fields, or a kind's name alone (``"chaotic"``); unknown keys raise."""
        if isinstance(data, str):
            data = {"kind": data}
        return from_mapping(cls, data, "start keys")


@dataclass(frozen=True)
class Start:
    """An episode's starting poses (every object) and the objects they count as placed."""

    boxes: dict[str, Box]
    placed: frozenset[str]
    kind: str = "empty"
    """The :attr:`StartSpec.kind` it was made for."""

    @property
    def empty(self) -> bool:
        return not self.placed


def make_start(task: Task, spec: StartSpec, rng: np.random.Generator) -> Start:
    """The starting layout of ``task`` for ``spec``, drawn from ``rng`` when generated.

    Raises ``ValueError`` naming the task when the start cannot be made (a reference-based start
    for a room without a reference layout, a given layout with unknown ids or bad numbers, more
    objects missing than the room can lose).
    """
    start = _make(task, spec, rng)
    return Start(start.boxes, start.placed, spec.kind)


def _make(task: Task, spec: StartSpec, rng: np.random.Generator) -> Start:
    stacked = initial_boxes(task)
    if spec.kind == "empty":
        return Start(stacked, frozenset())
    if spec.kind == "layout":
        return _given(task, spec.layout, stacked)
    if spec.kind == "chaotic":
        return Start({o.id: _anywhere(task, o.size, rng) for o in task.objects}, frozenset(task.object_ids))
    reference = _reference(task)
    if spec.kind == "perturbed":
        boxes = {}
        for oid, box in reference.items():
            dx, dy = rng.normal(0.0, spec.scale, 2) if spec.scale > 0 else (0.0, 0.0)
            turn = float(rng.normal(0.0, spec.angle)) if spec.angle > 0 else 0.0
            x, y, z = box.center
            boxes[oid] = Box(box.size, (round(x + float(dx), 4), round(y + float(dy), 4), z),
                             round((box.z_angle + turn) % 360.0, 2))
        return Start(boxes, frozenset(task.object_ids))
    # missing
    if spec.count >= len(task.objects):
        raise ValueError(f"task {task.id}: a 'missing' start takes out {spec.count} of its {len(task.objects)} "
                         f"objects; at most {len(task.objects) - 1} may go")
    gone = {task.object_ids[int(i)] for i in rng.choice(len(task.objects), size=spec.count, replace=False)}
    boxes = {oid: stacked[oid] if oid in gone else reference[oid] for oid in task.object_ids}
    return Start(boxes, frozenset(oid for oid in task.object_ids if oid not in gone))


def _reference(task: Task) -> dict[str, Box]:
    if task.reference_layout is None:
        raise ValueError(f"task {task.id} has no reference layout, so it has no perturbed or missing start; "
                         f"give the start layout instead (kind 'layout')")
    boxes = {}
    for o in task.objects:
        pose = task.reference_layout[o.id]
        boxes[o.id] = Box(o.size, (float(pose["x"]), float(pose["y"]), float(pose["z"])),
                          float(pose.get("z_angle", o.z_angle)))
    return boxes


def _given(task: Task, layout: Mapping[str, Any], stacked: dict[str, Box]) -> Start:
    unknown = sorted(set(layout) - set(task.object_ids))
    if unknown:
        raise ValueError(f"task {task.id}: the start layout names unknown objects {unknown}")
    boxes = dict(stacked)
    for oid, pose in layout.items():
        if not isinstance(pose, Mapping) or not {"x", "y", "z"} <= set(pose):
            raise ValueError(f"task {task.id}: the start pose of {oid} must be a mapping with x, y, z, got {pose!r}")
        values = [pose["x"], pose["y"], pose["z"], pose.get("z_angle", task.object(oid).z_angle)]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values):
            raise ValueError(f"task {task.id}: the start pose of {oid} must be finite numbers, got {pose!r}")
        boxes[oid] = Box(task.object(oid).size, tuple(float(v) for v in values[:3]), float(values[3]) % 360.0)
    return Start(boxes, frozenset(layout))


def _anywhere(task: Task, size, rng: np.random.Generator) -> Box:
    """A pose on the floor with the whole footprint's circle inside the room where it fits."""
    X, Y, _ = task.size
    reach = math.hypot(size[0], size[1]) / 2.0
    xs = (reach, X - reach) if X > 2 * reach else (X / 2.0, X / 2.0)
    ys = (reach, Y - reach) if Y > 2 * reach else (Y / 2.0, Y / 2.0)
    x, y = float(rng.uniform(*xs)), float(rng.uniform(*ys))
    return Box(size, (round(x, 4), round(y, 4), size[2] / 2.0), round(float(rng.uniform(0.0, 360.0)), 2))


__all__ = ["START_KINDS", "Start", "StartSpec", "make_start"]
