"""The OpenAI-compatible chat client the VLM judge and the ``openai:MODEL`` policy share.

The base URL and key come from the arguments or from ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``;
a local endpoint (a base URL given) without a key gets the placeholder ``EMPTY``, as vLLM's
server expects. The key is never logged nor put in an error. Transient failures (connection
errors, timeouts, 429 and 5xx) are retried with exponential backoff; others (a bad request, a
wrong key, an unknown model) fail at once. Every failure is a :class:`ChatError`.
"""

from __future__ import annotations

import os
import time
from typing import Any

from .deps import require

__all__ = ["ChatError", "chat_with_retries", "make_client"]


class ChatError(RuntimeError):
    """A chat endpoint failed or refused, so no answer came back."""


def make_client(base_url: str | None, api_key: str | None, timeout: float):
    """An ``openai.OpenAI`` client with retries left to the caller (``max_retries=0``)."""
    openai = require("openai", "openai", "the OpenAI-compatible chat client")
    base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
    api_key = api_key or os.environ.get("OPENAI_API_KEY") or ("EMPTY" if base_url else None)
    if api_key is None:
        raise ChatError("no API key: set OPENAI_API_KEY (or pass base_url for a local endpoint)")
    return openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)


def chat_with_retries(client, *, retries: int, backoff: float, **request: Any):
    """``client.chat.completions.create(**request)``, retrying transient failures with backoff
    (``backoff * 2**attempt`` seconds before retry ``attempt + 1``).

    Raises :class:`ChatError` naming the endpoint and the last error (never the key).
    """
    openai = require("openai", "openai", "the OpenAI-compatible chat client")
    transient = (openai.APIConnectionError, openai.APITimeoutError, openai.RateLimitError,
                 openai.InternalServerError)
    for attempt in range(retries + 1):
        try:
            return client.chat.completions.create(**request)
        except transient as error:
            if attempt == retries:
                raise ChatError(f"{client.base_url} failed {retries + 1} time(s); last: "
                                f"{type(error).__name__}: {error}") from None
            time.sleep(backoff * 2**attempt)
        except openai.APIStatusError as error:
            raise ChatError(f"{client.base_url} refused the request ({error.status_code}): {error.message}") from None
