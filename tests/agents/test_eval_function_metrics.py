"""The evaluation's function metrics: counted over rooms with doors or windows only, failed by the
problem kinds they name, explained under the leaderboard when they count fewer rooms."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from agents.compare import leaderboard
from agents.eval_metrics import compute_metrics, csv_text, function_metrics, function_note


def _episode(task_id: str, openings: int, counts: dict[str, int], navigability: float | None = None,
             success: bool = False) -> dict:
    turn = {"turn": 1, "reward": 0.5, "success": success, "terms": {"total": 0.5}, "parse_errors": [],
            "feedback": "", "action": "", "problem_counts": counts}
    if navigability is not None:
        turn["function"] = {"navigability": navigability, "accessibility": 1.0, "opening_clearance": 1.0,
                            "front_clearance": 1.0}
    return {"task_id": task_id, "room_type": "bedroom", "success": success, "turns_used": 1, "final_total": 0.5,
            "turns": [turn], "openings": openings}


def test_rooms_without_openings_are_left_out_and_each_kind_fails_its_rate():
    episodes = [_episode("a", 2, {}, 0.8), _episode("b", 1, {"door": 1}, 0.6), _episode("c", 1, {"access": 2}, 1.0),
                _episode("d", 0, {})]  # no openings: no function rules to pass for free
    m = function_metrics(episodes)
    assert {k: e.n for k, e in m.items()} == {"navigability": 3, "accessibility": 3, "opening_clearance": 3,
                                              "front_clearance": 3}
    assert m["navigability"].value == pytest.approx(0.8)
    assert m["accessibility"].value == pytest.approx(2 / 3) and m["opening_clearance"].value == pytest.approx(2 / 3)
    assert m["front_clearance"].value == pytest.approx(1.0)
    assert function_metrics([_episode("d", 0, {})]) == {}
    assert "navigability" not in compute_metrics([_episode("d", 0, {})])


def test_an_unplaced_object_fails_every_function_rate():
    m = function_metrics([_episode("a", 1, {"unplaced": 1}, 1.0)])
    assert all(m[k].value == 0.0 for k in ("accessibility", "opening_clearance", "front_clearance"))


def test_the_leaderboard_says_when_the_function_metrics_count_fewer_rooms_and_the_csv_has_the_shares():
    episodes = [_episode("a", 1, {}, 0.9, success=True), _episode("d", 0, {})]
    metrics = {k: asdict(v) for k, v in compute_metrics(episodes).items()}
    note = function_note(metrics, 2)
    assert "1 of 2 rooms" in note
    board = leaderboard([{"config": {"policy": "heuristic"}, "metrics": metrics, "episodes": episodes}])
    assert "navigability" in board and note in board
    rows = csv_text(episodes).splitlines()
    assert rows[0].endswith("navigability,accessibility,opening_clearance,front_clearance")
    assert rows[1].endswith("0.9000,1.0000,1.0000,1.0000") and rows[2].endswith(",,,")


def test_a_played_episode_keeps_the_envs_function_shares_per_turn():
    import gymnasium as gym

    import metaspatial_env  # noqa: F401
    from agents.heuristic import HeuristicPolicy
    from agents.runner import run_episode
    from metaspatial_env.tasks.splits import load_split

    task = load_split("test")[0]
    env = gym.make("MetaSpatial-Text-v0", split="test", max_turns=1)
    try:
        summary = run_episode(env, HeuristicPolicy(), task_id=task.id, seed=0).summary()
    finally:
        env.close()
    assert task.openings
    shares = summary["turns"][0]["function"]
    assert set(shares) == {"navigability", "accessibility", "opening_clearance", "front_clearance"}
    assert all(0.0 <= v <= 1.0 for v in shares.values())
