"""Per-room-type recipes: the groups a room of each type is built from.

A recipe is a list of (builder, probability) pairs that the driver runs in order
while the object budget lasts (each with its probability; the square root of it in dense
rooms); :mod:`.fillers` then tops the room up. A recipe is drawn per room (the table's
functions make the few random choices a recipe holds, such as the kind of bed or sofa), so the
random stream is read in the same order every time.
"""

from __future__ import annotations

from collections.abc import Callable

from .groups import (
    Builder,
    bind,
    g_bed,
    g_ceiling_light,
    g_corner,
    g_desk,
    g_easel,
    g_fireplace,
    g_island,
    g_kitchen_run,
    g_living,
    g_piano,
    g_reading_corner,
    g_row,
    g_screen_wall,
    g_seating_table,
    g_wall_item,
    g_wall_piece,
)
from .room import Room

#: (builder, probability) pairs, run in order.
Recipe = list[tuple[Builder, float]]


def _bedroom(room: Room, big: bool) -> Recipe:
    return [
        (bind(g_bed, "bed"), 1.0),
        (bind(g_wall_piece, "wardrobe"), 0.75),
        (bind(g_wall_piece, "dresser", top_items=("table_lamp", "vase"), art_prob=0.5, art_cat="mirror"), 0.5),
        (bind(g_desk), 0.25),
        (bind(g_reading_corner), 0.35),
        (bind(g_wall_piece, "vanity_table", top_items=("table_plant",), art_prob=0.6, art_cat="mirror"), 0.15),
        (bind(g_ceiling_light, "ceiling_fan" if big else "ceiling_light"), 0.6),
    ]


def _living_room(room: Room, big: bool) -> Recipe:
    return [
        (bind(g_living, "sectional_sofa" if room.p(0.25) else "sofa"), 1.0),
        (bind(g_reading_corner), 0.4),
        (bind(g_row, "bookshelf", 1 + int(room.p(0.4))), 0.45),
        (bind(g_wall_piece, "sideboard", top_items=("vase", "table_lamp"), art_prob=0.4), 0.3),
        (bind(g_fireplace), 0.2),
        (bind(g_piano), 0.12),
        (bind(g_wall_piece, "console_table", top_items=("vase",), art_prob=0.4, art_cat="mirror"), 0.2),
        (bind(g_ceiling_light, "chandelier" if room.p(0.4) else "ceiling_light"), 0.6),
    ]


def _dining_room(room: Room, big: bool) -> Recipe:
    return [
        (
            bind(
                g_seating_table,
                "dining_table",
                "dining_chair",
                light=room.choice(("pendant_light", "chandelier")),
                rug_prob=0.5,
            ),
            1.0,
        ),
        (bind(g_wall_piece, "sideboard", top_items=("vase", "table_lamp", "fruit_bowl"), art_prob=0.5), 0.7),
        (bind(g_wall_piece, "china_cabinet"), 0.45),
        (bind(g_wall_piece, "bar_cart", top_items=("vase",)), 0.25),
        (bind(g_wall_piece, "console_table", top_items=("vase",), art_prob=0.4, art_cat="mirror"), 0.2),
    ]


def _kitchen(room: Room, big: bool) -> Recipe:
    return [
        (bind(g_kitchen_run), 1.0),
        (bind(g_island), 0.5 if big else 0.25),
        (bind(g_seating_table, "dining_table", "dining_chair", light="pendant_light", rug_prob=0.0), 0.35),
        (bind(g_wall_piece, "storage_cabinet", top_items=("microwave",)), 0.2),
        (bind(g_corner, "trash_can"), 0.4),
    ]


def _office(room: Room, big: bool) -> Recipe:
    n_desks = 1 + int(room.p(0.35)) + int(room.p(0.15))
    return [(bind(g_desk), 1.0)] * n_desks + [
        (
            bind(
                g_seating_table,
                "meeting_table",
                "office_chair",
                light="pendant_light",
                rug_prob=0.2,
                top_items=("table_plant",),
            ),
            0.35 if big else 0.1,
        ),
        (bind(g_row, "bookshelf", 1 + int(room.p(0.5))), 0.55),
        (bind(g_wall_piece, "filing_cabinet", top_items=("printer",)), 0.35),
        (bind(g_wall_item, "whiteboard", (1.3, 1.5)), 0.35),
        (bind(g_reading_corner), 0.2),
        (bind(g_ceiling_light, "ceiling_light"), 0.5),
    ]


def _kids_room(room: Room, big: bool) -> Recipe:
    bed = room.choice(("single_bed", "single_bed", "bunk_bed", "crib"))
    return [
        (bind(g_bed, bed), 1.0),
        (bind(g_wall_piece, "wardrobe"), 0.5),
        (
            bind(
                g_seating_table,
                "kids_table",
                "kids_chair",
                rug_prob=0.6,
                centre=False,
                top_items=("desk_lamp", "table_plant"),
            ),
            0.55,
        ),
        (bind(g_wall_piece, "toy_chest"), 0.45),
        (bind(g_row, "low_bookcase", 1), 0.4),
        (bind(g_desk), 0.25),
        (bind(g_corner, "bean_bag"), 0.35),
        (bind(g_easel), 0.15),
        (bind(g_ceiling_light, "ceiling_light"), 0.6),
    ]


def _studio(room: Room, big: bool) -> Recipe:
    return [
        (bind(g_bed, "bed"), 1.0),
        (bind(g_living, "loveseat" if room.p(0.5) else "sofa"), 0.9),
        (bind(g_kitchen_run), 0.7),
        (
            bind(
                g_seating_table,
                "dining_table",
                "dining_chair",
                n_chairs=int(room.rng.integers(2, 5)),
                light="pendant_light",
                rug_prob=0.0,
                centre=False,
            ),
            0.5,
        ),
        (bind(g_wall_piece, "wardrobe"), 0.5),
        (bind(g_desk), 0.2),
    ]


def _library(room: Room, big: bool) -> Recipe:
    return [
        (bind(g_row, "bookshelf", int(room.rng.integers(2, 5)), top_items=()), 1.0),
        (bind(g_row, "bookshelf", int(room.rng.integers(1, 4))), 0.6),
        (
            bind(
                g_seating_table,
                "library_table",
                "dining_chair",
                light=room.choice(("chandelier", "pendant_light")),
                rug_prob=0.4,
                top_items=("desk_lamp", "book_stack"),
            ),
            0.6,
        ),
        (bind(g_reading_corner), 0.7),
        (bind(g_fireplace), 0.2),
        (bind(g_desk), 0.25),
        (bind(g_corner, "globe"), 0.3),
        (bind(g_wall_piece, "magazine_rack"), 0.2),
    ]


def _art_studio(room: Room, big: bool) -> Recipe:
    return [
        (bind(g_easel), 1.0),
        (
            bind(
                g_seating_table,
                "work_table",
                "stool",
                n_chairs=int(room.rng.integers(1, 4)),
                light="pendant_light",
                rug_prob=0.0,
                top_items=("table_lamp", "table_plant"),
            ),
            0.7,
        ),
        (bind(g_easel), 0.4),
        (bind(g_wall_piece, "canvas_rack"), 0.6),
        (bind(g_wall_piece, "storage_cabinet", top_items=("table_plant",)), 0.5),
        (bind(g_desk, "drafting_table", "stool"), 0.35),
        (bind(g_wall_item, "whiteboard", (1.3, 1.5)), 0.2),
        (bind(g_reading_corner), 0.25),
    ]


def _home_theater(room: Room, big: bool) -> Recipe:
    return [
        (bind(g_screen_wall), 1.0),
        (bind(g_wall_piece, "side_table", top_items=("table_lamp",)), 0.3),
        (bind(g_row, "bookshelf", 1), 0.25),
        (bind(g_corner, "bean_bag"), 0.2),
        (bind(g_ceiling_light, "ceiling_light"), 0.5),
    ]


#: Room type -> its recipe, given the room and whether it is big (20 m² or more).
RECIPES: dict[str, Callable[[Room, bool], Recipe]] = {
    "bedroom": _bedroom,
    "living_room": _living_room,
    "dining_room": _dining_room,
    "kitchen": _kitchen,
    "office": _office,
    "kids_room": _kids_room,
    "studio": _studio,
    "library": _library,
    "art_studio": _art_studio,
    "home_theater": _home_theater,
}


def recipe(room: Room) -> Recipe:
    """The recipe for ``room``'s type (``ValueError`` for a type without one)."""
    make = RECIPES.get(room.room_type)
    if make is None:
        raise ValueError(f"unknown room type {room.room_type!r}")
    return make(room, room.X * room.Y >= 20)
