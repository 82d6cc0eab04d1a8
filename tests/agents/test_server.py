"""The policy server over real HTTP, reached through the real ``openai`` client."""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import secrets
import struct
import threading
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass

import gymnasium as gym
import openai
import pytest
from PIL import Image, ImageFile

import metaspatial_env  # noqa: F401  (registers the ids)
from agents import cli as agents_cli
from agents import register_policy
from agents.openai_policy import OpenAIPolicy
from agents.runner import run_episode
from agents.server import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_IMAGE_PIXELS,
    TOKEN_ENV,
    create_app,
    exposure_warning,
    serve,
)
from metaspatial_env.chat_client import ChatError
from metaspatial_env.prompting import task_prompt
from metaspatial_env.redact import redact
from metaspatial_env.tasks.splits import load_split

from ..serving import running_server


@pytest.fixture(scope="module")
def heuristic_url():
    with running_server(create_app("heuristic")) as url:
        yield url


@pytest.fixture(scope="module")
def env():
    env = gym.make("MetaSpatial-Fast-v0", split="test", max_turns=3, image_size=(128, 256))
    yield env
    env.close()


@pytest.mark.parametrize("send_env_info", [False, True])
def test_openai_policy_plays_a_full_episode_over_http(env, heuristic_url, send_env_info):
    policy = OpenAIPolicy("heuristic", base_url=heuristic_url, api_key="test-key", send_env_info=send_env_info)
    task_id = load_split("test")[3].id
    record = run_episode(env, policy, task_id=task_id, seed=0)
    assert record.success and record.turns[0].parse_errors == []
    # The conversation holds the prompt, the render as a data URL and the answer.
    messages = policy.conversation.messages()
    assert messages[1]["content"][0]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert messages[2] == {"role": "assistant", "content": record.turns[0].action}


def test_heuristic_over_http_continues_its_episode_after_feedback(env, heuristic_url):
    """A later turn of the same conversation reaches the same policy instance (no task resent)."""
    policy = OpenAIPolicy("heuristic", base_url=heuristic_url, api_key="k")
    env = gym.make("MetaSpatial-Fast-v0", split="test", max_turns=2, terminate_on_success=False,
                   image_size=(64, 128))
    record = run_episode(env, policy, task_id=load_split("test")[0].id, seed=0)
    env.close()
    assert [t.success for t in record.turns] == [True, True]
    assert record.turns[1].action == record.turns[0].action  # nothing to repair: the layout stays


def test_server_lists_the_policy_and_answers_the_raw_client(heuristic_url):
    client = openai.OpenAI(base_url=heuristic_url, api_key="k", max_retries=0)
    assert [m.id for m in client.models.list().data] == ["heuristic"]
    task = load_split("test")[1]
    response = client.chat.completions.create(
        model="anything", messages=[{"role": "user", "content": task_prompt(task)}])
    assert "<answer>" in response.choices[0].message.content
    assert response.usage.total_tokens > 0


def test_scene_graph_in_the_extra_field_drives_the_heuristic(heuristic_url):
    client = openai.OpenAI(base_url=heuristic_url, api_key="k", max_retries=0)
    task = load_split("test")[2]
    response = client.chat.completions.create(
        model="heuristic", messages=[{"role": "user", "content": "Lay out the room I sent."}],
        extra_body={"metaspatial": {"task": task.to_dict()}})
    for oid in task.object_ids:
        assert f'"{oid}"' in response.choices[0].message.content


@pytest.mark.parametrize("messages, extra, message", [
    ([{"role": "user", "content": "hello"}], {}, "needs the room"),
    ([{"role": "assistant", "content": "hi"}], {}, "last message must be a user message"),
    ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}], {},
     "data URLs"),
    ([{"role": "user", "content": [{"type": "audio"}]}], {}, "unsupported content part"),
    ([{"role": "user", "content": "x"}], {"stream": True}, "streaming"),
])
def test_bad_requests_get_clear_400_errors(heuristic_url, messages, extra, message):
    client = openai.OpenAI(base_url=heuristic_url, api_key="k", max_retries=0)
    with pytest.raises(openai.BadRequestError, match=message):
        client.chat.completions.create(model="heuristic", messages=messages, **extra)


class _Broken:
    def reset(self):
        pass

    def act(self, observation, info):
        raise ZeroDivisionError("boom")


def test_a_failing_policy_is_a_500_and_the_client_policy_says_so():
    register_policy("test_broken", _Broken)
    with running_server(create_app("test_broken")) as url:
        policy = OpenAIPolicy("x", base_url=url, api_key="secret-key-123", retries=1, backoff=0.01)
        task = load_split("test")[0]
        with pytest.raises(ChatError) as failure:
            policy.act({"text": task_prompt(task)}, {})
    assert "ZeroDivisionError: boom" in str(failure.value) and "secret-key-123" not in str(failure.value)


def test_unreachable_endpoint_is_retried_then_a_clear_error():
    policy = OpenAIPolicy("m", base_url="http://127.0.0.1:9/v1", api_key="secret-key-123", retries=2,
                          backoff=0.01, timeout=2)
    with pytest.raises(ChatError, match=r"failed 3 time\(s\).*APIConnectionError") as failure:
        policy.act({"text": "hello"}, {})
    assert "secret-key-123" not in str(failure.value)


def test_missing_key_for_the_default_endpoint_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ChatError, match="OPENAI_API_KEY"):
        OpenAIPolicy("gpt-4o")


# --- Hardening: size, pixel, auth and shape limits; every error OpenAI-shaped and redacted ---------------------

#: Shaped like an OpenAI key, made per run (no key-shaped literal is tracked).
SECRET = "sk-" + secrets.token_hex(12)


def _png(width: int, height: int) -> bytes:
    """A valid all-black 1-bit greyscale PNG declaring ``width`` x ``height``: tiny on the wire,
    ``3 * width * height`` bytes once decoded to RGB."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row, deflate = b"\0" * (1 + (width + 7) // 8), zlib.compressobj(9)
    idat = b"".join(deflate.compress(row) for _ in range(height)) + deflate.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def _data_url(data: bytes, mime: str = "png") -> str:
    return f"data:image/{mime};base64," + base64.b64encode(data).decode()


def _image_message(prompt: str, *urls: str) -> list[dict]:
    parts = [{"type": "text", "text": prompt}] + [{"type": "image_url", "image_url": {"url": u}} for u in urls]
    return [{"role": "user", "content": parts}]


@dataclass
class _Reply:
    status: int
    headers: dict
    text: str
    request: urllib.request.Request

    def json(self):
        return json.loads(self.text)


def _call(url: str, data=None, headers: dict | None = None, method: str | None = None) -> _Reply:
    """One real HTTP request with the standard library (any status, no exception)."""
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return _Reply(response.status, dict(response.headers.items()), response.read().decode(), request)
    except urllib.error.HTTPError as failure:
        with failure:
            return _Reply(failure.code, dict(failure.headers.items()), failure.read().decode(), request)


def _post(url: str, body, headers: dict | None = None) -> _Reply:
    data = body if isinstance(body, bytes) or hasattr(body, "__next__") else json.dumps(body).encode()
    return _call(f"{url}/chat/completions", data, {"Content-Type": "application/json", **(headers or {})}, "POST")


def _get(url: str, headers: dict | None = None) -> _Reply:
    return _call(url, headers=headers)


def _assert_openai_error(response: _Reply, status: int, fragment: str) -> str:
    assert response.status == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["type"] == ("server_error" if status >= 500 else "invalid_request_error")
    assert body["error"]["param"] is None and body["error"]["code"] is None
    assert fragment in body["error"]["message"], body["error"]["message"]
    assert "Traceback" not in response.text
    return body["error"]["message"]


class _PeakRss:
    """The most this process's resident memory rose above its start while in the block (sampled
    every few ms from /proc: the test server runs in this process)."""

    PAGE = os.sysconf("SC_PAGE_SIZE")

    def _rss(self) -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * self.PAGE

    def _sample(self):
        while not self._done.wait(0.002):
            self.peak = max(self.peak, self._rss())

    def __enter__(self):
        self.start = self.peak = self._rss()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())
        self.grown = self.peak - self.start


def test_the_png_helper_is_a_real_decodable_image():
    with Image.open(io.BytesIO(_png(20, 9))) as image:
        image.load()
        assert image.size == (20, 9) and image.getextrema() == (0, 0)


def test_oversized_bodies_are_413_before_parsing_and_the_server_keeps_answering():
    prompt = task_prompt(load_split("test")[0])
    limit = 64 * 1024
    with running_server(create_app("heuristic", max_body_bytes=limit)) as url:
        big = {"model": "m", "messages": [{"role": "user", "content": prompt + " " * limit}]}
        _assert_openai_error(_post(url, big), 413, f"at most {limit} bytes")
        # No Content-Length (chunked): the bytes received are counted; not JSON either, so a
        # 413 rather than a 400 shows the limit is checked before the body is parsed.
        junk = (b"{" + b"x" * 4096 for _ in range(32))
        streamed = _post(url, junk)
        sent = {k.lower(): v for k, v in streamed.request.header_items()}
        assert "content-length" not in sent and sent["transfer-encoding"] == "chunked"
        _assert_openai_error(streamed, 413, "too large")
        ok = _post(url, {"model": "m", "messages": [{"role": "user", "content": prompt}]})
        assert ok.status == 200 and "<answer>" in ok.json()["choices"][0]["message"]["content"]


def test_the_default_body_limit_is_16_mib(heuristic_url):
    assert DEFAULT_MAX_BODY_BYTES == agents_cli.SERVE_MAX_BODY_BYTES == 16 * 2**20
    assert DEFAULT_MAX_IMAGE_PIXELS == agents_cli.SERVE_MAX_IMAGE_PIXELS == 4096 * 4096
    _assert_openai_error(_post(heuristic_url, b"x" * (DEFAULT_MAX_BODY_BYTES + 1)), 413, "too large")
    client = openai.OpenAI(base_url=heuristic_url, api_key="k", max_retries=0)
    assert [m.id for m in client.models.list().data] == ["heuristic"]


@pytest.mark.parametrize("width, height, message", [
    (8192, 8192, "8192 x 8192 pixels declared"),  # under PIL's own bomb bound: decoded (~0.5 GB) before
    (20000, 20000, "image too large"),            # over it: PIL's DecompressionBombError, still a 400
])
def test_a_pixel_bomb_is_a_400_read_from_its_header_never_decoded(heuristic_url, monkeypatch, width, height,
                                                                   message):
    bomb = _png(width, height)
    assert len(bomb) < 200_000
    loads = []
    original_load = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: loads.append(self.size) or original_load(self))
    body = json.dumps({"model": "m", "messages": _image_message(task_prompt(load_split("test")[0]),
                                                                 _data_url(bomb))}).encode()
    with _PeakRss() as memory:
        response = _post(heuristic_url, body)
    _assert_openai_error(response, 400, message)
    assert loads == []  # PIL never decoded a pixel
    assert memory.grown < 100 * 2**20, f"the server grew by {memory.grown / 2**20:.0f} MiB"


def test_the_pixel_limit_is_configurable_and_bounds_a_requests_images_together():
    client_kwargs = {"api_key": "k", "max_retries": 0}
    prompt = task_prompt(load_split("test")[0])
    small, wide = _data_url(_png(10, 10)), _data_url(_png(11, 10))
    with running_server(create_app("heuristic", max_image_pixels=100)) as url:
        client = openai.OpenAI(base_url=url, **client_kwargs)
        answer = client.chat.completions.create(model="m", messages=_image_message(prompt, small))
        assert "<answer>" in answer.choices[0].message.content
        jpeg = io.BytesIO()
        Image.new("RGB", (10, 10), (200, 10, 10)).save(jpeg, "JPEG")
        client.chat.completions.create(model="m", messages=_image_message(prompt, _data_url(jpeg.getvalue(), "jpeg")))
        with pytest.raises(openai.BadRequestError, match="11 x 10 pixels declared, at most 100"):
            client.chat.completions.create(model="m", messages=_image_message(prompt, wide))
        client.chat.completions.create(model="m", messages=_image_message(prompt, *[small] * 4))
        with pytest.raises(openai.BadRequestError, match="at most 400 pixels together"):
            client.chat.completions.create(model="m", messages=_image_message(prompt, *[small] * 5))
        gif = io.BytesIO()
        Image.new("P", (4, 4)).save(gif, "GIF")
        with pytest.raises(openai.BadRequestError, match="PNG or JPEG"):
            client.chat.completions.create(model="m", messages=_image_message(prompt, _data_url(gif.getvalue(), "gif")))
    with pytest.raises(ValueError, match="max_image_pixels"):
        create_app("heuristic", max_image_pixels=0)


def test_a_token_guards_every_request():
    token = "tok-abcdef-123456"
    with running_server(create_app("heuristic", token=token)) as url:
        body = {"model": "m", "messages": [{"role": "user", "content": task_prompt(load_split("test")[0])}]}
        missing = _post(url, body)
        _assert_openai_error(missing, 401, "missing bearer token")
        assert {k.lower(): v for k, v in missing.headers.items()}["www-authenticate"] == "Bearer"
        _assert_openai_error(_post(url, body, {"authorization": "Bearer tok-abcdef-12345"}), 401, "invalid")
        _assert_openai_error(_post(url, body, {"authorization": f"Basic {token}"}), 401, "invalid")
        _assert_openai_error(_get(f"{url}/models"), 401, "bearer")
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=url, api_key="wrong-token", max_retries=0).models.list()
        client = openai.OpenAI(base_url=url, api_key=token, max_retries=0)
        assert [m.id for m in client.models.list().data] == ["heuristic"]
        answer = client.chat.completions.create(**body)
        assert "<answer>" in answer.choices[0].message.content
    assert token not in redact(f"the token is {token}")  # registered as a secret


@pytest.mark.parametrize("body, message", [
    (b'{"model": "m", "messages": [', "JSON"),
    (b"[1, 2]", "must be a JSON object"),
    ({"messages": [{"role": "system", "content": [{"type": "audio"}]}, {"role": "user", "content": "x"}]},
     "messages[0]: unsupported content part type 'audio'"),
    ({"messages": [{"role": "system", "content": [42]}, {"role": "user", "content": "x"}]},
     "unsupported content part type 'int'"),
    ({"messages": [{"role": "assistant", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,!!"}}]},
                   {"role": "user", "content": "x"}]}, "undecodable image"),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": {"a": 1}}]}]}, "must be a string"),
    ({"messages": [{"role": "user", "content": "x"}], "metaspatial": {"info": [1]}}, "'metaspatial'"),
    ({"messages": "hello"}, "non-empty list"),
])
def test_malformed_requests_are_openai_shaped_400s(heuristic_url, body, message):
    _assert_openai_error(_post(heuristic_url, body), 400, message)


def test_unknown_routes_and_methods_are_openai_shaped(heuristic_url):
    _assert_openai_error(_get(f"{heuristic_url}/nothing"), 404, "Not Found")
    _assert_openai_error(_get(f"{heuristic_url}/chat/completions"), 405, "Method Not Allowed")


class _LeakyChat:
    def __init__(self, failure=None, reply=None):
        self.failure, self.reply = failure, reply

    def complete(self, messages):
        if self.failure is not None:
            raise self.failure
        return self.reply


class _LeakyActor:
    def reset(self):
        pass

    def act(self, observation, info):
        raise ValueError(f"upstream rejected key {SECRET}")


@pytest.mark.parametrize("factory, status, message", [
    (lambda: _LeakyChat(RuntimeError(f"401 Incorrect API key provided: {SECRET}")), 500, "RuntimeError"),
    (lambda: _LeakyChat(ChatError(f"refused (401): key {SECRET[:-4]}abcd is wrong")), 500, "ChatError"),
    (lambda: _LeakyActor(), 400, "cannot answer"),
    (lambda: _LeakyChat(reply=None), 500, "not a string"),
])
def test_policy_and_upstream_errors_are_redacted_and_carry_no_traceback(factory, status, message):
    with running_server(create_app("leaky", factory=factory)) as url:
        response = _post(url, {"model": "m", "messages": [
            {"role": "user", "content": task_prompt(load_split("test")[0])}]})
        text = _assert_openai_error(response, status, message)
        assert SECRET not in response.text and SECRET[:-4] not in response.text
        if status != 500 or "not a string" not in message:
            assert "[redacted]" in text
        assert _get(f"{url}/models").status == 200  # still serving


@pytest.mark.parametrize("host, token, warned", [
    ("127.0.0.1", None, False), ("localhost", None, False), ("::1", None, False),
    ("0.0.0.0", None, True), ("::", None, True), ("10.1.2.3", None, True), ("example.org", None, True),
    ("0.0.0.0", "tok-abcdef", False),
])
def test_exposure_warning(host, token, warned):
    warning = exposure_warning(host, token)
    assert (warning is not None) == warned
    if warned:
        assert "\n" not in warning and host in warning and TOKEN_ENV in warning


def test_serve_warns_once_on_stderr_and_reads_the_token_from_the_environment(monkeypatch, capsys):
    import uvicorn

    runs = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: runs.append((app, kwargs)))
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    serve("heuristic", host="0.0.0.0", port=1)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("warning:") and "0.0.0.0" in err
    assert runs[-1][1] == {"host": "0.0.0.0", "port": 1, "log_level": "info"}
    serve("heuristic", host="127.0.0.1", port=1)
    assert capsys.readouterr().err == ""
    monkeypatch.setenv(TOKEN_ENV, "env-token-abcdef")
    serve("heuristic", host="0.0.0.0", port=1)
    assert capsys.readouterr().err == ""
    with running_server(runs[-1][0]) as url:
        assert _get(f"{url}/models").status == 401
        assert _get(f"{url}/models", {"Authorization": "Bearer env-token-abcdef"}).status == 200


def test_serve_policy_flags_reach_the_server(monkeypatch):
    import agents.server

    calls = []
    monkeypatch.setattr(agents.server, "serve", lambda *args, **kwargs: calls.append((args, kwargs)))
    parser = argparse.ArgumentParser()
    agents_cli.add_serve_policy(parser)
    args = parser.parse_args(["heuristic", "--host", "0.0.0.0", "--token", "tok-abcdef",
                              "--max-body-bytes", "1000", "--max-image-pixels", "50"])
    assert args.func(args) == 0
    assert calls == [(("heuristic",), {"host": "0.0.0.0", "port": 8000, "policy_kwargs": {}, "token": "tok-abcdef",
                                       "max_body_bytes": 1000, "max_image_pixels": 50})]
    defaults = parser.parse_args(["heuristic"])
    assert (defaults.token, defaults.max_body_bytes, defaults.max_image_pixels) == (
        None, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_IMAGE_PIXELS)
