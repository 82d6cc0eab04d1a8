"""The RL learner: rollouts on Ray, advantages and loss from :mod:`training.algorithms`, checkpoints.

One step: draw ``rooms_per_step`` rooms (a seeded shuffle of the pool, so the data cursor is part
of the checkpoint; with ``rollout.curriculum``, only rooms within the step's object cap), play
``group_size`` episodes of each with the engine (:mod:`training.rollout`), turn every (episode,
turn) answer into a row, get per-row advantages from the algorithm, recompute
the old log-probabilities with the learner (and the reference's when a KL is asked for), then
``optim.epochs`` passes of ``optim.mini_batches`` optimizer steps, each accumulating gradients over
micro-batches of ``optim.micro_batch_rows`` rows. Metrics go to ``metrics.csv`` (and
``eval.csv``) and TensorBoard in ``output_dir``.

A VLM (a checkpoint whose model type has an image-text-to-text class) loads with
``AutoModelForImageTextToText`` and its ``AutoProcessor``; every turn's render is in its prompt
(within the token budget), the engine generates with the pixels, and the learner replays each row
with the same renders (:mod:`training.learner`). Text-only models load as causal LMs.

Checkpoints (``output_dir/checkpoints/step_NNNNNN``) hold the model (``save_pretrained``, LoRA
adapters only when training LoRA) with its processor or tokenizer, so ``hf:<checkpoint>/model``
loads as a policy, and ``trainer.pt``: optimizer, scheduler, value
head, the torch / numpy / Python RNG states and the room sampler, so a resumed run takes exactly
the steps the uninterrupted run would have taken. A checkpoint is written into a
``step_NNNNNN.partial-<pid>`` folder renamed into place once complete; ``trainer.pt`` holds only
tensors and plain data (RNG and sampler states as JSON text) and loads with ``weights_only=True``;
``resume=latest`` takes the newest complete checkpoint.

Evaluation is greedy, one episode per held-out room, through the same rollout driver (batched
generation with the learner's weights), every ``eval.every`` steps.
"""

from __future__ import annotations

import csv
import json
import math
import random
import time
from pathlib import Path
from typing import Any

import numpy as np

from metaspatial_env.deps import require

from .checkpoints import (
    apply_trainer_state,
    build_trainer_state,
    checkpoint_problem,
    latest_checkpoint,
    read_trainer_state,
    write_checkpoint,
)
from .config import RolloutConfig, TrainConfig
from .engines import SamplingConfig, make_engine
from .learner import RenderFeatures, response_logprobs, rows_of, token_weights
from .rollout import Episode, RolloutDriver, ensure_ray

#: Seeds of evaluation episodes (fixed, so every evaluation sees the same rooms the same way).
EVAL_SEED = 1_000_000_007


def room_pool(source: str, min_objects: int, max_objects: int, limit: int | None = None) -> list[dict[str, Any]]:
    """Reset options of the rooms of ``source`` (a bundled split or ``generated:FIRST_SEED:COUNT``,
    see :func:`metaspatial_env.tasks.splits.load_rooms`) with ``min_objects``-``max_objects`` objects.

    Rooms travel as task dicts, so env workers never load (and validate) a whole split.
    """
    from metaspatial_env.tasks.splits import load_rooms

    return [{"task": t.to_dict()} for t in load_rooms(source, min_objects, max_objects, limit)]


class RoomSampler:
    """Endless seeded shuffles of a room pool; its state is the data cursor of a checkpoint."""

    def __init__(self, size: int, seed: int):
        self.size = size
        self.rng = np.random.default_rng(seed)
        self.order: list[int] = []
        self.position = 0

    def take(self, count: int, allowed: set[int] | None = None) -> list[int]:
        """The next ``count`` indices of the shuffles; with ``allowed``, only those, the others passed over."""
        if allowed is not None and not allowed:
            raise ValueError("no index is allowed")  # the loop below would never end
        picked = []
        while len(picked) < count:
            if self.position >= len(self.order):
                self.order = self.rng.permutation(self.size).tolist()
                self.position = 0
            index = self.order[self.position]
            self.position += 1
            if allowed is None or index in allowed:
                picked.append(index)
        return picked

    def state(self) -> dict[str, Any]:
        return {"rng": self.rng.bit_generator.state, "order": list(self.order), "position": self.position}

    def load(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.order = list(state["order"])
        self.position = int(state["position"])


def room_objects(room: dict[str, Any]) -> int:
    """Object count of a room of :func:`room_pool`."""
    return len(room["task"]["objects"])


def rooms_for_step(rooms: list[dict[str, Any]], sampler: RoomSampler, rollout: RolloutConfig,
                   step: int) -> list[dict[str, Any]]:
    """The ``rollout.rooms_per_step`` rooms of ``step`` (1-based): the sampler's next rooms with at
    most ``rollout.max_objects_at(step)`` objects.

    Only the sampler's state and ``step`` decide them, and both are in a checkpoint, so a resumed
    run draws the rooms an unbroken one would. Without a curriculum nothing is passed over and the
    draw is the sampler's plain order.
    """
    cap = rollout.max_objects_at(step)
    allowed = None if not rollout.curriculum else {i for i, r in enumerate(rooms) if room_objects(r) <= cap}
    if allowed is not None and not allowed:
        raise ValueError(f"rollout.curriculum allows at most {cap} objects at step {step}, but the smallest "
                         f"room of the pool has {min(map(room_objects, rooms))}")
    return [rooms[i] for i in sampler.take(rollout.rooms_per_step, allowed)]


def episode_metrics(episodes: list[Episode], prefix: str = "") -> dict[str, float]:
    """The env's return, final total and terms, success, per-turn reward and answer statistics of
    episodes (env rewards: a trainer's success bonus is not in them)."""
    metrics: dict[str, float] = {
        f"{prefix}reward/return": float(np.mean([e.env_return for e in episodes])),
        f"{prefix}reward/final_total": float(np.mean([e.final_total for e in episodes])),
        f"{prefix}success": float(np.mean([e.success for e in episodes])),
        f"{prefix}turns": float(np.mean([len(e.turns) for e in episodes])),
    }
    for term in episodes[0].turns[-1].terms if episodes and episodes[0].turns else ():
        if term != "total":
            metrics[f"{prefix}reward/{term}"] = float(np.mean([e.turns[-1].terms.get(term, 0.0) for e in episodes]))
    most = max(len(e.turns) for e in episodes)
    for t in range(most):
        rewards = [e.turns[t].env_reward for e in episodes if len(e.turns) > t]
        metrics[f"{prefix}reward/turn_{t + 1}"] = float(np.mean(rewards))
    turns = [s for e in episodes for s in e.turns]
    metrics[f"{prefix}response_length"] = float(np.mean([len(s.response_ids) for s in turns]))
    metrics[f"{prefix}prompt_length"] = float(np.mean([len(s.prompt_ids) for s in turns]))
    metrics[f"{prefix}images_per_prompt"] = float(np.mean([len(s.images) for s in turns]))
    metrics[f"{prefix}parse_error_rate"] = float(np.mean([bool(s.parse_errors) for s in turns]))
    return metrics


class Trainer:
    """Multi-turn RL on the layout env (see the module docstring)."""

    def __init__(self, config: TrainConfig):
        # the one check: every other method runs on a constructed trainer
        torch = require("torch", "train", "the trainer")
        require("transformers", "train", "the trainer")
        from .algorithms import make_algorithm

        self.config = config
        self.output_dir = Path(config.output_dir)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self.algorithm = make_algorithm(config.algorithm)
        if config.torch_threads:
            torch.set_num_threads(config.torch_threads)
        self._seed_everything(config.seed)
        self.device = self._device()
        self.dtype = torch.bfloat16 if config.model.bf16 else torch.float32

        resume_dir = self._resume_dir()
        self.encoder, self.model = self._load_policy(resume_dir)
        self.tokenizer = self.encoder.tokenizer
        self.reference = self._load_reference()
        self.value_head = None
        if self.algorithm.needs_value:
            hidden = self.model.config.get_text_config().hidden_size
            self.value_head = torch.nn.Linear(hidden, 1).to(self.device, self.dtype)
        params = [p for p in self.model.parameters() if p.requires_grad]
        if self.value_head is not None:
            params += list(self.value_head.parameters())
        opt = config.optim
        self.optimizer = torch.optim.AdamW(params, lr=opt.lr, weight_decay=opt.weight_decay, betas=opt.betas)
        total_updates = max(1, config.steps * opt.epochs * opt.mini_batches)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self._schedule(total_updates))
        ro = config.rollout
        self.engine = make_engine(config.engine, self.model, self.encoder, model_path=config.model.path,
                                  bf16=config.model.bf16, seed=config.seed, options=config.vllm,
                                  max_images=_max_turns(ro.env_id, ro.env_kwargs))

        self.rooms = room_pool(ro.split, ro.min_objects, ro.max_objects)
        if ro.curriculum:
            smallest = min(map(room_objects, self.rooms))
            # Found now rather than at the step that first needs such a room, possibly hours in.
            for from_step, cap in ro.curriculum:
                if cap < smallest:
                    raise ValueError(f"rollout.curriculum allows at most {cap} objects from step {from_step}, but "
                                     f"the smallest room of {ro.split!r} within min_objects-max_objects has "
                                     f"{smallest}")
        self.eval_rooms = (room_pool(config.eval.split, ro.min_objects, ro.max_objects, config.eval.rooms)
                           if config.eval.every else [])
        self.sampler = RoomSampler(len(self.rooms), config.seed)
        self.step_index = 0
        ensure_ray(ro.ray_address, ro.ray_num_cpus)
        self.driver = RolloutDriver(ro.env_id, ro.env_kwargs, num_workers=ro.num_workers,
                                    worker_num_cpus=ro.worker_num_cpus, overlap_chunks=ro.overlap_chunks,
                                    max_prompt_tokens=ro.max_prompt_tokens, system_prompt=ro.system_prompt,
                                    images=ro.images, blank_images=ro.blank_images)
        self.sampling = SamplingConfig(ro.max_new_tokens, ro.temperature, ro.top_p)
        if resume_dir is not None:
            self._load_trainer_state(resume_dir)
        self._writer = None

    # ------------------------------------------------------------------ setup
    @staticmethod
    def _seed_everything(seed: int) -> None:
        import torch
        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)

    def _device(self):
        import torch
        name = self.config.model.device
        if name == "auto":
            name = "cuda" if torch.cuda.is_available() else "cpu"
        return torch.device(name)

    def _resume_dir(self) -> Path | None:
        resume = self.config.resume
        if not resume:
            return None
        if resume == "latest":
            found = sorted((self.output_dir / "checkpoints").glob("step_*"))
            if not found:
                raise FileNotFoundError(f"resume=latest but no checkpoint in {self.output_dir / 'checkpoints'}")
            return found[-1]
        path = Path(resume)
        if not (path / "trainer.pt").is_file():
            raise FileNotFoundError(f"{path} is not a checkpoint (no trainer.pt)")
        return path

    def _load_policy(self, resume_dir: Path | None):
        from agents.hf_chat import load_base_model, load_encoder, vision_tower_prefix

        mc = self.config.model
        try:
            encoder = load_encoder(mc.path)
        except (OSError, ValueError) as error:
            if Path(mc.path).exists():
                raise
            raise FileNotFoundError(
                f"model.path {mc.path!r} is not a local folder and could not be loaded as a hub model "
                f"({type(error).__name__}); build or download it first: the config's header says how "
                "(python -m training.pretrain --out out/pretrain/tiny for the cpu_tiny configs, "
                "python -m training.tiny_vlm --out out/tiny_vlm for cpu_tiny_vlm)") from None
        full_from = resume_dir / "model" if resume_dir is not None and not mc.lora_rank else mc.path
        model = load_base_model(full_from, self.dtype)
        vision = vision_tower_prefix(model) if encoder.vision else None
        if mc.lora_rank:
            peft = require("peft", "hf", "LoRA")
            if resume_dir is not None:
                model = peft.PeftModel.from_pretrained(model, resume_dir / "model", is_trainable=True)
            else:
                model = peft.get_peft_model(model, peft.LoraConfig(
                    r=mc.lora_rank, lora_alpha=mc.lora_alpha, lora_dropout=0.0,
                    target_modules=lora_modules(model, mc.lora_targets, vision),
                    modules_to_save=[vision] if vision and mc.vision_tower == "train" else None))
        elif vision and mc.vision_tower == "frozen":
            for p in model.get_submodule(vision).parameters():
                p.requires_grad_(False)
        if mc.gradient_checkpointing:
            # Non-reentrant: with LoRA the checkpointed blocks' inputs carry no gradient of their own.
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.to(self.device)
        model.train()
        return encoder, model

    @property
    def frozen_vision(self) -> bool:
        """Whether the renders' features are computed once per step (a VLM with a frozen tower)."""
        return self.encoder.vision and self.config.model.vision_tower == "frozen"

    def _load_reference(self):
        """A frozen copy of the initial policy for the KL term (LoRA: the base with adapters off)."""
        if self.algorithm.config.kl_coef <= 0 or self.config.model.lora_rank:
            return None
        from agents.hf_chat import load_base_model

        reference = load_base_model(self.config.model.path, self.dtype).to(self.device)
        reference.eval()
        for p in reference.parameters():
            p.requires_grad_(False)
        return reference

    def _schedule(self, total: int):
        opt = self.config.optim

        def factor(update: int) -> float:
            if update < opt.warmup_steps:
                return (update + 1) / opt.warmup_steps
            progress = min(1.0, (update - opt.warmup_steps) / max(1, total - opt.warmup_steps))
            if opt.schedule == "linear":
                return 1.0 - progress
            if opt.schedule == "cosine":
                return 0.5 * (1.0 + math.cos(math.pi * progress))
            return 1.0

        return factor

    # ------------------------------------------------------------------ generation
    def _generate(self, greedy: bool):
        sampling = SamplingConfig(self.sampling.max_new_tokens, self.sampling.temperature, self.sampling.top_p, greedy)
        return lambda prompts: self.engine.generate(prompts, sampling)

    # ------------------------------------------------------------------ learner
    def _forward(self, model, rows, features=None, with_values: bool = False):
        """Log-probabilities, entropies, mask and values of ``rows`` (see :func:`response_logprobs`)."""
        return response_logprobs(model, self.encoder, rows, temperature=self.sampling.temperature,
                                 device=self.device, features=features,
                                 value_head=self.value_head if with_values else None)

    def _learn(self, episodes: list[Episode]) -> dict[str, float]:
        import torch

        from .algorithms.base import TurnBatch

        algo, opt = self.algorithm, self.config.optim
        samples = [s for e in episodes for s in e.turns]
        rows = rows_of(episodes)
        clock = time.perf_counter()
        # A frozen tower sees each render once per step; the reference shares it (same weights).
        features = RenderFeatures(self.model, self.encoder, rows, self.device) \
            if self.frozen_vision and any(r.images for r in rows) else None
        vision_seconds = time.perf_counter() - clock
        chunks = [list(range(i, min(i + opt.micro_batch_rows, len(rows))))
                  for i in range(0, len(rows), opt.micro_batch_rows)]
        # Old (and reference) log-probabilities under the learner before any update.
        old, ref, values_old, masks = [], [], [], []
        with torch.no_grad():
            for chunk in chunks:
                part = [rows[i] for i in chunk]
                lp, _, m, v = self._forward(self.model, part, features, self.value_head is not None)
                old.append(lp)
                masks.append(m)
                values_old.append(v)
                if self.reference is not None:
                    ref.append(self._forward(self.reference, part, features)[0])
                elif algo.config.kl_coef > 0:  # LoRA: the reference is the base with the adapters off
                    with self.model.disable_adapter():
                        ref.append(self._forward(self.model, part, features)[0])
        kl_rows = None
        if ref and algo.config.kl_mode == "reward":
            from .algorithms import kl_reward_penalty

            kl_rows = np.concatenate([kl_reward_penalty(o, r, m) for o, r, m in zip(old, ref, masks)])
        batch = TurnBatch(
            episode_ids=np.array([e.index for e in episodes for _ in e.turns]),
            group_ids=np.array([e.group for e in episodes for _ in e.turns]),
            turns=np.array([s.turn for s in samples]),
            rewards=np.array([s.reward for s in samples], dtype=np.float64),
            kl_penalty=kl_rows,
            dones=np.array([s.done for s in samples]),
            values=(np.concatenate([v.cpu().numpy() for v in values_old]) if self.value_head is not None else None),
            object_scores=[s.object_scores for s in samples],
        )
        advantages, returns = algo.advantages(batch)
        advantages = torch.as_tensor(np.asarray(advantages, dtype=np.float32), device=self.device)
        returns = torch.as_tensor(np.asarray(returns, dtype=np.float32), device=self.device)
        # How far the engine's sampling log-probabilities are from the learner's (numerics, bf16, vLLM).
        gaps = [abs(a - b) for chunk, lp in zip(chunks, old) for i, row in zip(chunk, lp.cpu().tolist())
                for a, b in zip(samples[i].sample_logprobs, row)]
        sampled_gap = float(np.mean(gaps)) if gaps else 0.0

        sums: dict[str, float] = {}
        count = 0
        grad_norms = []
        rng = np.random.default_rng(self.config.seed * 7919 + self.step_index)
        for _ in range(opt.epochs):
            order = rng.permutation(len(chunks)) if opt.epochs > 1 else np.arange(len(chunks))
            for mini in np.array_split(order, opt.mini_batches):
                if len(mini) == 0:
                    continue
                mini_rows = sum(len(chunks[c]) for c in mini)
                self.optimizer.zero_grad(set_to_none=True)
                for c in mini:
                    chunk = chunks[c]
                    lp, entropy, mask, values = self._forward(self.model, [rows[i] for i in chunk], features,
                                                              self.value_head is not None)
                    width = lp.shape[1]
                    kwargs: dict[str, Any] = {"entropy": entropy}
                    if ref:
                        kwargs["ref_logprobs"] = ref[c][:, :width]
                    if values is not None:
                        kwargs["values"] = values
                        kwargs["returns"] = returns[chunk]
                    if algo.config.object_modulation > 0:
                        kwargs["token_weights"] = token_weights(algo, self.tokenizer, [samples[i] for i in chunk],
                                                                width, self.device)
                    loss, metrics = algo.loss(lp, old[c][:, :width], advantages[chunk], mask, **kwargs)
                    (loss * (len(chunk) / mini_rows)).backward()
                    for k, v in metrics.items():
                        sums[k] = sums.get(k, 0.0) + float(v)
                    count += 1
                params = [p for g in self.optimizer.param_groups for p in g["params"]]
                norm = torch.nn.utils.clip_grad_norm_(params, opt.max_grad_norm if opt.max_grad_norm > 0 else math.inf)
                grad_norms.append(float(norm))
                self.optimizer.step()
                self.scheduler.step()
        self.engine.sync_weights(self.model)
        out = {f"loss/{k}": v / max(count, 1) for k, v in sums.items()}
        out["grad_norm"] = float(np.mean(grad_norms))
        out["lr"] = float(self.scheduler.get_last_lr()[0])
        out["advantage_abs_mean"] = float(advantages.abs().mean())
        out["logprob_gap_engine_learner"] = sampled_gap
        out["time/vision_encode"] = vision_seconds
        out["bytes_kept"] = float(sum(e.nbytes for e in episodes))
        if kl_rows is not None:
            out["kl_reward_penalty"] = float(np.mean(kl_rows))
        return out

    # ------------------------------------------------------------------ public API
    def step(self) -> dict[str, float]:
        """One RL step: rollouts, advantages, updates. Returns its metrics."""
        clock = time.perf_counter()
        ro = self.config.rollout
        rooms = rooms_for_step(self.rooms, self.sampler, ro, self.step_index + 1)
        episodes = self.driver.run(self._generate(greedy=False), self.encoder, rooms, ro.group_size,
                                   seed=self.config.seed * 1_000_003 + self.step_index * 10_007,
                                   success_bonus=ro.success_bonus)
        timings = dict(self.driver.timings)
        learn_clock = time.perf_counter()
        metrics = {"step": self.step_index + 1, **episode_metrics(episodes), **self._learn(episodes)}
        if ro.success_bonus:
            metrics["reward/return_with_bonus"] = float(np.mean([e.total_return for e in episodes]))
        if ro.curriculum:
            metrics["curriculum_max_objects"] = ro.max_objects_at(self.step_index + 1)
        metrics["time/generation"] = timings["generation"]
        metrics["time/env"] = timings["env"]
        metrics["time/env_wait"] = timings["env_wait"]
        metrics["time/learner"] = time.perf_counter() - learn_clock
        metrics["time/step"] = time.perf_counter() - clock
        metrics["worker_restarts"] = self.driver.restarts
        self.step_index += 1
        return metrics

    def evaluate(self) -> dict[str, float]:
        """Greedy episodes on the held-out rooms: success rate, mean reward and terms."""
        if not self.eval_rooms:
            raise ValueError("no evaluation rooms: set eval.every > 0 and an eval.split with matching rooms")
        clock = time.perf_counter()
        episodes = self.driver.run(self._generate(greedy=True), self.encoder, self.eval_rooms, 1, seed=EVAL_SEED)
        metrics = {"step": self.step_index, "eval/rooms": len(episodes), **episode_metrics(episodes, "eval/")}
        metrics["eval/first_turn_total"] = float(np.mean([e.turns[0].terms.get("total", 0.0) for e in episodes]))
        metrics["time/eval"] = time.perf_counter() - clock
        self._log_eval_episodes(episodes)
        return metrics

    def train(self) -> list[dict[str, float]]:
        """Run the remaining steps with evaluation, logging and checkpoints; returns the step metrics."""
        from tqdm import tqdm

        cfg = self.config
        history = []
        self._log_config()
        if cfg.eval.every and self.step_index == 0:
            self._log(self.evaluate(), "eval.csv")
        with tqdm(total=cfg.steps, initial=self.step_index, desc="train", unit="step", disable=not cfg.progress) as bar:
            while self.step_index < cfg.steps:
                metrics = self.step()
                history.append(metrics)
                self._log(metrics, "metrics.csv")
                bar.set_postfix(reward=f"{metrics['reward/final_total']:.3f}", success=f"{metrics['success']:.2f}")
                bar.update()
                last = self.step_index == cfg.steps
                if cfg.eval.every and (self.step_index % cfg.eval.every == 0 or last):
                    self._log(self.evaluate(), "eval.csv")
                if (cfg.checkpoint_every and self.step_index % cfg.checkpoint_every == 0) or last:
                    self.save()
        return history

    # ------------------------------------------------------------------ checkpoints
    def save(self, path: str | Path | None = None) -> Path:
        """Write a checkpoint (default ``output_dir/checkpoints/step_NNNNNN``); returns its directory.

        Everything is written into a sibling ``<name>.partial-<pid>`` folder that is renamed to
        ``path`` once complete (see :func:`write_checkpoint`), so ``path`` never holds half a checkpoint.
        """
        path = Path(path) if path is not None else self.output_dir / "checkpoints" / f"step_{self.step_index:06d}"

        def write_model(folder: Path) -> None:
            self.model.save_pretrained(folder)
            self.encoder.save(folder)

        state = build_trainer_state(self.step_index, self.optimizer, self.scheduler, self.value_head, self.sampler,
                                    self.config.to_dict())
        return write_checkpoint(path, write_model, state)

    def _resume_dir(self) -> Path | None:
        resume = self.config.resume
        if not resume:
            return None
        if resume == "latest":
            return latest_checkpoint(self.output_dir / "checkpoints")
        path = Path(resume)
        problem = checkpoint_problem(path)
        if problem in ("not a folder", "no trainer.pt"):
            raise FileNotFoundError(f"{path} is not a checkpoint ({problem})")
        if problem is not None:
            raise ValueError(f"{path} is not a complete checkpoint: {problem}")
        return path

    def _load_trainer_state(self, path: Path) -> None:
        state = read_trainer_state(path / "trainer.pt")
        self.step_index = apply_trainer_state(state, self.optimizer, self.scheduler, self.value_head, self.sampler)

    # ------------------------------------------------------------------ logging
    def _log_config(self) -> None:
        (self.output_dir / "config.json").write_text(json.dumps(self.config.to_dict(), indent=2, default=str))

    def _log_eval_episodes(self, episodes) -> None:
        """Each held-out room's turns (total, success) at this step, one JSON line per room in
        ``eval_episodes.jsonl``: what paired comparisons of checkpoints or runs need (same rooms,
        same seeds). Lines of this step from an interrupted run are replaced, as in :meth:`_log`."""
        path = self.output_dir / "eval_episodes.jsonl"
        kept = []
        if path.exists():
            kept = [line for line in path.read_text().splitlines() if line and json.loads(line)["step"] < self.step_index]
        rows = [json.dumps({"step": self.step_index, "task_id": e.task_id,
                            "totals": [round(t.terms.get("total", 0.0), 4) for t in e.turns],
                            "successes": [bool(t.success) for t in e.turns]}) for e in episodes]
        temp = path.with_name(path.name + ".tmp")
        temp.write_text("".join(f"{line}\n" for line in [*kept, *rows]))
        temp.replace(path)

    def _log(self, metrics: dict[str, float], filename: str) -> None:
        path = self.output_dir / filename
        rows: list[dict[str, Any]] = []
        if path.exists():
            with path.open(newline="") as handle:
                # Rows at or after this step were logged by an interrupted run that this one resumed
                # before them: the resumed run replaces them, so every step appears once.
                rows = [r for r in csv.DictReader(handle) if float(r["step"]) < float(metrics["step"])]
        fields = list(dict.fromkeys([*(rows[0].keys() if rows else ()), *metrics]))
        with path.open("w", newline="") as handle:  # rewritten whole: a later step may add a column
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows([*rows, metrics])
        if self.config.tensorboard:
            if self._writer is None:
                from torch.utils.tensorboard import SummaryWriter

                self._writer = SummaryWriter(str(self.output_dir / "tensorboard"))
            for key, value in metrics.items():
                if key != "step":
                    self._writer.add_scalar(key, value, int(metrics["step"]))
            self._writer.flush()

    def close(self) -> None:
        """Stop the env workers and close the TensorBoard writer."""
        self.driver.close()
        if self._writer is not None:
            self._writer.close()


def lora_modules(model: Any, names: Any, vision_prefix: str | None) -> list[str]:
    """Full names of the modules called one of ``names``, outside the vision tower."""
    names = set(names)
    found = [name for name, _ in model.named_modules() if name.rsplit(".", 1)[-1] in names
             and not (vision_prefix and (name == vision_prefix or name.startswith(vision_prefix + ".")))]
    if not found:
        raise ValueError(f"model.lora_targets {sorted(names)} name no module of the language model")
    return found


def _max_turns(env_id: str, env_kwargs: dict[str, Any]) -> int:
    """Observations (so renders) one episode of ``env_id`` can show: its turn budget."""
    import gymnasium as gym

    import metaspatial_env  # noqa: F401  (registers the ids)
    from metaspatial_env.env import EnvConfig

    kwargs = {**gym.spec(env_id.rpartition(":")[2]).kwargs, **env_kwargs}  # "module:Id" is make()'s form
    return int(kwargs.get("max_turns", EnvConfig.max_turns))


def train(config: TrainConfig) -> list[dict[str, float]]:
    """Build a :class:`Trainer`, run it to ``config.steps`` and close it."""
    trainer = Trainer(config)
    try:
        return trainer.train()
    finally:
        trainer.close()


__all__ = ["Trainer", "train", "room_pool", "rooms_for_step", "episode_metrics"]
