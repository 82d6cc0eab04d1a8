"""Layout records: an object before placement (:class:`Spec`) and once placed (:class:`Placed`),
with the small axis-aligned geometry helpers the placement code shares."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...geometry import Box
from ..catalog import Category
from .constants import EPS


@dataclass(frozen=True)
class Spec:
    """What an object is before it is placed: category, size, style and material."""

    cat: Category
    size: tuple[float, float, float]
    style: str
    material: str


@dataclass(eq=False)
class Placed:
    """A placed object (poses are rounded on creation; ``key`` is an internal id)."""

    key: int
    spec: Spec
    x: float
    y: float
    z: float
    heading: float
    on_floor: bool = True
    wall: str | None = None
    """The wall its back is against, if any."""
    allow: tuple[int, ...] = ()
    """Keys of objects it may overlap (declared on/under partners)."""
    zone_ok: tuple[int, ...] = ()
    """Keys of objects whose front clearance it may stand in (its anchors)."""
    layout_rules: list[tuple[str, str]] = field(default_factory=list)
    object_rules: list[tuple[int, str, bool]] = field(default_factory=list)
    facing: str | int | None = None
    lo: tuple[float, float, float] = (0.0, 0.0, 0.0)
    hi: tuple[float, float, float] = (0.0, 0.0, 0.0)
    zone: tuple[float, float, float, float] | None = None
    box: Box | None = None
    origin: str = ""
    """What placed it: ``core`` (the room's first recipe group), ``recipe`` (its other groups),
    ``filler`` or ``rug``; :mod:`.usable` drops the cheaper ones first."""

    @property
    def cat(self) -> Category:
        return self.spec.cat

    @property
    def size(self) -> tuple[float, float, float]:
        return self.spec.size

    @property
    def top(self) -> float:
        return self.hi[2]


def r4(v: float) -> float:
    return round(float(v), 4)


def axes(heading: float) -> tuple[tuple[int, int], tuple[int, int]]:
    """(forward, right) unit vectors of an axis-aligned heading, as integers."""
    h = int(round(heading)) % 360
    return {0: ((0, 1), (1, 0)), 90: ((1, 0), (0, -1)), 180: ((0, -1), (-1, 0)), 270: ((-1, 0), (0, 1))}[h]


def overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return min(a1, b1) - max(a0, b0)


def rect_overlap(lo, hi, rect) -> bool:
    """Whether the footprint ``lo``..``hi`` overlaps ``rect`` = (x0, y0, x1, y1) by more than :data:`EPS`."""
    return overlap(lo[0], hi[0], rect[0], rect[2]) > EPS and overlap(lo[1], hi[1], rect[1], rect[3]) > EPS


def is_flat(o: Placed) -> bool:
    return o.cat.name in ("rug", "play_mat")
