"""The task schema: one room in the IDesign scene-graph form that MetaSpatial trains on.

A task on disk is a dict ``{"room": {...}, "objects": [...], "reference_layout": {...}}``:

- ``room``: ``id``, ``room_type``, ``size`` ``{x, y, z}``, ``user_preference``.
- ``objects``: IDesign scene-graph entries (``new_object_id``, ``style``, ``material``,
  ``size_in_meters``, ``is_on_the_floor``, ``facing``, ``placement``, ``rotation``), and
  optionally ``has_front`` (false for objects without a front, such as a plant; default true).
- ``reference_layout`` (optional): ``{object_id: {"x", "y", "z", "z_angle"}}``, a layout that
  satisfies every rule, when the source has one.
- openings (optional): the room's ``openings``, a list of doors and windows in its walls
  (:class:`Opening`; on disk ``id``, ``kind``, ``wall``, ``offset``, ``width``, ``height``,
  ``sill_height`` and, for doors, ``hinge``). Written only when a room has any, so tasks without
  openings serialise as before.
- meshes (optional): an object's ``mesh`` is the path of a GLB file that the Blender renderer
  draws instead of the procedural furniture (MetaSpatial's ``assets/<id>.glb``), relative to the
  dataset root (the task file's folder) or absolute inside it; the room's ``mesh_forward`` says
  which way the assets' fronts face (:mod:`metaspatial_env.assets`). Physics and the reward
  never look at meshes.

:func:`Task.from_dict` validates everything and raises :class:`TaskError` naming the task and
the field; nothing downstream re-checks a task.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .assets import MESH_FORWARDS, inside_root
from .geometry import WALL_INWARD_NORMAL, WALLS

LAYOUT_ELEMENTS = (*WALLS, "middle of the room", "ceiling")
LAYOUT_PREPOSITIONS = ("on", "in the corner")
OBJECT_PREPOSITIONS = ("on", "left of", "right of", "in front", "behind", "under", "above")
OBJECT_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
#: Names an object id may not take: the room's own elements, which rules and feedback name too.
RESERVED_IDS = (*WALLS, "ceiling", "floor")
#: Largest room edge accepted, in metres (a sanity bound, not a style choice).
MAX_ROOM_EDGE = 100.0
#: Most objects one task may hold: every pair is checked each step (400 objects took 49 s a step)
#: and the task prompt lists them all. The bundled splits hold at most 20; the speed benchmarks go
#: to 80.
MAX_OBJECTS = 100
#: Longest text field of a task (preference, ids, descriptions): the task prompt must hold every
#: object and the answer format, so a 5 MB preference is refused rather than clipping them away.
MAX_FIELD_CHARS = 2000
OPENING_KINDS = ("door", "window")
DOOR_HINGES = ("start", "end")
#: Most openings one task may hold: the prompt lists each on its own line.
MAX_OPENINGS = 16


class TaskError(ValueError):
    """A task that cannot be loaded; names the task and the offending field."""

    def __init__(self, task_id: str, field_name: str, problem: str):
        self.task_id = task_id
        self.field = field_name
        self.problem = problem
        super().__init__(f"task {task_id!r}: field {field_name!r}: {problem}")


@dataclass(frozen=True)
class LayoutRule:
    """A rule tying an object to a room element: ``element`` is a wall, ``ceiling`` or the middle."""

    element: str
    preposition: str


@dataclass(frozen=True)
class ObjectRule:
    """A rule tying an object to another object (``preposition`` as seen from the subject)."""

    target: str
    preposition: str
    is_adjacent: bool


@dataclass(frozen=True)
class TaskObject:
    """One object to place, with its size and the scene graph's rules for it."""

    id: str
    style: str
    material: str
    size: tuple[float, float, float]
    """(length, width, height) in metres; length lies along x at z_angle 0."""
    on_floor: bool
    facing: str | None
    """An object id, a wall name, or None."""
    layout_rules: tuple[LayoutRule, ...]
    object_rules: tuple[ObjectRule, ...]
    z_angle: float
    """The scene graph's heading; kept when an answer gives no z_angle."""
    has_front: bool = True
    """Whether the object has a front to turn (a sofa does, a plant does not): only then must it stand
    with its back to the wall it is placed against. Optional on disk (``has_front``), default true."""
    mesh: str | None = None
    """Absolute path of a GLB file drawn for this object (fitted to its box), or None for the
    procedural furniture. On disk (``mesh``) relative to the dataset root; checked to end in
    ``.glb`` and to lie inside the root on load, not to exist (the renderer falls back)."""

    @property
    def category(self) -> str:
        """The id without its trailing instance number (``dining_chair_2`` -> ``dining_chair``)."""
        return re.sub(r"_\d+$", "", self.id)

    @property
    def mount(self) -> str | None:
        """The wall or ``ceiling`` the object is fixed to, or None for objects that rest on things."""
        if self.on_floor:
            return None
        for rule in self.layout_rules:
            if rule.element == "ceiling" or (rule.element in WALLS and rule.preposition == "on"):
                return rule.element
        return None

    @property
    def volume(self) -> float:
        return self.size[0] * self.size[1] * self.size[2]


@dataclass(frozen=True)
class Opening:
    """A door or window in a wall (DESIGN.md section 4).

    ``offset`` runs along the wall from its start corner to the opening's centre; a wall's start
    is its lower-coordinate end (x = 0 for the south and north walls, y = 0 for the west and east
    walls). Doors swing into the room and are hinged at the ``hinge`` end of the opening, in the
    wall's start-to-end direction. All opening geometry lives here, so the renderers, the
    generator and the reward agree on where a door is."""

    id: str
    kind: str
    wall: str
    offset: float
    width: float
    height: float
    sill: float
    hinge: str | None

    def _along(self, room_size) -> tuple[tuple[float, float], tuple[float, float]]:
        """The wall's start corner and its unit start-to-end direction."""
        if self.wall == "south_wall":
            return (0.0, 0.0), (1.0, 0.0)
        if self.wall == "north_wall":
            return (0.0, float(room_size[1])), (1.0, 0.0)
        if self.wall == "west_wall":
            return (0.0, 0.0), (0.0, 1.0)
        return (float(room_size[0]), 0.0), (0.0, 1.0)

    def _point(self, room_size, along: float) -> tuple[float, float]:
        (x0, y0), (dx, dy) = self._along(room_size)
        return (x0 + dx * along, y0 + dy * along)

    def centre(self, room_size) -> tuple[float, float]:
        """The floor point at the middle of the opening, on the wall line."""
        return self._point(room_size, self.offset)

    def span(self, room_size) -> tuple[tuple[float, float], tuple[float, float]]:
        """The opening's (start point, end point) on the wall line, in the wall's direction."""
        half = self.width / 2.0
        return self._point(room_size, self.offset - half), self._point(room_size, self.offset + half)

    def inward(self) -> tuple[float, float]:
        """The unit normal from the wall into the room."""
        return WALL_INWARD_NORMAL[self.wall]

    def hinge_point(self, room_size) -> tuple[float, float] | None:
        """The floor point of a door's hinge (None for a window)."""
        if self.hinge is None:
            return None
        start, end = self.span(room_size)
        return start if self.hinge == "start" else end

    def zone(self, room_size, depth: float) -> tuple[tuple[float, float], ...]:
        """The rectangle ``width`` x ``depth`` in front of the opening, inside the room, as four
        corners (span start, span end, then ``depth`` into the room): a door's clearance zone
        (depth ``width + 0.1``) or the strip in front of a window."""
        (sx, sy), (ex, ey) = self.span(room_size)
        nx, ny = self.inward()
        return ((sx, sy), (ex, ey), (ex + nx * depth, ey + ny * depth), (sx + nx * depth, sy + ny * depth))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "kind": self.kind, "wall": self.wall, "offset": self.offset,
                               "width": self.width, "height": self.height, "sill_height": self.sill}
        if self.hinge is not None:
            out["hinge"] = self.hinge
        return out


def wall_length(wall: str, room_size) -> float:
    """The length of a wall: the room's x extent for the south and north walls, y for the others."""
    return float(room_size[0] if wall in ("south_wall", "north_wall") else room_size[1])


@dataclass(frozen=True)
class Task:
    """One room: its size, the user's wish and the objects to lay out."""

    id: str
    room_type: str
    size: tuple[float, float, float]
    """(x, y, z) extent of the room in metres."""
    user_preference: str
    objects: tuple[TaskObject, ...]
    reference_layout: Mapping[str, Mapping[str, float]] | None = field(default=None, compare=False)
    mesh_forward: str = "-y"
    """The direction the objects' meshes face in their own Z-up frame (after glTF import), one of
    ``+x``, ``-x``, ``+y``, ``-y``. glTF models conventionally face glTF +Z, which is -Y once
    Z is up, hence the default. On disk the room's optional ``mesh_forward``."""
    openings: tuple[Opening, ...] = ()
    """The room's doors and windows; on disk the room's optional ``openings``."""

    def opening(self, opening_id: str) -> Opening:
        for o in self.openings:
            if o.id == opening_id:
                return o
        raise KeyError(opening_id)

    @property
    def object_ids(self) -> tuple[str, ...]:
        return tuple(o.id for o in self.objects)

    def object(self, object_id: str) -> TaskObject:
        for o in self.objects:
            if o.id == object_id:
                return o
        raise KeyError(object_id)

    @property
    def rule_count(self) -> int:
        return sum(len(o.layout_rules) + len(o.object_rules) + (o.facing is not None) for o in self.objects)

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self, meshes: bool = True) -> dict[str, Any]:
        """The on-disk form (IDesign scene graph plus the room record).

        Meshes are written as the absolute paths they were resolved to; ``meshes=False`` leaves
        them out (for a step's ``info``, which holds nothing path-like)."""
        objects = []
        for o in self.objects:
            objects.append({
                "new_object_id": o.id,
                "style": o.style,
                "material": o.material,
                "size_in_meters": {"length": o.size[0], "width": o.size[1], "height": o.size[2]},
                "is_on_the_floor": o.on_floor,
                "facing": o.facing,
                "placement": {
                    "room_layout_elements": [
                        {"layout_element_id": r.element, "preposition": r.preposition} for r in o.layout_rules
                    ],
                    "objects_in_room": [
                        {"object_id": r.target, "preposition": r.preposition, "is_adjacent": r.is_adjacent}
                        for r in o.object_rules
                    ],
                },
                "rotation": {"z_angle": o.z_angle},
                **({} if o.has_front else {"has_front": False}),
                **({"mesh": o.mesh} if meshes and o.mesh is not None else {}),
            })
        out: dict[str, Any] = {
            "room": {
                "id": self.id,
                "room_type": self.room_type,
                "size": {"x": self.size[0], "y": self.size[1], "z": self.size[2]},
                "user_preference": self.user_preference,
                **({"mesh_forward": self.mesh_forward} if self.mesh_forward != "-y" else {}),
                **({"openings": [o.to_dict() for o in self.openings]} if self.openings else {}),
            },
            "objects": objects,
        }
        if self.reference_layout is not None:
            out["reference_layout"] = {k: dict(v) for k, v in self.reference_layout.items()}
        return out

    @classmethod
    def from_dict(cls, data: Any, root: str | Path | None = None) -> Task:
        """Validate and build a task from its on-disk form; raises :class:`TaskError`.

        ``root`` is the dataset root (the task file's folder) that objects' ``mesh`` paths are
        relative to and must stay inside. Without a root only absolute mesh paths are accepted
        (a task dict built in memory, or :meth:`to_dict`'s output read back)."""
        return _parse_task(data, root)


# ---------------------------------------------------------------------------- validation
def _positive_number(task_id: str, field_name: str, value: Any, upper: float = MAX_ROOM_EDGE) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TaskError(task_id, field_name, f"must be a number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or value <= 0.0:
        raise TaskError(task_id, field_name, f"must be a positive finite number, got {value!r}")
    if value > upper:
        raise TaskError(task_id, field_name, f"must be at most {upper} m, got {value!r}")
    return value


def _mapping(task_id: str, field_name: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TaskError(task_id, field_name, f"must be an object, got {type(value).__name__}")
    return value


def _get(task_id: str, record: Mapping[str, Any], key: str, prefix: str) -> Any:
    if key not in record:
        raise TaskError(task_id, f"{prefix}{key}", "is missing")
    return record[key]


def read_json(text: str, task_id: str, field_name: str, where: str = "") -> Any:
    """``json.loads(text)``, every failure a :class:`TaskError`: invalid JSON with its position,
    and JSON nested past Python's recursion limit (which ``json`` raises as ``RecursionError``)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        position = f" at line {exc.lineno}, column {exc.colno}"
        raise TaskError(task_id, field_name, f"{where}not valid JSON: {exc.msg}{position}") from None
    except RecursionError:
        raise TaskError(task_id, field_name, f"{where}JSON nested too deeply to read") from None


def _string(task_id: str, field_name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TaskError(task_id, field_name, f"must be a string, got {type(value).__name__}")
    if len(value) > MAX_FIELD_CHARS:
        raise TaskError(task_id, field_name, f"is {len(value)} characters; at most {MAX_FIELD_CHARS}")
    return value


def _parse_task(data: Any, root: str | Path | None = None) -> Task:
    unknown = "<unknown>"
    data = _mapping(unknown, "task", data)
    room = _mapping(unknown, "room", data.get("room"))
    task_id = room.get("id")
    if not isinstance(task_id, str) or not task_id:
        raise TaskError(unknown, "room.id", "must be a non-empty string")
    room_type = _string(task_id, "room.room_type", _get(task_id, room, "room_type", "room."))
    size_rec = _mapping(task_id, "room.size", _get(task_id, room, "size", "room."))
    size = tuple(
        _positive_number(task_id, f"room.size.{k}", _get(task_id, size_rec, k, "room.size.")) for k in "xyz"
    )
    preference = _string(task_id, "room.user_preference", room.get("user_preference", ""))
    raw_objects = _get(task_id, data, "objects", "")
    if not isinstance(raw_objects, list) or not raw_objects:
        raise TaskError(task_id, "objects", "must be a non-empty list")
    if len(raw_objects) > MAX_OBJECTS:
        raise TaskError(task_id, "objects", f"holds {len(raw_objects)} objects; at most {MAX_OBJECTS}")

    mesh_forward = room.get("mesh_forward", "-y")
    if not isinstance(mesh_forward, str) or mesh_forward not in MESH_FORWARDS:
        raise TaskError(task_id, "room.mesh_forward", f"must be one of {', '.join(MESH_FORWARDS)}, got {mesh_forward!r}")

    objects = [_parse_object(task_id, i, rec, size, root) for i, rec in enumerate(raw_objects)]
    ids = [o.id for o in objects]
    seen: set[str] = set()
    for i, oid in enumerate(ids):
        if oid in seen:
            raise TaskError(task_id, f"objects[{i}].new_object_id", f"duplicate id {oid!r}")
        seen.add(oid)
    for i, o in enumerate(objects):
        if o.facing is not None and o.facing not in seen and o.facing not in WALLS:
            raise TaskError(task_id, f"objects[{i}].facing", f"names unknown object or wall {o.facing!r}")
        if o.facing == o.id:
            raise TaskError(task_id, f"objects[{i}].facing", "an object cannot face itself")
        for j, r in enumerate(o.object_rules):
            where = f"objects[{i}].placement.objects_in_room[{j}].object_id"
            if r.target not in seen:
                raise TaskError(task_id, where, f"relation to unknown object {r.target!r}")
            if r.target == o.id:
                raise TaskError(task_id, where, f"{o.id!r} is related to itself")

    reference = data.get("reference_layout")
    if reference is not None:
        reference = _parse_reference(task_id, reference, {o.id: o for o in objects})
    openings = _parse_openings(task_id, room.get("openings"), size, seen)
    return Task(task_id, room_type, size, preference, tuple(objects), reference, mesh_forward, openings)


def _finite(task_id: str, field_name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TaskError(task_id, field_name, f"must be a finite number, got {value!r}")
    return float(value)


def _parse_openings(task_id: str, raw: Any, room_size: tuple[float, ...], object_ids: set[str]) -> tuple[Opening, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise TaskError(task_id, "room.openings", f"must be a list, got {type(raw).__name__}")
    if len(raw) > MAX_OPENINGS:
        raise TaskError(task_id, "room.openings", f"holds {len(raw)} openings; at most {MAX_OPENINGS}")
    openings: list[Opening] = []
    for i, rec in enumerate(raw):
        openings.append(_parse_opening(task_id, f"room.openings[{i}]", rec, room_size, object_ids))
        ids = [o.id for o in openings[:-1]]
        if openings[-1].id in ids:
            raise TaskError(task_id, f"room.openings[{i}].id", f"duplicate id {openings[-1].id!r}")
    for i, a in enumerate(openings):
        for b in openings[:i]:
            # Openings on one wall may touch but not share any of the wall.
            if a.wall == b.wall and abs(a.offset - b.offset) < (a.width + b.width) / 2.0 - 1e-9:
                raise TaskError(task_id, f"room.openings[{i}].offset", f"{a.id} overlaps {b.id} on the {a.wall}")
    return tuple(openings)


def _parse_opening(task_id: str, where: str, rec: Any, room_size: tuple[float, ...],
                   object_ids: set[str]) -> Opening:
    rec = _mapping(task_id, where, rec)
    prefix = where + "."
    oid = _string(task_id, prefix + "id", _get(task_id, rec, "id", prefix))
    if not OBJECT_ID_PATTERN.match(oid):
        raise TaskError(task_id, prefix + "id", f"{oid!r} must be lower case letters, digits, '_'")
    if oid in RESERVED_IDS or oid in object_ids:
        raise TaskError(task_id, prefix + "id", f"{oid!r} is already the name of an object or part of the room")
    kind = _get(task_id, rec, "kind", prefix)
    if kind not in OPENING_KINDS:
        raise TaskError(task_id, prefix + "kind", f"must be one of {', '.join(OPENING_KINDS)}, got {kind!r}")
    wall = _get(task_id, rec, "wall", prefix)
    if not isinstance(wall, str) or wall not in WALLS:
        raise TaskError(task_id, prefix + "wall", f"must be one of {', '.join(WALLS)}, got {wall!r}")
    offset = _finite(task_id, prefix + "offset", _get(task_id, rec, "offset", prefix))
    width = _positive_number(task_id, prefix + "width", _get(task_id, rec, "width", prefix))
    height = _positive_number(task_id, prefix + "height", _get(task_id, rec, "height", prefix))
    sill = _finite(task_id, prefix + "sill_height", rec.get("sill_height", 0.0))
    length = wall_length(wall, room_size)
    if offset - width / 2.0 < -1e-9 or offset + width / 2.0 > length + 1e-9:
        raise TaskError(task_id, prefix + "offset",
                        f"{oid} spans {offset - width / 2.0:.3f}..{offset + width / 2.0:.3f} m, outside the "
                        f"{wall} (0..{length:g} m)")
    if sill < 0.0 or sill + height > room_size[2] + 1e-9:
        raise TaskError(task_id, prefix + "height",
                        f"{oid} reaches {sill:g} + {height:g} m, outside the wall's 0..{room_size[2]:g} m")
    hinge = rec.get("hinge")
    if kind == "door":
        if sill != 0.0:
            raise TaskError(task_id, prefix + "sill_height", f"a door stands on the floor: must be 0, got {sill!r}")
        if hinge not in DOOR_HINGES:
            raise TaskError(task_id, prefix + "hinge", f"a door needs a hinge, one of {', '.join(DOOR_HINGES)}, got {hinge!r}")
    else:
        if sill <= 0.0:
            raise TaskError(task_id, prefix + "sill_height", f"a window needs a sill above the floor, got {sill!r}")
        if hinge is not None:
            raise TaskError(task_id, prefix + "hinge", f"a window has no hinge, got {hinge!r}")
    return Opening(oid, kind, wall, offset, width, height, sill, hinge)


def _parse_mesh(task_id: str, field_name: str, value: Any, root: str | Path | None) -> str | None:
    """The absolute path of an object's GLB file; refused unless it ends in ``.glb`` and
    resolves (symlinks followed) inside the dataset root."""
    if value is None:
        return None
    value = _string(task_id, field_name, value)
    if not value.lower().endswith(".glb"):
        raise TaskError(task_id, field_name, f"must name a .glb file, got {value!r}")
    path = Path(value)
    if root is None:
        if not path.is_absolute():
            raise TaskError(task_id, field_name, f"{value!r} is relative, but the task was read without a dataset root")
        return str(path.resolve())
    path = path if path.is_absolute() else Path(root) / path
    if not inside_root(path, root):
        raise TaskError(task_id, field_name, f"{value!r} resolves outside the dataset root")
    return str(path.resolve())


def _parse_object(task_id: str, index: int, rec: Any, room_size: tuple[float, ...],
                  root: str | Path | None = None) -> TaskObject:
    prefix = f"objects[{index}]."
    rec = _mapping(task_id, f"objects[{index}]", rec)
    oid = _string(task_id, prefix + "new_object_id", _get(task_id, rec, "new_object_id", prefix))
    if not OBJECT_ID_PATTERN.match(oid):
        raise TaskError(task_id, prefix + "new_object_id", f"{oid!r} must be lower case letters, digits, '_'")
    if oid in RESERVED_IDS:
        raise TaskError(task_id, prefix + "new_object_id", f"{oid!r} names a part of the room, not an object")
    size_rec = _mapping(task_id, prefix + "size_in_meters", _get(task_id, rec, "size_in_meters", prefix))
    size = tuple(
        _positive_number(task_id, f"{prefix}size_in_meters.{k}", _get(task_id, size_rec, k, prefix + "size_in_meters."))
        for k in ("length", "width", "height")
    )
    # An object fits when some heading gets its footprint inside the floor and it is not taller than the room.
    fits_flat = (size[0] <= room_size[0] and size[1] <= room_size[1]) or (
        size[1] <= room_size[0] and size[0] <= room_size[1]
    )
    if not fits_flat or size[2] > room_size[2]:
        raise TaskError(task_id, prefix + "size_in_meters", f"{oid} {size} does not fit in room {room_size}")
    on_floor = rec.get("is_on_the_floor", True)
    if not isinstance(on_floor, bool):
        raise TaskError(task_id, prefix + "is_on_the_floor", "must be true or false")
    facing = rec.get("facing")
    if facing is not None and not isinstance(facing, str):
        raise TaskError(task_id, prefix + "facing", "must be an object id, a wall or null")
    facing = facing or None
    has_front = rec.get("has_front", True)
    if not isinstance(has_front, bool):
        raise TaskError(task_id, prefix + "has_front", "must be true or false")

    placement = _mapping(task_id, prefix + "placement", rec.get("placement", {}))
    for key in ("room_layout_elements", "objects_in_room"):
        if placement.get(key) is not None and not isinstance(placement[key], list):
            raise TaskError(task_id, f"{prefix}placement.{key}", f"must be a list, got {type(placement[key]).__name__}")
    layout_rules = []
    for j, r in enumerate(placement.get("room_layout_elements") or []):
        where = f"{prefix}placement.room_layout_elements[{j}]"
        r = _mapping(task_id, where, r)
        element = _get(task_id, r, "layout_element_id", where + ".")
        prep = r.get("preposition", "on")
        if not isinstance(element, str):
            raise TaskError(task_id, where + ".layout_element_id", f"must be a string, got {type(element).__name__}")
        if element not in LAYOUT_ELEMENTS:
            raise TaskError(task_id, where + ".layout_element_id", f"unknown layout element {element!r}")
        if prep not in LAYOUT_PREPOSITIONS:
            raise TaskError(task_id, where + ".preposition", f"unknown preposition {prep!r}")
        if prep == "in the corner" and element not in WALLS:
            raise TaskError(task_id, where + ".preposition", f"'in the corner' needs a wall, not {element!r}")
        layout_rules.append(LayoutRule(element, prep))
    object_rules = []
    for j, r in enumerate(placement.get("objects_in_room") or []):
        where = f"{prefix}placement.objects_in_room[{j}]"
        r = _mapping(task_id, where, r)
        target = _string(task_id, where + ".object_id", _get(task_id, r, "object_id", where + "."))
        prep = r.get("preposition")
        if prep not in OBJECT_PREPOSITIONS:
            raise TaskError(task_id, where + ".preposition", f"unknown preposition {prep!r}")
        adjacent = r.get("is_adjacent", False)
        if not isinstance(adjacent, bool):
            raise TaskError(task_id, where + ".is_adjacent", "must be true or false")
        object_rules.append(ObjectRule(target, prep, adjacent))

    rotation = _mapping(task_id, prefix + "rotation", rec.get("rotation", {"z_angle": 0.0}))
    z_angle = rotation.get("z_angle", 0.0)
    if isinstance(z_angle, bool) or not isinstance(z_angle, (int, float)) or not math.isfinite(z_angle):
        raise TaskError(task_id, prefix + "rotation.z_angle", f"must be a finite number, got {z_angle!r}")
    return TaskObject(
        id=oid,
        style="" if rec.get("style") is None else str(rec["style"]),
        material="" if rec.get("material") is None else str(rec["material"]),
        size=size,  # type: ignore[arg-type]
        on_floor=on_floor,
        facing=facing,
        layout_rules=tuple(layout_rules),
        object_rules=tuple(object_rules),
        z_angle=float(z_angle) % 360.0,
        has_front=has_front,
        mesh=_parse_mesh(task_id, prefix + "mesh", rec.get("mesh"), root),
    )


def _parse_reference(task_id: str, reference: Any, objects: Mapping[str, TaskObject]) -> dict[str, dict[str, float]]:
    """``{id: {x, y, z, z_angle}}``; x, y, z are required, z_angle defaults to the object's rotation."""
    reference = _mapping(task_id, "reference_layout", reference)
    out = {}
    for oid, pose in reference.items():
        if oid not in objects:
            raise TaskError(task_id, f"reference_layout.{oid}", "unknown object id")
        pose = _mapping(task_id, f"reference_layout.{oid}", pose)
        values = {}
        for k in ("x", "y", "z", "z_angle"):
            if k not in pose:
                if k == "z_angle":
                    values[k] = objects[oid].z_angle
                    continue
                raise TaskError(task_id, f"reference_layout.{oid}.{k}", "is missing")
            v = pose[k]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise TaskError(task_id, f"reference_layout.{oid}.{k}", f"must be a finite number, got {v!r}")
            values[k] = float(v)
        out[oid] = values
    return out
