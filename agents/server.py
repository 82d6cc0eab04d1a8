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

What the server refuses, before any policy sees the request (each a fixed bound, one check):

- **Size**: a body over ``max_body_bytes`` (default 16 MiB) is a 413, judged by its
  ``Content-Length`` and, whatever that says or when it is absent (chunked), by the bytes
  actually received, before the JSON is parsed; at most that many bytes are ever held.
- **Pixels**: every image part must be a base64 data URL of a PNG or JPEG whose header declares
  at most ``max_image_pixels`` (default 4096 x 4096), and the images of one request together at
  most :data:`REQUEST_PIXELS_PER_IMAGE_LIMIT` times that; the header is read (PIL opens lazily)
  before anything is decoded, so a small file declaring a huge image costs nothing.
- **Shape**: every message's content is a string or a list of ``text`` / ``image_url`` parts,
  for system and assistant messages too, so a chat policy never meets a part it cannot convert.
- **Auth**: with a ``token`` (``--token`` or ``METASPATIAL_POLICY_TOKEN``) every request needs
  ``Authorization: Bearer <token>`` (a 401 otherwise). :func:`serve` warns on stderr when it
  binds a non-loopback host without one.

Every error is OpenAI-shaped, ``{"error": {"message", "type", "param": null, "code": null}}``,
with status 400 (a request the policy cannot answer, malformed JSON included), 401, 404/405,
413 or 500 (the policy or its upstream failed; type ``server_error``). Messages go through
:func:`metaspatial_env.redact.redact`, so an upstream error quoting a key never reaches the
client, and never carry a traceback. Streaming and ``n > 1`` are refused with 400.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import json
import os
import sys
import threading
import time
import uuid
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from metaspatial_env.deps import require
from metaspatial_env.env_server import is_loopback
from metaspatial_env.prompting import PromptParseError, decode_image_url, default_count_tokens, parse_task_prompt
from metaspatial_env.redact import redact, register_secret
from metaspatial_env.tasks import TaskError

#: Conversations remembered per server (least recently used are forgotten first).
MAX_SESSIONS = 256
#: Default bound on a request body, in bytes.
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
#: Default bound on the pixels one image may declare.
DEFAULT_MAX_IMAGE_PIXELS = 4096 * 4096
#: The images of one request together may declare this many times ``max_image_pixels``.
REQUEST_PIXELS_PER_IMAGE_LIMIT = 4
#: Image formats accepted: those whose size PIL reads from the header without decoding.
IMAGE_FORMATS = ("PNG", "JPEG")
#: The environment variable holding the bearer token (when ``--token`` is not given).
TOKEN_ENV = "METASPATIAL_POLICY_TOKEN"


class RequestError(ValueError):
    """A chat request the served policy cannot answer; becomes a 400 response."""


def _image_pixels(url: str, max_pixels: int) -> int:
    """The pixels the image data URL ``url`` declares, read from its header without decoding it.

    Raises :class:`RequestError` for anything but a base64 PNG / JPEG data URL of at most
    ``max_pixels`` pixels.
    """
    from PIL import Image

    header, _, payload = url.partition(",")
    if not (header.startswith("data:image/") and header.endswith(";base64")):
        raise RequestError("only base64 data URLs of images are accepted (data:image/...;base64,...)")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as error:
        raise RequestError(f"undecodable image data URL: {error}") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as image:  # reads the header only
                width, height = image.size
    except Image.DecompressionBombError as error:  # PIL's own bound, far above ours
        raise RequestError(f"image too large: {error}") from None
    except Exception as error:  # PIL.UnidentifiedImageError, a truncated header, ...
        raise RequestError(f"undecodable image data URL (PNG or JPEG expected): {error}") from None
    if width * height > max_pixels:
        raise RequestError(f"image too large: {width} x {height} pixels declared, at most {max_pixels} accepted")
    return width * height


def _check_messages(messages: Any, max_image_pixels: int) -> None:
    """Raise :class:`RequestError` unless every message is one the server and any policy can read:
    content a string or a list of text / image_url parts, images within the pixel bounds."""
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise RequestError("'messages' must be a non-empty list of message objects")
    budget = max_image_pixels * REQUEST_PIXELS_PER_IMAGE_LIMIT
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message.get("role"), str):
            raise RequestError(f"{where}: 'role' must be a string")
        content = message.get("content")
        if content is None or isinstance(content, str):
            continue
        if not isinstance(content, list):
            raise RequestError(f"{where}: message content must be a string or a list of parts")
        for part in content:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text":
                if not isinstance(part.get("text", ""), str):
                    raise RequestError(f"{where}: a text part's 'text' must be a string")
            elif kind == "image_url":
                url = part.get("image_url")
                url = url.get("url", "") if isinstance(url, dict) else url
                if not isinstance(url, str):
                    raise RequestError(f"{where}: an image_url part needs a 'url' string")
                budget -= _image_pixels(url, max_image_pixels)
                if budget < 0:
                    raise RequestError(f"images too large: the images of one request may declare at most "
                                       f"{max_image_pixels * REQUEST_PIXELS_PER_IMAGE_LIMIT} pixels together")
            else:
                shown = kind if isinstance(kind, str) else type(part).__name__
                raise RequestError(f"{where}: unsupported content part type {shown!r} (text and image_url are)")


def _text(message: dict[str, Any]) -> str:
    """A checked message's text, images left out (for the usage counts)."""
    content = message.get("content")
    if content is None or isinstance(content, str):
        return content or ""
    return "\n".join(str(part.get("text", "")) for part in content if part.get("type") == "text")


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
                 factory: Callable[[], Any] | None = None, max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS):
        from . import make_policy

        self.name = policy
        self.max_image_pixels = max_image_pixels
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
        _check_messages(messages, self.max_image_pixels)
        if request.get("stream"):
            raise RequestError("streaming is not supported by the policy server")
        if request.get("n") not in (None, 1):
            raise RequestError("only n = 1 is supported")
        if messages[-1].get("role") != "user":
            raise RequestError("the last message must be a user message (an observation to answer)")
        if self._chat_policy is not None:
            with self._lock:  # one generation at a time on a shared model
                answer = self._chat_policy.complete(messages)
        else:
            answer = self._act(messages, request.get("metaspatial") or {})
        if not isinstance(answer, str):
            raise TypeError(f"the policy answered a {type(answer).__name__}, not a string")
        return answer

    def _act(self, messages: list[dict[str, Any]], extra: dict[str, Any]) -> str:
        if not (isinstance(extra, dict) and isinstance(extra.get("task") or {}, dict)
                and isinstance(extra.get("info") or {}, dict)):
            raise RequestError("'metaspatial' must be an object with optional 'task' and 'info' objects")
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
            if not isinstance(task, dict):
                raise RequestError("'metaspatial.info.task' must be a scene-graph object")
            return task
        try:
            return parse_task_prompt(prompt).to_dict()
        except (PromptParseError, TaskError) as error:
            raise RequestError(
                f"this policy needs the room: send the env's task prompt as the first user message, or the "
                f"scene graph in the request's 'metaspatial.task' field ({error})") from None


def error_body(message: str, kind: str = "invalid_request_error") -> dict[str, Any]:
    """An OpenAI-shaped error, its message redacted (no key an upstream quoted reaches a client)."""
    return {"error": {"message": redact(str(message)), "type": kind, "param": None, "code": None}}


def _error_response(status: int, message: str, headers: dict[str, str] | None = None):
    from starlette.responses import JSONResponse

    kind = "server_error" if status >= 500 else "invalid_request_error"
    return JSONResponse(error_body(message, kind), status_code=status, headers=headers)


class _BearerAuth:
    """ASGI middleware: every HTTP request needs ``Authorization: Bearer <token>`` (else a 401,
    before the body is read)."""

    def __init__(self, app, token: str):
        self.app = app
        self._expected = token.encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            given = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
            scheme, _, credentials = given.partition(b" ")
            if not (scheme.lower() == b"bearer" and hmac.compare_digest(credentials.strip(), self._expected)):
                message = "invalid bearer token" if given else "missing bearer token (Authorization: Bearer <token>)"
                response = _error_response(401, message, {"WWW-Authenticate": "Bearer"})
                return await response(scope, receive, send)
        await self.app(scope, receive, send)


class _BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` is a 413, judged by ``Content-Length``
    first and then by the bytes received (chunked bodies, or a Content-Length that lies); the
    body, at most ``max_bytes``, is then handed on to the app.

    A refused body is read on and discarded, up to ``max_bytes`` more, before the 413 is sent, so
    a client still uploading (one that asked for ``Connection: close`` included) reads the 413
    rather than a broken pipe; nothing of it is kept.
    """

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, scope, receive, send, more_body: bool = True):
        discarded = 0
        while more_body and discarded <= self.max_bytes:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            discarded += len(message.get("body", b""))
            more_body = message.get("more_body", False)
        response = _error_response(413, f"request body too large: at most {self.max_bytes} bytes are accepted")
        await response(scope, receive, send)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for key, value in scope["headers"]:
            if key == b"content-length" and (not value.strip().isdigit() or int(value) > self.max_bytes):
                return await self._refuse(scope, receive, send)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return await self._refuse(scope, receive, send, message.get("more_body", False))
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body, delivered = b"".join(chunks), False

        async def replay():
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def create_app(policy: str, policy_kwargs: dict[str, Any] | None = None, factory: Callable[[], Any] | None = None,
               *, token: str | None = None, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
               max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS):
    """A FastAPI app serving ``policy`` (a name for :func:`agents.make_policy`) over the OpenAI chat API.

    ``token``: when given, every request needs ``Authorization: Bearer <token>``.
    ``max_body_bytes`` / ``max_image_pixels``: the size bounds (see the module docstring).
    """
    fastapi = require("fastapi", "serve", "the policy server")
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    for name, value in (("max_body_bytes", max_body_bytes), ("max_image_pixels", max_image_pixels)):
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, not {value!r}")
    service = PolicyService(policy, policy_kwargs, factory, max_image_pixels=max_image_pixels)
    app = fastapi.FastAPI(title=f"metaspatial policy server: {policy}", docs_url=None, redoc_url=None,
                          openapi_url=None)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request, failure: RequestValidationError):
        problems = failure.errors()
        detail = "; ".join(str(p.get("msg", "")) for p in problems[:3]) or "invalid request"
        return _error_response(400, f"the request body must be a JSON object: {detail}")

    @app.exception_handler(HTTPException)
    async def http_error(request, failure: HTTPException):
        return _error_response(failure.status_code, str(failure.detail), getattr(failure, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request, failure: Exception):  # the server's own bug: no traceback, keep serving
        return _error_response(500, f"internal error: {type(failure).__name__}")

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": policy, "object": "model", "created": 0, "owned_by": "metaspatial"}]}

    @app.post("/v1/chat/completions")
    def chat_completions(request: dict[str, Any]):
        try:
            content = service.answer(request)
        except RequestError as failure:
            return _error_response(400, str(failure))
        except Exception as failure:  # the policy (or its upstream) broke: say so, keep serving
            return _error_response(500, f"policy {policy!r} failed: {type(failure).__name__}: {failure}")
        prompt_tokens = sum(default_count_tokens(_text(m)) for m in request["messages"])
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

    app.add_middleware(_BodyLimit, max_bytes=max_body_bytes)
    if token:
        register_secret(token)
        app.add_middleware(_BearerAuth, token=token)  # added last: outermost, before the body is read
    return app


def exposure_warning(host: str, token: str | None) -> str | None:
    """The one-line warning for serving on a non-loopback ``host`` without a token, or None."""
    if token or is_loopback(host):
        return None
    return (f"warning: serving on {host}, reachable beyond this machine, without a token: anyone who can reach "
            f"the port can use the policy (set --token or {TOKEN_ENV})")


def serve(policy: str, host: str = "127.0.0.1", port: int = 8000, policy_kwargs: dict[str, Any] | None = None,
          *, token: str | None = None, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
          max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> None:
    """Serve ``policy`` until interrupted (``metaspatial serve-policy``); ``token`` defaults to
    ``$METASPATIAL_POLICY_TOKEN``."""
    uvicorn = require("uvicorn", "serve", "the policy server")
    token = token or os.environ.get(TOKEN_ENV) or None
    app = create_app(policy, policy_kwargs, token=token, max_body_bytes=max_body_bytes,
                     max_image_pixels=max_image_pixels)
    warning = exposure_warning(host, token)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_level="info")
