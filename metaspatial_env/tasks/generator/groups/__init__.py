"""Group builders: each tries to add a group of objects to a :class:`~..room.Room` (an anchor and
its satellites) and returns how many it placed (0 when none fit).

Most try several anchor positions with :meth:`~..room.Room.best_trial` and keep the one that
places the most satellites. :func:`bind` fixes a builder's arguments for the recipes and fillers.
"""

from __future__ import annotations

from collections.abc import Callable

from ..room import Room
from .basic import g_ceiling_light, g_corner, g_piano, g_row, g_wall_item, g_wall_piece
from .bed import g_bed
from .desk import g_desk
from .kitchen import g_island, g_kitchen_run
from .living import g_living
from .nooks import g_easel, g_fireplace, g_reading_corner
from .table import g_seating_table
from .theater import g_screen_wall

#: A builder with its arguments bound: called with the room, returns how many objects it placed.
Builder = Callable[[Room], int]

__all__ = [
    "Builder",
    "bind",
    "g_bed",
    "g_ceiling_light",
    "g_corner",
    "g_desk",
    "g_easel",
    "g_fireplace",
    "g_island",
    "g_kitchen_run",
    "g_living",
    "g_piano",
    "g_reading_corner",
    "g_row",
    "g_screen_wall",
    "g_seating_table",
    "g_wall_item",
    "g_wall_piece",
]


def bind(fn: Callable[..., int], *args, **kw) -> Builder:
    """``fn`` with every argument but the room fixed."""
    return lambda room: fn(room, *args, **kw)
