"""``MetaSpatialContinuous-v0``: the same rooms and the same reward, as vectors, for classic RL (RLlib).

The room and its scene graph are flattened into a fixed-size ``Box`` observation padded to
``max_objects`` slots with a mask, and the layout is a ``Box`` action in [-1, 1] with four numbers
per slot. The layout is scored by :func:`metaspatial_env.scoring.evaluate_layout` (static checks,
PyBullet settle, rules, reward terms), exactly as :class:`~metaspatial_env.env.RoomLayoutEnv`
scores a text answer, and the per-turn reward follows ``reward_mode`` the same way.

Action, per slot ``(x, y, angle, height)`` in [-1, 1] (padded slots are ignored):

- ``angle``: heading ``angle * 180`` degrees (compass, DESIGN.md section 3).
- ``x``, ``y``: -1 and 1 put the rotated footprint against the west/east (south/north) walls, so
  every answer is inside the room in plan; a room narrower than the footprint centres it.
- ``z`` is derived: floor objects rest at ``height / 2``; ceiling objects hang at the ceiling; an
  object ``on`` another object sits on that object's top; wall-mounted objects are pushed flush to
  their wall (the coordinate across the wall is derived) and ``height`` sets their centre between
  ``h / 2`` and ``Z - h / 2``, as it does for any other object off the floor.

Observation (float32, all in [-1, 1]): the room (``size / MAX_ROOM_SIZE``, the turn as a share of
``max_turns``), then per slot: mask; size relative to the room; on-floor flag; mount one-hot
(4 walls, ceiling); layout rules (6 elements x 2 prepositions); facing one-hot (slots, then 4 walls);
up to ``MAX_RULES`` object rules (target slot one-hot, preposition one-hot, adjacency); the current
settled pose (placed flag, x, y, z mapped to [-1, 1] over the room, sin and cos of the heading).
After the object slots, ``MAX_OPENINGS`` opening slots (the room's doors and windows, in the task's
order; later ones are left out): mask; door flag; wall one-hot (4); centre x, y mapped to [-1, 1]
over the room; width over the wall's length; sill and height over the room height; hinge (-1 at
the wall's start, 1 at its end, 0 for a window).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from .actions import ParseError, ParseResult, Placement
from .episode import EpisodeConfig, EpisodeEnv, positive_int
from .geometry import WALLS, Box
from .schema import LAYOUT_ELEMENTS, LAYOUT_PREPOSITIONS, OBJECT_PREPOSITIONS, Task, wall_length
from .tasks.splits import load_rooms

#: Object rules encoded per object; later ones are left out of the observation (rare: <1% of objects).
MAX_RULES = 2
#: Room edges (m) are divided by this in the observation.
MAX_ROOM_SIZE = 10.0
ACTION_DIMS = 4
#: Door and window slots of the observation (the bundled rooms have at most two doors and two windows).
MAX_OPENINGS = 4
OPENING_FEATURES = 1 + 1 + len(WALLS) + 2 + 3 + 1
MOUNTS = (*WALLS, "ceiling")


@dataclass(frozen=True)
class ContinuousConfig(EpisodeConfig):
    """Construction arguments of :class:`ContinuousLayoutEnv`; JSON-able, unknown keys are errors.

    ``split``, ``max_turns``, ``terminate_on_success`` and ``reward`` are the episode's
    (:class:`~metaspatial_env.episode.EpisodeConfig`)."""

    owner: ClassVar[str] = "ContinuousLayoutEnv"
    reward_mode: str = "improvement"
    """``improvement`` (an episode's return is its last total), ``absolute`` or ``final``."""
    max_objects: int = 20
    """Object slots of the observation and action; only rooms with at most this many objects are
    drawn (easy rooms: 5)."""
    min_objects: int = 1
    """Only rooms with at least this many objects are drawn."""
    rooms: int = 0
    """Draw only the first ``rooms`` rooms of the split that pass the object-count filter (in split
    order); 0 draws all of them. A small fixed pool makes a task that a classic agent can learn in
    minutes on a CPU (it can remember a layout per room); ``reset(options={"task_id": ...})`` still
    reaches any room of the split."""
    observation: str = "vector"
    """Always ``vector``; named so that tools reading ``observation`` from an env's kwargs see no image."""

    def __post_init__(self) -> None:
        super().__post_init__()
        positive_int("max_objects", self.max_objects)
        positive_int("min_objects", self.min_objects)
        if not isinstance(self.rooms, int) or isinstance(self.rooms, bool) or self.rooms < 0:
            raise ValueError(f"rooms must be an int >= 0 (0: all rooms), got {self.rooms!r}")
        if self.min_objects > self.max_objects:
            raise ValueError(f"min_objects ({self.min_objects}) is above max_objects ({self.max_objects})")
        if self.observation != "vector":
            raise ValueError(f"observation must be 'vector' for the continuous env, got {self.observation!r}")


def object_features(max_objects: int) -> int:
    """Length of one slot's features in the observation."""
    return (1 + 3 + 1 + len(MOUNTS) + len(LAYOUT_ELEMENTS) * len(LAYOUT_PREPOSITIONS) + max_objects + len(WALLS)
            + MAX_RULES * (max_objects + len(OBJECT_PREPOSITIONS) + 1) + 6)


def observation_size(max_objects: int) -> int:
    """Length of the observation: the room, the object slots, the opening slots."""
    return 4 + max_objects * object_features(max_objects) + MAX_OPENINGS * OPENING_FEATURES


class ContinuousLayoutEnv(EpisodeEnv):
    """Room layout with a vector observation and a ``Box`` action, scored by the shared reward.

    ``reset`` options, as for every face: ``task_id`` (a room of the split), ``task`` (a dict or
    :class:`Task`) or ``split`` (draw from another split, with the same object-count filter and
    ``rooms`` pool). ``info`` holds what every face's does (``task_id``, ``turn``, every
    ``reward_<term>``, ``reward_total``, ``success``, ``parse_errors``, ``problems``, ``layout``).
    Pickling keeps only the construction arguments.
    """

    metadata = {"render_modes": []}
    config_class = ContinuousConfig

    def __init__(self, render_mode: str | None = None, **config: Any):
        if render_mode is not None:
            raise ValueError(f"the continuous env renders nothing; render_mode must be None, got {render_mode!r}")
        super().__init__(None, **config)
        cfg = self.config
        self._pools: dict[str, tuple[Task, ...]] = {}
        self.tasks = self._pool(cfg.split)
        size = observation_size(cfg.max_objects)
        self.observation_space = spaces.Box(-1.0, 1.0, (size,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (cfg.max_objects * ACTION_DIMS,), np.float32)

    def _pool(self, split: str) -> tuple[Task, ...]:
        """The split's rooms with ``min_objects``..``max_objects`` objects, the first ``rooms`` of
        them (filtered once per split, not on every reset)."""
        if split not in self._pools:
            cfg = self.config
            tasks = load_rooms(split, cfg.min_objects, cfg.max_objects)
            if cfg.rooms > len(tasks):
                raise ValueError(f"rooms={cfg.rooms} but split {split!r} has only {len(tasks)} rooms with "
                                 f"{cfg.min_objects}..{cfg.max_objects} objects")
            self._pools[split] = tasks[:cfg.rooms] if cfg.rooms else tasks
        return self._pools[split]

    def _check_task(self, task: Task) -> None:
        if len(task.objects) > self.config.max_objects:
            raise ValueError(f"task {task.id!r} has {len(task.objects)} objects; "
                             f"this env has {self.config.max_objects} slots")

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        episode = self._start_episode(seed, options)
        return self._observation(), episode.reset_info()

    def step(self, action):
        episode = self._running_episode()
        action = np.asarray(action, dtype=np.float64)
        if action.shape != self.action_space.shape:
            raise ValueError(f"action must have shape {self.action_space.shape}, got {action.shape}")
        timings: dict[str, float] = {}
        parse, non_finite = decode_placements(episode.task, action)
        episode.place(parse.placements, unplace=non_finite)
        evaluation = episode.evaluate(parse, self._physics(), timings)
        reward, terminated, truncated = episode.end_turn(evaluation)
        info = episode.step_info(evaluation, parse.error_codes)
        self.timings = timings
        return self._observation(), reward, terminated, truncated, info

    def _observation(self) -> np.ndarray:
        episode = self._episode
        return encode_observation(episode.task, episode.settled_boxes(), episode.placed,
                                  episode.turn / self.config.max_turns, self.config.max_objects)


def decode_placements(task: Task, action: np.ndarray) -> tuple[ParseResult, set[str]]:
    """The placements an action gives, as a parse result, and the objects whose entries are not
    finite: those earn nothing (a ``bad_number`` error; the object keeps its previous pose, unplaced)."""
    entries = [action[i * ACTION_DIMS:(i + 1) * ACTION_DIMS] for i in range(len(task.objects))]
    non_finite = {obj.id for obj, entry in zip(task.objects, entries) if not np.all(np.isfinite(entry))}
    boxes = decode_action(task, np.nan_to_num(action, nan=0.0, posinf=1.0, neginf=-1.0))
    placements = {oid: Placement(*box.center, box.z_angle) for oid, box in boxes.items() if oid not in non_finite}
    errors = tuple(ParseError("bad_number", oid, "non-finite action entries") for oid in sorted(non_finite))
    return ParseResult(placements, errors, {"bad_number": len(errors)} if errors else {}), non_finite


def _to_unit(value: float, lo: float, hi: float) -> float:
    """``value`` in [lo, hi] mapped to [-1, 1] (clipped)."""
    return float(np.clip(2.0 * (value - lo) / (hi - lo) - 1.0, -1.0, 1.0)) if hi > lo else 0.0


def _from_unit(a: float, lo: float, hi: float) -> float:
    """``a`` in [-1, 1] mapped to [lo, hi]; the middle when the range is empty."""
    return lo + (float(np.clip(a, -1.0, 1.0)) + 1.0) / 2.0 * (hi - lo) if hi > lo else (lo + hi) / 2.0


def _plan_half_extents(obj_size, z_angle: float) -> tuple[float, float]:
    hi = Box(obj_size, (0.0, 0.0, 0.0), z_angle).aabb()[1]
    return float(hi[0]), float(hi[1])


def decode_action(task: Task, action: np.ndarray) -> dict[str, Box]:
    """The boxes an action puts the task's objects at (see the module docstring)."""
    X, Y, Z = task.size
    raw = {o.id: action[i * ACTION_DIMS:(i + 1) * ACTION_DIMS] for i, o in enumerate(task.objects)}
    plan: dict[str, tuple[float, float, float]] = {}
    for obj in task.objects:
        ax, ay, aangle, _ = raw[obj.id]
        z_angle = float(np.clip(aangle, -1.0, 1.0)) * 180.0 % 360.0
        hx, hy = _plan_half_extents(obj.size, z_angle)
        x, y = _from_unit(ax, hx, X - hx), _from_unit(ay, hy, Y - hy)
        mount = obj.mount
        if mount == "west_wall":
            x = hx
        elif mount == "east_wall":
            x = X - hx
        elif mount == "south_wall":
            y = hy
        elif mount == "north_wall":
            y = Y - hy
        plan[obj.id] = (x, y, z_angle)

    heights: dict[str, float] = {}

    def centre_z(obj, visiting: frozenset[str] = frozenset()) -> float:
        if obj.id in heights:
            return heights[obj.id]
        h = obj.size[2]
        support = next((r.target for r in obj.object_rules if r.preposition == "on"), None)
        if obj.on_floor:
            z = h / 2.0
        elif obj.mount == "ceiling":
            z = Z - h / 2.0
        elif support is not None and support not in visiting and support in raw:
            host = task.object(support)
            z = centre_z(host, visiting | {obj.id}) + host.size[2] / 2.0 + h / 2.0
        else:
            z = _from_unit(raw[obj.id][3], h / 2.0, Z - h / 2.0)
        heights[obj.id] = z
        return z

    return {o.id: Box(o.size, (plan[o.id][0], plan[o.id][1], centre_z(o)), plan[o.id][2]) for o in task.objects}


def encode_action(task: Task, layout: dict[str, dict[str, float]], max_objects: int) -> np.ndarray:
    """The action that :func:`decode_action` turns into ``layout`` (poses as in ``info["layout"]``),
    up to the derived parts (z, and the coordinate across a mounting wall)."""
    X, Y, Z = task.size
    action = np.zeros(max_objects * ACTION_DIMS, dtype=np.float32)
    for i, obj in enumerate(task.objects):
        pose = layout[obj.id]
        z_angle = float(pose.get("z_angle", obj.z_angle)) % 360.0
        hx, hy = _plan_half_extents(obj.size, z_angle)
        h = obj.size[2]
        angle = ((z_angle + 180.0) % 360.0 - 180.0) / 180.0
        action[i * ACTION_DIMS:(i + 1) * ACTION_DIMS] = (
            _to_unit(pose["x"], hx, X - hx), _to_unit(pose["y"], hy, Y - hy), angle, _to_unit(pose["z"], h / 2.0, Z - h / 2.0))
    return action


def encode_observation(task: Task, boxes: dict[str, Box], placed: set[str], turn_share: float,
                       max_objects: int) -> np.ndarray:
    """The flat observation vector (see the module docstring)."""
    X, Y, Z = task.size
    slot = {o.id: i for i, o in enumerate(task.objects)}
    width = object_features(max_objects)
    out = np.zeros(observation_size(max_objects), dtype=np.float32)
    out[:4] = (min(X / MAX_ROOM_SIZE, 1.0), min(Y / MAX_ROOM_SIZE, 1.0), min(Z / MAX_ROOM_SIZE, 1.0), turn_share)
    for i, obj in enumerate(task.objects):
        f = np.zeros(width, dtype=np.float32)
        f[0] = 1.0
        f[1:4] = (min(obj.size[0] / X, 1.0), min(obj.size[1] / Y, 1.0), min(obj.size[2] / Z, 1.0))
        f[4] = float(obj.on_floor)
        k = 5
        if obj.mount is not None:
            f[k + MOUNTS.index(obj.mount)] = 1.0
        k += len(MOUNTS)
        for rule in obj.layout_rules:
            f[k + LAYOUT_ELEMENTS.index(rule.element) * len(LAYOUT_PREPOSITIONS)
              + LAYOUT_PREPOSITIONS.index(rule.preposition)] = 1.0
        k += len(LAYOUT_ELEMENTS) * len(LAYOUT_PREPOSITIONS)
        if obj.facing in slot:
            f[k + slot[obj.facing]] = 1.0
        elif obj.facing in WALLS:
            f[k + max_objects + WALLS.index(obj.facing)] = 1.0
        k += max_objects + len(WALLS)
        for j, rule in enumerate(obj.object_rules[:MAX_RULES]):
            base = k + j * (max_objects + len(OBJECT_PREPOSITIONS) + 1)
            if rule.target in slot:
                f[base + slot[rule.target]] = 1.0
            f[base + max_objects + OBJECT_PREPOSITIONS.index(rule.preposition)] = 1.0
            f[base + max_objects + len(OBJECT_PREPOSITIONS)] = float(rule.is_adjacent)
        k += MAX_RULES * (max_objects + len(OBJECT_PREPOSITIONS) + 1)
        box = boxes[obj.id]
        a = math.radians(box.z_angle)
        f[k:k + 6] = (float(obj.id in placed), _to_unit(box.center[0], 0.0, X), _to_unit(box.center[1], 0.0, Y),
                      _to_unit(box.center[2], 0.0, Z), math.sin(a), math.cos(a))
        start = 4 + i * width
        out[start:start + width] = f
    start = 4 + max_objects * width
    for i, opening in enumerate(task.openings[:MAX_OPENINGS]):
        cx, cy = opening.centre(task.size)
        hinge = 0.0 if opening.hinge is None else (-1.0 if opening.hinge == "start" else 1.0)
        g = np.zeros(OPENING_FEATURES, dtype=np.float32)
        g[0], g[1] = 1.0, float(opening.kind == "door")
        g[2 + WALLS.index(opening.wall)] = 1.0
        g[6:] = (_to_unit(cx, 0.0, X), _to_unit(cy, 0.0, Y), min(opening.width / wall_length(opening.wall, task.size), 1.0),
                 min(opening.sill / Z, 1.0), min(opening.height / Z, 1.0), hinge)
        out[start + i * OPENING_FEATURES:start + (i + 1) * OPENING_FEATURES] = g
    return out
