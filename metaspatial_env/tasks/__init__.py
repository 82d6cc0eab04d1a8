"""Tasks: where rooms come from. The room schema itself (:class:`Task`) is one layer down, in
:mod:`metaspatial_env.schema`, so that the rules, physics and scoring can use it without the
generator above them.

- :mod:`.catalog`: furniture categories with sizes, placements, styles and materials.
- :mod:`.generator`: :func:`generate_task`, deterministic rooms with a verified reference layout
  (it checks its layouts with :mod:`metaspatial_env.relations`, so it sits above them).
- :mod:`.splits`: the bundled ``train``/``test``/``hard`` splits and :func:`load_tasks` for files.
- :mod:`.metaspatial`: MetaSpatial / IDesign scene graphs as tasks.
"""

from __future__ import annotations

from ..schema import LayoutRule, ObjectRule, Task, TaskError, TaskObject
from .catalog import CATEGORIES, ROOM_TYPES, STYLES, Category
from .generator import generate_task, verify_reference_layout
from .metaspatial import load_metaspatial, load_metaspatial_dataset
from .splits import load_rooms, load_split, load_tasks, split_names

__all__ = [
    "CATEGORIES", "ROOM_TYPES", "STYLES", "Category", "LayoutRule", "ObjectRule", "Task", "TaskError",
    "TaskObject", "generate_task", "load_metaspatial", "load_metaspatial_dataset", "load_rooms", "load_split",
    "load_tasks", "split_names",
    "verify_reference_layout",
]
