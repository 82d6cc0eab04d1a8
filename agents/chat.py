"""The episode bookkeeping shared by batched chat-model policies (``hf:``, ``vllm:``).

Slot ``i`` of a batch is episode ``i`` with its own :class:`~metaspatial_env.prompting.Conversation`,
so a vector env's observations map onto the slots directly; ``act`` is slot 0. Subclasses say how
to count tokens, which message format their ``generate`` takes, and generate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from metaspatial_env.prompting import SYSTEM_PROMPT, Conversation, image_token_estimate


class BatchedChatPolicy:
    """Keeps one conversation per batch slot and answers every slot with one ``generate`` call."""

    #: The ``Conversation.messages`` format ``generate`` takes: ``"openai"`` or ``"hf"``.
    message_format = "openai"

    def __init__(self, max_prompt_tokens: int | None, images: bool, system_prompt: str | None = None):
        self.max_prompt_tokens = max_prompt_tokens
        self.images = images
        # None: the shared prompt; "" drops the system message (models trained without one).
        self.system_prompt = SYSTEM_PROMPT if system_prompt is None else system_prompt
        self._conversations: list[Conversation] = []

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` in the model's tokenizer (the conversation's budget is in these)."""
        raise NotImplementedError

    def image_tokens(self, image: Any) -> int:
        """Tokens one render costs the model (default: one per 28 x 28 pixels, Qwen2.5-VL's rule)."""
        return image_token_estimate(image)

    def generate(self, batch: list[list[dict[str, Any]]]) -> list[str]:
        """One completion per chat of the batch."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget every episode of the batch."""
        self._conversations = []

    def act(self, observation: dict[str, Any], info: dict[str, Any]) -> str:
        return self.act_batch([observation], [info])[0]

    def act_batch(self, observations: Sequence[dict[str, Any]], infos: Sequence[dict[str, Any]]) -> list[str]:
        """Answer episode ``i`` of the batch for each ``observations[i]`` in one ``generate`` call."""
        if len(observations) != len(infos):
            raise ValueError(f"{len(observations)} observations but {len(infos)} infos")
        while len(self._conversations) < len(observations):
            self._conversations.append(Conversation(self.max_prompt_tokens, self.count_tokens, images=self.images,
                                                    system_prompt=self.system_prompt, image_tokens=self.image_tokens))
        active = self._conversations[: len(observations)]
        for conversation, observation, info in zip(active, observations, infos):
            conversation.observe(observation, info)
        answers = self.generate([c.messages(self.message_format) for c in active])
        for conversation, answer in zip(active, answers):
            conversation.answer(answer)
        return answers
