"""The ``metaspatial`` dispatcher: every subcommand listed, owners imported only when needed,
no heavy stack for help, and bad input as one error line with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from metaspatial_env.cli import SUBCOMMANDS, build_parser, main

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = ["demo", "bench", "eval", "compare", "serve-policy", "serve-env", "train", "rllib"]
HEAVY = ["torch", "ray", "bpy"]
OWNERS = ["agents", "training", "benchmarks"]

# Runs main(ARGV) in a fresh interpreter, then prints which of MODULES it imported (JSON, last line).
PROBE = """
import json, sys
from metaspatial_env.cli import main
try:
    code = main({argv!r})
except SystemExit as exit:
    code = exit.code
print(json.dumps({{"code": code, "imported": [m for m in {modules!r} if m in sys.modules]}}))
"""


def probe(argv: list[str], modules: list[str], prelude: str = "", cwd: Path = ROOT) -> tuple[dict, str, str]:
    code = prelude + PROBE.format(argv=argv, modules=modules)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, timeout=120)
    *output, last = done.stdout.strip().splitlines()
    return json.loads(last), "\n".join(output), done.stderr


def error_lines(stderr: str) -> list[str]:
    assert "Traceback" not in stderr
    return [line for line in stderr.splitlines() if "error:" in line]


def test_the_table_holds_every_subcommand_with_a_module_function_target():
    assert list(SUBCOMMANDS) == EXPECTED
    for name, subcommand in SUBCOMMANDS.items():
        module, _, function = subcommand.target.partition(":")
        assert module.partition(".")[0] in [*OWNERS, "metaspatial_env"] and function, name  # serve-env: the env's
        assert subcommand.help and "\n" not in subcommand.help


def test_top_level_help_lists_every_subcommand_and_imports_no_owner():
    result, out, _ = probe(["--help"], HEAVY + OWNERS)
    assert result == {"code": 0, "imported": []}
    listed = out.partition("positional arguments:")[2]
    words = " ".join(listed.split())  # argparse wraps to the terminal's width
    for name in EXPECTED:
        assert f"    {name} " in listed, name
        assert f"{name} {SUBCOMMANDS[name].help.replace('%%', '%')}" in words, name


def test_python_dash_m_runs_the_command():
    done = subprocess.run([sys.executable, "-m", "metaspatial_env.cli", "--help"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    usage = " ".join(done.stdout.split())  # argparse wraps the usage line to the terminal's width
    assert done.returncode == 0 and usage.startswith("usage: metaspatial [-h] {demo,bench,eval,")


@pytest.mark.parametrize("command", ["eval", "train"])
def test_subcommand_help_imports_only_its_owner_and_no_heavy_stack(command):
    result, out, _ = probe([command, "--help"], HEAVY + OWNERS)
    assert result["code"] == 0
    assert result["imported"] == [SUBCOMMANDS[command].target.partition(".")[0]]
    assert out.startswith(f"usage: metaspatial {command} [-h]")


@pytest.mark.parametrize("command", EXPECTED)
def test_every_subcommand_parser_builds_with_its_handler(command):
    parser = build_parser(command)
    action = next(a for a in parser._actions if a.dest == "command")
    sub = action.choices[command]
    assert callable(sub.get_default("func"))
    assert all(action.choices[other].get_default("func") is None for other in EXPECTED if other != command)


def test_flags_and_defaults_reach_the_handler():
    args = build_parser("eval").parse_args(["eval", "--policy", "heuristic", "--env-kwargs", '{"a": 1}'])
    assert (args.split, args.turns, args.workers, args.env, args.out) == ("test", 3, 1, "MetaSpatial-Fast-v0",
                                                                          "out/eval")
    assert args.env_kwargs == {"a": 1} and args.policy_kwargs == {} and not args.no_images
    args = build_parser("rllib").parse_args(["rllib", "--algo", "sac"])
    assert (args.iterations, args.config, args.seed, args.out) == (None, None, None, "out/rllib/progress.csv")


@pytest.mark.parametrize("argv, message", [
    (["frobnicate"], "metaspatial: error: argument command: invalid choice: 'frobnicate'"),
    ([], "metaspatial: error: the following arguments are required: command"),
    (["eval"], "metaspatial eval: error: the following arguments are required: --policy"),
    (["eval", "--policy", "x", "--env-kwargs", "[1]"], "metaspatial eval: error: argument --env-kwargs: "
                                                       "expected a JSON object"),
    (["rllib", "--algo", "dqn"], "metaspatial rllib: error: argument --algo: invalid choice: 'dqn'"),
])
def test_usage_errors_are_one_line_and_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exit:
        main(argv)
    assert exit.value.code == 2
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1 and lines[0].startswith(message)


def test_unknown_subcommand_in_a_fresh_process_is_one_line_and_exit_2():
    done = subprocess.run([sys.executable, "-m", "metaspatial_env.cli", "frobnicate"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert error_lines(done.stderr) == [done.stderr.splitlines()[-1]]
    assert done.stderr.splitlines()[-1].startswith("metaspatial: error: argument command: invalid choice")


def test_a_bad_value_found_by_the_handler_is_one_line_and_exit_2(tmp_path, capsys):
    argv = ["eval", "--policy", "nope", "--env", "MetaSpatial-Text-v0", "--episodes", "1", "--no-images",
            "--out", str(tmp_path)]
    assert main(argv) == 2
    lines = error_lines(capsys.readouterr().err)
    from agents import policy_names

    assert lines == [f"metaspatial eval: error: unknown policy 'nope'; known: {policy_names()}"]
    assert "heuristic" in lines[0] and "random" in lines[0]
    assert main(["train", "--config", str(tmp_path / "missing.yaml")]) == 2
    assert error_lines(capsys.readouterr().err)[0].startswith("metaspatial train: error: [Errno 2] No such file")


def test_an_unknown_benchmark_is_one_line_and_exit_2(capsys):
    assert main(["bench", "no_such_benchmark"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("no benchmark 'no_such_benchmark'; known: ") and err.count("\n") == 1
    assert "env_step, " in err and "vlm_step" in err


# An interpreter where ``benchmarks`` cannot be imported, as for an installed wheel.
NO_BENCHMARKS = """
import sys
class _Hide:
    def find_spec(self, name, path=None, target=None):
        if name == "benchmarks" or name.startswith("benchmarks."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, _Hide())
"""


def test_bench_outside_a_checkout_says_to_run_it_from_one(tmp_path):
    result, out, err = probe(["bench", "env_step"], OWNERS, prelude=NO_BENCHMARKS, cwd=tmp_path)
    assert result == {"code": 2, "imported": []} and out == ""
    assert error_lines(err) == [err.strip()]
    assert err.startswith("metaspatial: error: 'bench' needs the 'benchmarks' package") and "checkout" in err
