"""The ``bench`` subcommand of ``metaspatial``: run ``benchmarks/<name>.py`` as a script.

The benchmarks are not shipped in the wheel; :mod:`metaspatial_env.cli` finds this module in a
checkout of the repository (or says to run from one) and calls :func:`add_bench` with the
subcommand's parser.
"""

from __future__ import annotations

import argparse
import importlib.util
import pkgutil
import runpy
import sys


def bench(args: argparse.Namespace) -> int:
    """Run ``benchmarks/<name>.py`` with the remaining arguments (it parses them as its own)."""
    module = f"benchmarks.{args.name}"
    sys.argv = [module, *args.rest]
    try:
        found = importlib.util.find_spec(module) is not None
    except ImportError:  # a dotted name whose parent is not a package
        found = False
    if not found:
        print(f"no benchmark {args.name!r}; known: {', '.join(benchmark_names())}", file=sys.stderr)
        return 2
    try:
        runpy.run_module(module, run_name="__main__")
    except ImportError as error:  # a package without __main__, or a benchmark missing an extra
        print(f"no benchmark {args.name!r}: {error}", file=sys.stderr)
        return 2
    return 0


def benchmark_names() -> list[str]:
    """The runnable benchmarks: this package's modules and subpackages, but this one."""
    import benchmarks

    return sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name != "cli")


def add_bench(b: argparse.ArgumentParser) -> None:
    b.add_argument("name", nargs="?", default="env_step")
    b.add_argument("rest", nargs=argparse.REMAINDER)
    b.set_defaults(func=bench)
