"""The VLM judge against an OpenAI-compatible endpoint that misbehaves: each fault becomes an absent
judge term and a ``judge_error`` (never an exception out of ``env.step``), and the key an endpoint
quotes back never reaches that error.

The endpoint is a real HTTP server on 127.0.0.1 (:func:`fake_endpoint`); the first path segment of
the base URL picks its behaviour, so one server serves every fault.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import gymnasium as gym
import pytest

import metaspatial_env  # noqa: F401  (registers the ids)
from agents.heuristic import HeuristicPolicy
from metaspatial_env.chat_client import ChatError, chat_with_retries, make_client
from metaspatial_env.judge import CRITERIA, JudgeConfig, VLMJudge
from metaspatial_env.reward import TERMS, RewardConfig, total_reward
from metaspatial_env.tasks.splits import load_split

#: Not shaped like any known key (no ``sk-`` prefix), so only registration can redact it.
KEY = "judgekey-7Q2xLmP4vN8rT1wZ"
VALID = dict(zip(CRITERIA, (8, 7, 9, 6, 7)))


def completion(content: str) -> dict:
    return {"id": "c", "object": "chat.completion", "created": 0, "model": "grader",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}]}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, status: int, content_type: str, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        mode = self.path.strip("/").split("/")[0]
        key = self.headers.get("Authorization", "").removeprefix("Bearer ")
        self.server.requests.append(mode)
        if mode == "plain":
            self._send(200, "text/plain", "OK")
        elif mode == "html":
            self._send(200, "text/html", "<!doctype html><html><body><h1>Sign in to the gateway</h1></body></html>")
        elif mode == "notjson":
            self._send(200, "application/json", "{this is not json")
        elif mode == "noshape":
            self._send(200, "application/json", json.dumps({"result": "fine"}))
        elif mode == "nomessage":
            self._send(200, "application/json", json.dumps({"choices": [{"index": 0, "message": None}]}))
        elif mode == "unauthorized":
            self._send(401, "application/json", json.dumps(
                {"error": {"message": f"Incorrect API key provided: {key}.", "type": "invalid_request_error",
                           "code": "invalid_api_key"}}))
        elif mode == "unauthorized_text":
            self._send(401, "text/plain", f"key {key} is not valid")
        elif mode == "hang":
            time.sleep(self.server.hang)
            self._send(200, "application/json", json.dumps(completion(json.dumps(VALID))))
        elif mode == "close":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif mode.startswith("slow"):  # slow-SECONDS: a valid grade after a delay
            time.sleep(float(mode.split("-", 1)[1]))
            self._send(200, "application/json", json.dumps(completion(json.dumps(VALID))))
        elif mode == "valid":
            self._send(200, "application/json", json.dumps(completion(json.dumps(VALID))))
        elif mode == "flaky":  # every other request fails with an HTML page
            if len(self.server.requests) % 2:
                self._send(200, "text/html", "<html>busy</html>")
            else:
                self._send(200, "application/json", json.dumps(completion(json.dumps(VALID))))
        else:
            self._send(404, "text/plain", "unknown mode")


@contextlib.contextmanager
def fake_endpoint(hang: float = 3.0) -> Iterator[str]:
    """An OpenAI-compatible endpoint on 127.0.0.1; yields ``http://127.0.0.1:PORT`` (append ``/MODE/v1``)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.requests = []
    server.hang = hang
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def endpoint():
    with fake_endpoint() as url:
        yield url


@pytest.fixture
def judge_key(monkeypatch):
    # A name outside the *_API_KEY pattern the redactor reads from the environment: only the judge's
    # own registration of the key it reads keeps it out of errors.
    monkeypatch.setenv("JUDGE_CREDENTIAL", KEY)
    return "JUDGE_CREDENTIAL"


FAULTS = [
    ("plain", "not a chat completion"),
    ("html", "not a chat completion"),
    ("notjson", "not a chat completion"),
    ("noshape", "no 'choices'"),
    ("nomessage", "malformed grade"),
    ("unauthorized", "refused the request (401)"),
    ("unauthorized_text", "refused the request (401)"),
    ("hang", "time"),
    ("close", "APIConnectionError"),
]


@pytest.mark.parametrize("mode, message", FAULTS)
def test_an_endpoint_fault_is_a_judge_error_not_an_exception(endpoint, judge_key, mode, message):
    env = gym.make("MetaSpatial-Fast-v0", split="test", max_turns=2, image_size=(64, 128),
                   judge={"model": "grader", "base_url": f"{endpoint}/{mode}/v1", "api_key_env": judge_key,
                          "timeout": 0.5, "retries": 1})
    try:
        obs, info = env.reset(seed=0, options={"task_id": load_split("test")[0].id})
        obs, reward, terminated, truncated, info = env.step(HeuristicPolicy().act(obs, info))
    finally:
        env.close()
    assert "reward_judge" not in info and "judge_grades" not in info
    assert message in info["judge_error"], info["judge_error"]
    assert KEY not in info["judge_error"] and KEY not in json.dumps(info, default=str)
    # the step still scored the layout, on the scale without the judge
    plain = {k: info[f"reward_{k}"] for k in TERMS if k != "judge" and f"reward_{k}" in info}
    assert "function" in plain  # the test room has doors: every term but the judge's is there
    assert info["reward_total"] == pytest.approx(total_reward(plain, RewardConfig()))


def test_a_401_quoting_the_key_is_redacted_in_the_error_itself(endpoint, judge_key):
    judge = VLMJudge(JudgeConfig(model="grader", base_url=f"{endpoint}/unauthorized/v1", api_key_env=judge_key,
                                 retries=0, timeout=5))
    task = load_split("test")[0]
    import numpy as np

    grade = judge.grade(task, {"a": {"x": 0.0}}, np.zeros((8, 16, 3), np.uint8))
    judge.close()
    assert grade.score is None and "Incorrect API key provided: [redacted]" in grade.error
    assert KEY not in grade.error


def test_the_shared_client_turns_a_non_completion_into_a_chat_error(endpoint):
    """The openai policy uses the same client: a text/plain 200 is a ChatError, not an AttributeError."""
    for mode in ("plain", "html", "notjson", "noshape"):
        client = make_client(f"{endpoint}/{mode}/v1", KEY, 5)
        with pytest.raises(ChatError) as failure:
            chat_with_retries(client, retries=1, backoff=0.0, model="m", messages=[{"role": "user", "content": "x"}])
        assert KEY not in str(failure.value)


def test_a_flaky_judge_grades_once_it_answers(endpoint, judge_key):
    judge = VLMJudge(JudgeConfig(model="grader", base_url=f"{endpoint}/flaky/v1", api_key_env=judge_key,
                                 retries=3, timeout=10))
    import numpy as np

    grade = judge.grade(load_split("test")[0], {"a": {"x": 1.0}}, np.ones((8, 16, 3), np.uint8))
    judge.close()
    assert grade.criteria == VALID and grade.error is None
