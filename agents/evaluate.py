"""The evaluation harness: run a policy over a split in parallel workers, measure it the way
papers do, and write ``results.json``, ``episodes.csv`` and ``report.html``.

Workers are processes from the ``spawn`` context (Mesa's GL state and PyBullet clients do not
survive ``fork``); each builds one env and one policy and plays the rooms it is handed. An
episode's metrics come from its *final* turn (the layout the policy ends with); an episode that
ended early on success keeps its last layout for the turns it did not play, so the reward-per-turn
curve compares policies over the same number of turns.

Metrics, each with a 95 % confidence interval (Wilson for rates, normal for means):
format-valid, collision-free, in-bounds and stable rates (the final layout places every object
and the env reports no parse, collision, out-of-bounds or instability problem respectively, with
the tolerances ``success`` uses), relation satisfaction (mean ``relations``
term), success rate, mean reward per turn, and when the env has a judge, the judge score (mean
of the 0-1 ``judge`` term over episodes that got a grade) and the physically-grounded score
(the judge score counted only when the layout is complete, parsed cleanly, collision-free and
in bounds, else 0, after LayoutVLM's physically-grounded semantic alignment score).
"""

from __future__ import annotations

import csv
import html
import json
import math
import multiprocessing
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

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
#: Problem kinds that make a layout physically invalid for the physically-grounded score.
PHYSICALLY_VALID = ("parse", "unplaced", "collision", "out_of_bounds")
METRIC_LABELS = {
    "format_valid": "format-valid rate",
    "collision_free": "collision-free rate",
    "in_bounds": "in-bounds rate",
    "stable": "stable rate",
    "relations": "relation satisfaction",
    "success": "success rate",
    "reward_per_turn": "mean reward per turn",
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


# ----------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class EvalConfig:
    """What to evaluate and how; JSON-able (it is written into ``results.json``)."""

    policy: str
    """Policy name for :func:`agents.make_policy` (``heuristic``, ``openai:gpt-4o``, ``hf:PATH`` ...)."""
    split: str = "test"
    """Where the rooms come from: a bundled split or ``generated:FIRST_SEED:COUNT`` (see
    :func:`metaspatial_env.tasks.splits.load_rooms`)."""
    min_objects: int | None = None
    """Only rooms with at least this many objects (generated rooms: generated with at least this many)."""
    max_objects: int | None = None
    """Only rooms with at most this many objects (generated rooms: generated with at most this many)."""
    episodes: int | None = None
    """How many rooms, in split order (None: the whole split)."""
    turns: int = 3
    """Answers per episode."""
    workers: int = 1
    """Worker processes (spawned), each with its own env and policy."""
    env_id: str = "MetaSpatial-Fast-v0"
    """Registered env id; ``MetaSpatial-Fast-v0`` renders with the rasteriser."""
    env_kwargs: dict = field(default_factory=dict)
    """Extra env arguments (e.g. ``{"judge": {...}}`` to grade with a VLM judge)."""
    policy_kwargs: dict = field(default_factory=dict)
    """Extra policy arguments (e.g. ``{"base_url": ...}``)."""
    seed: int = 0
    """Episode ``i`` resets with ``seed + i``; a policy that takes a ``seed`` gets this one."""
    images: bool = True
    """Save each turn's image for the HTML report."""

    def __post_init__(self) -> None:
        if self.episodes is not None and self.episodes < 1:
            raise ValueError(f"episodes must be positive or None, got {self.episodes}")
        if self.turns < 1 or self.workers < 1:
            raise ValueError(f"turns and workers must be positive, got {self.turns} and {self.workers}")


# ----------------------------------------------------------------------------- workers
_WORKER: dict[str, Any] = {}


def _policy_kwargs(config: EvalConfig) -> dict[str, Any]:
    from . import takes_seed

    kwargs = dict(config.policy_kwargs)
    if "seed" not in kwargs and takes_seed(config.policy):
        kwargs["seed"] = config.seed
    return kwargs


def _start_worker(config: dict[str, Any], out: str | None) -> None:
    import gymnasium as gym

    import metaspatial_env  # noqa: F401  (registers the ids)

    from . import make_policy

    cfg = EvalConfig(**config)
    _WORKER["config"] = cfg
    _WORKER["out"] = None if out is None else Path(out)
    # Every episode resets with its room's task dict, so the env's own split is only a default.
    _WORKER["env"] = gym.make(cfg.env_id, max_turns=cfg.turns, **cfg.env_kwargs)
    _WORKER["policy"] = make_policy(cfg.policy, **_policy_kwargs(cfg))


def _play(job: tuple[int, dict[str, Any]]) -> dict[str, Any]:
    """One episode in a worker: the episode digest plus the judge fields and saved image paths."""
    from PIL import Image

    from .runner import run_episode

    index, task = job
    cfg: EvalConfig = _WORKER["config"]
    out: Path | None = _WORKER["out"]
    keep_images = cfg.images and out is not None
    record = run_episode(_WORKER["env"], _WORKER["policy"], task=task, seed=cfg.seed + index,
                         keep_images=keep_images)
    episode = record.summary()
    episode["prompt"] = record.prompt
    if keep_images:
        folder = out / "images" / record.task_id
        folder.mkdir(parents=True, exist_ok=True)
        images = [(0, record.initial_image)] + [(t.turn, t.image) for t in record.turns]
        episode["images"] = {}
        for turn, image in images:
            if image is not None:
                path = folder / f"turn_{turn}.png"
                Image.fromarray(image).save(path)
                episode["images"][str(turn)] = str(path.relative_to(out))
    return episode


def run_episodes(config: EvalConfig, out: Path | None = None, progress: bool = True) -> list[dict[str, Any]]:
    """Play ``config``'s rooms in ``config.workers`` spawned processes; episodes in split order."""
    from tqdm import tqdm

    from metaspatial_env.tasks.splits import load_rooms

    tasks = load_rooms(config.split, config.min_objects, config.max_objects)
    jobs = list(enumerate(t.to_dict() for t in tasks[: config.episodes]))
    episodes: list[dict[str, Any]] = [{} for _ in jobs]
    args = (asdict(config), None if out is None else str(out))
    with tqdm(total=len(jobs), desc=f"eval {config.policy}", unit="room", disable=not progress) as bar:
        if config.workers == 1:
            _start_worker(*args)
            try:
                for job in jobs:
                    episodes[job[0]] = _play(job)
                    bar.update()
            finally:
                _WORKER["env"].close()
                _WORKER.clear()
        else:
            context = multiprocessing.get_context("spawn")
            with context.Pool(config.workers, initializer=_start_worker, initargs=args) as pool:
                for job, episode in zip(jobs, pool.imap(_play, jobs)):
                    episodes[job[0]] = episode
                    bar.update()
    return episodes


# ----------------------------------------------------------------------------- metrics
def _final_terms(episode: dict[str, Any]) -> dict[str, float]:
    return episode["turns"][-1]["terms"] if episode["turns"] else {}


def _final_passes(episode: dict[str, Any], kinds: Iterable[str]) -> bool:
    """Whether the final layout has none of the problem ``kinds`` (an unplayed episode has all)."""
    if not episode["turns"]:
        return False
    counts = episode["turns"][-1].get("problem_counts", {})
    return not any(counts.get(kind) for kind in kinds)


def reward_per_turn(episodes: Sequence[dict[str, Any]], turns: int) -> list[Estimate]:
    """Mean ``total`` at each turn, an ended episode keeping its last layout's total."""
    curve = []
    for t in range(turns):
        values = [e["turns"][min(t, len(e["turns"]) - 1)]["terms"].get("total", 0.0) for e in episodes if e["turns"]]
        curve.append(mean_interval(values))
    return curve


def compute_metrics(episodes: Sequence[dict[str, Any]]) -> dict[str, Estimate]:
    """Every metric of the module docstring over ``episodes`` (judge ones only when graded)."""
    n = len(episodes)
    finals = [_final_terms(e) for e in episodes]
    metrics = {name: wilson_interval(sum(_final_passes(e, kinds) for e in episodes), n)
               for name, kinds in RATE_METRICS.items()}
    metrics["relations"] = mean_interval([f.get("relations", 0.0) for f in finals])
    metrics["success"] = wilson_interval(sum(bool(e["success"]) for e in episodes), n)
    metrics["reward_per_turn"] = mean_interval([t["reward"] for e in episodes for t in e["turns"]])
    graded = [(e, f["judge"]) for e, f in zip(episodes, finals) if "judge" in f]
    if graded:
        metrics["judge"] = mean_interval([score for _, score in graded])
        metrics["physically_grounded"] = mean_interval([
            score if _final_passes(e, PHYSICALLY_VALID) else 0.0 for e, score in graded
        ])
    return metrics


# ----------------------------------------------------------------------------- reports
CSV_TERMS = ("total", *TERMS)


def write_csv(episodes: Iterable[dict[str, Any]], path: Path) -> None:
    """One row per episode: the room, whether it succeeded, the final turn's terms."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["task_id", "room_type", "turns_used", "success", *CSV_TERMS, "judge_error"])
        for e in episodes:
            final = _final_terms(e)
            last = e["turns"][-1] if e["turns"] else {}
            writer.writerow([e["task_id"], e["room_type"], e["turns_used"], int(e["success"]),
                             *(("" if term not in final else f"{final[term]:.4f}") for term in CSV_TERMS),
                             last.get("judge_error", "")])


def html_report(results: dict[str, Any]) -> str:
    """A self-contained page (images by relative path): the metrics, then per room each turn's
    image, answer and feedback."""
    esc = html.escape
    cfg = results["config"]
    parts = ["<!doctype html><meta charset='utf-8'>",
             f"<title>metaspatial eval: {esc(cfg['policy'])}</title>",
             "<style>body{font-family:sans-serif;margin:2em}img{width:640px;border:1px solid #ccc}"
             "pre{white-space:pre-wrap;background:#f6f6f6;padding:.5em;max-width:900px;max-height:20em;"
             "overflow:auto}td,th{padding:2px 8px}</style>",
             f"<h1>{esc(cfg['policy'])} on {esc(cfg['split'])} ({len(results['episodes'])} rooms, "
             f"{cfg['turns']} turns, {esc(cfg['env_id'])})</h1>",
             "<table border=1><tr><th>metric</th><th>value [95% CI]</th><th>n</th></tr>"]
    for name, m in results["metrics"].items():
        parts.append(f"<tr><td>{esc(METRIC_LABELS.get(name, name))}</td><td>{Estimate(**m).format()}</td>"
                     f"<td>{m['n']}</td></tr>")
    parts.append("</table><h2>Reward per turn</h2><table border=1><tr><th>turn</th><th>mean total [95% CI]</th></tr>")
    for t, m in enumerate(results["reward_per_turn"], 1):
        parts.append(f"<tr><td>{t}</td><td>{Estimate(**m).format()}</td></tr>")
    parts.append("</table>")
    for e in results["episodes"]:
        images = e.get("images", {})
        parts.append(f"<h2 id='{esc(e['task_id'])}'>{esc(e['task_id'])} ({esc(e['room_type'])}): "
                     f"{'success' if e['success'] else 'no success'}, final total {e['final_total']:.3f}</h2>")
        parts.append(f"<details><summary>task prompt</summary><pre>{esc(e.get('prompt', ''))}</pre></details>")
        if "0" in images:
            parts.append(f"<p>before the first answer</p><img src='{esc(images['0'])}'>")
        for t in e["turns"]:
            parts.append(f"<h3>turn {t['turn']}: reward {t['reward']:.3f}</h3>")
            if str(t["turn"]) in images:
                parts.append(f"<img src='{esc(images[str(t['turn'])])}'>")
            parts.append(f"<p>answer</p><pre>{esc(t['action'])}</pre><p>feedback</p><pre>{esc(t['feedback'])}</pre>")
            if t.get("judge_error"):
                parts.append(f"<p>judge: no grade ({esc(t['judge_error'])})</p>")
    return "\n".join(parts)


def evaluate(config: EvalConfig, out: Path, progress: bool = True) -> dict[str, Any]:
    """Run the evaluation and write ``results.json``, ``episodes.csv`` and ``report.html`` to ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    episodes = run_episodes(config, out, progress)
    results = {
        "config": asdict(config),
        "metrics": {name: asdict(m) for name, m in compute_metrics(episodes).items()},
        "reward_per_turn": [asdict(m) for m in reward_per_turn(episodes, config.turns)],
        "episodes": episodes,
    }
    (out / "results.json").write_text(json.dumps(results, indent=1))
    write_csv(episodes, out / "episodes.csv")
    (out / "report.html").write_text(html_report(results))
    return results


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
        loaded.append(data)
    return loaded


def leaderboard(results: Sequence[dict[str, Any]]) -> str:
    """A markdown table: one row per policy, each metric as ``value [95% CI]``, best success first."""
    names = [m for m in METRIC_LABELS if any(m in r["metrics"] for r in results)]
    rows = sorted(results, key=lambda r: (-r["metrics"]["success"]["value"],
                                          -r["metrics"]["reward_per_turn"]["value"]))
    lines = ["| policy | rooms | " + " | ".join(METRIC_LABELS[m] for m in names) + " |",
             "| --- | ---: | " + " | ".join("---:" for _ in names) + " |"]
    for r in rows:
        cells = [Estimate(**r["metrics"][m]).format() if m in r["metrics"] else "-" for m in names]
        lines.append(f"| {r['config']['policy']} | {len(r.get('episodes', [])) or r['metrics']['success']['n']} | "
                     + " | ".join(cells) + " |")
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

    final = [_final_terms(new).get("total", 0.0) - _final_terms(old).get("total", 0.0) for old, new in pairs]
    return {
        "final_total": asdict(mean_interval(final)),
        "reward_per_turn": asdict(mean_interval([mean_reward(new) - mean_reward(old) for old, new in pairs])),
        "better": sum(d > 0 for d in final),
        "worse": sum(d < 0 for d in final),
        "n": len(pairs),
    }


def paired_table(results: Sequence[dict[str, Any]]) -> str:
    """A markdown table of each later result's :func:`paired_differences` against the first ("" if none pair)."""
    rows = []
    for r in results[1:]:
        d = paired_differences(results[0], r)
        if d is not None:
            rows.append(f"| {r['config']['policy']} | {d['n']} | {Estimate(**d['final_total']).format()} | "
                        f"{Estimate(**d['reward_per_turn']).format()} | {d['better']} / {d['worse']} |")
    if not rows:
        return ""
    return "\n".join([f"Paired against {results[0]['config']['policy']}, room by room (95% CI of the mean difference):",
                      "",
                      "| policy | shared rooms | final total, difference | mean reward per turn, difference | rooms better / worse |",
                      "| --- | ---: | ---: | ---: | ---: |", *rows])


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
                      label=f"{r['config']['policy']} ({r['config']['split']})")
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
