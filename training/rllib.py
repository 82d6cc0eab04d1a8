"""RLlib (new API stack) on ``MetaSpatialContinuous-v0``: PPO, SAC and APPO with ready configs.

``metaspatial rllib --algo ppo --iterations 20`` loads ``training/configs/rllib_ppo.yaml``,
trains on CPU and writes one CSV row per iteration (``iteration, env_steps, episodes,
episode_return_mean, seconds``). The env is registered with ``ray.tune.register_env`` under
:data:`RLLIB_ENV_NAME`; its ``env_config`` is the env's construction arguments
(:class:`metaspatial_env.continuous.ContinuousConfig`), so the rooms, the reward and the scoring
are those of the text env.
"""

from __future__ import annotations

import csv
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from metaspatial_env.config import from_mapping
from metaspatial_env.deps import require

RLLIB_ENV_NAME = "MetaSpatialContinuous-v0"
ALGOS = ("appo", "ppo", "sac")
CONFIG_DIR = Path(__file__).parent / "configs"


@dataclass(frozen=True)
class RLlibRunConfig:
    """One RLlib training run. Unknown keys are errors (see :meth:`from_dict`)."""

    algo: str = "ppo"
    """``ppo``, ``sac`` or ``appo``."""
    iterations: int = 20
    """``Algorithm.train()`` calls."""
    env: dict = field(default_factory=lambda: {"max_objects": 5, "max_turns": 1})
    """Construction arguments of ``ContinuousLayoutEnv`` (default: easy rooms, one layout per episode)."""
    num_env_runners: int = 1
    """Sampling actors (0: sample in the driver process)."""
    num_envs_per_env_runner: int = 1
    """Envs stepped together by each runner (a vector env)."""
    rollout_fragment_length: int | str = "auto"
    """Steps per runner per sample call (``auto``: derived from the batch size)."""
    train_batch_size: int = 2000
    """Env steps per training iteration (PPO, APPO); SAC's per-update batch."""
    lr: float = 3e-4
    """Learning rate (SAC: actor, critic and alpha)."""
    gamma: float = 0.99
    """Discount."""
    hidden: tuple[int, ...] = (256, 256)
    """Hidden layer sizes of the policy and value MLPs."""
    seed: int = 0
    """Seed of the algorithm and its envs."""
    training: dict = field(default_factory=dict)
    """Further keyword arguments of the RLlib algorithm's ``.training()`` (RLlib checks them)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        if self.algo not in ALGOS:
            raise ValueError(f"algo must be one of {ALGOS}, got {self.algo!r}")
        for name in ("iterations", "train_batch_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive int, got {getattr(self, name)!r}")
        if self.num_env_runners < 0 or self.num_envs_per_env_runner < 1:
            raise ValueError("num_env_runners must be >= 0 and num_envs_per_env_runner >= 1")
        from metaspatial_env.continuous import ContinuousConfig

        ContinuousConfig.from_kwargs(self.env)  # a bad env config fails here, not inside a Ray actor

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> RLlibRunConfig:
        return from_mapping(cls, data, "RLlib config keys")


def load_run_config(algo: str | None = None, path: str | Path | None = None, **overrides: Any) -> RLlibRunConfig:
    """The ready config of ``algo`` (``training/configs/rllib_<algo>.yaml``) or the YAML at ``path``,
    with ``overrides`` (None values ignored) applied on top."""
    yaml = require("yaml", "train", "RLlib run configs")
    if path is None:
        if algo not in ALGOS:
            raise ValueError(f"algo must be one of {ALGOS}, got {algo!r}")
        path = CONFIG_DIR / f"rllib_{algo}.yaml"
    data = yaml.safe_load(Path(path).read_text()) or {}
    if algo is not None and data.get("algo", algo) != algo:
        raise ValueError(f"{path} configures {data['algo']!r}, not {algo!r}")
    data.update({k: v for k, v in overrides.items() if v is not None})
    if algo is not None:
        data["algo"] = algo
    return RLlibRunConfig.from_dict(data)


def register_rllib_env() -> str:
    """Register ``MetaSpatialContinuous-v0`` with Ray Tune's env registry; returns its name."""
    register_env = require("ray.tune.registry", "ray", "RLlib training").register_env

    def make(env_config):
        from metaspatial_env.continuous import ContinuousLayoutEnv

        return ContinuousLayoutEnv(**dict(env_config))

    register_env(RLLIB_ENV_NAME, make)
    return RLLIB_ENV_NAME


def build_algorithm_config(cfg: RLlibRunConfig):
    """The RLlib ``AlgorithmConfig`` (new API stack, torch, CPU) for a run."""
    require("ray.rllib", "ray", "RLlib training")
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    if cfg.algo == "ppo":
        from ray.rllib.algorithms.ppo import PPOConfig as Config
    elif cfg.algo == "appo":
        from ray.rllib.algorithms.appo import APPOConfig as Config
    else:
        from ray.rllib.algorithms.sac import SACConfig as Config

    config = (
        Config()
        .api_stack(enable_rl_module_and_learner=True, enable_env_runner_and_connector_v2=True)
        .framework("torch")
        .environment(register_rllib_env(), env_config=dict(cfg.env))
        .env_runners(num_env_runners=cfg.num_env_runners, num_envs_per_env_runner=cfg.num_envs_per_env_runner,
                     rollout_fragment_length=cfg.rollout_fragment_length)
        .learners(num_learners=0)
        .debugging(seed=cfg.seed)
        .reporting(metrics_num_episodes_for_smoothing=100)
    )
    if cfg.algo == "appo":
        # APPO samples asynchronously: without a floor an iteration can return before any sample
        # arrived (NaN metrics, seen on a loaded machine), so each waits for a train batch of env steps.
        config = config.reporting(min_sample_timesteps_per_iteration=cfg.train_batch_size)
    if cfg.algo == "sac":
        config = config.training(gamma=cfg.gamma, actor_lr=cfg.lr, critic_lr=cfg.lr, alpha_lr=cfg.lr,
                                 train_batch_size_per_learner=cfg.train_batch_size, **cfg.training)
        config = config.rl_module(model_config=DefaultModelConfig(fcnet_hiddens=list(cfg.hidden),
                                                                  head_fcnet_hiddens=[]))
    else:
        config = config.training(gamma=cfg.gamma, lr=cfg.lr, train_batch_size_per_learner=cfg.train_batch_size,
                                 **cfg.training)
        config = config.rl_module(model_config=DefaultModelConfig(fcnet_hiddens=list(cfg.hidden),
                                                                  vf_share_layers=False))
    return config


def _metric(result: dict[str, Any], *keys: str) -> float:
    value: Any = result
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return float("nan")
        value = value[key]
    return float(value)


def greedy_return(module, env_kwargs: dict[str, Any], episodes: int, seed: int = 12345) -> dict[str, float]:
    """Mean return and success rate of an RLModule's deterministic actions (the mean of its action
    distribution, no exploration noise) over ``episodes`` rooms drawn with ``seed``."""
    import numpy as np

    from metaspatial_env.continuous import ContinuousLayoutEnv

    torch = require("torch", "hf", "evaluating an RLlib policy")

    env = ContinuousLayoutEnv(**env_kwargs)
    dist_cls = module.get_inference_action_dist_cls()
    returns, successes = [], []
    env.reset(seed=seed)
    for _ in range(episodes):
        obs, _ = env.reset()
        total, done, success = 0.0, False, False
        while not done:
            with torch.no_grad():
                out = module.forward_inference({"obs": torch.as_tensor(obs[None])})
                action = dist_cls.from_logits(out["action_dist_inputs"]).to_deterministic().sample()[0].numpy()
            obs, reward, terminated, truncated, info = env.step(np.clip(action, -1.0, 1.0))
            total, done, success = total + reward, terminated or truncated, info["success"]
        returns.append(total)
        successes.append(success)
    env.close()
    return {"greedy_return_mean": float(np.mean(returns)), "greedy_success_rate": float(np.mean(successes)),
            "greedy_episodes": episodes}


def train(cfg: RLlibRunConfig, out_csv: str | Path | None = None, *, progress: bool = True,
          max_seconds: float | None = None, greedy_episodes: int = 0) -> list[dict[str, float]]:
    """Train ``cfg.iterations`` iterations (fewer when ``max_seconds`` of training have passed);
    returns (and writes to ``out_csv``) one row per iteration. With ``greedy_episodes`` the trained
    policy is then evaluated without exploration (:func:`greedy_return`) and the last row gets
    ``greedy_return_mean`` and ``greedy_success_rate`` (not in the CSV).

    Starts a local Ray (``num_cpus=2``) unless Ray is already initialised (then it is reused, so a
    cluster address given to ``ray.init`` first is honoured).
    """
    ray = require("ray", "ray", "RLlib training")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    rows: list[dict[str, float]] = []
    writer = None
    handle = None
    try:
        algo = build_algorithm_config(cfg).build_algo()
        if out_csv is not None:
            Path(out_csv).parent.mkdir(parents=True, exist_ok=True)
            handle = open(out_csv, "w", newline="")
        clock = time.perf_counter()
        for i in range(1, cfg.iterations + 1):
            result = algo.train()
            row = {
                "iteration": i,
                "env_steps": _metric(result, "env_runners", "num_env_steps_sampled_lifetime"),
                "episodes": _metric(result, "env_runners", "num_episodes_lifetime"),
                "episode_return_mean": _metric(result, "env_runners", "episode_return_mean"),
                "seconds": round(time.perf_counter() - clock, 2),
            }
            rows.append(row)
            if handle is not None:
                if writer is None:
                    writer = csv.DictWriter(handle, fieldnames=list(row))
                    writer.writeheader()
                writer.writerow(row)
                handle.flush()
            if progress:
                print(f"[{cfg.algo}] iter {i}/{cfg.iterations} steps {row['env_steps']:.0f} "
                      f"return {row['episode_return_mean']:.4f} ({row['seconds']:.0f} s)", flush=True)
            if max_seconds is not None and row["seconds"] >= max_seconds:
                break
        if greedy_episodes:
            rows[-1].update(greedy_return(algo.get_module(), dict(cfg.env), greedy_episodes))
        algo.stop()
    finally:
        if handle is not None:
            handle.close()
        if started:
            ray.shutdown()
    return rows


def config_summary(cfg: RLlibRunConfig) -> dict[str, Any]:
    """The run's config as a JSON-able dict (for logs and result files)."""
    out = asdict(cfg)
    out["hidden"] = list(cfg.hidden)
    return out
