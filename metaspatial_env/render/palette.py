"""Category -> colour, deterministic across processes and machines.

A category is an object id without its trailing instance number (``dining_chair_2`` ->
``dining_chair``; see :func:`category_of`). :func:`category_color` looks a category up in
:data:`PALETTE`; when it is not there, the category's underscore-separated words are tried
from the last one back (``office_chair`` -> ``chair``, ``king_size_bed`` -> ``bed``), and
when no word matches either, a colour is derived from an MD5 hash of the name (never from
Python's salted ``hash``), so the same unknown category gets the same colour in every run.

Colours are RGB tuples of floats in [0, 1]; :func:`category_color_u8` gives 0..255 ints.
They are chosen to stand apart from the neutral floor and walls the renderers draw.
"""

from __future__ import annotations

import colorsys
import hashlib
import re
from functools import lru_cache

_TRAILING_NUMBER = re.compile(r"_\d+$")


def hex_rgb(code: str) -> tuple[float, float, float]:
    """RGB in [0, 1] of a ``#rrggbb`` (or ``rrggbb``) colour code."""
    code = code.lstrip("#")
    return tuple(int(code[i:i + 2], 16) / 255.0 for i in (0, 2, 4))  # type: ignore[return-value]


#: Colours of common furniture categories (keys are lower-case categories, words joined by "_").
PALETTE: dict[str, tuple[float, float, float]] = {
    # sleeping
    "bed": hex_rgb("#5b7fc7"),
    "double_bed": hex_rgb("#5b7fc7"),
    "single_bed": hex_rgb("#6a8fd6"),
    "bunk_bed": hex_rgb("#4f6fb3"),
    "crib": hex_rgb("#8fa9e0"),
    "mattress": hex_rgb("#7d97cf"),
    "nightstand": hex_rgb("#b5793a"),
    "bedside_table": hex_rgb("#b5793a"),
    # seating
    "sofa": hex_rgb("#3f9e8f"),
    "couch": hex_rgb("#3f9e8f"),
    "loveseat": hex_rgb("#4fae9f"),
    "sectional": hex_rgb("#358a7d"),
    "armchair": hex_rgb("#6fbf73"),
    "chair": hex_rgb("#e0a030"),
    "dining_chair": hex_rgb("#e0a030"),
    "office_chair": hex_rgb("#c98a1e"),
    "stool": hex_rgb("#d9b44a"),
    "bar_stool": hex_rgb("#d9b44a"),
    "bench": hex_rgb("#c2a15c"),
    "ottoman": hex_rgb("#8cc08a"),
    "pouf": hex_rgb("#8cc08a"),
    # tables and work
    "table": hex_rgb("#a0522d"),
    "dining_table": hex_rgb("#a0522d"),
    "coffee_table": hex_rgb("#8b5a3c"),
    "side_table": hex_rgb("#9c6b46"),
    "end_table": hex_rgb("#9c6b46"),
    "console_table": hex_rgb("#93603d"),
    "desk": hex_rgb("#7a4e9c"),
    "kitchen_island": hex_rgb("#8f6f5a"),
    # storage
    "wardrobe": hex_rgb("#8e5a2b"),
    "closet": hex_rgb("#8e5a2b"),
    "dresser": hex_rgb("#a8683a"),
    "chest_of_drawers": hex_rgb("#a8683a"),
    "cabinet": hex_rgb("#9a7b5b"),
    "sideboard": hex_rgb("#9a7b5b"),
    "tv_stand": hex_rgb("#6d5a4a"),
    "media_console": hex_rgb("#6d5a4a"),
    "bookshelf": hex_rgb("#c0603a"),
    "bookcase": hex_rgb("#c0603a"),
    "shelf": hex_rgb("#cf7a52"),
    "shoe_rack": hex_rgb("#b58a66"),
    # lighting
    "lamp": hex_rgb("#f2d544"),
    "floor_lamp": hex_rgb("#f2d544"),
    "table_lamp": hex_rgb("#f5e07a"),
    "desk_lamp": hex_rgb("#f5e07a"),
    "pendant": hex_rgb("#ffb347"),
    "pendant_light": hex_rgb("#ffb347"),
    "pendant_lamp": hex_rgb("#ffb347"),
    "chandelier": hex_rgb("#ffc861"),
    "ceiling_light": hex_rgb("#ffd27f"),
    "ceiling_lamp": hex_rgb("#ffd27f"),
    "light": hex_rgb("#ffd27f"),
    "sconce": hex_rgb("#ffcf6e"),
    # soft furnishings and decor
    "rug": hex_rgb("#b54a5e"),
    "carpet": hex_rgb("#b54a5e"),
    "mat": hex_rgb("#c06a7a"),
    "curtain": hex_rgb("#9e7bb5"),
    "curtains": hex_rgb("#9e7bb5"),
    "wall_art": hex_rgb("#d94f8a"),
    "painting": hex_rgb("#d94f8a"),
    "picture": hex_rgb("#d94f8a"),
    "picture_frame": hex_rgb("#d94f8a"),
    "poster": hex_rgb("#e0709f"),
    "mirror": hex_rgb("#9fd3e6"),
    "clock": hex_rgb("#c9c06b"),
    "vase": hex_rgb("#7fbfbf"),
    "plant": hex_rgb("#2e8b3a"),
    "potted_plant": hex_rgb("#2e8b3a"),
    "tree": hex_rgb("#2e7d32"),
    "flower": hex_rgb("#e86fb0"),
    "cushion": hex_rgb("#d98c6a"),
    "pillow": hex_rgb("#d98c6a"),
    # electronics
    "tv": hex_rgb("#2b2b33"),
    "television": hex_rgb("#2b2b33"),
    "monitor": hex_rgb("#3a3a48"),
    "computer": hex_rgb("#4a4a5a"),
    "laptop": hex_rgb("#5a5a6a"),
    "speaker": hex_rgb("#44404a"),
    "piano": hex_rgb("#1f1f24"),
    # kitchen and bath
    "fridge": hex_rgb("#c8d3dc"),
    "refrigerator": hex_rgb("#c8d3dc"),
    "stove": hex_rgb("#5f6b73"),
    "oven": hex_rgb("#5f6b73"),
    "counter": hex_rgb("#b0a18c"),
    "sink": hex_rgb("#a9c4d6"),
    "toilet": hex_rgb("#e8eef2"),
    "bathtub": hex_rgb("#d8e6ef"),
    "shower": hex_rgb("#bcd4e0"),
    "washing_machine": hex_rgb("#d0d8de"),
    # room fixtures
    "door": hex_rgb("#7b5b3a"),
    "window": hex_rgb("#8ec9e8"),
    "fireplace": hex_rgb("#8a3b2e"),
    "radiator": hex_rgb("#b9b9b9"),
}


def category_of(object_id: str) -> str:
    """An id without its trailing instance number: ``dining_chair_2`` -> ``dining_chair``."""
    return _TRAILING_NUMBER.sub("", str(object_id).strip().lower())


def _normalise(category: str) -> str:
    c = category_of(category)
    return re.sub(r"[^a-z0-9]+", "_", c).strip("_")


def _hash_color(name: str) -> tuple[float, float, float]:
    digest = hashlib.md5(name.encode("utf-8")).digest()
    hue = digest[0] / 256.0 + digest[1] / 65536.0
    sat = 0.45 + 0.35 * (digest[2] / 255.0)
    val = 0.55 + 0.35 * (digest[3] / 255.0)
    r, g, b = colorsys.hsv_to_rgb(hue, sat, val)
    return (round(r, 6), round(g, 6), round(b, 6))


@lru_cache(maxsize=4096)
def category_color(category: str) -> tuple[float, float, float]:
    """RGB in [0, 1] for a category (or an id; a trailing ``_N`` is ignored)."""
    name = _normalise(category)
    if name in PALETTE:
        return PALETTE[name]
    words = [w for w in name.split("_") if w]
    # longest suffix first ("big_dining_table" -> "dining_table" -> "table"), then any word
    for i in range(1, len(words)):
        suffix = "_".join(words[i:])
        if suffix in PALETTE:
            return PALETTE[suffix]
    for word in reversed(words):
        if word in PALETTE:
            return PALETTE[word]
    return _hash_color(name or "unknown")


def category_color_u8(category: str) -> tuple[int, int, int]:
    """RGB in 0..255 for a category."""
    r, g, b = category_color(category)
    return (int(round(r * 255)), int(round(g * 255)), int(round(b * 255)))


__all__ = ["PALETTE", "category_of", "category_color", "category_color_u8", "hex_rgb"]
