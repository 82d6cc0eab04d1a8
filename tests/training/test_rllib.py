"""RLlib on MetaSpatialContinuous-v0 through a real local Ray (``ray.init(num_cpus=2)``)."""

from __future__ import annotations

import csv
import math

import pytest
import yaml

from metaspatial_env.cli import main as cli
from training.rllib import ALGOS, RLlibRunConfig, build_algorithm_config, load_run_config, train

ray = pytest.importorskip("ray", reason="needs the ray extra")  # part of the test install (setup.sh all)

TINY = {"env": {"max_objects": 5, "max_turns": 1}, "num_env_runners": 1, "num_envs_per_env_runner": 2,
        "hidden": [32, 32], "seed": 0}
TINY_TRAINING = {
    "ppo": {"train_batch_size": 128, "training": {"minibatch_size": 64, "num_epochs": 2}},
    "appo": {"train_batch_size": 64, "training": {}},
    "sac": {"train_batch_size": 32, "rollout_fragment_length": 1,
            "training": {"num_steps_sampled_before_learning_starts": 32}},
}


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def write_config(tmp_path, algo: str, **extra) -> str:
    path = tmp_path / f"{algo}.yaml"
    path.write_text(yaml.safe_dump({"algo": algo, **TINY, **TINY_TRAINING[algo], **extra}))
    return str(path)


def test_cli_trains_ppo_two_iterations(local_ray, tmp_path):
    out = tmp_path / "progress.csv"
    assert cli(["rllib", "--algo", "ppo", "--iterations", "2", "--config", write_config(tmp_path, "ppo"),
                "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [int(r["iteration"]) for r in rows] == [1, 2]
    assert float(rows[1]["env_steps"]) >= 2 * 128
    returns = [float(r["episode_return_mean"]) for r in rows]
    # One layout per episode: a return is a reward total, in [0, 1].
    assert all(0.0 <= r <= 1.0 for r in returns)


def test_greedy_evaluation_of_the_trained_module(local_ray, tmp_path):
    rows = train(load_run_config("ppo", write_config(tmp_path, "ppo"), iterations=1), progress=False, greedy_episodes=5)
    assert rows[-1]["greedy_episodes"] == 5
    assert 0.0 <= rows[-1]["greedy_return_mean"] <= 1.0 and 0.0 <= rows[-1]["greedy_success_rate"] <= 1.0


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["sac", "appo"])
def test_sac_and_appo_train(local_ray, tmp_path, algo):
    # APPO is asynchronous: its first iterations may return before any sample has arrived (NaN metrics).
    rows = train(load_run_config(algo, write_config(tmp_path, algo), iterations=3), progress=False, greedy_episodes=3)
    assert len(rows) == 3 and rows[-1]["env_steps"] > 0
    assert 0.0 <= rows[-1]["greedy_return_mean"] <= 1.0
    assert math.isfinite(rows[-1]["episode_return_mean"])


@pytest.mark.parametrize("algo", ALGOS)
def test_ready_configs_load_and_build(algo):
    cfg = load_run_config(algo)
    assert cfg.algo == algo and cfg.env["max_objects"] == 5
    # benchmarks/rllib_curves.py compares the algorithms against one random baseline: same env.
    assert cfg.env == load_run_config("ppo").env
    rllib_config = build_algorithm_config(cfg)
    assert rllib_config.env == "MetaSpatialContinuous-v0"
    assert rllib_config.enable_rl_module_and_learner and rllib_config.enable_env_runner_and_connector_v2


@pytest.mark.parametrize(("data", "match"), [
    ({"algo": "dqn"}, "algo must be one of"),
    ({"learning_rate": 0.1}, "unknown RLlib config keys"),
    ({"iterations": 0}, "iterations"),
    ({"env": {"max_objects": 0}}, "max_objects"),
    ({"env": {"image_size": [64, 64]}}, "unknown ContinuousLayoutEnv arguments"),
])
def test_bad_run_config(data, match):
    with pytest.raises(ValueError, match=match):
        RLlibRunConfig.from_dict(data)


def test_config_file_for_another_algo_is_an_error(tmp_path, capsys):
    path = write_config(tmp_path, "sac")
    with pytest.raises(ValueError, match="configures 'sac', not 'ppo'"):
        load_run_config("ppo", path)
    assert cli(["rllib", "--algo", "ppo", "--config", path]) == 2
    assert "configures 'sac'" in capsys.readouterr().err
