"""A heuristic layout policy: a constraint-driven solver that reads only the scene graph.

The policy lays a room out object by object. Objects are ordered so that *anchors* (objects
whose rules point only at walls, the middle of the room or the ceiling; larger first) come
before their *satellites* (an object ``left of`` / ``in front`` / ``on`` / ``under`` / ``above``
another is placed after it, and an object ``facing`` another after that one where possible),
and a satellite is placed right after its anchor so it gets the best spots next to it.

For each object the solver generates candidate poses from its rules (back to the named wall
facing into the room, corners, the middle, beside / in front of / behind an anchor at a few
gaps and offsets in the anchor's frame, on top of it, centred under it, on the ceiling above
it, flush on a wall above it) and scores every candidate at once with numpy: the violation of
each rule whose other end is already placed (the array forms of :mod:`metaspatial_env.relations`,
the environment's only copy of each formula), penetration into placed objects and out of the
room (those of :mod:`metaspatial_env.physics.static`), a look-ahead penalty when an anchor leaves
no floor for the satellites that must stand beside it (whole chains: a fridge needs room for the
counter, sink and stove to its right), and a wall budget: the furniture still to come on each
wall must still fit on it. Every rule is scored with a small safety margin, so the physics
settle cannot nudge a pose off a tolerance's edge. The cheapest candidate wins; a grid search over the free floor (or walls,
or ceiling) is the fallback when no rule-driven candidate is clean.

Heights: floor objects stand at ``h / 2`` (or on a rug they overlap, which the reward would
otherwise count as a 1 cm collision), an object ``on`` another rests on its top, ceiling
objects touch the ceiling and wall-mounted objects hang flush on their wall (above whatever
they are ``above``), so a PyBullet settle leaves the layout where it was answered.

Before answering, the policy measures its own layout exactly as the environment will (rules
with :func:`~metaspatial_env.relations.evaluate_rules`, overlaps and bounds with
:func:`~metaspatial_env.physics.static.static_checks`) and repairs what fails. A repair keeps
the layout, re-solves each blamed object (and the satellites that hang on it) with the rest
fixed, and forbids the poses that already failed; an object blamed twice in a row drags its
anchor chain into the re-solve, barred from its old neighbourhood. On later turns the
environment's feedback drives the same repair and adds what only the physics settle can tell.

The package, one idea a module: :mod:`.common` (the pose and the tuning constants),
:mod:`.scene` (placement order and what the scene graph says about each object),
:mod:`.candidates` (spots, headings, heights), :mod:`.cost` (rule, hard, crowding and wall-budget
costs), :mod:`.solver` (the driver), :mod:`.repair` (self-check, repair, tabu) and
:mod:`.policy` (:class:`HeuristicPolicy`, :func:`format_answer`). The array forms it scores with
are re-exported here under their former names (``layout_violation`` is
:func:`metaspatial_env.relations.layout_violations` ...).
"""

from metaspatial_env.geometry import Boxes, wall_gaps
from metaspatial_env.physics.static import penetration, protrusion
from metaspatial_env.relations import facing_violations as facing_violation
from metaspatial_env.relations import layout_violations as layout_violation
from metaspatial_env.relations import object_violations as object_violation

from .common import (
    ABOVE_CLEARANCES,
    ANCHOR_TABU_RADIUS,
    BOUNDS_SLACK,
    CEILING_GAP,
    COLLISION_SLACK,
    CONTACT_SLACK,
    CROWDING,
    DECIMALS,
    EPS,
    FACING_BACK,
    FACING_MARGIN_DEG,
    FAR_GAPS,
    GRID_POINTS,
    HARD,
    INNER,
    NEAR_GAPS,
    PREFERENCE,
    REPAIR_KINDS,
    REQUIRED_MISS,
    RULE_MARGIN,
    RULE_MISS,
    SEEDED_SPREAD,
    SELF_REPAIRS,
    SHALLOW_OVERLAP,
    SIDES,
    TABU,
    TABU_RADIUS,
    THIN,
    WALL_GAP,
    WALL_MOUNT_HEIGHT,
    Pose,
)
from .cost import rule_cost
from .policy import HeuristicPolicy, format_answer
from .repair import Tabu, ancestors, dependents, repair_layout, self_check
from .scene import placement_order
from .solver import LayoutSolver

__all__ = [
    "ABOVE_CLEARANCES", "ANCHOR_TABU_RADIUS", "BOUNDS_SLACK", "CEILING_GAP", "COLLISION_SLACK", "CONTACT_SLACK",
    "CROWDING", "DECIMALS", "EPS", "FACING_BACK", "FACING_MARGIN_DEG", "FAR_GAPS", "GRID_POINTS", "HARD", "INNER",
    "NEAR_GAPS", "PREFERENCE", "REPAIR_KINDS", "REQUIRED_MISS", "RULE_MARGIN", "RULE_MISS", "SEEDED_SPREAD", "SELF_REPAIRS",
    "SHALLOW_OVERLAP", "SIDES", "TABU", "TABU_RADIUS", "THIN", "WALL_GAP", "WALL_MOUNT_HEIGHT",
    "Boxes", "HeuristicPolicy", "LayoutSolver", "Pose", "Tabu",
    "ancestors", "dependents", "facing_violation", "format_answer", "layout_violation", "object_violation",
    "penetration", "placement_order", "protrusion", "repair_layout", "rule_cost", "self_check", "wall_gaps",
]
