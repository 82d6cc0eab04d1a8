"""Load MetaSpatial's published rooms (IDesign scene graphs) as :class:`Task` objects.

Format found (read in github.com/PzySeere/MetaSpatial at commit a3c89c2 and
github.com/atcelen/IDesign):

* **Dataset rows** (Hugging Face ``zhenyupan/3d_layout_reasoning``, built by
  ``3d_utlis/hf_data_curation.py``): ``{"images": [<200x200 render>], "problem": <prompt text with
  the scene graph, positions removed>, "answer": <JSON string>}``. ``answer`` is
  ``{"room_name": "room_105", "user_preference": "A chic living room ...",
  "size_of_room": {"x": 5, "y": 6, "z": 2.8}}`` (seen in ``temp_single_step_step2/data.parquet``).
  EasyR1/verl's ``verl/utils/dataset.py`` renames ``answer`` to ``ground_truth``; both are accepted.
  The room sizes come from ``generated_room_descriptions.json`` (``{"description", "size"}``).
* **Room folder** ``<curated_data>/<room_name>/scene_graph-backtracked.json`` (written by IDesign's
  ``IDesign.to_json`` after ``backtrack()``, see ``data-curation-utils/data_curation.py``): a JSON
  list. All entries but the last six are objects; the reward code
  (``verl/utils/reward_score/metaverse.py``) slices them with ``[:-6]``. The last six are IDesign's
  room priors (``utils.get_room_priors``): ``south_wall``, ``north_wall``, ``east_wall``,
  ``west_wall`` (``itemType: "wall"``), ``middle of the room`` (``"floor"``) and ``ceiling``, each
  with ``position``, ``size_in_meters`` and ``rotation``; e.g. ``south_wall`` has
  ``length = X, width = 0, height = Z`` at ``(X/2, 0, Z/2)``, ``east_wall`` has ``length = Y``.
* **Objects** (IDesign ``schemas.py``): ``new_object_id``, ``style``, ``material``,
  ``size_in_meters {length, width, height}``, ``is_on_the_floor``, ``facing`` (an object id or a
  wall), ``placement {room_layout_elements: [{layout_element_id, preposition}],
  objects_in_room: [{object_id, preposition, is_adjacent}]}``, ``rotation {z_angle}`` (added by
  ``create_object_clusters``: the ``facing`` wall's heading, north 0 / east 90 / south 180 /
  west 270, or the parent's), ``cluster {constraint_area {x_neg, x_pos, y_neg, y_pos}}`` and, for
  objects the backtracking placed, ``position {x, y, z}`` (the bounding-box centre; floor objects
  at ``z = height / 2``). IDesign's frame is ours: origin at the south-west floor corner, north
  wall at ``y = Y``, east wall at ``x = X``.

Mapping to :class:`Task`:

* object ids (and the ids that ``facing`` and relations name) are lower-cased with spaces and
  punctuation turned into ``_`` (IDesign asks its LLM for lower-case ids; this catches slips).
* task id = ``room_name``; ``room.size`` = ``size_of_room`` (else recovered from the wall and
  floor priors); ``user_preference`` from the row; ``room_type`` inferred from the preference
  text (``bedroom``, ``living_room`` ... else ``room``) unless given.
* the six priors (recognised by id or ``itemType``) are dropped; they only describe the room.
* ``facing`` naming ``middle of the room``/``ceiling`` or an unknown id becomes ``None``;
  an ``objects_in_room`` entry naming a layout element moves to ``room_layout_elements`` (``on`` /
  ``in the corner``) or is dropped; ``in the corner`` of the ceiling or the middle becomes ``on``
  and ``middle of the floor`` becomes ``middle of the room`` (as IDesign's own preprocessing does);
  a missing ``is_adjacent`` is ``True`` (IDesign's default). ``cluster`` is not used.
* ``position`` + ``rotation.z_angle`` -> ``reference_layout`` when every object has a position
  (or always, for the objects that have one, with ``partial_reference=True``).
* meshes: MetaSpatial's room folders hold the retrieved Objaverse meshes as
  ``<room_name>/assets/<object_id>.glb`` beside the scene graph. When that file exists (named by
  the scene graph's own id, or by the lower-cased one) it becomes the object's ``mesh``, resolved
  to an absolute path that must stay inside ``scene_root``; the room keeps the default
  ``mesh_forward`` (``-y``: glTF's front, see :mod:`metaspatial_env.assets`). The files are not
  opened here: the renderer checks them and falls back to its furniture.

Problems raise :class:`TaskError` naming the room and the field (``answer.size_of_room.x``,
``scene_graph[3].size_in_meters.height`` with the index into the scene-graph file, ...).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..geometry import WALLS
from ..schema import LAYOUT_ELEMENTS, LAYOUT_PREPOSITIONS, Task, TaskError, read_json

__all__ = [
    "ASSETS_FOLDER",
    "SCENE_GRAPH_FILE",
    "ROOM_PRIOR_IDS",
    "load_metaspatial",
    "load_metaspatial_dataset",
    "scene_graph_to_task",
    "infer_room_type",
]

SCENE_GRAPH_FILE = "scene_graph-backtracked.json"
#: Folder of a room's meshes, beside its scene graph: ``assets/<object_id>.glb``.
ASSETS_FOLDER = "assets"
#: The IDesign room priors appended to every scene graph (in IDesign's order).
ROOM_PRIOR_IDS = ("south_wall", "north_wall", "east_wall", "west_wall", "middle of the room", "ceiling")
_PRIOR_ITEM_TYPES = ("wall", "floor", "ceiling")
_ELEMENT_ALIASES = {"middle of the floor": "middle of the room", "floor": "middle of the room"}

#: Keyword -> room type, first match wins (checked against the lower-cased preference text).
_ROOM_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("home theater", "home_theater"),
    ("home theatre", "home_theater"),
    ("media room", "home_theater"),
    ("cinema", "home_theater"),
    ("studio apartment", "studio"),
    ("loft apartment", "studio"),
    ("art studio", "art_studio"),
    ("artist", "art_studio"),
    ("painting studio", "art_studio"),
    ("kids' room", "kids_room"),
    ("kids room", "kids_room"),
    ("kid's room", "kids_room"),
    ("nursery", "kids_room"),
    ("playroom", "kids_room"),
    ("children", "kids_room"),
    ("child's", "kids_room"),
    ("bedroom", "bedroom"),
    ("living room", "living_room"),
    ("lounge", "living_room"),
    ("family room", "living_room"),
    ("dining", "dining_room"),
    ("kitchen", "kitchen"),
    ("office", "office"),
    ("study", "office"),
    ("workspace", "office"),
    ("library", "library"),
    ("reading room", "library"),
    ("studio", "studio"),
    ("bathroom", "bathroom"),
    ("café", "cafe"),
    ("cafe", "cafe"),
    ("gym", "gym"),
    ("classroom", "classroom"),
    ("restaurant", "restaurant"),
    ("bar", "bar"),
    ("shop", "shop"),
    ("store", "shop"),
    ("game room", "game_room"),
    ("music room", "music_room"),
    ("conference", "office"),
    ("lobby", "lobby"),
)


def infer_room_type(text: str) -> str:
    """A snake_case room type guessed from a room description (``room`` when nothing matches)."""
    low = text.lower()
    for word, room_type in _ROOM_KEYWORDS:
        if re.search(r"(?<![a-z])" + re.escape(word) + r"(?![a-z])", low):
            return room_type
    return "room"


# ---------------------------------------------------------------------------- rows
def _decode_json(value: Any, task_id: str, field: str) -> Any:
    """``value`` itself, or the JSON it holds when it is text or bytes."""
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("utf-8")
    if isinstance(value, str):
        return read_json(value, task_id, field)
    return value


def _parse_answer(row: Mapping[str, Any] | str) -> dict[str, Any]:
    """The ``answer`` record of a dataset row (a row mapping, its answer JSON, or the row as JSON)."""
    unknown = "<unknown>"
    row = _decode_json(row, unknown, "answer")
    if not isinstance(row, Mapping):
        raise TaskError(unknown, "row", f"must be a dataset row (mapping) or its answer JSON, got {type(row).__name__}")
    answer: Any = row
    for key in ("answer", "ground_truth"):
        if key in row:
            answer = row[key]
            break
    answer = _decode_json(answer, unknown, "answer")
    if not isinstance(answer, Mapping):
        raise TaskError(unknown, "answer", f"must be a JSON object, got {type(answer).__name__}")
    name = answer.get("room_name")
    if not isinstance(name, str) or not name.strip():
        raise TaskError(unknown, "answer.room_name", "must be a non-empty string")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise TaskError(name, "answer.room_name", "must be a folder name, not a path")
    return dict(answer)


def _size_from_answer(room: str, answer: Mapping[str, Any]) -> tuple[float, float, float] | None:
    size = answer.get("size_of_room")
    if size is None:
        return None
    if isinstance(size, str):  # hf_data_curation.py serialises a dict with str(); accept both quotings
        size = read_json(size.replace("'", '"'), room, "answer.size_of_room")
    if not isinstance(size, Mapping):
        raise TaskError(room, "answer.size_of_room", f"must be an object {{x, y, z}}, got {type(size).__name__}")
    out = []
    for k in "xyz":
        if k not in size:
            raise TaskError(room, f"answer.size_of_room.{k}", "is missing")
        out.append(_number(room, f"answer.size_of_room.{k}", size[k], positive=True))
    return tuple(out)  # type: ignore[return-value]


def _number(room: str, field: str, value: Any, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TaskError(room, field, f"must be a number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or (positive and value <= 0.0):
        raise TaskError(room, field, f"must be a {'positive ' if positive else ''}finite number, got {value!r}")
    return value


# ---------------------------------------------------------------------------- scene graphs
def _is_prior(entry: Mapping[str, Any]) -> bool:
    return entry.get("new_object_id") in ROOM_PRIOR_IDS or entry.get("itemType") in _PRIOR_ITEM_TYPES


def _size_from_priors(room: str, priors: Mapping[str, Mapping[str, Any]]) -> tuple[float, float, float] | None:
    """Room size from IDesign's wall/floor/ceiling priors (None when they do not say)."""

    def size_of(pid: str, key: str) -> float | None:
        rec = priors.get(pid, {}).get("size_in_meters")
        value = rec.get(key) if isinstance(rec, Mapping) else None
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else None

    x = size_of("south_wall", "length") or size_of("north_wall", "length") or size_of("middle of the room", "length")
    y = size_of("east_wall", "length") or size_of("west_wall", "length") or size_of("middle of the room", "width")
    z = size_of("south_wall", "height") or size_of("north_wall", "height") or size_of("east_wall", "height")
    if z is None:
        pos = priors.get("ceiling", {}).get("position")
        if isinstance(pos, Mapping) and isinstance(pos.get("z"), (int, float)) and pos["z"] > 0:
            z = float(pos["z"])
    if x is None or y is None or z is None:
        return None
    return (x, y, z)


def _normalise_id(value: Any) -> Any:
    """``"Dining Chair-2"`` -> ``"dining_chair_2"``; layout elements and non-strings are kept."""
    if not isinstance(value, str) or value in LAYOUT_ELEMENTS or value in _ELEMENT_ALIASES:
        return value
    return re.sub(r"[^a-z0-9_]", "_", value.strip().lower())


def _normalise_ids(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    """The entry with its own id, ``facing`` and relation targets normalised to lower snake_case."""
    out = dict(entry)
    for key in ("new_object_id", "facing"):
        if key in entry:
            out[key] = _normalise_id(entry[key])
    placement = entry.get("placement")
    if isinstance(placement, Mapping) and isinstance(placement.get("objects_in_room"), list):
        rels = [
            dict(r, object_id=_normalise_id(r.get("object_id"))) if isinstance(r, Mapping) else r
            for r in placement["objects_in_room"]
        ]
        out["placement"] = dict(placement, objects_in_room=rels)
    return out


def _convert_object(entry: Mapping[str, Any], known_ids: set[str]) -> dict[str, Any]:
    """One IDesign object in the task's on-disk form (validation is left to ``Task.from_dict``)."""
    obj = {
        k: entry[k] for k in ("new_object_id", "style", "material", "size_in_meters", "is_on_the_floor") if k in entry
    }
    facing = entry.get("facing")
    if isinstance(facing, str):  # other types are left for the schema to reject by field name
        facing = facing.strip()
        facing = facing if facing in WALLS or facing in known_ids else None
    obj["facing"] = facing or None
    placement = entry.get("placement", {})
    if isinstance(placement, Mapping):
        layout = placement.get("room_layout_elements", [])
        objects = placement.get("objects_in_room", [])
        if isinstance(layout, list) and isinstance(objects, list):
            new_layout = []
            for r in layout:
                if isinstance(r, Mapping):
                    r = dict(r)
                    element = _ELEMENT_ALIASES.get(r.get("layout_element_id"), r.get("layout_element_id"))
                    r["layout_element_id"] = element
                    if r.get("preposition") == "in the corner" and element in ("middle of the room", "ceiling"):
                        r["preposition"] = "on"
                new_layout.append(r)
            new_objects = []
            for r in objects:
                if isinstance(r, Mapping):
                    r = dict(r)
                    target = _ELEMENT_ALIASES.get(r.get("object_id"), r.get("object_id"))
                    if target in LAYOUT_ELEMENTS:  # a layout element listed among the objects
                        prep = r.get("preposition")
                        if prep in LAYOUT_PREPOSITIONS and not (prep == "in the corner" and target not in WALLS):
                            new_layout.append({"layout_element_id": target, "preposition": prep})
                        continue
                    r.setdefault("is_adjacent", True)
                new_objects.append(r)
            placement = {"room_layout_elements": new_layout, "objects_in_room": new_objects}
    obj["placement"] = placement
    if "rotation" in entry:
        obj["rotation"] = entry["rotation"]
    return obj


def scene_graph_to_task(
    scene_graph: Any,
    *,
    room_name: str,
    user_preference: str = "",
    size_of_room: tuple[float, float, float] | None = None,
    room_type: str | None = None,
    partial_reference: bool = False,
    assets: str | Path | None = None,
    root: str | Path | None = None,
) -> Task:
    """Convert a loaded ``scene_graph-backtracked.json`` list into a :class:`Task`.

    ``assets`` is the folder of the room's ``<object_id>.glb`` meshes (none when None or absent);
    ``root`` the dataset root the meshes must stay inside (default: ``assets``' parent folder).
    """
    if not isinstance(scene_graph, list):
        raise TaskError(room_name, "scene_graph", f"must be a JSON list, got {type(scene_graph).__name__}")
    priors: dict[str, Mapping[str, Any]] = {}
    entries: list[tuple[int, Mapping[str, Any]]] = []
    for i, entry in enumerate(scene_graph):
        if not isinstance(entry, Mapping):
            raise TaskError(room_name, f"scene_graph[{i}]", f"must be an object, got {type(entry).__name__}")
        if _is_prior(entry):
            priors[str(entry.get("new_object_id"))] = entry
        else:
            entries.append((i, entry))
    if not entries:
        raise TaskError(room_name, "scene_graph", "holds no objects (only room layout elements)")
    size = size_of_room if size_of_room is not None else _size_from_priors(room_name, priors)
    if size is None:
        raise TaskError(room_name, "answer.size_of_room", "is missing and the scene graph's walls do not give the size")

    original_ids = [e.get("new_object_id") for _, e in entries]
    entries = [(i, _normalise_ids(e)) for i, e in entries]
    known = {e.get("new_object_id") for _, e in entries if isinstance(e.get("new_object_id"), str)}
    objects = [_convert_object(e, known) for _, e in entries]
    if assets is not None and Path(assets).is_dir():
        for obj, original in zip(objects, original_ids):
            mesh = _mesh_file(Path(assets), (original, obj.get("new_object_id")))
            if mesh is not None:
                obj["mesh"] = str(mesh.absolute())
        root = Path(assets).parent if root is None else root
    reference: dict[str, dict[str, float]] = {}
    complete = True
    for (i, e), obj in zip(entries, objects):
        pos = e.get("position")
        if pos is None:
            complete = False
            continue
        if not isinstance(pos, Mapping):
            raise TaskError(
                room_name, f"scene_graph[{i}].position", f"must be an object {{x, y, z}}, got {type(pos).__name__}"
            )
        pose = {}
        for k in "xyz":
            if k not in pos:
                raise TaskError(room_name, f"scene_graph[{i}].position.{k}", "is missing")
            pose[k] = _number(room_name, f"scene_graph[{i}].position.{k}", pos[k])
        rot = e.get("rotation", {})
        z_angle = rot.get("z_angle", 0.0) if isinstance(rot, Mapping) else 0.0
        pose["z_angle"] = z_angle
        oid = obj.get("new_object_id")
        if isinstance(oid, str):
            reference[oid] = pose
    data: dict[str, Any] = {
        "room": {
            "id": room_name,
            "room_type": room_type or infer_room_type(user_preference),
            "size": {"x": size[0], "y": size[1], "z": size[2]},
            "user_preference": user_preference,
        },
        "objects": objects,
    }
    if reference and (complete or partial_reference):
        data["reference_layout"] = reference
    try:
        return Task.from_dict(data, root=root)
    except TaskError as exc:
        field = re.sub(r"^objects\[(\d+)\]", lambda m: f"scene_graph[{entries[int(m.group(1))][0]}]", exc.field)
        raise TaskError(room_name, field, exc.problem) from exc


def _mesh_file(folder: Path, ids) -> Path | None:
    """``folder/<id>.glb`` for the first id (the scene graph's own, then lower-cased) that exists."""
    for oid in ids:
        if isinstance(oid, str) and oid and "/" not in oid and "\\" not in oid and oid not in (".", ".."):
            path = folder / f"{oid}.glb"
            if path.is_file():
                return path
    return None


def load_metaspatial(
    row: Mapping[str, Any] | str,
    scene_root: str | Path,
    *,
    room_type: str | None = None,
    partial_reference: bool = False,
) -> Task:
    """One MetaSpatial room as a :class:`Task`.

    ``row`` is a dataset row (a mapping with ``answer`` or ``ground_truth``), its ``answer`` JSON
    string, or the row as a JSON string. ``scene_root`` is the ``curated_data`` folder holding
    ``<room_name>/scene_graph-backtracked.json`` and the room's meshes, ``<room_name>/assets/``.
    """
    answer = _parse_answer(row)
    name = answer["room_name"].strip()
    preference = answer.get("user_preference", "")
    if not isinstance(preference, str):
        raise TaskError(name, "answer.user_preference", f"must be a string, got {type(preference).__name__}")
    size = _size_from_answer(name, answer)
    root = Path(scene_root)
    path = root / name / SCENE_GRAPH_FILE
    if not path.is_file() and root.name == name and (root / SCENE_GRAPH_FILE).is_file():
        path = root / SCENE_GRAPH_FILE
    if not path.is_file():
        raise TaskError(name, "scene_graph", f"{SCENE_GRAPH_FILE} not found under {root / name}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskError(name, "scene_graph", f"cannot read {path}: {exc}") from exc
    scene_graph = read_json(text, name, "scene_graph", f"{path.name}: ")
    return scene_graph_to_task(
        scene_graph,
        room_name=name,
        user_preference=preference,
        size_of_room=size,
        room_type=room_type,
        partial_reference=partial_reference,
        assets=path.parent / ASSETS_FOLDER,
        root=root,
    )


def load_metaspatial_dataset(
    rows: Iterable[Mapping[str, Any] | str],
    scene_root: str | Path,
    *,
    skip_invalid: bool = False,
    partial_reference: bool = False,
) -> list[Task]:
    """Every row of a MetaSpatial dataset split as tasks (e.g. ``datasets.load_dataset(...)["train"]``).

    With ``skip_invalid`` rows whose room is missing or broken are skipped instead of raising.
    Duplicate room names (the published parquet repeats some) keep their first occurrence.
    """
    tasks: list[Task] = []
    seen: set[str] = set()
    for row in rows:
        try:
            task = load_metaspatial(row, scene_root, partial_reference=partial_reference)
        except TaskError:
            if skip_invalid:
                continue
            raise
        if task.id in seen:
            continue
        seen.add(task.id)
        tasks.append(task)
    return tasks
