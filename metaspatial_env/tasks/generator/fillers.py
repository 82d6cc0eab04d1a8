"""Fillers: the single objects that top a room up once its recipe has run (plants in corners,
lamps, wall art, shelves ...), drawn by weight per room type and capped per category."""

from __future__ import annotations

import numpy as np

from .groups import (
    Builder,
    bind,
    g_ceiling_light,
    g_corner,
    g_desk,
    g_easel,
    g_reading_corner,
    g_row,
    g_wall_item,
    g_wall_piece,
)
from .room import Room

#: (category capped, weight, builder).
Filler = tuple[str, float, Builder]

#: Most objects of a category that fillers add (groups may add more).
FILLER_CAPS = {
    "plant": 3,
    "wall_art": 3,
    "wall_clock": 1,
    "mirror": 1,
    "ceiling_light": 2,
    "floor_lamp": 2,
    "bookshelf": 4,
    "coat_rack": 1,
    "trash_can": 1,
    "globe": 1,
    "whiteboard": 1,
    "wall_shelf": 2,
    "speaker": 4,
    "bean_bag": 2,
    "stool": 3,
    "toy_chest": 1,
    "shoe_rack": 1,
    "magazine_rack": 1,
    "dresser": 2,
    "filing_cabinet": 2,
    "side_table": 2,
    "bar_cart": 1,
    "easel": 3,
    "canvas_rack": 2,
    "low_bookcase": 2,
    "armchair": 3,
    "desk": 3,
    "storage_cabinet": 2,
    "sideboard": 1,
    "console_table": 1,
}
DECOR = ("plant", "wall_art", "wall_clock", "mirror", "wall_shelf", "ceiling_light", "floor_lamp")

#: Fillers every room type draws from.
COMMON_FILLERS: tuple[Filler, ...] = (
    ("plant", 2.0, bind(g_corner, "plant")),
    ("wall_art", 2.0, bind(g_wall_item, "wall_art", (1.4, 1.65))),
    ("floor_lamp", 1.0, bind(g_corner, "floor_lamp")),
    ("ceiling_light", 0.6, bind(g_ceiling_light, "ceiling_light")),
    ("bookshelf", 0.8, bind(g_row, "bookshelf", 1)),
)

#: Fillers per room type, besides the common ones.
FILLERS: dict[str, tuple[Filler, ...]] = {
    "bedroom": (
        ("mirror", 1.0, bind(g_wall_item, "mirror", (1.3, 1.5))),
        ("shoe_rack", 0.5, bind(g_wall_piece, "shoe_rack")),
        ("coat_rack", 0.5, bind(g_corner, "coat_rack")),
        ("wall_shelf", 0.6, bind(g_wall_item, "wall_shelf", (1.3, 1.7))),
        ("dresser", 1.0, bind(g_wall_piece, "dresser", top_items=("vase", "table_lamp"))),
        ("armchair", 1.0, bind(g_reading_corner)),
        ("desk", 0.6, bind(g_desk)),
    ),
    "living_room": (
        ("wall_shelf", 0.8, bind(g_wall_item, "wall_shelf", (1.3, 1.7))),
        ("wall_clock", 0.6, bind(g_wall_item, "wall_clock", (1.8, 2.0))),
        ("armchair", 1.5, bind(g_reading_corner)),
        ("magazine_rack", 0.3, bind(g_wall_piece, "magazine_rack")),
        ("speaker", 0.4, bind(g_corner, "speaker")),
        ("sideboard", 0.8, bind(g_wall_piece, "sideboard", top_items=("vase", "table_lamp"))),
        ("console_table", 0.5, bind(g_wall_piece, "console_table", top_items=("vase",))),
    ),
    "dining_room": (
        ("wall_clock", 0.8, bind(g_wall_item, "wall_clock", (1.8, 2.0))),
        ("mirror", 0.6, bind(g_wall_item, "mirror", (1.4, 1.6))),
        ("bar_cart", 0.6, bind(g_wall_piece, "bar_cart", top_items=("vase",))),
        ("sideboard", 1.0, bind(g_wall_piece, "sideboard", top_items=("vase", "fruit_bowl"))),
        ("console_table", 0.6, bind(g_wall_piece, "console_table", top_items=("vase",))),
    ),
    "kitchen": (
        ("wall_clock", 1.0, bind(g_wall_item, "wall_clock", (1.8, 2.0))),
        ("wall_shelf", 0.8, bind(g_wall_item, "wall_shelf", (1.4, 1.7))),
        ("trash_can", 0.8, bind(g_corner, "trash_can")),
        ("stool", 0.4, bind(g_corner, "stool")),
        ("storage_cabinet", 1.0, bind(g_wall_piece, "storage_cabinet", top_items=("microwave", "fruit_bowl"))),
    ),
    "office": (
        ("wall_clock", 0.8, bind(g_wall_item, "wall_clock", (1.8, 2.0))),
        ("coat_rack", 0.6, bind(g_corner, "coat_rack")),
        ("filing_cabinet", 1.0, bind(g_wall_piece, "filing_cabinet", top_items=("printer",))),
        ("trash_can", 0.6, bind(g_corner, "trash_can")),
        ("wall_shelf", 0.6, bind(g_wall_item, "wall_shelf", (1.4, 1.7))),
        ("globe", 0.2, bind(g_corner, "globe")),
        ("desk", 1.2, bind(g_desk)),
        ("armchair", 0.6, bind(g_reading_corner)),
        ("storage_cabinet", 0.8, bind(g_wall_piece, "storage_cabinet", top_items=("printer", "table_plant"))),
    ),
    "kids_room": (
        ("bean_bag", 0.8, bind(g_corner, "bean_bag")),
        ("wall_shelf", 0.8, bind(g_wall_item, "wall_shelf", (1.2, 1.5))),
        ("toy_chest", 0.8, bind(g_wall_piece, "toy_chest")),
        ("whiteboard", 0.4, bind(g_wall_item, "whiteboard", (1.1, 1.3))),
        ("trash_can", 0.3, bind(g_corner, "trash_can")),
        ("low_bookcase", 0.8, bind(g_row, "low_bookcase", 1)),
        ("desk", 0.6, bind(g_desk)),
        ("easel", 0.4, bind(g_easel)),
    ),
    "studio": (
        ("wall_shelf", 0.8, bind(g_wall_item, "wall_shelf", (1.4, 1.7))),
        ("coat_rack", 0.6, bind(g_corner, "coat_rack")),
        ("shoe_rack", 0.5, bind(g_wall_piece, "shoe_rack")),
        ("mirror", 0.5, bind(g_wall_item, "mirror", (1.3, 1.5))),
        ("armchair", 0.8, bind(g_reading_corner)),
        ("desk", 0.6, bind(g_desk)),
        ("dresser", 0.6, bind(g_wall_piece, "dresser", top_items=("vase",))),
    ),
    "library": (
        ("bookshelf", 2.5, bind(g_row, "bookshelf", 1)),
        ("armchair", 1.2, bind(g_reading_corner)),
        ("globe", 0.4, bind(g_corner, "globe")),
        ("wall_clock", 0.4, bind(g_wall_item, "wall_clock", (1.8, 2.0))),
        ("low_bookcase", 0.8, bind(g_wall_piece, "low_bookcase", top_items=("vase", "book_stack"))),
        ("desk", 0.5, bind(g_desk)),
        ("magazine_rack", 0.3, bind(g_wall_piece, "magazine_rack")),
    ),
    "art_studio": (
        ("easel", 1.0, bind(g_easel)),
        ("canvas_rack", 0.8, bind(g_wall_piece, "canvas_rack")),
        ("stool", 0.4, bind(g_corner, "stool")),
        ("trash_can", 0.4, bind(g_corner, "trash_can")),
        ("wall_clock", 0.3, bind(g_wall_item, "wall_clock", (1.8, 2.0))),
        ("storage_cabinet", 0.8, bind(g_wall_piece, "storage_cabinet", top_items=("table_plant", "table_lamp"))),
        ("armchair", 0.5, bind(g_reading_corner)),
    ),
    "home_theater": (
        ("speaker", 1.0, bind(g_corner, "speaker")),
        ("bean_bag", 0.6, bind(g_corner, "bean_bag")),
        ("side_table", 0.6, bind(g_wall_piece, "side_table", top_items=("table_lamp",))),
        ("armchair", 0.5, bind(g_reading_corner)),
    ),
}


def fillers(room: Room) -> list[Filler]:
    """(category capped, weight, builder) of the fillers for the room's type."""
    out = list(COMMON_FILLERS) + list(FILLERS[room.room_type])
    if room.dense:  # pack furniture rather than decor
        out = [(c, w * (0.4 if c in DECOR else 1.5), fn) for c, w, fn in out]
    return out


def fill(room: Room) -> None:
    """Add weighted random fillers until the budget is spent, every category is at its cap or 12 fail."""
    options = fillers(room)
    failures = 0
    caps = dict(FILLER_CAPS)
    if room.room_type == "library":
        caps["bookshelf"] = 10
    while room.left() >= 1 and failures < 12:
        live = [f for f in options if room.count(f[0]) < caps.get(f[0], 2)]
        if not live:
            break
        weights = np.array([w for _, w, _ in live], dtype=float)
        i = int(room.rng.choice(len(live), p=weights / weights.sum()))
        if live[i][2](room) <= 0:
            failures += 1
