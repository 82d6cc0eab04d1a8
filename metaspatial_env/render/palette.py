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


def _hex(code: str) -> tuple[float, float, float]:
    code = code.lstrip("#")
    return tuple(int(code[i:i + 2], 16) / 255.0 for i in (0, 2, 4))  # type: ignore[return-value]


#: Colours of common furniture categories (keys are lower-case categories, words joined by "_").
PALETTE: dict[str, tuple[float, float, float]] = {
    # sleeping
    "bed": _hex("#5b7fc7"),
    "double_bed": _hex("#5b7fc7"),
    "single_bed": _hex("#6a8fd6"),
    "bunk_bed": _hex("#4f6fb3"),
    "crib": _hex("#8fa9e0"),
    "mattress": _hex("#7d97cf"),
    "nightstand": _hex("#b5793a"),
    "bedside_table": _hex("#b5793a"),
    # seating
    "sofa": _hex("#3f9e8f"),
    "couch": _hex("#3f9e8f"),
    "loveseat": _hex("#4fae9f"),
    "sectional": _hex("#358a7d"),
    "armchair": _hex("#6fbf73"),
    "chair": _hex("#e0a030"),
    "dining_chair": _hex("#e0a030"),
    "office_chair": _hex("#c98a1e"),
    "stool": _hex("#d9b44a"),
    "bar_stool": _hex("#d9b44a"),
    "bench": _hex("#c2a15c"),
    "ottoman": _hex("#8cc08a"),
    "pouf": _hex("#8cc08a"),
    # tables and work
    "table": _hex("#a0522d"),
    "dining_table": _hex("#a0522d"),
    "coffee_table": _hex("#8b5a3c"),
    "side_table": _hex("#9c6b46"),
    "end_table": _hex("#9c6b46"),
    "console_table": _hex("#93603d"),
    "desk": _hex("#7a4e9c"),
    "kitchen_island": _hex("#8f6f5a"),
    # storage
    "wardrobe": _hex("#8e5a2b"),
    "closet": _hex("#8e5a2b"),
    "dresser": _hex("#a8683a"),
    "chest_of_drawers": _hex("#a8683a"),
    "cabinet": _hex("#9a7b5b"),
    "sideboard": _hex("#9a7b5b"),
    "tv_stand": _hex("#6d5a4a"),
    "media_console": _hex("#6d5a4a"),
    "bookshelf": _hex("#c0603a"),
    "bookcase": _hex("#c0603a"),
    "shelf": _hex("#cf7a52"),
    "shoe_rack": _hex("#b58a66"),
    # lighting
    "lamp": _hex("#f2d544"),
    "floor_lamp": _hex("#f2d544"),
    "table_lamp": _hex("#f5e07a"),
    "desk_lamp": _hex("#f5e07a"),
    "pendant": _hex("#ffb347"),
    "pendant_light": _hex("#ffb347"),
    "pendant_lamp": _hex("#ffb347"),
    "chandelier": _hex("#ffc861"),
    "ceiling_light": _hex("#ffd27f"),
    "ceiling_lamp": _hex("#ffd27f"),
    "light": _hex("#ffd27f"),
    "sconce": _hex("#ffcf6e"),
    # soft furnishings and decor
    "rug": _hex("#b54a5e"),
    "carpet": _hex("#b54a5e"),
    "mat": _hex("#c06a7a"),
    "curtain": _hex("#9e7bb5"),
    "curtains": _hex("#9e7bb5"),
    "wall_art": _hex("#d94f8a"),
    "painting": _hex("#d94f8a"),
    "picture": _hex("#d94f8a"),
    "picture_frame": _hex("#d94f8a"),
    "poster": _hex("#e0709f"),
    "mirror": _hex("#9fd3e6"),
    "clock": _hex("#c9c06b"),
    "vase": _hex("#7fbfbf"),
    "plant": _hex("#2e8b3a"),
    "potted_plant": _hex("#2e8b3a"),
    "tree": _hex("#2e7d32"),
    "flower": _hex("#e86fb0"),
    "cushion": _hex("#d98c6a"),
    "pillow": _hex("#d98c6a"),
    # electronics
    "tv": _hex("#2b2b33"),
    "television": _hex("#2b2b33"),
    "monitor": _hex("#3a3a48"),
    "computer": _hex("#4a4a5a"),
    "laptop": _hex("#5a5a6a"),
    "speaker": _hex("#44404a"),
    "piano": _hex("#1f1f24"),
    # kitchen and bath
    "fridge": _hex("#c8d3dc"),
    "refrigerator": _hex("#c8d3dc"),
    "stove": _hex("#5f6b73"),
    "oven": _hex("#5f6b73"),
    "counter": _hex("#b0a18c"),
    "sink": _hex("#a9c4d6"),
    "toilet": _hex("#e8eef2"),
    "bathtub": _hex("#d8e6ef"),
    "shower": _hex("#bcd4e0"),
    "washing_machine": _hex("#d0d8de"),
    # room fixtures
    "door": _hex("#7b5b3a"),
    "window": _hex("#8ec9e8"),
    "fireplace": _hex("#8a3b2e"),
    "radiator": _hex("#b9b9b9"),
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


__all__ = ["PALETTE", "category_of", "category_color", "category_color_u8"]
