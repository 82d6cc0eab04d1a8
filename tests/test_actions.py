"""The action parser: a table of answers and what each must yield."""

import json
import math

import pytest

from metaspatial_env.actions import MAX_ACTION_CHARS, MAX_LISTED_ERRORS, Placement, parse_action

IDS = ["bed_1", "lamp_1"]
BED = {"new_object_id": "bed_1", "x": 2, "y": 3, "z": 0.25}
LAMP = {"new_object_id": "lamp_1", "x": 1, "y": 1, "z": 0.9, "z_angle": 450}


def answer(entries, think="plan") -> str:
    return f"<think>{think}</think><answer>{json.dumps(entries)}</answer>"


@pytest.mark.parametrize(
    "action, placed, codes",
    [
        (answer([BED, LAMP]), {"bed_1", "lamp_1"}, []),
        (json.dumps([BED, LAMP]), {"bed_1", "lamp_1"}, []),  # bare list
        ("<answer>```json\n" + json.dumps([BED]) + "\n```</answer>", {"bed_1"}, ["missing_object"]),
        ("Here is my layout: " + json.dumps([BED, LAMP]) + " hope it helps", {"bed_1", "lamp_1"}, []),
        ("<think>[1,2]</think>" + json.dumps([BED]), {"bed_1"}, ["missing_object"]),  # list in think ignored
        ("<answer>[{}]</answer><answer>" + json.dumps([BED]) + "</answer>", {"bed_1"}, ["missing_object"]),
        ("<answer>" + json.dumps([BED]), {"bed_1"}, ["missing_object"]),  # unclosed answer tag
        (answer({"bed_1": {"x": 1, "y": 1, "z": 0.25}}), set(), ["not_a_list"]),  # the reference's loophole
        (answer(BED), set(), ["not_a_list"]),
        (answer("bed_1"), set(), ["not_a_list"]),
        ("<answer>[{'new_object_id': 'bed_1'}]</answer>", set(), ["not_json"]),
        ('<answer>[{"new_object_id": "bed_1", "x": 1,</answer>', set(), ["not_json"]),
        ("<answer>   </answer>", set(), ["empty_answer"]),
        ("", set(), ["empty_answer"]),
        (answer([]), set(), ["missing_object", "missing_object"]),
        (answer([BED, BED]), {"bed_1"}, ["duplicate_id", "missing_object"]),
        (answer([BED, {**BED, "new_object_id": "sofa_9"}]), {"bed_1"}, ["unknown_id", "missing_object"]),
        (answer([{**BED, "x": "2"}]), set(), ["bad_number", "missing_object"]),
        (answer([{**BED, "x": True}]), set(), ["bad_number", "missing_object"]),
        (answer([{**BED, "x": 1e308}]), set(), ["bad_number", "missing_object"]),
        ('<answer>[{"new_object_id": "bed_1", "x": NaN, "y": 1, "z": 1}]</answer>', set(), ["bad_number", "missing_object"]),
        ('<answer>[{"new_object_id": "bed_1", "x": 1e999, "y": 1, "z": 1}]</answer>', set(), ["bad_number", "missing_object"]),
        ('<answer>[{"new_object_id": "bed_1", "x": ' + "9" * 400 + ', "y": 1, "z": 1}]</answer>', set(), ["bad_number", "missing_object"]),
        (answer([{**BED, "z_angle": None}]), {"bed_1"}, ["missing_object"]),
        (answer([{**BED, "z_angle": "north"}]), set(), ["bad_number", "missing_object"]),
        (answer([{k: v for k, v in BED.items() if k != "z"}]), set(), ["missing_field", "missing_object"]),
        (answer([{"x": 1}]), set(), ["bad_entry", "missing_object", "missing_object"]),
        (answer([[BED]]), set(), ["bad_entry", "missing_object", "missing_object"]),
        (answer([3, None, "bed_1"]), set(), ["bad_entry"] * 3 + ["missing_object"] * 2),
        (answer([{**BED, "new_object_id": "b\u00e9d_1\U0001f6cf"}]), set(), ["unknown_id", "missing_object", "missing_object"]),
        ("[" * 50000, set(), ["not_json"]),
        ("x" * (MAX_ACTION_CHARS + 1), set(), ["too_long"]),
        (None, set(), ["not_text"]),
        ({"bed_1": BED}, set(), ["not_text"]),
        (b"[]", set(), ["not_text"]),
    ],
)
def test_parse_table(action, placed, codes):
    result = parse_action(action, IDS)
    assert set(result.placements) == placed
    assert sorted(result.error_codes) == sorted(codes)


def test_values_and_heading_normalised():
    result = parse_action(answer([BED, LAMP]), IDS)
    assert result.placements["bed_1"] == Placement(2.0, 3.0, 0.25, None)
    assert result.placements["lamp_1"].z_angle == 90.0


def test_first_duplicate_counts_even_when_invalid():
    result = parse_action(answer([{**BED, "x": "bad"}, BED]), IDS)
    assert "bed_1" not in result.placements
    assert result.count("duplicate_id") == 1 and result.count("bad_number") == 1


def test_many_errors_are_counted_but_listed_only_up_to_the_cap():
    entries = [{**BED, "new_object_id": f"ghost_{i}"} for i in range(500)]
    result = parse_action(answer(entries), IDS)
    assert result.count("unknown_id") == 500
    assert len(result.errors) == MAX_LISTED_ERRORS + 1 and result.errors[-1].code == "more_errors"


def test_error_text_never_echoes_raw_unicode():
    result = parse_action(answer([{**BED, "new_object_id": "\u0000evil\u202e" * 20}]), IDS)
    for error in result.errors:
        assert error.describe().isascii() and len(error.describe()) < 200


def test_all_placements_finite():
    result = parse_action(answer([{**BED, "x": -999.5}, {**LAMP, "z": 1000}]), IDS)
    assert all(math.isfinite(v) for p in result.placements.values() for v in (p.x, p.y, p.z))
