"""What the verl tests share: verl's trainer config composed with scripts/train_verl.sh's overrides,
and a generation server backed by ``transformers`` that stands in for verl's vLLM servers.

The server is the only stand-in: verl's ``AgentLoopWorker`` (its dataset class, tokenizer and
processor, its Continuous Token builder, its padding, multimodal inputs and M-RoPE positions) runs
as it does under ``main_ppo``, minus Ray and vLLM, which a CPU cannot run for a VLM.
"""

from __future__ import annotations

import asyncio
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[2]


def script_overrides(env: dict[str, str] | None = None) -> list[str]:
    """The hydra overrides scripts/train_verl.sh launches ``main_ppo`` with."""
    import os

    result = subprocess.run(["bash", str(ROOT / "scripts" / "train_verl.sh"), "--print-overrides"], check=True,
                            capture_output=True, text=True, env={**os.environ, **(env or {})})
    return result.stdout.splitlines()


def compose(overrides: list[str]):
    """verl's ``ppo_trainer`` config with ``overrides``, composed by hydra as ``main_ppo`` does."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_module(config_module="verl.trainer.config", version_base=None):
        return hydra_compose(config_name="ppo_trainer", overrides=overrides)


def worker_config(model: Path, train_file: Path, *, prompt_length: int = 2048, response_length: int = 1024,
                  extra: list[str] = ()):
    """The script's config pointed at the tiny model and a small parquet, at CPU-sized lengths."""
    overrides = [o for o in script_overrides() if not o.startswith(("data.train_files", "data.val_files"))]
    return compose([*overrides, f"actor_rollout_ref.model.path={model}", f"data.train_files={train_file}",
                    f"data.val_files={train_file}", f"data.max_prompt_length={prompt_length}",
                    f"data.max_response_length={response_length}", "actor_rollout_ref.rollout.n=1",
                    "data.dataloader_num_workers=0", *extra])


@dataclass
class Call:
    """One ``generate`` request as the server saw it."""

    prompt_ids: list[int]
    images: int
    max_tokens: int
    token_ids: list[int] = field(default_factory=list)


class TransformersServer:
    """verl's ``LLMServerClient.generate`` interface over ``model.generate`` of a transformers VLM.

    The prompt ids are used as given (verl's builder made them), the images go through the same
    processor's image processor verl uses, and the log-probabilities are the model's own (raw
    logits, full vocabulary), as vLLM's ``processed_logprobs`` are at temperature 1.
    ``suppress`` tokens (image placeholders and markers) are never sampled: a random model would
    otherwise write image slots that no image fills. ``answers`` replaces sampling with fixed
    answer texts, turn by turn, where a layout is needed that a random model cannot write.
    """

    def __init__(self, model: Any, processor: Any, *, answers: list[str] | None = None, seed: int = 0):
        self.model = model
        self.processor = processor
        tokenizer = processor.tokenizer
        self.image_token_id = tokenizer.convert_tokens_to_ids("<|image_pad|>")
        self.suppress = sorted({tokenizer.convert_tokens_to_ids(t) for t in
                                ("<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>")})
        self.answers = answers
        self.generator = torch.Generator().manual_seed(seed)
        self.calls: list[Call] = []
        self._lock = asyncio.Lock()

    def _inputs(self, prompt_ids: list[int], image_data: list[Any] | None) -> dict[str, Any]:
        input_ids = torch.tensor([prompt_ids], dtype=torch.long)
        inputs: dict[str, Any] = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}
        if image_data:
            inputs.update(self.processor.image_processor(images=list(image_data), return_tensors="pt"))
            inputs["mm_token_type_ids"] = (input_ids == self.image_token_id).long()
        return inputs

    async def generate(self, request_id: str, *, prompt_ids: list[int], sampling_params: dict[str, Any],
                       image_data: list[Any] | None = None, video_data: Any = None, audio_data: Any = None,
                       mm_processor_kwargs: dict[str, Any] | None = None, **kwargs: Any):
        from verl.workers.rollout.replica import TokenOutput

        async with self._lock:  # one model, one request at a time
            call = Call(list(prompt_ids), len(image_data or []), int(sampling_params["max_tokens"]))
            self.calls.append(call)
            inputs = self._inputs(call.prompt_ids, image_data)
            with torch.no_grad():
                if self.answers is not None:
                    turn = sum(c.prompt_ids[:8] == call.prompt_ids[:8] for c in self.calls) - 1
                    text = self.answers[min(turn, len(self.answers) - 1)]
                    new = self.processor.tokenizer(text, add_special_tokens=False)["input_ids"][: call.max_tokens]
                    new = new + [self.processor.tokenizer.eos_token_id]
                    new = new[: call.max_tokens]
                else:
                    torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=self.generator)))
                    out = self.model.generate(**inputs, max_new_tokens=call.max_tokens, do_sample=True,
                                              temperature=1.0, top_k=0, top_p=1.0, suppress_tokens=self.suppress)
                    new = out[0, len(prompt_ids):].tolist()
                log_probs = self.log_probs(inputs, new) if sampling_params.get("logprobs") else None
            call.token_ids = new
            return TokenOutput(token_ids=new, log_probs=log_probs, stop_reason="completed", num_preempted=0)

    def log_probs(self, inputs: dict[str, Any], new: list[int]) -> list[float]:
        """The model's log-probabilities of ``new`` after the prompt (one forward, no cache)."""
        full = dict(inputs)
        ids = torch.cat([inputs["input_ids"], torch.tensor([new], dtype=torch.long)], dim=1)
        full["input_ids"], full["attention_mask"] = ids, torch.ones_like(ids)
        if "mm_token_type_ids" in full:
            full["mm_token_type_ids"] = (ids == self.image_token_id).long()
        logits = self.model(**full).logits[0, inputs["input_ids"].shape[1] - 1: -1].float()
        return torch.log_softmax(logits, -1).gather(-1, torch.tensor(new)[:, None])[:, 0].tolist()


def load_tiny(path: Path):
    """The tiny model (float32, eval mode) and its processor, loaded the way verl loads them."""
    from transformers import AutoModelForImageTextToText
    from verl.utils import hf_processor

    model = AutoModelForImageTextToText.from_pretrained(path, dtype=torch.float32).eval()
    return model, hf_processor(str(path))


def run_worker(config, server: TransformersServer, train_file: Path, limit: int | None = None):
    """verl's ``AgentLoopWorker`` (not as a Ray actor) on the parquet's rows: its output DataProto."""
    from verl.experimental.agent_loop.agent_loop import AgentLoopWorker
    from verl.protocol import DataProto
    from verl.utils.dataset.rl_dataset import RLHFDataset, collate_fn

    worker = AgentLoopWorker(config, server)
    dataset = RLHFDataset(str(train_file), worker.tokenizer, config.data, worker.processor)
    rows = [dataset[i] for i in range(len(dataset) if limit is None else limit)]
    batch = DataProto.from_single_dict(collate_fn(rows))
    batch.meta_info["global_steps"] = 0
    return worker, asyncio.run(worker.generate_sequences(batch))


def agent_loop_file(tmp_path: Path, **changes: Any) -> Path:
    """The project's agent-loop config file with some loop arguments changed (CPU-sized caps)."""
    from omegaconf import OmegaConf

    entries = OmegaConf.load(ROOT / "training" / "configs" / "verl_grpo_qwen2_5_vl_3b.yaml")
    for key, value in changes.items():
        entries[0][key] = value
    path = tmp_path / "agent_loops.yaml"
    OmegaConf.save(entries, path)
    return path
