"""Is a pre-trained policy a warm start RL can use? Measure it, and gate RL on the measurement.

RL from a policy that cannot write the answer format, or that never reaches a success in a
group of samples, has no signal to follow: every group's rewards are alike and the advantages
vanish. So before RL the warm start is measured on held-out rooms (text env, one answer each):

- ``format_valid``: greedy answers that parse and place every object (Wilson interval);
- ``greedy_success``: greedy answers that succeed;
- ``pass_at_k``: rooms where at least one of ``samples`` answers sampled at ``temperature``
  succeeds (the chance a GRPO group of that size holds a success);
- ``mean_total``: the greedy answers' mean total.

``python -m training.warm_start PATH --min-format-valid 0.9 --min-pass-at-k 0.3`` writes
``warm_start.json`` into ``PATH`` (atomically) and exits 1 with one line when the policy is below
either bar, so a script runs RL only from a warm start that passed (``benchmarks/learning``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any


def _answer_once(env, policy, task, seed: int, copies: int) -> list[dict[str, Any]]:
    """``copies`` answers of ``policy`` to the room's first observation (one batch), each scored."""
    obs, info = env.reset(seed=seed, options={"task": task})
    policy.reset()
    answers = policy.act_batch([obs] * copies, [info] * copies)
    scored = []
    for answer in answers:
        env.reset(seed=seed, options={"task": task})
        _, _, _, _, step = env.step(answer)
        problems = {p["kind"] for p in step["problems"]}
        scored.append({"success": bool(step["success"]), "total": float(step["reward_total"]),
                       "format_valid": not problems & {"parse", "unplaced"}})
    return scored


def measure(path: str, source: str, *, min_objects: int | None = None, max_objects: int | None = None,
            rooms: int = 64, samples: int = 8, temperature: float = 1.0, max_new_tokens: int = 128,
            system_prompt: str | None = "", seed: int = 0) -> dict[str, Any]:
    """The measurements of the module docstring for the ``hf`` checkpoint at ``path`` on the first
    ``rooms`` rooms of ``source`` (a split or ``generated:FIRST_SEED:COUNT``)."""
    import gymnasium as gym

    import metaspatial_env  # noqa: F401  (registers the ids)
    from agents.eval_metrics import mean_interval, wilson_interval
    from agents.hf_policy import HFPolicy
    from metaspatial_env.tasks.splits import load_rooms

    if samples < 1 or rooms < 1:
        raise ValueError(f"rooms and samples must be >= 1, got {rooms} and {samples}")
    tasks = load_rooms(source, min_objects, max_objects, limit=rooms)
    common = {"max_new_tokens": max_new_tokens, "images": False, "system_prompt": system_prompt}
    greedy = HFPolicy(path, **common)
    sampler = HFPolicy(path, temperature=temperature, seed=None, **common)  # seeded once below
    env = gym.make("MetaSpatial-Text-v0", max_turns=1)
    firsts, passes = [], []
    try:
        import torch

        torch.manual_seed(seed)
        for i, task in enumerate(tasks):
            firsts.append(_answer_once(env, greedy, task, seed + i, 1)[0])
            passes.append(any(s["success"] for s in _answer_once(env, sampler, task, seed + i, samples)))
    finally:
        env.close()
    n = len(firsts)
    return {
        "path": str(path), "source": source, "objects": [min_objects, max_objects], "rooms": n,
        "samples": samples, "temperature": temperature,
        "format_valid": asdict(wilson_interval(sum(f["format_valid"] for f in firsts), n)),
        "greedy_success": asdict(wilson_interval(sum(f["success"] for f in firsts), n)),
        f"pass_at_{samples}": asdict(wilson_interval(sum(passes), n)),
        "mean_total": asdict(mean_interval([f["total"] for f in firsts])),
    }


def gate(measured: dict[str, Any], min_format_valid: float = 0.0, min_pass_at_k: float = 0.0) -> str | None:
    """Why the warm start fails its bars (one line), or None when it passes."""
    pass_key = f"pass_at_{measured['samples']}"
    failures = [f"{name} {measured[name]['value']:.3f} < {bar}" for name, bar in
                (("format_valid", min_format_valid), (pass_key, min_pass_at_k)) if measured[name]["value"] < bar]
    if not failures:
        return None
    return f"warm start {measured['path']} is below its bars: {', '.join(failures)} (on {measured['rooms']} rooms)"


def _write_atomic(path: Path, text: str) -> None:
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(handle, "w") as f:
        f.write(text)
    os.replace(temp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.warm_start", description=__doc__.split("\n\n")[0])
    parser.add_argument("path", help="an hf checkpoint folder (pre-trained or a trainer checkpoint's model)")
    parser.add_argument("--rooms-source", default="generated:7100000:64", help="a split or generated:FIRST_SEED:COUNT")
    parser.add_argument("--rooms", type=int, default=64)
    parser.add_argument("--min-objects", type=int, default=None)
    parser.add_argument("--max-objects", type=int, default=None)
    parser.add_argument("--samples", type=int, default=8, help="k of pass@k")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--min-format-valid", type=float, default=0.0)
    parser.add_argument("--min-pass-at-k", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not Path(args.path).is_dir():
        parser.error(f"no checkpoint folder at {args.path}")
    try:
        measured = measure(args.path, args.rooms_source, min_objects=args.min_objects, max_objects=args.max_objects,
                           rooms=args.rooms, samples=args.samples, temperature=args.temperature,
                           max_new_tokens=args.max_new_tokens, seed=args.seed)
    except ValueError as error:
        parser.error(str(error))
    measured["bars"] = {"format_valid": args.min_format_valid, f"pass_at_{args.samples}": args.min_pass_at_k}
    failure = gate(measured, args.min_format_valid, args.min_pass_at_k)
    measured["passed"] = failure is None
    _write_atomic(Path(args.path) / "warm_start.json", json.dumps(measured, indent=2))
    print(json.dumps(measured, indent=2))
    if failure:
        print(failure, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
