"""The training subcommands of ``metaspatial``: ``train`` (the multi-turn RL trainer on Ray) and
``rllib`` (RLlib PPO, SAC or APPO on the continuous env).

:mod:`metaspatial_env.cli` dispatches to the ``add_*`` functions by name: each adds one
subcommand's arguments to the parser it is given and sets ``func``, the handler that runs it and
returns the exit status. The training stack (torch, Ray) is imported by the handlers only, so
``metaspatial train --help`` does not load it.
"""

from __future__ import annotations

import argparse
import sys


def train(args: argparse.Namespace) -> int:
    """Multi-turn RL of a transformers policy on Ray (``training.trainer``) from a YAML config."""
    from training.config import load_config
    from training.trainer import train as run_training

    history = run_training(load_config(args.config, args.overrides))
    if history:
        last = history[-1]
        print(f"step {last['step']}: reward {last['reward/final_total']:.3f}, success {last['success']:.0%}")
    return 0


def rllib(args: argparse.Namespace) -> int:
    """Train an RLlib algorithm on MetaSpatialContinuous-v0 from its ready config."""
    from training.rllib import load_run_config
    from training.rllib import train as run_training

    try:
        config = load_run_config(args.algo, args.config, iterations=args.iterations, seed=args.seed)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    rows = run_training(config, args.out)
    print(f"mean return: first iteration {rows[0]['episode_return_mean']:.4f}, "
          f"last {rows[-1]['episode_return_mean']:.4f}; wrote {args.out}")
    return 0


def add_train(t: argparse.ArgumentParser) -> None:
    t.add_argument("--config", required=True, help="YAML config, e.g. configs/cpu_tiny_grpo.yaml")
    t.add_argument("overrides", nargs="*", help="key=value overrides, e.g. steps=5 rollout.group_size=8")
    t.set_defaults(func=train)


def add_rllib(r: argparse.ArgumentParser) -> None:
    r.add_argument("--algo", required=True, choices=["ppo", "sac", "appo"])
    r.add_argument("--iterations", type=int, default=None, help="training iterations (default: the config's)")
    r.add_argument("--config", default=None, help="YAML run config (default: training/configs/rllib_ALGO.yaml)")
    r.add_argument("--seed", type=int, default=None)
    r.add_argument("--out", default="out/rllib/progress.csv", help="CSV of per-iteration metrics")
    r.set_defaults(func=rllib)
