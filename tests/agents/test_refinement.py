"""Refinement metrics computed by hand on a table of episodes, and the repair baselines."""

from __future__ import annotations

import math

import gymnasium as gym
import pytest

import metaspatial_env  # noqa: F401  (registers the ids)
from agents import make_policy
from agents.eval_metrics import Z95, wilson_interval
from agents.refinement import paired_gain_difference, refinement_metrics
from metaspatial_env.tasks.splits import load_split


def episode(task_id: str, totals: list[float], successes: list[bool], first_problems: dict | None = None):
    turns = [{"turn": i + 1, "reward": t, "terms": {"total": t}, "success": s, "problem_counts": {}}
             for i, (t, s) in enumerate(zip(totals, successes))]
    turns[0]["problem_counts"] = first_problems or {}
    return {"task_id": task_id, "turns": turns, "success": any(successes)}


#: Four rooms, 3 turns: a, fixed on turn 2 (ended early); b, fixed on turn 3; c, never fixed and
#: worse on turn 2; d, a success from turn 1.
TABLE = [
    episode("a", [0.6, 1.0], [False, True], {"collision": 2}),
    episode("b", [0.5, 0.7, 0.9], [False, False, True], {"door": 1, "collision": 1}),
    episode("c", [0.8, 0.7, 0.8], [False, False, False], {"access": 1}),
    episode("d", [1.0], [True]),
]


def test_metrics_by_hand():
    m = refinement_metrics(TABLE, turns=3)
    # gains in total to turn 2: a 0.4, b 0.2, c -0.1, d 0 -> mean 0.125
    diffs = [0.4, 0.2, -0.1, 0.0]
    mean = sum(diffs) / 4
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / 3)
    assert m["gain_total@2"].value == pytest.approx(0.125)
    assert m["gain_total@2"].high - mean == pytest.approx(Z95 * sd / 2)
    # to the last turn: a 0.4 (kept), b 0.4, c 0.0, d 0
    assert m["gain_total@last"].value == pytest.approx(0.2)
    assert m["gain_success@2"].value == pytest.approx(0.25)  # a
    assert m["gain_success@last"].value == pytest.approx(0.5)  # a and b
    # repaired among the three that failed turn 1: a, b
    assert m["repair_rate"] == wilson_interval(2, 3)
    assert m["repair_rate[collision]"] == wilson_interval(2, 2)
    assert m["repair_rate[door]"] == wilson_interval(1, 1)
    assert m["repair_rate[access]"] == wilson_interval(0, 1)
    assert m["regression_rate"] == wilson_interval(1, 4)  # c's turn 2


def test_one_turn_has_no_refinement_and_pairs_match_by_room():
    assert refinement_metrics(TABLE, turns=1) == {}
    better = [episode("a", [0.6, 1.0], [False, True]), episode("c", [0.2, 0.9, 1.0], [False, False, True]),
              episode("zz", [0.1, 0.2, 0.3], [False] * 3)]
    diff = paired_gain_difference(TABLE, better, turns=3)
    # shared rooms a (0.4 vs 0.4) and c (0.0 vs 0.8)
    assert diff.n == 2 and diff.value == pytest.approx(0.4)
    assert paired_gain_difference(TABLE, [episode("q", [0.1, 0.2], [False, False])], 3) is None


def _play(policy_name: str, rooms, turns: int = 3):
    env = gym.make("MetaSpatial-Text-v0", split="test", max_turns=turns)
    policy = make_policy(policy_name, seed=0)
    out = []
    try:
        for i, task in enumerate(rooms):
            obs, info = env.reset(seed=i, options={"task_id": task.id})
            policy.reset()
            turns_seen = []
            done = False
            while not done:
                obs, _, terminated, truncated, info = env.step(policy.act(obs, info))
                turns_seen.append(info["success"])
                done = terminated or truncated
            out.append(turns_seen)
    finally:
        env.close()
    return out


def test_heuristic_repair_fixes_from_feedback_and_the_blind_control_does_not():
    rooms = [t for t in load_split("test")[:12]]
    repair = _play("heuristic_repair", rooms)
    blind = _play("heuristic_resample", rooms)
    failed = [s for s in repair if not s[0]]
    assert len(failed) >= 8  # turn 1 is poor
    assert sum(s[-1] for s in failed) >= 0.9 * len(failed)
    blind_failed = [s for s in blind if not s[0]]
    assert sum(s[-1] for s in blind_failed) <= 0.2 * len(blind_failed)


def test_heuristic_repair_starts_from_a_repair_episode_layout():
    env = gym.make("MetaSpatial-Text-v0", split="test", max_turns=3)
    policy = make_policy("heuristic_repair", seed=0)
    try:
        task = load_split("test")[1]
        obs, info = env.reset(seed=0, options={"task_id": task.id, "start": {"kind": "missing", "count": 2}})
        policy.reset()
        answer = policy.act(obs, info)
        _, _, _, _, step = env.step(answer)
    finally:
        env.close()
    # the objects the start had placed keep their poses unless feedback named them
    assert step["reward_total"] > info["start"]["reward_total"]


# ----------------------------------------------------------------------------- on the leaderboard
def _results(policy, episodes, turns, start=None):
    from dataclasses import asdict

    from agents.eval_metrics import compute_metrics

    return {"config": {"policy": policy, "turns": turns, "split": "test",
                       "env_kwargs": {"start": start} if start else {}},
            "metrics": {k: asdict(v) for k, v in compute_metrics(episodes).items()},
            "refinement": {k: asdict(v) for k, v in refinement_metrics(episodes, turns).items()},
            "reward_per_turn": [], "episodes": episodes}


def _for_board(table):
    return [dict(e, room_type="r", turns_used=len(e["turns"])) for e in table]


def test_the_leaderboard_has_the_refinement_columns_and_repair_rates_by_kind():
    from agents.compare import leaderboard, paired_table, repair_by_kind

    multi = _results("heuristic_repair", _for_board(TABLE), 3, start={"kind": "perturbed", "scale": 0.3})
    single = _results("heuristic", _for_board([episode("a", [1.0], [True]), episode("b", [0.5], [False])]), 1)
    lines = leaderboard([single, multi]).splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header[-4:] == ["gain in total, turn 1 to last", "gain in success, turn 1 to last", "repair rate",
                           "regression rate"]
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.strip("|").split("|")] for line in lines[2:]}
    repaired = rows["heuristic_repair [perturbed scale=0.3]"]
    assert repaired[-4:] == [m.format() for m in (refinement_metrics(TABLE, 3)[k] for k in
                                                 ("gain_total@last", "gain_success@last", "repair_rate",
                                                  "regression_rate"))]
    assert rows["heuristic"][-4:] == ["-"] * 4  # one turn: nothing to refine
    kinds = repair_by_kind([single, multi]).splitlines()
    assert kinds[2] == "| policy | access | collision | door |"
    assert kinds[4] == ("| heuristic | - | - | - |") and kinds[5].startswith("| heuristic_repair [perturbed scale=0.3] | "
                                                                              "0.000 [")
    assert "(n=2)" in kinds[5].split("|")[3]  # collision: rooms a and b
    assert repair_by_kind([single]) == ""
    # paired: the same rooms, one policy refines and the other does not
    flat = _results("flat", _for_board([episode(e["task_id"], [e["turns"][0]["terms"]["total"]] * 3,
                                                [e["turns"][0]["success"]] * 3) for e in TABLE]), 3)
    row = paired_table([flat, multi]).splitlines()[-1].split("|")
    assert row[5].strip() == paired_gain_difference(flat["episodes"], multi["episodes"], 3).format()
    assert paired_gain_difference(flat["episodes"], multi["episodes"], 3).value == pytest.approx(0.2)


def test_an_eval_of_a_repair_start_records_refinement_and_the_start(tmp_path):
    import json

    from agents.evaluate import EvalConfig, evaluate

    out = tmp_path / "repair"
    config = EvalConfig(policy="heuristic_repair", split="test", episodes=4, turns=3, env_id="MetaSpatial-Text-v0",
                        env_kwargs={"start": {"kind": "perturbed", "scale": 0.5}}, images=False)
    results = evaluate(config, out, progress=False)
    episodes = results["episodes"]
    assert all(e["start"]["kind"] == "perturbed" and e["start"]["problem_counts"] for e in episodes)
    assert results["refinement"] == json.loads((out / "results.json").read_text())["refinement"]
    assert results["refinement"]["gain_total@last"]["value"] == pytest.approx(
        refinement_metrics(episodes, 3)["gain_total@last"].value)
    # every start is broken and the first answer already repairs it: refinement counts from the start
    assert results["refinement"]["start_repair_rate"]["n"] == 4
    assert results["refinement"]["start_repair_rate"]["value"] >= 0.75
    assert results["refinement"]["gain_total_from_start"]["value"] > 0
    report = (out / "report.html").read_text()
    assert "<h2>Refinement</h2>" in report and "started from a perturbed layout" in report


def test_metrics_from_a_repair_start_by_hand():
    table = [dict(episode("a", [0.9, 1.0], [False, True]), start={"kind": "chaotic", "total": 0.5, "success": False,
                                                                   "problem_counts": {"collision": 1}}),
             dict(episode("b", [1.0], [True]), start={"kind": "chaotic", "total": 1.0, "success": True,
                                                      "problem_counts": {}}),
             dict(episode("c", [0.4, 0.3], [False, False]), start={"kind": "chaotic", "total": 0.6, "success": False,
                                                                   "problem_counts": {"door": 1}})]
    m = refinement_metrics(table, turns=2)
    assert m["gain_total_from_start"].value == pytest.approx((0.5 + 0.0 - 0.3) / 3)
    assert m["start_repair_rate"] == wilson_interval(1, 2)
    one = refinement_metrics(table, turns=1)  # a one-turn repair still counts from its start
    assert set(one) == {"gain_total_from_start", "start_repair_rate"}
    assert one["start_repair_rate"] == wilson_interval(0, 2)
    assert "repair_rate" not in refinement_metrics([episode("d", [1.0, 1.0], [True, True])], turns=2)
