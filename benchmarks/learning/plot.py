"""Learning curves of trainer runs: training reward per step, held-out reward and malformed answers.

    python -m benchmarks.learning.plot out/train/cpu_tiny_grpo out/train/cpu_tiny_rloo \
        --out benchmarks/results/learning_curves.png

Reads each run's ``metrics.csv`` and ``eval.csv`` and prints the held-out numbers before RL (the
evaluation at step 0) and after (the last one), success included.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path


def _read(path: Path) -> list[dict[str, float]]:
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(handle)]


#: Training rollouts are plotted with a moving mean over this many steps (one step is 8 rooms).
SMOOTH = 5


def _moving_mean(values: list[float]) -> list[float]:
    return [sum(values[i - SMOOTH + 1: i + 1]) / SMOOTH for i in range(SMOOTH - 1, len(values))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="trainer output directories")
    parser.add_argument("--out", default="benchmarks/results/learning_curves.png")
    args = parser.parse_args(argv)
    from metaspatial_env.deps import require

    require("matplotlib", "plot", "the learning curves").use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for index, run in enumerate(map(Path, args.runs)):
        name, color = run.name, f"C{index}"
        train, evals = _read(run / "metrics.csv"), _read(run / "eval.csv")
        if train:
            steps = [r["step"] for r in train]
            values = [r["reward/final_total"] for r in train]
            axes[0].plot(steps, values, color=color, alpha=0.15)
            axes[0].plot(steps[SMOOTH - 1:], _moving_mean(values), color=color, label=f"{name} ({SMOOTH}-step mean)")
        if evals:
            steps = [r["step"] for r in evals]
            axes[1].plot(steps, [r["eval/reward/final_total"] for r in evals], color=color, marker="o", label=name)
            axes[2].plot(steps, [r["eval/parse_error_rate"] for r in evals], color=color, marker="o", label=name)
            first, last = evals[0], evals[-1]
            print(f"{name}: held-out ({int(first['eval/rooms'])} rooms) step {int(first['step'])} -> {int(last['step'])}: "
                  f"final reward {first['eval/reward/final_total']:.4f} -> {last['eval/reward/final_total']:.4f}, "
                  f"success {first['eval/success']:.3f} -> {last['eval/success']:.3f}, "
                  f"malformed answers {first['eval/parse_error_rate']:.3f} -> {last['eval/parse_error_rate']:.3f}, "
                  f"turn-1 reward {first['eval/first_turn_total']:.4f} -> {last['eval/first_turn_total']:.4f}")
    titles = ("training rollouts: final-turn reward (total)", "held-out, greedy: final-turn reward (total)",
              "held-out, greedy: malformed answers (share of turns)")
    for ax, title in zip(axes, titles):
        ax.set_title(title)
        ax.set_xlabel("RL step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
