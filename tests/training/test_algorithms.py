"""Advantage estimators and the shared loss against values computed by hand (the numbers in the
tables were worked out on paper from the formulas in each module's docstring)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from training.algorithms import AlgorithmConfig, TurnBatch, algorithm_names, kl_reward_penalty, make_algorithm

# Two rooms. Room 0: episode 0 ends after 2 turns (rewards 0.2, 0.6), episode 1 after 1 turn (0.4).
# Room 1: episode 2 runs 3 turns (0.1 each), episode 3 one turn (0.3): equal returns, zero variance.
# Rows are deliberately out of order.
ROWS = [  # (episode, group, turn, reward, done)
    (2, 1, 2, 0.1, True),
    (0, 0, 1, 0.6, True),
    (1, 0, 0, 0.4, True),
    (2, 1, 0, 0.1, False),
    (0, 0, 0, 0.2, False),
    (3, 1, 0, 0.3, True),
    (2, 1, 1, 0.1, False),
]


def batch(rows=ROWS, **extra) -> TurnBatch:
    episodes, groups, turns, rewards, dones = zip(*rows)
    return TurnBatch(episode_ids=episodes, group_ids=groups, turns=turns, rewards=rewards, dones=dones, **extra)


def by_key(values, rows=ROWS) -> dict[tuple[int, int], float]:
    """Row values keyed by (episode, turn), so the tables read in episode order."""
    return {(r[0], r[2]): float(v) for r, v in zip(rows, values)}


# Expected advantages and returns per (episode, turn).
ADVANTAGE_TABLE = [
    # GRPO, episode credit: room 0 returns 0.8 / 0.4 -> mean 0.6, std 0.2 -> +1 / -1; room 1 all 0.3 -> 0.
    ({"name": "grpo"}, {(0, 0): 1.0, (0, 1): 1.0, (1, 0): -1.0, (2, 0): 0.0, (2, 1): 0.0, (2, 2): 0.0, (3, 0): 0.0},
     {(0, 0): 0.8, (0, 1): 0.8, (1, 0): 0.4, (2, 0): 0.3, (2, 1): 0.3, (2, 2): 0.3, (3, 0): 0.3}),
    # Dr.GRPO (no std): centred only.
    ({"name": "grpo", "normalize_std": False},
     {(0, 0): 0.2, (0, 1): 0.2, (1, 0): -0.2, (2, 0): 0.0, (2, 1): 0.0, (2, 2): 0.0, (3, 0): 0.0}, None),
    # GRPO, turn credit: returns-to-go 0.8, 0.6 | 0.4 | 0.3, 0.2, 0.1 | 0.3; compared per (room, turn):
    # room 0 turn 0: 0.8 vs 0.4 -> +1 / -1; every other (room, turn) has one member or equal values -> 0.
    ({"name": "grpo", "credit": "turn"},
     {(0, 0): 1.0, (0, 1): 0.0, (1, 0): -1.0, (2, 0): 0.0, (2, 1): 0.0, (2, 2): 0.0, (3, 0): 0.0},
     {(0, 0): 0.8, (0, 1): 0.6, (1, 0): 0.4, (2, 0): 0.3, (2, 1): 0.2, (2, 2): 0.1, (3, 0): 0.3}),
    # gamma 0.5, turn credit: ep0 0.2 + 0.5*0.6 = 0.5, 0.6; ep2 0.1 + 0.5*(0.1 + 0.5*0.1) = 0.175, 0.15, 0.1.
    # Room 1 turn 0: 0.175 vs 0.3 -> mean 0.2375, std 0.0625 -> -1 / +1.
    ({"name": "grpo", "credit": "turn", "gamma": 0.5},
     {(0, 0): 1.0, (0, 1): 0.0, (1, 0): -1.0, (2, 0): -1.0, (2, 1): 0.0, (2, 2): 0.0, (3, 0): 1.0},
     {(0, 0): 0.5, (0, 1): 0.6, (1, 0): 0.4, (2, 0): 0.175, (2, 1): 0.15, (2, 2): 0.1, (3, 0): 0.3}),
    # RLOO: room 0: 0.8 - 0.4 = 0.4, 0.4 - 0.8 = -0.4; room 1: 0.3 - 0.3 = 0.
    ({"name": "rloo"}, {(0, 0): 0.4, (0, 1): 0.4, (1, 0): -0.4, (2, 0): 0.0, (2, 1): 0.0, (2, 2): 0.0, (3, 0): 0.0},
     None),
    # RLOO, turn credit: room 0 turn 0 as above; every other (room, turn) group has 1 member or equal values.
    ({"name": "rloo", "credit": "turn"},
     {(0, 0): 0.4, (0, 1): 0.0, (1, 0): -0.4, (2, 0): 0.0, (2, 1): 0.0, (2, 2): 0.0, (3, 0): 0.0}, None),
    # REINFORCE++: the batch's episode returns 0.8, 0.4, 0.3, 0.3 -> mean 0.45, std sqrt(0.0425) = 0.2061553;
    # 0.35 / 0.2061553 = 1.697749, -0.05 / 0.2061553 = -0.242536, -0.15 / 0.2061553 = -0.727607.
    ({"name": "reinforce_pp"},
     {(0, 0): 1.697749, (0, 1): 1.697749, (1, 0): -0.242536, (2, 0): -0.727607, (2, 1): -0.727607,
      (2, 2): -0.727607, (3, 0): -0.727607}, None),
    ({"name": "reinforce_pp", "normalize_std": False},
     {(0, 0): 0.35, (0, 1): 0.35, (1, 0): -0.05, (2, 0): -0.15, (2, 1): -0.15, (2, 2): -0.15, (3, 0): -0.15}, None),
    # REINFORCE++, turn credit: turn 0 across the batch: 0.8, 0.4, 0.3, 0.3 (as above); turn 1: 0.6, 0.2 ->
    # +1 / -1; turn 2: 0.1 alone -> 0.
    ({"name": "reinforce_pp", "credit": "turn"},
     {(0, 0): 1.697749, (0, 1): 1.0, (1, 0): -0.242536, (2, 0): -0.727607, (2, 1): -1.0, (2, 2): 0.0,
      (3, 0): -0.727607}, None),
    # REINFORCE++-baseline: centred per room: 0.8, 0.4 -> +0.2, -0.2; 0.3, 0.3 -> 0, 0; batch std of
    # (0.2, -0.2, 0, 0) = sqrt(0.02) = 0.1414214 -> +-1.414214.
    ({"name": "reinforce_pp_baseline"},
     {(0, 0): 1.414214, (0, 1): 1.414214, (1, 0): -1.414214, (2, 0): 0.0, (2, 1): 0.0, (2, 2): 0.0, (3, 0): 0.0},
     None),
    # Turn credit: turn 0 as above; turn 1 (0.6 and 0.2 alone in their rooms) centres to 0, 0 -> 0.
    ({"name": "reinforce_pp_baseline", "credit": "turn"},
     {(0, 0): 1.414214, (0, 1): 0.0, (1, 0): -1.414214, (2, 0): 0.0, (2, 1): 0.0, (2, 2): 0.0, (3, 0): 0.0},
     None),
]


@pytest.mark.parametrize(("config", "expected_adv", "expected_ret"), ADVANTAGE_TABLE)
def test_advantages_by_hand(config, expected_adv, expected_ret):
    adv, ret = make_algorithm(AlgorithmConfig.from_dict(config)).advantages(batch())
    assert np.all(np.isfinite(adv))
    assert by_key(adv) == pytest.approx(expected_adv, abs=2e-5)
    if expected_ret is not None:
        assert by_key(ret) == pytest.approx(expected_ret, abs=1e-12)


@pytest.mark.parametrize("name", ["grpo", "rloo", "reinforce_pp", "reinforce_pp_baseline"])
def test_zero_variance_gives_zero_not_nan(name):
    rows = [(0, 0, 0, 0.5, True), (1, 0, 0, 0.5, True), (2, 0, 0, 0.5, True)]
    adv, _ = make_algorithm(AlgorithmConfig(name=name)).advantages(batch(rows))
    assert adv.tolist() == [0.0, 0.0, 0.0]


def test_rloo_three_member_group():
    rows = [(0, 0, 0, 1.0, True), (1, 0, 0, 0.0, True), (2, 0, 0, 0.5, True)]
    adv, _ = make_algorithm(AlgorithmConfig(name="rloo")).advantages(batch(rows))
    # 1 - (0 + 0.5)/2 = 0.75; 0 - (1 + 0.5)/2 = -0.75; 0.5 - (1 + 0)/2 = 0.
    assert adv.tolist() == pytest.approx([0.75, -0.75, 0.0])


PPO_ROWS = [(0, 0, 0, 0.2, False), (0, 0, 1, 0.6, True), (1, 0, 0, 1.0, True)]
PPO_VALUES = [0.5, 0.4, 0.3]
PPO_TABLE = [
    # turn credit, gamma 1, lambda 0.5: d1 = 0.6 - 0.4 = 0.2; d0 = 0.2 + 0.4 - 0.5 = 0.1; A0 = 0.1 + 0.5*0.2 = 0.2.
    # Episode 1 (one turn): A = 1.0 - 0.3 = 0.7. Returns A + V.
    ({"credit": "turn", "gae_lambda": 0.5}, [0.2, 0.2, 0.7], [0.7, 0.6, 1.0]),
    # episode credit: the return 0.8 is paid at the last turn: d1 = 0.8 - 0.4 = 0.4; d0 = 0 + 0.4 - 0.5 = -0.1;
    # A0 = -0.1 + 0.5*0.4 = 0.1.
    ({"credit": "episode", "gae_lambda": 0.5}, [0.1, 0.4, 0.7], [0.6, 0.8, 1.0]),
    # gamma 0.9, lambda 1: d1 = 0.2; d0 = 0.2 + 0.9*0.4 - 0.5 = 0.06; A0 = 0.06 + 0.9*0.2 = 0.24.
    ({"credit": "turn", "gamma": 0.9, "gae_lambda": 1.0}, [0.24, 0.2, 0.7], [0.74, 0.6, 1.0]),
    # lambda 0: one-step TD errors.
    ({"credit": "turn", "gae_lambda": 0.0}, [0.1, 0.2, 0.7], [0.6, 0.6, 1.0]),
]


@pytest.mark.parametrize(("config", "expected_adv", "expected_ret"), PPO_TABLE)
def test_ppo_gae_over_turns_by_hand(config, expected_adv, expected_ret):
    adv, ret = make_algorithm(AlgorithmConfig(name="ppo", **config)).advantages(batch(PPO_ROWS, values=PPO_VALUES))
    assert adv.tolist() == pytest.approx(expected_adv, abs=1e-12)
    assert ret.tolist() == pytest.approx(expected_ret, abs=1e-12)


def test_kl_as_reward_penalty():
    # Shaped rewards: episode 0: 0.2 - 0.1*1 = 0.1, 0.6 - 0.1*2 = 0.4 -> return 0.5; episode 1: 0.4 - 0 = 0.4.
    rows = [(0, 0, 0, 0.2, False), (0, 0, 1, 0.6, True), (1, 0, 0, 0.4, True)]
    algo = make_algorithm(AlgorithmConfig(name="grpo", kl_coef=0.1, kl_mode="reward", normalize_std=False))
    adv, ret = algo.advantages(batch(rows, kl_penalty=[1.0, 2.0, 0.0]))
    assert ret.tolist() == pytest.approx([0.5, 0.5, 0.4])
    assert adv.tolist() == pytest.approx([0.05, 0.05, -0.05])
    with pytest.raises(ValueError, match="kl_penalty"):
        algo.advantages(batch(rows))


def test_kl_reward_penalty_sums_masked_log_ratio():
    logprobs = torch.tensor([[-1.0, -2.0, -9.0]])
    ref = torch.tensor([[-1.5, -1.0, 0.0]])
    mask = torch.tensor([[1, 1, 0]])
    assert kl_reward_penalty(logprobs, ref, mask).tolist() == pytest.approx([0.5 - 1.0])


# ---------------------------------------------------------------------------- loss


def loss_of(config, ratios, advantage, mask=None, **kw):
    """Loss for one sequence whose token ratios are ``ratios`` (old log-probs 0)."""
    logprobs = torch.log(torch.tensor([ratios], dtype=torch.float64)).requires_grad_(True)
    mask = torch.tensor([mask or [1] * len(ratios)], dtype=torch.float64)
    algo = make_algorithm(AlgorithmConfig(**config))
    loss, metrics = algo.loss(logprobs, torch.zeros_like(logprobs), torch.tensor([advantage]), mask, **kw)
    loss.backward()
    return loss.item(), metrics, logprobs.grad[0].tolist()


LOSS_TABLE = [
    # Token ratios 1.5 and 0.9, A = +1, clip 0.2: token 0 clipped to 1.2 -> -1.2; token 1 -0.9; mean -1.05.
    ({}, [1.5, 0.9], 1.0, None, -1.05, 0.5),
    # A = -1: max(1.5, 1.2) = 1.5 (the unclipped branch: a bad, over-likely token is not clipped), 0.9 -> 1.2.
    ({}, [1.5, 0.9], -1.0, None, 1.2, 0.0),
    # Clip-higher (0.6): 1.5 < 1.6 is kept: (-1.5 - 0.9) / 2 = -1.2.
    ({"clip_high": 0.6}, [1.5, 0.9], 1.0, None, -1.2, 0.0),
    # Ratio 0.5, A = -1: max(0.5, 0.8) = 0.8, clipped from below.
    ({}, [0.5], -1.0, None, 0.8, 1.0),
    # Sequence level: sqrt(1.5 * 0.9) = 1.161895 < 1.2: every token gets -1.161895. The padded token
    # (ratio 100) is masked out.
    ({"ratio_level": "sequence"}, [1.5, 0.9, 100.0], 1.0, [1, 1, 0], -1.161895, 0.0),
    # Sequence level above the clip: sqrt(1.5 * 1.5) = 1.5 -> clipped to 1.2 on both tokens.
    ({"ratio_level": "sequence"}, [1.5, 1.5], 1.0, None, -1.2, 1.0),
]


@pytest.mark.parametrize(("config", "ratios", "advantage", "mask", "expected_loss", "expected_clip"), LOSS_TABLE)
def test_policy_loss_by_hand(config, ratios, advantage, mask, expected_loss, expected_clip):
    loss, metrics, _ = loss_of(config, ratios, advantage, mask)
    assert loss == pytest.approx(expected_loss, abs=1e-6)
    assert metrics["policy_loss"] == pytest.approx(expected_loss, abs=1e-6)
    assert metrics["clip_fraction"] == pytest.approx(expected_clip)


def test_clipped_branch_has_no_gradient():
    # d/dlogp of -A * r / n_tokens is -r / 2 for the unclipped token (A = 1, 2 tokens); 0 for the clipped one.
    _, _, grad = loss_of({}, [1.5, 0.9], 1.0)
    assert grad == pytest.approx([0.0, -0.45])


def test_sequence_ratio_spreads_gradient_over_tokens():
    # Ratio exp(mean log r) = 1.161895 with d ratio / d logp_t = ratio / 2 per token; loss -ratio * 2 / 2
    # tokens -> each token's gradient is -1.161895 / 2.
    _, _, grad = loss_of({"ratio_level": "sequence"}, [1.5, 0.9], 1.0)
    assert grad == pytest.approx([-0.5809475, -0.5809475], abs=1e-6)


def test_kl_k3_entropy_and_value_terms():
    # ref - logp per token: log 2, 0, -log 2 -> k3 = (2 - log 2 - 1) + 0 + (0.5 + log 2 - 1) = 0.5; mean 1/6.
    logprobs = torch.tensor([[-1.0, -1.0, -1.0, -5.0]], requires_grad=True, dtype=torch.float64)
    ref = logprobs.detach() + torch.tensor([[math.log(2), 0.0, -math.log(2), 3.0]], dtype=torch.float64)
    mask = torch.tensor([[1, 1, 1, 0]], dtype=torch.float64)
    entropy = torch.tensor([[1.0, 2.0, 3.0, 50.0]], dtype=torch.float64)
    values = torch.tensor([0.5], dtype=torch.float64)
    algo = make_algorithm(AlgorithmConfig(name="ppo", kl_coef=0.1, entropy_coef=0.01, value_coef=0.5))
    loss, m = algo.loss(logprobs, logprobs.detach(), torch.tensor([0.0]), mask, ref_logprobs=ref, entropy=entropy,
                        values=values, returns=torch.tensor([1.0]))
    assert m["kl"] == pytest.approx(1 / 6)
    assert m["entropy"] == pytest.approx(2.0)
    assert m["value_loss"] == pytest.approx(0.5 * 0.25)  # 0.5 * (0.5 - 1)^2
    # policy 0 (A = 0) + 0.1 * 1/6 - 0.01 * 2 + 0.5 * 0.125
    assert loss.item() == pytest.approx(0.1 / 6 - 0.02 + 0.0625)
    # As a reward penalty the KL is reported but stays out of the loss.
    algo = make_algorithm(AlgorithmConfig(name="grpo", kl_coef=0.1, kl_mode="reward"))
    loss, m = algo.loss(logprobs, logprobs.detach(), torch.tensor([0.0]), mask, ref_logprobs=ref)
    assert m["kl"] == pytest.approx(1 / 6) and loss.item() == 0.0


@pytest.mark.parametrize(("advantage", "weights", "expected"), [
    (-1.0, [2.0, 0.5], (2.0 + 0.5) / 2),     # negative: A * w -> -2, -0.5; loss = mean(2, 0.5)
    (1.0, [1.5, 0.5], -(0.5 + 1.5) / 2),     # positive: A * (2 - w) -> 0.5, 1.5
    (1.0, [1.0, 1.0], -1.0),                 # weight 1 changes nothing
])
def test_token_weights_are_sign_aware(advantage, weights, expected):
    loss, _, _ = loss_of({}, [1.0, 1.0], advantage, token_weights=torch.tensor([weights]))
    assert loss == pytest.approx(expected)


def test_loss_metric_keys_and_batch_token_mean():
    # Two sequences, 1 and 3 tokens, ratio 1: the token mean weights tokens, not sequences: -(1*1 + 3*(-1))/4.
    logprobs = torch.zeros(2, 3)
    mask = torch.tensor([[1, 0, 0], [1, 1, 1]])
    loss, m = make_algorithm(AlgorithmConfig()).loss(logprobs, logprobs, torch.tensor([1.0, -1.0]), mask)
    assert loss.item() == pytest.approx(0.5)
    assert {"policy_loss", "clip_fraction", "ratio_mean", "loss"} <= set(m)


# ---------------------------------------------------------------------------- errors


def test_names_and_flags():
    assert algorithm_names() == ["grpo", "ppo", "reinforce_pp", "reinforce_pp_baseline", "rloo"]
    flags = {n: (make_algorithm(AlgorithmConfig(name=n)).needs_value, make_algorithm(AlgorithmConfig(name=n)).needs_groups)
             for n in algorithm_names()}
    assert flags == {"grpo": (False, True), "ppo": (True, False), "reinforce_pp": (False, False),
                     "reinforce_pp_baseline": (False, True), "rloo": (False, True)}


@pytest.mark.parametrize(("config", "message"), [
    ({"name": "grpo", "clip": 0.2}, "unknown algorithm keys"),
    ({"ratio_level": "tokens"}, "ratio_level"),
    ({"kl_mode": "penalty"}, "kl_mode"),
    ({"credit": "step"}, "credit"),
    ({"clip_low": 1.0}, "clip_low"),
    ({"kl_coef": -0.1}, "kl_coef"),
    ({"gamma": 1.5}, "gamma"),
    ({"clip_high": float("nan")}, "clip_high"),
])
def test_bad_config(config, message):
    with pytest.raises(ValueError, match=message):
        AlgorithmConfig.from_dict(config)


def test_unknown_algorithm():
    with pytest.raises(ValueError, match="unknown algorithm 'a2c'"):
        make_algorithm(AlgorithmConfig(name="a2c"))


@pytest.mark.parametrize(("rows", "message"), [
    ([(0, 0, 0, 0.1, False)], "last turn must be done"),
    ([(0, 0, 0, 0.1, True), (0, 0, 1, 0.1, True)], "last turn must be done"),
    ([(0, 0, 0, 0.1, False), (0, 0, 2, 0.1, True)], "turns must be 0..1"),
    ([(0, 0, 0, 0.1, False), (0, 1, 1, 0.1, True)], "different group ids"),
    ([(0, 0, 0, float("nan"), True)], "non-finite"),
])
def test_bad_batch(rows, message):
    with pytest.raises(ValueError, match=message):
        batch(rows)


def test_batch_length_mismatch_and_missing_inputs():
    with pytest.raises(ValueError, match="rewards has 1 rows"):
        TurnBatch(episode_ids=[0, 1], group_ids=[0, 0], turns=[0, 0], rewards=[1.0], dones=[True, True])
    with pytest.raises(ValueError, match="values"):
        make_algorithm(AlgorithmConfig(name="ppo")).advantages(batch())
    lp = torch.zeros(1, 2)
    with pytest.raises(ValueError, match="ref_logprobs"):
        make_algorithm(AlgorithmConfig(kl_coef=0.1)).loss(lp, lp, torch.tensor([1.0]), torch.ones(1, 2))
    with pytest.raises(ValueError, match="values and returns"):
        make_algorithm(AlgorithmConfig(name="ppo")).loss(lp, lp, torch.tensor([1.0]), torch.ones(1, 2))
