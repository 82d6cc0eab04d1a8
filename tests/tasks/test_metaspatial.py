"""MetaSpatial / IDesign scene graphs -> tasks (fixtures in MetaSpatial's on-disk format)."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

from metaspatial_env.geometry import Box
from metaspatial_env.relations import evaluate_rules
from metaspatial_env.tasks import TaskError
from metaspatial_env.tasks.metaspatial import (
    ROOM_PRIOR_IDS,
    SCENE_GRAPH_FILE,
    infer_room_type,
    load_metaspatial,
    load_metaspatial_dataset,
    scene_graph_to_task,
)

FIXTURES = Path(__file__).parent / "fixtures" / "metaspatial"


def _rows(name: str = "rows.jsonl") -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / name).read_text().splitlines() if line.strip()]


def _scene(room: str) -> list[dict]:
    return json.loads((FIXTURES / room / SCENE_GRAPH_FILE).read_text())


def test_fixtures_are_in_metaspatial_format():
    """The last six entries are IDesign's room priors, as MetaSpatial's reward code assumes ([:-6])."""
    for room in ("room_3", "room_105"):
        sg = _scene(room)
        assert [e["new_object_id"] for e in sg[-6:]] == list(ROOM_PRIOR_IDS)
        for e in sg[:-6]:
            assert {
                "new_object_id",
                "style",
                "material",
                "size_in_meters",
                "is_on_the_floor",
                "facing",
                "placement",
                "rotation",
            } <= set(e)
    for row in _rows():
        answer = json.loads(row["answer"])
        assert set(answer) == {"room_name", "user_preference", "size_of_room"}


def test_bedroom_fixture_maps_every_field():
    task = load_metaspatial(_rows()[0], FIXTURES)
    scene = _scene("room_3")
    assert task.id == "room_3" and task.room_type == "bedroom" and task.size == (4.0, 5.0, 2.8)
    assert task.user_preference.startswith("A calm bedroom")
    assert task.object_ids == tuple(e["new_object_id"] for e in scene[:-6])
    for entry, obj in zip(scene[:-6], task.objects):
        s = entry["size_in_meters"]
        assert obj.size == (s["length"], s["width"], s["height"])
        assert (obj.style, obj.material, obj.on_floor) == (entry["style"], entry["material"], entry["is_on_the_floor"])
        assert obj.facing == entry["facing"] and obj.z_angle == entry["rotation"]["z_angle"]
        assert [(r.element, r.preposition) for r in obj.layout_rules] == [
            (r["layout_element_id"], r["preposition"]) for r in entry["placement"]["room_layout_elements"]
        ]
        assert [(r.target, r.preposition, r.is_adjacent) for r in obj.object_rules] == [
            (r["object_id"], r["preposition"], r["is_adjacent"]) for r in entry["placement"]["objects_in_room"]
        ]
        pos = entry["position"]
        assert task.reference_layout[obj.id] == {
            "x": pos["x"],
            "y": pos["y"],
            "z": pos["z"],
            "z_angle": entry["rotation"]["z_angle"],
        }
    lamp = task.object("table_lamp_1")
    assert lamp.mount is None and not lamp.on_floor
    assert task.object("wall_art_1").mount == "north_wall" and task.object("ceiling_light_1").mount == "ceiling"


def test_bedroom_fixture_reference_layout_meets_its_rules():
    task = load_metaspatial(_rows()[0], FIXTURES)
    boxes = {
        o.id: Box(o.size, (p["x"], p["y"], p["z"]), p["z_angle"])
        for o in task.objects
        for p in [task.reference_layout[o.id]]
    }
    assert [r.describe() for r in evaluate_rules(task, boxes) if r.violation > 0] == []


def test_living_room_fixture_normalises_idesign_quirks():
    task = load_metaspatial(_rows()[1], FIXTURES)
    assert task.id == "room_105" and task.room_type == "living_room" and task.size == (5.0, 6.0, 2.8)
    assert len(task.objects) == 11  # the six priors are dropped
    assert task.object("sofa_1").facing == "tv_1"
    assert task.object("coffee_table_1").facing is None  # facing "middle of the room"
    assert task.object("chandelier_1").facing is None  # facing "ceiling"
    # "in the corner" of the ceiling is "on" it (IDesign's preprocessing does the same)
    assert [(r.element, r.preposition) for r in task.object("chandelier_1").layout_rules] == [("ceiling", "on")]
    # "middle of the floor" is the middle of the room
    assert [(r.element, r.preposition) for r in task.object("rug_1").layout_rules] == [("middle of the room", "on")]
    lamp = task.object("floor_lamp_1")
    # a wall listed among objects_in_room moves to room_layout_elements; a missing is_adjacent is True
    assert [(r.element, r.preposition) for r in lamp.layout_rules] == [("south_wall", "on")]
    assert [(r.target, r.preposition, r.is_adjacent) for r in lamp.object_rules] == [("sofa_1", "right of", True)]
    assert task.object("armchair_1").object_rules[0].is_adjacent is False
    # plant_1 has no position (backtracking did not place it): no reference layout unless asked
    assert task.reference_layout is None
    partial = load_metaspatial(_rows()[1], FIXTURES, partial_reference=True)
    assert set(partial.reference_layout) == set(task.object_ids) - {"plant_1"}
    assert partial.reference_layout["tv_1"] == {"x": 2.5, "y": 5.775, "z": 0.85, "z_angle": 180.0}


@pytest.mark.parametrize("form", ["mapping", "answer_dict", "ground_truth", "answer_json", "row_json", "answer_bytes"])
def test_row_forms(form):
    row = _rows()[0]
    answer = row["answer"]
    value = {
        "mapping": row,
        "answer_dict": {"answer": json.loads(answer)},
        "ground_truth": {"problem": row["problem"], "ground_truth": answer},
        "answer_json": answer,
        "row_json": json.dumps(row),
        "answer_bytes": answer.encode(),
    }[form]
    assert load_metaspatial(value, FIXTURES) == load_metaspatial(row, FIXTURES)


def test_size_falls_back_to_the_wall_priors():
    answer = json.loads(_rows()[0]["answer"])
    del answer["size_of_room"]
    assert load_metaspatial({"answer": json.dumps(answer)}, FIXTURES).size == (4.0, 5.0, 2.8)
    answer["size_of_room"] = "{'x': 4, 'y': 5, 'z': 2.8}"  # str(dict), as hf_data_curation.py writes it
    assert load_metaspatial({"answer": answer}, FIXTURES).size == (4.0, 5.0, 2.8)


def test_scene_root_may_be_the_room_folder():
    assert load_metaspatial(_rows()[0], FIXTURES / "room_3").id == "room_3"


def test_dataset_loader_dedups_and_skips():
    rows = _rows() + _rows()[:1] + _rows("rows_bad.jsonl")
    with pytest.raises(TaskError):
        load_metaspatial_dataset(rows, FIXTURES)
    tasks = load_metaspatial_dataset(rows, FIXTURES, skip_invalid=True)
    assert [t.id for t in tasks] == ["room_3", "room_105"]


def test_broken_fixture_names_the_field():
    with pytest.raises(TaskError) as info:
        load_metaspatial(_rows("rows_bad.jsonl")[0], FIXTURES)
    assert info.value.task_id == "room_bad"
    assert info.value.field == "scene_graph[1].size_in_meters.height"
    assert "'room_bad'" in str(info.value) and "scene_graph[1].size_in_meters.height" in str(info.value)


def _edit(fn):
    def mutate(scene):
        fn(scene)
        return scene

    return mutate


BROKEN_SCENES = [
    ("not a list", lambda sg: {"objects": sg}, "scene_graph"),
    ("entry not an object", _edit(lambda sg: sg.insert(0, "bed_1")), "scene_graph[0]"),
    ("only priors", lambda sg: sg[-6:], "scene_graph"),
    ("size missing", _edit(lambda sg: sg[0].pop("size_in_meters")), "scene_graph[0].size_in_meters"),
    (
        "negative width",
        _edit(lambda sg: sg[1]["size_in_meters"].update(width=-0.4)),
        "scene_graph[1].size_in_meters.width",
    ),
    (
        "larger than the room",
        _edit(lambda sg: sg[5]["size_in_meters"].update(length=9.0)),
        "scene_graph[5].size_in_meters",
    ),
    (
        "relation to unknown id",
        _edit(lambda sg: sg[1]["placement"]["objects_in_room"][0].update(object_id="sofa_9")),
        "scene_graph[1].placement.objects_in_room[0].object_id",
    ),
    (
        "unknown preposition",
        _edit(lambda sg: sg[1]["placement"]["objects_in_room"][0].update(preposition="beside")),
        "scene_graph[1].placement.objects_in_room[0].preposition",
    ),
    (
        "unknown layout element",
        _edit(lambda sg: sg[0]["placement"]["room_layout_elements"][0].update(layout_element_id="roof")),
        "scene_graph[0].placement.room_layout_elements[0].layout_element_id",
    ),
    ("duplicate id", _edit(lambda sg: sg[2].update(new_object_id="nightstand_1")), "scene_graph[2].new_object_id"),
    ("bad position", _edit(lambda sg: sg[0]["position"].update(x="left")), "scene_graph[0].position.x"),
    ("position missing z", _edit(lambda sg: sg[0]["position"].pop("z")), "scene_graph[0].position.z"),
    ("bad rotation", _edit(lambda sg: sg[0]["rotation"].update(z_angle=None)), "scene_graph[0].rotation.z_angle"),
    ("floor flag not bool", _edit(lambda sg: sg[3].update(is_on_the_floor="false")), "scene_graph[3].is_on_the_floor"),
    (
        "priors first",
        lambda sg: sg[-6:] + [dict(sg[0], size_in_meters={"length": -1, "width": 1, "height": 1})] + sg[1:-6],
        "scene_graph[6].size_in_meters.length",
    ),
]


@pytest.mark.parametrize("case,mutate,field", BROKEN_SCENES, ids=[c[0] for c in BROKEN_SCENES])
def test_broken_scene_graph_names_the_field(tmp_path, case, mutate, field):
    shutil.copytree(FIXTURES / "room_3", tmp_path / "room_3")
    scene = mutate(copy.deepcopy(_scene("room_3")))
    (tmp_path / "room_3" / SCENE_GRAPH_FILE).write_text(json.dumps(scene))
    with pytest.raises(TaskError) as info:
        load_metaspatial(_rows()[0], tmp_path)
    assert info.value.task_id == "room_3" and info.value.field == field


BROKEN_ROWS = [
    ("answer not json", {"answer": "{room_name: room_3"}, "<unknown>", "answer"),
    ("answer not an object", {"answer": "[1, 2]"}, "<unknown>", "answer"),
    ("room name missing", {"answer": json.dumps({"user_preference": "x"})}, "<unknown>", "answer.room_name"),
    ("room name a path", {"answer": json.dumps({"room_name": "../etc"})}, "../etc", "answer.room_name"),
    ("row not a mapping", [1, 2, 3], "<unknown>", "row"),
    (
        "size negative",
        {"answer": json.dumps({"room_name": "room_3", "size_of_room": {"x": -4, "y": 5, "z": 2.8}})},
        "room_3",
        "answer.size_of_room.x",
    ),
    (
        "size incomplete",
        {"answer": json.dumps({"room_name": "room_3", "size_of_room": {"x": 4, "y": 5}})},
        "room_3",
        "answer.size_of_room.z",
    ),
    (
        "size not an object",
        {"answer": json.dumps({"room_name": "room_3", "size_of_room": [4, 5, 2.8]})},
        "room_3",
        "answer.size_of_room",
    ),
    (
        "preference not text",
        {"answer": json.dumps({"room_name": "room_3", "user_preference": 5})},
        "room_3",
        "answer.user_preference",
    ),
    (
        "room folder missing",
        {"answer": json.dumps({"room_name": "room_77", "size_of_room": {"x": 4, "y": 5, "z": 3}})},
        "room_77",
        "scene_graph",
    ),
]


@pytest.mark.parametrize("case,row,task_id,field", BROKEN_ROWS, ids=[c[0] for c in BROKEN_ROWS])
def test_broken_row_names_the_field(case, row, task_id, field):
    with pytest.raises(TaskError) as info:
        load_metaspatial(row, FIXTURES)
    assert info.value.task_id == task_id and info.value.field == field


def test_invalid_json_scene_file(tmp_path):
    (tmp_path / "room_3").mkdir()
    (tmp_path / "room_3" / SCENE_GRAPH_FILE).write_text('[{"new_object_id": "bed_1",')
    with pytest.raises(TaskError) as info:
        load_metaspatial(_rows()[0], tmp_path)
    assert info.value.field == "scene_graph" and "not valid JSON" in info.value.problem


def test_missing_size_everywhere():
    scene = [e for e in _scene("room_3") if e["new_object_id"] not in ROOM_PRIOR_IDS]
    with pytest.raises(TaskError) as info:
        scene_graph_to_task(scene, room_name="room_3")
    assert info.value.field == "answer.size_of_room"


def test_ids_are_normalised_consistently():
    scene = _scene("room_3")
    scene[0]["new_object_id"] = "Bed 1"
    for e in scene[1:3]:
        e["placement"]["objects_in_room"][0]["object_id"] = "Bed 1"
    scene[8]["placement"]["objects_in_room"][0]["object_id"] = "Bed-1"
    task = scene_graph_to_task(scene, room_name="room_3", size_of_room=(4.0, 5.0, 2.8))
    assert task.object_ids[0] == "bed_1"
    assert task.object("nightstand_1").object_rules[0].target == "bed_1"
    assert task.object("rug_1").object_rules[0].target == "bed_1"


@pytest.mark.parametrize(
    "text,room_type",
    [
        ("A serene bedroom with a king-sized bed.", "bedroom"),
        ("A chic living room with a sectional sofa.", "living_room"),
        ("A quaint dining room with a rustic table.", "dining_room"),
        ("A spacious kitchen with white countertops.", "kitchen"),
        ("A modern office space with sleek desks.", "office"),
        ("A vibrant playroom with colorful mats.", "kids_room"),
        ("A cozy library with towering shelves.", "library"),
        ("An artist's studio with large canvases.", "art_studio"),
        ("A stylish home theater with plush recliners.", "home_theater"),
        ("A compact studio apartment with a loft bed.", "studio"),
        ("A bustling café with small round tables.", "cafe"),
        ("A sunlit conservatory full of ferns.", "room"),
    ],
)
def test_infer_room_type(text, room_type):
    assert infer_room_type(text) == room_type


# ---------------------------------------------------------------------------- meshes
def _room_copy(tmp_path: Path, room: str = "room_3") -> Path:
    shutil.copytree(FIXTURES / room, tmp_path / room)
    (tmp_path / room / "assets").mkdir()
    return tmp_path / room / "assets"


def _glb(path: Path) -> Path:
    trimesh = pytest.importorskip("trimesh")
    path.write_bytes(trimesh.Scene(trimesh.creation.cone(radius=0.5, height=1.0)).export(file_type="glb"))
    return path


def test_room_assets_become_the_objects_meshes(tmp_path):
    assets = _room_copy(tmp_path)
    bed = _glb(assets / "bed_1.glb")
    (assets / "wardrobe_1.obj").write_text("o not a glb\n")  # other formats are not MetaSpatial's
    task = load_metaspatial(_rows()[0], tmp_path)
    assert task.object("bed_1").mesh == str(bed.resolve())
    assert [o.id for o in task.objects if o.mesh is not None] == ["bed_1"]
    assert task.mesh_forward == "-y"
    # without an assets folder nothing changes: the bundled fixture loads mesh-free, as before
    assert all(o.mesh is None for o in load_metaspatial(_rows()[0], FIXTURES).objects)
    assert load_metaspatial(_rows()[0], tmp_path / "room_3").object("bed_1").mesh == str(bed.resolve())


def test_assets_named_by_the_original_id_are_found(tmp_path):
    assets = _room_copy(tmp_path, "room_105")
    graph = tmp_path / "room_105" / SCENE_GRAPH_FILE
    graph.write_text(graph.read_text().replace('"plant_1"', '"Plant_1"'))  # an id IDesign's LLM capitalised
    plant = _glb(assets / "Plant_1.glb")
    task = load_metaspatial(_rows()[1], tmp_path)
    assert task.object("plant_1").mesh == str(plant.resolve())


def test_an_asset_linked_out_of_the_dataset_is_refused(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    assets = _room_copy(data)
    (assets / "bed_1.glb").symlink_to(_glb(tmp_path / "elsewhere.glb"))
    with pytest.raises(TaskError) as info:
        load_metaspatial(_rows()[0], data)
    assert info.value.task_id == "room_3" and info.value.field == "scene_graph[0].mesh"
    assert "outside the dataset root" in info.value.problem
