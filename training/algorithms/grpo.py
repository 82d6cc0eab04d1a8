"""GRPO: each return centred (and scaled) by the statistics of its own group (one room's episodes).

``A = (R - mean_group) / (std_group + eps)`` with the population std; ``normalize_std=False``
keeps only the centring (Dr.GRPO). A group whose returns are all equal, or that has one member,
gives advantage 0. Which returns form a group is :meth:`Algorithm.baseline_units`: one per
episode under ``episode`` credit, the rows of one turn index under ``turn`` credit.
"""

from __future__ import annotations

import numpy as np

from .base import STD_EPS, Algorithm, TurnBatch


def normalised(values: np.ndarray, scale: bool) -> np.ndarray:
    """``values`` minus their mean, divided by their population std (+eps) when ``scale``."""
    centred = values - values.mean()
    return centred / (values.std() + STD_EPS) if scale else centred


class GRPO(Algorithm):
    """Group Relative Policy Optimisation (Shao et al., 2024), multi-turn."""

    needs_groups = True

    def advantages(self, batch: TurnBatch) -> tuple[np.ndarray, np.ndarray]:
        returns = self.returns(batch)
        adv = np.zeros(len(batch))
        for rows in self.baseline_units(batch, by_group=True):
            adv[rows] = normalised(returns[rows], self.config.normalize_std)
        return self.broadcast_episode(batch, adv), returns
