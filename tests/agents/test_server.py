"""The policy server over real HTTP, reached through the real ``openai`` client."""

from __future__ import annotations

import gymnasium as gym
import openai
import pytest

import metaspatial_env  # noqa: F401  (registers the ids)
from agents import register_policy
from agents.openai_policy import OpenAIPolicy
from agents.runner import run_episode
from agents.server import create_app
from metaspatial_env.chat_client import ChatError
from metaspatial_env.prompting import task_prompt
from metaspatial_env.tasks.splits import load_split

from .serving import running_server


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
    assert messages[1]["content"][0]["image_url"]["url"].startswith("data:image/png;base64,")
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
