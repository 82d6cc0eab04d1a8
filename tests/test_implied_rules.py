"""The rules every scene graph implies (DESIGN.md section 6), their feedback, and what success asks.

Layouts come from :mod:`benchmarks.reward_holes` (one object of a room's reference layout
changed) and are stepped through the real env, PyBullet settle included.
"""

import re

import numpy as np
import pytest

from benchmarks.reward_holes import HOLES, answer, reference
from metaspatial_env.env import RoomLayoutEnv
from metaspatial_env.geometry import Box, Boxes
from metaspatial_env.relations import (
    back_to_wall_violations,
    compass,
    evaluate_rules,
    floor_violations,
    implied_rules,
)
from metaspatial_env.schema import Task, TaskError
from metaspatial_env.tasks import load_split


@pytest.fixture(scope="module")
def env():
    env = RoomLayoutEnv(observation="text", split="test", terminate_on_success=False)
    yield env
    env.close()


def first_variant(hole: str):
    for task in load_split("test"):
        for variant in HOLES[hole](task, reference(task)):
            return task, variant
    raise AssertionError(f"no room of the test split takes {hole}")


def step(env, task, text):
    env.reset(options={"task_id": task.id})
    obs, _, _, _, info = env.step(text)
    return obs["text"], info


def problem_texts(info, object_id):
    return [p["text"] for p in info["problems"] if p["object_id"] == object_id]


def test_stacked_floor_object_is_told_how_high_it_stands_and_on_what(env):
    task, variant = first_variant("stacked")
    text, info = step(env, task, answer(variant.layout))
    assert not info["success"]
    lines = [t for t in problem_texts(info, variant.object_id) if "above the floor" in t]
    assert len(lines) == 1, info["problems"]
    match = re.match(rf"{variant.object_id} stands (\d+\.\d\d) m above the floor, on (\w+);", lines[0])
    assert match, lines[0]
    below = match.group(2)
    assert below in task.object_ids and below != variant.object_id
    settled_bottom = info["layout"][variant.object_id]["z"] - task.object(variant.object_id).size[2] / 2.0
    assert float(match.group(1)) == pytest.approx(settled_bottom, abs=0.006)
    assert lines[0] in text  # the observation carries the same line
    rule = next(p for p in info["problems"] if p["text"] == lines[0])
    assert rule["kind"] == "rule" and rule["other"] == "floor" and rule["unit"] == "m" and rule["amount"] > 0.3


def test_object_turned_to_its_wall_is_told_which_way_to_face(env):
    task, variant = first_variant("facing_wall")
    text, info = step(env, task, answer(variant.layout))
    assert not info["success"]
    wall = next(r.element for r in task.object(variant.object_id).layout_rules if r.element.endswith("_wall"))
    wanted = {"south_wall": "north", "north_wall": "south", "west_wall": "east", "east_wall": "west"}[wall]
    line = next(t for t in problem_texts(info, variant.object_id) if "with its back to" in t)
    assert f"with its back to the {wall.replace('_wall', ' wall')} it should face {wanted} into the room" in line
    assert line.endswith("it is 150 degrees off")  # 180 off, less the 30 degree tolerance
    assert line in text


def test_object_on_a_fixture_falls_and_is_told_why(env):
    task, variant = first_variant("on_fixture")
    _, info = step(env, task, answer(variant.layout))
    assert not info["success"] and info["reward_stability"] < 1.0
    line = next(t for t in problem_texts(info, variant.object_id) if " fell " in t)
    match = re.search(r"it stood on (\w+), which hangs on the (\w+) wall and carries only what is put on it", line)
    assert match, line
    assert task.object(match.group(1)).mount == f"{match.group(2)}_wall"
    # it went down through the fixture, not merely rocked
    start = variant.layout[variant.object_id][2]
    assert start - info["layout"][variant.object_id]["z"] > 0.2


def test_an_answer_inside_think_is_not_an_answer(env):
    task = load_split("test")[0]
    good = answer(reference(task))
    assert step(env, task, f"<think>plan</think><answer>{good}</answer>")[1]["success"]
    for text in (f"<think><answer>{good}</answer></think>", f"<think>{good}</think>", f"<think>{good}"):
        _, info = step(env, task, text)
        assert not info["success"] and info["reward_format"] == 0.0, text


def test_a_padded_answer_does_not_succeed(env):
    task, variant = first_variant("padded")
    _, info = step(env, task, answer(variant.layout, variant.extra))
    assert not info["success"]
    codes = {e.split(":")[0] for e in info["parse_errors"]}
    assert codes >= {"unknown_id", "duplicate_id"}


def test_worst_term_is_in_info_and_one_floating_object_costs(env):
    task, variant = first_variant("floating")
    _, good = step(env, task, answer(reference(task)))
    _, bad = step(env, task, answer(variant.layout))
    assert good["reward_worst"] == pytest.approx(1.0, abs=0.02)
    assert bad["reward_worst"] < 0.01 and good["reward_total"] - bad["reward_total"] > 0.2


# ----------------------------------------------------------------------------- the rules themselves
def test_array_forms():
    boxes = Boxes.of((1.0, 0.5, 1.0), [[1, 1, 0.5, 0], [1, 1, 0.53, 0], [1, 1, 0.6, 0], [1, 1, 0.45, 0]])
    assert floor_violations(boxes) == pytest.approx([0.0, 0.0, 0.05, 0.02])  # band [-0.03, 0.05]
    turned = Boxes.of((1.0, 0.5, 1.0), [[1, 1, 0.5, a] for a in (0, 20, 45, 90, 180, 340)])
    assert back_to_wall_violations(turned, "south_wall") == pytest.approx([0, 0, 15, 60, 150, 0])
    assert back_to_wall_violations(turned, "north_wall")[4] == 0.0
    assert [compass(h) for h in (0, 44, 46, 90, 180, 269, 359)] == [
        "north", "north-east", "north-east", "east", "south", "west", "north"]


def _task(objects):
    return Task.from_dict({"room": {"id": "r", "room_type": "bedroom", "size": {"x": 4, "y": 4, "z": 2.5}},
                           "objects": objects})


def _obj(oid, size, **extra):
    return {"new_object_id": oid, "size_in_meters": dict(zip(("length", "width", "height"), size))} | extra


def test_which_objects_get_which_implied_rules():
    wall = {"placement": {"room_layout_elements": [{"layout_element_id": "west_wall", "preposition": "on"}]}}
    task = _task([
        _obj("wardrobe_1", (1, 0.6, 2), **wall),
        _obj("plant_1", (0.4, 0.4, 1), has_front=False, **wall),
        _obj("table_1", (1, 1, 0.7)),
        _obj("lamp_1", (0.2, 0.2, 0.4), is_on_the_floor=False,
             placement={"objects_in_room": [{"object_id": "table_1", "preposition": "on"}]}),
        _obj("painting_1", (1, 0.03, 0.6), is_on_the_floor=False, **wall),
    ])
    rules = {o.id: implied_rules(o) for o in task.objects}
    assert rules == {
        "wardrobe_1": (("on", "floor"), ("back to", "west_wall")),
        "plant_1": (("on", "floor"),),        # no front: any heading will do
        "table_1": (("on", "floor"),),
        "lamp_1": (),                          # its `on` rule is its support rule
        "painting_1": (("back to", "west_wall"),),
    }
    boxes = {"wardrobe_1": Box((1, 0.6, 2), (0.31, 2, 1), 90), "plant_1": Box((0.4, 0.4, 1), (0.27, 0.5, 0.5), 200),
             "table_1": Box((1, 1, 0.7), (2, 2, 0.35), 0), "lamp_1": Box((0.2, 0.2, 0.4), (2, 2, 0.9), 0),
             "painting_1": Box((1, 0.03, 0.6), (0.015, 3, 1.5), 90)}
    results = evaluate_rules(task, boxes)
    assert all(r.satisfied for r in results), [r.describe() for r in results if not r.satisfied]
    required = {(r.subject, r.preposition, r.target) for r in results if r.required}
    assert ("lamp_1", "on", "table_1") in required and ("wardrobe_1", "back to", "west_wall") in required
    assert ("wardrobe_1", "on", "west_wall") not in required  # the wall rule itself counts in the 90 %


def test_has_front_round_trips_and_is_validated():
    task = _task([_obj("plant_1", (0.4, 0.4, 1), has_front=False), _obj("bed_1", (2, 1.6, 0.5))])
    data = task.to_dict()
    assert data["objects"][0]["has_front"] is False and "has_front" not in data["objects"][1]
    assert Task.from_dict(data) == task
    data["objects"][0]["has_front"] = "no"
    with pytest.raises(TaskError, match=r"objects\[0\]\.has_front"):
        Task.from_dict(data)


def test_generated_splits_mark_objects_without_a_front():
    objects = [o for t in load_split("test") for o in t.objects]
    plants = [o for o in objects if o.category == "plant"]
    beds = [o for o in objects if o.category == "bed"]
    assert plants and not any(o.has_front for o in plants) and all(o.has_front for o in beds)


def test_floor_rule_names_the_height_of_a_lifted_object():
    task = load_split("test")[3]
    rng = np.random.default_rng(0)
    boxes = {o.id: Box(o.size, (rng.uniform(0.5, 3), rng.uniform(0.5, 3), o.size[2] / 2 + 1.0), 0.0)
             for o in task.objects}
    floor = [r for r in evaluate_rules(task, boxes) if r.target == "floor"]
    assert floor and not any(r.satisfied for r in floor)
    assert all(r.describe().startswith(f"{r.subject} stands 1.00 m above the floor") for r in floor)
    assert all(r.violation == pytest.approx(0.95) for r in floor)


@pytest.mark.parametrize("oid", ["floor", "ceiling", "north_wall"])
def test_an_object_may_not_take_the_name_of_a_part_of_the_room(oid):
    with pytest.raises(TaskError, match=r"objects\[0\]\.new_object_id.*names a part of the room"):
        _task([_obj(oid, (1, 1, 1))])
