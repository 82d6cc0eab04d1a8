"""The VLM judge against a real OpenAI-compatible endpoint (the project's policy server on
127.0.0.1) answering a valid grade, a malformed one, or too late."""

from __future__ import annotations

import json
import threading
import time

import gymnasium as gym
import numpy as np
import pytest

import metaspatial_env  # noqa: F401  (registers the ids)
from agents.heuristic import HeuristicPolicy
from agents.server import create_app
from metaspatial_env.judge import CRITERIA, JudgeConfig, MalformedGrade, VLMJudge, parse_grade
from metaspatial_env.reward import TERMS, judge_term
from metaspatial_env.tasks.splits import load_split

from .serving import running_server

VALID = {"realism_and_geometric_consistency": 8, "functionality": 7, "layout": 9, "color_and_materials": 6,
         "overall_atmosphere": 7}


class Grader:
    """A chat 'model' behind the policy server that grades as the test scripts it."""

    def __init__(self, reply: str, delay: float = 0.0):
        self.reply, self.delay = reply, delay
        self.requests: list[list[dict]] = []
        self.lock = threading.Lock()

    def reset(self):
        pass

    def act(self, observation, info):
        raise AssertionError("the judge talks chat messages")

    def complete(self, messages):
        with self.lock:
            self.requests.append(messages)
        time.sleep(self.delay)
        return self.reply


def _judged_env(url: str, **judge):
    return gym.make("MetaSpatial-Fast-v0", split="test", max_turns=2, terminate_on_success=False,
                    image_size=(64, 128), judge={"model": "grader", "base_url": url, **judge})


def _step_twice(env, task_index: int = 0):
    policy = HeuristicPolicy()
    obs, info = env.reset(seed=0, options={"task_id": load_split("test")[task_index].id})
    answer = policy.act(obs, info)
    return [env.step(answer)[4] for _ in range(2)]


def _plain_terms(info) -> dict[str, float]:
    """Every term but the judge's, as the step reported them."""
    return {k: info[f"reward_{k}"] for k in TERMS if k != "judge" and f"reward_{k}" in info}


def test_valid_grade_is_used_and_cached():
    grader = Grader("```json\n" + json.dumps(VALID) + "\n```")
    with running_server(create_app("grader", factory=lambda: grader)) as url:
        env = _judged_env(url)
        first, second = _step_twice(env)
        env.close()
    assert first["judge_grades"] == VALID and "judge_error" not in first
    assert first["reward_judge"] == pytest.approx(judge_term(VALID.values()))
    plain = _plain_terms(first)
    assert "function" in plain  # generated rooms have a door
    weights = {"format": 1, "collision": 1, "bounds": 1, "stability": 1, "relations": 2, "worst": 2, "function": 1,
               "judge": 1}
    expected = (sum(weights[k] * v for k, v in plain.items()) + first["reward_judge"]) / sum(weights.values())
    assert first["reward_total"] == pytest.approx(expected)
    # The same settled layout and image the second time: answered from the cache.
    assert second["reward_judge"] == first["reward_judge"] and len(grader.requests) == 1
    system, user = grader.requests[0]
    assert "realism_and_geometric_consistency" in system["content"]
    image, text = user["content"]
    assert image["image_url"]["url"].startswith("data:image/jpeg;base64,")
    task = load_split("test")[0]
    assert task.user_preference in text["text"] and all(oid in text["text"] for oid in task.object_ids)


def test_malformed_grade_is_retried_then_the_term_is_absent():
    grader = Grader('{"realism_and_geometric_consistency": 11, "layout": "good"}')
    with running_server(create_app("grader", factory=lambda: grader)) as url:
        env = _judged_env(url, retries=2)
        info = _step_twice(env, task_index=1)[0]
        env.close()
    assert "reward_judge" not in info and "judge_grades" not in info
    assert info["judge_error"].startswith("malformed grade") and "after 3 attempt(s)" in info["judge_error"]
    assert len(grader.requests) == 6  # two steps, three attempts each: failures are not cached
    plain = _plain_terms(info)
    assert info["reward_total"] == pytest.approx((sum(plain.values()) + plain["relations"] + plain["worst"]) / 9)


def test_a_judge_too_slow_is_a_timeout_and_the_term_is_absent():
    grader = Grader(json.dumps(VALID), delay=2.0)
    with running_server(create_app("grader", factory=lambda: grader)) as url:
        env = _judged_env(url, timeout=0.5, retries=0)
        policy = HeuristicPolicy()
        obs, info = env.reset(seed=0, options={"task_id": load_split("test")[2].id})
        info = env.step(policy.act(obs, info))[4]
        env.close()
    assert "reward_judge" not in info
    assert "timeout" in info["judge_error"] or "timed out" in info["judge_error"]


def test_judge_grades_many_layouts_concurrently_in_order():
    grader = Grader(json.dumps(VALID))
    with running_server(create_app("grader", factory=lambda: grader)) as url:
        judge = VLMJudge(JudgeConfig(model="grader", base_url=url, workers=3))
        task = load_split("test")[0]
        images = [np.full((8, 16, 3), i, np.uint8) for i in range(3)]
        grades = judge.grade_many([(task, {"a": {"x": float(i)}}, image) for i, image in enumerate(images)])
        judge.close()
    assert [g.criteria for g in grades] == [VALID] * 3 and len(grader.requests) == 3


def test_judge_is_off_by_default():
    env = gym.make("MetaSpatial-Text-v0", split="test")
    obs, info = env.reset(seed=0)
    info = env.step(HeuristicPolicy().act(obs, info))[4]
    env.close()
    assert not any(key.startswith(("reward_judge", "judge_")) for key in info)


@pytest.mark.parametrize("judge, message", [
    ({"model": "m", "temperature": 1}, "unknown judge keys"),
    ({"base_url": "http://127.0.0.1:1/v1"}, "needs a 'model'"),
    ({"model": "m", "timeout": 0}, "timeout > 0"),
    ("gpt-4o", "must be a dict"),
])
def test_bad_judge_settings_are_errors(judge, message):
    with pytest.raises(ValueError, match=message):
        gym.make("MetaSpatial-Text-v0", judge=judge)


@pytest.mark.parametrize("reply, error", [
    (None, "no JSON object"),
    ("great room!", "no JSON object"),
    ("{not json}", "invalid JSON"),
    (json.dumps({k: 5 for k in CRITERIA[:4]}), "missing criteria"),
    (json.dumps(VALID | {"layout": 0}), "integer from 1 to 10"),
    (json.dumps(VALID | {"layout": 7.5}), "integer from 1 to 10"),
    (json.dumps(VALID | {"layout": True}), "integer from 1 to 10"),
    (json.dumps(VALID | {"layout": "9"}), "integer from 1 to 10"),
])
def test_parse_grade_rejects_what_is_not_a_strict_grade(reply, error):
    with pytest.raises(MalformedGrade, match=error):
        parse_grade(reply)


@pytest.mark.parametrize("reply", [json.dumps(VALID), "Here: " + json.dumps(VALID) + " done",
                                   json.dumps(VALID | {"layout": 9.0, "comment": "fine"})])
def test_parse_grade_accepts_a_grade_in_text(reply):
    assert parse_grade(reply) == VALID


@pytest.mark.parametrize("grades, score", [([1] * 5, 0.0), ([10] * 5, 1.0), ([1, 10], 0.5), ([5.5] * 5, 0.5)])
def test_judge_term_maps_grades_onto_the_unit_interval(grades, score):
    assert judge_term(grades) == pytest.approx(score)
