"""Procedural furniture: every category fits its box exactly, shows its front, takes its colours."""

import math

import pytest

from metaspatial_env.render.furniture import (
    COLOR_WORDS,
    SHAPES,
    build_parts,
    builder_name,
    color_scheme,
    part_finish,
    parts_extent,
)
from metaspatial_env.render.palette import category_color
from metaspatial_env.tasks.catalog import CATEGORIES

CATALOG = dict(CATEGORIES)

#: Round things with no front of their own (a viewer cannot and need not tell where they face).
NO_FRONT = {"pendant_light", "chandelier", "ceiling_light", "ceiling_fan", "plant", "table_plant", "vase",
            "table_lamp", "fruit_bowl", "book_stack"}


def catalog_sizes(name):
    cat = CATALOG[name]
    return [tuple(r[i] for r in (cat.length, cat.width, cat.height)) for i in (0, 1)]


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_every_catalog_category_has_its_own_builder(name):
    assert builder_name(name) is not None


@pytest.mark.parametrize("name", sorted(CATALOG) + ["space_heater", "king_size_bed"])
def test_parts_fill_the_box_exactly(name):
    sizes = catalog_sizes(name) if name in CATALOG else [(0.5, 0.4, 0.6), (2.0, 2.1, 1.1)]
    for size in sizes + [(3.0, 0.2, 0.05), (0.05, 0.05, 2.5)]:
        parts = build_parts(name, size)
        assert parts and all(p.shape in SHAPES for p in parts)
        for p in parts:  # inside the box
            for i in range(3):
                assert abs(p.center[i]) + p.size[i] / 2 <= size[i] / 2 + 1e-9, (name, size, p)
        if size in sizes:  # and touching all six faces (degenerate sizes may clamp parts away)
            lo, hi = parts_extent(parts)
            for i in range(3):
                assert lo[i] == pytest.approx(-size[i] / 2, abs=1e-6), (name, size, "min", i)
                assert hi[i] == pytest.approx(size[i] / 2, abs=1e-6), (name, size, "max", i)


def mirrored(parts):
    return sorted((p.shape, p.role, round(p.center[0], 6), round(-p.center[1], 6), round(p.center[2], 6),
                   tuple(round(v, 6) for v in p.size)) for p in parts)


def plain(parts):
    return sorted((p.shape, p.role, round(p.center[0], 6), round(p.center[1], 6), round(p.center[2], 6),
                   tuple(round(v, 6) for v in p.size)) for p in parts)


@pytest.mark.parametrize("name", sorted(set(CATALOG) - NO_FRONT) + ["unknown_gadget"])
def test_front_and_back_differ_so_a_viewer_can_tell_the_facing(name):
    size = catalog_sizes(name)[1] if name in CATALOG else (0.6, 0.6, 0.6)
    parts = build_parts(name, size)
    assert plain(parts) != mirrored(parts)


@pytest.mark.parametrize("name, role", [("bed", "body"), ("dining_chair", "backrest"), ("office_chair", "backrest"),
                                        ("sofa", "fabric"), ("armchair", "fabric")])
def test_backs_are_at_the_back(name, role):
    """The tallest part of a bed, chair or sofa (headboard, backrest) is behind its centre (-y)."""
    parts = build_parts(name, catalog_sizes(name)[1])
    top = max(p.center[2] + p.size[2] / 2 for p in parts)
    tallest = [p for p in parts if abs(p.center[2] + p.size[2] / 2 - top) < 1e-9]
    assert all(p.center[1] < 0 for p in tallest)


@pytest.mark.parametrize("name", ["tv", "computer_monitor", "wall_art", "mirror", "whiteboard"])
def test_screens_and_pictures_face_forward(name):
    parts = build_parts(name, catalog_sizes(name)[1])
    face = [p for p in parts if p.role in ("screen", "art", "mirror", "paper")]
    width = catalog_sizes(name)[1][1]
    assert face and max(p.center[1] + p.size[1] / 2 for p in face) == pytest.approx(width / 2)


@pytest.mark.parametrize(
    "material, role, expected",
    [
        ("walnut", "body", "walnut"),
        ("white lacquered wood", "body", "white"),
        ("light oak", "body", "light oak"),
        ("black metal and oak", "body", "oak"),
        ("black metal and oak", "metal", "black"),
        ("navy velvet", "fabric", "navy"),
        ("teal velvet", "fabric", "teal"),
        ("tan leather", "fabric", "tan"),
        ("fern in terracotta pot", "pot", "terracotta"),
        ("olive tree in grey stone pot", "pot", "grey"),
        ("oil painting with gold frame", "accent", "gold"),
        ("brass", "metal", "brass"),
        ("oak with granite top", "body", "oak"),
    ],
)
def test_colours_come_from_material_words(material, role, expected):
    assert color_scheme("thing", material, "modern")[role] == COLOR_WORDS[expected]


def test_unknown_material_falls_back_to_the_category_colour():
    assert color_scheme("sofa", "", "")["body"] == category_color("sofa")
    assert color_scheme("sofa", "unobtainium", "")["body"] == category_color("sofa")


def test_style_gives_the_upholstery_when_the_material_names_none():
    assert color_scheme("armchair", "oak", "mid-century modern")["fabric"] == COLOR_WORDS["mustard"]
    assert color_scheme("armchair", "oak", "coastal")["fabric"] == COLOR_WORDS["light blue"]


def test_colours_are_valid_and_deterministic():
    a = color_scheme("wall_art", "abstract print with black frame", "art deco")
    assert a == color_scheme("wall_art", "abstract print with black frame", "art deco")
    for rgb in a.values():
        assert len(rgb) == 3 and all(0.0 <= c <= 1.0 and math.isfinite(c) for c in rgb)


@pytest.mark.parametrize("role, finish", [("metal", "metal"), ("screen", "glossy"), ("light", "glow"),
                                          ("body", "matte"), ("fabric", "matte")])
def test_part_finish(role, finish):
    assert part_finish(role) == finish
