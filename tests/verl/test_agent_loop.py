"""The metaspatial agent loop run by verl's own AgentLoopWorker on the tiny Qwen2.5-VL.

verl builds the loop from the agent-loop config file by name, tokenizes with its Continuous Token
builder, pads, builds the multimodal inputs and M-RoPE positions; only the generation server is a
stand-in (``model.generate`` of the same tiny model, see harness.py). The episodes are real
``MetaSpatial-Fast-v0`` episodes (PyBullet, the rasteriser).
"""

from __future__ import annotations

import json

import gymnasium as gym
import pytest
import torch

import metaspatial_env  # noqa: F401
from training.verl_dataset import verl_rows, write_parquet

from .conftest import ENV_KWARGS
from .harness import TransformersServer, agent_loop_file, load_tiny, run_worker, worker_config

PER_TURN = 48  # tokens per answer: the random model rarely stops by itself


@pytest.fixture(scope="module")
def tiny(tiny_vlm):
    return load_tiny(tiny_vlm)


def _setup(tmp_path, tiny_vlm, rooms, *, response_length=2048, max_tokens_per_turn=PER_TURN, rows=None):
    train = write_parquet(rows or verl_rows(rooms, env_kwargs=ENV_KWARGS, source="test"), tmp_path / "train.parquet")
    loops = agent_loop_file(tmp_path, max_tokens_per_turn=max_tokens_per_turn)
    config = worker_config(tiny_vlm, train, response_length=response_length,
                           extra=[f"actor_rollout_ref.rollout.agent.agent_loop_config_path={loops}"])
    return config, train


@pytest.fixture(scope="module")
def episodes(tmp_path_factory, tiny_vlm, rooms, tiny):
    """Two episodes of the random tiny model, played to the env's turn budget."""
    config, train = _setup(tmp_path_factory.mktemp("episodes"), tiny_vlm, rooms)
    server = TransformersServer(*tiny, seed=0)
    worker, output = run_worker(config, server, train)
    return worker, server, output


def _row(output, i):
    """Row ``i`` without padding: (full token ids, prompt length, response mask, response log-probs)."""
    prompt_len = output.batch["prompts"].shape[1]
    attention = output.batch["attention_mask"][i].bool()
    ids = output.batch["input_ids"][i][attention].tolist()
    n_prompt = int(attention[:prompt_len].sum())
    n_response = len(ids) - n_prompt
    mask = output.batch["response_mask"][i][:n_response]
    logprobs = output.batch["rollout_log_probs"][i][:n_response]
    return ids, n_prompt, mask, logprobs


def _runs(ids, token):
    """Lengths of the runs of ``token`` in ``ids``, in order."""
    runs, count = [], 0
    for t in [*ids, None]:
        if t == token:
            count += 1
        elif count:
            runs.append(count)
            count = 0
    return runs


def test_the_loop_is_registered_and_built_from_the_config_file(episodes):
    from verl.experimental.agent_loop.agent_loop import _agent_loop_registry

    _, server, output = episodes
    entry = _agent_loop_registry["metaspatial_agent"]
    assert entry["_target_"] == "training.verl_agent_loop.MetaSpatialAgentLoop"
    assert list(output.non_tensor_batch["agent_name"]) == ["metaspatial_agent"] * 2
    # The file's arguments reach every episode, not only the one whose build imported the module.
    assert entry["max_tokens_per_turn"] == PER_TURN
    assert len(server.calls) == 6 and all(c.max_tokens == PER_TURN for c in server.calls)


def test_each_non_final_turn_adds_one_render_and_its_image_tokens(episodes):
    worker, server, output = episodes
    merge = worker.processor.image_processor.merge_size
    image_token = worker.processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    for i in range(len(output)):
        answers = len(output.non_tensor_batch["turn_scores"][i])
        assert output.non_tensor_batch["ended_by"][i] == "env_turns"  # the env's 3-turn budget
        assert answers == ENV_KWARGS["max_turns"]
        grid = output.non_tensor_batch["multi_modal_inputs"][i]["image_grid_thw"]
        assert len(grid) == answers - 1  # one render per non-final turn
        ids, _, _, _ = _row(output, i)
        assert _runs(ids, image_token) == [int(g.prod()) // merge**2 for g in grid]
        assert output.non_tensor_batch["__num_turns__"][i] == 1 + answers + (answers - 1)


def test_response_mask_is_one_exactly_over_the_generated_tokens(episodes):
    _, server, output = episodes
    for i in range(len(output)):
        ids, n_prompt, mask, logprobs = _row(output, i)
        calls = [c for c in server.calls if ids[: len(c.prompt_ids)] == c.prompt_ids]
        assert len(calls) == len(output.non_tensor_batch["turn_scores"][i])
        assert calls[0].prompt_ids == ids[:n_prompt]
        # Each turn's prompt is the last one, the model's own tokens, and the env's turn after them.
        for before, after in zip(calls, calls[1:]):
            assert after.prompt_ids[: len(before.prompt_ids) + len(before.token_ids)] == before.prompt_ids + before.token_ids
        assert [c.images for c in calls] == list(range(len(calls)))
        response = torch.tensor(ids[n_prompt:])
        assert response[mask.bool()].tolist() == [t for c in calls for t in c.token_ids]
        assert 0 < int(mask.sum()) < len(mask)  # env tokens (feedback, renders) are in the response, at 0
        assert torch.all(logprobs[~mask.bool()] == 0)


def test_rewards_go_to_the_last_token_as_the_episode_return(episodes):
    _, _, output = episodes
    scores = output.batch["rm_scores"]
    for i in range(len(output)):
        _, _, mask, _ = _row(output, i)
        turn_scores = output.non_tensor_batch["turn_scores"][i]
        assert float(scores[i].sum()) == pytest.approx(sum(turn_scores))
        assert torch.count_nonzero(scores[i][: len(mask) - 1]) == 0
        assert output.non_tensor_batch["episode_reward"][i] == pytest.approx(sum(turn_scores))
    assert "episode_reward" in output.meta_info["reward_extra_keys"]


def test_positions_are_verls_mrope_and_the_learner_matches_the_engine(episodes, tiny):
    """A forward/backward of the tiny model on the loop's output row: verl's (1, 4, L) positions and
    multimodal inputs give the engine's log-probabilities, and the vision tower gets a gradient."""
    from agents.hf_chat import vision_tower_prefix

    _, _, output = episodes
    model, _ = tiny
    width = output.batch["input_ids"].shape[1]
    assert tuple(output.batch["position_ids"].shape) == (len(output), 4, width)
    ids, n_prompt, mask, engine_logprobs = _row(output, 0)
    attention = output.batch["attention_mask"][0].bool()
    positions = output.batch["position_ids"][0][:, attention][:, None, :]  # (4, 1, L) as verl's actor passes
    mm = output.non_tensor_batch["multi_modal_inputs"][0]
    model.zero_grad()
    logits = model(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                   position_ids=positions, pixel_values=mm["pixel_values"], image_grid_thw=mm["image_grid_thw"]).logits
    logprobs = torch.log_softmax(logits[0, n_prompt - 1: -1].float(), -1).gather(-1, torch.tensor(ids[n_prompt:])[:, None])[:, 0]
    generated = mask.bool()
    torch.testing.assert_close(logprobs[generated].detach(), engine_logprobs[generated], atol=2e-4, rtol=0)
    loss = -(logprobs * mask).sum() / mask.sum()
    loss.backward()
    prefix = vision_tower_prefix(model)
    vision_grad = sum(float(p.grad.abs().sum()) for n, p in model.named_parameters()
                      if n.startswith(prefix) and p.grad is not None)
    assert vision_grad > 0
    model.zero_grad()


def _reference_answer(task) -> str:
    layout = [{"new_object_id": oid, **{k: float(v) for k, v in pose.items()}}
              for oid, pose in task.reference_layout.items()]
    return "<think>the reference layout</think><answer>" + json.dumps(layout) + "</answer>"


def test_the_reward_is_the_envs_own_for_the_same_answers(tmp_path, tiny_vlm, rooms, tiny):
    """A scripted layout (the random model cannot write one): the loop's per-turn rewards are the
    env's for the same answers from the same reset."""
    room = rooms[0]
    answer = _reference_answer(room)
    config, train = _setup(tmp_path, tiny_vlm, [room], max_tokens_per_turn=1024)
    server = TransformersServer(*tiny, answers=[answer])
    _, output = run_worker(config, server, train)
    turn_scores = list(output.non_tensor_batch["turn_scores"][0])

    env = gym.make("MetaSpatial-Fast-v0", **ENV_KWARGS)
    env.reset(seed=0, options={"task": room.to_dict()})
    expected = []
    for _ in turn_scores:
        _, reward, terminated, truncated, info = env.step(answer)
        expected.append(reward)
    env.close()
    assert turn_scores == pytest.approx(expected)
    assert max(expected) > 0.5  # a real layout, not a parse failure
    assert float(output.batch["rm_scores"][0].sum()) == pytest.approx(sum(expected))
    ended = "success" if terminated else "env_turns"
    assert output.non_tensor_batch["ended_by"][0] == ended
    grid = output.non_tensor_batch["multi_modal_inputs"][0].get("image_grid_thw")
    assert (0 if grid is None else len(grid)) == len(turn_scores) - 1


def test_a_turn_that_does_not_fit_the_response_length_is_left_out(tmp_path, tiny_vlm, rooms, tiny):
    config, train = _setup(tmp_path, tiny_vlm, rooms[:1], response_length=160)
    server = TransformersServer(*tiny, seed=1)
    _, output = run_worker(config, server, train)
    _, _, mask, _ = _row(output, 0)
    assert output.non_tensor_batch["ended_by"][0] == "response_length"
    assert len(output.non_tensor_batch["turn_scores"][0]) == 1  # the feedback turn would not fit
    assert "image_grid_thw" not in output.non_tensor_batch["multi_modal_inputs"][0]
    assert len(mask) <= 160 and bool(mask.all())


def test_a_stale_row_fails_with_one_clear_error(tmp_path, tiny_vlm, rooms, tiny):
    rows = verl_rows(rooms[:1], env_kwargs=ENV_KWARGS, source="test")
    rows[0]["prompt"][1]["content"] += " (edited)"
    config, train = _setup(tmp_path, tiny_vlm, rooms, rows=rows)
    with pytest.raises(ValueError, match="reset text differs from the dataset row's prompt"):
        run_worker(config, TransformersServer(*tiny), train)


@pytest.mark.parametrize("extra_info, message", [
    ({"env_kwargs": "{}"}, "neither 'task' nor 'task_id'"),
    ({"task_id": "x", "env_kwargs": "{not json"}, "env_kwargs is not JSON"),
    ({"task_id": "x", "env_kwargs": "[1]"}, "must be a JSON object"),
])
def test_bad_extra_info_names_the_field(extra_info, message):
    from training.verl_agent_loop import episode_spec

    with pytest.raises(ValueError, match=message):
        episode_spec(extra_info)
