"""RLOO: each return minus the mean of the *other* returns of its group (leave-one-out baseline).

``A_i = R_i - mean_{j != i} R_j``; a group of one has no baseline and gets advantage 0. Groups
are formed as in GRPO (:meth:`Algorithm.baseline_units`).
"""

from __future__ import annotations

import numpy as np

from .base import Algorithm, TurnBatch


class RLOO(Algorithm):
    """REINFORCE Leave-One-Out (Kool et al., 2019; Ahmadian et al., 2024)."""

    needs_groups = True

    def advantages(self, batch: TurnBatch) -> tuple[np.ndarray, np.ndarray]:
        returns = self.returns(batch)
        adv = np.zeros(len(batch))
        for rows in self.baseline_units(batch, by_group=True):
            k = len(rows)
            if k > 1:
                r = returns[rows]
                adv[rows] = r - (r.sum() - r) / (k - 1)
        return self.broadcast_episode(batch, adv), returns
