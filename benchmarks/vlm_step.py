"""One RL step of the tiny VLM on this CPU, with the renders in its prompts and without them.

Each mode runs in its own process (so the peak resident memory is that mode's), builds the tiny
random-weight Qwen2.5-VL (:mod:`training.tiny_vlm`), starts a local Ray and trains ``--steps``
GRPO steps after one warm-up step, then reports per step the medians of the trainer's own time
split (generation, env, learner, of which encoding the renders), the peak RSS of the driver (the
learner and the engine live there), and the bytes the step kept for the learner: every render
once per episode plus token ids, beside what keeping float ``pixel_values`` per row would cost.

Modes: ``images`` (``MetaSpatial-Fast-v0``, renders in every prompt), ``no_images`` (same env and
rooms, ``rollout.images=false``: the renders are made but not shown) and ``text_env``
(``MetaSpatial-Text-v0``: nothing rendered).

    python -m benchmarks.vlm_step [--steps 3] [--out benchmarks/results/vlm_step.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

MODES = {
    "images": ("metaspatial_env:MetaSpatial-Fast-v0", True),
    "no_images": ("metaspatial_env:MetaSpatial-Fast-v0", False),
    "text_env": ("metaspatial_env:MetaSpatial-Text-v0", False),
}
IMAGE_SIZE = [112, 224]  # 32 visual tokens per render for the tiny processor
TIMES = ("generation", "env", "env_wait", "learner", "vision_encode", "step")


def run_mode(mode: str, steps: int) -> dict:
    """Train the tiny VLM in this process for one warm-up step and ``steps`` measured ones."""
    import ray

    from training.config import TrainConfig
    from training.learner import rows_of
    from training.tiny_vlm import build_tiny_qwen25_vl
    from training.trainer import Trainer

    env_id, images = MODES[mode]
    work = Path(tempfile.mkdtemp(prefix="vlm_step_"))
    model = build_tiny_qwen25_vl(work / "tiny_vlm")
    env_kwargs = {"max_turns": 2, **({"image_size": IMAGE_SIZE} if "Text" not in env_id else {})}
    config = TrainConfig.from_dict({
        "model": {"path": str(model)},
        "algorithm": {"name": "grpo", "entropy_coef": 0.01},
        "rollout": {"env_id": env_id, "env_kwargs": env_kwargs, "split": "generated:6000000:64", "min_objects": 3,
                    "max_objects": 4, "rooms_per_step": 4, "group_size": 4, "num_workers": 2,
                    "worker_num_cpus": 0.5, "max_new_tokens": 32, "max_prompt_tokens": 4096, "system_prompt": "",
                    "images": images},
        "optim": {"lr": 1e-4, "micro_batch_rows": 8},
        "eval": {"every": 0}, "steps": steps + 1, "seed": 0, "output_dir": str(work / "out"),
        "tensorboard": False, "progress": False, "torch_threads": 1,
    })
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False)
    trainer = Trainer(config)
    extra = {}
    original, captured = trainer.driver.run, {}

    def run(*args, **kwargs):  # keeps the step's episodes, to price their rows
        captured["episodes"] = original(*args, **kwargs)
        return captured["episodes"]

    trainer.driver.run = run
    try:
        history = []
        for _ in range(steps + 1):
            history.append(trainer.step())
            rows = rows_of(captured["episodes"])
            if trainer.encoder.vision:
                # what storing each row's float pixel_values would hold (the images it replays)
                extra["float_pixels_per_row"] = sum(
                    trainer.encoder.pixels(r.images)["pixel_values"].numel() * 4 for r in rows if r.images)
            extra["rows"] = len(rows)
    finally:
        trainer.close()
        ray.shutdown()
    measured = history[1:]
    result = {f"time/{k}": statistics.median(m[f"time/{k}"] for m in measured) for k in TIMES}
    result.update({
        "bytes_kept": statistics.median(m["bytes_kept"] for m in measured),
        "images_per_prompt": statistics.median(m["images_per_prompt"] for m in measured),
        "prompt_length": statistics.median(m["prompt_length"] for m in measured),
        "logprob_gap_engine_learner": max(m["logprob_gap_engine_learner"] for m in measured),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "steps": steps, **extra,
    })
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=3, help="measured steps per mode (after one warm-up)")
    parser.add_argument("--out", default="benchmarks/results/vlm_step.json")
    parser.add_argument("--mode", choices=sorted(MODES), help=argparse.SUPPRESS)  # one mode, in a child process
    args = parser.parse_args(argv)
    if args.mode:
        print(json.dumps(run_mode(args.mode, args.steps)))
        return 0
    results = {}
    root = str(Path(__file__).resolve().parents[1])  # the checkout, wherever this was started from
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    for mode in MODES:
        done = subprocess.run([sys.executable, "-m", "benchmarks.vlm_step", "--mode", mode, "--steps", str(args.steps)],
                              capture_output=True, text=True, cwd=root,
                              env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": path})
        if done.returncode != 0:
            print(f"{mode} failed:\n{done.stderr[-3000:]}", file=sys.stderr)
            return 1
        results[mode] = json.loads(done.stdout.strip().splitlines()[-1])
        print(mode, json.dumps(results[mode]), flush=True)
    header = ["mode", *(f"{k} s" for k in TIMES), "peak RSS MB", "kept KB/step", "float pixels KB/step"]
    print("| " + " | ".join(header) + " |\n|" + " --- |" * len(header))
    for mode, r in results.items():
        cells = [mode, *(f"{r[f'time/{k}']:.2f}" for k in TIMES), f"{r['peak_rss_mb']:.0f}",
                 f"{r['bytes_kept'] / 1024:.0f}", f"{r.get('float_pixels_per_row', 0) / 1024:.0f}"]
        print("| " + " | ".join(cells) + " |")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2))
    tmp.replace(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
