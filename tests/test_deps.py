"""``require``: the one idiom for optional dependencies."""

from __future__ import annotations

import json
import sys

import pytest
from gymnasium.error import DependencyNotInstalled

from metaspatial_env.deps import require

MISSING = "metaspatial_no_such_module_for_tests"


@pytest.mark.parametrize("module", [MISSING, f"{MISSING}.sub"])
def test_a_missing_module_names_the_pip_command_and_the_extra(module):
    with pytest.raises(DependencyNotInstalled) as failure:
        require(module, "ray", "rollouts on Ray")
    assert isinstance(failure.value, ImportError)  # code catching a failed import still does
    message = str(failure.value)
    assert message.startswith(f"rollouts on Ray needs {module!r}")
    assert "pip install 'metaspatial-env[ray]'" in message


def test_an_import_error_inside_an_installed_module_propagates_unchanged(tmp_path, monkeypatch):
    name = "metaspatial_broken_module_for_tests"
    (tmp_path / f"{name}.py").write_text("raise ImportError('boom')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    with pytest.raises(ImportError) as failure:
        require(name, "hf")
    assert type(failure.value) is ImportError
    assert str(failure.value) == "boom"


def test_a_missing_dependency_of_an_installed_module_propagates(tmp_path, monkeypatch):
    name = "metaspatial_needy_module_for_tests"
    (tmp_path / f"{name}.py").write_text(f"import {MISSING}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    with pytest.raises(ModuleNotFoundError) as failure:
        require(name, "hf")
    assert not isinstance(failure.value, DependencyNotInstalled)
    assert failure.value.name == MISSING


def test_a_present_module_is_returned():
    assert require("json", "hf") is json
