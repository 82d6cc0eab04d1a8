"""The OpenAI-compatible chat client the VLM judge and the ``openai:MODEL`` policy share.

The base URL and key come from the arguments or from ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``;
a local endpoint (a base URL given) without a key gets the placeholder ``EMPTY``, as vLLM's
server expects. The key is registered with :mod:`metaspatial_env.redact` and every error message
goes through :func:`~metaspatial_env.redact.redact`, so an endpoint that quotes the key back (a 401
"Incorrect API key provided: ...") does not put it in an error. Transient failures (connection
errors, timeouts, 429 and 5xx) are retried with exponential backoff; others (a bad request, a
wrong key, an unknown model) fail at once, and so does a reply that is not a chat completion (a
200 with a text/plain or HTML page, a body that is not JSON). Every failure is a
:class:`ChatError`.
"""

from __future__ import annotations

import os
import time
from typing import Any

from .deps import require
from .redact import redact, register_secret

__all__ = ["ChatError", "chat_with_retries", "make_client"]

#: How much of an unexpected reply an error quotes.
SNIPPET = 80


class ChatError(RuntimeError):
    """A chat endpoint failed or refused, so no answer came back."""


def make_client(base_url: str | None, api_key: str | None, timeout: float):
    """An ``openai.OpenAI`` client with retries left to the caller (``max_retries=0``)."""
    openai = require("openai", "openai", "the OpenAI-compatible chat client")
    base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
    api_key = api_key or os.environ.get("OPENAI_API_KEY") or ("EMPTY" if base_url else None)
    if api_key is None:
        raise ChatError("no API key: set OPENAI_API_KEY (or pass base_url for a local endpoint)")
    register_secret(api_key)
    return openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)


def _error(client, message: str) -> ChatError:
    return ChatError(redact(message, [getattr(client, "api_key", None) or ""]))


def _snippet(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = " ".join(text.split())
    return repr(text[:SNIPPET] + ("..." if len(text) > SNIPPET else ""))


def chat_with_retries(client, *, retries: int, backoff: float, **request: Any):
    """``client.chat.completions.create(**request)``, retrying transient failures with backoff
    (``backoff * 2**attempt`` seconds before retry ``attempt + 1``).

    Returns a response with a ``choices`` list (possibly empty). Raises :class:`ChatError` naming
    the endpoint and the last error (never the key).
    """
    openai = require("openai", "openai", "the OpenAI-compatible chat client")
    transient = (openai.APIConnectionError, openai.APITimeoutError, openai.RateLimitError,
                 openai.InternalServerError)
    for attempt in range(retries + 1):
        try:
            response = client.chat.completions.create(**request)
        except transient as error:
            if attempt == retries:
                raise _error(client, f"{client.base_url} failed {retries + 1} time(s); last: "
                                     f"{type(error).__name__}: {error}") from None
            time.sleep(backoff * 2**attempt)
            continue
        except openai.APIStatusError as error:
            raise _error(client, f"{client.base_url} refused the request ({error.status_code}): "
                                 f"{error.message}") from None
        except Exception as error:  # a 200 whose body is not JSON, or JSON the client cannot read
            raise _error(client, f"{client.base_url} sent a reply that is not a chat completion "
                                 f"({type(error).__name__}: {error})") from None
        # The client hands back a str (text/plain, HTML) or a list when the body is not a JSON object.
        choices = getattr(response, "choices", None)
        if isinstance(response, (str, bytes, list)) or not (choices is None or isinstance(choices, list)):
            raise _error(client, f"{client.base_url} sent a reply that is not a chat completion: "
                                 f"{type(response).__name__} {_snippet(response)}")
        if choices is None:
            raise _error(client, f"{client.base_url} sent a reply with no 'choices': {_snippet(response)}")
        return response
    raise AssertionError("unreachable")
