"""The policy server: any policy as an OpenAI-compatible ``/v1/chat/completions`` endpoint.

``metaspatial serve-policy NAME --port P`` (or :func:`create_app`) serves one policy. Any
OpenAI-compatible client drives it; the ``model`` field of a request is not checked (the
served policy answers), ``/v1/models`` lists it under its name.

How a request becomes what the policy needs:

- **Chat policies** (``openai:``, ``hf:``, ``vllm:``, anything with ``complete(messages)``)
  get the request's messages as they are: the chat is their whole state.
- **Observation policies** (``heuristic``, ``random``, anything with only ``act``) need the
  env's observations and infos. Each user message becomes an observation (its text, and its
  image decoded from the data URL); the first one's info carries the room's scene graph, read
  from the request's optional ``metaspatial.task`` field (the task dict) or else parsed back
  from the task prompt the env wrote (:func:`~metaspatial_env.prompting.parse_task_prompt`), so
  a plain client that forwards the env's observations works unchanged. The optional
  ``metaspatial.info`` field (the env's info for the latest turn: ``problems``, ``success``
  ...) is merged into the latest turn's info; without it a feedback-driven policy sees only the
  feedback text. The server remembers, per conversation (keyed by a hash of its messages up to
  the answer it gave), the policy instance that is playing it, so the next request of the same
  episode continues that policy's state. An unknown history is replayed: a fresh policy acts on
  each earlier user turn, and the answer to the latest one is returned.

Errors come back as OpenAI-style ``{"error": {"message", "type", "code"}}`` with status 400
(a request the policy cannot answer) or 500. Streaming and ``n > 1`` are refused with 400.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from metaspatial_env.deps import require
from metaspatial_env.prompting import PromptParseError, decode_image_url, default_count_tokens, parse_task_prompt
from metaspatial_env.tasks import TaskError

#: Conversations remembered per server (least recently used are forgotten first).
MAX_SESSIONS = 256


class RequestError(ValueError):
    """A chat request the served policy cannot answer; becomes a 400 response."""


def _text_and_image(message: dict[str, Any]) -> tuple[str, Any]:
    content = message.get("content")
    if content is None or isinstance(content, str):
        return content or "", None
    if not isinstance(content, list):
        raise RequestError("message content must be a string or a list of parts")
    texts, image = [], None
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            texts.append(str(part.get("text", "")))
        elif kind == "image_url":
            url = part.get("image_url")
            url = url.get("url", "") if isinstance(url, dict) else str(url or "")
            try:
                image = decode_image_url(url)
            except ValueError as error:
                raise RequestError(str(error)) from None
        else:
            raise RequestError(f"unsupported content part type {kind!r} (text and image_url are)")
    return "\n".join(texts), image


def _digest(messages: list[dict[str, Any]]) -> str:
    """A conversation's key: roles and contents, whether a content is a string or text parts."""
    canonical = []
    for message in messages:
        content = message.get("content") or ""
        parts = [["text", content]] if isinstance(content, str) else [
            [part.get("type"), part.get("text") or json.dumps(part.get("image_url"), sort_keys=True)]
            for part in content if isinstance(part, dict)]
        canonical.append([message.get("role"), parts])
    return hashlib.sha256(json.dumps(canonical).encode()).hexdigest()


class PolicyService:
    """Answers chat requests with one named policy (the transport-free core of the server)."""

    def __init__(self, policy: str, policy_kwargs: dict[str, Any] | None = None,
                 factory: Callable[[], Any] | None = None):
        from . import make_policy

        self.name = policy
        self._new_policy = factory or (lambda: make_policy(policy, **(policy_kwargs or {})))
        self._chat_policy = None
        first = self._new_policy()
        if callable(getattr(first, "complete", None)):
            self._chat_policy = first
        self._sessions: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def answer(self, request: dict[str, Any]) -> str:
        """The policy's reply to a chat completion request body (raises :class:`RequestError`)."""
        messages = request.get("messages")
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            raise RequestError("'messages' must be a non-empty list of message objects")
        if request.get("stream"):
            raise RequestError("streaming is not supported by the policy server")
        if request.get("n") not in (None, 1):
            raise RequestError("only n = 1 is supported")
        if messages[-1].get("role") != "user":
            raise RequestError("the last message must be a user message (an observation to answer)")
        if self._chat_policy is not None:
            with self._lock:  # one generation at a time on a shared model
                return self._chat_policy.complete(messages)
        return self._act(messages, request.get("metaspatial") or {})

    def _act(self, messages: list[dict[str, Any]], extra: dict[str, Any]) -> str:
        if not isinstance(extra, dict):
            raise RequestError("'metaspatial' must be an object with optional 'task' and 'info'")
        users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
        with self._lock:
            policy = self._sessions.pop(_digest(messages[: users[-1]]), None)
        replay = users if policy is None else users[-1:]
        if policy is None:
            policy = self._new_policy()
            policy.reset()
        answer = ""
        for index in replay:
            text, image = _text_and_image(messages[index])
            observation = {"text": text, **({"image": image} if image is not None else {})}
            info: dict[str, Any] = {}
            if index == users[0]:
                info["task"] = self._task(text, extra)
            if index == users[-1]:
                info.update(extra.get("info") or {})
            try:
                answer = policy.act(observation, info)
            except (KeyError, ValueError, RuntimeError) as error:
                raise RequestError(f"policy {self.name!r} cannot answer: {error}") from None
        with self._lock:
            self._sessions[_digest([*messages, {"role": "assistant", "content": answer}])] = policy
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)
        return answer

    @staticmethod
    def _task(prompt: str, extra: dict[str, Any]) -> dict[str, Any]:
        task = extra.get("task") or (extra.get("info") or {}).get("task")
        if task is not None:
            return task
        try:
            return parse_task_prompt(prompt).to_dict()
        except (PromptParseError, TaskError) as error:
            raise RequestError(
                f"this policy needs the room: send the env's task prompt as the first user message, or the "
                f"scene graph in the request's 'metaspatial.task' field ({error})") from None


def create_app(policy: str, policy_kwargs: dict[str, Any] | None = None, factory: Callable[[], Any] | None = None):
    """A FastAPI app serving ``policy`` (a name for :func:`agents.make_policy`) over the OpenAI chat API."""
    fastapi = require("fastapi", "serve", "the policy server")
    from fastapi.responses import JSONResponse

    service = PolicyService(policy, policy_kwargs, factory)
    app = fastapi.FastAPI(title=f"metaspatial policy server: {policy}")

    def error(status: int, message: str, kind: str) -> JSONResponse:
        return JSONResponse({"error": {"message": message, "type": kind, "code": status}}, status_code=status)

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": policy, "object": "model", "created": 0, "owned_by": "metaspatial"}]}

    @app.post("/v1/chat/completions")
    def chat_completions(request: dict[str, Any]):
        try:
            content = service.answer(request)
        except RequestError as failure:
            return error(400, str(failure), "invalid_request_error")
        except Exception as failure:  # the policy broke: say so, keep serving
            return error(500, f"policy {policy!r} failed: {type(failure).__name__}: {failure}", "server_error")
        prompt_tokens = sum(default_count_tokens(_text_and_image(m)[0]) for m in request["messages"])
        completion_tokens = default_count_tokens(content)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(request.get("model") or policy),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }

    return app


def serve(policy: str, host: str = "127.0.0.1", port: int = 8000, policy_kwargs: dict[str, Any] | None = None) -> None:
    """Serve ``policy`` until interrupted (``metaspatial serve-policy``)."""
    uvicorn = require("uvicorn", "serve", "the policy server")
    uvicorn.run(create_app(policy, policy_kwargs), host=host, port=port, log_level="info")
