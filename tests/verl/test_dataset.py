"""training.verl_dataset: the parquet rows read back, by pyarrow and by verl's own RLHFDataset."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from metaspatial_env.prompting import SYSTEM_PROMPT, task_prompt
from metaspatial_env.schema import Task
from training.verl_dataset import main, verl_rows

from .conftest import ENV_KWARGS
from .harness import load_tiny, worker_config


def test_the_cli_writes_rows_that_read_back_unchanged(tmp_path, rooms, capsys):
    out = tmp_path / "data" / "test.parquet"
    assert main(["--split", "test", "--max-objects", "4", "--limit", "2", "--out", str(out),
                 "--env-kwargs", json.dumps(ENV_KWARGS), "--seed", "7"]) == 0
    assert "2 rows from test" in capsys.readouterr().out
    rows = pq.read_table(out).to_pylist()
    assert rows == verl_rows(rooms, env_kwargs=ENV_KWARGS, seed=7, source="test")
    for row, room in zip(rows, rooms):
        info = row["extra_info"]
        assert row["agent_name"] == "metaspatial_agent" and row["data_source"] == "metaspatial"
        assert row["prompt"] == [{"role": "system", "content": SYSTEM_PROMPT},
                                 {"role": "user", "content": task_prompt(room)}]
        assert Task.from_dict(json.loads(info["task"])) == room
        assert info["task_id"] == room.id == row["reward_model"]["ground_truth"]
        assert json.loads(info["env_kwargs"]) == ENV_KWARGS and info["env_id"] == "MetaSpatial-Fast-v0"
    assert [r["extra_info"]["seed"] for r in rows] == [7, 8]
    assert [r["extra_info"]["index"] for r in rows] == [0, 1]


def test_rows_are_what_verls_rlhf_dataset_expects(tmp_path, tiny_vlm, rooms):
    from verl.utils.dataset.rl_dataset import RLHFDataset

    out = tmp_path / "train.parquet"
    assert main(["--split", "test", "--max-objects", "4", "--limit", "2", "--out", str(out)]) == 0
    config = worker_config(tiny_vlm, out)
    _, processor = load_tiny(tiny_vlm)
    dataset = RLHFDataset(str(out), processor.tokenizer, config.data, processor)
    assert len(dataset) == 2  # none filtered as over data.max_prompt_length
    item = dataset[1]
    assert item["raw_prompt"][1]["content"] == task_prompt(rooms[1])
    assert item["agent_name"] == "metaspatial_agent"
    assert item["index"] == 1 and item["extra_info"]["task_id"] == rooms[1].id


def test_generated_rooms_and_bad_arguments(tmp_path, capsys):
    out = tmp_path / "gen.parquet"
    assert main(["--split", "generated:5:2", "--out", str(out)]) == 0
    assert len(pq.read_table(out)) == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["--split", "nope", "--out", str(out)])
    assert exit_info.value.code == 2
    assert "unknown split 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--split", "test", "--out", str(out), "--env-kwargs", "[1]"])
    assert "expected a JSON object" in capsys.readouterr().err
