"""Building the project's frozen config dataclasses from JSON-able or YAML mappings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")


def from_mapping(cls: type[T], data: Mapping[str, Any] | None, what: str) -> T:
    """``cls(**data)``; keys that are not fields of ``cls`` raise ``ValueError`` naming ``what``
    (e.g. ``"RewardConfig keys"``) and the known keys."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ValueError(f"{what}: expected a mapping of {cls.__name__} fields, got {type(data).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown {what} {unknown}; known: {sorted(known)}")
    return cls(**data)
