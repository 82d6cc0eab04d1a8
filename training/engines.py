"""Generation engines: sample answers for a batch of prompts, returning token ids and log-probabilities.

Both engines take :class:`~agents.hf_chat.Prompt` objects (the chat template and the renders it
refers to, built by the one :class:`~agents.hf_chat.ChatEncoder`) and return, per prompt, the
prompt's token ids as the engine expanded them (each image placeholder replaced by the image's
visual tokens), the sampled response ids (ending with the end-of-turn token when the model
stopped), the log-probability of each sampled token under the distribution it was drawn from
(temperature and top-p applied) and the decoded text. The learner replays exactly those prompt
ids with the same renders.

- :class:`HFEngine`: ``transformers`` ``generate`` on the learner's own module (CPU or GPU), with
  the processor's ``pixel_values``; the weights it samples with are always the learner's, so
  :meth:`sync_weights` has nothing to do.
- :class:`VLLMEngine`: vLLM in-process (NVIDIA GPU); images go in as ``multi_modal_data`` with the
  learner's image-processor settings; after each update the learner pushes its weights in place
  (LoRA: merged into the live module, read, unmerged; no copy of the model) and the prefix cache
  is reset, since cached keys and values belong to the old weights.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from metaspatial_env.deps import require


@dataclass(frozen=True)
class SamplingConfig:
    """How one batch is sampled."""

    max_new_tokens: int = 256
    """Longest answer in tokens."""
    temperature: float = 1.0
    """Softmax temperature."""
    top_p: float = 1.0
    """Nucleus mass (1.0: off)."""
    greedy: bool = False
    """Pick the most likely token (evaluation); log-probabilities are then of the untempered law."""


@dataclass
class Generation:
    """One sampled answer."""

    prompt_ids: list[int]
    """The prompt's token ids as the engine saw them (image placeholders expanded)."""
    response_ids: list[int]
    """Sampled tokens, including the end-of-turn token when the model emitted it."""
    logprobs: list[float]
    """Log-probability of each sampled token under the sampling distribution."""
    text: str
    """The response decoded without special tokens."""
    finished: bool
    """True when the model stopped by itself (not cut at ``max_new_tokens``)."""


class HFEngine:
    """Batched ``transformers`` generation with the learner's module (left-padded prompts, with images)."""

    def __init__(self, model: Any, encoder: Any, stop_token_ids: list[int] | None = None):
        self.model = model
        self.encoder = encoder
        tokenizer = encoder.tokenizer
        stops = stop_token_ids if stop_token_ids is not None else [tokenizer.eos_token_id]
        self.stop_token_ids = [int(t) for t in stops if t is not None]
        if not self.stop_token_ids:
            raise ValueError("the tokenizer has no eos token; pass stop_token_ids")
        self.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.stop_token_ids[0]

    def sync_weights(self, model: Any) -> None:
        """Nothing to push: this engine samples with the learner's own module."""
        self.model = model

    def generate(self, prompts: list[Any], sampling: SamplingConfig) -> list[Generation]:
        torch = require("torch", "hf", "the transformers engine")
        from transformers import GenerationConfig

        if not prompts:
            return []
        device = next(self.model.parameters()).device
        inputs = self.encoder.inputs(prompts)
        attention = inputs["attention_mask"]
        width = attention.shape[1]
        config = GenerationConfig(
            max_new_tokens=sampling.max_new_tokens,
            do_sample=not sampling.greedy,
            temperature=None if sampling.greedy else sampling.temperature,
            top_p=None if sampling.greedy or sampling.top_p >= 1.0 else sampling.top_p,
            top_k=0,  # off: the recorded logprobs are of the tempered (top-p) law only
            suppress_tokens=self.encoder.forbidden_ids or None,
            eos_token_id=self.stop_token_ids,
            pad_token_id=self.pad_token_id,
            return_dict_in_generate=True,
            output_scores=True,
        )
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                out = self.model.generate(**{k: v.to(device) for k, v in inputs.items()}, generation_config=config)
        finally:
            self.model.train(was_training)
        new_tokens = out.sequences[:, width:].cpu()
        # ``scores`` are the processed logits the sampler drew from (temperature, top-p applied).
        scores = torch.stack(out.scores, dim=1).float().log_softmax(-1).cpu()
        token_logprobs = scores.gather(-1, new_tokens.unsqueeze(-1)).squeeze(-1)
        results = []
        stops = set(self.stop_token_ids)
        for i in range(len(prompts)):
            prompt = inputs["input_ids"][i][attention[i].bool()].tolist()
            ids = new_tokens[i].tolist()
            end = next((k + 1 for k, t in enumerate(ids) if t in stops), None)
            finished = end is not None
            ids = ids[:end] if finished else ids
            text = self.encoder.decode(ids)
            results.append(Generation(prompt, ids, token_logprobs[i, : len(ids)].tolist(), text, finished))
        return results


class VLLMEngine:
    """vLLM in the trainer's process (GPU only); weights are pushed from the learner after each step.

    Prompts go in as text with their renders as ``multi_modal_data``; vLLM's processor (set to the
    learner's ``min_pixels`` / ``max_pixels``) expands the placeholders and the engine hands the
    expanded ids back, so the learner's row is what vLLM sampled from. ``logprobs_mode`` is
    ``processed_logprobs``: the recorded log-probabilities are of the tempered, truncated law, as
    the learner's ratio needs. This path follows vLLM's offline ``LLM`` API and runs only on a GPU
    machine; the CPU test suite does not reach it.
    """

    def __init__(self, model_path: str, encoder: Any, *, dtype: str = "bfloat16", seed: int = 0,
                 options: Any = None, max_images: int = 1):
        import os

        # tensor_parallel_size 1 runs the model in this process, so a weight push is a copy
        # between tensors on one GPU rather than a pickled state dict sent to a worker.
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        vllm = require("vllm", "vllm", "the vLLM engine (GPU machines only)")
        self.encoder = encoder
        extra: dict[str, Any] = {}
        if encoder.vision:
            extra["limit_mm_per_prompt"] = {"image": max_images}
            extra["mm_processor_kwargs"] = image_processor_settings(encoder.processor)
        self.llm = vllm.LLM(model=model_path, dtype=dtype, seed=seed, enable_prefix_caching=True,
                            logprobs_mode="processed_logprobs",
                            tensor_parallel_size=getattr(options, "tensor_parallel_size", 1),
                            gpu_memory_utilization=getattr(options, "gpu_memory_utilization", 0.4),
                            max_model_len=getattr(options, "max_model_len", None), **extra)

    def sync_weights(self, model: Any) -> None:
        """Load the learner's current weights into vLLM's model, then drop the stale prefix cache."""
        with live_weights(model) as weights:
            def load(worker):  # runs inside each vLLM worker
                worker.model_runner.model.load_weights(weights=weights)

            self.llm.collective_rpc(load)
        self.llm.reset_prefix_cache()

    def generate(self, prompts: list[Any], sampling: SamplingConfig) -> list[Generation]:
        from vllm import SamplingParams

        params = SamplingParams(
            max_tokens=sampling.max_new_tokens,
            temperature=0.0 if sampling.greedy else sampling.temperature,
            top_p=1.0 if sampling.greedy else sampling.top_p,
            logprobs=0,
            # the placeholders an answer may not hold, as the HF engine and the learner leave them out
            logit_bias={int(t): -100.0 for t in self.encoder.forbidden_ids} or None,
        )
        requests = []
        for prompt in prompts:
            request: dict[str, Any] = {"prompt": prompt.text}
            if prompt.images:
                from PIL import Image

                request["multi_modal_data"] = {"image": [Image.fromarray(image) for image in prompt.images]}
            requests.append(request)
        outputs = self.llm.generate(requests, params, use_tqdm=False)
        results = []
        for out in outputs:
            completion = out.outputs[0]
            ids = list(completion.token_ids)
            logprobs = [step[token].logprob for step, token in zip(completion.logprobs, ids)]
            results.append(Generation(list(out.prompt_token_ids), ids, logprobs, completion.text,
                                      completion.finish_reason == "stop"))
        return results


def image_processor_settings(processor: Any) -> dict[str, int]:
    """The pixel bounds of a Qwen2-VL-style image processor (what vLLM's processor must match)."""
    image_processor = processor.image_processor
    size = getattr(image_processor, "size", None) or {}
    low = getattr(image_processor, "min_pixels", None) or size.get("shortest_edge")
    high = getattr(image_processor, "max_pixels", None) or size.get("longest_edge")
    return {k: int(v) for k, v in (("min_pixels", low), ("max_pixels", high)) if v}


@contextmanager
def live_weights(model: Any) -> Iterator[list[tuple[str, Any]]]:
    """``with live_weights(model) as pairs``: (name, tensor) of the model under its base names.

    LoRA adapters are merged into the live module for the block and unmerged after it, so no
    copy of the model is made; names lose peft's ``base_model.model.`` prefix and ``.base_layer``.
    """
    lora = hasattr(model, "merge_adapter")
    if lora:
        model.merge_adapter()
    try:
        pairs = []
        for name, tensor in model.state_dict().items():
            if "lora_" in name or ".original_module." in name:  # adapters; the frozen twin of a trained module
                continue
            if lora:
                name = name.removeprefix("base_model.model.").replace(".base_layer.", ".")
                name = name.replace(".modules_to_save.default.", ".")
            pairs.append((name, tensor.detach()))
        yield pairs
    finally:
        if lora:
            model.unmerge_adapter()


def make_engine(name: str, model: Any, encoder: Any, *, model_path: str, bf16: bool, seed: int,
                options: Any = None, max_images: int = 1):
    """``hf`` or ``vllm`` engine for the learner's model (``options``: the config's ``vllm`` section)."""
    if name == "hf":
        return HFEngine(model, encoder)
    if name == "vllm":
        return VLLMEngine(model_path, encoder, dtype="bfloat16" if bf16 else "float32", seed=seed, options=options,
                          max_images=max_images)
    raise ValueError(f"unknown engine {name!r}; known: hf, vllm")
