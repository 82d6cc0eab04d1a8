"""A VLM trained on the renders, through Ray, with the tiny random-weight Qwen2.5-VL and its real
processor: image tokens in every turn's prompt, the learner's log-probabilities equal to the
engine's with the same images (and not without them), the right parameters moving, a checkpoint
that evaluates as ``hf:`` with images; every bundled config builds a trainer and takes a step."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ray")
pytest.importorskip("transformers")

import ray  # noqa: E402
import torch  # noqa: E402

import metaspatial_env  # noqa: E402, F401
from training.config import TrainConfig, apply_overrides, load_config  # noqa: E402
from training.learner import RenderFeatures, response_logprobs, rows_of  # noqa: E402
from training.tiny_vlm import build_tiny_qwen25_vl  # noqa: E402
from training.trainer import Trainer, room_pool  # noqa: E402

from .tiny_policy import save_tiny_policy  # noqa: E402

ROOMS = "generated:9100000:6"
IMAGE_SIZE = [56, 112]  # 8 visual tokens per render for the tiny processor
CONFIGS = sorted(Path(__file__).resolve().parents[2].joinpath("configs").glob("*.yaml"))


@pytest.fixture(scope="module")
def offline():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        yield


@pytest.fixture(scope="module")
def ray_local(offline):
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def tiny_vlm(tmp_path_factory, offline):
    return str(build_tiny_qwen25_vl(tmp_path_factory.mktemp("tiny_vlm")))


def _config(model_path: str, output_dir, env_id: str = "metaspatial_env:MetaSpatial-Fast-v0", **extra) -> TrainConfig:
    data = {
        "model": {"path": model_path},
        # the entropy term moves the weights even when a group's rewards tie (a random model's often do)
        "algorithm": {"name": "grpo", "kl_coef": 0.05, "entropy_coef": 0.01},
        # a budget no prompt here reaches (the longest, with both renders, is about 2100 tokens), so that
        # every turn shows every render; tests/test_prompting.py covers the budget's cuts
        "rollout": {"env_id": env_id, "env_kwargs": {"max_turns": 2, "image_size": IMAGE_SIZE}, "split": ROOMS,
                    "max_objects": 5, "max_prompt_tokens": 4096, "rooms_per_step": 2, "group_size": 2, "num_workers": 2,
                    "worker_num_cpus": 0.5, "max_new_tokens": 8, "system_prompt": ""},
        "optim": {"lr": 5e-3, "micro_batch_rows": 3},
        "eval": {"every": 0},
        "steps": 2, "seed": 5, "output_dir": str(output_dir), "tensorboard": False, "progress": False,
        "torch_threads": 1,
    }
    return TrainConfig.from_dict(apply_overrides(data, [f"{k}={v}" for k, v in extra.items()]))


def _vision_and_language(model) -> tuple[dict, dict]:
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    return ({k: v for k, v in state.items() if ".visual." in f".{k}"},
            {k: v for k, v in state.items() if ".language_model." in f".{k}"})


def _check_prompts_and_logprobs(trainer: Trainer, episodes) -> None:
    """Every prompt holds each shown render's visual tokens; the learner's replay matches the engine."""
    encoder = trainer.encoder
    for episode in episodes:
        for turn in episode.turns:
            assert turn.images == tuple(range(turn.turn + 1))  # each turn's render, none cut by the budget
            expected = sum(encoder.image_tokens(image) for image in episode.images_of(turn))
            assert expected == 8 * (turn.turn + 1)
            assert turn.prompt_ids.count(encoder.image_token_id) == expected
    rows = rows_of(episodes)
    sampled = [lp for e in episodes for t in e.turns for lp in t.sample_logprobs]

    def replay(**kwargs):
        with torch.no_grad():
            lp, _, mask, _ = response_logprobs(trainer.model, encoder, rows, temperature=1.0, device=trainer.device,
                                               **kwargs)
        return lp[mask.bool()].tolist()

    with_images = replay()
    assert with_images == pytest.approx(sampled, abs=1e-4)
    cached = replay(features=RenderFeatures(trainer.model, encoder, rows, trainer.device))
    assert cached == pytest.approx(with_images, abs=1e-5)
    withheld = replay(images=False)  # image tokens without pixels: silently another context
    assert max(abs(a - b) for a, b in zip(withheld, with_images)) > 1e-3


@pytest.mark.slow
def test_tiny_vlm_trains_on_fast_renders_and_its_checkpoint_evaluates(ray_local, tiny_vlm, tmp_path):
    trainer = Trainer(_config(tiny_vlm, tmp_path))
    try:
        assert trainer.encoder.vision and trainer.frozen_vision
        vision_before, language_before = _vision_and_language(trainer.model)
        episodes = trainer.driver.run(trainer._generate(greedy=False), trainer.encoder, trainer.rooms[:2], 2, seed=3)
        _check_prompts_and_logprobs(trainer, episodes)
        history = trainer.train()
        vision_after, language_after = _vision_and_language(trainer.model)
    finally:
        trainer.close()
    assert [m["step"] for m in history] == [1, 2]
    for metrics in history:
        assert metrics["images_per_prompt"] == pytest.approx(1.5)  # turn 1: one render, turn 2: two
        assert metrics["logprob_gap_engine_learner"] < 1e-4
        assert metrics["grad_norm"] > 0 and metrics["bytes_kept"] > 0
    assert vision_before and all(torch.equal(vision_before[k], vision_after[k]) for k in vision_before)
    assert any(not torch.equal(language_before[k], language_after[k]) for k in language_before)

    checkpoint = tmp_path / "checkpoints" / "step_000002" / "model"
    assert (checkpoint / "processor_config.json").is_file()
    out = tmp_path / "eval"
    done = subprocess.run(
        [str(Path(sys.executable).parent / "metaspatial"), "eval", "--policy", f"hf:{checkpoint}", "--env",
         "MetaSpatial-Fast-v0", "--env-kwargs", json.dumps({"image_size": IMAGE_SIZE}), "--split", ROOMS,
         "--max-objects", "5", "--episodes", "2", "--turns", "2", "--policy-kwargs",
         json.dumps({"max_new_tokens": 8, "device": "cpu"}), "--out", str(out)],
        capture_output=True, text=True, timeout=300, env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    from agents import make_policy

    policy = make_policy(f"hf:{checkpoint}", max_new_tokens=8, device="cpu")
    assert policy.vision and type(policy.model).__name__ == "Qwen2_5_VLForConditionalGeneration"
    reloaded = dict(policy.model.state_dict())
    assert all(torch.equal(reloaded[k], v) for k, v in language_after.items())


@pytest.mark.slow
def test_tiny_vlm_step_on_blender_renders(ray_local, tiny_vlm, tmp_path):
    pytest.importorskip("bpy")
    trainer = Trainer(_config(tiny_vlm, tmp_path, env_id="metaspatial_env:MetaSpatial-v0", steps=1,
                              **{"rollout.rooms_per_step": 1}))
    try:
        episodes = trainer.driver.run(trainer._generate(greedy=False), trainer.encoder, trainer.rooms[:1], 2, seed=3)
        assert all(r is not None and r.shape == (*IMAGE_SIZE, 3) for e in episodes for r in e.renders)
        _check_prompts_and_logprobs(trainer, episodes)
        metrics = trainer.step()
    finally:
        trainer.close()
    assert metrics["images_per_prompt"] == pytest.approx(1.5) and metrics["logprob_gap_engine_learner"] < 1e-4
    assert metrics["grad_norm"] > 0


@pytest.fixture(scope="module")
def tiny_text(tmp_path_factory, offline):
    env_id = "metaspatial_env:MetaSpatial-Text-v0"
    return save_tiny_policy(tmp_path_factory.mktemp("tiny_text"), env_id, room_pool(ROOMS, 1, 5))


@pytest.mark.slow
@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_bundled_config_builds_a_trainer_and_takes_a_step(ray_local, tiny_vlm, tiny_text, tmp_path, path):
    """The config as shipped, with a tiny model for ``model.path`` and a batch this CPU can play.

    A config whose env shows renders gets the tiny VLM; a text env, the tiny text policy. vLLM needs
    a GPU: a ``vllm`` config's step runs on the HF engine here (its model load, LoRA, processor,
    env and learner are the config's own).
    """
    shipped = load_config(path)
    vision = "Text" not in shipped.rollout.env_id
    env_kwargs = {**shipped.rollout.env_kwargs, **({"image_size": IMAGE_SIZE} if vision else {})}
    overrides = [f"model.path={tiny_vlm if vision else tiny_text}", "model.device=cpu", "engine=hf",
                 f"rollout.env_kwargs={json.dumps(env_kwargs)}", f"rollout.split={ROOMS}", "rollout.min_objects=1",
                 "rollout.max_objects=5", "rollout.rooms_per_step=1", "rollout.group_size=2",
                 "rollout.num_workers=1", "rollout.worker_num_cpus=0.5", "rollout.max_new_tokens=8",
                 "rollout.ray_address=null", "eval.every=0", "steps=1", f"output_dir={tmp_path}",
                 "tensorboard=false", "progress=false", "torch_threads=1",
                 "algorithm.entropy_coef=0.01"]  # a gradient even when the group's rewards tie
    config = load_config(path, overrides)
    assert config.model == type(config.model)(**{**shipped.model.__dict__, "path": config.model.path, "device": "cpu"})
    trainer = Trainer(config)
    try:
        assert trainer.encoder.vision == vision
        metrics = trainer.train()[-1]
    finally:
        trainer.close()
    assert metrics["step"] == 1 and metrics["grad_norm"] > 0
    assert metrics["images_per_prompt"] > 0 if vision else metrics["images_per_prompt"] == 0
    checkpoint = tmp_path / "checkpoints" / "step_000001" / "model"
    assert (checkpoint / ("adapter_config.json" if config.model.lora_rank else "config.json")).is_file()
    from agents import make_policy

    policy = make_policy(f"hf:{checkpoint}", max_new_tokens=4, device="cpu")  # LoRA: loads on its base
    assert policy.vision == vision
