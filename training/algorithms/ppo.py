"""PPO with a value head and GAE over turns: each turn is one step, with one value per turn.

``delta_t = r_t + gamma * V_{t+1} - V_t`` (``V`` after the last turn is 0: episodes are finished),
``A_t = delta_t + gamma * lambda * A_{t+1}``, and the value target is ``A_t + V_t``. Under
``episode`` credit the episode's discounted return is paid at its last turn (zero before) and GAE
spreads it back through the values; under ``turn`` credit the per-turn rewards are used as they are.
Advantages are not whitened.
"""

from __future__ import annotations

import numpy as np

from .base import Algorithm, TurnBatch, discounted_to_go


class PPO(Algorithm):
    """Proximal Policy Optimisation (Schulman et al., 2017) over turns."""

    needs_value = True

    def advantages(self, batch: TurnBatch) -> tuple[np.ndarray, np.ndarray]:
        if batch.values is None:
            raise ValueError("PPO needs TurnBatch.values: the value head's estimate per turn")
        gamma, lam = self.config.gamma, self.config.gae_lambda
        rewards = self.shaped_rewards(batch)
        adv = np.zeros(len(batch))
        for rows in batch.episode_rows().values():
            r = rewards[rows]
            if self.config.credit == "episode":
                r = np.zeros(len(rows))
                r[-1] = discounted_to_go(rewards[rows], gamma)[0]
            v = batch.values[rows]
            next_v = np.append(v[1:], 0.0)
            deltas = r + gamma * next_v - v
            adv[rows] = discounted_to_go(deltas, gamma * lam)
        return adv, adv + batch.values
