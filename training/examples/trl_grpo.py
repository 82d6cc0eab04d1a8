"""Train a VLM on the room-layout env with TRL's ``GRPOTrainer``: layouts go out as ``submit_layout``
tool calls, the render and the feedback come back every turn (:mod:`training.trl_env`).

On a CPU, with the tiny random-weight Qwen2.5-VL (it runs end to end, but a random model writes no
tool call, so its episodes score nothing; it checks the plumbing)::

    python -m training.tiny_vlm --out out/tiny_vlm
    python -m training.examples.trl_grpo --model out/tiny_vlm --output-dir out/trl_tiny \\
        --env-kwargs '{"image_size": [56, 112]}' --max-objects 4 --num-rooms 4 --max-steps 2 \\
        --num-generations 2 --max-completion-length 256

On a GPU node with Qwen/Qwen2.5-VL-3B-Instruct (downloaded beforehand: ``huggingface-cli download
Qwen/Qwen2.5-VL-3B-Instruct``), generating with vLLM in the training process::

    pip install 'metaspatial-env[trl,vllm]'
    python -m training.examples.trl_grpo --model Qwen/Qwen2.5-VL-3B-Instruct --output-dir out/trl_qwen3b \\
        --env-id MetaSpatial-Fast-v0 --split train --num-rooms 512 --max-turns 3 --num-generations 8 \\
        --per-device-batch-size 8 --max-completion-length 4096 --max-steps 200 --learning-rate 1e-6 \\
        --bf16 --use-vllm --vllm-gpu-memory-utilization 0.35

``--use-vllm`` runs vLLM colocated (``vllm_mode="colocate"``); several GPUs: ``accelerate launch
-m training.examples.trl_grpo ...``. ``--env-id MetaSpatial-v0`` renders with Blender (one worker
per process); ``--base-url`` trains against an env served elsewhere (``metaspatial serve-env``).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence

from metaspatial_env.deps import require


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m training.examples.trl_grpo",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="checkpoint directory or hub id of a Qwen2.5-VL model")
    parser.add_argument("--output-dir", required=True, help="where TRL writes logs and checkpoints")
    parser.add_argument("--env-id", default="MetaSpatial-Fast-v0", help="registered env id (default: %(default)s)")
    parser.add_argument("--env-kwargs", default="{}", help="JSON object of the env's construction arguments")
    parser.add_argument("--base-url", default=None, help="train against an env served at this URL instead")
    parser.add_argument("--split", default="train", help="bundled split or generated:FIRST_SEED:COUNT")
    parser.add_argument("--num-rooms", type=int, default=None, help="rooms in the dataset (default: all)")
    parser.add_argument("--min-objects", type=int, default=None)
    parser.add_argument("--max-objects", type=int, default=None)
    parser.add_argument("--max-turns", type=int, default=None,
                        help="layouts per episode, the env's turn budget (default: --env-kwargs' max_turns, else 3)")
    parser.add_argument("--num-generations", type=int, default=4, help="rollouts per room (the GRPO group)")
    parser.add_argument("--per-device-batch-size", type=int, default=None,
                        help="rollouts per device and step (default: --num-generations)")
    parser.add_argument("--max-completion-length", type=int, default=2048,
                        help="tokens of a whole episode after the prompt: answers, tool responses, renders")
    parser.add_argument("--max-steps", type=int, default=2)
    parser.add_argument("--learning-rate", type=float, default=1e-6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bf16", action="store_true", help="train in bfloat16 (GPUs)")
    parser.add_argument("--use-vllm", action="store_true", help="generate with vLLM (GPU nodes)")
    parser.add_argument("--vllm-gpu-memory-utilization", type=float, default=0.3)
    args = parser.parse_args(argv)
    try:
        args.env_kwargs = json.loads(args.env_kwargs)
    except json.JSONDecodeError as error:
        parser.error(f"--env-kwargs is not JSON: {error}")
    if not isinstance(args.env_kwargs, dict):
        parser.error("--env-kwargs must be a JSON object")
    if args.base_url is not None and args.env_kwargs:
        parser.error("--env-kwargs configure an env made here; a served env (--base-url) is configured by its server")
    if args.max_turns is not None and args.env_kwargs.get("max_turns", args.max_turns) != args.max_turns:
        parser.error(f"--max-turns {args.max_turns} contradicts --env-kwargs max_turns {args.env_kwargs['max_turns']}")
    args.max_turns = args.max_turns or args.env_kwargs.get("max_turns", 3)
    return args


def build_trainer(args: argparse.Namespace):
    """The ``GRPOTrainer`` of the parsed arguments: model, tool template, room dataset, env factory."""
    torch = require("torch", "trl", "TRL training")
    trl = require("trl", "trl", "TRL training")
    from agents.hf_chat import load_chat_model
    from training.trl_env import METRIC_REWARDS, environment_factory, room_dataset, tool_chat_template

    dtype = torch.bfloat16 if args.bf16 else torch.float32
    model, encoder = load_chat_model(args.model, dtype=dtype)
    if encoder.processor is None:
        raise SystemExit(f"{args.model} is not a vision-language checkpoint; this example trains a VLM")
    processor = encoder.processor
    processor.tokenizer.padding_side = "left"  # TRL batches prompts left-padded
    tool_chat_template(processor)

    if args.base_url is not None:
        factory = environment_factory(base_url=args.base_url)
    else:
        factory = environment_factory(args.env_id, **{**args.env_kwargs, "max_turns": args.max_turns})
    dataset = room_dataset(args.split, args.num_rooms, min_objects=args.min_objects, max_objects=args.max_objects,
                           seed=args.seed)
    config = trl.GRPOConfig(
        output_dir=args.output_dir, max_steps=args.max_steps, learning_rate=args.learning_rate, seed=args.seed,
        num_generations=args.num_generations,
        per_device_train_batch_size=args.per_device_batch_size or args.num_generations,
        max_completion_length=args.max_completion_length,
        # one layout per tool call, so the env's turn budget bounds the calls (a served env's own budget
        # still refuses extra layouts, unscored)
        max_tool_calling_iterations=args.max_turns,
        reward_weights=[0.0] * len(METRIC_REWARDS),  # logged only; the env's get_reward is the reward
        bf16=args.bf16, use_cpu=not torch.cuda.is_available(),
        use_vllm=args.use_vllm, vllm_mode="colocate", vllm_gpu_memory_utilization=args.vllm_gpu_memory_utilization,
        logging_steps=1, save_strategy="no", report_to="none", dataloader_num_workers=0,
    )
    return trl.GRPOTrainer(model=model, reward_funcs=list(METRIC_REWARDS), args=config, train_dataset=dataset,
                           processing_class=processor, environment_factory=factory)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")  # environment_factory is marked experimental
    trainer = build_trainer(args)
    trainer.train()
    trainer.save_model(args.output_dir)
    last = next((entry for entry in reversed(trainer.state.log_history) if "reward" in entry), {})
    print(json.dumps({"output_dir": args.output_dir, "steps": trainer.state.global_step,
                      "reward": last.get("reward"), "reward_std": last.get("reward_std"),
                      "tool_calls_per_rollout": last.get("tools/call_frequency")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
