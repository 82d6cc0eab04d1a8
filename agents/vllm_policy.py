"""``vllm:PATH``: an in-process vLLM engine as a policy, for GPU machines.

The engine (``vllm.LLM``) loads the checkpoint once; prompts are the same OpenAI-format chats the
other policies send (:class:`~metaspatial_env.prompting.Conversation`, renders as PNG data URLs),
handed to ``LLM.chat``, which applies the model's chat template and image processor.
:meth:`VLLMPolicy.act_batch` answers many episodes in one engine call (vLLM batches them
continuously). vLLM cannot run a VLM without a GPU; on CPU machines use the policy server path
(``vllm serve`` plus ``openai:MODEL``) instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from metaspatial_env.prompting import Conversation


def _vllm():
    try:
        import vllm
    except ImportError as error:
        raise ImportError("the vllm policy needs vLLM on a GPU machine: pip install 'metaspatial-env[vllm]' "
                          "(or run `vllm serve` and use openai:MODEL with base_url)") from error
    return vllm


class VLLMPolicy:
    """Answers layouts with ``vllm.LLM``, batched over episodes (slot ``i`` is episode ``i``)."""

    def __init__(self, path: str = "", *, max_new_tokens: int = 1024, temperature: float = 0.0, top_p: float = 1.0,
                 max_prompt_tokens: int | None = 8192, images: bool = True, max_images: int = 4,
                 seed: int | None = None, engine_kwargs: dict[str, Any] | None = None):
        if not path:
            raise ValueError("vllm policy needs a checkpoint: vllm:PATH")
        vllm = _vllm()
        self.path = path
        self.images = images
        self.max_prompt_tokens = max_prompt_tokens
        self.llm = vllm.LLM(model=path, seed=seed or 0, limit_mm_per_prompt={"image": max_images if images else 0},
                            **(engine_kwargs or {}))
        self.sampling = vllm.SamplingParams(temperature=temperature, top_p=top_p, max_tokens=max_new_tokens,
                                            seed=seed)
        tokenizer = self.llm.get_tokenizer()
        self._count_tokens = lambda text: len(tokenizer.encode(text, add_special_tokens=False))
        self._conversations: list[Conversation] = []

    def reset(self) -> None:
        """Forget every episode of the batch."""
        self._conversations = []

    def act(self, observation: dict[str, Any], info: dict[str, Any]) -> str:
        return self.act_batch([observation], [info])[0]

    def act_batch(self, observations: Sequence[dict[str, Any]], infos: Sequence[dict[str, Any]]) -> list[str]:
        """Answer episode ``i`` of the batch for each ``observations[i]`` in one engine call."""
        if len(observations) != len(infos):
            raise ValueError(f"{len(observations)} observations but {len(infos)} infos")
        while len(self._conversations) < len(observations):
            self._conversations.append(Conversation(self.max_prompt_tokens, self._count_tokens, images=self.images))
        conversations = self._conversations[: len(observations)]
        for conversation, observation, info in zip(conversations, observations, infos):
            conversation.observe(observation, info)
        answers = self.generate([c.messages("openai") for c in conversations])
        for conversation, answer in zip(conversations, answers):
            conversation.answer(answer)
        return answers

    def complete(self, messages: list[dict[str, Any]]) -> str:
        """The reply to explicit OpenAI chat messages (the policy server's entry point)."""
        return self.generate([messages])[0]

    def generate(self, batch: list[list[dict[str, Any]]]) -> list[str]:
        """Completions of OpenAI-format chats in one ``LLM.chat`` call."""
        outputs = self.llm.chat(batch, self.sampling, use_tqdm=False)
        return [output.outputs[0].text if output.outputs else "" for output in outputs]
