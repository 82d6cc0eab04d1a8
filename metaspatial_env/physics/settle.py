"""Settle an answered layout with a real rigid-body engine (PyBullet).

Box-overlap tests cannot tell a lamp resting on a nightstand from one floating beside it, or a
chair that would topple from one that stands. The ``stability`` reward (DESIGN.md section 6)
therefore drops the answered boxes into PyBullet, lets gravity act for at most ``max_steps``
steps, and reports how far and how much each object moved and turned.

Room: the floor is a static box, ``floor_thickness`` thick, whose top face is z = 0 and which
reaches ``floor_margin`` metres beyond the room on every side, so objects answered outside the
room still land on something; the four walls and the ceiling are static boxes
``wall_thickness`` thick just outside the room volume. Objects are dynamic rigid boxes (maximal
coordinates, i.e. plain Bullet rigid bodies, cheaper to build and step than multibodies;
mass = ``density`` x volume, at least ``min_mass``) with friction 0.8, no restitution and some
damping. Bodies marked ``fixed`` (objects held by a wall or the ceiling, as
the caller decides) are static.

No explosions. An answer may put two objects inside each other or push one through a wall. The
engine resolves such a start by pushing the bodies apart until they no longer overlap, which
moves furniture across the room and would blame every neighbour for one mistake. The static
checks already charge for the overlap itself, so the settle only has to stay calm:

1. Pairs the caller lists in ``ignore_pairs`` never collide.
2. Any pair that starts more than ``deep_penetration`` metres (5 cm) inside each other never
   collides either: object/object pairs by the separating-axis depth of
   :func:`~metaspatial_env.physics.static.static_checks`, object/wall and object/ceiling pairs
   by how far the object pokes through that surface. A deeply overlapping pair stays where it
   is; shallower overlaps are resolved by the engine, which moves each body by about its share
   of the depth. Consequence: an object sunk more than 5 cm into its support falls through it.
   The floor is the exception and always collides, so an object sunk into the floor rises back
   onto it rather than falling forever.
3. After every step, a body faster than ``max_speed`` (m/s) or spinning faster than
   ``max_angular_speed`` (rad/s) is slowed to that limit. Bullet's split-impulse penetration
   recovery already moves overlapping bodies apart without giving them momentum; the cap bounds
   whatever is left, so nothing travels much more than ``max_speed`` times the simulated time
   (a step may add one step of gravity on top of the cap).

Rest: every ``check_every`` steps, a body is at rest when its linear and angular speeds are below
``rest_speed`` and ``rest_angular_speed`` *and* it moved and turned less than those speeds allow
since the last check (split-impulse recovery moves bodies without any velocity showing). A layout
that is already at rest therefore costs only ``check_every`` steps. The price: a body balanced
within about a centimetre of tipping (its centre of mass just past an edge) starts to turn so
slowly that the first check may call it still.

Determinism: each :meth:`PhysicsWorld.settle` resets its simulation and rebuilds the room and the
bodies in input order, with deterministic overlapping-pair ordering, so the same input gives
bit-identical results in the same world and in a fresh one. The reset costs about 0.3 ms and
each body about 0.1 ms to build, well inside the step budget (10 resting objects settle in
about 4 ms on the 2-core development machine).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pybullet as p

from metaspatial_env.geometry import Box, heading_from_quaternion, quaternion_from_heading
from metaspatial_env.physics.static import StaticReport, static_checks

GRAVITY = 9.81


@dataclass(frozen=True)
class SettleBody:
    """One object to settle; ``fixed`` bodies (mounted on a wall or the ceiling) do not move."""

    id: str
    box: Box
    fixed: bool = False


@dataclass(frozen=True)
class SettledObject:
    """Where an object ended up and how much it moved getting there.

    ``box`` keeps the size and carries the final centre and heading; ``displacement`` is the 3D
    distance the centre moved (m), ``drop`` how far it went down (m, never negative) and
    ``rotation`` the total angle between the initial and final orientation (degrees, tilt
    included).
    """

    id: str
    box: Box
    displacement: float
    drop: float
    rotation: float


@dataclass(frozen=True)
class SettleResult:
    """Every object's outcome (in input order), the steps taken, and whether all came to rest."""

    objects: dict[str, SettledObject]
    steps: int
    still: bool


class PhysicsWorld:
    """Owns one PyBullet client (``p.DIRECT``); one per env. Every call names that client.

    ``timestep`` (s) and ``max_steps`` bound the simulated time (1 s by default);
    ``check_every``, ``rest_speed`` (m/s) and ``rest_angular_speed`` (rad/s) decide when
    everything is at rest; ``max_speed`` (m/s), ``max_angular_speed`` (rad/s) and
    ``deep_penetration`` (m) keep bad starts calm (see the module docstring). The rest are
    material and room-building constants.
    """

    def __init__(self, timestep: float = 1 / 240, max_steps: int = 240, check_every: int = 10,
                 rest_speed: float = 0.01, max_speed: float = 3.0, *,
                 rest_angular_speed: float = 0.1, max_angular_speed: float = 10.0,
                 deep_penetration: float = 0.05, density: float = 200.0, min_mass: float = 0.2,
                 friction: float = 0.8, damping: float = 0.1, wall_thickness: float = 1.0,
                 floor_thickness: float = 1.0, floor_margin: float = 100.0,
                 solver_iterations: int = 10) -> None:
        self.timestep = timestep
        self.max_steps = max_steps
        self.check_every = check_every
        self.rest_speed = rest_speed
        self.max_speed = max_speed
        self.rest_angular_speed = rest_angular_speed
        self.max_angular_speed = max_angular_speed
        self.deep_penetration = deep_penetration
        self.density = density
        self.min_mass = min_mass
        self.friction = friction
        self.damping = damping
        self.wall_thickness = wall_thickness
        self.floor_thickness = floor_thickness
        self.floor_margin = floor_margin
        self.solver_iterations = solver_iterations
        self._client: int | None = p.connect(p.DIRECT)

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Disconnect the PyBullet client; safe to call more than once."""
        client, self._client = getattr(self, "_client", None), None
        if client is not None and p is not None:
            p.disconnect(physicsClientId=client)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: pybullet may already be torn down
            pass

    def __enter__(self) -> PhysicsWorld:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- settling --------------------------------------------------------------------------

    def settle(self, room_size: tuple[float, float, float], bodies: Sequence[SettleBody],
               ignore_pairs: Iterable[tuple[str, str]] = (), static: StaticReport | None = None) -> SettleResult:
        """Drop the bodies into the room and simulate until all rest or ``max_steps`` pass.

        ``static`` is the caller's :func:`static_checks` report of these very boxes, if it has one
        (it finds the deep starts; computed here otherwise).
        """
        if self._client is None:
            raise RuntimeError("PhysicsWorld is closed")
        ids = [b.id for b in bodies]
        if len(set(ids)) != len(ids):
            raise ValueError("settle bodies must have unique ids")
        cid = self._client
        self._reset()
        room = self._build_room(room_size)
        uids = [self._add_body(b) for b in bodies]
        self._disable_collisions(room_size, bodies, uids, room, ignore_pairs, static)

        dynamic = [u for u, b in zip(uids, bodies) if not b.fixed]
        last = self._poses(dynamic)
        steps, still = 0, not dynamic
        while steps < self.max_steps and not still:
            p.stepSimulation(physicsClientId=cid)
            steps += 1
            speeds = self._limit_speeds(dynamic)
            if steps % self.check_every == 0:
                poses = self._poses(dynamic)
                still = self._at_rest(speeds, last, poses)
                last = poses

        objects = {b.id: self._outcome(b, u) for b, u in zip(bodies, uids)}
        return SettleResult(objects=objects, steps=steps, still=still)

    def _reset(self) -> None:
        cid = self._client
        p.resetSimulation(physicsClientId=cid)
        p.setGravity(0, 0, -GRAVITY, physicsClientId=cid)
        p.setPhysicsEngineParameter(fixedTimeStep=self.timestep, numSubSteps=0,
                                    numSolverIterations=self.solver_iterations,
                                    deterministicOverlappingPairs=1, physicsClientId=cid)

    def _static_box(self, half_extents, center) -> int:
        cid = self._client
        shape = p.createCollisionShape(p.GEOM_BOX, halfExtents=half_extents, physicsClientId=cid)
        uid = p.createMultiBody(0.0, shape, basePosition=center, useMaximalCoordinates=True,
                                physicsClientId=cid)
        p.changeDynamics(uid, -1, lateralFriction=self.friction, restitution=0.0,
                         physicsClientId=cid)
        return uid

    def _build_room(self, room_size) -> dict[str, int]:
        """Static floor, walls and ceiling around [0, X] x [0, Y] x [0, Z]; uids by boundary."""
        X, Y, Z = (float(v) for v in room_size)
        t, ft, m = self.wall_thickness, self.floor_thickness, self.floor_margin
        hx, hy, hz = X / 2 + t, Y / 2 + t, Z / 2 + t   # walls overlap at the corners
        return {
            "floor": self._static_box((X / 2 + m, Y / 2 + m, ft / 2), (X / 2, Y / 2, -ft / 2)),
            "ceiling": self._static_box((hx, hy, t / 2), (X / 2, Y / 2, Z + t / 2)),
            "south_wall": self._static_box((hx, t / 2, hz), (X / 2, -t / 2, Z / 2)),
            "north_wall": self._static_box((hx, t / 2, hz), (X / 2, Y + t / 2, Z / 2)),
            "west_wall": self._static_box((t / 2, hy, hz), (-t / 2, Y / 2, Z / 2)),
            "east_wall": self._static_box((t / 2, hy, hz), (X + t / 2, Y / 2, Z / 2)),
        }

    def _add_body(self, body: SettleBody) -> int:
        cid = self._client
        box = body.box
        shape = p.createCollisionShape(p.GEOM_BOX, halfExtents=box.half_extents, physicsClientId=cid)
        mass = 0.0 if body.fixed else max(self.min_mass, self.density * box.volume)
        uid = p.createMultiBody(mass, shape, basePosition=box.center,
                                baseOrientation=quaternion_from_heading(box.z_angle),
                                useMaximalCoordinates=True, physicsClientId=cid)
        p.changeDynamics(uid, -1, lateralFriction=self.friction, restitution=0.0,
                         linearDamping=self.damping, angularDamping=self.damping,
                         physicsClientId=cid)
        return uid

    def _disable_collisions(self, room_size, bodies, uids, room, ignore_pairs, static) -> None:
        """Turn off collision for listed pairs and for pairs that start deeply interpenetrating."""
        cid = self._client
        uid_of = {b.id: u for b, u in zip(bodies, uids)}
        pairs = {tuple(sorted((a, b))) for a, b in ignore_pairs
                 if a != b and a in uid_of and b in uid_of}
        report = static if static is not None else static_checks(room_size, {b.id: b.box for b in bodies})
        pairs.update((o.a, o.b) for o in report.overlaps if o.depth > self.deep_penetration)
        for a, b in sorted(pairs):
            p.setCollisionFilterPair(uid_of[a], uid_of[b], -1, -1, 0, physicsClientId=cid)
        X, Y, Z = (float(v) for v in room_size)
        for body, uid in zip(bodies, uids):
            if report.out_of_room[body.id].distance <= self.deep_penetration:
                continue  # its worst boundary is shallow, so all are
            lo, hi = body.box.aabb()
            poke = {"south_wall": -lo[1], "north_wall": hi[1] - Y, "west_wall": -lo[0],
                    "east_wall": hi[0] - X, "ceiling": hi[2] - Z}
            for boundary, depth in poke.items():
                if depth > self.deep_penetration:
                    p.setCollisionFilterPair(uid, room[boundary], -1, -1, 0, physicsClientId=cid)

    def _limit_speeds(self, uids: list[int]) -> list[tuple[float, float]]:
        """Clamp each body's linear and angular speed; return the (clamped) speeds."""
        cid = self._client
        speeds = []
        for uid in uids:
            lin, ang = p.getBaseVelocity(uid, physicsClientId=cid)
            v, w = math.hypot(*lin), math.hypot(*ang)
            if v > self.max_speed or w > self.max_angular_speed:
                lin_scale = min(1.0, self.max_speed / v) if v > 0.0 else 1.0
                ang_scale = min(1.0, self.max_angular_speed / w) if w > 0.0 else 1.0
                p.resetBaseVelocity(uid, [c * lin_scale for c in lin], [c * ang_scale for c in ang],
                                    physicsClientId=cid)
                v, w = v * lin_scale, w * ang_scale
            speeds.append((v, w))
        return speeds

    def _poses(self, uids: list[int]) -> list[tuple[tuple[float, ...], tuple[float, ...]]]:
        cid = self._client
        return [p.getBasePositionAndOrientation(uid, physicsClientId=cid) for uid in uids]

    def _at_rest(self, speeds, before, after) -> bool:
        """Whether every body is slow and also barely moved since the last check.

        The position test matters because the engine pushes overlapping bodies apart by moving
        them directly (split impulse), which shows up in no velocity.
        """
        span = self.check_every * self.timestep
        for (v, w), (pos0, orn0), (pos1, orn1) in zip(speeds, before, after):
            if v >= self.rest_speed or w >= self.rest_angular_speed:
                return False
            if math.dist(pos0, pos1) >= self.rest_speed * span:
                return False
            if _rotation_angle(orn0, orn1) >= self.rest_angular_speed * span:
                return False
        return True

    def _outcome(self, body: SettleBody, uid: int) -> SettledObject:
        box = body.box
        if body.fixed:
            return SettledObject(id=body.id, box=box, displacement=0.0, drop=0.0, rotation=0.0)
        pos, orn = p.getBasePositionAndOrientation(uid, physicsClientId=self._client)
        start = np.asarray(box.center, dtype=float)
        end = np.asarray(pos, dtype=float)
        return SettledObject(
            id=body.id,
            box=Box(size=tuple(box.size), center=tuple(float(c) for c in end),
                    z_angle=heading_from_quaternion(orn)),
            # not np.linalg.norm: its BLAS dot rounds by the CPU's kernel; rewards must not depend on the machine
            displacement=math.sqrt(sum(float(d) * float(d) for d in end - start)),
            drop=max(0.0, float(start[2] - end[2])),
            rotation=math.degrees(_rotation_angle(quaternion_from_heading(box.z_angle), orn)),
        )


def _rotation_angle(q0, q1) -> float:
    """Angle (radians) of the rotation taking unit quaternion ``q0`` to ``q1``."""
    cos_half = min(1.0, abs(sum(a * b for a, b in zip(q0, q1))))
    return 2.0 * math.acos(cos_half)
