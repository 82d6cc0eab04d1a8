"""What every RL algorithm shares: its config, the per-turn batch, returns, and the clipped loss.

An algorithm is two pure pieces (see the training interface brief):

- :meth:`Algorithm.advantages` turns per-turn rewards (one row per episode turn) into one
  advantage and one return per row. Each turn's response is one "step": multi-turn credit is
  assigned over turns, and the advantage of a turn is broadcast over its response tokens.
- :meth:`Algorithm.loss` is the clipped policy-gradient loss over response tokens, with the shared
  options: clip and clip-higher, token- or sequence-level ratios, KL to a frozen reference (k3
  estimator in the loss), entropy bonus, per-token weights from object-level credit, and (PPO)
  the value loss.

Returns: with ``credit="episode"`` every turn of an episode gets the episode's discounted return
``sum_t gamma^t r_t``; with ``credit="turn"`` a turn gets its discounted return-to-go
``sum_{k>=t} gamma^(k-t) r_k``. With ``kl_mode="reward"`` the batch's ``kl_penalty`` (the summed
per-token log-ratio of each turn's response against the reference, see :func:`kl_reward_penalty`)
times ``kl_coef`` is subtracted from each turn's reward first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from metaspatial_env.config import from_mapping
from metaspatial_env.deps import require

RATIO_LEVELS = ("token", "sequence")
KL_MODES = ("loss", "reward")
CREDITS = ("episode", "turn")
#: Added to standard deviations before dividing, so zero-variance groups give 0, not NaN.
STD_EPS = 1e-6


@dataclass(frozen=True)
class AlgorithmConfig:
    """Options of an RL algorithm. Unknown keys are an error (see :meth:`from_dict`)."""

    name: str = "grpo"
    """Which algorithm: one of :func:`training.algorithms.algorithm_names`."""
    clip_low: float = 0.2
    """The importance ratio is clipped below at ``1 - clip_low``."""
    clip_high: float = 0.2
    """The importance ratio is clipped above at ``1 + clip_high``; above ``clip_low`` is DAPO's clip-higher."""
    ratio_level: str = "token"
    """``token``: one ratio per token (PPO); ``sequence``: the geometric mean over the response (GSPO)."""
    kl_coef: float = 0.0
    """Weight of the KL to the frozen reference policy; 0 turns it off."""
    kl_mode: str = "loss"
    """``loss``: k3 estimator added to the loss; ``reward``: penalty subtracted from each turn's reward."""
    entropy_coef: float = 0.0
    """Weight of the entropy bonus (subtracted from the loss)."""
    credit: str = "episode"
    """``episode``: every turn gets the episode return; ``turn``: discounted return-to-go over turns."""
    gamma: float = 1.0
    """Discount per turn."""
    gae_lambda: float = 0.95
    """PPO: the GAE lambda over turns."""
    value_coef: float = 0.5
    """PPO: weight of the value loss."""
    normalize_std: bool = True
    """GRPO and REINFORCE++: divide centred returns by their std (False: Dr.GRPO-style, centre only)."""
    object_modulation: float = 0.0
    """0 off; > 0: strength of 3D-SPO-style per-object token weights (see ``object_credit``)."""

    def __post_init__(self) -> None:
        for name, allowed in (("ratio_level", RATIO_LEVELS), ("kl_mode", KL_MODES), ("credit", CREDITS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"AlgorithmConfig.{name} must be one of {allowed}, got {getattr(self, name)!r}")
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type in ("float", "bool") and (not isinstance(value, (int, float)) or not math.isfinite(value)):
                raise ValueError(f"AlgorithmConfig.{f.name} must be a finite number, got {value!r}")
        for name in ("clip_low", "clip_high", "kl_coef", "entropy_coef", "value_coef", "object_modulation"):
            if getattr(self, name) < 0:
                raise ValueError(f"AlgorithmConfig.{name} must be >= 0, got {getattr(self, name)}")
        if self.clip_low >= 1:
            raise ValueError(f"AlgorithmConfig.clip_low must be < 1 (the ratio floor is 1 - clip_low), got {self.clip_low}")
        for name in ("gamma", "gae_lambda"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"AlgorithmConfig.{name} must be in [0, 1], got {getattr(self, name)}")

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> AlgorithmConfig:
        """Build from a mapping (a YAML section); unknown keys are errors naming the known ones."""
        return from_mapping(cls, data, "algorithm keys")


@dataclass
class TurnBatch:
    """One row per (episode, turn) response. Rows may come in any order."""

    episode_ids: np.ndarray
    """(N,) int: the episode each row belongs to."""
    group_ids: np.ndarray
    """(N,) int: episodes of the same room share a group (GRPO/RLOO compare within it)."""
    turns: np.ndarray
    """(N,) int: 0-based turn index within the episode; an episode's turns are 0..n-1."""
    rewards: np.ndarray
    """(N,) float: the env's per-turn reward."""
    dones: np.ndarray
    """(N,) bool: the row is its episode's last turn (exactly one per episode)."""
    values: np.ndarray | None = None
    """(N,) float: the value head's estimate per turn (PPO)."""
    object_scores: list[dict[str, float]] | None = None
    """Per row: object id -> that object's own physics/relations score in [0, 1]."""
    kl_penalty: np.ndarray | None = None
    """(N,) float, optional: summed log-ratio to the reference per response (``kl_mode="reward"``)."""

    def __post_init__(self) -> None:
        self.episode_ids = np.asarray(self.episode_ids, dtype=np.int64)
        self.group_ids = np.asarray(self.group_ids, dtype=np.int64)
        self.turns = np.asarray(self.turns, dtype=np.int64)
        self.rewards = np.asarray(self.rewards, dtype=np.float64)
        self.dones = np.asarray(self.dones, dtype=bool)
        if self.values is not None:
            self.values = np.asarray(self.values, dtype=np.float64)
        if self.kl_penalty is not None:
            self.kl_penalty = np.asarray(self.kl_penalty, dtype=np.float64)
        n = len(self.episode_ids)
        for name in ("group_ids", "turns", "rewards", "dones", "values", "kl_penalty", "object_scores"):
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise ValueError(f"TurnBatch.{name} has {len(value)} rows, episode_ids has {n}")
        for name in ("rewards", "values", "kl_penalty"):
            value = getattr(self, name)
            if value is not None and not np.all(np.isfinite(value)):
                raise ValueError(f"TurnBatch.{name} holds a non-finite value")
        for episode, rows in self.episode_rows().items():
            turns = self.turns[rows]
            if not np.array_equal(turns, np.arange(len(rows))):
                raise ValueError(f"episode {episode}: turns must be 0..{len(rows) - 1}, got {sorted(turns.tolist())}")
            if not self.dones[rows[-1]] or self.dones[rows[:-1]].any():
                raise ValueError(f"episode {episode}: exactly its last turn must be done (finish episodes before training)")
            if len(set(self.group_ids[rows].tolist())) != 1:
                raise ValueError(f"episode {episode}: its rows carry different group ids")

    def __len__(self) -> int:
        return len(self.episode_ids)

    def episode_rows(self) -> dict[int, np.ndarray]:
        """Episode id -> its row indices sorted by turn."""
        out: dict[int, np.ndarray] = {}
        for episode in np.unique(self.episode_ids):
            rows = np.flatnonzero(self.episode_ids == episode)
            out[int(episode)] = rows[np.argsort(self.turns[rows], kind="stable")]
        return out


def kl_reward_penalty(logprobs, ref_logprobs, mask) -> np.ndarray:
    """Per-response summed log-ratio ``sum_t (log pi - log pi_ref)`` (k1), for ``TurnBatch.kl_penalty``.

    Summed over the response, so subtracting ``kl_coef`` times it from the turn's reward equals the
    per-token reward penalty of REINFORCE++ / InstructGPT as seen from the response's first token.
    """
    torch = require("torch", "hf", "the RL losses")
    with torch.no_grad():
        diff = (logprobs.detach().float() - ref_logprobs.detach().float()) * mask.float()
        return diff.sum(dim=-1).cpu().numpy().astype(np.float64)


class Algorithm:
    """Base of every algorithm: shared returns and the clipped policy loss."""

    needs_value: bool = False
    needs_groups: bool = False

    def __init__(self, config: AlgorithmConfig) -> None:
        self.config = config

    # ----- advantages -------------------------------------------------------------------------
    def advantages(self, batch: TurnBatch) -> tuple[np.ndarray, np.ndarray]:
        """Per-row ``(advantages, returns)``, shape (N,)."""
        raise NotImplementedError

    def shaped_rewards(self, batch: TurnBatch) -> np.ndarray:
        """The per-turn rewards, less ``kl_coef * kl_penalty`` when the KL is a reward penalty."""
        rewards = batch.rewards.copy()
        if self.config.kl_mode == "reward" and self.config.kl_coef > 0:
            if batch.kl_penalty is None:
                raise ValueError("kl_mode='reward' with kl_coef > 0 needs TurnBatch.kl_penalty (see kl_reward_penalty)")
            rewards -= self.config.kl_coef * batch.kl_penalty
        return rewards

    def returns(self, batch: TurnBatch) -> np.ndarray:
        """Per-row return under ``credit``: the episode's return, or the turn's return-to-go."""
        rewards = self.shaped_rewards(batch)
        out = np.zeros(len(batch))
        for rows in batch.episode_rows().values():
            to_go = discounted_to_go(rewards[rows], self.config.gamma)
            out[rows] = to_go[0] if self.config.credit == "episode" else to_go
        return out

    def baseline_units(self, batch: TurnBatch, by_group: bool) -> list[np.ndarray]:
        """Rows whose returns are compared with each other, one representative row per unit.

        With ``episode`` credit an episode is one unit (counted once, whatever its length) and its
        first row represents it; with ``turn`` credit the rows of one turn index are compared (a
        turn-2 return-to-go is not comparable with a turn-0 one). ``by_group`` splits by room.
        """
        keys = batch.group_ids if by_group else np.zeros(len(batch), dtype=np.int64)
        if self.config.credit == "episode":
            keep = batch.turns == 0
            return [np.flatnonzero(keep & (keys == k)) for k in np.unique(keys[keep])]
        pairs = sorted(set(zip(keys.tolist(), batch.turns.tolist())))
        return [np.flatnonzero((keys == k) & (batch.turns == t)) for k, t in pairs]

    def broadcast_episode(self, batch: TurnBatch, per_row: np.ndarray) -> np.ndarray:
        """With ``episode`` credit, copy each episode's first-row value to all its rows."""
        if self.config.credit != "episode":
            return per_row
        out = per_row.copy()
        for rows in batch.episode_rows().values():
            out[rows] = per_row[rows[0]]
        return out

    # ----- loss -------------------------------------------------------------------------------
    def loss(self, logprobs, old_logprobs, advantages, mask, *, ref_logprobs=None, entropy=None,
             values=None, returns=None, token_weights=None):
        """Clipped policy-gradient loss over response tokens.

        Token tensors are (B, T) with ``mask`` 1 on response tokens; ``advantages`` (B,) broadcast
        over tokens. Every token term is averaged over all masked tokens of the batch (token-level
        mean, as DAPO). ``token_weights`` (B, T) from object credit scale the advantage sign-aware:
        a negative advantage is multiplied by the weight (bad objects blamed more), a positive one
        by ``2 - weight`` (good objects credited more). Returns ``(loss, metrics)``.
        """
        torch = require("torch", "hf", "the RL losses")
        cfg = self.config
        mask = mask.to(logprobs.dtype)
        n_tokens = mask.sum().clamp(min=1.0)

        def masked_mean(x):
            return (x * mask).sum() / n_tokens

        advantages = torch.as_tensor(advantages, dtype=logprobs.dtype, device=logprobs.device)
        adv = advantages[:, None].expand_as(logprobs)
        if token_weights is not None:
            weights = torch.as_tensor(token_weights, dtype=logprobs.dtype, device=logprobs.device).clamp(min=0.0)
            adv = torch.where(adv < 0, adv * weights, adv * (2.0 - weights).clamp(min=0.0))

        log_ratio = logprobs - old_logprobs.detach()
        if cfg.ratio_level == "sequence":
            # GSPO: the geometric mean of the token ratios, with the gradient flowing to each token.
            seq = (log_ratio * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)
            log_ratio = logprobs - logprobs.detach() + seq.detach()[:, None]
        ratio = torch.exp(log_ratio)
        clipped = ratio.clamp(1.0 - cfg.clip_low, 1.0 + cfg.clip_high)
        policy_loss = masked_mean(torch.maximum(-adv * ratio, -adv * clipped))
        with torch.no_grad():
            was_clipped = ((ratio < 1.0 - cfg.clip_low) & (adv < 0)) | ((ratio > 1.0 + cfg.clip_high) & (adv > 0))
            metrics = {
                "policy_loss": float(policy_loss.detach()),
                "clip_fraction": float(masked_mean(was_clipped.to(mask.dtype))),
                "ratio_mean": float(masked_mean(ratio)),
            }
        loss = policy_loss

        if ref_logprobs is not None:
            # k3 estimator of KL(pi || pi_ref): unbiased and always >= 0 (Schulman's note).
            ref_log_ratio = ref_logprobs.detach() - logprobs
            kl = masked_mean(torch.exp(ref_log_ratio) - ref_log_ratio - 1.0)
            metrics["kl"] = float(kl.detach())
            if cfg.kl_mode == "loss" and cfg.kl_coef > 0:
                loss = loss + cfg.kl_coef * kl
        elif cfg.kl_mode == "loss" and cfg.kl_coef > 0:
            raise ValueError("kl_coef > 0 with kl_mode='loss' needs ref_logprobs")

        if entropy is not None:
            mean_entropy = masked_mean(entropy)
            metrics["entropy"] = float(mean_entropy.detach())
            if cfg.entropy_coef > 0:
                loss = loss - cfg.entropy_coef * mean_entropy
        elif cfg.entropy_coef > 0:
            raise ValueError("entropy_coef > 0 needs the per-token entropy")

        if self.needs_value:
            if values is None or returns is None:
                raise ValueError(f"{cfg.name} trains a value head: loss() needs values and returns (B,)")
            returns = torch.as_tensor(returns, dtype=values.dtype, device=values.device)
            value_loss = 0.5 * ((values - returns) ** 2).mean()
            metrics["value_loss"] = float(value_loss.detach())
            loss = loss + cfg.value_coef * value_loss
        metrics["loss"] = float(loss.detach())
        return loss, metrics

    def token_weights(self, response_text: str, token_offsets: list[tuple[int, int]],
                      object_scores: dict[str, float] | None) -> np.ndarray:
        """Object-credit weights for one response (all ones when ``object_modulation`` is 0)."""
        from .object_credit import object_token_weights

        if self.config.object_modulation == 0 or not object_scores:
            return np.ones(len(token_offsets))
        return object_token_weights(response_text, token_offsets, object_scores, self.config.object_modulation)


def discounted_to_go(rewards: np.ndarray, gamma: float) -> np.ndarray:
    """``out[t] = sum_{k>=t} gamma^(k-t) rewards[k]``."""
    out = np.zeros(len(rewards))
    running = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + gamma * running
        out[t] = running
    return out
