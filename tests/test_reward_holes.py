"""Reward integrity (DESIGN.md section 6): layouts a person would reject never succeed.

Over every room of the ``test`` split, each hole of :mod:`benchmarks.reward_holes` changes one
object of the room's reference layout (which succeeds with total 1.0): a floor object stacked on
its neighbour or on a wall fixture, an object turned to face its wall, end-on or corner-on to it,
an answer padded with unknown and duplicate ids, the largest floor object floating, an object
inside another, a rug over the bed and through the wall, a lamp left on the floor, an object half
through a wall. The first variant of each room is scored as the env scores a step.
"""

import pytest

from benchmarks.reward_holes import GROSS, GROSS_DROP, HOLES, measure
from metaspatial_env.tasks import load_split


@pytest.fixture(scope="module")
def tallies():
    return measure(list(load_split("test")), first_only=True)


def test_every_reference_layout_succeeds(tallies):
    reference = tallies["reference"]
    assert reference.rooms == 200 and reference.successes == 200


@pytest.mark.parametrize("hole", list(HOLES))
def test_hole_never_succeeds(tallies, hole):
    tally = tallies[hole]
    assert tally.rooms >= 50, f"{hole} applies to only {tally.rooms} rooms"
    assert tally.successes == 0, f"{hole}: {tally.successes} of {tally.variants} variants succeed"


@pytest.mark.parametrize("hole", GROSS)
def test_one_gross_error_costs_a_tenth_of_the_total(tallies, hole):
    tally = tallies[hole]
    assert tally.dropped_rooms >= 0.95 * tally.rooms, (
        f"{hole}: total dropped by {GROSS_DROP} on only {tally.dropped_rooms} of {tally.rooms} rooms")
