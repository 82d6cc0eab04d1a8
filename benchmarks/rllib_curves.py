"""RLlib PPO and SAC on ``MetaSpatialContinuous-v0`` (CPU): learning curves against a random policy.

Each algorithm trains from its ready config (``training/configs/rllib_<algo>.yaml``: the first 8
easy rooms of at most 5 objects, one layout per episode, so an episode's return is the layout's
reward total) for at most ``--minutes`` of training, in its own local Ray (``num_cpus=2``). The
baseline, measured in the same run, is a uniform random policy on the same env (same rooms).
Writes ``rllib_<algo>.csv`` and ``rllib_curves.png`` to ``--out`` and prints a JSON summary
(first / last / best smoothed return, and each as a ratio to the random policy's), then the
trained policy's return and success rate without exploration noise over ``--greedy-episodes``
episodes.

    python -m benchmarks.rllib_curves --algos ppo sac --minutes 10
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from metaspatial_env.continuous import ContinuousLayoutEnv
from training.rllib import load_run_config, train


def random_policy_return(env_kwargs: dict, episodes: int, seed: int = 0) -> tuple[float, float, float]:
    """Mean and standard error of the episode return of uniform random actions, and the success rate."""
    env = ContinuousLayoutEnv(**env_kwargs)
    env.action_space.seed(seed)
    returns, successes = [], []
    env.reset(seed=seed)
    for _ in range(episodes):
        env.reset()
        total, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, info = env.step(env.action_space.sample())
            total += reward
            done = terminated or truncated
        returns.append(total)
        successes.append(info["success"])
    env.close()
    return float(np.mean(returns)), float(np.std(returns) / np.sqrt(len(returns))), float(np.mean(successes))


def plot(curves: dict[str, list[dict]], baseline: float, env_kwargs: dict, path: Path) -> None:
    from metaspatial_env.deps import require

    require("matplotlib", "plot", "the RLlib learning curves").use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=100)
    for algo, rows in curves.items():
        ax.plot([r["env_steps"] for r in rows], [r["episode_return_mean"] for r in rows], marker=".", label=algo.upper())
    ax.axhline(baseline, color="grey", linestyle="--", label="random policy")
    ax.set_xlabel("env steps")
    ax.set_ylabel("mean episode return (last 100)")
    rooms = env_kwargs.get("rooms", 0) or "all"
    ax.set_title(f"RLlib on MetaSpatialContinuous-v0 ({rooms} easy rooms, CPU)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algos", nargs="+", default=["ppo", "sac"], choices=["ppo", "sac", "appo"])
    parser.add_argument("--minutes", type=float, default=10.0, help="training time budget per algorithm")
    parser.add_argument("--iterations", type=int, default=1000, help="at most this many iterations per algorithm")
    parser.add_argument("--random-episodes", type=int, default=1000)
    parser.add_argument("--greedy-episodes", type=int, default=300,
                        help="episodes to evaluate each trained policy without exploration noise")
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    curves, summary = {}, {"machine": f"{platform.machine()}, {platform.python_version()}", "algos": {}}
    env_kwargs = None
    for algo in args.algos:
        cfg = load_run_config(algo, iterations=args.iterations)
        if env_kwargs is None:
            env_kwargs = dict(cfg.env)
            clock = time.perf_counter()
            baseline, baseline_se, baseline_success = random_policy_return(env_kwargs, args.random_episodes)
            summary["random"] = {"return_mean": round(baseline, 4), "stderr": round(baseline_se, 4),
                                 "success_rate": round(baseline_success, 4),
                                 "episodes": args.random_episodes, "seconds": round(time.perf_counter() - clock, 1)}
            print(json.dumps({"random": summary["random"]}), flush=True)
        elif dict(cfg.env) != env_kwargs:
            raise ValueError(f"{algo}'s config trains on {cfg.env}, the others on {env_kwargs}: curves not comparable")
        rows = train(cfg, out / f"rllib_{algo}.csv", max_seconds=args.minutes * 60,
                     greedy_episodes=args.greedy_episodes)
        curves[algo] = rows
        returns = [r["episode_return_mean"] for r in rows if np.isfinite(r["episode_return_mean"])]
        summary["algos"][algo] = {
            "iterations": len(rows), "env_steps": rows[-1]["env_steps"], "seconds": rows[-1]["seconds"],
            "first_return": round(returns[0], 4), "last_return": round(returns[-1], 4), "best_return": round(max(returns), 4),
            "last_vs_random": round(returns[-1] / baseline, 4), "last_minus_random": round(returns[-1] - baseline, 4),
            "greedy_return": round(rows[-1]["greedy_return_mean"], 4),
            "greedy_success_rate": round(rows[-1]["greedy_success_rate"], 4),
            "greedy_vs_random": round(rows[-1]["greedy_return_mean"] / baseline, 4),
        }
        print(json.dumps({algo: summary["algos"][algo]}), flush=True)
        plot(curves, baseline, env_kwargs, out / "rllib_curves.png")
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
