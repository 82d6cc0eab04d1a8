"""The heuristic solver's vocabulary: the answered :class:`Pose` and the tuning constants.

Every module of :mod:`agents.heuristic` reads these. The rule tolerances themselves are the
environment's (:mod:`metaspatial_env.relations`); the constants here say how far inside them the
solver stays, which spots it tries, and how it weighs one failure against another.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metaspatial_env.geometry import Box
from metaspatial_env.relations import CARPET_HEIGHT
from metaspatial_env.schema import TaskObject

#: Gap left between an object's back and its wall (inside the 5 cm contact band, never through).
WALL_GAP = 0.01
#: Gap left between a ceiling object's top and the ceiling.
CEILING_GAP = 0.005
#: Gaps tried between an object and the one it stands beside (all within ADJACENT_DISTANCE).
NEAR_GAPS = (0.01, 0.05, 0.15, 0.3, 0.45)
#: Extra gaps tried when the rule does not ask for adjacency.
FAR_GAPS = (0.7, 1.0, 1.4, 1.9, 2.5, 3.2)
#: Clearances tried between a wall-mounted object and the top of what it hangs above.
ABOVE_CLEARANCES = (0.15, 0.35, 0.6)
#: Centre height of a wall-mounted object that hangs above nothing in particular.
WALL_MOUNT_HEIGHT = 1.5
#: Penetrations tolerated when choosing poses, kept below the reward's 1 cm / 3 cm so that
#: rounding the answer to millimetres can never push a pair over.
COLLISION_SLACK = 0.008
CONTACT_SLACK = 0.025
#: Protrusion out of the room tolerated when choosing poses (the reward allows 1 cm).
BOUNDS_SLACK = 0.003
#: Cost of a hard failure (collision, outside the room): always worse than any rule trade-off.
HARD = 100.0
#: Cost of an unmet rule on top of its scaled violation: the success bar counts met rules.
RULE_MISS = 1.0
#: Cost of an unmet required rule (support, on the floor, back to the wall): success needs every
#: one, so missing one outweighs several ordinary rules, yet stays below a hard failure.
REQUIRED_MISS = 10.0
#: Cost of an anchor pose that leaves no floor for its side satellites (about one lost rule).
CROWDING = 0.9
#: Cost of a shallow, tolerated overlap (a chair standing on a rug's edge): avoided when possible.
SHALLOW_OVERLAP = 0.3
#: Cost of repeating a pose that the environment already reported as failing.
TABU = 3.0
#: Radius (m) of the neighbourhood barred around a failed pose, and around the old pose of an
#: anchor pulled into a repair (it has to move somewhere substantially different).
TABU_RADIUS = 0.03
ANCHOR_TABU_RADIUS = 0.5
#: Rounds of self-checked repair before each answer.
SELF_REPAIRS = 4
#: Weight of the candidate's rank in generation order, the tie-breaker between equal poses.
PREFERENCE = 1e-3
#: How many places in that order a seeded policy lets a candidate jump: neighbours in the
#: order are alike (next spot along the wall, next gap), so seeds vary the layout gently.
SEEDED_SPREAD = 6.0
#: Safety margins kept inside every rule's tolerance when choosing poses (metres, degrees):
#: the settle nudges things by fractions of a millimetre, and a pose right on a tolerance's
#: edge can fall either side of it.
RULE_MARGIN = 0.005
FACING_MARGIN_DEG = 2.0
#: Share of a target's side (or of the middle of the room) used for spreading spots, so none
#: lands exactly on the edge where the rule stops holding.
INNER = 0.9
#: Decimals of the answer; candidates are scored exactly as they will be answered.
DECIMALS = 3
#: Target number of points in a fallback grid.
GRID_POINTS = 400
#: Objects at most this tall lying on the floor (rugs, mats) are carpets: others stand on them.
THIN = CARPET_HEIGHT
#: Problem kinds that make the policy re-solve the object they name.
REPAIR_KINDS = ("unplaced", "parse", "collision", "out_of_bounds", "unstable", "rule")
#: Side prepositions and (sign, axis) of the side in the target's frame: axis 0 = right, 1 = forward.
SIDES = {"left of": (-1.0, 0), "right of": (1.0, 0), "in front": (1.0, 1), "behind": (-1.0, 1)}
#: Heading offset from the target's heading of a satellite on each side that faces the target.
FACING_BACK = {"left of": 90.0, "right of": 270.0, "in front": 180.0, "behind": 0.0}
EPS = 1e-9

#: World axes, for the extent of a footprint along x or y.
X_AXIS, Y_AXIS = np.array([1.0, 0.0]), np.array([0.0, 1.0])


@dataclass(frozen=True)
class Pose:
    """An answered pose: box centre (m) and compass heading (degrees)."""

    x: float
    y: float
    z: float
    z_angle: float

    def box(self, obj: TaskObject) -> Box:
        return Box(size=obj.size, center=(self.x, self.y, self.z), z_angle=self.z_angle)

