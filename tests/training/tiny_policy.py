"""A tiny policy shared by the rollout and trainer tests: BPE tokenizer + Qwen2 model built here."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym

from training.pretrain import build_model, build_tokenizer

#: An answer in the prompt texts, so the tokenizer knows the answer format's pieces.
ANSWER_SAMPLE = '<answer>[{"new_object_id": "x", "x": 1.5, "y": 0.25, "z": 0.5, "z_angle": 90}]</answer>'


def save_tiny_policy(path: Path, env_id: str, rooms: list[dict], env_kwargs: dict | None = None) -> str:
    """Train a tokenizer on the reset prompts of ``rooms``, build a tiny model, save both at ``path``."""
    env = gym.make(env_id, **(env_kwargs or {}))
    texts = [env.reset(options=room)[0]["text"] for room in rooms] + [ANSWER_SAMPLE]
    env.close()
    tokenizer = build_tokenizer(texts, vocab_size=1000)
    build_model(tokenizer, hidden_size=32, layers=2, heads=2, seed=0).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)
