"""``metaspatial compare``: a leaderboard of evaluation results (with the refinement columns of
:mod:`agents.refinement` for runs of several turns, and their repair rates by problem kind), paired
room-by-room differences against the first run (with their 95 % CI, rooms better and worse), and a
reward-per-turn plot. A repair run (episodes started from a layout, the env's ``start``) is named
with its start, e.g. ``heuristic_repair [perturbed scale=0.3]``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .eval_metrics import METRIC_LABELS, Estimate, final_terms, function_note, mean_interval
from .refinement import HEADLINE, paired_gain_difference


# ----------------------------------------------------------------------------- compare
def load_results(paths: Sequence[str | Path]) -> list[dict[str, Any]]:
    """Read ``results.json`` files (a directory means its ``results.json``)."""
    loaded = []
    for path in map(Path, paths):
        path = path / "results.json" if path.is_dir() else path
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(f"cannot read results from {path}: {error}") from None
        if not all(key in data for key in ("config", "metrics", "reward_per_turn")):
            raise ValueError(f"{path} is not a metaspatial eval results.json")
        if "success" not in data["metrics"]:
            raise ValueError(f"{path} records no finished episode yet (a partial run: continue it with --resume)")
        loaded.append(data)
    return loaded


def _rooms(result: dict[str, Any]) -> int:
    return len(result.get("episodes", [])) or result["metrics"]["success"]["n"]


def run_name(result: dict[str, Any]) -> str:
    """The policy, and where its episodes started when that is not the empty stack (a repair run)."""
    name = result["config"]["policy"]
    start = (result["config"].get("env_kwargs") or {}).get("start")
    kind = start if isinstance(start, str) else (start or {}).get("kind", "empty")
    if kind != "empty":
        extra = {k: v for k, v in start.items() if k in ("scale", "angle", "count")} if isinstance(start, dict) else {}
        name += f" [{kind}{''.join(f' {k}={v}' for k, v in extra.items())}]"
    return name + ("" if result.get("complete", True) else " (partial)")


def _turns(result: dict[str, Any]) -> int:
    return int(result["config"].get("turns") or max((len(e["turns"]) for e in result.get("episodes", [])), default=1))


def leaderboard(results: Sequence[dict[str, Any]]) -> str:
    """A markdown table: one row per run, each metric as ``value [95% CI]``, best success first.

    A metric only some runs have (the judge's, the function metrics of a run on rooms with doors
    and windows next to an older run or one on rooms without, the refinement columns of a run of
    two turns or more) is ``-`` for the others; where the function metrics count fewer rooms than
    were played, a note under the table says so.
    """
    names = [m for m in METRIC_LABELS if any(m in r["metrics"] for r in results)]
    refinement = [m for m in HEADLINE if any(m in (r.get("refinement") or {}) for r in results)]
    rows = sorted(results, key=lambda r: (-r["metrics"]["success"]["value"],
                                          -r["metrics"]["reward_per_turn"]["value"]))
    labels = [METRIC_LABELS[m] for m in names] + [HEADLINE[m] for m in refinement]
    lines = ["| policy | rooms | " + " | ".join(labels) + " |",
             "| --- | ---: | " + " | ".join("---:" for _ in labels) + " |"]
    for r in rows:
        cells = [Estimate(**r["metrics"][m]).format() if m in r["metrics"] else "-" for m in names]
        cells += [Estimate(**r["refinement"][m]).format() if m in (r.get("refinement") or {}) else "-"
                  for m in refinement]
        lines.append(f"| {run_name(r)} | {_rooms(r)} | " + " | ".join(cells) + " |")
    notes = [f"{run_name(r)}: {note}" for r in rows if (note := function_note(r["metrics"], _rooms(r)))]
    return "\n".join(lines + ([""] + notes if notes else []))


def repair_by_kind(results: Sequence[dict[str, Any]]) -> str:
    """A markdown table of each run's repair rate by the kind of its turn-1 problem ("" if no run
    has one): which problems a policy fixes from feedback, and which it does not."""
    kinds = sorted({name[len("repair_rate["):-1] for r in results for name in (r.get("refinement") or {})
                    if name.startswith("repair_rate[")})
    if not kinds:
        return ""
    lines = ["Repair rate by the kind of turn-1 problem (rooms failed on turn 1 with that kind that succeed "
             "by the last turn; 95% CI, n):", "",
             "| policy | " + " | ".join(kinds) + " |", "| --- | " + " | ".join("---:" for _ in kinds) + " |"]
    for r in results:
        ref = r.get("refinement") or {}
        cells = [f"{Estimate(**ref[f'repair_rate[{k}]']).format()} (n={ref[f'repair_rate[{k}]']['n']})"
                 if f"repair_rate[{k}]" in ref else "-" for k in kinds]
        lines.append(f"| {run_name(r)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def paired_differences(baseline: dict[str, Any], other: dict[str, Any]) -> dict[str, Any] | None:
    """``other`` minus ``baseline`` room by room, over the rooms both played (matched by task id).

    The same rooms make the comparison paired: the interval is that of the mean per-room difference,
    far tighter than two independent intervals when rooms differ more than policies do. Returns the
    differences of the final total and of each room's mean reward over its turns as :class:`Estimate`
    dicts, how many rooms got better and worse (final total), and ``n``; None when no room is shared.
    """
    before = {e["task_id"]: e for e in baseline.get("episodes", []) if e["turns"]}
    pairs = [(before[e["task_id"]], e) for e in other.get("episodes", []) if e["turns"] and e["task_id"] in before]
    if not pairs:
        return None

    def mean_reward(episode: dict[str, Any]) -> float:
        return sum(t["reward"] for t in episode["turns"]) / len(episode["turns"])

    final = [final_terms(new).get("total", 0.0) - final_terms(old).get("total", 0.0) for old, new in pairs]
    return {
        "final_total": asdict(mean_interval(final)),
        "reward_per_turn": asdict(mean_interval([mean_reward(new) - mean_reward(old) for old, new in pairs])),
        "better": sum(d > 0 for d in final),
        "worse": sum(d < 0 for d in final),
        "n": len(pairs),
    }


def paired_table(results: Sequence[dict[str, Any]]) -> str:
    """A markdown table of each later result's :func:`paired_differences` against the first ("" if
    none pair), with the difference in refinement gain (total, turn 1 to last) where both runs
    played two turns or more."""
    rows = []
    for r in results[1:]:
        d = paired_differences(results[0], r)
        if d is not None:
            turns = min(_turns(results[0]), _turns(r))
            gain = paired_gain_difference(results[0].get("episodes", []), r.get("episodes", []), turns)
            rows.append(f"| {run_name(r)} | {d['n']} | {Estimate(**d['final_total']).format()} | "
                        f"{Estimate(**d['reward_per_turn']).format()} | {'-' if gain is None else gain.format()} | "
                        f"{d['better']} / {d['worse']} |")
    if not rows:
        return ""
    return "\n".join([f"Paired against {run_name(results[0])}, room by room (95% CI of the mean difference):",
                      "",
                      "| policy | shared rooms | final total, difference | mean reward per turn, difference | "
                      "gain in total turn 1 to last, difference | rooms better / worse |",
                      "| --- | ---: | ---: | ---: | ---: | ---: |", *rows])


def plot_reward_per_turn(results: Sequence[dict[str, Any]], path: Path) -> None:
    """A PNG of mean total per turn (95 % CI error bars), one line per policy."""
    from metaspatial_env.deps import require

    require("matplotlib", "plot", "the reward-per-turn plot").use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4), dpi=100)
    for r in results:
        curve = r["reward_per_turn"]
        turns = list(range(1, len(curve) + 1))
        values = [c["value"] for c in curve]
        errors = [[c["value"] - c["low"] for c in curve], [c["high"] - c["value"] for c in curve]]
        axes.errorbar(turns, values, yerr=errors, marker="o", capsize=4,
                      label=f"{run_name(r)} ({r['config']['split']})")
    axes.set_xlabel("turn")
    axes.set_ylabel("mean reward (total)")
    axes.set_xticks(range(1, max(len(r["reward_per_turn"]) for r in results) + 1))
    axes.set_ylim(0, 1.02)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    axes.set_title("Reward per turn (95% CI)")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
