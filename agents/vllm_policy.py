"""``vllm:PATH``: an in-process vLLM engine as a policy, for GPU machines.

The engine (``vllm.LLM``) loads the checkpoint once; prompts are the same OpenAI-format chats the
other policies send (:class:`~metaspatial_env.prompting.Conversation`, renders as PNG data URLs),
handed to ``LLM.chat``, which applies the model's chat template and image processor.
:meth:`VLLMPolicy.act_batch` answers many episodes in one engine call (vLLM batches them
continuously). vLLM cannot run a VLM without a GPU; on CPU machines use the policy server path
(``vllm serve`` plus ``openai:MODEL``) instead.
"""

from __future__ import annotations

from typing import Any

from metaspatial_env.deps import require

from .chat import BatchedChatPolicy


class VLLMPolicy(BatchedChatPolicy):
    """Answers layouts with ``vllm.LLM``, batched over episodes (slot ``i`` is episode ``i``)."""

    def __init__(self, path: str = "", *, max_new_tokens: int = 1024, temperature: float = 0.0, top_p: float = 1.0,
                 max_prompt_tokens: int | None = 8192, images: bool = True, max_images: int = 4,
                 seed: int | None = None, engine_kwargs: dict[str, Any] | None = None,
                 system_prompt: str | None = None):
        if not path:
            raise ValueError("vllm policy needs a checkpoint: vllm:PATH")
        vllm = require("vllm", "vllm", "the vllm policy (GPU machines only; elsewhere run `vllm serve` "
                                       "and use openai:MODEL with base_url)")
        self.path = path
        super().__init__(max_prompt_tokens, images, system_prompt)
        self.llm = vllm.LLM(model=path, seed=seed or 0, limit_mm_per_prompt={"image": max_images if images else 0},
                            **(engine_kwargs or {}))
        self.sampling = vllm.SamplingParams(temperature=temperature, top_p=top_p, max_tokens=max_new_tokens,
                                            seed=seed)
        self.tokenizer = self.llm.get_tokenizer()

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def complete(self, messages: list[dict[str, Any]]) -> str:
        """The reply to explicit OpenAI chat messages (the policy server's entry point)."""
        return self.generate([messages])[0]

    def generate(self, batch: list[list[dict[str, Any]]]) -> list[str]:
        """Completions of OpenAI-format chats in one ``LLM.chat`` call."""
        outputs = self.llm.chat(batch, self.sampling, use_tqdm=False)
        return [output.outputs[0].text if output.outputs else "" for output in outputs]
