"""Tasks: the room schema, the procedural generator, bundled splits and external loaders."""

from .schema import LayoutRule, ObjectRule, Task, TaskError, TaskObject

__all__ = ["LayoutRule", "ObjectRule", "Task", "TaskError", "TaskObject"]
