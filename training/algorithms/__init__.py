"""RL algorithms for multi-turn layout training, chosen by name.

``make_algorithm(AlgorithmConfig(name="grpo"))`` gives an :class:`Algorithm` with an advantage
estimator over turns and a clipped policy loss; see :mod:`training.algorithms.base` for the
options they share and ``object_credit`` for the 3D-SPO-style per-object token weights.
"""

from __future__ import annotations

from .base import Algorithm, AlgorithmConfig, TurnBatch, kl_reward_penalty
from .grpo import GRPO
from .object_credit import object_token_weights
from .ppo import PPO
from .reinforce_pp import ReinforcePP, ReinforcePPBaseline
from .rloo import RLOO

__all__ = ["Algorithm", "AlgorithmConfig", "TurnBatch", "algorithm_names", "kl_reward_penalty",
           "make_algorithm", "object_token_weights"]

_ALGORITHMS: dict[str, type[Algorithm]] = {"grpo": GRPO, "ppo": PPO, "reinforce_pp": ReinforcePP,
                                            "reinforce_pp_baseline": ReinforcePPBaseline, "rloo": RLOO}


def algorithm_names() -> list[str]:
    """The names :func:`make_algorithm` accepts, sorted."""
    return sorted(_ALGORITHMS)


def make_algorithm(config: AlgorithmConfig) -> Algorithm:
    """The algorithm named by ``config.name``; an unknown name is an error listing the known ones."""
    if isinstance(config, dict):
        config = AlgorithmConfig.from_dict(config)
    try:
        cls = _ALGORITHMS[config.name]
    except KeyError:
        raise ValueError(f"unknown algorithm {config.name!r}; known: {algorithm_names()}") from None
    return cls(config)
