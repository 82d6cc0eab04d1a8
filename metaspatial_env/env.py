"""``RoomLayoutEnv``: the text/image face of the multi-turn room-layout episode (DESIGN.md section 7).

The episode itself (rooms from reset options, placing answers, scoring, turns, reward, ``info``)
is :mod:`.episode`'s, shared with the vector face (:mod:`.continuous`). This class only translates:
an answer's text is read by :mod:`.actions`, and the state goes out as the task prompt or the
feedback text (:mod:`.prompting`) with the views drawn by :mod:`.render`; the optional VLM judge
(:mod:`.judge`) grades the drawn views.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from .actions import parse_action
from .episode import EpisodeConfig, EpisodeEnv
from .judge import JudgeConfig, shared_judge
from .prompting import MAX_TEXT_CHARS, feedback_text, start_text, task_prompt
from .render import RenderObject, RenderScene, make_renderer
from .reward import total_reward
from .scoring import Evaluation
from .spaces import TEXT_CHARSET, LayoutActionSpace

OBSERVATIONS = ("image", "text")
#: What a step's text says (``EnvConfig.feedback``).
FEEDBACK = ("full", "score")
#: Empty-room renders kept per process (the reset observation): every env of a process (or Ray
#: actor) with the same renderer settings reuses them, so an episode of a room seen before costs
#: its turns' renders only. A render is deterministic in its key (see ``_empty_room_key``).
EMPTY_ROOM_CACHE_SIZE = 256
_EMPTY_ROOMS: OrderedDict[tuple, np.ndarray] = OrderedDict()
_EMPTY_ROOMS_LOCK = threading.Lock()  # envs of one process may step in threads
#: Largest observation image side in pixels: 20000 x 20000 ran 100 s into a MemoryError; a VLM's
#: processor resizes far below this anyway.
MAX_IMAGE_SIDE = 4096


@dataclass(frozen=True)
class EnvConfig(EpisodeConfig):
    """Construction arguments of :class:`RoomLayoutEnv`; all JSON-able, unknown keys are errors.

    ``split``, ``max_turns``, ``reward_mode``, ``terminate_on_success`` and ``reward`` are the
    episode's (:class:`~metaspatial_env.episode.EpisodeConfig`)."""

    owner: ClassVar[str] = "RoomLayoutEnv"

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
    feedback: str = "full"
    """What each step's text says: ``full``, the score line and the problems object by object;
    ``score``, the score line only. ``score`` measures what a policy takes from the problem lines
    (the same policy with and without them), and makes a probe where the settled layout is only in
    the render. The ``info`` dict (problems, settled layout) is the same either way."""
    judge: JudgeConfig | None = None
    """VLM judge settings (a mapping of :class:`~metaspatial_env.judge.JudgeConfig` fields, e.g.
    ``{"model": "gpt-4o"}``); None (the default) leaves the ``judge`` reward term off."""

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "image_size", tuple(int(v) for v in self.image_size))
        if self.observation not in OBSERVATIONS:
            raise ValueError(f"observation must be one of {OBSERVATIONS}, got {self.observation!r}")
        if self.feedback not in FEEDBACK:
            raise ValueError(f"feedback must be one of {FEEDBACK}, got {self.feedback!r}")
        if len(self.image_size) != 2 or min(self.image_size) < 16 or self.image_size[1] % 2:
            raise ValueError(f"image_size must be (height, even width) of at least 16 px, got {self.image_size}")
        if max(self.image_size) > MAX_IMAGE_SIDE:
            raise ValueError(f"image_size must be at most {MAX_IMAGE_SIDE} px a side, got {self.image_size}")
        if not isinstance(self.render_options, dict) or not all(isinstance(k, str) for k in self.render_options):
            raise ValueError(f"render_options must be a dict with string keys, got {self.render_options!r}")
        try:
            json.dumps(self.render_options)
        except (TypeError, ValueError):
            raise ValueError(f"render_options must be JSON-able, got {self.render_options!r}") from None
        if self.judge is not None and not isinstance(self.judge, JudgeConfig):
            raise ValueError(f"judge must be a mapping of JudgeConfig fields or None, got {self.judge!r}")


class RoomLayoutEnv(EpisodeEnv):
    """Lay out a room as JSON; physics settles it, a renderer draws it, a shaped reward scores it.

    Observation: ``Dict(image=Box(0, 255, (H, W, 3), uint8), text=Text)`` (``text`` only when
    ``observation="text"``): the task prompt on reset and the feedback after each step.
    Action: the layout text (:mod:`metaspatial_env.actions`). ``reset`` options: ``task_id`` (a
    room of the split), ``task`` (a task dict or :class:`Task`), ``split`` (draw from another split),
    ``start`` (a layout to repair, :mod:`metaspatial_env.starts`: its render is the first image and
    the prompt ends with its poses, score and problems).
    The reset ``info`` carries the room's scene graph under ``task`` (and the start under ``start``).
    Pickling keeps only the construction arguments; the copy starts unreset.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 1}
    config_class = EnvConfig

    def __init__(self, render_mode: str | None = None, **config: Any):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        super().__init__(render_mode, **config)
        text_space = spaces.Text(max_length=MAX_TEXT_CHARS, min_length=0, charset=TEXT_CHARSET)
        obs_spaces: dict[str, spaces.Space] = {"text": text_space}
        if self.config.observation == "image":
            height, width = self.config.image_size
            obs_spaces = {"image": spaces.Box(0, 255, (height, width, 3), np.uint8), **obs_spaces}
        self.observation_space = spaces.Dict(obs_spaces)
        self.action_space = LayoutActionSpace()
        self._renderer = None
        if self.config.observation == "image":  # built now so bad render options fail here; starts lazily
            self._renderer = self._make_renderer()
        self._render_restarted = False
        self._image: np.ndarray | None = None
        self._scene: RenderScene | None = None

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        clock = time.perf_counter()
        episode = self._start_episode(seed, options)
        self.action_space.task = episode.task
        self._image = None
        self._render_restarted = False
        start = episode.evaluation  # a repair episode's scored starting layout, else None
        if start is None:
            self._scene = RenderScene(episode.task.size, (), episode.task.room_type)
            obs = self._observation(task_prompt(episode.task))
        else:
            self._scene = self._render_scene(start)
            obs = self._observation(task_prompt(episode.task, start_text(start, episode.task, episode.placed)))
        self.timings = {**self._reset_timings, "reset": time.perf_counter() - clock}
        # meshes are left out of the scene graph handed to the agent: info holds nothing path-like
        info = {**episode.reset_info(), "task": episode.task.to_dict(meshes=False),
                "render_restarted": self._render_restarted}
        return obs, info

    def _seed_spaces(self, seed: int) -> None:
        self.action_space.seed(int(self.np_random.integers(2**31 - 1)))

    def step(self, action: Any):
        episode = self._running_episode()
        timings: dict[str, float] = {}
        self._render_restarted = False
        self._asset_fallbacks: dict[str, str] = {}
        clock = time.perf_counter()
        parse = parse_action(action, episode.task.object_ids)
        episode.place(parse.placements)
        timings["parse"] = time.perf_counter() - clock

        evaluation = episode.evaluate(parse, self._physics(), timings)
        judged = self._judged(evaluation, timings) if self.config.judge is not None else None
        if judged is not None:
            evaluation = judged[0]
        clock = time.perf_counter()
        reward, terminated, truncated = episode.end_turn(evaluation)
        info = episode.step_info(evaluation, parse.error_codes)
        if judged is not None:
            info.update(judged[1])
        timings["reward"] = time.perf_counter() - clock

        clock = time.perf_counter()
        if judged is None:  # the judge already rendered this layout
            self._scene = self._render_scene(evaluation)
            self._image = None
        obs = self._observation(feedback_text(evaluation, episode.task, episode.turn, self.config.max_turns,
                                              problems=self.config.feedback == "full"))
        info["render_restarted"] = self._render_restarted
        if self._asset_fallbacks:  # objects whose mesh could not be drawn (Blender): id -> why
            info["asset_fallbacks"] = dict(self._asset_fallbacks)
        timings["render"] = time.perf_counter() - clock
        timings["step"] = sum(timings.values())
        self.timings = timings
        return obs, reward, terminated, truncated, info

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        return self._current_image().copy()

    def close(self):
        super().close()
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    # ------------------------------------------------------------------ rendering and judging
    def _current_image(self) -> np.ndarray:
        if self._image is None:
            key = self._empty_room_key() if not self._scene.objects else None
            with _EMPTY_ROOMS_LOCK:
                cached = _EMPTY_ROOMS.get(key) if key is not None else None
                if cached is not None:
                    _EMPTY_ROOMS.move_to_end(key)
                    self._image = cached.copy()
            if self._image is not None:
                return self._image
            if self._renderer is None:
                self._renderer = self._make_renderer()
            self._image = self._renderer.render(self._scene)
            # a renderer that had to restart its worker (Blender) says so; the env reports it
            self._render_restarted = bool(getattr(self._renderer, "last_render_restarted", False))
            self._asset_fallbacks = dict(getattr(self._renderer, "last_asset_fallbacks", None) or {})
            if key is not None:
                with _EMPTY_ROOMS_LOCK:
                    _EMPTY_ROOMS[key] = self._image.copy()
                    while len(_EMPTY_ROOMS) > EMPTY_ROOM_CACHE_SIZE:
                        _EMPTY_ROOMS.popitem(last=False)
        return self._image

    def _empty_room_key(self) -> tuple:
        """What an empty room's render depends on: the renderer and its settings, the room and its openings."""
        scene = self._scene
        return (self.config.renderer, self.config.image_size, self.config.labels,
                json.dumps(self.config.render_options, sort_keys=True), tuple(scene.room_size), scene.room_type,
                scene.openings)

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
        grade = shared_judge(self.config.judge).grade(self.task, evaluation.settled_layout(), image)
        timings["judge"] = time.perf_counter() - clock
        if grade.score is None:
            return evaluation, {"judge_error": grade.error}
        terms = {**evaluation.terms, "judge": grade.score}
        return replace(evaluation, terms=terms, total=total_reward(terms, self.reward_config)), {
            "judge_grades": dict(grade.criteria)}

    def _render_scene(self, evaluation: Evaluation) -> RenderScene:
        task = self.task
        objects = tuple(
            RenderObject(o.id, o.category, evaluation.settle.objects[o.id].box, o.style, o.material, o.mesh)
            for o in task.objects
        )
        return RenderScene(task.size, objects, task.room_type, task.mesh_forward, task.openings)
