"""Tasks: the room schema, the procedural generator, bundled splits and external loaders.

- :mod:`.schema`: :class:`Task` and its validation (:class:`TaskError` names the task and field).
- :mod:`.catalog`: furniture categories with sizes, placements, styles and materials.
- :mod:`.generator`: :func:`generate_task`, deterministic rooms with a verified reference layout.
- :mod:`.splits`: the bundled ``train``/``test``/``hard`` splits and :func:`load_tasks` for files.
- :mod:`.metaspatial`: MetaSpatial / IDesign scene graphs as tasks.

The generator, splits and MetaSpatial loader are imported lazily (on first attribute access):
:mod:`metaspatial_env.relations` imports :mod:`.schema`, and the generator imports relations,
so importing them eagerly here would make a cycle.
"""

from __future__ import annotations

import importlib
from typing import Any

from .schema import LayoutRule, ObjectRule, Task, TaskError, TaskObject

_LAZY = {
    "CATEGORIES": ".catalog",
    "Category": ".catalog",
    "ROOM_TYPES": ".catalog",
    "STYLES": ".catalog",
    "generate_task": ".generator",
    "verify_reference_layout": ".generator",
    "load_metaspatial": ".metaspatial",
    "load_metaspatial_dataset": ".metaspatial",
    "load_split": ".splits",
    "load_rooms": ".splits",
    "load_tasks": ".splits",
    "split_names": ".splits",
}

__all__ = ["LayoutRule", "ObjectRule", "Task", "TaskError", "TaskObject", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
