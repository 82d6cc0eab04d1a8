"""REINFORCE++: returns normalised over the whole batch, no critic and no groups.

``A = (R - mean_batch) / (std_batch + eps)`` (population std; ``normalize_std=False`` only
centres). The paper puts the KL to the reference in the reward (``kl_mode="reward"``, with the
batch's ``kl_penalty``); ``kl_mode="loss"`` uses the k3 term in the loss instead. Under
``episode`` credit every episode counts once in the statistics; under ``turn`` credit the rows of
one turn index are normalised together.

REINFORCE++-baseline (``reinforce_pp_baseline``, the paper's variant for group sampling) first
subtracts each group's mean return (the room's difficulty) and then normalises the centred returns
over the batch: GRPO's baseline, REINFORCE++'s scale.
"""

from __future__ import annotations

import numpy as np

from .base import Algorithm, TurnBatch
from .grpo import normalised


class ReinforcePP(Algorithm):
    """REINFORCE++ (Hu, 2025)."""

    def advantages(self, batch: TurnBatch) -> tuple[np.ndarray, np.ndarray]:
        returns = self.returns(batch)
        adv = np.zeros(len(batch))
        for rows in self.baseline_units(batch, by_group=False):
            adv[rows] = normalised(returns[rows], self.config.normalize_std)
        return self.broadcast_episode(batch, adv), returns


class ReinforcePPBaseline(ReinforcePP):
    """REINFORCE++-baseline (Hu, 2025): group-mean baseline, batch-std normalisation."""

    needs_groups = True

    def advantages(self, batch: TurnBatch) -> tuple[np.ndarray, np.ndarray]:
        returns = self.returns(batch)
        centred = np.zeros(len(batch))
        for rows in self.baseline_units(batch, by_group=True):
            centred[rows] = normalised(returns[rows], scale=False)
        adv = np.zeros(len(batch))
        for rows in self.baseline_units(batch, by_group=False):
            adv[rows] = normalised(centred[rows], self.config.normalize_std)
        return self.broadcast_episode(batch, adv), returns
