"""Unbounded inputs end as one clear error before they cost minutes or gigabytes; a subcommand's
failure is one line on stderr (``--debug`` for the traceback)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest

import metaspatial_env  # noqa: F401
from metaspatial_env.env import MAX_IMAGE_SIDE
from metaspatial_env.prompting import task_prompt
from metaspatial_env.schema import MAX_FIELD_CHARS, MAX_OBJECTS, Task, TaskError
from metaspatial_env.tasks.splits import MAX_GENERATED_ROOMS, load_rooms, load_split, load_tasks

ROOT = Path(__file__).resolve().parents[1]
METASPATIAL = str(Path(sys.executable).parent / "metaspatial")


def _task_dict() -> dict:
    data = copy.deepcopy(load_split("test")[0].to_dict())
    data.pop("reference_layout", None)
    return data


def test_image_size_has_an_upper_bound():
    with pytest.raises(ValueError, match=f"at most {MAX_IMAGE_SIDE} px"):
        gym.make("MetaSpatial-Fast-v0", image_size=[20000, 20000])


def test_a_task_with_too_many_objects_is_refused_naming_the_field():
    data = _task_dict()
    first = data["objects"][0]
    data["objects"] = [{**copy.deepcopy(first), "new_object_id": f"box_{i}",
                        "placement": {"room_layout_elements": [], "objects_in_room": []}, "facing": None}
                       for i in range(MAX_OBJECTS + 1)]
    with pytest.raises(TaskError, match=f"objects.*at most {MAX_OBJECTS}"):
        Task.from_dict(data)


def test_a_huge_user_preference_is_refused_not_clipped_into_the_prompt():
    data = _task_dict()
    data["room"]["user_preference"] = "cosy " * 1_000_000  # 5 MB
    with pytest.raises(TaskError, match=f"user_preference.*at most {MAX_FIELD_CHARS}"):
        Task.from_dict(data)


def test_a_task_prompt_that_would_be_cut_is_refused():
    data = _task_dict()
    first = data["objects"][0]
    data["objects"] = [{**copy.deepcopy(first), "new_object_id": f"box_{i}_" + "x" * 600,
                        "placement": {"room_layout_elements": [], "objects_in_room": []}, "facing": None}
                       for i in range(MAX_OBJECTS)]
    task = Task.from_dict(data)  # every field within its bound
    with pytest.raises(ValueError, match="prompt is .* characters, over"):
        task_prompt(task)
    # a bundled room's prompt lists every object and the answer format, never a cut note
    prompt = task_prompt(load_split("test")[0])
    assert "(feedback cut)" not in prompt and "<answer>" in prompt


def test_deeply_nested_dataset_json_is_one_task_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(TaskError, match="nested too deeply"):
        load_tasks(path)
    lines = tmp_path / "deep.jsonl"
    lines.write_text(json.dumps(_task_dict()) + "\n" + "[" * 200_000 + "]" * 200_000 + "\n")
    with pytest.raises(TaskError, match="deep.jsonl:2.*nested too deeply"):
        load_tasks(lines)


def test_generated_sources_are_bounded_and_cut_before_generating(monkeypatch):
    from metaspatial_env.tasks import generator

    with pytest.raises(ValueError, match=f"at most {MAX_GENERATED_ROOMS}"):
        load_rooms("generated:0:1000000000")
    seeds = []
    real = generator.generate_task
    monkeypatch.setattr(generator, "generate_task", lambda seed, **kw: seeds.append(seed) or real(seed, **kw))
    rooms = load_rooms(f"generated:0:{MAX_GENERATED_ROOMS}", 3, 4, limit=2)
    assert len(rooms) == 2 and seeds == [0, 1]  # two rooms generated, not 100,000
    assert load_rooms("test", limit=3) == load_split("test")[:3]


def test_config_values_of_the_wrong_type_name_the_field():
    from training.config import load_config

    with pytest.raises(ValueError, match="steps must be an integer, got 'abc'"):
        load_config(ROOT / "configs" / "cpu_tiny_grpo.yaml", ["steps=abc"])
    with pytest.raises(ValueError, match="max_turns must be an integer, got '3'"):
        gym.make("MetaSpatial-Fast-v0", max_turns="3")


def _run(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([METASPATIAL, *argv], capture_output=True, text=True, cwd=cwd, timeout=300,
                          env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"})


def test_a_config_without_its_model_says_how_to_build_it(tmp_path):
    done = _run("train", "--config", str(ROOT / "configs" / "cpu_tiny_grpo.yaml"), f"output_dir={tmp_path}",
                cwd=tmp_path)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.startswith("metaspatial")]
    assert len(lines) == 1 and "python -m training.pretrain" in lines[0] and "Traceback" not in done.stderr


def test_bad_input_is_one_line_and_debug_shows_the_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {path: x}\nsteps: [1, 2]\n")  # a list where a number goes: bad input
    done = _run("train", "--config", str(bad), cwd=tmp_path)
    assert done.returncode == 2 and "steps must be an integer" in done.stderr and "Traceback" not in done.stderr
    debug = _run("train", "--config", str(bad), "--debug", cwd=tmp_path)
    assert debug.returncode != 0 and "Traceback" in debug.stderr


@pytest.mark.parametrize(("argv", "message"), [
    (["eval", "--policy", "heuristic", "--env", "Bogus-v0", "--episodes", "1"], "Environment `Bogus` doesn't exist"),
    (["eval", "--policy", "heuristic", "--env-kwargs", '{"max_turns": 0}', "--episodes", "1"], "--turns"),
    (["eval", "--policy", "heuristic", "--split", "generated:0:1000000000", "--episodes", "1"], "at most 100000"),
    (["demo", "--rooms", "0"], "argument --rooms: must be at least 1"),
    (["train", "--config", str(ROOT / "configs" / "cpu_tiny_grpo.yaml"), "rollout.group_size=0"], "group_size"),
])
def test_failing_subcommands_end_in_one_line_and_status_2(tmp_path, argv, message):
    if argv[0] == "eval":
        argv = [*argv, "--out", str(tmp_path / "out")]
    done = _run(*argv, cwd=tmp_path)
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(errors) == 1 and message in errors[0]
