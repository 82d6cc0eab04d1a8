"""The action parser (DESIGN.md section 5): layout text in, placements and named errors out.

Accepted: optional ``<think>...</think>``, then ``<answer>...</answer>`` holding a JSON list
(a fenced ```json block inside is tolerated); a bare JSON list is accepted too. Nothing inside
``<think>`` (an unclosed one runs to the end) is ever read as the answer. Each entry is
``{"new_object_id": str, "x": num, "y": num, "z": num}`` with an optional ``"z_angle"``.

Parsing never raises. Whatever shape the answer has, it yields only the entries that are
valid, so no shape of answer can skip scoring: a dict keyed by ids is ``not_a_list`` and
places nothing, a list of the wrong length places what it validly names.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

#: Longest action text read; longer answers are rejected whole (``too_long``).
MAX_ACTION_CHARS = 65536
#: Largest coordinate magnitude accepted, in metres; beyond it the entry is a ``bad_number``.
MAX_COORDINATE = 1000.0
#: At most this many errors are itemised; the rest are counted in one ``more_errors`` entry.
MAX_LISTED_ERRORS = 50

ERROR_CODES = (
    "not_text",       # the action is not a string
    "too_long",       # longer than MAX_ACTION_CHARS
    "empty_answer",   # nothing inside the answer
    "not_json",       # the answer is not JSON
    "not_a_list",     # JSON, but not a list of entries
    "bad_entry",      # a list item that is not an object, or has no string new_object_id
    "missing_field",  # an entry without x, y or z
    "bad_number",     # a coordinate that is not a finite number within MAX_COORDINATE
    "unknown_id",     # an id the room does not have
    "duplicate_id",   # an id answered twice (the first one counts)
    "missing_object", # a room object the answer left out
    "more_errors",    # the count of errors beyond MAX_LISTED_ERRORS
)

_ANSWER = re.compile(r"<answer>(.*?)(?:</answer>|$)", re.DOTALL | re.IGNORECASE)
_THINK = re.compile(r"<think>.*?(?:</think>|$)", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)


@dataclass(frozen=True)
class Placement:
    """A pose the answer gave one object; ``z_angle`` is None when the answer left it out."""

    x: float
    y: float
    z: float
    z_angle: float | None = None


@dataclass(frozen=True)
class ParseError:
    """A named problem with the answer; ``object_id`` is set when it concerns one object."""

    code: str
    object_id: str | None = None
    detail: str = ""

    def describe(self) -> str:
        subject = f"{self.object_id}: " if self.object_id else ""
        return f"{self.code}: {subject}{self.detail}".rstrip(": ")


@dataclass(frozen=True)
class ParseResult:
    """What an action validly placed, and everything wrong with it."""

    placements: dict[str, Placement]
    errors: tuple[ParseError, ...] = ()
    """The first MAX_LISTED_ERRORS errors, then one ``more_errors`` entry for the rest."""
    counts: dict[str, int] = field(default_factory=dict)
    """How many errors of each code, all of them counted."""

    @property
    def error_codes(self) -> tuple[str, ...]:
        return tuple(e.code for e in self.errors)

    def count(self, code: str) -> int:
        return self.counts.get(code, 0)


def _safe_text(value: Any, limit: int = 40) -> str:
    """A printable ASCII rendering of user text for error messages (never echoes raw input)."""
    text = value if isinstance(value, str) else repr(value)
    text = text.encode("ascii", "backslashreplace").decode("ascii")
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def extract_answer(text: str) -> str:
    """The JSON part of an action: the last ``<answer>`` block outside ``<think>``, else the text
    without ``<think>``. What only the reasoning holds is never the answer (DESIGN.md section 6)."""
    text = _THINK.sub("", text)
    answers = _ANSWER.findall(text)
    body = answers[-1] if answers else text
    fenced = _FENCE.findall(body)
    return (fenced[-1] if fenced else body).strip()


def _load_json(body: str) -> tuple[Any, bool]:
    """(value, ok). NaN/Infinity literals become NaN so the entry check can name them."""
    try:
        return json.loads(body, parse_constant=lambda _: math.nan), True
    except (ValueError, RecursionError):
        pass
    start, end = body.find("["), body.rfind("]")
    if 0 <= start < end:  # a list with prose around it
        try:
            return json.loads(body[start : end + 1], parse_constant=lambda _: math.nan), True
        except (ValueError, RecursionError):
            pass
    return None, False


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # a JSON integer with hundreds of digits
        return None
    if not math.isfinite(number) or abs(number) > MAX_COORDINATE:
        return None
    return number


def _parse_entry(entry: Any, index: int) -> tuple[str | None, Placement | None, ParseError | None]:
    if not isinstance(entry, dict):
        return None, None, ParseError("bad_entry", None, f"entry {index} is a {type(entry).__name__}, not an object")
    oid = entry.get("new_object_id")
    if not isinstance(oid, str):
        return None, None, ParseError("bad_entry", None, f"entry {index} has no string new_object_id")
    coords = []
    for key in ("x", "y", "z"):
        if key not in entry:
            return oid, None, ParseError("missing_field", oid, f"no {key!r}")
        number = _number(entry[key])
        if number is None:
            return oid, None, ParseError("bad_number", oid, f"{key}={_safe_text(entry[key], 24)}")
        coords.append(number)
    z_angle = None
    if entry.get("z_angle") is not None:
        z_angle = _number(entry["z_angle"])
        if z_angle is None:
            return oid, None, ParseError("bad_number", oid, f"z_angle={_safe_text(entry['z_angle'], 24)}")
        z_angle %= 360.0
    return oid, Placement(*coords, z_angle), None


def parse_action(action: Any, object_ids: Iterable[str]) -> ParseResult:
    """Read an action against the room's object ids. Never raises."""
    ids = list(object_ids)
    if not isinstance(action, str):
        return _result({}, [ParseError("not_text", None, f"got {type(action).__name__}")])
    if len(action) > MAX_ACTION_CHARS:
        return _result({}, [ParseError("too_long", None, f"{len(action)} > {MAX_ACTION_CHARS} characters")])
    body = extract_answer(action)
    if not body:
        return _result({}, [ParseError("empty_answer")])
    value, ok = _load_json(body)
    if not ok:
        return _result({}, [ParseError("not_json", None, "the answer is not valid JSON")])
    if not isinstance(value, list):
        return _result({}, [ParseError("not_a_list", None, f"got a JSON {type(value).__name__}")])

    known = set(ids)
    answered: set[str] = set()
    placements: dict[str, Placement] = {}
    errors: list[ParseError] = []
    for index, entry in enumerate(value):
        oid, placement, error = _parse_entry(entry, index)
        if oid is not None and oid not in known:
            errors.append(ParseError("unknown_id", _safe_text(oid)))
            continue
        if oid is not None and oid in answered:
            errors.append(ParseError("duplicate_id", oid))
            continue
        if oid is not None:
            answered.add(oid)
        if error is not None:
            errors.append(error)
            continue
        placements[oid] = placement  # type: ignore[index]
    errors += [ParseError("missing_object", oid) for oid in ids if oid not in answered]
    return _result(placements, errors)


def _result(placements: dict[str, Placement], errors: list[ParseError]) -> ParseResult:
    counts: dict[str, int] = {}
    for e in errors:
        counts[e.code] = counts.get(e.code, 0) + 1
    listed = tuple(errors[:MAX_LISTED_ERRORS])
    if len(errors) > MAX_LISTED_ERRORS:
        listed += (ParseError("more_errors", None, f"{len(errors) - MAX_LISTED_ERRORS} more"),)
    return ParseResult(placements, listed, counts)
