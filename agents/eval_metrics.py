"""What an evaluation measures and how it is shown: the metrics with their 95 % confidence intervals
(Wilson for rates, normal for means), the reward-per-turn curves with and without the judge, and
the per-episode CSV and the HTML report.

The function metrics (navigability, accessibility, opening clearance, front clearance; SceneEval's
names) are about rooms with doors or windows only: a room without openings has no function rules
(reach is defined from a door), so counting it would pass it for free. Their ``n`` is the number of
such rooms, and when no room has openings the metrics are left out rather than reported as NaN. :mod:`agents.evaluate` runs the episodes and writes the
files; :mod:`agents.compare` ranks runs with these numbers.
"""

from __future__ import annotations

import csv
import html
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from metaspatial_env.redact import redact_data
from metaspatial_env.reward import TERMS

#: Two-sided 95 % normal quantile.
Z95 = 1.959963984540054
#: Rate metrics: the final layout has none of these problem kinds (the env's own checks and
#: tolerances, the same ones ``success`` uses).
RATE_METRICS = {
    "format_valid": ("parse", "unplaced"),
    "collision_free": ("unplaced", "collision"),
    "in_bounds": ("unplaced", "out_of_bounds"),
    "stable": ("unplaced", "unstable"),
}
#: Function rate metrics (rooms with doors or windows only): the final layout has none of these
#: problem kinds. ``unplaced`` fails them too, as for the rates above: the env leaves an unplaced
#: object's own access and clearance problems to its ``unplaced`` line.
FUNCTION_RATE_METRICS = {
    "accessibility": ("unplaced", "access"),
    "opening_clearance": ("unplaced", "door", "window"),
    "front_clearance": ("unplaced", "clearance"),
}
#: The shares the env reports per step in ``info["function"]`` (a turn's ``function``), in order.
FUNCTION_SHARES = ("navigability", "accessibility", "opening_clearance", "front_clearance")
#: Problem kinds that make a layout physically invalid for the physically-grounded score.
PHYSICALLY_VALID = ("parse", "unplaced", "collision", "out_of_bounds")
METRIC_LABELS = {
    "format_valid": "format-valid rate",
    "collision_free": "collision-free rate",
    "in_bounds": "in-bounds rate",
    "stable": "stable rate",
    "relations": "relation satisfaction",
    "navigability": "navigability",
    "accessibility": "accessibility rate",
    "opening_clearance": "opening-clearance rate",
    "front_clearance": "front-clearance rate",
    "success": "success rate",
    "reward_per_turn": "mean reward per turn",
    "total_no_judge": "mean total without judge",
    "judge": "judge score",
    "physically_grounded": "physically-grounded score",
}


# ----------------------------------------------------------------------------- statistics
@dataclass(frozen=True)
class Estimate:
    """A metric's value with its 95 % confidence interval over ``n`` samples."""

    value: float
    low: float
    high: float
    n: int

    def format(self, digits: int = 3) -> str:
        return f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def wilson_interval(successes: int, n: int) -> Estimate:
    """A proportion with its Wilson score interval (sound at 0 % and 100 %, unlike the normal one)."""
    if n <= 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    p = successes / n
    denominator = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denominator
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denominator
    return Estimate(p, max(0.0, centre - half), min(1.0, centre + half), n)


def mean_interval(values: Sequence[float]) -> Estimate:
    """A mean with its normal-approximation interval (sample standard deviation)."""
    n = len(values)
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    mean = sum(values) / n
    if n == 1:
        return Estimate(mean, mean, mean, 1)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = Z95 * sd / math.sqrt(n)
    return Estimate(mean, mean - half, mean + half, n)


# ----------------------------------------------------------------------------- metrics
def final_terms(episode: dict[str, Any]) -> dict[str, float]:
    return episode["turns"][-1]["terms"] if episode["turns"] else {}


def _final_passes(episode: dict[str, Any], kinds: Iterable[str]) -> bool:
    """Whether the final layout has none of the problem ``kinds`` (an unplayed episode has all)."""
    if not episode["turns"]:
        return False
    counts = episode["turns"][-1].get("problem_counts", {})
    return not any(counts.get(kind) for kind in kinds)


def has_openings(episode: dict[str, Any]) -> bool:
    """Whether the episode's room has doors or windows: its ``openings`` count, or for a record
    written before that was kept, whether some turn carries the env's function shares."""
    if "openings" in episode:
        return episode["openings"] > 0
    return any("function" in t for t in episode["turns"])


def final_function(episode: dict[str, Any]) -> dict[str, float]:
    """The final turn's function shares (empty when unplayed or the room has no openings)."""
    return episode["turns"][-1].get("function", {}) if episode["turns"] else {}


def function_metrics(episodes: Sequence[dict[str, Any]]) -> dict[str, Estimate]:
    """Navigability (mean of the final turn's share; an unplayed episode counts 0) and the rates of
    :data:`FUNCTION_RATE_METRICS`, over the episodes whose room has openings; empty if none has."""
    usable = [e for e in episodes if has_openings(e)]
    if not usable:
        return {}
    metrics = {"navigability": mean_interval([final_function(e).get("navigability", 0.0) for e in usable])}
    for name, kinds in FUNCTION_RATE_METRICS.items():
        metrics[name] = wilson_interval(sum(_final_passes(e, kinds) for e in usable), len(usable))
    return metrics


def _judged(turn: dict[str, Any]) -> bool:
    """Whether the env's judge was asked about this turn (it graded it, or failed to)."""
    return "judge" in turn["terms"] or bool(turn.get("judge_error"))


def _no_judge_total(turn: dict[str, Any]) -> float | None:
    if "total_no_judge" in turn:
        return turn["total_no_judge"]
    return None if "judge" in turn["terms"] else turn["terms"].get("total", 0.0)


def has_judge(episodes: Sequence[dict[str, Any]]) -> bool:
    """Whether the env graded with a judge (some turn has the term or a judge error)."""
    return any(_judged(t) for e in episodes for t in e["turns"])


def judge_steps(episodes: Sequence[dict[str, Any]]) -> dict[str, int]:
    """How many steps the judge was asked about, how many it graded and how many failed."""
    judged = [t for e in episodes for t in e["turns"] if _judged(t)]
    failed = sum(bool(t.get("judge_error")) and "judge" not in t["terms"] for t in judged)
    return {"steps": len(judged), "graded": len(judged) - failed, "failed": failed}


def reward_per_turn(episodes: Sequence[dict[str, Any]], turns: int, judge: bool | None = None) -> list[Estimate]:
    """Mean ``total`` at each turn, an ended episode keeping its last layout's total.

    With a judge (``judge``: None detects it), only episodes whose step at that turn was graded
    count, so every value is on the scale with the judge term.
    """
    judge = has_judge(episodes) if judge is None else judge
    curve = []
    for t in range(turns):
        steps = [e["turns"][min(t, len(e["turns"]) - 1)] for e in episodes if e["turns"]]
        curve.append(mean_interval([s["terms"].get("total", 0.0) for s in steps
                                    if not judge or "judge" in s["terms"]]))
    return curve


def reward_per_turn_no_judge(episodes: Sequence[dict[str, Any]], turns: int) -> list[Estimate]:
    """Mean total without the judge term at each turn (every episode; an ended one keeps its last)."""
    curve = []
    for t in range(turns):
        steps = [e["turns"][min(t, len(e["turns"]) - 1)] for e in episodes if e["turns"]]
        curve.append(mean_interval([v for v in map(_no_judge_total, steps) if v is not None]))
    return curve


def compute_metrics(episodes: Sequence[dict[str, Any]]) -> dict[str, Estimate]:
    """Every metric of the module docstring over ``episodes`` (judge ones only when graded)."""
    n = len(episodes)
    finals = [final_terms(e) for e in episodes]
    metrics = {name: wilson_interval(sum(_final_passes(e, kinds) for e in episodes), n)
               for name, kinds in RATE_METRICS.items()}
    metrics["relations"] = mean_interval([f.get("relations", 0.0) for f in finals])
    metrics.update(function_metrics(episodes))
    metrics["success"] = wilson_interval(sum(bool(e["success"]) for e in episodes), n)
    judge = has_judge(episodes)
    # With a judge, a step it failed on has a total on the scale without it: only graded steps
    # count here, and total_no_judge puts every step on the other scale (the module docstring).
    metrics["reward_per_turn"] = mean_interval([t["reward"] for e in episodes for t in e["turns"]
                                                if not judge or "judge" in t["terms"]])
    if judge:
        metrics["total_no_judge"] = mean_interval([v for e in episodes for v in map(_no_judge_total, e["turns"])
                                                   if v is not None])
    graded = [(e, f["judge"]) for e, f in zip(episodes, finals) if "judge" in f]
    if graded:
        metrics["judge"] = mean_interval([score for _, score in graded])
        metrics["physically_grounded"] = mean_interval([
            score if _final_passes(e, PHYSICALLY_VALID) else 0.0 for e, score in graded
        ])
    return metrics


# ----------------------------------------------------------------------------- reports
CSV_TERMS = ("total", *TERMS)


def csv_text(episodes: Iterable[dict[str, Any]]) -> str:
    """One row per episode: the room, whether it succeeded, the final turn's terms, the final turn's
    judge error, its total without the judge, how many of its steps the judge failed on, and the
    final turn's function shares (empty, like an absent term, for a room without openings)."""
    handle = io.StringIO(newline="")
    writer = csv.writer(handle)
    writer.writerow(["task_id", "room_type", "turns_used", "success", *CSV_TERMS, "judge_error",
                     "total_no_judge", "judge_failed_steps", *FUNCTION_SHARES])
    for e in redact_data(list(episodes)):
        final = final_terms(e)
        shares = final_function(e)
        last = e["turns"][-1] if e["turns"] else {}
        no_judge = _no_judge_total(last) if last else None
        writer.writerow([e["task_id"], e["room_type"], e["turns_used"], int(e["success"]),
                         *(("" if term not in final else f"{final[term]:.4f}") for term in CSV_TERMS),
                         last.get("judge_error", ""), "" if no_judge is None else f"{no_judge:.4f}",
                         judge_steps([e])["failed"],
                         *(("" if share not in shares else f"{shares[share]:.4f}") for share in FUNCTION_SHARES)])
    return handle.getvalue()


def function_note(metrics: dict[str, Any], rooms: int) -> str:
    """Why the function metrics' ``n`` is smaller than the rooms played ("" when it is not, or when
    no room had openings and the metrics are left out): readers would otherwise take the gap for
    failed episodes."""
    counted = next((metrics[name]["n"] for name in FUNCTION_SHARES if name in metrics), None)
    if counted is None or counted == rooms:
        return ""
    return (f"navigability, accessibility, opening and front clearance count the {counted} of {rooms} rooms "
            "with doors or windows (a room without openings has no function rules)")


def _function_note(results: dict[str, Any]) -> str:
    return function_note(results["metrics"], len(results["episodes"]))


def _format_shares(shares: dict[str, float]) -> str:
    """A turn's function shares as one line (``navigability 0.912, accessibility 1.000, ...``)."""
    return ", ".join(f"{name.replace('_', ' ')} {shares[name]:.3f}" for name in FUNCTION_SHARES if name in shares)


def html_report(results: dict[str, Any]) -> str:
    """A self-contained page (images by relative path): the metrics, then per room each turn's
    image, function shares (rooms with openings), answer and feedback."""
    esc = html.escape
    results = redact_data(results)
    cfg = results["config"]
    parts = ["<!doctype html><meta charset='utf-8'>",
             f"<title>metaspatial eval: {esc(cfg['policy'])}</title>",
             "<style>body{font-family:sans-serif;margin:2em}img{width:640px;border:1px solid #ccc}"
             "pre{white-space:pre-wrap;background:#f6f6f6;padding:.5em;max-width:900px;max-height:20em;"
             "overflow:auto}td,th{padding:2px 8px}</style>",
             f"<h1>{esc(cfg['policy'])} on {esc(cfg['split'])} ({len(results['episodes'])} rooms, "
             f"{cfg['turns']} turns, {esc(cfg['env_id'])})</h1>"]
    if not results.get("complete", True):
        parts.append(f"<p><b>partial run</b>: {results.get('episodes_done', len(results['episodes']))} of "
                     f"{results.get('episodes_total', '?')} episodes; continue it with <code>--resume</code></p>")
    steps = results.get("judge_steps")
    if steps and steps["steps"]:
        parts.append(f"<p>judge: {steps['failed']} of {steps['steps']} judged steps failed (no grade); "
                     f"reward per turn counts the {steps['graded']} graded steps</p>")
    parts.append("<table border=1><tr><th>metric</th><th>value [95% CI]</th><th>n</th></tr>")
    for name, m in results["metrics"].items():
        parts.append(f"<tr><td>{esc(METRIC_LABELS.get(name, name))}</td><td>{Estimate(**m).format()}</td>"
                     f"<td>{m['n']}</td></tr>")
    parts.append("</table>")
    note = _function_note(results)
    if note:
        parts.append(f"<p>{esc(note)}</p>")
    refinement = results.get("refinement") or {}
    if refinement:
        from .refinement import label

        parts.append("<h2>Refinement</h2><table border=1><tr><th>metric</th><th>value [95% CI]</th><th>n</th></tr>")
        for name, m in refinement.items():
            parts.append(f"<tr><td>{esc(label(name))}</td><td>{Estimate(**m).format()}</td><td>{m['n']}</td></tr>")
        parts.append("</table>")
    parts.append("<h2>Reward per turn</h2><table border=1><tr><th>turn</th><th>mean total [95% CI]</th></tr>")
    for t, m in enumerate(results["reward_per_turn"], 1):
        parts.append(f"<tr><td>{t}</td><td>{Estimate(**m).format()}</td></tr>")
    parts.append("</table>")
    for e in results["episodes"]:
        images = e.get("images", {})
        parts.append(f"<h2 id='{esc(e['task_id'])}'>{esc(e['task_id'])} ({esc(e['room_type'])}): "
                     f"{'success' if e['success'] else 'no success'}, final total {e['final_total']:.3f}</h2>")
        parts.append(f"<details><summary>task prompt</summary><pre>{esc(e.get('prompt', ''))}</pre></details>")
        if e.get("start"):
            start = e["start"]
            problems = ", ".join(f"{kind} {n}" for kind, n in sorted(start["problem_counts"].items())) or "none"
            parts.append(f"<p>started from a {esc(start['kind'])} layout: total {start['total']:.3f}, "
                         f"{'success' if start['success'] else 'no success'}, problems: {esc(problems)}</p>")
        if "0" in images:
            parts.append(f"<p>before the first answer</p><img src='{esc(images['0'])}'>")
        for t in e["turns"]:
            parts.append(f"<h3>turn {t['turn']}: reward {t['reward']:.3f}</h3>")
            if str(t["turn"]) in images:
                parts.append(f"<img src='{esc(images[str(t['turn'])])}'>")
            if t.get("function"):
                parts.append(f"<p>function: {esc(_format_shares(t['function']))}</p>")
            parts.append(f"<p>answer</p><pre>{esc(t['action'])}</pre><p>feedback</p><pre>{esc(t['feedback'])}</pre>")
            if t.get("judge_error"):
                parts.append(f"<p>judge: no grade ({esc(t['judge_error'])})</p>")
    return "\n".join(parts)
