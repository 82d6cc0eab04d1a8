"""Generation engines: sample answers for a batch of prompts, returning token ids and log-probabilities.

Both engines take prompts as token ids (the trainer builds them with the tokenizer's chat template)
and return, per prompt, the sampled response ids (ending with the end-of-turn token when the model
stopped), the log-probability of each sampled token under the distribution it was drawn from
(temperature and top-p applied) and the decoded text.

- :class:`HFEngine`: ``transformers`` ``generate`` on the learner's own module (CPU or GPU), so
  the weights it samples with are always the learner's; :meth:`sync_weights` has nothing to do.
- :class:`VLLMEngine`: vLLM in-process (NVIDIA GPU); after each optimizer step the learner pushes
  its weights with :meth:`sync_weights` (LoRA adapters merged first).
"""

from __future__ import annotations

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

    response_ids: list[int]
    """Sampled tokens, including the end-of-turn token when the model emitted it."""
    logprobs: list[float]
    """Log-probability of each sampled token under the sampling distribution."""
    text: str
    """The response decoded without special tokens."""
    finished: bool
    """True when the model stopped by itself (not cut at ``max_new_tokens``)."""


class HFEngine:
    """Batched ``transformers`` generation with the learner's module (left-padded prompts)."""

    def __init__(self, model: Any, tokenizer: Any, stop_token_ids: list[int] | None = None):
        self.model = model
        self.tokenizer = tokenizer
        stops = stop_token_ids if stop_token_ids is not None else [tokenizer.eos_token_id]
        self.stop_token_ids = [int(t) for t in stops if t is not None]
        if not self.stop_token_ids:
            raise ValueError("the tokenizer has no eos token; pass stop_token_ids")
        self.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.stop_token_ids[0]

    def sync_weights(self, model: Any) -> None:
        """Nothing to push: this engine samples with the learner's own module."""
        self.model = model

    def generate(self, prompts: list[list[int]], sampling: SamplingConfig) -> list[Generation]:
        torch = require("torch", "hf", "the transformers engine")
        from transformers import GenerationConfig

        if not prompts:
            return []
        device = next(self.model.parameters()).device
        width = max(len(p) for p in prompts)
        input_ids = torch.full((len(prompts), width), self.pad_token_id, dtype=torch.long)
        attention = torch.zeros((len(prompts), width), dtype=torch.long)
        for i, prompt in enumerate(prompts):
            input_ids[i, width - len(prompt):] = torch.tensor(prompt, dtype=torch.long)
            attention[i, width - len(prompt):] = 1
        config = GenerationConfig(
            max_new_tokens=sampling.max_new_tokens,
            do_sample=not sampling.greedy,
            temperature=None if sampling.greedy else sampling.temperature,
            top_p=None if sampling.greedy or sampling.top_p >= 1.0 else sampling.top_p,
            top_k=0,  # off: the recorded logprobs are of the tempered (top-p) law only
            eos_token_id=self.stop_token_ids,
            pad_token_id=self.pad_token_id,
            return_dict_in_generate=True,
            output_scores=True,
        )
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                out = self.model.generate(input_ids=input_ids.to(device), attention_mask=attention.to(device),
                                          generation_config=config)
        finally:
            self.model.train(was_training)
        new_tokens = out.sequences[:, width:].cpu()
        # ``scores`` are the processed logits the sampler drew from (temperature, top-p applied).
        scores = torch.stack(out.scores, dim=1).float().log_softmax(-1).cpu()
        token_logprobs = scores.gather(-1, new_tokens.unsqueeze(-1)).squeeze(-1)
        results = []
        stops = set(self.stop_token_ids)
        for i in range(len(prompts)):
            ids = new_tokens[i].tolist()
            end = next((k + 1 for k, t in enumerate(ids) if t in stops), None)
            finished = end is not None
            ids = ids[:end] if finished else ids
            text = self.tokenizer.decode(ids, skip_special_tokens=True)
            results.append(Generation(ids, token_logprobs[i, : len(ids)].tolist(), text, finished))
        return results


class VLLMEngine:
    """vLLM in the trainer's process (GPU only); weights are pushed from the learner after each step.

    The code path follows vLLM's offline ``LLM`` API (token-id prompts, ``logprobs=0`` returns the
    sampled token's log-probability). It has not been run on this project's CPU machines.
    """

    def __init__(self, model_path: str, tokenizer: Any, *, dtype: str = "bfloat16", seed: int = 0,
                 gpu_memory_utilization: float = 0.4, max_model_len: int | None = None):
        vllm = require("vllm", "vllm", "the vLLM engine (GPU machines only)")
        self.tokenizer = tokenizer
        self.llm = vllm.LLM(model=model_path, dtype=dtype, seed=seed, gpu_memory_utilization=gpu_memory_utilization,
                       max_model_len=max_model_len, enable_prefix_caching=True)

    def sync_weights(self, model: Any) -> None:
        """Load the learner's current weights into vLLM's model (LoRA merged into a copy first)."""
        state = _merged_state_dict(model)

        def load(worker):  # runs inside each vLLM worker
            worker.model_runner.model.load_weights(weights=list(state.items()))

        self.llm.collective_rpc(load)

    def generate(self, prompts: list[list[int]], sampling: SamplingConfig) -> list[Generation]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        params = SamplingParams(
            max_tokens=sampling.max_new_tokens,
            temperature=0.0 if sampling.greedy else sampling.temperature,
            top_p=1.0 if sampling.greedy else sampling.top_p,
            logprobs=0,
        )
        outputs = self.llm.generate([TokensPrompt(prompt_token_ids=p) for p in prompts], params, use_tqdm=False)
        results = []
        for out in outputs:
            completion = out.outputs[0]
            ids = list(completion.token_ids)
            logprobs = [step[token].logprob for step, token in zip(completion.logprobs, ids)]
            results.append(Generation(ids, logprobs, completion.text, completion.finish_reason == "stop"))
        return results


def _merged_state_dict(model: Any) -> dict[str, Any]:
    """The model's weights with any LoRA adapters merged, under the base model's parameter names."""
    if hasattr(model, "merge_and_unload"):
        import copy

        model = copy.deepcopy(model).merge_and_unload()
    return {name: tensor.detach() for name, tensor in model.state_dict().items()}


def make_engine(name: str, model: Any, tokenizer: Any, *, model_path: str, bf16: bool, seed: int):
    """``hf`` or ``vllm`` engine for the learner's model."""
    if name == "hf":
        return HFEngine(model, tokenizer)
    if name == "vllm":
        return VLLMEngine(model_path, tokenizer, dtype="bfloat16" if bf16 else "float32", seed=seed)
    raise ValueError(f"unknown engine {name!r}; known: hf, vllm")
