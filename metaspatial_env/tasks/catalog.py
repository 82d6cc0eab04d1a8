"""Furniture catalog: the categories the procedural generator draws rooms from.

Each :class:`Category` records realistic size ranges in metres (``length`` along the object's
own left-right axis, ``width`` front-to-back, ``height`` up), where the object goes
(``floor``, ``wall``-mounted, ``ceiling``-mounted or ``on_top`` of another object), typical
architectural styles and materials, and the room types that use it.

Materials name colours and woods often ("oak", "walnut", "white lacquered wood",
"black metal", "navy velvet"): the Blender renderer colours objects from these words.
:data:`STYLE_PALETTES` maps each room style to materials per material kind, so a room's
objects share a palette; :func:`pick_material` draws from it.

Category names are lower-case snake_case and become object ids (``dining_chair_2``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

#: Every room type the generator knows (snake_case; the preference text spells them out).
ROOM_TYPES: tuple[str, ...] = (
    "bedroom",
    "living_room",
    "dining_room",
    "kitchen",
    "office",
    "kids_room",
    "studio",
    "library",
    "art_studio",
    "home_theater",
)

#: Where an object goes.
PLACEMENTS: tuple[str, ...] = ("floor", "wall", "ceiling", "on_top")

#: Material kinds; a category lists the kinds it is made of.
MATERIAL_KINDS: tuple[str, ...] = (
    "wood",
    "fabric",
    "leather",
    "metal",
    "glass",
    "stone",
    "ceramic",
    "wicker",
    "plastic",
)

#: Room styles and, per material kind, the materials that style favours.
STYLE_PALETTES: Mapping[str, Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "scandinavian": MappingProxyType(
            {
                "wood": ("oak", "light oak", "birch", "white lacquered wood", "ash"),
                "fabric": ("light grey fabric", "white boucle", "beige linen", "oatmeal wool"),
                "leather": ("cognac leather", "tan leather"),
                "metal": ("white metal", "brushed steel", "black metal"),
                "glass": ("frosted glass", "clear glass"),
                "stone": ("white marble", "light terrazzo"),
                "ceramic": ("white ceramic", "matte grey ceramic"),
                "wicker": ("natural rattan", "light wicker"),
                "plastic": ("white plastic", "pale grey plastic"),
            }
        ),
        "modern": MappingProxyType(
            {
                "wood": ("walnut", "black oak", "white lacquered wood", "grey oak"),
                "fabric": ("charcoal fabric", "grey fabric", "white fabric", "black velvet"),
                "leather": ("black leather", "white leather"),
                "metal": ("chrome", "black metal", "brushed steel"),
                "glass": ("clear glass", "smoked glass"),
                "stone": ("white marble", "black marble", "grey concrete"),
                "ceramic": ("glossy white ceramic", "black ceramic"),
                "wicker": ("black rattan",),
                "plastic": ("white plastic", "black plastic"),
            }
        ),
        "mid-century modern": MappingProxyType(
            {
                "wood": ("walnut", "teak", "dark walnut", "rosewood"),
                "fabric": ("mustard fabric", "olive green fabric", "teal velvet", "burnt orange fabric"),
                "leather": ("cognac leather", "brown leather"),
                "metal": ("brass", "black metal"),
                "glass": ("amber glass", "clear glass"),
                "stone": ("white marble", "terrazzo"),
                "ceramic": ("orange ceramic", "white ceramic"),
                "wicker": ("cane",),
                "plastic": ("white plastic", "orange plastic"),
            }
        ),
        "industrial": MappingProxyType(
            {
                "wood": ("reclaimed wood", "dark oak", "rough pine"),
                "fabric": ("charcoal canvas", "dark grey fabric", "denim blue fabric"),
                "leather": ("distressed brown leather", "black leather"),
                "metal": ("black metal", "raw steel", "galvanized steel", "copper"),
                "glass": ("clear glass", "wired glass"),
                "stone": ("grey concrete", "dark slate"),
                "ceramic": ("grey ceramic", "rust glazed ceramic"),
                "wicker": ("dark rattan",),
                "plastic": ("black plastic",),
            }
        ),
        "rustic": MappingProxyType(
            {
                "wood": ("pine", "knotty pine", "reclaimed oak", "dark chestnut"),
                "fabric": ("cream wool", "red plaid fabric", "brown linen"),
                "leather": ("brown leather", "saddle leather"),
                "metal": ("wrought iron", "hammered copper"),
                "glass": ("seeded glass",),
                "stone": ("fieldstone", "slate"),
                "ceramic": ("terracotta", "cream stoneware"),
                "wicker": ("willow wicker",),
                "plastic": ("brown plastic",),
            }
        ),
        "bohemian": MappingProxyType(
            {
                "wood": ("mango wood", "acacia", "teak"),
                "fabric": ("emerald velvet", "mustard velvet", "terracotta fabric", "cream macrame"),
                "leather": ("tan leather",),
                "metal": ("brass", "antique gold metal"),
                "glass": ("amber glass", "green glass"),
                "stone": ("travertine",),
                "ceramic": ("terracotta", "blue glazed ceramic"),
                "wicker": ("natural rattan", "jute", "seagrass"),
                "plastic": ("cream plastic",),
            }
        ),
        "minimalist": MappingProxyType(
            {
                "wood": ("light oak", "white lacquered wood", "maple"),
                "fabric": ("white fabric", "light grey fabric", "beige fabric"),
                "leather": ("white leather", "grey leather"),
                "metal": ("white metal", "brushed aluminium"),
                "glass": ("clear glass", "frosted glass"),
                "stone": ("white marble", "grey concrete"),
                "ceramic": ("white ceramic", "matte beige ceramic"),
                "wicker": ("light rattan",),
                "plastic": ("white plastic",),
            }
        ),
        "traditional": MappingProxyType(
            {
                "wood": ("mahogany", "cherry", "dark walnut", "oak"),
                "fabric": ("burgundy velvet", "navy damask", "gold brocade", "cream fabric"),
                "leather": ("oxblood leather", "brown leather"),
                "metal": ("brass", "antique bronze"),
                "glass": ("crystal", "cut glass"),
                "stone": ("white marble", "green marble"),
                "ceramic": ("blue and white porcelain", "cream porcelain"),
                "wicker": ("cane",),
                "plastic": ("ivory plastic",),
            }
        ),
        "coastal": MappingProxyType(
            {
                "wood": ("whitewashed wood", "driftwood", "white painted wood", "light oak"),
                "fabric": ("light blue linen", "navy fabric", "white cotton", "sand linen"),
                "leather": ("tan leather",),
                "metal": ("brushed nickel", "white metal"),
                "glass": ("sea glass", "clear glass"),
                "stone": ("white marble", "sandstone"),
                "ceramic": ("white ceramic", "aqua ceramic"),
                "wicker": ("natural rattan", "seagrass"),
                "plastic": ("white plastic", "light blue plastic"),
            }
        ),
        "japandi": MappingProxyType(
            {
                "wood": ("ash", "light oak", "bamboo", "dark walnut"),
                "fabric": ("beige linen", "charcoal fabric", "stone grey fabric"),
                "leather": ("tan leather",),
                "metal": ("black metal", "matte bronze"),
                "glass": ("frosted glass",),
                "stone": ("grey stone", "travertine"),
                "ceramic": ("matte black ceramic", "beige stoneware"),
                "wicker": ("paper cord", "light rattan"),
                "plastic": ("beige plastic",),
            }
        ),
        "farmhouse": MappingProxyType(
            {
                "wood": ("distressed white wood", "pine", "weathered oak", "sage green painted wood"),
                "fabric": ("white linen", "grey ticking stripe fabric", "sage green fabric"),
                "leather": ("brown leather",),
                "metal": ("black metal", "galvanized steel"),
                "glass": ("clear glass", "seeded glass"),
                "stone": ("soapstone", "white marble"),
                "ceramic": ("white stoneware", "cream ceramic"),
                "wicker": ("woven wicker", "jute"),
                "plastic": ("white plastic",),
            }
        ),
        "art deco": MappingProxyType(
            {
                "wood": ("black lacquered wood", "macassar ebony", "walnut burl"),
                "fabric": ("emerald velvet", "navy velvet", "blush velvet", "gold velvet"),
                "leather": ("black leather", "cream leather"),
                "metal": ("brass", "gold metal", "polished chrome"),
                "glass": ("smoked glass", "mirrored glass"),
                "stone": ("black marble", "white marble"),
                "ceramic": ("gold glazed ceramic", "black ceramic"),
                "wicker": ("black cane",),
                "plastic": ("black plastic",),
            }
        ),
    }
)

#: Every room style, in a fixed order.
STYLES: tuple[str, ...] = tuple(STYLE_PALETTES)

#: Short colour phrases used in the preference text, per style.
STYLE_COLOUR_PHRASES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "scandinavian": ("oak and white", "light wood and soft grey", "birch and beige"),
        "modern": ("black and white", "walnut and charcoal", "grey and chrome"),
        "mid-century modern": ("walnut and mustard", "teak and olive green", "warm wood and brass"),
        "industrial": ("black metal and reclaimed wood", "steel and dark leather", "concrete grey and copper"),
        "rustic": ("pine and cream", "warm wood and wrought iron", "chestnut and stone"),
        "bohemian": ("rattan and terracotta", "emerald and mustard", "warm woods and jute"),
        "minimalist": ("white and light oak", "soft grey and white", "beige and white"),
        "traditional": ("mahogany and burgundy", "cherry wood and navy", "dark wood and brass"),
        "coastal": ("white and light blue", "driftwood and navy", "sand and white"),
        "japandi": ("ash and beige linen", "light oak and charcoal", "natural wood and stone grey"),
        "farmhouse": ("white and pine", "weathered oak and sage green", "cream and black metal"),
        "art deco": ("emerald velvet and brass", "black lacquer and gold", "navy velvet and marble"),
    }
)

_ALL_STYLES = STYLES


@dataclass(frozen=True)
class Category:
    """One kind of furniture or decor.

    Sizes are ``(min, max)`` in metres: ``length`` is the object's own left-right extent,
    ``width`` its front-to-back depth and ``height`` its vertical extent.
    """

    name: str
    """snake_case name; object ids are ``{name}_{n}``."""
    length: tuple[float, float]
    width: tuple[float, float]
    height: tuple[float, float]
    placement: str
    """Usual placement: ``floor``, ``wall`` (mounted, off the floor), ``ceiling`` or ``on_top``."""
    room_types: tuple[str, ...]
    """Room types that use it."""
    materials: tuple[str, ...]
    """Typical materials, with colour and wood words."""
    material_kinds: tuple[str, ...] = ("wood",)
    """Kinds used to draw a material from the room style's palette (empty: always a typical material)."""
    styles: tuple[str, ...] = _ALL_STYLES
    """Styles it commonly comes in."""
    alt_placements: tuple[str, ...] = ()
    """Other placements it may take (a TV on a wall or on a stand)."""
    surface: bool = False
    """Whether small objects may stand on its top."""
    has_front: bool = True
    """Whether the object has a front (a sofa does, a plant does not); only such objects face things."""
    description: str = ""

    @property
    def placements(self) -> tuple[str, ...]:
        return (self.placement, *self.alt_placements)

    def sample_size(self, rng: np.random.Generator) -> tuple[float, float, float]:
        """Uniform size in the category's ranges, rounded (cm, or mm below 10 cm)."""
        return tuple(_round_size(float(rng.uniform(lo, hi))) for lo, hi in (self.length, self.width, self.height))  # type: ignore[return-value]


def _round_size(v: float) -> float:
    return round(v, 2) if v >= 0.1 else round(v, 3)


_ALL_ROOMS = ROOM_TYPES

# fmt: off
_CATEGORIES: tuple[Category, ...] = (
    # ------------------------------------------------------------------ sleeping
    Category("bed", (1.0, 1.9), (2.0, 2.2), (0.9, 1.2), "floor", ("bedroom", "studio"),
             materials=("oak", "walnut", "white lacquered wood", "grey fabric upholstered",
                        "navy velvet upholstered", "black metal"), material_kinds=("wood", "fabric"),
             description="Bed with headboard; length is its side-to-side width."),
    Category("single_bed", (0.9, 1.05), (1.95, 2.1), (0.75, 1.0), "floor", ("kids_room", "bedroom"),
             materials=("white painted wood", "pine", "light blue painted wood", "grey fabric upholstered"),
             material_kinds=("wood",)),
    Category("bunk_bed", (1.0, 1.1), (2.0, 2.1), (1.5, 1.75), "floor", ("kids_room",),
             materials=("white painted wood", "pine", "grey painted wood", "natural beech"),
             material_kinds=("wood", "metal")),
    Category("crib", (0.7, 0.78), (1.25, 1.4), (0.85, 1.0), "floor", ("kids_room",),
             materials=("white painted wood", "beech", "grey painted wood"), material_kinds=("wood",),
             styles=("scandinavian", "modern", "traditional", "minimalist", "farmhouse", "coastal")),
    Category("nightstand", (0.4, 0.6), (0.35, 0.48), (0.45, 0.65), "floor", ("bedroom", "kids_room", "studio"),
             materials=("oak", "walnut", "white lacquered wood", "black metal and glass", "rattan"),
             material_kinds=("wood",), surface=True),
    Category("wardrobe", (1.0, 2.0), (0.55, 0.65), (1.8, 2.2), "floor", ("bedroom", "kids_room", "studio"),
             materials=("white lacquered wood", "oak", "walnut", "grey painted wood", "mirrored glass doors"),
             material_kinds=("wood",)),
    Category("dresser", (0.8, 1.6), (0.42, 0.55), (0.75, 1.0), "floor", ("bedroom", "kids_room", "studio"),
             materials=("oak", "walnut", "white painted wood", "teak", "mahogany"), material_kinds=("wood",),
             surface=True),
    Category("vanity_table", (0.9, 1.2), (0.42, 0.5), (0.74, 0.78), "floor", ("bedroom",),
             materials=("white painted wood", "oak", "walnut", "gold metal and glass"),
             material_kinds=("wood", "metal"), surface=True),
    Category("bench", (1.0, 1.5), (0.36, 0.45), (0.42, 0.5), "floor",
             ("bedroom", "living_room", "dining_room", "studio"),
             materials=("oak", "grey fabric", "walnut", "beige linen", "brown leather"),
             material_kinds=("wood", "fabric")),
    Category("mirror", (0.5, 0.9), (0.03, 0.05), (0.7, 1.2), "wall",
             ("bedroom", "living_room", "dining_room", "studio"),
             materials=("glass with brass frame", "glass with black metal frame", "glass with oak frame",
                        "glass with white frame"), material_kinds=("glass", "metal")),
    # ------------------------------------------------------------------ seating
    Category("sofa", (1.8, 2.5), (0.85, 1.0), (0.75, 0.9), "floor", ("living_room", "studio", "office", "library"),
             materials=("grey fabric", "navy velvet", "beige linen", "brown leather", "emerald velvet", "white boucle"),
             material_kinds=("fabric", "leather")),
    Category("loveseat", (1.3, 1.7), (0.8, 0.95), (0.75, 0.9), "floor",
             ("living_room", "studio", "kids_room", "library"),
             materials=("grey fabric", "mustard velvet", "blue linen", "cognac leather"),
             material_kinds=("fabric", "leather")),
    Category("sectional_sofa", (2.4, 3.0), (1.5, 1.9), (0.75, 0.9), "floor", ("living_room", "home_theater"),
             materials=("charcoal fabric", "light grey fabric", "beige linen", "navy velvet"),
             material_kinds=("fabric", "leather")),
    Category("armchair", (0.72, 0.95), (0.72, 0.95), (0.8, 1.0), "floor",
             ("living_room", "bedroom", "library", "studio", "office", "art_studio"),
             materials=("mustard velvet", "brown leather", "grey fabric", "cream boucle", "green velvet", "rattan"),
             material_kinds=("fabric", "leather", "wicker")),
    Category("recliner", (0.85, 1.0), (0.9, 1.0), (1.0, 1.1), "floor", ("home_theater", "living_room"),
             materials=("black leather", "brown leather", "charcoal fabric", "burgundy velvet"),
             material_kinds=("leather", "fabric")),
    Category("ottoman", (0.45, 0.7), (0.45, 0.7), (0.38, 0.45), "floor",
             ("living_room", "bedroom", "library", "home_theater"),
             materials=("cognac leather", "grey wool", "navy velvet", "jute"), material_kinds=("fabric", "leather"),
             has_front=False),
    Category("bean_bag", (0.7, 0.9), (0.7, 0.9), (0.6, 0.8), "floor", ("kids_room", "home_theater", "studio"),
             materials=("grey fabric", "red fabric", "navy fabric", "yellow fabric"), material_kinds=("fabric",),
             has_front=False),
    Category("dining_chair", (0.42, 0.5), (0.46, 0.55), (0.82, 0.98), "floor",
             ("dining_room", "kitchen", "studio", "library"),
             materials=("oak", "walnut", "black metal", "white plastic", "grey fabric", "rattan"),
             material_kinds=("wood", "fabric", "metal")),
    Category("office_chair", (0.58, 0.7), (0.58, 0.7), (0.95, 1.2), "floor",
             ("office", "kids_room", "bedroom", "studio", "library"),
             materials=("black mesh", "grey fabric", "black leather", "white plastic and grey mesh"),
             material_kinds=("fabric", "leather", "plastic")),
    Category("bar_stool", (0.38, 0.45), (0.38, 0.45), (0.65, 0.8), "floor", ("kitchen", "studio"),
             materials=("black metal", "oak", "walnut", "brass and leather", "white plastic"),
             material_kinds=("metal", "wood")),
    Category("stool", (0.33, 0.4), (0.33, 0.4), (0.45, 0.7), "floor", ("art_studio", "kitchen", "kids_room"),
             materials=("pine", "black metal", "white plastic", "oak"), material_kinds=("wood", "metal"),
             has_front=False),
    Category("kids_chair", (0.3, 0.36), (0.3, 0.36), (0.55, 0.65), "floor", ("kids_room",),
             materials=("white plastic", "yellow painted wood", "light blue plastic", "beech"),
             material_kinds=("plastic", "wood")),
    # ------------------------------------------------------------------ tables
    Category("coffee_table", (0.9, 1.3), (0.5, 0.7), (0.35, 0.45), "floor",
             ("living_room", "studio", "office", "library"),
             materials=("oak", "walnut", "white marble", "glass and brass", "black metal and glass", "reclaimed wood"),
             material_kinds=("wood", "stone", "glass"), surface=True),
    Category("side_table", (0.4, 0.55), (0.4, 0.55), (0.45, 0.6), "floor",
             ("living_room", "bedroom", "library", "studio", "home_theater", "office"),
             materials=("oak", "walnut", "brass", "black metal", "white marble", "rattan"),
             material_kinds=("wood", "metal", "stone"), surface=True),
    Category("console_table", (1.0, 1.5), (0.3, 0.4), (0.75, 0.8), "floor", ("living_room", "dining_room", "studio"),
             materials=("walnut", "oak", "black metal and glass", "brass and marble"),
             material_kinds=("wood", "metal"), surface=True),
    Category("dining_table", (1.2, 2.2), (0.8, 1.0), (0.73, 0.77), "floor", ("dining_room", "kitchen", "studio"),
             materials=("oak", "walnut", "white marble", "reclaimed wood", "black lacquered wood", "teak"),
             material_kinds=("wood", "stone"), surface=True),
    Category("library_table", (1.4, 2.4), (0.8, 1.05), (0.74, 0.78), "floor", ("library",),
             materials=("mahogany", "oak", "dark walnut", "cherry"), material_kinds=("wood",), surface=True),
    Category("desk", (1.0, 1.7), (0.6, 0.8), (0.72, 0.76), "floor",
             ("office", "bedroom", "kids_room", "studio", "library"),
             materials=("oak", "walnut", "white lacquered wood", "black metal and oak", "teak"),
             material_kinds=("wood", "metal"), surface=True),
    Category("meeting_table", (1.8, 2.8), (0.9, 1.2), (0.73, 0.76), "floor", ("office",),
             materials=("walnut", "white laminate", "oak", "black oak"), material_kinds=("wood",), surface=True),
    Category("kids_table", (0.6, 0.9), (0.5, 0.6), (0.48, 0.55), "floor", ("kids_room",),
             materials=("white plastic", "beech", "light blue painted wood", "yellow painted wood"),
             material_kinds=("plastic", "wood"), surface=True),
    Category("work_table", (1.4, 2.0), (0.75, 0.95), (0.85, 0.95), "floor", ("art_studio",),
             materials=("reclaimed wood", "pine", "birch plywood", "steel and oak"),
             material_kinds=("wood", "metal"), surface=True),
    Category("drafting_table", (1.0, 1.3), (0.7, 0.85), (0.85, 0.95), "floor", ("art_studio", "office"),
             materials=("white metal and birch", "black metal and oak", "beech"), material_kinds=("wood", "metal"),
             surface=True),
    # ------------------------------------------------------------------ storage
    Category("bookshelf", (0.7, 1.2), (0.28, 0.4), (1.6, 2.1), "floor", _ALL_ROOMS,
             materials=("oak", "walnut", "white lacquered wood", "black metal and oak", "mahogany"),
             material_kinds=("wood",)),
    Category("low_bookcase", (0.8, 1.4), (0.3, 0.38), (0.75, 1.0), "floor",
             ("kids_room", "library", "living_room", "office"),
             materials=("white painted wood", "oak", "walnut", "birch"), material_kinds=("wood",), surface=True),
    Category("tv_stand", (1.2, 2.0), (0.36, 0.5), (0.42, 0.6), "floor",
             ("living_room", "studio", "bedroom", "home_theater"),
             materials=("walnut", "oak", "white lacquered wood", "black lacquered wood", "teak"),
             material_kinds=("wood",), surface=True),
    Category("sideboard", (1.2, 1.8), (0.4, 0.5), (0.75, 0.9), "floor", ("dining_room", "living_room"),
             materials=("walnut", "oak", "teak", "white lacquered wood", "mahogany"), material_kinds=("wood",),
             surface=True),
    Category("china_cabinet", (0.9, 1.3), (0.4, 0.5), (1.8, 2.1), "floor", ("dining_room",),
             materials=("mahogany and glass", "white painted wood and glass", "oak and glass", "walnut and glass"),
             material_kinds=("wood", "glass")),
    Category("filing_cabinet", (0.4, 0.5), (0.5, 0.62), (0.7, 1.3), "floor", ("office", "library"),
             materials=("grey metal", "white metal", "black metal", "oak"), material_kinds=("metal",), surface=True),
    Category("storage_cabinet", (0.8, 1.2), (0.4, 0.5), (0.8, 1.2), "floor",
             ("office", "art_studio", "kids_room", "kitchen"),
             materials=("white lacquered wood", "grey metal", "oak", "birch plywood"),
             material_kinds=("wood", "metal"), surface=True),
    Category("toy_chest", (0.7, 1.0), (0.4, 0.5), (0.45, 0.55), "floor", ("kids_room",),
             materials=("white painted wood", "pine", "light blue painted wood", "wicker"),
             material_kinds=("wood", "wicker"), surface=True),
    Category("shoe_rack", (0.6, 1.0), (0.28, 0.35), (0.45, 0.8), "floor", ("bedroom", "studio"),
             materials=("oak", "black metal", "bamboo", "white painted wood"), material_kinds=("wood", "metal")),
    Category("canvas_rack", (0.8, 1.2), (0.4, 0.6), (0.8, 1.2), "floor", ("art_studio",),
             materials=("pine", "birch plywood", "black metal"), material_kinds=("wood", "metal")),
    Category("pantry_cabinet", (0.6, 0.9), (0.55, 0.65), (1.9, 2.2), "floor", ("kitchen",),
             materials=("white lacquered wood", "oak", "sage green painted wood", "grey painted wood"),
             material_kinds=("wood",)),
    Category("bar_cart", (0.6, 0.9), (0.4, 0.5), (0.8, 0.9), "floor", ("dining_room", "living_room"),
             materials=("brass and glass", "black metal", "walnut", "gold metal and glass"),
             material_kinds=("metal",), surface=True),
    Category("magazine_rack", (0.35, 0.45), (0.25, 0.35), (0.4, 0.55), "floor", ("library", "living_room"),
             materials=("black metal", "walnut", "rattan", "brass"), material_kinds=("metal", "wood")),
    # ------------------------------------------------------------------ kitchen
    Category("kitchen_counter", (1.0, 2.2), (0.6, 0.65), (0.88, 0.92), "floor", ("kitchen", "studio"),
             materials=("white lacquered wood with marble top", "oak with granite top",
                        "grey painted wood with quartz top", "navy painted wood with marble top"),
             material_kinds=("wood", "stone"), surface=True),
    Category("sink_cabinet", (0.8, 1.2), (0.6, 0.65), (0.88, 0.92), "floor", ("kitchen", "studio"),
             materials=("white lacquered wood and stainless steel", "oak and white ceramic",
                        "grey painted wood and steel"), material_kinds=("wood", "metal")),
    Category("stove", (0.6, 0.76), (0.6, 0.68), (0.85, 0.92), "floor", ("kitchen", "studio"),
             materials=("stainless steel", "black enamel", "white enamel", "cream enamel"),
             material_kinds=("metal",)),
    Category("dishwasher", (0.6, 0.6), (0.58, 0.62), (0.82, 0.86), "floor", ("kitchen",),
             materials=("stainless steel", "white enamel", "black stainless steel"), material_kinds=("metal",)),
    Category("refrigerator", (0.6, 0.9), (0.65, 0.75), (1.7, 1.9), "floor", ("kitchen", "studio"),
             materials=("stainless steel", "white enamel", "black stainless steel", "cream enamel"),
             material_kinds=("metal",)),
    Category("kitchen_island", (1.2, 2.2), (0.8, 1.1), (0.88, 0.95), "floor", ("kitchen",),
             materials=("white lacquered wood with marble top", "oak with butcher block top",
                        "navy painted wood with quartz top", "walnut with concrete top"),
             material_kinds=("wood", "stone"), surface=True),
    Category("range_hood", (0.6, 0.9), (0.45, 0.5), (0.3, 0.55), "wall", ("kitchen",),
             materials=("stainless steel", "black metal", "white metal", "copper"), material_kinds=("metal",)),
    Category("wall_cabinet", (0.6, 1.2), (0.3, 0.35), (0.6, 0.75), "wall", ("kitchen",),
             materials=("white lacquered wood", "oak", "grey painted wood", "sage green painted wood"),
             material_kinds=("wood",)),
    Category("microwave", (0.45, 0.55), (0.35, 0.42), (0.26, 0.32), "on_top", ("kitchen", "studio", "office"),
             materials=("stainless steel", "black plastic", "white plastic"), material_kinds=("metal", "plastic")),
    Category("trash_can", (0.28, 0.4), (0.28, 0.4), (0.45, 0.7), "floor",
             ("kitchen", "office", "art_studio", "kids_room"),
             materials=("stainless steel", "white plastic", "black metal", "grey plastic"),
             material_kinds=("metal", "plastic"), has_front=False),
    # ------------------------------------------------------------------ media and tech
    Category("tv", (1.0, 1.6), (0.05, 0.09), (0.6, 0.95), "wall",
             ("living_room", "bedroom", "studio", "home_theater", "kids_room"),
             materials=("black glass and plastic", "dark grey metal and glass"), material_kinds=("glass",),
             alt_placements=("on_top",),
             description="Flat television; mounted on a wall or standing on a TV stand."),
    Category("projector_screen", (2.0, 3.0), (0.05, 0.08), (1.2, 1.7), "wall", ("home_theater",),
             materials=("white vinyl with black frame", "grey fabric with aluminium frame"),
             material_kinds=("plastic", "metal")),
    Category("projector", (0.3, 0.45), (0.3, 0.4), (0.12, 0.2), "ceiling", ("home_theater",),
             materials=("white plastic", "black plastic"), material_kinds=("plastic",)),
    Category("speaker", (0.22, 0.3), (0.25, 0.35), (0.85, 1.1), "floor", ("home_theater", "living_room"),
             materials=("black wood veneer", "walnut veneer", "white lacquered wood"), material_kinds=("wood",)),
    Category("computer_monitor", (0.5, 0.7), (0.18, 0.24), (0.38, 0.52), "on_top",
             ("office", "bedroom", "kids_room", "studio"),
             materials=("black plastic", "silver aluminium", "white plastic"), material_kinds=("plastic", "metal")),
    Category("printer", (0.4, 0.48), (0.35, 0.42), (0.2, 0.3), "on_top", ("office",),
             materials=("white plastic", "black plastic", "grey plastic"), material_kinds=("plastic",)),
    Category("whiteboard", (1.2, 2.0), (0.03, 0.05), (0.9, 1.2), "wall", ("office", "kids_room", "art_studio"),
             materials=("white enamel with aluminium frame", "white glass"), material_kinds=("metal", "glass")),
    Category("piano", (1.4, 1.55), (0.55, 0.65), (1.1, 1.3), "floor", ("living_room", "library"),
             materials=("black lacquered wood", "walnut", "white lacquered wood", "mahogany"),
             material_kinds=("wood",)),
    Category("fireplace", (1.2, 1.8), (0.35, 0.5), (0.9, 1.2), "floor", ("living_room", "library"),
             materials=("white marble", "grey stone", "black metal", "red brick"), material_kinds=("stone", "metal"),
             surface=True),
    # ------------------------------------------------------------------ lighting
    Category("floor_lamp", (0.3, 0.45), (0.3, 0.45), (1.5, 1.8), "floor", _ALL_ROOMS,
             materials=("brass", "black metal", "white metal and linen", "oak and linen"), material_kinds=("metal",),
             has_front=False),
    Category("table_lamp", (0.22, 0.38), (0.22, 0.38), (0.4, 0.6), "on_top", _ALL_ROOMS,
             materials=("white ceramic and linen", "brass and white linen", "black metal", "blue glazed ceramic"),
             material_kinds=("ceramic", "metal"), has_front=False),
    Category("desk_lamp", (0.15, 0.25), (0.15, 0.25), (0.35, 0.5), "on_top",
             ("office", "kids_room", "bedroom", "library", "studio", "art_studio"),
             materials=("black metal", "white metal", "brass", "green glass and brass"), material_kinds=("metal",),
             has_front=False),
    Category("pendant_light", (0.3, 0.6), (0.3, 0.6), (0.3, 0.6), "ceiling",
             ("dining_room", "kitchen", "library", "art_studio", "studio", "office"),
             materials=("brass", "black metal", "white glass", "rattan", "copper"),
             material_kinds=("metal", "glass", "wicker"), has_front=False),
    Category("chandelier", (0.6, 0.9), (0.6, 0.9), (0.5, 0.75), "ceiling",
             ("dining_room", "living_room", "bedroom", "library"),
             materials=("crystal and brass", "black metal", "gold metal", "wrought iron"),
             material_kinds=("metal", "glass"), has_front=False),
    Category("ceiling_light", (0.3, 0.6), (0.3, 0.6), (0.08, 0.15), "ceiling", _ALL_ROOMS,
             materials=("white glass", "frosted glass and chrome", "white metal", "paper"),
             material_kinds=("glass", "metal"), has_front=False),
    Category("ceiling_fan", (1.0, 1.3), (1.0, 1.3), (0.3, 0.42), "ceiling",
             ("bedroom", "living_room", "kids_room", "studio"),
             materials=("white metal and oak", "black metal", "brushed nickel and walnut", "rattan"),
             material_kinds=("metal", "wood"), has_front=False),
    # ------------------------------------------------------------------ decor
    Category("rug", (1.6, 3.0), (1.2, 2.2), (0.01, 0.01), "floor", _ALL_ROOMS,
             materials=("grey wool", "cream wool", "navy and white wool", "jute", "terracotta patterned wool",
                        "beige shag"), material_kinds=("fabric", "wicker"), has_front=False),
    Category("play_mat", (1.0, 2.0), (1.0, 2.0), (0.01, 0.01), "floor", ("kids_room",),
             materials=("multicolour foam", "light grey foam", "pastel blue foam"), material_kinds=("plastic",),
             has_front=False),
    Category("wall_art", (0.5, 1.4), (0.03, 0.05), (0.4, 0.9), "wall", _ALL_ROOMS,
             materials=("canvas with oak frame", "abstract print with black frame", "oil painting with gold frame",
                        "botanical print with white frame", "navy and white canvas"),
             material_kinds=("wood", "metal")),
    Category("wall_clock", (0.3, 0.5), (0.04, 0.07), (0.3, 0.5), "wall",
             ("kitchen", "office", "living_room", "dining_room", "library", "kids_room"),
             materials=("black metal", "oak", "brass", "white plastic"), material_kinds=("metal", "wood")),
    Category("wall_shelf", (0.6, 1.2), (0.2, 0.28), (0.2, 0.3), "wall",
             ("living_room", "bedroom", "kids_room", "office", "kitchen", "studio"),
             materials=("oak", "walnut", "white painted wood", "black metal and pine"), material_kinds=("wood",)),
    Category("plant", (0.35, 0.6), (0.35, 0.6), (0.8, 1.6), "floor", _ALL_ROOMS,
             materials=("green foliage in terracotta pot", "fiddle leaf fig in white ceramic pot",
                        "monstera in black pot", "olive tree in grey stone pot", "snake plant in woven basket"),
             material_kinds=(), has_front=False),
    Category("table_plant", (0.15, 0.25), (0.15, 0.25), (0.2, 0.4), "on_top", _ALL_ROOMS,
             materials=("succulent in white ceramic pot", "fern in terracotta pot", "pothos in green glazed pot"),
             material_kinds=(), has_front=False),
    Category("vase", (0.12, 0.22), (0.12, 0.22), (0.25, 0.45), "on_top",
             ("living_room", "dining_room", "bedroom", "library", "studio"),
             materials=("white ceramic", "blue glazed ceramic", "clear glass", "brass", "terracotta"),
             material_kinds=("ceramic", "glass"), has_front=False),
    Category("book_stack", (0.2, 0.3), (0.15, 0.22), (0.08, 0.16), "on_top",
             ("living_room", "library", "office", "bedroom"),
             materials=("assorted hardcover books", "cream and navy hardcover books"), material_kinds=(),
             has_front=False),
    Category("fruit_bowl", (0.25, 0.35), (0.25, 0.35), (0.1, 0.15), "on_top", ("dining_room", "kitchen", "studio"),
             materials=("white ceramic", "walnut", "brass", "woven rattan"), material_kinds=("ceramic", "wood"),
             has_front=False),
    Category("globe", (0.4, 0.5), (0.4, 0.5), (0.9, 1.1), "floor", ("library", "office"),
             materials=("antique brass and parchment", "walnut and cream paper"), material_kinds=("metal", "wood"),
             has_front=False),
    Category("coat_rack", (0.4, 0.5), (0.4, 0.5), (1.7, 1.85), "floor", ("office", "studio", "bedroom", "kids_room"),
             materials=("black metal", "oak", "walnut", "white painted wood"), material_kinds=("metal", "wood"),
             has_front=False),
    Category("easel", (0.6, 0.8), (0.6, 0.75), (1.5, 1.85), "floor", ("art_studio", "kids_room"),
             materials=("beech", "pine", "oak", "black metal"), material_kinds=("wood",)),
)
# fmt: on

#: Every category by name.
CATEGORIES: Mapping[str, Category] = MappingProxyType({c.name: c for c in _CATEGORIES})


def category(name: str) -> Category:
    """The category called ``name``; raises ``KeyError`` listing the names when unknown."""
    try:
        return CATEGORIES[name]
    except KeyError:
        raise KeyError(f"unknown category {name!r}; known: {', '.join(sorted(CATEGORIES))}") from None


def categories_for_room(room_type: str) -> tuple[Category, ...]:
    """Categories used in a room type, in catalog order."""
    return tuple(c for c in _CATEGORIES if room_type in c.room_types)


def pick_style(cat: Category, room_style: str, rng: np.random.Generator) -> str:
    """The room's style when the category comes in it, else one of the category's styles."""
    if room_style in cat.styles and rng.random() < 0.9:
        return room_style
    return cat.styles[int(rng.integers(len(cat.styles)))]


def pick_material(cat: Category, room_style: str, rng: np.random.Generator) -> str:
    """A material for an object of ``cat`` in a room of ``room_style``.

    Mostly from the style's palette for one of the category's material kinds (so a room's
    objects share colours and woods), otherwise one of the category's typical materials.
    """
    palette = STYLE_PALETTES.get(room_style)
    if palette is not None and cat.material_kinds and rng.random() < 0.6:
        kind = cat.material_kinds[int(rng.integers(len(cat.material_kinds)))]
        options = palette.get(kind, ())
        if options:
            return options[int(rng.integers(len(options)))]
    return cat.materials[int(rng.integers(len(cat.materials)))]


def _check_catalog() -> None:
    for c in _CATEGORIES:
        assert c.name == c.name.lower() and c.name.replace("_", "").isalpha(), c.name
        assert c.placement in PLACEMENTS and all(p in PLACEMENTS for p in c.alt_placements), c.name
        for lo, hi in (c.length, c.width, c.height):
            assert 0 < lo <= hi, c.name
        assert all(r in ROOM_TYPES for r in c.room_types), c.name
        assert all(k in MATERIAL_KINDS for k in c.material_kinds), c.name
        assert all(s in STYLE_PALETTES for s in c.styles), c.name
        assert c.materials, c.name
    assert len(CATEGORIES) == len(_CATEGORIES)


_check_catalog()
