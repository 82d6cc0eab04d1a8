"""The one strict builder of the project's frozen config dataclasses, from JSON-able or YAML mappings.

Every config (env arguments, reward weights, the judge, the trainer's YAML, RLlib runs) is a frozen
dataclass with a docstring per field, parsed once by :func:`from_mapping`: unknown keys are errors
that name the known ones, and a field whose type is itself a config dataclass (or such a dataclass
or ``None``) is built from its nested mapping at the same time, so no section travels on as a raw
dict to be parsed again later.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


def from_mapping(cls: type[T], data: Mapping[str, Any] | T | None, what: str, section: str | None = None) -> T:
    """``cls(**data)`` with every nested config section built too.

    ``data`` may already be a ``cls`` (returned as is) or None (all defaults). Keys that are not
    fields of ``cls`` raise ``ValueError``: ``unknown <what> [keys] in <section>; known: [...]``
    (``what`` e.g. ``"RewardConfig keys"``; ``section`` the dotted path of a nested section, or
    None at the top). A nested section is built by its class's ``from_dict`` classmethod when
    it has one, else by this function with errors naming its path (``rollout``, ``optim`` ...).
    Missing required fields are errors too.
    """
    if isinstance(data, cls):
        return data
    if data is None:
        data = {}
    where = f" in {section}" if section else ""
    if not isinstance(data, Mapping):
        raise ValueError(f"{what}{where}: expected a mapping of {cls.__name__} fields, got {type(data).__name__}")
    nested = _nested_sections(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known, key=str)
    if unknown:
        raise ValueError(f"unknown {what} {unknown}{where}; known: {sorted(known)}")
    kwargs = {}
    scalars = _scalar_types(cls)
    for name, value in data.items():
        sub = nested.get(name)
        if sub is not None and value is not None and not isinstance(value, sub):
            value = _build_section(sub, value, f"{section}.{name}" if section else name)
        elif name in scalars:
            value = _checked_scalar(value, *scalars[name], f"{section}.{name}" if section else name)
        kwargs[name] = value
    missing = sorted(f.name for f in dataclasses.fields(cls) if f.name not in kwargs
                     and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
    if missing:
        raise ValueError(f"{what}{where}: missing required {missing}")
    return cls(**kwargs)


def _build_section(cls: type[T], value: Any, path: str) -> T:
    """A nested section: through the section class's own ``from_dict`` when it has one (its checks
    and messages), else the generic build."""
    own = getattr(cls, "from_dict", None)
    if own is not None:
        return own(value)
    return from_mapping(cls, value, "keys", path)


def to_mapping(config: Any) -> dict[str, Any]:
    """The JSON-able mapping :func:`from_mapping` builds ``config`` back from (nested sections as dicts)."""
    return dataclasses.asdict(config)


_SCALARS = (bool, int, float, str)


def _field_options(cls: type) -> dict[str, tuple]:
    """Each field's annotation as the tuple of its union members (one member when not a union)."""
    hints = typing.get_type_hints(cls)
    out = {}
    for f in dataclasses.fields(cls):
        hint = hints.get(f.name)
        union = isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union
        out[f.name] = typing.get_args(hint) if union else (hint,)
    return out


@functools.cache
def _scalar_types(cls: type) -> dict[str, tuple[type, bool]]:
    """Fields of ``cls`` typed as one of bool, int, float, str (or it or None): ``(type, optional)``."""
    out = {}
    for name, options in _field_options(cls).items():
        kinds = [o for o in options if o is not type(None)]
        if len(kinds) == 1 and kinds[0] in _SCALARS:
            out[name] = (kinds[0], len(kinds) < len(options))
    return out


def _checked_scalar(value: Any, kind: type, optional: bool, path: str) -> Any:
    """``value`` as a ``kind`` field takes it, or ValueError naming the field (``steps=abc`` is
    bad input, not a TypeError deep inside a comparison)."""
    if value is None and optional:
        return value
    if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
        return value
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    raise ValueError(f"{path} must be {names[kind]}{' or null' if optional else ''}, got {value!r}")


@functools.cache
def _nested_sections(cls: type) -> dict[str, type]:
    """Fields of ``cls`` typed as a dataclass, or as a dataclass or None, and that dataclass."""
    out = {}
    for name, options in _field_options(cls).items():
        classes = [o for o in options if isinstance(o, type) and dataclasses.is_dataclass(o)]
        if len(classes) == 1:
            out[name] = classes[0]
    return out
