"""The room's user preference: one sentence naming its style, type and colours, with one or two
wishes that its layout actually meets (a nightstand on each side of the bed, the sofa facing
the TV ...)."""

from __future__ import annotations

import numpy as np

from ..catalog import STYLE_COLOUR_PHRASES
from .room import Room

_ROOM_PHRASES = {
    "bedroom": "bedroom",
    "living_room": "living room",
    "dining_room": "dining room",
    "kitchen": "kitchen",
    "office": "home office",
    "kids_room": "kids' room",
    "studio": "studio apartment",
    "library": "home library",
    "art_studio": "art studio",
    "home_theater": "home theater",
}
_STYLE_NAMES = {"scandinavian": "Scandinavian", "japandi": "Japandi", "art deco": "Art Deco"}

_ADJECTIVES = ("cozy", "bright", "airy", "calm", "elegant", "warm", "inviting", "relaxed", "stylish", "practical")


def preference_text(room: Room, rng: np.random.Generator) -> str:
    """The sentence, e.g. "A cozy Japandi bedroom in warm oak and linen with space to walk around the bed."."""
    style = _STYLE_NAMES.get(room.style, room.style)
    area = room.X * room.Y
    adjectives = list(_ADJECTIVES)
    if room.dense or area < 12:
        adjectives += ["compact", "snug"] * 2
    elif area > 30:
        adjectives += ["spacious", "open"] * 2
    adj = adjectives[int(rng.integers(len(adjectives)))]
    article = "An" if adj[0] in "aeiou" else "A"
    colours = STYLE_COLOUR_PHRASES[room.style]
    colour = colours[int(rng.integers(len(colours)))]
    wishes = _wishes(room)
    k = 1 if len(wishes) < 2 or rng.random() < 0.5 else 2
    picks = [wishes[i] for i in sorted(rng.choice(len(wishes), size=k, replace=False))]
    tail = " and ".join(picks)
    return f"{article} {adj} {style} {_ROOM_PHRASES[room.room_type]} in {colour} {tail}."


def _wishes(room: Room) -> list[str]:
    """Every wish the finished layout meets, in a fixed order (the last always applies)."""
    has = room.has
    w: list[str] = []
    beds = [o for o in room.objs if o.cat.name in ("bed", "single_bed", "bunk_bed")]
    if beds:
        w.append("with space to walk around the bed")
        if beds[0].wall:
            w.append(f"with the bed against the {beds[0].wall.replace('_', ' ')}")
    if room.count("nightstand") == 2:
        w.append("with a nightstand on each side of the bed")
    if has("crib"):
        w.append("with a safe corner for the baby's crib")
    if (has("sofa") or has("loveseat") or has("sectional_sofa")) and has("tv"):
        w.append("with the sofa facing the TV")
    if has("coffee_table"):
        w.append("with a coffee table within reach of the sofa")
    chairs = room.count("dining_chair")
    if has("dining_table") and chairs:
        w.append(f"with a dining table that seats {chairs}")
    if has("pendant_light") or has("chandelier"):
        w.append("with a statement light hanging above the table")
    if has("desk"):
        w.append("with a quiet desk for working")
    if room.count("bookshelf") + room.count("low_bookcase") >= 2:
        w.append("with plenty of shelf space for books")
    if room.count("plant") >= 1:
        w.append("with some greenery in the corners")
    if has("kitchen_island"):
        w.append("with an island for quick breakfasts")
    if has("stove") or has("refrigerator"):
        w.append("with an efficient counter run along one wall")
    if has("play_mat") or has("toy_chest"):
        w.append("with room to play on the floor")
    if has("armchair") and has("floor_lamp"):
        w.append("with a reading corner")
    if has("projector_screen"):
        w.append("with every seat facing the screen")
    if has("easel"):
        w.append("with an easel and space to paint")
    if has("library_table"):
        w.append("with a large table for studying")
    if has("fireplace"):
        w.append("with seating gathered around the fireplace")
    if has("rug"):
        w.append("with a soft rug underfoot")
    if has("meeting_table"):
        w.append("with a table for team meetings")
    w.append("that fits everything without feeling cramped" if room.dense else "with space to move around")
    return w
