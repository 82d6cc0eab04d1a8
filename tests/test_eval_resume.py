"""``metaspatial eval`` keeps its work and its secrets: the output folder is checked before the run,
each finished episode is appended to ``episodes.jsonl``, an interrupted run (SIGINT, SIGKILL) is
marked partial and ``--resume`` finishes it with every episode recorded once; a failing judge is
counted; a configured key is in no file the run wrote nor in its output.

The runs are real: the ``metaspatial`` CLI in a subprocess, the heuristic policy, a judge behind a
fake OpenAI-compatible endpoint on 127.0.0.1 (:func:`tests.test_judge_faults.fake_endpoint`).
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agents.evaluate import EvalConfig, evaluate, read_episodes_jsonl
from agents.server import create_app
from metaspatial_env.cli import main

from .serving import running_server
from .test_judge_faults import fake_endpoint

ROOT = Path(__file__).resolve().parents[1]
#: Keys of no known shape (no ``sk-`` prefix): only registration keeps them out.
ENV_KEY = "envkey-Zq81vMx3LpT0wa"
POLICY_KEY = "policykey-Hb52nRy7KcU4js"
SMALL = {"image_size": [64, 128]}


@pytest.fixture(scope="module")
def endpoint():
    with fake_endpoint() as url:
        yield url


def _eval_command(out: Path, *extra: str, episodes: int = 3, env_kwargs: dict | None = None) -> list[str]:
    return [sys.executable, "-m", "metaspatial_env.cli", "eval", "--policy", "heuristic", "--split", "test",
            "--episodes", str(episodes), "--turns", "1", "--no-images", "--env-kwargs",
            json.dumps(SMALL | (env_kwargs or {})), "--out", str(out), *extra]


def _run(command: list[str], env: dict | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def _jsonl_indices(out: Path) -> list[int]:
    return [json.loads(line)["index"] for line in (out / "episodes.jsonl").read_text().splitlines() if line.strip()]


def _wait_for_episode(process: subprocess.Popen, out: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    path = out / "episodes.jsonl"
    while not (path.exists() and path.read_bytes().count(b"\n") >= 1):
        if process.poll() is not None:
            raise AssertionError(f"eval ended before its first episode: {process.communicate()}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("no episode written in time")
        time.sleep(0.02)


def _assert_complete_once(out: Path, episodes: int) -> dict:
    indices = _jsonl_indices(out)
    assert sorted(indices) == list(range(episodes)), indices  # every episode, each exactly once
    results = json.loads((out / "results.json").read_text())
    assert results["complete"] is True and results["episodes_done"] == results["episodes_total"] == episodes
    ids = [e["task_id"] for e in results["episodes"]]
    assert len(ids) == len(set(ids)) == episodes and ids == sorted(ids)  # split order
    assert results["metrics"]["success"]["n"] == episodes
    assert len(list(csv.DictReader(open(out / "episodes.csv")))) == episodes
    return results


# ----------------------------------------------------------------------------- the output folder
def test_a_fresh_run_refuses_another_runs_folder_and_resume_of_a_complete_run_keeps_it(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["eval", "--policy", "heuristic", "--episodes", "2", "--turns", "1", "--env", "MetaSpatial-Text-v0",
            "--no-images", "--out", str(out)]
    assert main(args) == 0
    assert "complete, 2 episodes" in capsys.readouterr().out
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "holds another run's results" in err and "--resume" in err and err.count("\n") == 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing touched
    assert main([*args, "--resume"]) == 0  # nothing left to play: the same episodes, complete
    assert _jsonl_indices(out) == [0, 1] and json.loads((out / "results.json").read_text())["complete"] is True
    assert main([*args[:-2], "--turns", "2", "--out", str(out), "--resume"]) == 2
    assert "other settings (turns differ)" in capsys.readouterr().err


def test_a_run_that_failed_before_its_first_episode_does_not_block_the_folder(tmp_path, capsys):
    out = tmp_path / "typo"
    args = ["--episodes", "1", "--turns", "1", "--env", "MetaSpatial-Text-v0", "--no-images", "--out", str(out)]
    assert main(["eval", "--policy", "heuristc", *args]) == 2
    assert "unknown policy 'heuristc'" in capsys.readouterr().err
    assert json.loads((out / "results.json").read_text())["complete"] is False
    assert main(["eval", "--policy", "heuristic", *args]) == 0
    assert _jsonl_indices(out) == [0] and json.loads((out / "results.json").read_text())["complete"] is True


def test_an_unwritable_folder_fails_before_any_episode(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    assert main(["eval", "--policy", "heuristic", "--episodes", "1", "--env", "MetaSpatial-Text-v0",
                 "--out", str(blocker / "out")]) == 2
    assert "cannot write to the output folder" in capsys.readouterr().err


def test_a_torn_last_line_is_dropped_and_repaired(tmp_path):
    path = tmp_path / "episodes.jsonl"
    good = json.dumps({"index": 0, "episode": {"task_id": "a"}}) + "\n"
    path.write_text(good + '{"index": 1, "epis')
    assert list(read_episodes_jsonl(path, repair=True)) == [0] and path.read_text() == good
    path.write_text(good + "garbage\n" + good)
    with pytest.raises(ValueError, match="line 2 is not an episode record"):
        read_episodes_jsonl(path)


# ----------------------------------------------------------------------------- a failing judge
def test_an_eval_with_a_failing_judge_counts_the_failures(endpoint, tmp_path):
    """Every other judge request answers an HTML page: those steps have no judge term, are counted,
    and their totals are not averaged with the graded ones."""
    out = tmp_path / "flaky"
    config = EvalConfig(policy="heuristic", episodes=4, turns=2,
                        env_kwargs=SMALL | {"terminate_on_success": False, "judge": {
                            "model": "grader", "base_url": f"{endpoint}/flaky/v1", "retries": 0, "timeout": 5}})
    results = evaluate(config, out, progress=False)
    steps = results["judge_steps"]
    assert steps["steps"] == 8 and steps["failed"] >= 1 and steps["graded"] >= 1
    assert steps["failed"] + steps["graded"] == 8
    stored = json.loads((out / "results.json").read_text())
    assert stored["judge_steps"] == steps and stored["complete"] is True
    assert stored["metrics"]["reward_per_turn"]["n"] == steps["graded"]
    assert stored["metrics"]["total_no_judge"]["n"] == 8
    failed = [t for e in stored["episodes"] for t in e["turns"] if "judge_error" in t]
    assert len(failed) == steps["failed"] and all("not a chat completion" in t["judge_error"] for t in failed)
    assert all("judge" not in t["terms"] and t["total_no_judge"] == t["terms"]["total"] for t in failed)
    graded = [t for e in stored["episodes"] for t in e["turns"] if "judge" in t["terms"]]
    assert all(t["total_no_judge"] != t["terms"]["total"] for t in graded)
    rows = list(csv.DictReader(open(out / "episodes.csv")))
    assert sum(int(r["judge_failed_steps"]) for r in rows) == steps["failed"]
    assert f"{steps['failed']} of 8 judged steps failed" in (out / "report.html").read_text()


# ----------------------------------------------------------------------------- secrets
def test_a_configured_key_is_in_nothing_eval_writes(endpoint, tmp_path):
    """The judge's key (OPENAI_API_KEY) quoted back by a 401, and the policy's key in --policy-kwargs:
    neither is in any file of the output folder, nor in stdout / stderr."""
    out = tmp_path / "secret"
    judge = {"judge": {"model": "grader", "base_url": f"{endpoint}/unauthorized/v1", "retries": 0, "timeout": 5}}
    with running_server(create_app("heuristic")) as policy_url:
        command = _eval_command(out, "--workers", "2", env_kwargs=judge)
        command[command.index("heuristic")] = "openai:heuristic"
        command += ["--policy-kwargs", json.dumps({"base_url": policy_url, "api_key": POLICY_KEY,
                                                   "send_env_info": True, "retries": 0})]
        done = _run(command, env={"OPENAI_API_KEY": ENV_KEY})
    assert done.returncode == 0, done.stderr
    # the judge did see the key and quote it back, and the policy did get its key
    results = json.loads((out / "results.json").read_text())
    errors = [t["judge_error"] for e in results["episodes"] for t in e["turns"]]
    assert len(errors) == 3 and all("Incorrect API key provided: [redacted]" in e for e in errors)
    assert results["config"]["policy_kwargs"]["api_key"] == "[redacted]"
    assert results["judge_steps"] == {"steps": 3, "graded": 0, "failed": 3}
    assert "judge failures" in done.stdout and "3 of 3 judged steps" in done.stdout
    written = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"results.json", "episodes.jsonl", "episodes.csv", "report.html"}
    for key in (ENV_KEY, POLICY_KEY):
        for path in written:
            assert key.encode() not in path.read_bytes(), path
        assert key not in done.stdout and key not in done.stderr


# ----------------------------------------------------------------------------- interruptions
#: A judge that grades each step after a delay, so an episode takes long enough to interrupt a run.
def _slow_judge(endpoint: str) -> dict:
    return {"judge": {"model": "grader", "base_url": f"{endpoint}/slow-0.8/v1", "retries": 0, "timeout": 10}}


def test_sigint_marks_the_run_partial_and_resume_completes_it(endpoint, tmp_path):
    out, episodes = tmp_path / "sigint", 6
    command = _eval_command(out, "--workers", "2", episodes=episodes, env_kwargs=_slow_judge(endpoint))
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    _wait_for_episode(process, out)
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: the whole process group, the workers too
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "--resume" in stderr
    partial = json.loads((out / "results.json").read_text())
    done = _jsonl_indices(out)
    assert partial["complete"] is False and 1 <= partial["episodes_done"] == len(done) < episodes
    recorded = [json.loads(line)["episode"]["task_id"] for line in (out / "episodes.jsonl").read_text().splitlines()]
    assert sorted(e["task_id"] for e in partial["episodes"]) == sorted(recorded)
    resumed = _run([*command, "--resume"])
    assert resumed.returncode == 0, resumed.stderr
    results = _assert_complete_once(out, episodes)
    assert _jsonl_indices(out)[: len(done)] == done  # the episodes done before were not played again
    assert results["judge_steps"]["graded"] == episodes


def test_sigkill_leaves_a_partial_run_that_resume_completes(endpoint, tmp_path):
    out, episodes = tmp_path / "sigkill", 4
    command = _eval_command(out, episodes=episodes, env_kwargs=_slow_judge(endpoint))
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for_episode(process, out)
    process.kill()
    process.wait(timeout=30)
    done = _jsonl_indices(out)
    assert 1 <= len(done) < episodes
    assert json.loads((out / "results.json").read_text())["complete"] is False  # written before the first episode
    with open(out / "episodes.jsonl", "a") as handle:  # as if the kill had cut a line short
        handle.write(f'{{"index": {episodes - 1}, "episode": {{"task_id": "te')
    # a fresh run refuses the folder; --resume continues it
    refused = _run(command)
    assert refused.returncode == 2 and "--resume" in refused.stderr
    resumed = _run([*command, "--resume"])
    assert resumed.returncode == 0, resumed.stderr
    _assert_complete_once(out, episodes)
    assert _jsonl_indices(out)[: len(done)] == done
