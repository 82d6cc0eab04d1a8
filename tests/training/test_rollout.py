"""Ray rollouts with a real tiny transformers model and the text env (local ray.init(num_cpus=2))."""

from __future__ import annotations

import json
import math

import pytest

pytest.importorskip("ray")
pytest.importorskip("transformers")

import ray  # noqa: E402
import torch  # noqa: E402

import metaspatial_env  # noqa: E402, F401
from metaspatial_env.tasks.splits import load_split  # noqa: E402
from training.engines import Generation, HFEngine, SamplingConfig  # noqa: E402
from training.rollout import RolloutDriver, object_scores  # noqa: E402

from .tiny_policy import save_tiny_policy  # noqa: E402

ENV_ID = "metaspatial_env:MetaSpatial-Text-v0"
ENV_KWARGS = {"max_turns": 2}


@pytest.fixture(scope="module")
def ray_local():
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, monkeypatch_module):
    """A tiny Qwen2 model and BPE tokenizer built here, saved and loaded back offline."""
    from agents.hf_chat import load_chat_model

    monkeypatch_module.setenv("HF_HUB_OFFLINE", "1")
    path = save_tiny_policy(tmp_path_factory.mktemp("tiny_policy"), ENV_ID, _rooms(30), ENV_KWARGS)
    model, encoder = load_chat_model(path)
    return encoder, model


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _rooms(count: int) -> list[dict]:
    """Easy rooms (at most 5 objects) of the train split, as reset options."""
    return [{"split": "train", "task_id": t.id} for t in load_split("train") if len(t.objects) <= 5][:count]


@pytest.mark.parametrize(
    ("problems", "expected"),
    [
        ([], {"a": 1.0, "b": 1.0}),
        ([{"object_id": "a", "kind": "unplaced", "amount": 0.0, "unit": ""}], {"a": 0.0, "b": 1.0}),
        ([{"object_id": "a", "kind": "collision", "amount": 0.1, "unit": "m"}], {"a": math.exp(-1), "b": 1.0}),
        ([{"object_id": "b", "kind": "rule", "amount": 15.0, "unit": "deg"},
          {"object_id": "b", "kind": "unstable", "amount": 0.05, "unit": "m"}], {"a": 1.0, "b": math.exp(-1.5)}),
        ([{"object_id": None, "kind": "parse", "amount": 1.0, "unit": ""},
          {"object_id": "zz", "kind": "rule", "amount": 1.0, "unit": "m"}], {"a": 1.0, "b": 1.0}),
    ],
)
def test_object_scores_from_problems(problems, expected):
    assert object_scores(problems, ["a", "b"]) == pytest.approx(expected)


def test_engine_logprobs_match_a_forward_pass(tiny):
    from agents.hf_chat import Prompt

    encoder, model = tiny
    engine = HFEngine(model, encoder)
    texts = ["<|im_start|>user\nLay out the room.<|im_end|>\n<|im_start|>assistant\n", "a bed"]
    sampling = SamplingConfig(max_new_tokens=6, temperature=0.7)
    torch.manual_seed(0)
    generations = engine.generate([Prompt(t) for t in texts], sampling)
    for text, g in zip(texts, generations):
        prompt = g.prompt_ids
        assert prompt == encoder.tokenizer(text, add_special_tokens=False)["input_ids"]  # padding removed
        assert 1 <= len(g.response_ids) <= 6 and len(g.logprobs) == len(g.response_ids)
        ids = torch.tensor([prompt + g.response_ids])
        with torch.no_grad():
            logits = model(input_ids=ids).logits[0, len(prompt) - 1:-1] / 0.7
        expected = logits.log_softmax(-1).gather(-1, torch.tensor(g.response_ids)[:, None]).squeeze(-1)
        assert g.logprobs == pytest.approx(expected.tolist(), abs=1e-4)
    torch.manual_seed(0)
    again = engine.generate([Prompt(t) for t in texts], sampling)
    assert [g.response_ids for g in again] == [g.response_ids for g in generations]


def test_driver_runs_groups_of_multi_turn_episodes(ray_local, tiny):
    encoder, model = tiny
    engine = HFEngine(model, encoder)
    driver = RolloutDriver(ENV_ID, ENV_KWARGS, num_workers=2, worker_num_cpus=0.5, overlap_chunks=2,
                           max_prompt_tokens=4096, system_prompt="")
    try:
        rooms = _rooms(2)
        episodes = driver.run(lambda p: engine.generate(p, SamplingConfig(max_new_tokens=8)), encoder, rooms,
                              group_size=3, seed=11)
    finally:
        driver.close()
    assert [e.group for e in episodes] == [0, 0, 0, 1, 1, 1]
    assert [e.seed for e in episodes] == list(range(11, 17))
    assert {e.task_id for e in episodes[:3]} == {rooms[0]["task_id"]}
    for e in episodes:
        assert e.done and len(e.turns) == 2  # random answers never succeed: both turns are played
        assert [t.turn for t in e.turns] == [0, 1] and [t.done for t in e.turns] == [False, True]
        first, second = e.turns
        assert second.prompt_ids[: len(first.prompt_ids)] == first.prompt_ids  # the history is kept
        assert len(second.prompt_ids) > len(first.prompt_ids) + len(first.response_ids)
        for t in e.turns:
            assert len(t.sample_logprobs) == len(t.response_ids) and all(lp <= 0 for lp in t.sample_logprobs)
            assert set(t.terms) >= {"format", "collision", "bounds", "stability", "relations", "total"}
            assert 0.0 <= t.reward <= 1.0 and t.parse_errors  # a tiny random model writes no valid JSON
            assert set(t.object_scores) == set(e.object_ids)
            assert "Turn" in t.feedback
    assert set(driver.timings) == {"generation", "env", "env_wait", "rollout"}


def test_dead_worker_is_replaced_and_its_episodes_finish(ray_local, tiny):
    encoder, model = tiny
    engine = HFEngine(model, encoder)
    rooms = _rooms(2)

    def play(kill_after_first_call: bool):
        driver = RolloutDriver(ENV_ID, ENV_KWARGS, num_workers=2, worker_num_cpus=0.5, overlap_chunks=1,
                               system_prompt="")
        calls = []

        def generate(prompts):
            calls.append(len(prompts))
            if kill_after_first_call and len(calls) == 2:  # turn 2: worker 0 holds turn-1 state, then dies
                ray.kill(driver.workers[0], no_restart=True)
            return engine.generate(prompts, SamplingConfig(max_new_tokens=8, greedy=True))

        try:
            return driver.run(generate, encoder, rooms, group_size=2, seed=3), driver.restarts
        finally:
            driver.close()

    baseline, restarts = play(False)
    assert restarts == 0
    recovered, restarts = play(True)
    assert restarts >= 1
    assert [[(t.response_text, t.reward, t.terms, t.done) for t in e.turns] for e in recovered] == \
        [[(t.response_text, t.reward, t.terms, t.done) for t in e.turns] for e in baseline]


def test_success_bonus_is_added_to_successful_turns_only(ray_local, tiny):
    encoder, _ = tiny
    task = next(t for t in load_split("train") if len(t.objects) <= 5)
    reference = json.dumps([{"new_object_id": oid, **pose} for oid, pose in task.reference_layout.items()])

    def generate(prompts):
        # Turn 1 holds both episodes (one chunk): episode 0 answers the reference layout (a success that
        # ends it), episode 1 an empty layout (a failure), which it repeats on turn 2.
        texts = [f"<answer>{reference}</answer>", "[]"] if len(prompts) == 2 else ["[]"]
        return [Generation([0], [0], [0.0], text, True) for text in texts]

    def play(bonus: float):
        driver = RolloutDriver(ENV_ID, ENV_KWARGS, num_workers=1, worker_num_cpus=0.5, overlap_chunks=1,
                               system_prompt="")
        try:
            return driver.run(generate, encoder, [{"split": "train", "task_id": task.id}], group_size=2, seed=0,
                              success_bonus=bonus)
        finally:
            driver.close()

    plain, boosted = play(0.0), play(0.5)
    assert [len(e.turns) for e in boosted] == [1, 2]
    (won,), lost = boosted[0].turns, boosted[1].turns
    assert won.success and won.env_reward == pytest.approx(1.0) and won.reward == won.env_reward + 0.5
    assert all(not t.success and t.reward == t.env_reward for t in lost)
    assert boosted[0].total_return == pytest.approx(1.5) and boosted[0].env_return == pytest.approx(1.0)
    # What the env said is the same with or without the bonus; without it, reward is the env's.
    env_view = [[(t.env_reward, t.terms, t.success, t.done) for t in e.turns] for e in boosted]
    assert env_view == [[(t.env_reward, t.terms, t.success, t.done) for t in e.turns] for e in plain]
    assert won.terms["total"] == pytest.approx(1.0)
    assert all(t.reward == t.env_reward for e in plain for t in e.turns)


def test_prompt_ids_use_the_chat_template_and_shared_conversation(tiny):
    from metaspatial_env.prompting import Conversation

    encoder, _ = tiny
    conversation = Conversation(images=False, system_prompt="")
    conversation.observe({"text": "Lay out this room."})
    ids = encoder.inputs([encoder.prompt(conversation)])["input_ids"][0].tolist()
    text = encoder.tokenizer.decode(ids)
    assert text.endswith("<|im_start|>assistant\n") and "Lay out this room." in text


def test_blank_images_replace_every_render_with_black_of_its_size():
    import numpy as np

    from metaspatial_env.prompting import Conversation
    from training.rollout import Episode

    image = np.full((8, 16, 3), 200, dtype=np.uint8)
    blank = Episode(index=0, group=0, options={}, seed=0, conversation=Conversation(images=True), blank_images=True)
    real = Episode(index=0, group=0, options={}, seed=0, conversation=Conversation(images=True))
    for episode in (blank, real):
        episode.observe({"text": "room", "image": image})
    assert blank.renders[0].shape == image.shape and not blank.renders[0].any()
    assert (real.renders[0] == image).all() and image.any()  # the caller's array is left alone
    shown = [m for m in blank.conversation.messages("hf") if m["role"] == "user"]
    blank_images = [p for m in shown for p in m["content"] if isinstance(p, dict) and p.get("type") == "image"]
    assert blank_images and all(not np.asarray(p["image"]).any() for p in blank_images)
