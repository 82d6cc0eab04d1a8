"""Task schema: round trips and a table of malformed tasks, each rejected naming task and field."""

from __future__ import annotations

import copy
import math

import pytest

from metaspatial_env.tasks import Task, TaskError
from metaspatial_env.tasks.splits import load_split


def _task_dict() -> dict:
    return {
        "room": {
            "id": "t_1",
            "room_type": "bedroom",
            "size": {"x": 4.0, "y": 3.5, "z": 2.6},
            "user_preference": "A calm bedroom.",
        },
        "objects": [
            {
                "new_object_id": "bed_1",
                "style": "modern",
                "material": "oak",
                "size_in_meters": {"length": 1.6, "width": 2.0, "height": 1.0},
                "is_on_the_floor": True,
                "facing": "south_wall",
                "placement": {
                    "room_layout_elements": [{"layout_element_id": "north_wall", "preposition": "on"}],
                    "objects_in_room": [],
                },
                "rotation": {"z_angle": 180.0},
            },
            {
                "new_object_id": "nightstand_1",
                "style": "modern",
                "material": "walnut",
                "size_in_meters": {"length": 0.5, "width": 0.4, "height": 0.55},
                "is_on_the_floor": True,
                "facing": "bed_1",
                "placement": {
                    "room_layout_elements": [],
                    "objects_in_room": [{"object_id": "bed_1", "preposition": "left of", "is_adjacent": True}],
                },
                "rotation": {"z_angle": 180.0},
            },
        ],
        "reference_layout": {
            "bed_1": {"x": 2.0, "y": 2.5, "z": 0.5, "z_angle": 180.0},
            "nightstand_1": {"x": 3.15, "y": 3.3, "z": 0.275, "z_angle": 180.0},
        },
    }


def test_round_trip_preserves_everything():
    data = _task_dict()
    task = Task.from_dict(data)
    assert task.to_dict() == data
    again = Task.from_dict(task.to_dict())
    assert again == task and again.reference_layout == task.reference_layout


def test_round_trip_of_bundled_tasks():
    for task in load_split("test")[:40]:
        again = Task.from_dict(task.to_dict())
        assert again == task
        assert again.reference_layout == task.reference_layout
        assert again.to_dict() == task.to_dict()


def test_parsed_fields():
    task = Task.from_dict(_task_dict())
    assert task.id == "t_1" and task.room_type == "bedroom" and task.size == (4.0, 3.5, 2.6)
    ns = task.object("nightstand_1")
    assert ns.category == "nightstand" and ns.size == (0.5, 0.4, 0.55) and ns.facing == "bed_1"
    assert ns.object_rules[0].target == "bed_1" and ns.object_rules[0].preposition == "left of"
    assert task.object("bed_1").layout_rules[0].element == "north_wall"
    assert task.rule_count == 4


def test_defaults_for_optional_fields():
    data = _task_dict()
    obj = data["objects"][0]
    for key in ("style", "material", "facing", "placement", "rotation", "is_on_the_floor"):
        obj.pop(key)
    del data["reference_layout"]["bed_1"]["z_angle"]
    task = Task.from_dict(data)
    bed = task.object("bed_1")
    assert (bed.style, bed.material, bed.facing, bed.on_floor, bed.z_angle) == ("", "", None, True, 0.0)
    assert bed.layout_rules == () and bed.object_rules == ()
    assert task.reference_layout["bed_1"]["z_angle"] == 0.0  # defaults to the object's rotation


def _set(path: str, value):
    """A mutation that sets ``path`` (dot-separated, ints index lists) to ``value``."""

    def mutate(d):
        keys = [int(k) if k.isdigit() else k for k in path.split(".")]
        target = d
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value
        return d

    return mutate


def _del(path: str):
    def mutate(d):
        keys = [int(k) if k.isdigit() else k for k in path.split(".")]
        target = d
        for k in keys[:-1]:
            target = target[k]
        del target[keys[-1]]
        return d

    return mutate


def _append_relation(index: int, rel: dict):
    def mutate(d):
        d["objects"][index]["placement"]["objects_in_room"].append(rel)
        return d

    return mutate


BAD_TASKS = [
    # (case, mutation, task id in the error, field in the error)
    ("zero room x", _set("room.size.x", 0), "t_1", "room.size.x"),
    ("negative room y", _set("room.size.y", -3.0), "t_1", "room.size.y"),
    ("NaN room z", _set("room.size.z", math.nan), "t_1", "room.size.z"),
    ("infinite room x", _set("room.size.x", math.inf), "t_1", "room.size.x"),
    ("string room size", _set("room.size.x", "4"), "t_1", "room.size.x"),
    ("bool room size", _set("room.size.y", True), "t_1", "room.size.y"),
    ("huge room", _set("room.size.x", 1e6), "t_1", "room.size.x"),
    ("room size missing", _del("room.size"), "t_1", "room.size"),
    ("room height missing", _del("room.size.z"), "t_1", "room.size.z"),
    ("room size not an object", _set("room.size", [4, 3, 2.6]), "t_1", "room.size"),
    ("room type missing", _del("room.room_type"), "t_1", "room.room_type"),
    ("room type not a string", _set("room.room_type", 3), "t_1", "room.room_type"),
    ("preference not a string", _set("room.user_preference", ["cozy"]), "t_1", "room.user_preference"),
    ("room id missing", _del("room.id"), "<unknown>", "room.id"),
    ("room id empty", _set("room.id", ""), "<unknown>", "room.id"),
    ("room not an object", _set("room", "bedroom"), "<unknown>", "room"),
    ("objects missing", _del("objects"), "t_1", "objects"),
    ("objects empty", _set("objects", []), "t_1", "objects"),
    ("objects not a list", _set("objects", {"bed_1": {}}), "t_1", "objects"),
    ("object not an object", _set("objects.1", "nightstand_1"), "t_1", "objects[1]"),
    ("negative length", _set("objects.0.size_in_meters.length", -1.6), "t_1", "objects[0].size_in_meters.length"),
    ("zero width", _set("objects.0.size_in_meters.width", 0.0), "t_1", "objects[0].size_in_meters.width"),
    ("NaN height", _set("objects.1.size_in_meters.height", math.nan), "t_1", "objects[1].size_in_meters.height"),
    ("size missing", _del("objects.0.size_in_meters"), "t_1", "objects[0].size_in_meters"),
    ("height missing", _del("objects.1.size_in_meters.height"), "t_1", "objects[1].size_in_meters.height"),
    ("object longer than room", _set("objects.0.size_in_meters.length", 4.5), "t_1", "objects[0].size_in_meters"),
    ("object taller than room", _set("objects.1.size_in_meters.height", 2.7), "t_1", "objects[1].size_in_meters"),
    ("id missing", _del("objects.0.new_object_id"), "t_1", "objects[0].new_object_id"),
    ("id upper case", _set("objects.0.new_object_id", "Bed_1"), "t_1", "objects[0].new_object_id"),
    ("id with spaces", _set("objects.0.new_object_id", "bed 1"), "t_1", "objects[0].new_object_id"),
    ("id not a string", _set("objects.0.new_object_id", 1), "t_1", "objects[0].new_object_id"),
    ("duplicate ids", _set("objects.1.new_object_id", "bed_1"), "t_1", "objects[1].new_object_id"),
    ("floor flag not bool", _set("objects.0.is_on_the_floor", "yes"), "t_1", "objects[0].is_on_the_floor"),
    ("facing unknown id", _set("objects.1.facing", "tv_1"), "t_1", "objects[1].facing"),
    ("facing itself", _set("objects.1.facing", "nightstand_1"), "t_1", "objects[1].facing"),
    ("facing a number", _set("objects.0.facing", 90), "t_1", "objects[0].facing"),
    ("facing the middle", _set("objects.0.facing", "middle of the room"), "t_1", "objects[0].facing"),
    (
        "relation to missing id",
        _set("objects.1.placement.objects_in_room.0.object_id", "desk_1"),
        "t_1",
        "objects[1].placement.objects_in_room[0].object_id",
    ),
    (
        "relation to itself",
        _set("objects.1.placement.objects_in_room.0.object_id", "nightstand_1"),
        "t_1",
        "objects[1].placement.objects_in_room[0].object_id",
    ),
    (
        "relation id missing",
        _del("objects.1.placement.objects_in_room.0.object_id"),
        "t_1",
        "objects[1].placement.objects_in_room[0].object_id",
    ),
    (
        "unknown object preposition",
        _set("objects.1.placement.objects_in_room.0.preposition", "next to"),
        "t_1",
        "objects[1].placement.objects_in_room[0].preposition",
    ),
    (
        "missing object preposition",
        _del("objects.1.placement.objects_in_room.0.preposition"),
        "t_1",
        "objects[1].placement.objects_in_room[0].preposition",
    ),
    (
        "adjacency not bool",
        _set("objects.1.placement.objects_in_room.0.is_adjacent", "true"),
        "t_1",
        "objects[1].placement.objects_in_room[0].is_adjacent",
    ),
    ("relation not an object", _append_relation(1, "bed_1"), "t_1", "objects[1].placement.objects_in_room[1]"),
    (
        "unknown layout element",
        _set("objects.0.placement.room_layout_elements.0.layout_element_id", "floor"),
        "t_1",
        "objects[0].placement.room_layout_elements[0].layout_element_id",
    ),
    (
        "layout element missing",
        _del("objects.0.placement.room_layout_elements.0.layout_element_id"),
        "t_1",
        "objects[0].placement.room_layout_elements[0].layout_element_id",
    ),
    (
        "layout element not a string",
        _set("objects.0.placement.room_layout_elements.0.layout_element_id", ["north_wall"]),
        "t_1",
        "objects[0].placement.room_layout_elements[0].layout_element_id",
    ),
    (
        "unknown layout preposition",
        _set("objects.0.placement.room_layout_elements.0.preposition", "against"),
        "t_1",
        "objects[0].placement.room_layout_elements[0].preposition",
    ),
    (
        "corner of the ceiling",
        _set(
            "objects.0.placement.room_layout_elements.0",
            {"layout_element_id": "ceiling", "preposition": "in the corner"},
        ),
        "t_1",
        "objects[0].placement.room_layout_elements[0].preposition",
    ),
    ("placement not an object", _set("objects.0.placement", ["north_wall"]), "t_1", "objects[0].placement"),
    (
        "layout rules not a list",
        _set("objects.0.placement.room_layout_elements", {"north_wall": "on"}),
        "t_1",
        "objects[0].placement.room_layout_elements",
    ),
    (
        "object rules not a list",
        _set("objects.1.placement.objects_in_room", "bed_1"),
        "t_1",
        "objects[1].placement.objects_in_room",
    ),
    ("rotation NaN", _set("objects.0.rotation.z_angle", math.nan), "t_1", "objects[0].rotation.z_angle"),
    ("rotation string", _set("objects.0.rotation.z_angle", "north"), "t_1", "objects[0].rotation.z_angle"),
    ("rotation not an object", _set("objects.0.rotation", 90), "t_1", "objects[0].rotation"),
    (
        "reference to unknown id",
        _set("reference_layout.ghost_1", {"x": 1, "y": 1, "z": 1}),
        "t_1",
        "reference_layout.ghost_1",
    ),
    ("reference NaN", _set("reference_layout.bed_1.x", math.nan), "t_1", "reference_layout.bed_1.x"),
    ("reference coordinate missing", _del("reference_layout.bed_1.y"), "t_1", "reference_layout.bed_1.y"),
    ("reference pose not an object", _set("reference_layout.bed_1", [2.0, 2.5, 0.5]), "t_1", "reference_layout.bed_1"),
    ("reference not an object", _set("reference_layout", []), "t_1", "reference_layout"),
]


@pytest.mark.parametrize("case,mutate,task_id,field", BAD_TASKS, ids=[c[0] for c in BAD_TASKS])
def test_bad_task_is_rejected_naming_task_and_field(case, mutate, task_id, field):
    data = mutate(copy.deepcopy(_task_dict()))
    with pytest.raises(TaskError) as info:
        Task.from_dict(data)
    err = info.value
    assert err.task_id == task_id
    assert err.field == field
    assert repr(task_id) in str(err) and repr(field) in str(err)


@pytest.mark.parametrize("value", [None, 5, "task", [1, 2], (), 3.5], ids=repr)
def test_non_dict_input_is_rejected(value):
    with pytest.raises(TaskError) as info:
        Task.from_dict(value)
    assert info.value.task_id == "<unknown>" and info.value.field == "task"
    assert isinstance(info.value, ValueError)


# ---------------------------------------------------------------------------- meshes
def _with_mesh(mesh, **room) -> dict:
    data = _task_dict()
    data["objects"][0]["mesh"] = mesh
    data["room"].update(room)
    return data


def test_mesh_paths_resolve_inside_the_dataset_root(tmp_path):
    task = Task.from_dict(_with_mesh("assets/bed_1.glb", mesh_forward="+x"), root=tmp_path)
    bed = task.object("bed_1")
    assert bed.mesh == str((tmp_path / "assets" / "bed_1.glb").resolve())
    assert task.object("nightstand_1").mesh is None and task.mesh_forward == "+x"
    data = task.to_dict()
    assert data["objects"][0]["mesh"] == bed.mesh and data["room"]["mesh_forward"] == "+x"
    assert "mesh" not in data["objects"][1]
    assert Task.from_dict(data) == task  # absolute paths read back without a root
    assert Task.from_dict(data, root=tmp_path) == task
    hidden = task.to_dict(meshes=False)
    assert all("mesh" not in o for o in hidden["objects"])


def test_tasks_without_meshes_keep_their_form():
    data = _task_dict()
    task = Task.from_dict(data)
    assert task.mesh_forward == "-y" and all(o.mesh is None for o in task.objects)
    out = task.to_dict()
    assert "mesh_forward" not in out["room"] and all("mesh" not in o for o in out["objects"])
    for t in load_split("test")[:3]:
        assert all(o.mesh is None for o in t.objects) and "mesh" not in str(t.to_dict())


@pytest.mark.parametrize("mesh, problem", [
    (3, "must be a string"),
    ("assets/bed_1.obj", "must name a .glb file"),
    ("../elsewhere/bed_1.glb", "resolves outside the dataset root"),
    ("/etc/bed_1.glb", "resolves outside the dataset root"),
])
def test_bad_mesh_paths_name_the_field(tmp_path, mesh, problem):
    with pytest.raises(TaskError) as info:
        Task.from_dict(_with_mesh(mesh), root=tmp_path)
    assert info.value.task_id == "t_1" and info.value.field == "objects[0].mesh"
    assert problem in info.value.problem


def test_a_symlink_out_of_the_root_is_refused(tmp_path):
    root = tmp_path / "data"
    (root / "assets").mkdir(parents=True)
    (tmp_path / "secret.glb").write_bytes(b"glTF")
    (root / "assets" / "bed_1.glb").symlink_to(tmp_path / "secret.glb")
    with pytest.raises(TaskError, match="outside the dataset root"):
        Task.from_dict(_with_mesh("assets/bed_1.glb"), root=root)


def test_a_relative_mesh_needs_a_root():
    with pytest.raises(TaskError) as info:
        Task.from_dict(_with_mesh("assets/bed_1.glb"))
    assert info.value.field == "objects[0].mesh" and "without a dataset root" in info.value.problem


@pytest.mark.parametrize("forward", ["up", "+z", 1, None])
def test_bad_mesh_forward_names_the_field(forward):
    with pytest.raises(TaskError) as info:
        Task.from_dict(_with_mesh(None, mesh_forward=forward))
    assert info.value.field == "room.mesh_forward"


# ---------------------------------------------------------------------------- openings
_DOOR = {"id": "door_1", "kind": "door", "wall": "south_wall", "offset": 1.2, "width": 0.9, "height": 2.1,
         "sill_height": 0.0, "hinge": "start"}
_WINDOW = {"id": "window_1", "kind": "window", "wall": "north_wall", "offset": 2.0, "width": 1.2, "height": 1.2,
           "sill_height": 0.9}


def _with_openings(*openings) -> dict:
    data = _task_dict()
    data["room"]["openings"] = [copy.deepcopy(o) for o in openings]
    return data


def test_openings_round_trip():
    data = _with_openings(_DOOR, _WINDOW)
    task = Task.from_dict(data)
    assert task.to_dict() == data
    assert Task.from_dict(task.to_dict()) == task
    door, window = task.openings
    assert (door.kind, door.wall, door.offset, door.width, door.height, door.sill, door.hinge) == (
        "door", "south_wall", 1.2, 0.9, 2.1, 0.0, "start")
    assert (window.sill, window.hinge) == (0.9, None) and task.opening("window_1") is window


def test_openings_take_part_in_task_equality():
    assert Task.from_dict(_with_openings(_DOOR)) != Task.from_dict(_task_dict())


def test_a_task_without_openings_keeps_its_form():
    data = _task_dict()
    task = Task.from_dict(data)
    assert task.openings == () and "openings" not in task.to_dict()["room"]


def test_metaspatial_tasks_have_no_openings_and_keep_their_form():
    import json
    from pathlib import Path

    from metaspatial_env.tasks.metaspatial import load_metaspatial

    fixtures = Path(__file__).parent / "fixtures" / "metaspatial"
    for line in (fixtures / "rows.jsonl").read_text().splitlines():
        task = load_metaspatial(json.loads(line), fixtures)
        assert task.openings == ()
        text = json.dumps(task.to_dict(), sort_keys=True)
        assert "openings" not in text and json.dumps(Task.from_dict(task.to_dict()).to_dict(), sort_keys=True) == text


@pytest.mark.parametrize("wall,centre,span,inward", [
    ("south_wall", (1.2, 0.0), ((0.75, 0.0), (1.65, 0.0)), (0.0, 1.0)),
    ("north_wall", (1.2, 3.5), ((0.75, 3.5), (1.65, 3.5)), (0.0, -1.0)),
    ("west_wall", (0.0, 1.2), ((0.0, 0.75), (0.0, 1.65)), (1.0, 0.0)),
    ("east_wall", (4.0, 1.2), ((4.0, 0.75), (4.0, 1.65)), (-1.0, 0.0)),
])
def test_opening_geometry_runs_from_each_walls_low_end(wall, centre, span, inward):
    task = Task.from_dict(_with_openings({**_DOOR, "wall": wall}))
    door = task.openings[0]
    assert door.centre(task.size) == pytest.approx(centre)
    assert door.span(task.size)[0] == pytest.approx(span[0]) and door.span(task.size)[1] == pytest.approx(span[1])
    assert door.inward() == inward
    assert door.hinge_point(task.size) == pytest.approx(span[0])
    zone = door.zone(task.size, 1.0)
    assert zone[2] == pytest.approx((span[1][0] + inward[0], span[1][1] + inward[1]))


BAD_OPENINGS = [
    ("not a list", _set("room.openings", {"id": "door_1"}), "room.openings"),
    ("unknown kind", _set("room.openings.0.kind", "hatch"), "room.openings[0].kind"),
    ("unknown wall", _set("room.openings.0.wall", "ceiling"), "room.openings[0].wall"),
    ("missing offset", _del("room.openings.0.offset"), "room.openings[0].offset"),
    ("zero width", _set("room.openings.1.width", 0.0), "room.openings[1].width"),
    ("negative height", _set("room.openings.1.height", -1.0), "room.openings[1].height"),
    ("past the wall's end", _set("room.openings.1.offset", 3.6), "room.openings[1].offset"),
    ("before the wall's start", _set("room.openings.0.offset", 0.3), "room.openings[0].offset"),
    ("through the ceiling", _set("room.openings.1.height", 1.8), "room.openings[1].height"),
    ("door with a sill", _set("room.openings.0.sill_height", 0.1), "room.openings[0].sill_height"),
    ("door without hinge", _del("room.openings.0.hinge"), "room.openings[0].hinge"),
    ("bad hinge", _set("room.openings.0.hinge", "left"), "room.openings[0].hinge"),
    ("window on the floor", _set("room.openings.1.sill_height", 0.0), "room.openings[1].sill_height"),
    ("window with hinge", _set("room.openings.1.hinge", "start"), "room.openings[1].hinge"),
    ("id of an object", _set("room.openings.1.id", "bed_1"), "room.openings[1].id"),
    ("id of a wall", _set("room.openings.1.id", "north_wall"), "room.openings[1].id"),
    ("duplicate id", _set("room.openings.1.id", "door_1"), "room.openings[1].id"),
    ("bad id", _set("room.openings.1.id", "Window 1"), "room.openings[1].id"),
    ("overlap on one wall", _set("room.openings.1", {**_WINDOW, "wall": "south_wall", "offset": 2.0}),
     "room.openings[1].offset"),
]


@pytest.mark.parametrize("case,mutate,field", BAD_OPENINGS, ids=[c[0] for c in BAD_OPENINGS])
def test_bad_opening_is_rejected_naming_task_and_field(case, mutate, field):
    data = mutate(_with_openings(_DOOR, _WINDOW))
    with pytest.raises(TaskError) as info:
        Task.from_dict(data)
    assert (info.value.task_id, info.value.field) == ("t_1", field)


def test_openings_touching_on_one_wall_are_accepted():
    neighbour = {**_WINDOW, "wall": "south_wall", "offset": 1.65 + 0.6}
    task = Task.from_dict(_with_openings(_DOOR, neighbour))
    assert len(task.openings) == 2
