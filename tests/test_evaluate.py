"""The evaluation harness: statistics, metrics, a real parallel run, reports and compare."""

from __future__ import annotations

import csv
import json

import pytest

from agents.compare import leaderboard, load_results, paired_differences, paired_table, plot_reward_per_turn
from agents.eval_metrics import compute_metrics, mean_interval, reward_per_turn, wilson_interval
from agents.evaluate import EvalConfig, evaluate
from metaspatial_env.cli import main
from metaspatial_env.prompting import parse_task_prompt


@pytest.mark.parametrize("successes, n, value, low, high", [
    (0, 10, 0.0, 0.0, 0.2775),
    (10, 10, 1.0, 0.7225, 1.0),
    (50, 100, 0.5, 0.4038, 0.5962),
    (200, 200, 1.0, 0.9812, 1.0),
])
def test_wilson_interval(successes, n, value, low, high):
    estimate = wilson_interval(successes, n)
    assert (estimate.value, estimate.n) == (value, n)
    assert estimate.low == pytest.approx(low, abs=1e-4) and estimate.high == pytest.approx(high, abs=1e-4)


@pytest.mark.parametrize("values, value, half", [([1.0], 1.0, 0.0), ([0.0, 1.0], 0.5, 1.959964 * 0.5),
                                                 ([2.0, 2.0, 2.0], 2.0, 0.0)])
def test_mean_interval(values, value, half):
    estimate = mean_interval(values)
    assert estimate.value == pytest.approx(value)
    assert estimate.high - estimate.value == pytest.approx(half) and estimate.value - estimate.low == pytest.approx(half)


def _episode(totals, success=False, problems=None, judge=None, task_id="t", judge_error=None):
    """One episode; ``judge`` grades every turn (its total without the judge is total - 0.1),
    ``judge_error`` says the judge failed on every turn."""
    turns = []
    for i, total in enumerate(totals, 1):
        terms = {"total": total, "relations": total}
        turn = {"turn": i, "reward": total, "terms": terms, "problem_counts": problems or {}}
        if judge is not None:
            terms["judge"] = judge
            turn["total_no_judge"] = round(total - 0.1, 4)
        if judge_error is not None:
            turn["judge_error"] = judge_error
        turns.append(turn)
    return {"task_id": task_id, "room_type": "r", "success": success, "turns_used": len(turns), "turns": turns}


def test_metrics_use_the_final_turn_and_judge_only_counts_valid_layouts():
    episodes = [_episode([0.5, 0.9], success=True, judge=0.8),
                _episode([0.4], problems={"collision": 2}, judge=0.6),
                _episode([0.2, 0.3], problems={"unplaced": 1}, judge_error="timeout")]
    metrics = compute_metrics(episodes)
    assert metrics["success"].value == pytest.approx(1 / 3)
    assert metrics["collision_free"].value == pytest.approx(1 / 3)  # a collision, and an unplaced object
    assert metrics["in_bounds"].value == pytest.approx(2 / 3)
    assert metrics["format_valid"].value == pytest.approx(2 / 3)
    assert metrics["relations"].value == pytest.approx((0.9 + 0.4 + 0.3) / 3)
    # the steps the judge graded (the last room's totals, without the judge, are on another scale)
    assert metrics["reward_per_turn"].value == pytest.approx((0.5 + 0.9 + 0.4) / 3)
    assert metrics["judge"].value == pytest.approx(0.7) and metrics["judge"].n == 2
    assert metrics["physically_grounded"].value == pytest.approx(0.4)  # the colliding layout counts 0
    # An episode that ended early keeps its last total on later turns.
    assert [c.value for c in reward_per_turn(episodes[:2], 2)] == pytest.approx([(0.5 + 0.4) / 2, (0.9 + 0.4) / 2])
    assert [c.value for c in reward_per_turn([_episode([0.5, 0.9]), _episode([0.4])], 2)] == pytest.approx(
        [(0.5 + 0.4) / 2, (0.9 + 0.4) / 2])
    assert "judge" not in compute_metrics([_episode([0.1])])


def test_totals_with_and_without_the_judge_are_kept_apart():
    """A judge that failed on some steps: their totals (without the term) are not averaged with the
    graded ones; the failures are counted."""
    from agents.eval_metrics import judge_steps, reward_per_turn_no_judge

    episodes = [_episode([0.5, 0.9], judge=0.8), _episode([0.4], judge=0.6),
                _episode([0.2, 0.3], judge_error="request failed: timeout")]
    metrics = compute_metrics(episodes)
    assert metrics["reward_per_turn"].value == pytest.approx((0.5 + 0.9 + 0.4) / 3) and metrics["reward_per_turn"].n == 3
    assert metrics["total_no_judge"].value == pytest.approx((0.4 + 0.8 + 0.3 + 0.2 + 0.3) / 5)
    assert metrics["total_no_judge"].n == 5
    assert judge_steps(episodes) == {"steps": 5, "graded": 3, "failed": 2}
    assert [c.value for c in reward_per_turn(episodes, 2)] == pytest.approx([(0.5 + 0.4) / 2, (0.9 + 0.4) / 2])
    assert [c.value for c in reward_per_turn_no_judge(episodes, 2)] == pytest.approx([(0.4 + 0.3 + 0.2) / 3,
                                                                                     (0.8 + 0.3 + 0.3) / 3])
    # without a judge nothing changes
    plain = [_episode([0.5, 0.9]), _episode([0.2])]
    assert compute_metrics(plain)["reward_per_turn"].value == pytest.approx(1.6 / 3)
    assert "total_no_judge" not in compute_metrics(plain) and judge_steps(plain)["steps"] == 0


@pytest.mark.parametrize("kwargs", [{"episodes": 0}, {"turns": 0}, {"workers": 0}])
def test_bad_eval_config(kwargs):
    with pytest.raises(ValueError):
        EvalConfig(policy="random", **kwargs)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("eval")
    small = {"image_size": [64, 128]}
    evaluate(EvalConfig(policy="random", episodes=3, turns=2, workers=2, env_kwargs=small), out / "random",
             progress=False)
    evaluate(EvalConfig(policy="heuristic", episodes=2, turns=2, env_kwargs=small), out / "heuristic", progress=False)
    return out


def test_parallel_eval_writes_results_csv_and_html(runs):
    results = json.loads((runs / "random" / "results.json").read_text())
    assert [e["task_id"] for e in results["episodes"]] == ["test_0000_bedroom", "test_0001_living_room",
                                                          "test_0002_dining_room"]
    assert results["metrics"]["success"]["n"] == 3 and len(results["reward_per_turn"]) == 2
    assert all(len(e["turns"]) == 2 for e in results["episodes"])  # random never succeeds
    rows = list(csv.DictReader(open(runs / "random" / "episodes.csv")))
    assert len(rows) == 3 and rows[0]["task_id"] == "test_0000_bedroom" and float(rows[0]["total"]) > 0
    report = (runs / "random" / "report.html").read_text()
    assert "images/test_0000_bedroom/turn_2.png" in report and "format-valid rate" in report
    assert (runs / "random" / "images" / "test_0002_dining_room" / "turn_0.png").exists()
    heuristic = json.loads((runs / "heuristic" / "results.json").read_text())
    assert heuristic["metrics"]["success"]["value"] == 1.0


def test_eval_on_generated_rooms_with_an_object_range(tmp_path):
    """Held-out rooms of a chosen size no bundled split holds, through the CLI."""
    out = tmp_path / "generated"
    assert main(["eval", "--policy", "heuristic", "--split", "generated:7000000:3", "--min-objects", "3",
                 "--max-objects", "3", "--turns", "1", "--env", "MetaSpatial-Text-v0", "--no-images",
                 "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert [e["task_id"] for e in results["episodes"]] == [f"gen_{7000000 + i}_{e['room_type']}"
                                                          for i, e in enumerate(results["episodes"])]
    assert results["config"]["min_objects"] == 3 and results["metrics"]["success"]["value"] == 1.0
    assert all(len(parse_task_prompt(e["prompt"]).objects) == 3 for e in results["episodes"])  # three objects listed


def test_compare_prints_a_leaderboard_and_plots(runs, tmp_path, capsys):
    results = load_results([runs / "random", runs / "heuristic" / "results.json"])
    table = leaderboard(results).splitlines()
    assert table[0].startswith("| policy | rooms | format-valid rate")
    assert table[2].startswith("| heuristic | 2 | ") and table[3].startswith("| random | 3 | ")
    plot = tmp_path / "plot.png"
    plot_reward_per_turn(results, plot)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["compare", str(runs / "random"), str(runs / "heuristic"), "--plot", str(tmp_path / "c.png")]) == 0
    assert "| heuristic |" in capsys.readouterr().out and (tmp_path / "c.png").exists()


def _result(policy, finals):
    """A results dict whose rooms ``a``, ``b`` ... end on ``finals`` (None: room not played); one turn each."""
    episodes = [_episode([v], task_id=room) for room, v in zip("abcdef", finals) if v is not None]
    return {"config": {"policy": policy}, "episodes": episodes}


@pytest.mark.parametrize("before, after, mean, half, better, worse, n", [
    # every room up by 0.1: a zero-width interval although the rooms' own totals spread widely
    ([0.2, 0.5, 0.9], [0.3, 0.6, 1.0], 0.1, 0.0, 3, 0, 3),
    ([0.5, 0.5], [0.4, 0.8], 0.1, 1.959964 * 0.2, 1, 1, 2),  # differences -0.1, +0.3: sd 0.2828, /sqrt(2)
    # only the shared rooms count: c is new in "after", b was not played there
    ([0.5, 0.7, None], [0.6, None, 0.1], 0.1, 0.0, 1, 0, 1),
])
def test_paired_differences_match_rooms_by_id(before, after, mean, half, better, worse, n):
    d = paired_differences(_result("old", before), _result("new", after))
    assert d["final_total"]["value"] == pytest.approx(mean) and d["reward_per_turn"]["value"] == pytest.approx(mean)
    assert d["final_total"]["high"] - d["final_total"]["value"] == pytest.approx(half, abs=1e-6)
    assert (d["better"], d["worse"], d["n"]) == (better, worse, n)


def test_paired_table_skips_results_on_other_rooms():
    base = _result("base", [0.5, 0.5])
    elsewhere = {"config": {"policy": "elsewhere"}, "episodes": [_episode([0.9], task_id="z")]}
    assert paired_differences(base, elsewhere) is None and paired_table([base, elsewhere]) == ""
    table = paired_table([base, elsewhere, _result("tuned", [0.7, 0.6])]).splitlines()
    assert table[0] == "Paired against base, room by room (95% CI of the mean difference):"
    assert table[-1].startswith("| tuned | 2 | 0.150 [0.052, 0.248] | ") and table[-1].endswith("| 2 / 0 |")


def test_compare_rejects_what_is_not_results(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert main(["compare", str(bad)]) == 2
    assert "not a metaspatial eval results.json" in capsys.readouterr().err
