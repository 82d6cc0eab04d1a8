"""The heuristic policy: a scene-graph solver that must succeed on the bundled test split.

The hand-written rooms below follow the generator's templates (bed with nightstands, desk and
chair, sofa facing a TV, rug under a table, chairs around a table, art above furniture,
pendants above tables, plants in corners) so the solver's own behaviour is pinned down
independently of the generated splits.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from agents.heuristic import HeuristicPolicy, LayoutSolver, Pose, placement_order, repair_layout
from metaspatial_env.actions import parse_action
from metaspatial_env.geometry import Box
from metaspatial_env.physics import PhysicsWorld
from metaspatial_env.relations import evaluate_rules
from metaspatial_env.reward import RewardConfig
from metaspatial_env.scoring import evaluate_layout
from metaspatial_env.tasks import Task
from metaspatial_env.tasks.catalog import CATEGORIES


def obj(oid, size, *, floor=True, facing=None, layout=(), rels=(), angle=0.0):
    front = {} if CATEGORIES[oid.rsplit("_", 1)[0]].has_front else {"has_front": False}
    return front | {
        "new_object_id": oid, "style": "modern", "material": "oak",
        "size_in_meters": dict(zip(("length", "width", "height"), size)), "is_on_the_floor": floor,
        "facing": facing,
        "placement": {
            "room_layout_elements": [{"layout_element_id": e, "preposition": p} for e, p in layout],
            "objects_in_room": [{"object_id": t, "preposition": p, "is_adjacent": a} for t, p, a in rels],
        },
        "rotation": {"z_angle": angle},
    }


def room(tid, size, objects):
    return Task.from_dict({"room": {"id": tid, "room_type": tid.rsplit("_", 1)[0], "size": dict(zip("xyz", size)),
                                    "user_preference": ""}, "objects": objects})


BEDROOM = room("bedroom_1", (4.5, 4.0, 2.8), [
    obj("bed_1", (1.6, 2.1, 1.0), layout=[("north_wall", "on")], facing="south_wall", angle=180),
    obj("nightstand_1", (0.5, 0.4, 0.55), layout=[("north_wall", "on")], rels=[("bed_1", "left of", True)]),
    obj("nightstand_2", (0.5, 0.4, 0.55), layout=[("north_wall", "on")], rels=[("bed_1", "right of", True)]),
    obj("table_lamp_1", (0.3, 0.3, 0.5), floor=False, rels=[("nightstand_1", "on", True)]),
    obj("wardrobe_1", (1.6, 0.6, 2.0), layout=[("east_wall", "on")], facing="west_wall"),
    obj("wall_art_1", (1.0, 0.04, 0.6), floor=False, layout=[("north_wall", "on")], rels=[("bed_1", "above", False)]),
    obj("rug_1", (2.0, 1.5, 0.01), rels=[("bed_1", "under", False)]),
    obj("plant_1", (0.45, 0.45, 1.2), layout=[("south_wall", "in the corner")]),
    obj("desk_1", (1.2, 0.7, 0.75), layout=[("west_wall", "on")], facing="east_wall"),
    obj("office_chair_1", (0.6, 0.6, 1.0), facing="desk_1", rels=[("desk_1", "in front", True)]),
    obj("ceiling_light_1", (0.5, 0.5, 0.1), floor=False, layout=[("ceiling", "on")], rels=[("bed_1", "above", False)]),
])

LIVING_ROOM = room("living_room_1", (5.5, 4.5, 2.7), [
    obj("tv_stand_1", (1.8, 0.45, 0.5), layout=[("north_wall", "on")], facing="south_wall"),
    obj("tv_1", (1.4, 0.07, 0.8), floor=False, layout=[("north_wall", "on")], rels=[("tv_stand_1", "above", True)]),
    obj("sofa_1", (2.2, 0.9, 0.85), layout=[("south_wall", "on")], facing="tv_1"),
    obj("coffee_table_1", (1.1, 0.6, 0.4), rels=[("sofa_1", "in front", True)]),
    obj("rug_1", (2.4, 1.8, 0.01), rels=[("coffee_table_1", "under", False)]),
    obj("armchair_1", (0.85, 0.85, 0.9), facing="coffee_table_1", rels=[("sofa_1", "left of", True)]),
    obj("side_table_1", (0.5, 0.5, 0.55), rels=[("sofa_1", "right of", True)]),
    obj("table_lamp_1", (0.3, 0.3, 0.5), floor=False, rels=[("side_table_1", "on", True)]),
    obj("wall_art_1", (1.2, 0.04, 0.7), floor=False, layout=[("south_wall", "on")], rels=[("sofa_1", "above", False)]),
    obj("bookshelf_1", (1.0, 0.35, 1.9), layout=[("west_wall", "on")], angle=90),
    obj("plant_1", (0.5, 0.5, 1.3), layout=[("east_wall", "in the corner")]),
    obj("plant_2", (0.4, 0.4, 1.0), layout=[("west_wall", "in the corner")]),
    obj("floor_lamp_1", (0.4, 0.4, 1.7), rels=[("armchair_1", "behind", False)]),
    obj("chandelier_1", (0.7, 0.7, 0.6), floor=False, layout=[("ceiling", "on")],
        rels=[("coffee_table_1", "above", False)]),
])

DINING_ROOM = room("dining_room_1", (5.0, 4.2, 2.8), [
    obj("dining_table_1", (1.8, 0.9, 0.75), layout=[("middle of the room", "on")]),
    obj("rug_1", (2.8, 2.0, 0.01), rels=[("dining_table_1", "under", False)]),
    *[obj(f"dining_chair_{i}", (0.45, 0.5, 0.9), facing="dining_table_1", rels=[("dining_table_1", side, True)])
      for i, side in enumerate(("in front", "in front", "behind", "behind", "left of", "right of"), start=1)],
    obj("pendant_light_1", (0.5, 0.5, 0.4), floor=False, layout=[("ceiling", "on")],
        rels=[("dining_table_1", "above", False)]),
    obj("sideboard_1", (1.6, 0.45, 0.85), layout=[("west_wall", "on")], angle=90),
    obj("vase_1", (0.2, 0.2, 0.35), floor=False, rels=[("sideboard_1", "on", True)]),
    obj("china_cabinet_1", (1.1, 0.45, 2.0), layout=[("east_wall", "on")], angle=270),
    obj("plant_1", (0.5, 0.5, 1.2), layout=[("north_wall", "in the corner")]),
    obj("wall_art_1", (1.0, 0.04, 0.6), floor=False, layout=[("west_wall", "on")],
        rels=[("sideboard_1", "above", False)]),
])

OFFICE = room("office_1", (3.6, 3.2, 2.6), [
    obj("desk_1", (1.4, 0.7, 0.75), layout=[("north_wall", "on")], angle=180),
    obj("office_chair_1", (0.65, 0.65, 1.1), facing="desk_1", rels=[("desk_1", "in front", True)]),
    obj("computer_monitor_1", (0.6, 0.2, 0.45), floor=False, facing="office_chair_1", rels=[("desk_1", "on", True)]),
    obj("desk_lamp_1", (0.2, 0.2, 0.4), floor=False, rels=[("desk_1", "on", True)]),
    obj("bookshelf_1", (1.0, 0.35, 2.0), layout=[("east_wall", "on")]),
    obj("filing_cabinet_1", (0.45, 0.6, 1.0), layout=[("north_wall", "on")], rels=[("desk_1", "right of", True)]),
    obj("whiteboard_1", (1.6, 0.04, 1.0), floor=False, layout=[("west_wall", "on")]),
    obj("plant_1", (0.4, 0.4, 1.0), layout=[("south_wall", "in the corner")]),
    obj("sofa_1", (1.8, 0.9, 0.8), layout=[("south_wall", "on")]),
    obj("coffee_table_1", (1.0, 0.55, 0.4), rels=[("sofa_1", "in front", True)]),
])

# A counter run that needs nearly the whole south wall, and a cabinet bound to a corner of the
# east wall: the south-east corner comes first in the solver's order, but it belongs to the run.
KITCHEN = room("kitchen_1", (4.1, 3.2, 2.5), [
    obj("refrigerator_1", (0.62, 0.69, 1.71), layout=[("south_wall", "on")]),
    obj("kitchen_counter_1", (1.52, 0.64, 0.88), layout=[("south_wall", "on")],
        rels=[("refrigerator_1", "right of", True)]),
    obj("sink_cabinet_1", (0.82, 0.64, 0.91), layout=[("south_wall", "on")],
        rels=[("kitchen_counter_1", "right of", True)]),
    obj("dishwasher_1", (0.6, 0.62, 0.85), layout=[("south_wall", "on")],
        rels=[("sink_cabinet_1", "right of", True)]),
    obj("wall_cabinet_1", (0.82, 0.34, 0.7), floor=False, layout=[("south_wall", "on")],
        rels=[("sink_cabinet_1", "above", True)]),
    obj("stool_1", (0.36, 0.39, 0.57), layout=[("south_wall", "in the corner")]),
    obj("storage_cabinet_1", (1.17, 0.49, 0.85), layout=[("east_wall", "in the corner")], angle=270),
])

ROOMS = [BEDROOM, LIVING_ROOM, DINING_ROOM, OFFICE, KITCHEN]


@pytest.fixture(scope="module")
def world():
    with PhysicsWorld() as w:
        yield w


def boxes_of(task: Task, layout) -> dict[str, Box]:
    return {oid: p.box(task.object(oid)) for oid, p in layout.items()}


def judge(task: Task, action: str, world: PhysicsWorld):
    """Score an answer through the env's own pipeline (static checks, PyBullet settle, rules)."""
    parse = parse_action(action, task.object_ids)
    boxes = {oid: Box(task.object(oid).size, (p.x, p.y, p.z), p.z_angle) for oid, p in parse.placements.items()}
    return evaluate_layout(task, boxes, set(parse.placements), parse, world, RewardConfig())


def first_answer(task: Task, **kwargs) -> tuple[HeuristicPolicy, str]:
    policy = HeuristicPolicy(**kwargs)
    policy.reset()
    return policy, policy.act({"text": "prompt"}, {"task_id": task.id, "turn": 0, "task": task.to_dict()})


# ----------------------------------------------------------------------------- turn one
def test_anchors_come_before_their_satellites():
    order = placement_order(LIVING_ROOM)
    for o in LIVING_ROOM.objects:
        for rule in o.object_rules:
            assert order.index(rule.target) < order.index(o.id), (o.id, rule)
    # the sofa faces the TV, so the TV is placed first
    assert order.index("tv_1") < order.index("sofa_1")


@pytest.mark.parametrize("task", ROOMS, ids=lambda t: t.id)
def test_answer_names_every_object_once_and_nothing_else(task):
    _, action = first_answer(task)
    assert action.startswith("<answer>") and action.endswith("</answer>")
    entries = json.loads(action[len("<answer>"):-len("</answer>")])
    assert sorted(e["new_object_id"] for e in entries) == sorted(task.object_ids)
    parse = parse_action(action, task.object_ids)
    assert parse.errors == ()
    for e in entries:
        assert set(e) == {"new_object_id", "x", "y", "z", "z_angle"}
        assert all(round(e[k], 3) == e[k] for k in ("x", "y", "z", "z_angle"))


@pytest.mark.parametrize("task", ROOMS, ids=lambda t: t.id)
def test_turn_one_meets_every_rule_and_succeeds(task, world):
    policy, action = first_answer(task)
    rules = evaluate_rules(task, boxes_of(task, policy.layout))
    assert [r.describe() for r in rules if not r.satisfied] == []
    evaluation = judge(task, action, world)
    assert evaluation.problems == []
    assert evaluation.success


def test_wall_look_ahead_keeps_a_wall_end_for_a_counter_run(monkeypatch):
    cabinet = KITCHEN.object("storage_cabinet_1")
    # the corner-bound cabinet is placed first, and takes the north end of the east wall
    assert placement_order(KITCHEN)[0] == cabinet.id
    assert LayoutSolver(KITCHEN).place(cabinet, {}, []).y > KITCHEN.size[1] / 2
    # without the look-ahead it would take the south end, where the run must end
    monkeypatch.setattr(LayoutSolver, "wall_budget_cost", lambda self, obj, cands, placed: np.zeros(len(cands.z)))
    assert LayoutSolver(KITCHEN).place(cabinet, {}, []).y < KITCHEN.size[1] / 2


def test_heights_follow_what_holds_each_object(world):
    policy, _ = first_answer(LIVING_ROOM)
    layout = policy.layout
    size = {o.id: o.size for o in LIVING_ROOM.objects}
    top = {oid: p.z + size[oid][2] / 2 for oid, p in layout.items()}
    assert layout["rug_1"].z == pytest.approx(0.005)
    # the lamp rests on the side table, the TV hangs above its stand, the chandelier touches the ceiling
    assert layout["table_lamp_1"].z == pytest.approx(top["side_table_1"] + size["table_lamp_1"][2] / 2)
    assert layout["tv_1"].z - size["tv_1"][2] / 2 > top["tv_stand_1"]
    assert top["chandelier_1"] == pytest.approx(LIVING_ROOM.size[2], abs=0.01)
    # the coffee table stands on the rug rather than sinking into it
    assert layout["coffee_table_1"].z == pytest.approx(top["rug_1"] + size["coffee_table_1"][2] / 2)


def test_same_seed_same_answer_and_seed_only_breaks_ties():
    for task in ROOMS:
        assert first_answer(task, seed=3)[1] == first_answer(task, seed=3)[1]
        assert first_answer(task)[1] == first_answer(task)[1]


def test_act_without_a_task_is_an_error():
    with pytest.raises(RuntimeError, match="info\\['task'\\]"):
        HeuristicPolicy().act({"text": ""}, {})


# ----------------------------------------------------------------------------- repair
def test_repair_fixes_a_deliberately_broken_layout(world):
    policy, _ = first_answer(DINING_ROOM)
    solver = LayoutSolver(DINING_ROOM)
    broken = policy.layout
    table = broken["dining_table_1"]
    # shove a chair into the table and the cabinet through the wall
    broken["dining_chair_3"] = Pose(table.x + 0.2, table.y, broken["dining_chair_3"].z, 0.0)
    cabinet = broken["china_cabinet_1"]
    broken["china_cabinet_1"] = Pose(DINING_ROOM.size[0], cabinet.y, cabinet.z, cabinet.z_angle)
    before = judge(DINING_ROOM, _answer(broken), world)
    kinds = {(p.object_id, p.kind) for p in before.problems}
    assert ("china_cabinet_1", "out_of_bounds") in kinds and not before.success
    assert any(p.kind == "collision" and "dining_chair_3" in (p.object_id, p.other) for p in before.problems)

    named = {p.object_id for p in before.problems}
    repaired = repair_layout(solver, broken, named, tabu={})
    after = judge(DINING_ROOM, _answer(repaired), world)
    assert after.total > before.total
    assert after.success, [p.text for p in after.problems]
    # objects nobody complained about (and that hang on nothing that moved) keep their poses
    untouched = set(DINING_ROOM.object_ids) - named - {"vase_1", "wall_art_1"}
    assert all(repaired[oid] == broken[oid] for oid in untouched if oid not in ("rug_1",))


def _answer(layout) -> str:
    from agents.heuristic import format_answer

    return format_answer(layout)


def test_policy_moves_what_the_feedback_names_and_keeps_the_rest(world):
    policy, first = first_answer(BEDROOM)
    layout = policy.layout
    problems = [{"object_id": "nightstand_2", "kind": "collision", "amount": 0.05, "unit": "m",
                 "other": "bed_1", "text": "nightstand_2 overlaps bed_1 by 0.05 m"}]
    second = policy.act({"text": "feedback"}, {"turn": 1, "success": False, "problems": problems})
    moved = {oid for oid, p in policy.layout.items() if p != layout[oid]}
    assert moved == {"nightstand_2"}
    assert judge(BEDROOM, second, world).success
    # a successful turn is answered again unchanged
    third = policy.act({"text": "feedback"}, {"turn": 2, "success": True, "problems": []})
    assert third == second != first


def test_object_named_twice_drags_its_anchor_chain_into_the_repair(world):
    policy, _ = first_answer(BEDROOM)
    layout = policy.layout
    problem = [{"object_id": "table_lamp_1", "kind": "unstable", "amount": 0.1, "unit": "m", "other": None,
                "text": "table_lamp_1 fell 0.10 m"}]
    policy.act({}, {"success": False, "problems": problem})
    assert policy.layout["nightstand_1"] == layout["nightstand_1"]
    answer = policy.act({}, {"success": False, "problems": problem})
    # the second time the lamp's support and the bed it stands beside move well away
    final = policy.layout
    for anchor in ("nightstand_1", "bed_1"):
        old, new = layout[anchor], final[anchor]
        assert np.hypot(old.x - new.x, old.y - new.y) > 0.5 or old.z_angle != new.z_angle
    assert judge(BEDROOM, answer, world).success


# ----------------------------------------------------------------------------- the product bar
@pytest.mark.slow
@pytest.mark.parametrize("split", ["test", "hard"])
def test_succeeds_on_98_percent_of_test_and_hard_within_three_turns(split):
    """The product bar under the full success rule (clean answer, every support and back-to-wall
    rule, 90 % of the rest): seeded, as an RL baseline would run it."""
    import gymnasium as gym

    import metaspatial_env  # noqa: F401  (registers the env ids)
    from metaspatial_env.tasks.splits import load_split

    tasks = load_split(split)
    env = gym.make("MetaSpatial-Text-v0", split=split, max_turns=3)
    policy = HeuristicPolicy(seed=0)
    successes, seconds, acts = 0, 0.0, 0
    for task in tasks:
        observation, info = env.reset(seed=0, options={"task_id": task.id})
        policy.reset()
        done, success = False, False
        while not done:
            clock = time.perf_counter()
            action = policy.act(observation, info)
            seconds += time.perf_counter() - clock
            acts += 1
            assert parse_action(action, task.object_ids).count("unknown_id") == 0
            observation, _, terminated, truncated, info = env.step(action)
            success |= info["success"]
            done = terminated or truncated
        successes += success
    env.close()
    rate = successes / len(tasks)
    print(f"heuristic on {split}: {successes}/{len(tasks)} rooms solved, {seconds / acts * 1000:.0f} ms per act")
    assert rate >= 0.98


@pytest.mark.slow
def test_turn_one_solves_every_room_of_the_test_split():
    """Unseeded, the first answer alone meets every room of the test split (settled by the env)."""
    import gymnasium as gym

    import metaspatial_env  # noqa: F401  (registers the env ids)
    from metaspatial_env.tasks.splits import load_split

    tasks = load_split("test")
    env = gym.make("MetaSpatial-Text-v0", split="test", max_turns=1)
    policy = HeuristicPolicy()
    failed = []
    for task in tasks:
        observation, info = env.reset(seed=0, options={"task_id": task.id})
        policy.reset()
        info = env.step(policy.act(observation, info))[-1]
        if not info["success"]:
            failed.append(task.id)
    env.close()
    assert failed == []
