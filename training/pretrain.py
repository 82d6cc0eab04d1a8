"""A small layout policy built and pre-trained here: a BPE tokenizer and a tiny Qwen2-style transformer.

The data are conversations on easy generated rooms in the text-only env, of three kinds
(:data:`DATA_KINDS`; ``--data`` mixes them, dealt to the rooms in turn); entries follow the
prompt's object order:

- ``noisy``: turn 1 answers the heuristic solver's layout perturbed by ``noise`` metres (and a
  random quarter turn for some objects), the env scores it and its feedback becomes the next user
  message, turn 2 answers the heuristic layout with a quarter of that noise. Both turns are
  learned: rough placements, deliberately imperfect, so that RL has headroom.
- ``clean``: one turn, the heuristic layout itself (learned).
- ``repair``: a repair trace. Turn 1 is the heuristic layout moved by N(0, ``noise``) m, *given*
  (its loss is masked: the policy is not taught to make it), the env's real feedback on it, and
  turn 2 the minimal edit that feedback asks for (the ``heuristic_repair`` policy re-solves only
  the objects the feedback names, :mod:`agents.heuristic_repair`), learned. This is what teaches
  a policy to use the feedback; the noisy kind never does (its turn 2 is an independent draw).

Numbers are tokenized digit by digit (``digits``, the default): "2.84" is "2" "." "8" "4", so the
model composes coordinates from the same ten digit tokens everywhere instead of learning an
arbitrary split per number ("2.8" + "4") of the older tokenizers.

``python -m training.pretrain --out out/pretrain/tiny`` writes a ``transformers`` checkpoint
(``from_pretrained`` loads it; its tokenizer has a chat template) and ``pretrain.json`` with the
data and training statistics. :func:`build_tokenizer` and :func:`build_model` are also what tests
use to build tiny models in fixtures.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from metaspatial_env.deps import require

END_OF_TURN = "<|im_end|>"
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", END_OF_TURN]
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _require_hf() -> None:
    """Fail early, naming the extra, when pre-training's stack is missing."""
    require("tokenizers", "hf", "pre-training")
    require("torch", "hf", "pre-training")
    require("transformers", "hf", "pre-training")


#: Object ids (``desk_1``, ``storage_cabinet_2``) and numbers are pre-tokens of their own, so an id or
#: a size is the same tokens in the prompt and in the answer: the policy copies ids token by token
#: instead of learning one phrase token per id and context (its commonest error before this), and a
#: number never shares a token with the JSON around it.
ISOLATED_PATTERN = r"[a-z]+(?:_[a-z]+)*_[0-9]+|[0-9]+(?:\.[0-9]+)?"
#: The same with every digit a pre-token of its own (``digits=True``): ids stay whole.
DIGIT_PATTERN = r"[a-z]+(?:_[a-z]+)*_[0-9]+|[0-9]"
#: What :func:`demonstrations` can teach (the module docstring).
DATA_KINDS = ("noisy", "clean", "repair")


def build_tokenizer(texts: Iterable[str], vocab_size: int = 2048, max_token_length: int = 24, digits: bool = True):
    """A byte-level BPE tokenizer trained on ``texts``, with ChatML special tokens and chat template.

    Merges may span words within a line (only newlines, object ids and numbers split pre-tokens): the env's prompts repeat
    long fixed phrases and the answers repeat ``, "y": `` and the like, so tokens cover whole
    phrases and a conversation is about a third as long as with word-level pre-tokens, which is
    what makes pre-training and RL of the small policy fit this CPU. ``max_token_length`` (bytes)
    bounds a token's length. ``digits``: every digit of a number is a token of its own (the module
    docstring); False keeps a number one pre-token (:data:`ISOLATED_PATTERN`).
    """
    _require_hf()
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"\n"), behavior="isolated"),
        pre_tokenizers.Split(Regex(DIGIT_PATTERN if digits else ISOLATED_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
                                  max_token_length=max_token_length)
    tokenizer.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token=END_OF_TURN, pad_token="<|endoftext|>",
                                   bos_token=None, unk_token=None)
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_model(tokenizer, *, hidden_size: int = 128, layers: int = 4, heads: int = 4,
                max_positions: int = 2048, seed: int = 0):
    """A tiny Qwen2 causal LM sized for ``tokenizer`` (tied embeddings), randomly initialised from ``seed``."""
    _require_hf()
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=hidden_size * 3,
        num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
        max_position_embeddings=max_positions, tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=None,
    )
    torch.manual_seed(seed)
    return Qwen2ForCausalLM(config)


def layout_answer(poses: dict[str, tuple[float, float, float, float]]) -> str:
    """The answer text for ``{id: (x, y, z, z_angle)}``: centimetre positions, whole-degree headings."""
    entries = [{"new_object_id": oid, "x": round(x, 2), "y": round(y, 2), "z": round(z, 2), "z_angle": int(round(a)) % 360}
               for oid, (x, y, z, a) in poses.items()]
    return "<answer>" + json.dumps(entries) + "</answer>"


def perturb(poses: dict[str, tuple[float, float, float, float]], noise: float, rng: np.random.Generator,
            turn_probability: float) -> dict[str, tuple[float, float, float, float]]:
    """Gaussian noise of ``noise`` m on x and y; each heading turned 90 degrees with ``turn_probability``."""
    out = {}
    for oid, (x, y, z, a) in poses.items():
        dx, dy = rng.normal(0.0, noise, 2) if noise > 0 else (0.0, 0.0)
        turn = 90.0 * rng.choice([-1, 1]) if rng.random() < turn_probability else 0.0
        out[oid] = (x + dx, y + dy, z, a + turn)
    return out


def _kinds(data: str | Sequence[str]) -> list[str]:
    kinds = [k.strip() for k in data.split(",")] if isinstance(data, str) else list(data)
    unknown = [k for k in kinds if k not in DATA_KINDS]
    if not kinds or unknown:
        raise ValueError(f"demonstration kinds must be a comma-separated mix of {DATA_KINDS}, got {data!r}")
    return kinds


def _in_prompt_order(task, answer: str) -> dict[str, tuple[float, float, float, float]]:
    """The poses of a policy's answer, in the prompt's object order, headings filled in."""
    from metaspatial_env.actions import parse_action

    parse = parse_action(answer, task.object_ids)
    poses = {}
    for oid in task.object_ids:
        p = parse.placements[oid]
        poses[oid] = (p.x, p.y, p.z, p.z_angle if p.z_angle is not None else task.object(oid).z_angle)
    return poses


def demonstrations(tasks: list, noise: float, seed: int, max_turns: int = 2,
                   system_prompt: str = "", data: str | Sequence[str] = "noisy") -> list[dict[str, Any]]:
    """Conversations of the kinds in ``data`` (the module docstring), dealt to ``tasks`` in turn.

    Returns one dict per room with ``kind``, ``messages`` (built by the shared
    :class:`~metaspatial_env.prompting.Conversation`, as the trainer builds its prompts),
    ``learn`` (per assistant message: is it a target) and the env's ``totals`` and ``successes``
    per turn. ``max_turns`` is the noisy kind's turn count.
    """
    import gymnasium as gym

    import metaspatial_env  # noqa: F401
    from agents import make_policy
    from agents.heuristic_repair import HeuristicRepairPolicy
    from agents.hf_chat import text_messages
    from metaspatial_env.prompting import Conversation

    kinds = _kinds(data)
    rng = np.random.default_rng(seed)
    env = gym.make("MetaSpatial-Text-v0", max_turns=max(max_turns, 2), terminate_on_success=False)
    heuristic = make_policy("heuristic")
    repairer = HeuristicRepairPolicy(seed=seed, noise=noise)
    conversations = []
    try:
        for i, task in enumerate(tasks):
            kind = kinds[i % len(kinds)]
            obs, info = env.reset(seed=seed + i, options={"task": task})
            conversation = Conversation(images=False, system_prompt=system_prompt)
            conversation.observe(obs)
            record: dict[str, Any] = {"kind": kind, "learn": [], "totals": [], "successes": []}

            def answer(text: str, learn: bool, more: bool) -> dict[str, Any]:
                obs, _, _, _, info = env.step(text)
                conversation.answer(text)
                record["learn"].append(learn)
                record["totals"].append(info["reward_total"])
                record["successes"].append(bool(info["success"]))
                if more:
                    conversation.observe(obs, info)
                return {"obs": obs, "info": info}

            if kind == "repair":
                repairer.reset()
                given = _in_prompt_order(task, repairer.act(obs, info))
                seen = answer(layout_answer(given), learn=False, more=True)
                fixed = _in_prompt_order(task, repairer.act(seen["obs"], seen["info"]))
                answer(layout_answer(fixed), learn=True, more=False)
            else:
                heuristic.reset()
                clean = _in_prompt_order(task, heuristic.act(obs, info))
                turns = 1 if kind == "clean" else max_turns
                for turn in range(turns):
                    scale = 0.0 if kind == "clean" else noise / (4.0 ** turn)
                    poses = perturb(clean, scale, rng, turn_probability=0.25 * scale / max(noise, 1e-9))
                    answer(layout_answer(poses), learn=True, more=turn + 1 < turns)
            record["messages"] = text_messages(conversation.messages("openai"))
            conversations.append(record)
    finally:
        env.close()
    return conversations


def demonstration_stats(conversations: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per kind: how many, and the mean total and success rate of each turn (what the targets score)."""
    out = {}
    for kind in dict.fromkeys(c["kind"] for c in conversations):
        these = [c for c in conversations if c["kind"] == kind]
        turns = max(len(c["totals"]) for c in these)
        out[kind] = {"conversations": len(these),
                     "mean_total_per_turn": [round(float(np.mean([c["totals"][t] for c in these if len(c["totals"]) > t])), 4)
                                             for t in range(turns)],
                     "success_per_turn": [round(float(np.mean([c["successes"][t] for c in these
                                                               if len(c["successes"]) > t])), 4) for t in range(turns)]}
    return out


def tokenize_conversation(tokenizer, messages: list[dict[str, str]],
                          learn: Sequence[bool] | None = None) -> tuple[list[int], list[int]]:
    """Token ids of a whole conversation in :data:`CHAT_TEMPLATE` and a mask that is 1 on the
    assistant's answers and their end-of-turn token, the tokens the policy learns to produce
    (``learn``: per assistant message, whether it is learned; None: all are).

    Pieces are tokenized one by one; every piece boundary is a byte-level pre-token boundary (a
    special token or a newline), so the ids equal those of the whole rendered text.
    """
    ids: list[int] = []
    mask: list[int] = []

    def add(text: str, learn: bool) -> None:
        piece = tokenizer(text, add_special_tokens=False)["input_ids"]
        ids.extend(piece)
        mask.extend([int(learn)] * len(piece))

    answers = iter(learn) if learn is not None else None
    for message in messages:
        target = message["role"] == "assistant" and (answers is None or bool(next(answers)))
        add(f"<|im_start|>{message['role']}\n", False)
        add(message["content"] + END_OF_TURN, target)
        add("\n", False)
    return ids, mask


def pretrain(out: str | Path, *, rooms: int = 1200, first_seed: int = 5_000_000, noise: float = 0.35,
             min_objects: int = 4, max_objects: int = 5, data: str = "noisy", digits: bool = True,
             vocab_size: int = 2048, hidden_size: int = 128, layers: int = 4, heads: int = 4, steps: int = 300,
             batch_size: int = 8, lr: float = 2e-3, seed: int = 0, log_every: int = 25,
             threads: int = 1) -> dict[str, Any]:
    """Generate demonstrations, train the tokenizer and the model, save both to ``out``; returns stats.

    ``threads`` sets torch's intra-op threads (0: torch's default). One is the default because a
    model this small gains nothing from more, and on a shared machine two threads contending for
    busy cores made each step about 5x slower than one (measured 2026-11-22).
    """
    _require_hf()
    import torch

    if threads:
        torch.set_num_threads(threads)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    clock = time.perf_counter()
    from metaspatial_env.tasks.splits import load_rooms

    tasks = load_rooms(f"generated:{first_seed}:{rooms}", min_objects, max_objects)
    conversations = demonstrations(list(tasks), noise, seed, data=data)
    data_seconds = time.perf_counter() - clock
    texts = [m["content"] for c in conversations for m in c["messages"]]
    tokenizer = build_tokenizer(texts, vocab_size, digits=digits)
    examples = [tokenize_conversation(tokenizer, c["messages"], c["learn"]) for c in conversations]
    model = build_model(tokenizer, hidden_size=hidden_size, layers=layers, heads=heads, seed=seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / 20) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    rng = np.random.default_rng(seed)
    losses = []
    model.train()
    clock = time.perf_counter()
    for step in range(steps):
        batch = [examples[int(i)] for i in rng.integers(len(examples), size=batch_size)]
        width = max(len(ids) for ids, _ in batch)
        input_ids = torch.full((batch_size, width), tokenizer.pad_token_id, dtype=torch.long)
        labels = torch.full((batch_size, width), -100, dtype=torch.long)
        attention = torch.zeros((batch_size, width), dtype=torch.long)
        for row, (ids, mask) in enumerate(batch):
            input_ids[row, : len(ids)] = torch.tensor(ids)
            attention[row, : len(ids)] = 1
            labels[row, : len(ids)] = torch.where(torch.tensor(mask) == 1, torch.tensor(ids), -100)
        loss = model(input_ids=input_ids, attention_mask=attention, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        losses.append(float(loss.detach()))
        if log_every and (step + 1) % log_every == 0:
            print(f"step {step + 1}/{steps} loss {np.mean(losses[-log_every:]):.4f} "
                  f"({time.perf_counter() - clock:.0f} s)", flush=True)
    train_seconds = time.perf_counter() - clock
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    stats = {
        "rooms": rooms, "first_seed": first_seed, "noise": noise, "objects": [min_objects, max_objects],
        "data": data, "digits": digits, "vocab_size": len(tokenizer),
        "parameters": sum(p.numel() for p in model.parameters()), "steps": steps, "batch_size": batch_size,
        "lr": lr, "final_loss": float(np.mean(losses[-log_every or -1:])), "first_loss": losses[0] if losses else None,
        "mean_tokens_per_conversation": float(np.mean([len(ids) for ids, _ in examples])),
        "demonstrations": demonstration_stats(conversations),
        "data_seconds": round(data_seconds, 1), "train_seconds": round(train_seconds, 1), "threads": threads,
    }
    (out / "pretrain.json").write_text(json.dumps(stats, indent=2))
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.pretrain", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="out/pretrain/tiny")
    parser.add_argument("--rooms", type=int, default=1200)
    parser.add_argument("--first-seed", type=int, default=5_000_000)
    parser.add_argument("--noise", type=float, default=0.35)
    parser.add_argument("--min-objects", type=int, default=4)
    parser.add_argument("--max-objects", type=int, default=5)
    parser.add_argument("--data", default="noisy", help=f"comma-separated mix of {', '.join(DATA_KINDS)} "
                        "(dealt to the rooms in turn), e.g. repair,clean")
    parser.add_argument("--digits", action=argparse.BooleanOptionalAction, default=True,
                        help="tokenize numbers digit by digit (--no-digits: a number is one pre-token)")
    parser.add_argument("--vocab-size", type=int, default=2048)
    parser.add_argument("--hidden-size", type=int, default=128)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (0: torch's default)")
    args = parser.parse_args(argv)
    try:
        _kinds(args.data)
    except ValueError as error:
        parser.error(str(error))
    stats = pretrain(args.out, rooms=args.rooms, first_seed=args.first_seed, noise=args.noise,
                     min_objects=args.min_objects, max_objects=args.max_objects, data=args.data,
                     digits=args.digits, vocab_size=args.vocab_size, hidden_size=args.hidden_size, layers=args.layers, heads=args.heads,
                     steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                     threads=args.threads)
    print(json.dumps(stats, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
