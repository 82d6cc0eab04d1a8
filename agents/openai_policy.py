"""``openai:MODEL``: a policy behind any OpenAI-compatible chat endpoint (OpenAI, a vLLM server,
the project's own policy server).

The client is the env's (:mod:`metaspatial_env.chat_client`, which the VLM judge uses too): the
base URL and key come from the arguments or from ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``; a
local endpoint (a base URL given) without a key gets the placeholder ``EMPTY``, as vLLM's server
expects. The key is never logged nor put in an error. Renders go as PNG data URLs. Transient
failures (connection errors, timeouts, 429 and 5xx) are retried with exponential backoff; others
(a bad request, a wrong key, an unknown model) fail at once with
:class:`~metaspatial_env.chat_client.ChatError`.
"""

from __future__ import annotations

from typing import Any

from metaspatial_env.chat_client import ChatError, chat_with_retries, make_client
from metaspatial_env.prompting import Conversation


class OpenAIPolicy:
    """Chats with an OpenAI-compatible model, one conversation per episode.

    ``send_env_info=True`` adds the env's info to each request as the extra ``metaspatial``
    field (``{"info": ...}``), which the project's policy server hands to observation policies
    such as the heuristic; keep it off for other endpoints.
    """

    def __init__(self, model: str = "", *, base_url: str | None = None, api_key: str | None = None,
                 temperature: float = 0.0, max_tokens: int = 2048, timeout: float = 120.0, retries: int = 3,
                 backoff: float = 1.0, max_prompt_tokens: int | None = None, images: bool = True,
                 send_env_info: bool = False, image_encoding: str = "jpeg"):
        if not model:
            raise ValueError("openai policy needs a model name: openai:MODEL")
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.retries = retries
        self.backoff = backoff
        self.send_env_info = send_env_info
        self.client = make_client(base_url, api_key, timeout)
        self.conversation = Conversation(max_prompt_tokens, images=images, image_encoding=image_encoding)

    def reset(self) -> None:
        self.conversation.reset()

    def act(self, observation: dict[str, Any], info: dict[str, Any]) -> str:
        """Send the episode's chat so far with this observation; record and return the reply."""
        self.conversation.observe(observation, info)
        extra = {"metaspatial": {"info": info}} if self.send_env_info else None
        answer = self._chat(self.conversation.messages("openai"), extra)
        self.conversation.answer(answer)
        return answer

    def complete(self, messages: list[dict[str, Any]]) -> str:
        """The model's reply to explicit OpenAI chat messages (the policy server's entry point)."""
        return self._chat(messages, None)

    def _chat(self, messages: list[dict[str, Any]], extra_body: dict[str, Any] | None) -> str:
        response = chat_with_retries(self.client, retries=self.retries, backoff=self.backoff, model=self.model,
                                     messages=messages, temperature=self.temperature, max_tokens=self.max_tokens,
                                     extra_body=extra_body)
        if not response.choices:
            raise ChatError(f"{self.client.base_url} returned no choices for model {self.model!r}")
        return response.choices[0].message.content or ""
