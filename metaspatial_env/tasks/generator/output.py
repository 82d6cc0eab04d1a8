"""From a finished room to a :class:`~metaspatial_env.schema.Task`: object ids, the scene graph
and reference layout as a task dict, a final re-measure of every rule and the layout check."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...relations import evaluate_rules
from ...schema import Task
from .openings import place_openings
from .preference import preference_text
from .room import Room
from .verify import verify_reference_layout


def finalize(room: Room, task_id: str, rng: np.random.Generator, seed: int,
             openings: list[dict[str, Any]] | None = None) -> tuple[Task, list[str]]:
    """The task of ``room`` and the rules dropped from it (``"subject preposition target"``; never expected).

    The doors and windows (``openings``, on-disk form; placed here when None) come last, from their
    own stream of ``seed`` (:mod:`.openings`), so that they change nothing the room had without them
    (but the objects :func:`.usable.make_usable` dropped to keep the room usable).

    Every rule is re-measured on the placed boxes; one that fails is dropped and the task rebuilt.
    Raises ``AssertionError`` when the reference layout still has problems."""
    ids = _object_ids(room)
    data = _task_dict(room, task_id, ids, preference_text(room, rng))
    if openings is None:
        openings = place_openings(room, seed)
    if openings:
        data["room"]["openings"] = openings
    task = Task.from_dict(data)
    boxes = {ids[o.key]: o.box for o in room.objs}
    bad = [r for r in evaluate_rules(task, boxes) if r.violation > 0.0]
    dropped: list[str] = []
    if bad:  # never expected: every rule was measured before it was written; drop and re-check
        dropped = _drop_rules(data, bad, set(ids.values()))
        task = Task.from_dict(data)
    problems = verify_reference_layout(task)
    if problems:
        raise AssertionError(f"generated task {task_id!r} has an invalid reference layout: {problems[:5]}")
    return task, dropped


def _object_ids(room: Room) -> dict[int, str]:
    """Internal key -> object id, ``{category}_{n}`` numbered per category in placement order."""
    counters: dict[str, int] = {}
    ids: dict[int, str] = {}
    for o in room.objs:
        n = counters.get(o.cat.name, 0) + 1
        counters[o.cat.name] = n
        ids[o.key] = f"{o.cat.name}_{n}"
    return ids


def _drop_rules(data: dict[str, Any], bad: list[Any], object_ids: set[str]) -> list[str]:
    """Remove the ``bad`` rules (:class:`~metaspatial_env.relations.RuleResult`) from the task dict
    ``data`` in place; returns their descriptions."""
    dropped = []
    for r in bad:
        dropped.append(f"{r.subject} {r.preposition} {r.target}")
        rec = next(x for x in data["objects"] if x["new_object_id"] == r.subject)
        if r.preposition == "facing":
            rec["facing"] = None
        elif r.target in object_ids:
            rec["placement"]["objects_in_room"] = [
                e
                for e in rec["placement"]["objects_in_room"]
                if not (e["object_id"] == r.target and e["preposition"] == r.preposition)
            ]
        else:
            rec["placement"]["room_layout_elements"] = [
                e
                for e in rec["placement"]["room_layout_elements"]
                if not (e["layout_element_id"] == r.target and e["preposition"] == r.preposition)
            ]
    return dropped


def _task_dict(room: Room, task_id: str, ids: dict[int, str], preference: str) -> dict[str, Any]:
    """The task dict (:meth:`Task.from_dict`'s format): room, objects with their rules, reference layout."""
    objects = []
    layout = {}
    for o in room.objs:
        oid = ids[o.key]
        facing = o.facing if isinstance(o.facing, str) or o.facing is None else ids[o.facing]
        objects.append(
            {
                "new_object_id": oid,
                "style": o.spec.style,
                "material": o.spec.material,
                "size_in_meters": {"length": o.size[0], "width": o.size[1], "height": o.size[2]},
                "is_on_the_floor": o.on_floor,
                "facing": facing,
                "placement": {
                    "room_layout_elements": [{"layout_element_id": e, "preposition": p} for e, p in o.layout_rules],
                    "objects_in_room": [
                        {"object_id": ids[k], "preposition": p, "is_adjacent": a} for k, p, a in o.object_rules
                    ],
                },
                "rotation": {"z_angle": o.heading},
                **({} if o.cat.has_front else {"has_front": False}),
            }
        )
        layout[oid] = {"x": o.x, "y": o.y, "z": o.z, "z_angle": o.heading}
    return {
        "room": {
            "id": task_id,
            "room_type": room.room_type,
            "size": {"x": room.X, "y": room.Y, "z": room.Z},
            "user_preference": preference,
        },
        "objects": objects,
        "reference_layout": layout,
    }
