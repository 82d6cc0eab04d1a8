"""``RoomLayoutEnv``: the multi-turn room-layout environment (DESIGN.md section 7).

This module only orchestrates: tasks come from :mod:`.tasks`, answers are read by
:mod:`.actions`, layouts are judged by :mod:`.scoring` (physics, rules, reward) and drawn by
:mod:`.render`. An episode is one room; each step is one answer, and the agent refines its
layout over ``max_turns`` turns.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from .actions import parse_action
from .config import from_mapping
from .geometry import Box
from .judge import JudgeConfig, shared_judge
from .physics import PhysicsWorld
from .prompting import MAX_TEXT_CHARS, feedback_text, task_prompt
from .render import RenderObject, RenderScene, make_renderer
from .reward import REWARD_MODES, RewardConfig, total_reward, turn_reward
from .scoring import Evaluation, evaluate_layout, initial_boxes
from .spaces import TEXT_CHARSET, LayoutActionSpace
from .schema import Task
from .tasks.splits import load_split, split_names

OBSERVATIONS = ("image", "text")


@dataclass(frozen=True)
class EnvConfig:
    """Construction arguments of :class:`RoomLayoutEnv`; all JSON-able, unknown keys are errors."""

    split: str = "train"
    """Bundled split the rooms are drawn from (``train``, ``test``, ``hard``)."""
    max_turns: int = 3
    """Answers per episode; the episode is truncated after the last."""
    observation: str = "image"
    """``image``: the observation has the rendered views and the text; ``text``: text only."""
    renderer: str = "raster"
    """Rendering backend for images (see :func:`metaspatial_env.render.make_renderer`)."""
    image_size: tuple[int, int] = (512, 1024)
    """(height, width) of the observation image: two views side by side, each height x width/2."""
    render_options: dict = field(default_factory=dict)
    """Options of the renderer (JSON-able), e.g. ``{"engine": "cycles", "samples": 16}`` for
    ``blender``; see :func:`metaspatial_env.render.make_renderer`. Unknown options are errors."""
    labels: bool = True
    """Draw object ids on the views, so a VLM can tie what it sees to the ids it writes."""
    reward_mode: str = "absolute"
    """Per-turn reward: ``absolute`` (the total), ``improvement`` (change in total) or ``final``."""
    terminate_on_success: bool = True
    """End the episode (``terminated``) as soon as a layout succeeds."""
    reward: dict = field(default_factory=dict)
    """Overrides of :class:`~metaspatial_env.reward.RewardConfig` fields."""
    judge: dict | None = None
    """VLM judge settings (:class:`~metaspatial_env.judge.JudgeConfig` fields, e.g. ``{"model": "gpt-4o"}``);
    None (the default) leaves the ``judge`` reward term off."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "image_size", tuple(int(v) for v in self.image_size))
        if self.split not in split_names():
            raise ValueError(f"unknown split {self.split!r}; known: {split_names()}")
        if not isinstance(self.max_turns, int) or self.max_turns < 1:
            raise ValueError(f"max_turns must be a positive int, got {self.max_turns!r}")
        if self.observation not in OBSERVATIONS:
            raise ValueError(f"observation must be one of {OBSERVATIONS}, got {self.observation!r}")
        if self.reward_mode not in REWARD_MODES:
            raise ValueError(f"reward_mode must be one of {REWARD_MODES}, got {self.reward_mode!r}")
        if len(self.image_size) != 2 or min(self.image_size) < 16 or self.image_size[1] % 2:
            raise ValueError(f"image_size must be (height, even width) of at least 16 px, got {self.image_size}")
        RewardConfig.from_dict(self.reward)
        if not isinstance(self.render_options, dict) or not all(isinstance(k, str) for k in self.render_options):
            raise ValueError(f"render_options must be a dict with string keys, got {self.render_options!r}")
        try:
            json.dumps(self.render_options)
        except (TypeError, ValueError):
            raise ValueError(f"render_options must be JSON-able, got {self.render_options!r}") from None
        if self.judge is not None:
            JudgeConfig.from_dict(self.judge)

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any]) -> EnvConfig:
        return from_mapping(cls, kwargs, "RoomLayoutEnv arguments")


class RoomLayoutEnv(gym.Env):
    """Lay out a room as JSON; physics settles it, a renderer draws it, a shaped reward scores it.

    Observation: ``Dict(image=Box(0, 255, (H, W, 3), uint8), text=Text)`` (``text`` only when
    ``observation="text"``): the task prompt on reset and the feedback after each step.
    Action: the layout text (:mod:`metaspatial_env.actions`). ``reset`` options: ``task_id`` (a
    room of the split), ``task`` (a task dict or :class:`Task`), ``split`` (draw from another split).
    The reset ``info`` carries the room's scene graph under ``task``.
    Pickling keeps only the construction arguments; the copy starts unreset.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 1}

    def __init__(self, render_mode: str | None = None, **config: Any):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.config = EnvConfig.from_kwargs(config)
        self.render_mode = render_mode
        self.reward_config = RewardConfig.from_dict(self.config.reward)
        text_space = spaces.Text(max_length=MAX_TEXT_CHARS, min_length=0, charset=TEXT_CHARSET)
        obs_spaces: dict[str, spaces.Space] = {"text": text_space}
        if self.config.observation == "image":
            height, width = self.config.image_size
            obs_spaces = {"image": spaces.Box(0, 255, (height, width, 3), np.uint8), **obs_spaces}
        self.observation_space = spaces.Dict(obs_spaces)
        self.action_space = LayoutActionSpace()
        self.timings: dict[str, float] = {}
        """Seconds spent in each phase of the last reset or step (for benchmarks, never in ``info``)."""

        self._world: PhysicsWorld | None = None
        self._renderer = None
        if self.config.observation == "image":  # built now so bad render options fail here; starts lazily
            self._renderer = self._make_renderer()
        self._render_restarted = False
        self._task: Task | None = None
        self._boxes: dict[str, Box] = {}
        self._placed: set[str] = set()
        self._turn = 0
        self._previous_total = 0.0
        self._image: np.ndarray | None = None
        self._scene: RenderScene | None = None
        self._done = True

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        if seed is not None:
            self.action_space.seed(int(self.np_random.integers(2**31 - 1)))
        clock = time.perf_counter()
        self._task = self._choose_task(options or {})
        self.action_space.task = self._task
        self._boxes = initial_boxes(self._task)
        self._placed = set()
        self._turn = 0
        self._previous_total = 0.0
        self._done = False
        self._scene = RenderScene(self._task.size, (), self._task.room_type)
        self._image = None
        self._render_restarted = False
        obs = self._observation(task_prompt(self._task))
        self.timings = {"reset": time.perf_counter() - clock}
        info = {"task_id": self._task.id, "turn": 0, "task": self._task.to_dict(),
                "render_restarted": self._render_restarted}
        return obs, info

    def step(self, action: Any):
        if self._task is None or self._done:
            raise RuntimeError("call reset() before step(): the episode has not started or has ended")
        task, timings = self._task, {}
        self._render_restarted = False
        clock = time.perf_counter()
        parse = parse_action(action, task.object_ids)
        for oid, p in parse.placements.items():
            z_angle = p.z_angle if p.z_angle is not None else self._boxes[oid].z_angle
            self._boxes[oid] = Box(task.object(oid).size, (p.x, p.y, p.z), z_angle)
            self._placed.add(oid)
        timings["parse"] = time.perf_counter() - clock

        evaluation = evaluate_layout(task, self._boxes, self._placed, parse, self._physics(),
                                     self.reward_config, timings)
        judged = self._judged(evaluation, timings) if self.config.judge is not None else None
        if judged is not None:
            evaluation = judged[0]
        self._turn += 1
        clock = time.perf_counter()
        terminated = bool(evaluation.success and self.config.terminate_on_success)
        truncated = bool(self._turn >= self.config.max_turns and not terminated)
        self._done = terminated or truncated
        reward = turn_reward(self.config.reward_mode, evaluation.total, self._previous_total, self._done)
        self._previous_total = evaluation.total
        info = self._info(evaluation, parse.error_codes)
        if judged is not None:
            info.update(judged[1])
        timings["reward"] = time.perf_counter() - clock

        clock = time.perf_counter()
        if judged is None:  # the judge already rendered this layout
            self._scene = self._render_scene(evaluation)
            self._image = None
        obs = self._observation(feedback_text(evaluation, task, self._turn, self.config.max_turns))
        info["render_restarted"] = self._render_restarted
        timings["render"] = time.perf_counter() - clock
        timings["step"] = sum(timings.values())
        self.timings = timings
        return obs, float(reward), terminated, truncated, info

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        return self._current_image().copy()

    def close(self):
        if self._world is not None:
            self._world.close()
            self._world = None
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def __reduce__(self):
        return (_rebuild, (self.render_mode, asdict(self.config)))

    # ------------------------------------------------------------------ properties for agents and benchmarks
    @property
    def task(self) -> Task | None:
        """The current room (None before the first reset)."""
        return self._task

    @property
    def turn(self) -> int:
        return self._turn

    # ------------------------------------------------------------------ internals
    def _choose_task(self, options: dict[str, Any]) -> Task:
        unknown = sorted(set(options) - {"task_id", "task", "split"})
        if unknown:
            raise ValueError(f"unknown reset options {unknown}; known: ['split', 'task', 'task_id']")
        if "task" in options:
            task = options["task"]
            return task if isinstance(task, Task) else Task.from_dict(task)
        split = options.get("split", self.config.split)
        tasks = load_split(split)
        if "task_id" in options:
            for task in tasks:
                if task.id == options["task_id"]:
                    return task
            raise ValueError(f"no task {options['task_id']!r} in split {split!r}")
        return tasks[int(self.np_random.integers(len(tasks)))]

    def _physics(self) -> PhysicsWorld:
        if self._world is None:
            self._world = PhysicsWorld()
        return self._world

    def _current_image(self) -> np.ndarray:
        if self._image is None:
            if self._renderer is None:
                self._renderer = self._make_renderer()
            self._image = self._renderer.render(self._scene)
            # a renderer that had to restart its worker (Blender) says so; the env reports it
            self._render_restarted = bool(getattr(self._renderer, "last_render_restarted", False))
        return self._image

    def _make_renderer(self):
        try:
            return make_renderer(self.config.renderer, self.config.image_size, labels=self.config.labels,
                                 **self.config.render_options)
        except TypeError as error:  # an option the renderer does not take
            raise ValueError(f"bad render_options for renderer {self.config.renderer!r}: {error}") from None

    def _observation(self, text: str) -> dict[str, Any]:
        if self.config.observation == "image":
            return {"image": self._current_image(), "text": text}
        return {"text": text}

    def _judged(self, evaluation: Evaluation, timings: dict[str, float]) -> tuple[Evaluation, dict[str, Any]]:
        """Render the settled layout and let the VLM judge grade it.

        Returns the evaluation with the ``judge`` term (and a new total) and the info to add:
        ``judge_grades`` when graded, else ``judge_error`` saying why the term is absent.
        """
        clock = time.perf_counter()
        self._scene = self._render_scene(evaluation)
        self._image = None
        image = self._current_image()
        grade = shared_judge(JudgeConfig.from_dict(self.config.judge)).grade(
            self._task, evaluation.settled_layout(), image)
        timings["judge"] = time.perf_counter() - clock
        if grade.score is None:
            return evaluation, {"judge_error": grade.error}
        terms = {**evaluation.terms, "judge": grade.score}
        return replace(evaluation, terms=terms, total=total_reward(terms, self.reward_config)), {
            "judge_grades": dict(grade.criteria)}

    def _render_scene(self, evaluation: Evaluation) -> RenderScene:
        task = self._task
        objects = tuple(
            RenderObject(o.id, o.category, evaluation.settle.objects[o.id].box, o.style, o.material)
            for o in task.objects
        )
        return RenderScene(task.size, objects, task.room_type)

    def _info(self, evaluation: Evaluation, parse_errors: Sequence[str]) -> dict[str, Any]:
        info: dict[str, Any] = {"task_id": self._task.id, "turn": self._turn}
        for name, value in evaluation.terms.items():
            info[f"reward_{name}"] = float(value)
        info["reward_total"] = float(evaluation.total)
        info["success"] = bool(evaluation.success)
        info["parse_errors"] = list(parse_errors)
        info["problems"] = [p.to_dict() for p in evaluation.problems]
        info["layout"] = evaluation.settled_layout()
        return info


def _rebuild(render_mode: str | None, config: dict[str, Any]) -> RoomLayoutEnv:
    return RoomLayoutEnv(render_mode=render_mode, **config)
