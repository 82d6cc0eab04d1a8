"""The trainer end to end on CPU through Ray: two steps, a checkpoint, an exact resume; the config."""

from __future__ import annotations

import csv

import pytest

pytest.importorskip("ray")
pytest.importorskip("transformers")

import ray  # noqa: E402

import metaspatial_env  # noqa: E402, F401
from training.algorithms import AlgorithmConfig  # noqa: E402
from training.config import HeldOutConfig, TrainConfig, apply_overrides, load_config  # noqa: E402
from training.trainer import Trainer, room_pool  # noqa: E402

from .tiny_policy import save_tiny_policy  # noqa: E402

ENV_ID = "metaspatial_env:MetaSpatial-Text-v0"
#: A few easy generated rooms: no split file to load and validate.
ROOMS = "generated:9100000:6"


@pytest.fixture(scope="module")
def tiny_model_path(tmp_path_factory):
    """A tiny Qwen2 policy and BPE tokenizer built here and saved (loaded back offline by the trainer)."""
    return save_tiny_policy(tmp_path_factory.mktemp("tiny_policy"), ENV_ID, room_pool(ROOMS, 1, 5))


@pytest.fixture(scope="module")
def ray_local():
    """One local Ray for the module's tests (starting it costs seconds)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        ray.init(num_cpus=2, include_dashboard=False, configure_logging=False)
        yield
        ray.shutdown()


def _config(model_path: str, output_dir, algorithm: dict, **extra) -> TrainConfig:
    data = {
        "model": {"path": model_path},
        "algorithm": algorithm,
        "rollout": {"env_id": ENV_ID, "env_kwargs": {"max_turns": 2}, "split": ROOMS, "max_objects": 5,
                    "rooms_per_step": 2, "group_size": 2, "num_workers": 2, "worker_num_cpus": 0.5,
                    "max_new_tokens": 10, "system_prompt": ""},
        "optim": {"lr": 1e-3, "micro_batch_rows": 3, "mini_batches": 2},
        "eval": {"every": 0},
        "steps": 2, "seed": 5, "output_dir": str(output_dir), "tensorboard": True, "progress": False,
        "torch_threads": 1,
    }
    return TrainConfig.from_dict(apply_overrides(data, [f"{k}={v}" for k, v in extra.items()]))


def _comparable(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if not k.startswith("time/")}


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", [{"name": "grpo", "kl_coef": 0.05, "entropy_coef": 0.01, "object_modulation": 0.5},
                                       {"name": "ppo"}])
def test_two_steps_checkpoint_and_exact_resume(ray_local, tiny_model_path, tmp_path, algorithm):
    first = Trainer(_config(tiny_model_path, tmp_path, algorithm))
    try:
        history = first.train()  # two steps, then a checkpoint
        after_resume_point = first.step()
    finally:
        first.close()
    assert [m["step"] for m in history] == [1, 2]
    for metrics in history:
        assert {"reward/return", "reward/final_total", "success", "reward/turn_1", "reward/format", "loss/policy_loss",
                "loss/entropy", "loss/clip_fraction", "response_length", "time/generation", "time/env",
                "time/learner"} <= set(metrics)
        assert metrics["grad_norm"] > 0
    if algorithm["name"] == "grpo":
        assert "loss/kl" in history[0]
    else:
        assert "loss/value_loss" in history[0]
    rows = list(csv.DictReader((tmp_path / "metrics.csv").open()))
    assert [int(r["step"]) for r in rows] == [1, 2]
    assert any((tmp_path / "tensorboard").iterdir())
    checkpoint = tmp_path / "checkpoints" / "step_000002"
    assert (checkpoint / "trainer.pt").is_file() and (checkpoint / "model" / "config.json").is_file()

    # The interrupted run had logged steps past its last checkpoint; the resumed run replaces them.
    with (tmp_path / "metrics.csv").open("a", newline="") as handle:
        csv.writer(handle).writerows([[3] + [-1.0] * (len(rows[0]) - 1), [4] + [-1.0] * (len(rows[0]) - 1)])
    resumed = Trainer(_config(tiny_model_path, tmp_path, algorithm, resume="latest", steps=3))
    try:
        assert resumed.step_index == 2
        next_step = resumed.train()[-1]
    finally:
        resumed.close()
    assert _comparable(next_step) == _comparable(after_resume_point)
    rows = list(csv.DictReader((tmp_path / "metrics.csv").open()))
    assert [int(r["step"]) for r in rows] == [1, 2, 3]
    assert float(rows[2]["reward/return"]) == pytest.approx(next_step["reward/return"])


def test_config_rejects_unknown_keys_and_applies_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model: {path: some/dir}\nrollout: {group_size: 4}\nsteps: 3\n")
    config = load_config(path, ["rollout.group_size=8", "optim.lr=3e-4", "algorithm={name: rloo}"])
    assert config.rollout.group_size == 8 and config.optim.lr == 3e-4 and config.algorithm == AlgorithmConfig(name="rloo")
    with pytest.raises(ValueError, match="unknown algorithm keys \\['klcoef'\\]"):  # the section is typed at once
        load_config(path, ["algorithm.klcoef=0.1"])
    with pytest.raises(ValueError, match="unknown keys \\['grup_size'\\] in rollout"):
        load_config(path, ["rollout.grup_size=8"])
    with pytest.raises(ValueError, match="unknown keys \\['stepz'\\]"):
        load_config(path, ["stepz=1"])
    with pytest.raises(ValueError, match="not key=value"):
        load_config(path, ["steps"])
    with pytest.raises(ValueError, match="schedule"):
        load_config(path, ["optim.schedule=sawtooth"])


def test_bundled_configs_load():
    from pathlib import Path

    configs = sorted(Path(__file__).resolve().parents[2].joinpath("configs").glob("*.yaml"))
    assert len(configs) >= 3
    for path in configs:
        config = load_config(path)
        assert isinstance(config.algorithm, AlgorithmConfig) and isinstance(config.eval, HeldOutConfig)
