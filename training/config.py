"""Trainer configuration: small frozen dataclasses loaded from YAML, with ``key=value`` overrides.

``load_config("configs/cpu_tiny_grpo.yaml", ["steps=4", "rollout.group_size=2"])`` reads the file,
applies the overrides (dotted paths; values parsed as YAML, so ``true``, ``3e-4`` and ``[1, 2]``
work) and builds :class:`TrainConfig` with the project's one strict builder
(:func:`metaspatial_env.config.from_mapping`): every section becomes its typed config at once, the
``algorithm`` section the algorithms module's own :class:`~training.algorithms.base.AlgorithmConfig`.
Unknown keys, in the file or in an override, are errors that name the section and the known keys.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metaspatial_env.config import from_mapping, to_mapping
from metaspatial_env.deps import require

from .algorithms.base import AlgorithmConfig

ENGINES = ("hf", "vllm")
SCHEDULES = ("constant", "linear", "cosine")
VISION_TOWER = ("frozen", "train")


@dataclass(frozen=True)
class ModelConfig:
    """The policy the learner trains and the engine samples from."""

    path: str = ""
    """A ``transformers`` checkpoint directory or hub id (offline: a local directory)."""
    lora_rank: int = 0
    """0: full fine-tune; > 0: train LoRA adapters of this rank (``peft``) on ``lora_targets``."""
    lora_alpha: int = 16
    """LoRA scaling numerator (``alpha / rank`` scales the adapter's output)."""
    lora_targets: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    """Module names the LoRA adapters wrap, in the language model only (a VLM's vision tower has
    modules of the same names; it follows ``vision_tower``)."""
    vision_tower: str = "frozen"
    """A VLM's vision tower: ``frozen`` (no gradient; each render is encoded once per step and the
    features reused by every pass) or ``train`` (full weights train, with LoRA as saved modules)."""
    bf16: bool = False
    """Train and sample in bfloat16 (GPU); fp32 otherwise."""
    device: str = "auto"
    """``auto`` (CUDA when available, else CPU), ``cpu`` or ``cuda``."""
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass to save memory (large models)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "lora_targets", tuple(self.lora_targets))
        if not self.path:
            raise ValueError("model.path is required: a transformers checkpoint directory")
        if self.lora_rank < 0:
            raise ValueError(f"model.lora_rank must be >= 0, got {self.lora_rank}")
        if self.vision_tower not in VISION_TOWER:
            raise ValueError(f"model.vision_tower must be one of {VISION_TOWER}, got {self.vision_tower!r}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"model.device must be auto, cpu or cuda, got {self.device!r}")


@dataclass(frozen=True)
class RolloutConfig:
    """Where episodes come from and how answers are sampled."""

    env_id: str = "metaspatial_env:MetaSpatial-Text-v0"
    """Registered Gymnasium id every worker builds with ``gym.make(env_id, **env_kwargs)``."""
    env_kwargs: dict = field(default_factory=dict)
    """JSON-able keyword arguments of the env (``max_turns``, ``reward_mode``, ...)."""
    split: str = "train"
    """Bundled split the training rooms are drawn from."""
    min_objects: int = 1
    """Only rooms with at least this many objects are used (training and evaluation)."""
    max_objects: int = 100
    """Only rooms with at most this many objects are used (easy rooms: 5)."""
    rooms_per_step: int = 4
    """Distinct rooms per RL step."""
    group_size: int = 4
    """Episodes per room (G): group-based algorithms compare the episodes of one room."""
    num_workers: int = 2
    """Ray actors owning the envs; episodes are spread over them round-robin."""
    worker_num_cpus: float = 1.0
    """CPUs Ray reserves for each worker actor."""
    ray_address: str | None = None
    """``ray.init(address=...)``: None starts (or joins) a local Ray; ``auto`` or ``ray://...`` a cluster."""
    ray_num_cpus: int | None = None
    """CPUs of a local Ray started by the trainer (None: all)."""
    overlap_chunks: int = 2
    """Split each turn's batch in this many chunks: env steps of one chunk run on the workers while
    the next chunk is generated (1: generate everything, then step)."""
    max_new_tokens: int = 256
    """Longest sampled answer, in tokens."""
    temperature: float = 1.0
    """Sampling temperature (logprobs are recorded for this distribution)."""
    top_p: float = 1.0
    """Nucleus sampling mass (1.0: off; below 1 the recorded logprobs are of the truncated law)."""
    max_prompt_tokens: int = 2048
    """Longest prompt; older turns of the conversation are dropped first to fit."""
    system_prompt: str | None = None
    """System message of every conversation: None is the shared ``prompting.SYSTEM_PROMPT``; ``""``
    none (small models whose task prompt already states the format)."""
    images: bool = True
    """Show the env's renders to a VLM (every turn's image in its prompt, within the budget);
    False: the VLM reads the text only. Text-only models and text envs have no images either way."""
    blank_images: bool = False
    """Show a black image of each render's size in its place (training and held-out evaluation):
    the paired control of an image probe, where the same run with the real renders measures what
    the pixels add. Off: the renders as they are."""
    success_bonus: float = 0.0
    """Added to a turn's reward when the env reports ``info["success"]`` for it, in the trainer only
    (the reward the algorithm learns from): the env's reward (``reward/return``, ``reward/turn_N``),
    its terms and evaluation are unchanged, and the trainer logs the reward with the bonus as
    ``reward/return_with_bonus``. With the env's default ``terminate_on_success`` an episode earns it
    at most once. Must be >= 0; 0: off."""
    curriculum: tuple[tuple[int, int], ...] = ()
    """Object-count curriculum of the training rooms: ``[[from_step, max_objects], ...]``, from step
    ``from_step`` on (counted like the ``step`` column of ``metrics.csv``: the first step is 1) the
    step's rooms have at most ``max_objects`` objects; before the first entry ``max_objects`` above
    applies. The rooms are those of the pool (``split`` within ``min_objects``-``max_objects``);
    larger ones are passed over by the seeded shuffle until allowed. Steps strictly increasing,
    each cap in ``min_objects``-``max_objects``. Evaluation rooms are not affected. ``[]``: off."""

    def __post_init__(self) -> None:
        for name in ("rooms_per_step", "group_size", "num_workers", "overlap_chunks", "max_new_tokens"):
            if getattr(self, name) < 1:
                raise ValueError(f"rollout.{name} must be >= 1, got {getattr(self, name)}")
        if not (math.isfinite(self.success_bonus) and self.success_bonus >= 0):
            raise ValueError(f"rollout.success_bonus must be a finite number >= 0, got {self.success_bonus}")
        object.__setattr__(self, "curriculum", self._checked_curriculum(self.curriculum))
        if self.temperature <= 0:
            raise ValueError("rollout.temperature must be > 0 (evaluation is greedy on its own)")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"rollout.top_p must be in (0, 1], got {self.top_p}")

    def _checked_curriculum(self, curriculum: Any) -> tuple[tuple[int, int], ...]:
        """``curriculum`` as a tuple of ``(from_step, max_objects)`` int pairs, or ValueError."""
        form = "a list of [from_step, max_objects] pairs of integers, e.g. [[1, 3], [20, 5]]"
        if isinstance(curriculum, (str, bytes, Mapping)) or not isinstance(curriculum, Sequence):
            raise ValueError(f"rollout.curriculum must be {form}, got {curriculum!r}")
        pairs = []
        for entry in curriculum:
            if (isinstance(entry, (str, bytes)) or not isinstance(entry, Sequence) or len(entry) != 2
                    or not all(isinstance(v, int) and not isinstance(v, bool) for v in entry)):
                raise ValueError(f"rollout.curriculum must be {form}; entry {entry!r} is not")
            pairs.append((int(entry[0]), int(entry[1])))
        for k, (step, cap) in enumerate(pairs):
            if step < 1:
                raise ValueError(f"rollout.curriculum: from_step must be >= 1 (the first step is 1), got {step}")
            if k and step <= pairs[k - 1][0]:
                raise ValueError(f"rollout.curriculum: from_step must increase strictly, got {step} after "
                                 f"{pairs[k - 1][0]}")
            if cap < 1:
                raise ValueError(f"rollout.curriculum: max_objects must be >= 1, got {cap} (from step {step})")
            if not self.min_objects <= cap <= self.max_objects:
                raise ValueError(f"rollout.curriculum: max_objects {cap} (from step {step}) must be within "
                                 f"rollout.min_objects-max_objects ({self.min_objects}-{self.max_objects}), "
                                 "the object counts of the room pool")
        return tuple(pairs)

    def max_objects_at(self, step: int) -> int:
        """Most objects a training room of ``step`` (1-based, as logged) may have under the curriculum."""
        cap = self.max_objects
        for from_step, max_objects in self.curriculum:
            if step >= from_step:
                cap = max_objects
        return cap


@dataclass(frozen=True)
class OptimConfig:
    """Optimizer, schedule and batching of the learner."""

    lr: float = 1e-5
    """Peak learning rate of AdamW."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    betas: tuple[float, float] = (0.9, 0.999)
    """AdamW betas."""
    schedule: str = "constant"
    """``constant``, ``linear`` (to 0 at the last step) or ``cosine``, after the warm-up."""
    warmup_steps: int = 0
    """Optimizer steps of linear warm-up from 0."""
    max_grad_norm: float = 1.0
    """Gradient clipping norm (0: off)."""
    epochs: int = 1
    """Passes over each step's rollouts (PPO-style reuse; 1: on-policy)."""
    mini_batches: int = 1
    """Optimizer steps per pass: the rows are split into this many mini-batches."""
    micro_batch_rows: int = 8
    """Rows per forward/backward; a mini-batch accumulates gradients over its micro-batches."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "betas", tuple(self.betas))
        if self.schedule not in SCHEDULES:
            raise ValueError(f"optim.schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        for name in ("epochs", "mini_batches", "micro_batch_rows"):
            if getattr(self, name) < 1:
                raise ValueError(f"optim.{name} must be >= 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class VLLMConfig:
    """Options of the in-process vLLM engine (``engine: vllm``, GPU machines)."""

    tensor_parallel_size: int = 1
    """GPUs one engine shards the model over (1: the engine lives in the trainer's process)."""
    gpu_memory_utilization: float = 0.4
    """Share of the GPU's memory vLLM takes for weights and KV cache; the learner needs the rest."""
    max_model_len: int | None = None
    """Longest prompt plus answer vLLM plans for (None: the model's own limit)."""

    def __post_init__(self) -> None:
        if self.tensor_parallel_size < 1:
            raise ValueError(f"vllm.tensor_parallel_size must be >= 1, got {self.tensor_parallel_size}")
        if not 0 < self.gpu_memory_utilization < 1:
            raise ValueError(f"vllm.gpu_memory_utilization must be in (0, 1), got {self.gpu_memory_utilization}")


@dataclass(frozen=True)
class HeldOutConfig:
    """Greedy evaluation on held-out rooms."""

    every: int = 0
    """Evaluate every this many steps (and before the first and after the last); 0: never."""
    split: str = "test"
    """Held-out split (rooms filtered by ``rollout.min_objects`` / ``max_objects``)."""
    rooms: int = 32
    """How many held-out rooms (the first ones of the filtered split)."""


@dataclass(frozen=True)
class TrainConfig:
    """One training run."""

    model: ModelConfig
    """The policy."""
    algorithm: AlgorithmConfig = field(default_factory=AlgorithmConfig)
    """The RL algorithm (a mapping of ``AlgorithmConfig`` fields; ``name``: grpo, rloo, ...)."""
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    """Episodes and sampling."""
    optim: OptimConfig = field(default_factory=OptimConfig)
    """Learner."""
    eval: HeldOutConfig = field(default_factory=HeldOutConfig)
    """Held-out evaluation."""
    engine: str = "hf"
    """Generation engine: ``hf`` (transformers generate, CPU or GPU) or ``vllm`` (GPU)."""
    vllm: VLLMConfig = field(default_factory=VLLMConfig)
    """vLLM engine options (used when ``engine`` is ``vllm``)."""
    steps: int = 10
    """RL steps (one rollout batch and its updates each)."""
    seed: int = 0
    """Seeds torch, numpy, the room order and the env episodes."""
    output_dir: str = "out/train"
    """Metrics CSV, TensorBoard events and checkpoints go here."""
    checkpoint_every: int = 0
    """Save a checkpoint every this many steps (and at the end); 0: only at the end."""
    resume: str | None = None
    """A checkpoint directory to resume from, or ``latest`` (the newest in ``output_dir``)."""
    tensorboard: bool = True
    """Write TensorBoard event files next to the CSV."""
    progress: bool = True
    """Show a tqdm progress bar."""
    torch_threads: int = 0
    """torch intra-op threads of the learner and the ``hf`` engine (0: torch's default). Small
    models on a shared CPU: 1 (two threads contending for busy cores were ~5x slower per step)."""

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {self.engine!r}")
        if self.steps < 0 or self.checkpoint_every < 0 or self.torch_threads < 0:
            raise ValueError("steps, checkpoint_every and torch_threads must be >= 0")
        if not isinstance(self.algorithm, AlgorithmConfig):
            raise ValueError("algorithm must be a mapping of AlgorithmConfig fields (e.g. {name: grpo})")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from a nested dict (YAML); unknown keys anywhere are errors."""
        if "model" not in (data or {}):
            raise ValueError("the config needs a 'model' section with a 'path'")
        return from_mapping(cls, data, "keys")

    def to_dict(self) -> dict[str, Any]:
        return to_mapping(self)


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Set ``a.b.c=value`` paths in a nested dict (values parsed as YAML); returns a new dict."""
    import copy

    data = copy.deepcopy(data)
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"override {item!r} is not key=value")
        node = data
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"override {item!r}: {part!r} is not a section")
        node[leaf] = _parse_value(raw)
    return data


def _parse_value(raw: str) -> Any:
    """A YAML scalar or collection; ``3e-4`` (a string to YAML 1.1) is read as the float it means."""
    value = require("yaml", "train", "the trainer").safe_load(raw)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def load_config(path: str | Path, overrides: list[str] | None = None) -> TrainConfig:
    """Read a YAML config, apply ``key=value`` overrides and validate it."""
    yaml = require("yaml", "train", "the trainer")
    data = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the config must be a mapping")
    return TrainConfig.from_dict(apply_overrides(data, list(overrides or [])))
