"""The generator's fixed numbers: room sizes and heights, gaps, and the clearance kept in front of furniture."""

from __future__ import annotations

#: (x range, y range) in metres per room type; a room is drawn in these and may be turned 90 degrees.
ROOM_SIZE_RANGES: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "bedroom": ((3.2, 5.5), (3.0, 4.8)),
    "living_room": ((4.0, 8.0), (3.6, 6.0)),
    "dining_room": ((3.4, 6.5), (3.2, 5.0)),
    "kitchen": ((3.0, 6.0), (2.8, 5.0)),
    "office": ((3.2, 7.5), (3.0, 6.0)),
    "kids_room": ((3.0, 5.0), (3.0, 4.5)),
    "studio": ((5.0, 8.0), (4.0, 6.0)),
    "library": ((3.6, 7.5), (3.4, 6.0)),
    "art_studio": ((4.0, 7.0), (3.5, 6.0)),
    "home_theater": ((4.2, 7.5), (3.8, 6.0)),
}
ROOM_HEIGHTS = (2.4, 2.5, 2.6, 2.7, 2.8, 2.9, 3.0, 3.2)

#: Gap between a wall-backed object and its wall, and between a ceiling object and the ceiling.
WALL_GAP = 0.002
CEILING_GAP = 0.002
#: Overlap (m) counted as penetration when placing.
EPS = 1e-6
#: Depth of the clearance kept free in front of these categories (scaled down in dense rooms).
FRONT_CLEARANCE = {
    "bed": 0.6,
    "single_bed": 0.5,
    "bunk_bed": 0.5,
    "crib": 0.4,
    "wardrobe": 0.7,
    "dresser": 0.6,
    "vanity_table": 0.5,
    "sofa": 0.45,
    "loveseat": 0.45,
    "sectional_sofa": 0.45,
    "desk": 0.6,
    "bookshelf": 0.5,
    "low_bookcase": 0.4,
    "sideboard": 0.5,
    "china_cabinet": 0.6,
    "tv_stand": 0.2,
    "kitchen_counter": 0.8,
    "sink_cabinet": 0.8,
    "stove": 0.8,
    "dishwasher": 0.8,
    "refrigerator": 0.8,
    "pantry_cabinet": 0.7,
    "fireplace": 0.5,
    "piano": 0.6,
    "filing_cabinet": 0.5,
    "storage_cabinet": 0.5,
    "toy_chest": 0.4,
    "canvas_rack": 0.5,
    "shoe_rack": 0.4,
    "easel": 0.5,
    "drafting_table": 0.5,
    "recliner": 0.3,
    "armchair": 0.25,
    "console_table": 0.3,
    "bar_cart": 0.3,
}
OPPOSITE_WALL = {
    "south_wall": "north_wall",
    "north_wall": "south_wall",
    "west_wall": "east_wall",
    "east_wall": "west_wall",
}
