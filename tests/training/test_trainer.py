"""The trainer end to end on CPU through Ray: two steps, a checkpoint, an exact resume; the config."""

from __future__ import annotations

import csv
import json

import pytest

pytest.importorskip("ray")
pytest.importorskip("transformers")

import ray  # noqa: E402

import metaspatial_env  # noqa: E402, F401
from training.algorithms import AlgorithmConfig  # noqa: E402
from training.config import HeldOutConfig, RolloutConfig, TrainConfig, apply_overrides, load_config  # noqa: E402
from training.rollout import Episode, TurnSample  # noqa: E402
from training.trainer import RoomSampler, Trainer, episode_metrics, room_objects, room_pool, rooms_for_step  # noqa: E402

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


#: Rooms of 1 to 5 objects (counts 1, 3, 2, 3, 5, 3, 5, 1, 1, 3, 1, 4, 3, 2, 3, 3, 5, 2, 1, 2).
CURRICULUM_ROOMS = "generated:9100000:20"


def _steps(rooms, sampler, rollout, steps):
    return {step: rooms_for_step(rooms, sampler, rollout, step) for step in steps}


def test_rooms_for_step_follow_the_curriculum_and_resume_exactly():
    rooms = room_pool(CURRICULUM_ROOMS, 1, 5)
    assert {room_objects(r) for r in rooms} == {1, 2, 3, 4, 5}
    rollout = RolloutConfig(max_objects=5, rooms_per_step=3, curriculum=((3, 2), (6, 4)))
    assert [rollout.max_objects_at(step) for step in range(1, 9)] == [5, 5, 2, 2, 2, 4, 4, 4]
    unbroken = _steps(rooms, RoomSampler(len(rooms), 5), rollout, range(1, 13))
    for step, drawn in unbroken.items():
        assert len(drawn) == 3 and max(map(room_objects, drawn)) <= rollout.max_objects_at(step)
    assert max(room_objects(r) for step in (1, 2) for r in unbroken[step]) > 2  # the cap really binds later

    # A resumed run restores the sampler from the checkpoint's JSON and the step from its index.
    first = RoomSampler(len(rooms), 5)
    before = _steps(rooms, first, rollout, range(1, 5))
    resumed = RoomSampler(len(rooms), 99)
    resumed.load(json.loads(json.dumps(first.state())))
    after = _steps(rooms, resumed, rollout, range(5, 13))
    assert {**before, **after} == unbroken

    # No curriculum: the sampler's plain order, as before curricula existed.
    plain = RolloutConfig(max_objects=5, rooms_per_step=3)
    sampler, reference = RoomSampler(len(rooms), 5), RoomSampler(len(rooms), 5)
    assert [rooms_for_step(rooms, sampler, plain, step) for step in (1, 2, 3)] == \
        [[rooms[i] for i in reference.take(3)] for _ in range(3)]


@pytest.mark.parametrize(("curriculum", "error"), [
    ([[3, 2], [3, 4]], "from_step must increase strictly, got 3 after 3"),
    ([[5, 2], [2, 4]], "from_step must increase strictly"),
    ([[0, 2]], "from_step must be >= 1"),
    ([[1, 0]], "max_objects must be >= 1"),
    ([[1, 1]], "max_objects 1 \\(from step 1\\) must be within rollout.min_objects-max_objects \\(2-5\\)"),
    ([[1, 6]], "must be within rollout.min_objects-max_objects \\(2-5\\)"),
    ([[1, 2, 3]], "pairs of integers"),
    ([[1, 2.5]], "pairs of integers"),
    ([[1, True]], "pairs of integers"),
    ("1:3", "pairs of integers"),
    (3, "pairs of integers"),
])
def test_invalid_curricula_are_rejected(curriculum, error):
    with pytest.raises(ValueError, match=error):
        TrainConfig.from_dict({"model": {"path": "m"},
                               "rollout": {"min_objects": 2, "max_objects": 5, "curriculum": curriculum}})


def test_success_bonus_and_curriculum_parse_from_yaml_and_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model: {path: some/dir}\n"
                    "rollout:\n  max_objects: 6\n  success_bonus: 0.25\n  curriculum: [[1, 2], [10, 4]]\n")
    config = load_config(path)
    assert config.rollout.success_bonus == 0.25 and config.rollout.curriculum == ((1, 2), (10, 4))
    assert [config.rollout.max_objects_at(step) for step in (1, 9, 10, 50)] == [2, 2, 4, 4]
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config  # config.json round trip
    config = load_config(path, ["rollout.success_bonus=1", "rollout.curriculum=[[3, 5]]"])
    assert config.rollout.success_bonus == 1.0 and config.rollout.curriculum == ((3, 5),)
    assert [config.rollout.max_objects_at(step) for step in (1, 2, 3)] == [6, 6, 5]
    assert load_config(path, ["rollout.curriculum=[]"]).rollout.curriculum == ()
    assert RolloutConfig().success_bonus == 0.0 and RolloutConfig().curriculum == ()
    for bad in ("-0.5", ".nan", ".inf"):
        with pytest.raises(ValueError, match="rollout.success_bonus must be a finite number >= 0"):
            load_config(path, [f"rollout.success_bonus={bad}"])


def test_episode_metrics_report_the_env_reward_not_the_bonus():
    def episode(index, rewards, success):
        """An episode whose last turn succeeds when ``success``, with a 0.5 bonus on that turn."""
        turns = []
        for t, r in enumerate(rewards):
            won = success and t == len(rewards) - 1
            turns.append(TurnSample(t, [0], (), [0], [0.0], "", True, reward=r + 0.5 * won, env_reward=r,
                                    terms={"total": r}, success=won, done=t == len(rewards) - 1))
        return Episode(index=index, group=0, options={}, seed=index, turns=turns)

    episodes = [episode(0, [0.2, 1.0], True), episode(1, [0.1, 0.3], False)]
    assert episodes[0].total_return == pytest.approx(1.7)  # what the algorithm learns from
    metrics = episode_metrics(episodes)
    assert metrics["reward/return"] == pytest.approx((1.2 + 0.4) / 2)
    assert metrics["reward/turn_2"] == pytest.approx((1.0 + 0.3) / 2)
    assert metrics["reward/final_total"] == pytest.approx((1.0 + 0.3) / 2)
    assert metrics["success"] == 0.5


def test_trainer_steps_log_the_curriculum_and_the_bonus(ray_local, tiny_model_path, tmp_path):
    config = _config(tiny_model_path, tmp_path, {"name": "grpo"}, **{
        "rollout.curriculum": "[[2, 2]]", "rollout.success_bonus": 0.5, "tensorboard": "false"})
    trainer = Trainer(config)
    drawn = []
    run = trainer.driver.run

    def recording_run(generate, encoder, rooms, *args, **kwargs):
        drawn.append((rooms, kwargs.get("success_bonus")))
        return run(generate, encoder, rooms, *args, **kwargs)

    trainer.driver.run = recording_run
    try:
        history = [trainer.step(), trainer.step()]
    finally:
        trainer.close()
    assert [m["curriculum_max_objects"] for m in history] == [5, 2]
    assert max(room_objects(r) for r in drawn[1][0]) <= 2 and [bonus for _, bonus in drawn] == [0.5, 0.5]
    for metrics in history:  # the tiny random policy never succeeds: no bonus is paid
        assert metrics["reward/return_with_bonus"] == pytest.approx(metrics["reward/return"])


def test_trainer_rejects_a_curriculum_below_the_smallest_room(tiny_model_path, tmp_path):
    config = _config(tiny_model_path, tmp_path, {"name": "grpo"}, **{
        "rollout.split": "generated:9100001:1", "rollout.curriculum": "[[4, 2]]"})  # one room, of 3 objects
    with pytest.raises(ValueError, match="allows at most 2 objects from step 4, but the smallest room .* has 3"):
        Trainer(config)


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


def test_held_out_evaluation_keeps_each_room_for_paired_comparisons(ray_local, tiny_model_path, tmp_path):
    config = _config(tiny_model_path, tmp_path, {"name": "grpo"}, **{
        "eval.every": 1, "eval.split": ROOMS, "eval.rooms": 3, "tensorboard": "false", "steps": 1})
    trainer = Trainer(config)
    try:
        first = trainer.evaluate()
        again = trainer.evaluate()  # the same step again replaces its lines (a resumed run)
    finally:
        trainer.close()
    lines = [json.loads(line) for line in (tmp_path / "eval_episodes.jsonl").read_text().splitlines()]
    assert [row["step"] for row in lines] == [0, 0, 0]
    assert len({row["task_id"] for row in lines}) == 3 and first["eval/rooms"] == again["eval/rooms"] == 3
    finals = [row["totals"][-1] for row in lines]
    assert sum(finals) / 3 == pytest.approx(again["eval/reward/final_total"], abs=1e-3)
    assert all(len(row["totals"]) == len(row["successes"]) >= 1 for row in lines)
