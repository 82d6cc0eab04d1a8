"""Reward terms: each a pure function, checked against hand-computed tables."""

import math

import pytest

from metaspatial_env.reward import (
    RewardConfig,
    bounds_term,
    collision_penalties,
    collision_term,
    format_term,
    is_success,
    object_soundness,
    relations_term,
    stability_score,
    stability_term,
    total_reward,
    turn_reward,
    worst_term,
)

CFG = RewardConfig()


@pytest.mark.parametrize(
    "n_objects, n_placed, n_id_errors, expected",
    [
        (4, 4, 0, 1.0),
        (4, 2, 0, 0.5),
        (4, 4, 1, 0.75),        # an unknown id costs one object's share
        (4, 1, 3, 0.0),         # never below 0
        (4, 0, 0, 0.0),         # a dict answer places nothing
        (0, 0, 0, 0.0),
    ],
)
def test_format(n_objects, n_placed, n_id_errors, expected):
    assert format_term(n_objects, n_placed, n_id_errors, CFG.id_error_penalty) == pytest.approx(expected)


@pytest.mark.parametrize(
    "overlaps, contacts, expected",
    [
        ([], frozenset(), {"a": 0.0, "b": 0.0, "c": 0.0}),
        ([("a", "b", 0.005, 0.3)], frozenset(), {"a": 0.0, "b": 0.0, "c": 0.0}),   # within 1 cm
        ([("a", "b", 0.2, 0.3)], frozenset(), {"a": 0.3, "b": 0.3, "c": 0.0}),
        ([("a", "b", 0.02, 0.1)], frozenset({frozenset("ab")}), {"a": 0.0, "b": 0.0, "c": 0.0}),  # on/under may touch
        ([("a", "b", 0.2, 0.1)], frozenset({frozenset("ab")}), {"a": 0.1, "b": 0.1, "c": 0.0}),   # but not sink in
        ([("a", "b", 0.2, 0.7), ("a", "c", 0.3, 0.6)], frozenset(), {"a": 1.0, "b": 0.7, "c": 0.6}),  # capped at 1
    ],
)
def test_collision_penalties(overlaps, contacts, expected):
    assert collision_penalties(overlaps, "abc", contacts, CFG) == pytest.approx(expected)


@pytest.mark.parametrize(
    "penalties, placed, expected",
    [
        ({"a": 0.0, "b": 0.0}, {"a", "b"}, 1.0),
        ({"a": 0.5, "b": 0.0}, {"a", "b"}, 0.75),
        ({"a": 0.0, "b": 0.0}, {"a"}, 0.5),       # unplaced objects earn nothing
        ({"a": 0.0, "b": 0.0}, set(), 0.0),
    ],
)
def test_collision_term(penalties, placed, expected):
    assert collision_term(penalties, placed) == pytest.approx(expected)


@pytest.mark.parametrize(
    "fractions, placed, expected",
    [
        ({"a": 1.0, "b": 1.0}, {"a", "b"}, 1.0),
        ({"a": 0.5, "b": 1.0}, {"a", "b"}, 0.75),
        ({"a": 1.0, "b": 1.0}, {"b"}, 0.5),
        ({}, set(), 0.0),
    ],
)
def test_bounds_term(fractions, placed, expected):
    assert bounds_term(fractions, placed) == pytest.approx(expected)


@pytest.mark.parametrize(
    "displacement, rotation, expected",
    [
        (0.0, 0.0, 1.0),
        (0.02, 5.0, 1.0),                        # at the thresholds: still stable
        (0.12, 0.0, math.exp(-1.0)),             # 10 cm beyond: 1/e
        (0.02, 20.0, math.exp(-1.0)),            # 15 degrees beyond: 1/e
        (0.47, 0.0, math.exp(-4.5)),             # a fallen object keeps a little credit, continuously
    ],
)
def test_stability_score(displacement, rotation, expected):
    assert stability_score(displacement, rotation, CFG) == pytest.approx(expected)


def test_stability_term_counts_unplaced_as_zero():
    assert stability_term({"a": 1.0, "b": 0.5}, {"a", "b"}) == pytest.approx(0.75)
    assert stability_term({"a": 1.0, "b": 0.5}, {"b"}) == pytest.approx(0.25)


@pytest.mark.parametrize(
    "rules, expected",
    [
        ([], 1.0),
        ([(1.0, True), (0.5, True)], 0.75),
        ([(1.0, True), (1.0, False)], 0.5),       # a rule touching an unplaced object is worth 0
    ],
)
def test_relations_term(rules, expected):
    assert relations_term(rules) == pytest.approx(expected)


@pytest.mark.parametrize(
    "terms, expected",
    [
        ({"format": 1, "collision": 1, "bounds": 1, "stability": 1, "relations": 1, "worst": 1}, 1.0),
        ({"format": 0, "collision": 1, "bounds": 1, "stability": 1, "relations": 0, "worst": 1}, 5 / 8),
        ({"format": 1, "collision": 1, "bounds": 1, "stability": 1, "relations": 1, "worst": 0}, 6 / 8),
        ({"format": 1, "collision": 1, "bounds": 1, "stability": 1, "relations": 1, "worst": 1, "judge": 0.0},
         8 / 9),
        ({"format": 0.0}, 0.0),
    ],
)
def test_total_is_weighted_mean_of_present_terms(terms, expected):
    assert total_reward(terms, CFG) == pytest.approx(expected)


def test_total_with_custom_weights():
    cfg = RewardConfig.from_dict({"relations_weight": 0.0, "format_weight": 3.0})
    assert total_reward({"format": 1.0, "collision": 0.0, "relations": 0.0}, cfg) == pytest.approx(0.75)


OK = dict(clean_answer=True, penalties={"a": 0.0}, out_distance={"a": 0.0}, stability_scores={"a": 1.0},
          required_rules=[True, True], other_rules=[True] * 9 + [False])


@pytest.mark.parametrize(
    "change, expected",
    [
        ({}, True),                                              # 90 % of the other rules is enough
        ({"clean_answer": False}, False),
        ({"required_rules": [True, False]}, False),              # but every support rule
        ({"required_rules": []}, True),
        ({"penalties": {"a": 0.01}}, False),
        ({"out_distance": {"a": 0.02}}, False),
        ({"out_distance": {"a": 0.005}}, True),                  # within the bounds tolerance
        ({"stability_scores": {"a": 0.99}}, False),
        ({"other_rules": [True] * 8 + [False] * 2}, False),
        ({"other_rules": []}, True),
    ],
)
def test_success(change, expected):
    assert is_success(**(OK | change), cfg=CFG) is expected


@pytest.mark.parametrize(
    "penalty, inside, stability, required, expected",
    [
        (0.0, 1.0, 1.0, [], 1.0),
        (1.0, 1.0, 1.0, [1.0], 0.0),       # fully inside another object
        (0.0, 0.5, 1.0, [], 0.5),          # half through a wall
        (0.0, 1.0, 0.01, [], 0.01),        # fell
        (0.0, 1.0, 1.0, [1.0, 0.4], 0.4),  # a support rule missed by 0.46 m
    ],
)
def test_object_soundness_is_its_worst_score(penalty, inside, stability, required, expected):
    assert object_soundness(penalty, inside, stability, required) == pytest.approx(expected)


def test_worst_term_is_the_worst_object_and_unplaced_count_zero():
    soundness = {"a": 1.0, "b": 0.7, "c": 0.9}
    assert worst_term(soundness, {"a", "b", "c"}) == pytest.approx(0.7)
    assert worst_term(soundness, {"a", "b"}) == 0.0
    assert worst_term({}, set()) == 0.0


@pytest.mark.parametrize(
    "mode, total, previous, over, expected",
    [
        ("absolute", 0.7, 0.4, False, 0.7),
        ("improvement", 0.7, 0.4, False, 0.3),
        ("improvement", 0.2, 0.4, True, -0.2),
        ("final", 0.7, 0.4, False, 0.0),
        ("final", 0.7, 0.4, True, 0.7),
    ],
)
def test_turn_reward(mode, total, previous, over, expected):
    assert turn_reward(mode, total, previous, over) == pytest.approx(expected)


def test_improvement_sums_to_last_total():
    totals = [0.3, 0.8, 0.6]
    rewards, previous = [], 0.0
    for i, t in enumerate(totals):
        rewards.append(turn_reward("improvement", t, previous, i == len(totals) - 1))
        previous = t
    assert sum(rewards) == pytest.approx(totals[-1])


@pytest.mark.parametrize("bad", [{"format_weight": -1}, {"nope": 1}, {"relations_weight": float("nan")}])
def test_config_rejects_bad_values(bad):
    with pytest.raises(ValueError):
        RewardConfig.from_dict(bad)


def test_unknown_mode_is_an_error():
    with pytest.raises(ValueError, match="reward_mode"):
        turn_reward("best", 1.0, 0.0, True)
