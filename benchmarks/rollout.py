"""Rollout throughput on Ray and where an RL step's wall time goes.

1. Env steps per second through :class:`training.rollout.EnvWorker` actors with 1 and 2 workers,
   for each image renderer available (``raster``, and ``blender`` when registered) and the
   text-only env. Every episode answers the heuristic's layout (computed in the driver before the
   clock starts), so each step does its full work: parse, settle, score, render. The baseline is
   1 worker on the same renderer in the same run; the ratio is the scaling from a second worker.
2. One RL step's wall-time split (generation / env / learner) from the trainer's own timings, with
   the small pre-trained policy when ``--model`` exists (else a tiny random model built here).

    python -m benchmarks.rollout [--episodes 16] [--turns 2] [--model out/pretrain/tiny] [--steps 2]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time


def env_throughput(env_id: str, env_kwargs: dict, workers: int, answers: list[tuple[dict, str]], turns: int,
                   rounds: int = 1) -> float:
    """Env steps per second of ``rounds`` x ``len(answers)`` episodes x ``turns`` steps (resets included
    in the time) spread over ``workers`` actors."""
    from metaspatial_env.deps import require
    from training.rollout import EnvWorker

    ray = require("ray", "ray", "the rollout benchmark")

    actor = ray.remote(num_cpus=1)(EnvWorker)
    pool = [actor.remote(env_id, env_kwargs) for _ in range(workers)]
    by_worker: dict[int, list[tuple[int, dict, str]]] = {}
    for i, (options, answer) in enumerate(answers):
        by_worker.setdefault(i % workers, []).append((i // workers, options, answer))
    # Warm-up: build every env (and its renderer / physics client) before the clock starts.
    ray.get([pool[w].reset_many.remote([(slot, 0, options) for slot, options, _ in items])
             for w, items in by_worker.items()])
    clock = time.perf_counter()
    for _ in range(rounds):
        ray.get([pool[w].reset_many.remote([(slot, i, options) for i, (slot, options, _) in enumerate(items)])
                 for w, items in by_worker.items()])
        for _ in range(turns):
            ray.get([pool[w].step_many.remote([(slot, answer) for slot, _, answer in items])
                     for w, items in by_worker.items()])
    seconds = time.perf_counter() - clock
    # Close the envs first: ray.kill is a SIGKILL, which would leave each env's Blender worker
    # process behind until it notices its parent is gone.
    ray.get([worker.close.remote() for worker in pool])
    for worker in pool:
        ray.kill(worker)
    return rounds * len(answers) * turns / seconds


def heuristic_answers(count: int) -> list[tuple[dict, str]]:
    """(reset options, heuristic layout) for ``count`` easy generated rooms."""
    import gymnasium as gym

    from agents import make_policy
    from metaspatial_env.tasks.splits import load_rooms

    env = gym.make("metaspatial_env:MetaSpatial-Text-v0")
    policy = make_policy("heuristic")
    out = []
    for task in load_rooms(f"generated:8000000:{count}", 4, 5):
        obs, info = env.reset(options={"task": task})
        policy.reset()
        out.append(({"task": task.to_dict()}, policy.act(obs, info)))
    env.close()
    return out


def rl_step_shares(model_path: str | None, steps: int) -> dict[str, float]:
    """Mean seconds per RL step in generation, env (workers' busy time), learner, and the total."""
    from pathlib import Path

    from training.config import TrainConfig
    from training.trainer import Trainer

    with tempfile.TemporaryDirectory() as tmp:
        if not model_path or not Path(model_path).is_dir():
            import gymnasium as gym

            from training.pretrain import build_model, build_tokenizer

            env = gym.make("metaspatial_env:MetaSpatial-Text-v0")
            texts = [env.reset(seed=i)[0]["text"] for i in range(20)]
            tokenizer = build_tokenizer(texts, 1000)
            build_model(tokenizer).save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            model_path = tmp
        config = TrainConfig.from_dict({
            "model": {"path": model_path}, "algorithm": {"name": "grpo"},
            "rollout": {"env_kwargs": {"max_turns": 2}, "min_objects": 4, "max_objects": 5, "rooms_per_step": 4,
                        "group_size": 4, "num_workers": 2, "worker_num_cpus": 0.5, "max_new_tokens": 200,
                        "system_prompt": ""},
            "optim": {"lr": 1e-5, "micro_batch_rows": 8},
            "steps": steps, "output_dir": f"{tmp}/run", "tensorboard": False, "progress": False,
        })
        trainer = Trainer(config)
        try:
            history = [trainer.step() for _ in range(steps)]
        finally:
            trainer.close()
    keys = ("time/generation", "time/env", "time/env_wait", "time/learner", "time/step")
    return {k: sum(m[k] for m in history) / len(history) for k in keys}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=16)
    parser.add_argument("--blender-episodes", type=int, default=4,
                        help="episodes of the Blender variant: every episode's env owns one Blender process")
    parser.add_argument("--turns", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="repeats of the episodes (the text env is fast)")
    parser.add_argument("--model", default="out/pretrain/tiny")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--skip-rl", action="store_true")
    args = parser.parse_args(argv)

    from metaspatial_env.deps import require
    from metaspatial_env.render import renderer_names

    ray = require("ray", "ray", "the rollout benchmark")
    from training.rollout import ensure_ray

    ensure_ray(num_cpus=2)
    report: dict = {"machine": f"{platform.machine()} {platform.processor() or ''}".strip(), "env_steps_per_s": {}}
    answers = heuristic_answers(args.episodes)
    # The heuristic succeeds at once; keep stepping so every episode plays all its turns.
    variants = {"text": ("metaspatial_env:MetaSpatial-Text-v0", {"terminate_on_success": False})}
    for renderer in ("raster", "blender"):
        if renderer in renderer_names():
            variants[renderer] = ("metaspatial_env:MetaSpatial-Fast-v0",
                                  {"renderer": renderer, "terminate_on_success": False})
    for name, (env_id, kwargs) in variants.items():
        played = answers[: args.blender_episodes] if name == "blender" else answers
        one = env_throughput(env_id, kwargs, 1, played, args.turns, args.rounds)
        two = env_throughput(env_id, kwargs, 2, played, args.turns, args.rounds)
        report["env_steps_per_s"][name] = {"1_worker": round(one, 2), "2_workers": round(two, 2),
                                           "ratio_2_vs_1": round(two / one, 2)}
        print(f"{name:>8}: {one:7.2f} steps/s with 1 worker, {two:7.2f} with 2 (x{two / one:.2f})", flush=True)
    if not args.skip_rl:
        shares = rl_step_shares(args.model, args.steps)
        total = shares["time/step"]
        report["rl_step_seconds"] = {k: round(v, 2) for k, v in shares.items()}
        report["rl_step_share"] = {k.split("/")[1]: round(shares[k] / total, 3)
                                   for k in ("time/generation", "time/env_wait", "time/learner")}
        print("RL step:", json.dumps(report["rl_step_seconds"]), "share of wall:", json.dumps(report["rl_step_share"]))
    ray.shutdown()
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
