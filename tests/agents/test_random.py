"""The random baseline and the policy registry."""

import gymnasium as gym
import pytest

import metaspatial_env  # noqa: F401
from agents import make_policy, policy_names, register_policy
from agents.random_policy import RandomPolicy
from agents.runner import run_episode
from metaspatial_env.tasks.splits import load_split


def test_random_policy_rarely_succeeds_on_the_test_split():
    """The reward separates good layouts from bad: random answers almost never succeed."""
    env = gym.make("MetaSpatial-Text-v0", split="test")
    policy = RandomPolicy(seed=0)
    tasks = load_split("test")
    records = [run_episode(env, policy, task_id=t.id, seed=i) for i, t in enumerate(tasks)]
    env.close()
    success_rate = sum(r.success for r in records) / len(records)
    assert success_rate <= 0.05
    assert all(r.turns[0].parse_errors == [] for r in records)  # well-formed, just bad
    mean_final = sum(r.final_total for r in records) / len(records)
    assert 0.2 < mean_final < 0.8


def test_random_policy_is_reproducible():
    env = gym.make("MetaSpatial-Text-v0", split="test")
    first = run_episode(env, RandomPolicy(seed=3), seed=1)
    second = run_episode(env, RandomPolicy(seed=3), seed=1)
    env.close()
    assert [t.action for t in first.turns] == [t.action for t in second.turns]


def test_registry_builds_named_policies_and_user_ones(monkeypatch):
    import agents

    monkeypatch.setattr(agents, "_FACTORIES", dict(agents._FACTORIES))  # the registration stays in this test
    assert {"heuristic", "random"} <= set(policy_names())
    assert isinstance(make_policy("random", seed=1), RandomPolicy)

    class Constant:
        def __init__(self, answer="[]"):
            self.answer = answer

        def reset(self):
            pass

        def act(self, observation, info):
            return self.answer

    register_policy("constant", Constant)
    assert make_policy("constant:<answer>[]</answer>").answer == "<answer>[]</answer>"
    with pytest.raises(ValueError, match="unknown policy"):
        make_policy("nope")
    with pytest.raises(ValueError, match="colon"):
        register_policy("a:b", Constant)
