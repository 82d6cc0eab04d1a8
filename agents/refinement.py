"""Refinement metrics: does a policy make its layout better over the turns, from what the env shows it?

Over the episodes of one evaluation (the records :mod:`agents.evaluate` writes), each with its
turns in order; an episode that ended early (on success) keeps its last layout for the turns it
did not play, as the reward-per-turn curve does:

- ``gain_total@k`` / ``gain_total@last``: the mean over rooms of total(turn k) - total(turn 1),
  with a normal interval on the per-room differences (paired by construction);
- ``gain_success@k`` / ``gain_success@last``: the same for success (1 if the room has succeeded by
  that turn), so the value is the share of rooms that turn into a success;
- ``repair_rate``: among the rooms that failed on turn 1, the share that succeed by the last turn
  (Wilson interval), and ``repair_rate[kind]`` among those whose turn 1 had a problem of that kind;
- ``regression_rate``: the share of rooms where a later turn's total is below turn 1's (Wilson).

A metric with no rooms to count (``repair_rate`` when every room succeeded on turn 1) is left out.
Repair episodes (they start from a layout, and keep it as the episode's ``start``) also have, from
that start rather than from turn 1 (whose answer is already a repair), whatever the turn count:

- ``gain_total_from_start``: the mean of total(last turn) - total(start);
- ``start_repair_rate``: among the rooms whose start was not a success, the share that succeed by
  the last turn (Wilson).

:func:`paired_gain_difference` compares two runs on the rooms both played (paired by room id).
:mod:`agents.evaluate` writes the metrics as ``results.json``'s ``refinement``; the leaderboard
(:mod:`agents.compare`) shows :data:`HEADLINE` and a table of repair rates by problem kind, and the
HTML report all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .eval_metrics import Estimate, mean_interval, wilson_interval

#: A later total this much below turn 1's counts as a regression (float noise does not).
REGRESSION_EPS = 1e-6
#: The refinement metrics the leaderboard shows as columns, with their labels.
HEADLINE = {
    "gain_total@last": "gain in total, turn 1 to last",
    "gain_success@last": "gain in success, turn 1 to last",
    "repair_rate": "repair rate",
    "regression_rate": "regression rate",
    "gain_total_from_start": "gain in total, start to last turn",
    "start_repair_rate": "repair rate from the start",
}


def label(name: str) -> str:
    """A readable label for a metric of :func:`refinement_metrics` (``gain_total@2`` ...)."""
    if name in HEADLINE:
        return HEADLINE[name]
    if name.startswith("repair_rate["):
        return f"repair rate, turn 1 with a {name[len('repair_rate['):-1]} problem"
    for prefix, what in (("gain_total@", "total"), ("gain_success@", "success")):
        if name.startswith(prefix):
            return f"gain in {what}, turn 1 to turn {name[len(prefix):]}"
    return name


def _turn(episode: dict[str, Any], k: int) -> dict[str, Any]:
    """Turn ``k`` (1-based) of an episode, or its last turn when it ended before ``k``."""
    turns = episode["turns"]
    return turns[min(k, len(turns)) - 1]


def _total(turn: dict[str, Any]) -> float:
    return float(turn["terms"].get("total", 0.0))


def _succeeded_by(episode: dict[str, Any], k: int) -> bool:
    return any(t["success"] for t in episode["turns"][:k])


def played(episodes: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in episodes if e["turns"]]


def refinement_metrics(episodes: Sequence[dict[str, Any]], turns: int) -> dict[str, Estimate]:
    """The metrics of the module docstring for an evaluation of ``turns`` turns (those over turns
    need two; those from a repair start one)."""
    rooms = played(episodes)
    if not rooms:
        return {}
    out: dict[str, Estimate] = {}
    if turns >= 2:
        out.update(_over_turns(rooms, turns))
    out.update(_from_start([e for e in rooms if e.get("start")], turns))
    return out


def _over_turns(rooms: Sequence[dict[str, Any]], turns: int) -> dict[str, Estimate]:
    out: dict[str, Estimate] = {}
    for k in range(2, turns + 1):
        label = "last" if k == turns else str(k)
        out[f"gain_total@{label}"] = mean_interval([_total(_turn(e, k)) - _total(_turn(e, 1)) for e in rooms])
        out[f"gain_success@{label}"] = mean_interval([float(_succeeded_by(e, k)) - float(_succeeded_by(e, 1))
                                                      for e in rooms])
    failed = [e for e in rooms if not e["turns"][0]["success"]]
    if failed:  # none failed turn 1: no rate to report (left out, as NaN would read as a measurement)
        out["repair_rate"] = wilson_interval(sum(_succeeded_by(e, turns) for e in failed), len(failed))
    for kind in sorted({k for e in failed for k, n in e["turns"][0].get("problem_counts", {}).items() if n}):
        these = [e for e in failed if e["turns"][0].get("problem_counts", {}).get(kind)]
        out[f"repair_rate[{kind}]"] = wilson_interval(sum(_succeeded_by(e, turns) for e in these), len(these))
    out["regression_rate"] = wilson_interval(
        sum(any(_total(_turn(e, k)) < _total(_turn(e, 1)) - REGRESSION_EPS for k in range(2, turns + 1))
            for e in rooms), len(rooms))
    return out


def _from_start(repairs: Sequence[dict[str, Any]], turns: int) -> dict[str, Estimate]:
    """A repair episode's first answer is already a repair: these count from its start."""
    if not repairs:
        return {}
    out = {"gain_total_from_start": mean_interval([_total(_turn(e, turns)) - float(e["start"]["total"])
                                                   for e in repairs])}
    broken = [e for e in repairs if not e["start"]["success"]]
    if broken:
        out["start_repair_rate"] = wilson_interval(sum(_succeeded_by(e, turns) for e in broken), len(broken))
    return out


def paired_gain_difference(baseline: Sequence[dict[str, Any]], other: Sequence[dict[str, Any]],
                           turns: int) -> Estimate | None:
    """Mean over the rooms both runs played of (other's gain in total to the last turn) minus
    (baseline's), with a normal interval on the per-room differences; None without shared rooms."""
    mine = {e["task_id"]: e for e in played(baseline)}
    pairs = [(mine[e["task_id"]], e) for e in played(other) if e["task_id"] in mine]
    if not pairs or turns < 2:
        return None

    def gain(episode: dict[str, Any]) -> float:
        return _total(_turn(episode, turns)) - _total(_turn(episode, 1))

    return mean_interval([gain(b) - gain(a) for a, b in pairs])


__all__ = ["HEADLINE", "label", "paired_gain_difference", "refinement_metrics"]
