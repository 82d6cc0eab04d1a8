"""The ``metaspatial`` command: one entry point whose subcommands each package owns.

The env sits at the bottom of the dependency order (``benchmarks -> training -> agents ->
metaspatial_env``), so it must not import the packages above it at import time. This module only
knows each subcommand's name, a one-line help and a ``"module:function"`` string; the owning
module is imported when that subcommand is run (or its ``--help`` is asked), so ``metaspatial
--help`` imports none of them and ``metaspatial eval --help`` no heavy stack (torch, Ray, Blender).

The function named by the string takes the subcommand's ``argparse`` parser, adds its arguments
and sets ``func``: a handler ``func(args) -> int`` whose result is the exit status. Every failure
of a handler ends as one ``metaspatial NAME: error: ...`` line (secrets redacted): bad input
(``ValueError``, ``FileNotFoundError`` and the like: an unknown policy, split or config key)
with status 2, as argparse's own errors do; a missing optional extra and any other exception
(a fault, said so) with status 1; Ctrl-C with 130. ``--debug`` anywhere on the line (or
``METASPATIAL_TRACEBACK=1``) shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from typing import NamedTuple

from metaspatial_env.deps import DependencyNotInstalled

DESCRIPTION = """The ``metaspatial`` command: ``demo`` runs policies on bundled rooms and writes a report;
``bench`` runs a benchmark script from :mod:`benchmarks`; ``eval`` measures a policy over a
split, ``compare`` ranks eval results; ``serve-policy`` serves a policy over HTTP; ``serve-env``
serves the env over the OpenEnv protocol (loopback by default) for trainers in another process;
``train`` runs multi-turn RL from a YAML config; ``rllib`` trains RLlib PPO, SAC or APPO on the
continuous env."""


class Subcommand(NamedTuple):
    target: str  # "module:function"; the function adds the arguments to the subcommand's parser
    help: str  # one line for ``metaspatial --help`` (argparse %-formats it: write %% for %)


SUBCOMMANDS: dict[str, Subcommand] = {
    "demo": Subcommand("agents.cli:add_demo", "run policies on bundled rooms and write images and a report"),
    "bench": Subcommand("benchmarks.cli:add_bench", "run a benchmark script (e.g. env_step)"),
    "eval": Subcommand("agents.cli:add_eval",
                       "evaluate a policy over a split (metrics with 95%% CIs, CSV, HTML)"),
    "compare": Subcommand("agents.cli:add_compare",
                          "leaderboard (markdown) and reward-per-turn plot of eval results"),
    "serve-policy": Subcommand("agents.cli:add_serve_policy",
                               "serve a policy as an OpenAI-compatible chat endpoint"),
    "serve-env": Subcommand("metaspatial_env.env_server:add_serve_env",
                            "serve the env over the OpenEnv protocol (loopback by default)"),
    "train": Subcommand("training.cli:add_train",
                        "RL-train a transformers policy (GRPO, RLOO, REINFORCE++, PPO) on Ray"),
    "rllib": Subcommand("training.cli:add_rllib", "train RLlib PPO, SAC or APPO on MetaSpatialContinuous-v0 (CPU)"),
}

# Packages that the wheel does not ship: they are found in a checkout of the repository, whose
# root may be the working directory without being on sys.path (the installed console script).
CHECKOUT_ONLY = {"benchmarks"}


def _import_owner(name: str, parser: argparse.ArgumentParser):
    """The function that fills subcommand ``name``'s parser; a missing owning package is one error line."""
    module_name, _, function = SUBCOMMANDS[name].target.partition(":")
    package = module_name.partition(".")[0]
    root = Path.cwd()
    if package in CHECKOUT_ONLY and (root / package / "__init__.py").is_file() and str(root) not in sys.path:
        try:
            importlib.import_module(package)
        except ModuleNotFoundError:
            sys.path.insert(0, str(root))
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name not in (package, module_name):
            raise  # something the owning module imports is missing: a real fault
        why = ("ships only with a checkout of the repository: run it from the checkout's root"
               if package in CHECKOUT_ONLY else "is not installed")
        parser.exit(2, f"{parser.prog}: error: {name!r} needs the {package!r} package, which {why}\n")
    return getattr(module, function)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand's name and help, with the arguments of ``command`` only
    (the others are empty placeholders, so their owning packages are not imported)."""
    parser = argparse.ArgumentParser(prog="metaspatial", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, subcommand in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=subcommand.help)
        if name == command:
            _import_owner(name, parser)(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv or bool(os.environ.get("METASPATIAL_TRACEBACK"))
    argv = [a for a in argv if a != "--debug"]  # global: anywhere on the line
    # The top-level parser has no option but -h, so the subcommand, if any, is the first word.
    command = argv[0] if argv and argv[0] in SUBCOMMANDS else None
    args = build_parser(command).parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"metaspatial {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 -- the one place a run's failure becomes one line
        if debug:
            raise
        print(f"metaspatial {args.command}: error: {error_line(error)}", file=sys.stderr)
        if isinstance(error, DependencyNotInstalled):
            return 1
        return 2 if is_user_error(error) else 1


#: Bad input (an unknown policy, split or config key, a missing file): status 2, as argparse's errors.
USER_ERRORS = (ValueError, FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)


def is_user_error(error: BaseException) -> bool:
    """Bad input: :data:`USER_ERRORS`, or Gymnasium's own errors (an unknown env id, a bad version)."""
    return isinstance(error, USER_ERRORS) or type(error).__module__.startswith("gymnasium.error")


def error_line(error: BaseException) -> str:
    """One line for a failure: bad input as its message; anything else as a fault, with how to see more."""
    from metaspatial_env.redact import redact

    message = " ".join(str(error).split()) or type(error).__name__
    if is_user_error(error) or isinstance(error, DependencyNotInstalled):
        return redact(message)
    return redact(f"{type(error).__name__}: {message} (a fault, not bad input: rerun with --debug for the traceback)")


if __name__ == "__main__":
    raise SystemExit(main())
