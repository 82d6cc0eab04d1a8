"""The episode core under every face of the environment (DESIGN.md sections 6 and 7).

An episode is one room. Both env classes, :class:`~metaspatial_env.env.RoomLayoutEnv` (text in;
prompt, feedback and image out) and :class:`~metaspatial_env.continuous.ContinuousLayoutEnv`
(vectors in and out), run the same episode and differ only in how an answer becomes placements
and how the state becomes an observation:

- :class:`EpisodeConfig`: the construction arguments every face shares (split, turns, reward
  mode, early end, reward weights), validated once;
- :func:`choose_task`: the room from ``reset`` options (``task``, ``task_id``, ``split``), the same
  options for every face, and where its layout starts (the ``start`` option or argument,
  :mod:`.starts`: the empty stack or a layout to repair, scored at reset);
- :class:`Episode`: the poses so far, placing an answer, scoring it (:func:`evaluate_layout`),
  turn counting, ``terminated``/``truncated``, the per-turn reward by ``reward_mode`` and the
  ``info`` every face returns;
- :class:`EpisodeEnv`: the ``gym.Env`` base of both faces (config, reset, physics, close, pickling).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from .actions import ParseResult, Placement
from .config import from_mapping, to_mapping
from .geometry import Box
from .physics import PhysicsWorld
from .reward import REWARD_MODES, RewardConfig, turn_reward
from .schema import Task
from .scoring import Evaluation, evaluate_layout
from .starts import Start, StartSpec, make_start
from .tasks.splits import load_split, split_names

#: Options ``reset`` takes, on every face.
RESET_OPTIONS = ("split", "start", "task", "task_id")


def positive_int(name: str, value: Any) -> None:
    """Reject anything but an int >= 1 (a bool is not a count)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


@dataclass(frozen=True)
class EpisodeConfig:
    """Construction arguments shared by every face of the env; JSON-able, unknown keys are errors."""

    owner: ClassVar[str] = "the env"
    """Who takes these arguments, for error messages (``unknown RoomLayoutEnv arguments ...``)."""
    split: str = "train"
    """Bundled split the rooms are drawn from (``train``, ``test``, ``hard``)."""
    max_turns: int = 3
    """Answers per episode; the episode is truncated after the last."""
    reward_mode: str = "absolute"
    """Per-turn reward: ``absolute`` (the total), ``improvement`` (change in total) or ``final``."""
    terminate_on_success: bool = True
    """End the episode (``terminated``) as soon as a layout succeeds."""
    reward: RewardConfig = field(default_factory=RewardConfig)
    """Weights and thresholds of the reward (given as a mapping of
    :class:`~metaspatial_env.reward.RewardConfig` fields)."""
    start: StartSpec = field(default_factory=StartSpec)
    """Where episodes start: the empty stack, or a layout to repair (a mapping of
    :class:`~metaspatial_env.starts.StartSpec` fields, or a kind's name); the ``start`` reset
    option replaces it for one episode."""

    def __post_init__(self) -> None:
        if self.split not in split_names():
            raise ValueError(f"unknown split {self.split!r}; known: {split_names()}")
        positive_int("max_turns", self.max_turns)
        if self.reward_mode not in REWARD_MODES:
            raise ValueError(f"reward_mode must be one of {REWARD_MODES}, got {self.reward_mode!r}")
        if not isinstance(self.reward, RewardConfig):
            raise ValueError(f"reward must be a mapping of RewardConfig fields, got {self.reward!r}")
        if not isinstance(self.start, StartSpec):
            raise ValueError(f"start must be a mapping of StartSpec fields or a start kind, got {self.start!r}")

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> EpisodeConfig:
        """Build from an env's keyword arguments (nested sections too); unknown keys are errors."""
        return from_mapping(cls, kwargs, f"{cls.owner} arguments")


def choose_task(options: Mapping[str, Any], split: str, pool: Callable[[str], Sequence[Task]],
                np_random: np.random.Generator) -> Task:
    """The room a ``reset`` asks for.

    ``task``: that room (a dict or :class:`Task`); ``task_id``: the room of that id in the split
    (any room of the whole split, also one the face's pool leaves out); otherwise a room drawn from
    ``pool(split)`` with ``np_random``. ``split`` (an option) replaces the configured split for
    this reset. Unknown options are errors.
    """
    unknown = sorted(set(options) - set(RESET_OPTIONS))
    if unknown:
        raise ValueError(f"unknown reset options {unknown}; known: {list(RESET_OPTIONS)}")
    if "task" in options:
        task = options["task"]
        return task if isinstance(task, Task) else Task.from_dict(task)
    split = options.get("split", split)
    if "task_id" in options:
        for task in load_split(split):
            if task.id == options["task_id"]:
                return task
        raise ValueError(f"no task {options['task_id']!r} in split {split!r}")
    tasks = pool(split)
    if not tasks:
        raise ValueError(f"split {split!r} has no room this env can draw")
    return tasks[int(np_random.integers(len(tasks)))]


class Episode:
    """One room from ``reset`` to its last turn.

    ``boxes`` holds every object's current pose: where the answers put it, or stacked at the
    room's centre until one does (DESIGN.md section 6); an object an answer leaves out keeps its
    previous pose. ``placed`` are the objects validly placed so far.
    """

    def __init__(self, task: Task, config: EpisodeConfig, start: Start | None = None):
        self.task = task
        self.config = config
        start = make_start(task, StartSpec(), np.random.default_rng(0)) if start is None else start
        self.start = start
        """Where the episode started: its kind, poses and the objects they count as placed."""
        self.boxes: dict[str, Box] = dict(start.boxes)
        self.placed: set[str] = set(start.placed)
        self.turn = 0
        self.previous_total = 0.0
        self.done = False
        self.evaluation: Evaluation | None = None
        """The last turn's evaluation (None before the first step)."""

    def place(self, placements: Mapping[str, Placement], unplace: Iterable[str] = ()) -> None:
        """Move the answered objects (an answer without ``z_angle`` keeps the heading) and mark
        ``unplace`` as not validly placed any more."""
        for oid, p in placements.items():
            z_angle = p.z_angle if p.z_angle is not None else self.boxes[oid].z_angle
            self.boxes[oid] = Box(self.task.object(oid).size, (p.x, p.y, p.z), z_angle)
            self.placed.add(oid)
        self.placed.difference_update(unplace)

    def evaluate(self, parse: ParseResult, world: PhysicsWorld, timings: dict[str, float]) -> Evaluation:
        """Static checks, settle, rules and reward terms of the current poses."""
        return evaluate_layout(self.task, self.boxes, self.placed, parse, world, self.config.reward, timings)

    def evaluate_start(self, world: PhysicsWorld, timings: dict[str, float]) -> Evaluation | None:
        """Score a repair episode's starting layout as if answered (None for the empty stack).

        It becomes the last evaluation, so the first observation shows it settled, and its total is
        the one ``improvement`` pays the first turn's change from."""
        if self.start.empty:
            return None
        placements = {oid: Placement(*self.boxes[oid].center, self.boxes[oid].z_angle) for oid in self.placed}
        evaluation = self.evaluate(ParseResult(placements), world, timings)
        self.evaluation = evaluation
        self.previous_total = evaluation.total
        return evaluation

    def end_turn(self, evaluation: Evaluation) -> tuple[float, bool, bool]:
        """Count the turn; return ``(reward, terminated, truncated)`` (never both for one cause)."""
        self.turn += 1
        terminated = bool(evaluation.success and self.config.terminate_on_success)
        truncated = bool(self.turn >= self.config.max_turns and not terminated)
        self.done = terminated or truncated
        reward = turn_reward(self.config.reward_mode, evaluation.total, self.previous_total, self.done)
        self.previous_total = evaluation.total
        self.evaluation = evaluation
        return float(reward), terminated, truncated

    def settled_boxes(self) -> dict[str, Box]:
        """Every object where the last settle left it (the current poses before the first step)."""
        if self.evaluation is None:
            return dict(self.boxes)
        return {oid: s.box for oid, s in self.evaluation.settle.objects.items()}

    def reset_info(self) -> dict[str, Any]:
        """``task_id`` and ``turn`` 0; in a repair episode also ``start``: its kind, and the
        starting layout's terms, total, success, problems and settled layout as a step reports them."""
        info: dict[str, Any] = {"task_id": self.task.id, "turn": 0}
        if self.evaluation is not None:
            start = self.step_info(self.evaluation, [])
            for key in ("task_id", "turn", "parse_errors"):
                start.pop(key)
            info["start"] = {"kind": self.start.kind, **start}
        return info

    def step_info(self, evaluation: Evaluation, parse_errors: Sequence[str]) -> dict[str, Any]:
        """The ``info`` of a step: ids, every ``reward_<term>``, success, problems, settled layout."""
        info: dict[str, Any] = {"task_id": self.task.id, "turn": self.turn}
        for name, value in evaluation.terms.items():
            info[f"reward_{name}"] = float(value)
        info["reward_total"] = float(evaluation.total)
        info["success"] = bool(evaluation.success)
        info["parse_errors"] = list(parse_errors)
        info["problems"] = [p.to_dict() for p in evaluation.problems]
        info["layout"] = evaluation.settled_layout()
        if evaluation.function is not None:
            info["function"] = evaluation.function.metrics
        return info


class EpisodeEnv(gym.Env):
    """What every face of the env shares: config parsing, ``reset`` bookkeeping, the PyBullet
    world (made on first use and kept for the env's life), ``close`` and pickling by construction
    arguments (a copy starts unreset). A face sets ``config_class`` and implements the translation:
    its spaces, ``_pool`` (the rooms a random reset draws from) and ``step``."""

    config_class: type[EpisodeConfig] = EpisodeConfig

    def __init__(self, render_mode: str | None = None, **config: Any):
        self.config = self.config_class.from_kwargs(config)
        self.render_mode = render_mode
        self.timings: dict[str, float] = {}
        """Seconds spent in each phase of the last reset or step (for benchmarks, never in ``info``)."""
        self._episode: Episode | None = None
        self._world: PhysicsWorld | None = None

    @property
    def reward_config(self) -> RewardConfig:
        return self.config.reward

    @property
    def task(self) -> Task | None:
        """The current room (None before the first reset)."""
        return None if self._episode is None else self._episode.task

    @property
    def turn(self) -> int:
        return 0 if self._episode is None else self._episode.turn

    def _pool(self, split: str) -> Sequence[Task]:
        return load_split(split)

    def _check_task(self, task: Task) -> None:
        """Reject a room this face cannot encode (raise ``ValueError``)."""

    def _seed_spaces(self, seed: int) -> None:
        """Seed the face's spaces from ``np_random`` (called on a seeded reset, before the room is drawn)."""

    def _start_episode(self, seed: int | None, options: Mapping[str, Any] | None) -> Episode:
        super().reset(seed=seed)
        if seed is not None:
            self._seed_spaces(seed)
        options = options or {}
        task = choose_task(options, self.config.split, self._pool, self.np_random)
        self._check_task(task)
        spec = StartSpec.from_dict(options["start"]) if "start" in options else self.config.start
        episode = Episode(task, self.config, make_start(task, spec, self._start_rng()))
        self._episode = episode
        self._reset_timings: dict[str, float] = {}
        episode.evaluate_start(self._physics(), self._reset_timings)
        return episode

    def _start_rng(self) -> np.random.Generator:
        """The generator a generated start draws from: a child of ``np_random``'s seed sequence, so
        it does not depend on what a face drew before (both faces start a room alike for one
        seed), while unseeded resets still get a fresh start each time."""
        return np.random.default_rng(self.np_random.bit_generator.seed_seq.spawn(1)[0])

    def _running_episode(self) -> Episode:
        if self._episode is None or self._episode.done:
            raise RuntimeError("call reset() before step(): the episode has not started or has ended")
        return self._episode

    def _physics(self) -> PhysicsWorld:
        if self._world is None:
            self._world = PhysicsWorld()
        return self._world

    def export_scene(self, path):
        """Write the current room as a glTF binary (``.glb``); return its path.

        The objects stand where the last step's settle left them, and the scene's extras carry
        that step's reward terms, ``success`` and turn (:mod:`metaspatial_env.export`). Before
        the first step it is the empty room. Needs the ``export`` extra (``trimesh``).
        """
        if self._episode is None:
            raise RuntimeError("call reset() before export_scene(): there is no room yet")
        from .export import export_scene

        episode = self._episode
        evaluation = episode.evaluation
        if evaluation is None:
            return export_scene(path, episode.task, {}, turn=0)
        return export_scene(path, episode.task, episode.settled_boxes(),
                            reward_terms={**evaluation.terms, "total": evaluation.total},
                            success=evaluation.success, turn=episode.turn)

    def close(self):
        if self._world is not None:
            self._world.close()
            self._world = None

    def __reduce__(self):
        return (_rebuild, (type(self), self.render_mode, to_mapping(self.config)))


def _rebuild(cls: type[EpisodeEnv], render_mode: str | None, config: dict[str, Any]) -> EpisodeEnv:
    return cls(render_mode=render_mode, **config)
