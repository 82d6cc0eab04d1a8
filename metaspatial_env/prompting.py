"""The text an agent reads: the task prompt on reset and the feedback after each step.

Kept in one module so policies and the trainer build their chat messages from the same words.
Everything here is printable ASCII (the observation's ``Text`` space).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from .tasks import Task

if TYPE_CHECKING:  # pragma: no cover
    from .scoring import Evaluation

#: Longest text observation; feedback beyond it is cut with a note.
MAX_TEXT_CHARS = 16384

ANSWER_FORMAT = (
    "Answer with your reasoning in <think>...</think>, then the layout in <answer>...</answer> as a JSON list "
    "with one entry per object: {\"new_object_id\": id, \"x\": m, \"y\": m, \"z\": m, \"z_angle\": degrees}. "
    "x, y, z are the centre of the object's bounding box; a floor object has z = height / 2."
)
CONVENTIONS = (
    "Coordinates: metres; the room spans x from 0 (west wall) to X (east wall), y from 0 (south wall) to Y "
    "(north wall), z from 0 (floor) to Z (ceiling). z_angle is the heading the object faces, clockwise from "
    "north: 0 faces +y (north), 90 faces +x (east), 180 south, 270 west. At z_angle 0 an object's length "
    "lies along x and its width along y. 'Left of B' means B's own left."
)


def ascii_text(text: str) -> str:
    """Printable ASCII only (with newlines), so any text fits the observation space."""
    text = text.encode("ascii", "backslashreplace").decode("ascii")
    return "".join(c for c in text if c == "\n" or 32 <= ord(c) < 127)


def _clip(text: str) -> str:
    if len(text) <= MAX_TEXT_CHARS:
        return text
    note = "\n... (feedback cut)"
    return text[: MAX_TEXT_CHARS - len(note)] + note


def describe_object(task: Task, object_id: str) -> str:
    """One line per object: its size and its rules in the scene graph's words."""
    o = task.object(object_id)
    length, width, height = o.size
    parts = [f"- {o.id}: {length:.2f} x {width:.2f} x {height:.2f} m (l x w x h)"]
    if o.style or o.material:
        parts.append(f"{o.style} {o.material}".strip())
    parts.append("on the floor" if o.on_floor else "not on the floor")
    rules = [f"{r.preposition} {r.element}" for r in o.layout_rules]
    rules += [f"{r.preposition} {r.target}{' (adjacent)' if r.is_adjacent else ''}" for r in o.object_rules]
    if o.facing:
        rules.append(f"facing {o.facing}")
    if rules:
        parts.append("; ".join(rules))
    parts.append(f"default z_angle {o.z_angle:g}")
    return ", ".join(parts)


def task_prompt(task: Task) -> str:
    """The reset observation: the room, the wish, the objects and their rules, the answer format."""
    X, Y, Z = task.size
    lines = [
        f"Lay out this {task.room_type} (task {task.id}). Room size: X = {X:.2f} m, Y = {Y:.2f} m, Z = {Z:.2f} m.",
        f"User preference: {task.user_preference}",
        CONVENTIONS,
        "Objects to place:",
        *(describe_object(task, oid) for oid in task.object_ids),
        ANSWER_FORMAT,
        "Example: <answer>" + json.dumps([{"new_object_id": task.objects[0].id, "x": round(X / 2, 2),
                                           "y": round(Y / 2, 2), "z": round(task.objects[0].size[2] / 2, 3),
                                           "z_angle": task.objects[0].z_angle}]) + "</answer> (but list every object)",
    ]
    return _clip(ascii_text("\n".join(lines)))


def feedback_text(evaluation: "Evaluation", task: Task, turn: int, max_turns: int) -> str:
    """The step observation: the scores, then the problems object by object, each with its size."""
    terms = ", ".join(f"{name} {value:.2f}" for name, value in evaluation.terms.items())
    verdict = "The layout succeeds." if evaluation.success else "The layout does not succeed yet."
    lines = [f"Turn {turn} of {max_turns}: reward {evaluation.total:.3f} ({terms}). {verdict}"]
    order = {oid: i for i, oid in enumerate(task.object_ids)}
    problems = sorted(evaluation.problems, key=lambda p: order.get(p.object_id, -1))  # stable: kinds stay in order
    if problems:
        lines.append("Problems:")
        lines += [f"- {p.text}" for p in problems]
    else:
        lines.append("No problems found.")
    return _clip(ascii_text("\n".join(lines)))
