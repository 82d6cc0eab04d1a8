"""Multi-turn RL training of layout policies.

- :mod:`training.trainer`: the learner (``metaspatial train --config configs/...yaml``), a
  transformers policy trained with rollouts on Ray; configured by :mod:`training.config`.
- :mod:`training.rollout`: Ray env workers and the driver that batches generation across episodes,
  with the generation engines of :mod:`training.engines`.
- :mod:`training.algorithms`: GRPO, RLOO, REINFORCE++ (and its baseline variant) and PPO over
  turns, with object-level credit.
- :mod:`training.pretrain`: a tiny tokenizer and transformer pre-trained here, for CPU runs.
- :mod:`training.rllib`: RLlib PPO, SAC and APPO on ``MetaSpatialContinuous-v0``
  (``metaspatial rllib``), with ready configs in ``training/configs``.
- :mod:`training.cli`: the ``train`` and ``rllib`` subcommands.

Importing the package imports none of them; torch and Ray are the ``train`` extra's.
"""
