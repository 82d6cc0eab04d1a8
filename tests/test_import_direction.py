"""One way down: no module imports a layer above its own (DESIGN.md section 2).

The layers, lowest first: ``metaspatial_env``, ``agents``, ``training``, ``benchmarks``. The test
walks the import statements of every module of the four packages (top level, inside functions,
``importlib.import_module("...")`` with a literal name, and relative imports resolved to their
package) and fails on any import of a higher layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("metaspatial_env", "agents", "training", "benchmarks")


def imported_modules(path: Path, root: Path = ROOT) -> set[str]:
    """Absolute names of every module ``path`` imports, anywhere in the file."""
    package = ".".join(path.relative_to(root).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            names.add(base)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str) and not node.args[0].value.startswith(".")):
            names.add(node.args[0].value)
    return names


def upward_imports(layer: str) -> list[str]:
    above = LAYERS[LAYERS.index(layer) + 1:]
    found = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        for name in sorted(imported_modules(path)):
            if name.split(".")[0] in above:
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


@pytest.mark.parametrize("layer", LAYERS[:-1])
def test_no_module_imports_a_higher_layer(layer):
    assert upward_imports(layer) == []


def test_the_walk_sees_every_kind_of_import(tmp_path):
    """The checker itself: it would catch a lazy, a relative-to-top and an importlib import."""
    module = ROOT / "metaspatial_env" / "judge.py"
    names = imported_modules(module)
    assert "metaspatial_env.config" in names  # a relative import resolved to its package
    fake = tmp_path / "metaspatial_env" / "sub" / "mod.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("import os\n\ndef f():\n    from agents.heuristic import HeuristicPolicy\n"
                    "    import importlib\n    importlib.import_module('training.trainer')\n"
                    "from ..episode import Episode\n")
    assert imported_modules(fake, tmp_path) >= {"agents.heuristic", "training.trainer", "metaspatial_env.episode"}
