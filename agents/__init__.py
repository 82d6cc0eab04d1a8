"""Policies behind one protocol (DESIGN.md section 8), named by strings.

A policy has ``reset()`` and ``act(observation, info) -> str``: it reads the env's observation
and info (the reset info carries the room's scene graph under ``task``) and answers layout text.
``make_policy("heuristic")``, ``make_policy("random", seed=0)``; users add their own with
:func:`register_policy`. Names with a colon (``openai:gpt-4o``) pass the part after the colon
to the factory as its first argument.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Policy(Protocol):
    """Anything that answers a room layout turn by turn."""

    def reset(self) -> None:
        """Forget the previous episode."""

    def act(self, observation: dict[str, Any], info: dict[str, Any]) -> str:
        """Answer layout text for the current observation."""


_FACTORIES: dict[str, Callable[..., Policy] | str] = {
    "heuristic": "agents.heuristic:HeuristicPolicy",
    "heuristic_repair": "agents.heuristic_repair:HeuristicRepairPolicy",
    "heuristic_resample": "agents.heuristic_repair:FeedbackBlindPolicy",
    "random": "agents.random_policy:RandomPolicy",
    "openai": "agents.openai_policy:OpenAIPolicy",
    "hf": "agents.hf_policy:HFPolicy",
    "vllm": "agents.vllm_policy:VLLMPolicy",
}


def register_policy(name: str, factory: Callable[..., Policy] | str) -> None:
    """Make ``make_policy(name)`` (or ``name:ARG``) build a policy with ``factory``.

    ``factory`` is a callable or a ``"module:attribute"`` string imported on first use.
    """
    if not name or ":" in name:
        raise ValueError(f"policy names are non-empty and have no colon, got {name!r}")
    _FACTORIES[name] = factory


def policy_names() -> list[str]:
    return sorted(_FACTORIES)


def policy_factory(spec: str) -> Callable[..., Policy]:
    """The callable behind a policy name (``openai:gpt-4o`` -> the ``openai`` factory)."""
    name = spec.partition(":")[0]
    if name not in _FACTORIES:
        raise ValueError(f"unknown policy {spec!r}; known: {policy_names()}")
    factory = _FACTORIES[name]
    if isinstance(factory, str):
        module, _, attribute = factory.partition(":")
        factory = getattr(importlib.import_module(module), attribute)
    return factory


def make_policy(spec: str, **kwargs: Any) -> Policy:
    """Build a policy from its name, e.g. ``heuristic``, ``random`` or ``openai:gpt-4o``."""
    argument = spec.partition(":")[2]
    factory = policy_factory(spec)
    return factory(argument, **kwargs) if argument else factory(**kwargs)


def takes_seed(spec: str) -> bool:
    """Whether the policy's factory accepts a ``seed`` argument (CLIs pass theirs only then)."""
    try:
        return "seed" in inspect.signature(policy_factory(spec)).parameters
    except (TypeError, ValueError):  # builtins and C callables without a signature
        return False
