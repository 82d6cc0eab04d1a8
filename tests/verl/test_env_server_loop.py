"""The agent loop through ``metaspatial serve-env``: a real server on 127.0.0.1 (uvicorn in a
thread, PNG renders so they arrive unchanged) plays the same episode, token for token, as the
in-process env."""

from __future__ import annotations

import pytest

from metaspatial_env.env_server import create_app
from tests.serving import running_server
from training.verl_dataset import verl_rows, write_parquet

from .conftest import ENV_KWARGS
from .harness import TransformersServer, agent_loop_file, load_tiny, run_worker, worker_config


def _episode(tmp_path, tiny_vlm, room, tiny, env_server_url=None):
    tmp_path.mkdir()
    train = write_parquet(verl_rows([room], env_kwargs=ENV_KWARGS, source="test"), tmp_path / "train.parquet")
    loops = agent_loop_file(tmp_path, max_tokens_per_turn=32, env_server_url=env_server_url)
    config = worker_config(tiny_vlm, train, response_length=2048,
                           extra=[f"actor_rollout_ref.rollout.agent.agent_loop_config_path={loops}"])
    _, output = run_worker(config, TransformersServer(*tiny, seed=3), train)
    return output


def test_an_episode_through_the_env_server_equals_the_in_process_one(tmp_path, tiny_vlm, rooms):
    tiny = load_tiny(tiny_vlm)
    local = _episode(tmp_path / "local", tiny_vlm, rooms[0], tiny)
    with running_server(create_app("MetaSpatial-Fast-v0", ENV_KWARGS, max_sessions=2, image_encoding="png"),
                        path="") as url:
        remote = _episode(tmp_path / "remote", tiny_vlm, rooms[0], tiny, env_server_url=url)
    assert remote.non_tensor_batch["ended_by"][0] == "env_turns"
    for key in ("input_ids", "response_mask", "position_ids", "rm_scores"):
        assert remote.batch[key].equal(local.batch[key]), key
    assert list(remote.non_tensor_batch["turn_scores"][0]) == pytest.approx(list(local.non_tensor_batch["turn_scores"][0]))
    local_mm, remote_mm = (o.non_tensor_batch["multi_modal_inputs"][0] for o in (local, remote))
    assert remote_mm["pixel_values"].equal(local_mm["pixel_values"])
