"""The ``vllm:`` policy: a clear error where vLLM is missing; a real run needs a GPU."""

from __future__ import annotations

import importlib.util

import pytest

from agents import make_policy, policy_names

HAS_VLLM = importlib.util.find_spec("vllm") is not None


def test_vllm_is_a_registered_policy_name():
    assert {"openai", "hf", "vllm", "heuristic", "random"} <= set(policy_names())


@pytest.mark.skipif(HAS_VLLM, reason="vLLM is installed here; the missing-package path cannot be checked")
def test_missing_vllm_names_the_extra():
    with pytest.raises(ImportError, match=r"metaspatial-env\[vllm\]"):
        make_policy("vllm:/models/any")


@pytest.mark.parametrize("name, usage", [("vllm", "vllm:PATH"), ("hf", "hf:PATH"), ("openai", "openai:MODEL")])
def test_model_policies_need_their_argument(name, usage):
    with pytest.raises(ValueError, match=usage):
        make_policy(name)
