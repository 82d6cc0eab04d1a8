"""PyBullet settle: resting layouts hold, floating ones fall, bad starts stay calm, runs repeat."""

import math

import numpy as np
import pytest

from metaspatial_env.geometry import Box, angle_difference
from metaspatial_env.physics import PhysicsWorld, SettleBody, SettledObject, SettleResult, static_checks

ROOM = (5.0, 4.0, 3.0)
TABLE = Box((1.2, 0.8, 0.75), (2.0, 2.0, 0.375))
NIGHTSTAND = Box((0.5, 0.4, 0.6), (4.2, 0.5, 0.3), 180)


@pytest.fixture(scope="module")
def world():
    w = PhysicsWorld()
    yield w
    w.close()


def body(id_, size, center, angle=0.0, fixed=False):
    return SettleBody(id_, Box(size, center, angle), fixed)


def horizontal(obj: SettledObject, start: SettleBody) -> float:
    return math.dist(obj.box.center[:2], start.box.center[:2])


def lamp_on_table(offset: float) -> list[SettleBody]:
    """A 0.3 m lamp on the table, its centre ``offset`` metres from the table's east edge."""
    return [SettleBody("table", TABLE), body("lamp", (0.3, 0.3, 0.5), (2.6 + offset, 2.0, 1.0))]


# --- resting layouts hold -------------------------------------------------------------------

@pytest.mark.parametrize("bodies", [
    pytest.param([body("bed", (2.0, 1.6, 0.5), (2.0, 2.0, 0.25))], id="floor-object"),
    pytest.param([body("sofa", (2.0, 0.9, 0.8), (2.0, 2.0, 0.4), 30)], id="floor-object-30deg"),
    pytest.param([body("wardrobe", (1.2, 0.6, 2.0), (4.7, 2.0, 1.0), 270)], id="tall-against-east-wall"),
    pytest.param([SettleBody("nightstand", NIGHTSTAND), body("lamp", (0.2, 0.2, 0.4), (4.2, 0.5, 0.8), 15)],
                 id="lamp-on-nightstand"),
    pytest.param([SettleBody("table", TABLE), body("book", (0.2, 0.15, 0.03), (1.7, 1.9, 0.765), 17),
                  body("vase", (0.15, 0.15, 0.3), (2.3, 2.1, 0.9))], id="small-things-on-table"),
    pytest.param([body("shelf", (1.0, 0.3, 0.05), (2.0, 0.15, 1.5), fixed=True),
                  body("books", (0.4, 0.2, 0.25), (2.0, 0.15, 1.65))], id="books-on-fixed-shelf"),
    pytest.param(lamp_on_table(-0.03), id="lamp-40pct-over-edge"),
])
def test_resting_layout_holds(world, bodies):
    result = world.settle(ROOM, bodies)
    assert result.still
    for start in bodies:
        obj = result.objects[start.id]
        assert obj.displacement < 0.02, start.id
        assert obj.rotation < 5.0, start.id
        assert obj.box.size == start.box.size
        assert angle_difference(obj.box.z_angle, start.box.z_angle) < 5.0


def test_floating_floor_object_falls(world):
    chair = body("chair", (0.5, 0.5, 0.9), (1.0, 1.0, 0.45 + 0.45))
    result = world.settle(ROOM, [chair])
    obj = result.objects["chair"]
    assert result.still
    assert obj.drop == pytest.approx(0.45, abs=0.01)
    assert obj.displacement == pytest.approx(0.45, abs=0.01)
    assert obj.box.center[2] == pytest.approx(0.45, abs=0.01)
    assert obj.rotation < 1.0


def test_object_outside_room_lands_on_the_floor(world):
    result = world.settle(ROOM, [body("crate", (1, 1, 1), (ROOM[0] + 3.0, 2.0, 1.5))])
    assert result.objects["crate"].drop == pytest.approx(1.0, abs=0.01)


def test_object_sunk_into_floor_rises_onto_it(world):
    result = world.settle(ROOM, [body("crate", (1, 1, 1), (2.0, 2.0, 0.2))])
    obj = result.objects["crate"]
    assert result.still
    assert obj.box.center[2] == pytest.approx(0.5, abs=0.01)
    assert obj.drop == 0.0
    assert math.dist(obj.box.center[:2], (2.0, 2.0)) < 0.01


# --- what PyBullet really does with a lamp over a table edge --------------------------------

@pytest.mark.parametrize("offset, tips", [
    pytest.param(-0.03, False, id="40pct-over-stays"),
    # centre of mass exactly above the edge: an unstable balance that PyBullet leaves standing
    pytest.param(0.0, False, id="50pct-over-balances"),
    pytest.param(0.03, True, id="60pct-over-tips"),
    pytest.param(0.10, True, id="83pct-over-tips"),
])
def test_lamp_over_table_edge(world, offset, tips):
    result = world.settle(ROOM, lamp_on_table(offset))
    lamp = result.objects["lamp"]
    assert result.objects["table"].displacement < 0.01
    if tips:
        assert lamp.drop > 0.3       # it left the table top for the floor
        assert lamp.rotation > 45.0  # tilt counts
    else:
        assert lamp.displacement < 0.02 and lamp.rotation < 5.0


# --- bad starts stay calm -------------------------------------------------------------------

@pytest.mark.parametrize("sink, final_z", [
    pytest.param(0.03, 1.0, id="shallow-rises-back"),
    pytest.param(0.10, 0.25, id="deep-falls-through"),  # collision with the table is off
])
def test_lamp_sunk_into_table(world, sink, final_z):
    bodies = [SettleBody("table", TABLE), body("lamp", (0.3, 0.3, 0.5), (2.0, 2.0, 1.0 - sink))]
    result = world.settle(ROOM, bodies)
    assert result.still
    assert result.objects["lamp"].box.center[2] == pytest.approx(final_z, abs=0.01)
    assert result.objects["table"].displacement < 0.01


def test_deep_overlap_is_not_launched(world):
    bodies = [body("a", (1, 1, 1), (2.0, 2.0, 0.5)), body("b", (1, 1, 1), (2.2, 2.0, 0.5))]  # 80 % shared
    result = world.settle(ROOM, bodies)
    for start in bodies:
        assert horizontal(result.objects[start.id], start) < 0.3
        assert result.objects[start.id].displacement < 0.3


def test_shallow_overlap_is_resolved_gently(world):
    bodies = [body("a", (1, 1, 1), (2.0, 2.0, 0.5)), body("b", (1, 1, 1), (2.97, 2.0, 0.5))]  # 3 cm deep
    result = world.settle(ROOM, bodies)
    assert result.still
    for start in bodies:
        assert result.objects[start.id].displacement < 0.05
    settled = static_checks(ROOM, {k: o.box for k, o in result.objects.items()})
    assert all(o.depth < 0.005 for o in settled.overlaps)


def test_ignored_pair_keeps_its_overlap(world):
    bodies = [body("a", (1, 1, 1), (2.0, 2.0, 0.5)), body("b", (1, 1, 1), (2.97, 2.0, 0.5))]
    result = world.settle(ROOM, bodies, ignore_pairs=[("b", "a"), ("a", "ghost"), ("a", "a")])
    for start in bodies:
        assert result.objects[start.id].displacement < 0.001


@pytest.mark.parametrize("poke", [0.5, 0.8])
def test_box_through_east_wall_does_not_fly(world, poke):
    start = body("crate", (1, 1, 1), (ROOM[0] - 0.5 + poke, 2.0, 0.5))
    obj = world.settle(ROOM, [start]).objects["crate"]
    assert obj.displacement < 0.05


def test_box_through_ceiling_falls_instead_of_sticking(world):
    start = body("crate", (1, 1, 1), (2.0, 2.0, ROOM[2]))  # half through the ceiling
    obj = world.settle(ROOM, [start]).objects["crate"]
    assert obj.drop > 1.0
    assert horizontal(obj, start) < 0.05


def test_forty_objects_piled_at_one_point(world):
    rng = np.random.default_rng(7)
    centre = (ROOM[0] / 2, ROOM[1] / 2)
    bodies = [body(f"o{i:02d}", tuple(rng.uniform(0.2, 1.5, 3)), (*centre, 1.0), float(rng.uniform(0, 360)))
              for i in range(40)]
    result = world.settle(ROOM, bodies)
    assert result.steps <= world.max_steps
    for obj in result.objects.values():
        x, y, z = obj.box.center
        assert all(math.isfinite(v) for v in (x, y, z, obj.displacement, obj.rotation, obj.box.z_angle))
        assert math.dist((x, y), centre) < 1.0
        assert -0.1 < z < ROOM[2]


def test_speed_cap_bounds_travel():
    with PhysicsWorld(max_speed=0.5) as slow:
        obj = slow.settle(ROOM, [body("crate", (1, 1, 1), (2.0, 2.0, 2.0))]).objects["crate"]
    # the cap applies between steps, so a step may add one step of gravity on top of it
    limit = (0.5 + 9.81 * slow.timestep) * slow.max_steps * slow.timestep
    assert 0.4 < obj.drop <= limit + 1e-6


@pytest.mark.parametrize("center", [(1e6, -1e6, 1e6), (2.0, 2.0, -50.0)])
def test_far_away_object_stays_finite(world, center):
    obj = world.settle(ROOM, [body("lost", (1, 1, 1), center)]).objects["lost"]
    assert all(math.isfinite(v) for v in (*obj.box.center, obj.displacement, obj.drop, obj.rotation))


# --- bookkeeping ----------------------------------------------------------------------------

def test_fixed_body_never_moves(world):
    shelf = body("shelf", (1.0, 0.3, 0.05), (2.0, 2.0, 1.5), fixed=True)
    crate = body("crate", (0.4, 0.4, 0.4), (2.0, 2.0, 2.2))  # falls onto the shelf
    result = world.settle(ROOM, [shelf, crate])
    assert result.objects["shelf"] == SettledObject("shelf", shelf.box, 0.0, 0.0, 0.0)
    assert result.objects["crate"].drop == pytest.approx(0.475, abs=0.01)


def test_result_shape(world):
    bodies = [body("b", (1, 1, 1), (1.0, 1.0, 0.5)), body("a", (1, 1, 1), (3.0, 1.0, 0.5), 30)]
    result = world.settle(ROOM, bodies)
    assert isinstance(result, SettleResult)
    assert list(result.objects) == ["b", "a"]
    assert 0 < result.steps <= world.max_steps
    assert result.objects["a"].box.z_angle == pytest.approx(30.0, abs=0.5)


def test_nothing_to_settle(world):
    assert world.settle(ROOM, []) == SettleResult(objects={}, steps=0, still=True)
    fixed = [body("lamp", (0.3, 0.3, 0.3), (2.0, 2.0, 2.85), fixed=True)]
    assert world.settle(ROOM, fixed).steps == 0


def test_duplicate_ids_are_rejected(world):
    with pytest.raises(ValueError):
        world.settle(ROOM, [body("a", (1, 1, 1), (1, 1, 0.5)), body("a", (1, 1, 1), (3, 1, 0.5))])


# --- determinism and isolation --------------------------------------------------------------

def busy_scene() -> list[SettleBody]:
    """Falling, tipping and a shallow overlap: plenty for the engine to do."""
    return [
        *lamp_on_table(0.05),
        body("chair", (0.5, 0.5, 0.9), (1.0, 1.0, 0.9), 20),
        body("box1", (0.6, 0.6, 0.6), (3.5, 3.0, 0.3)),
        body("box2", (0.6, 0.6, 0.6), (4.08, 3.0, 0.3), 5),
        body("ball", (0.2, 0.2, 0.2), (3.5, 3.0, 1.5), 33),
    ]


def test_same_input_gives_identical_results():
    scene = busy_scene()
    with PhysicsWorld() as a, PhysicsWorld() as b:
        first = a.settle(ROOM, scene)
        assert first.steps > 10 and not all(o.displacement < 0.02 for o in first.objects.values())
        a.settle(ROOM, [body("other", (1, 1, 1), (2, 2, 2))])  # unrelated work in between
        assert a.settle(ROOM, scene) == first
        assert b.settle(ROOM, scene) == first


def test_worlds_do_not_interfere():
    scene = busy_scene()
    with PhysicsWorld() as reference:
        expected = reference.settle(ROOM, scene)
    with PhysicsWorld() as a, PhysicsWorld() as b:
        # b fills the same spot with a big block; a must not see it, and vice versa
        blocked = b.settle(ROOM, [body("block", (5, 4, 2.5), (2.5, 2.0, 1.25))])
        assert a.settle(ROOM, scene) == expected
        assert b.settle(ROOM, [body("block", (5, 4, 2.5), (2.5, 2.0, 1.25))]) == blocked
        a.close()
        assert b.settle(ROOM, scene) == expected


def test_close_is_idempotent():
    w = PhysicsWorld()
    w.close()
    w.close()
    with pytest.raises(RuntimeError):
        w.settle(ROOM, [])
    del w  # __del__ after close is quiet
