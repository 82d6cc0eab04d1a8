"""Multi-turn rollouts on Ray: env workers are actors, the driver batches generation across episodes.

:class:`EnvWorker` (a Ray actor) owns envs built with ``gym.make(env_id, **env_kwargs)``, one per
episode slot, and resets / steps several of them per call. :class:`RolloutDriver` runs a batch of
episodes (``group_size`` per room, so group-based algorithms can compare them): each turn it builds
every active episode's prompt with the model's :class:`~agents.hf_chat.ChatEncoder` (the render
of every observation within the token budget, for a VLM), generates all their answers in one
engine call, steps the envs on the workers, and records per turn the prompt ids as the engine
expanded them, which of the episode's renders the prompt held, the response token ids, the
sampling log-probabilities, the env's reward and terms (and the reward with the trainer's
success bonus), the done flags and per-object scores. The renders are kept once per episode
(``Episode.renders``, uint8), not per row. With ``overlap_chunks > 1`` the turn's batch is
generated in chunks and each chunk's env steps run on the workers while the next chunk is generated.

A worker that dies (``RayActorError``) is replaced: the new actor rebuilds the dead one's envs,
replays each episode's recorded answers from its seed (the env is deterministic given the seed),
and the lost call is retried, so no episode is lost. ``ray.init(address=...)`` (``ensure_ray``)
runs the same code on a cluster.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from metaspatial_env.deps import require

#: Scale of a problem's amount when turning it into a per-object score (m, deg, unitless).
PROBLEM_SCALES = {"m": 0.1, "deg": 15.0, "": 1.0}
#: Times one worker may be replaced within one rollout before the rollout gives up.
MAX_WORKER_RESTARTS = 3


def ensure_ray(address: str | None = None, num_cpus: int | None = None) -> None:
    """Start a local Ray (or connect to ``address``) unless Ray is already initialised.

    A local Ray runs its workers at the driver's priority (``RAY_worker_niceness=0`` unless set):
    Ray's default, nice 15, starves the env workers (and their Blender processes) whenever other
    processes keep the cores busy, though they are the expensive part of a rollout.
    """
    ray = require("ray", "ray", "rollouts on Ray")
    if ray.is_initialized():
        return
    if address is None:
        import os

        os.environ.setdefault("RAY_worker_niceness", "0")
        ray.init(num_cpus=num_cpus, include_dashboard=False, configure_logging=False)
    else:
        ray.init(address=address)


def object_scores(problems: Sequence[dict[str, Any]], object_ids: Sequence[str]) -> dict[str, float]:
    """Each object's own score in [0, 1] from the env's per-object problems.

    ``exp(-sum(amount / scale))`` over the object's problems (scales: 0.1 m, 15 degrees, 1 for
    unitless amounts); an unplaced object scores 0, an object with no problem 1.
    """
    badness = dict.fromkeys(object_ids, 0.0)
    for problem in problems:
        oid = problem.get("object_id")
        if oid not in badness:
            continue
        if problem.get("kind") == "unplaced":
            badness[oid] = math.inf
        else:
            badness[oid] += abs(float(problem.get("amount", 0.0))) / PROBLEM_SCALES.get(problem.get("unit", ""), 1.0)
    return {oid: math.exp(-b) for oid, b in badness.items()}


class EnvWorker:
    """Owns envs (one per slot) built from ``gym.make`` arguments; wrapped as a Ray actor by the driver."""

    def __init__(self, env_id: str, env_kwargs: dict[str, Any]):
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs)
        self.envs: dict[int, Any] = {}

    def _env(self, slot: int):
        if slot not in self.envs:
            import gymnasium as gym

            import metaspatial_env  # noqa: F401  (registers the ids)

            self.envs[slot] = gym.make(self.env_id, **self.env_kwargs)
        return self.envs[slot]

    def reset_many(self, requests: list[tuple[int, int, dict[str, Any]]]) -> tuple[list[dict[str, Any]], float]:
        """Reset each ``(slot, seed, options)``; returns the observations (with the room's object ids)
        and the seconds spent."""
        clock = time.perf_counter()
        results = []
        for slot, seed, options in requests:
            obs, info = self._env(slot).reset(seed=seed, options=options)
            ids = [o["new_object_id"] for o in info["task"]["objects"]]
            results.append({"obs": obs, "task_id": info["task_id"], "object_ids": ids})
        return results, time.perf_counter() - clock

    def step_many(self, requests: list[tuple[int, str]]) -> tuple[list[dict[str, Any]], float]:
        """Step each ``(slot, action)``; returns ``obs, reward, terminated, truncated, info`` per slot
        and the seconds spent."""
        clock = time.perf_counter()
        results = []
        for slot, action in requests:
            obs, reward, terminated, truncated, info = self.envs[slot].step(action)
            results.append({"obs": obs, "reward": reward, "terminated": terminated, "truncated": truncated,
                            "info": info})
        return results, time.perf_counter() - clock

    def replay(self, episodes: list[tuple[int, int, dict[str, Any], list[str]]]) -> None:
        """Rebuild episodes after a restart: reset each ``(slot, seed, options)`` and step its answers."""
        for slot, seed, options, actions in episodes:
            self._env(slot).reset(seed=seed, options=options)
            for action in actions:
                self.envs[slot].step(action)

    def pid(self) -> int:
        import os

        return os.getpid()

    def close(self) -> None:
        for env in self.envs.values():
            env.close()
        self.envs.clear()


@dataclass
class TurnSample:
    """One turn of one episode: what the policy saw and said, and what the env answered."""

    turn: int
    prompt_ids: list[int]
    """The prompt as the engine expanded it (each image placeholder as the image's visual tokens)."""
    images: tuple[int, ...]
    """Which of the episode's renders the prompt held, in order (indices into ``Episode.renders``)."""
    response_ids: list[int]
    sample_logprobs: list[float]
    response_text: str
    finished: bool
    reward: float = 0.0
    """What the algorithm learns from: ``env_reward`` plus the trainer's success bonus on a success."""
    env_reward: float = 0.0
    """The env's own reward for the turn."""
    terms: dict[str, float] = field(default_factory=dict)
    """The env's reward terms (``total`` included), as it reported them."""
    success: bool = False
    done: bool = False
    parse_errors: list[str] = field(default_factory=list)
    object_scores: dict[str, float] = field(default_factory=dict)
    feedback: str = ""


@dataclass
class Episode:
    """One room played for up to ``max_turns`` turns."""

    index: int
    group: int
    options: dict[str, Any]
    """``reset`` options naming the room (``task_id`` and ``split``, or ``task``)."""
    seed: int
    conversation: Any = None
    """The shared :class:`metaspatial_env.prompting.Conversation` the prompts are built from."""
    task_id: str = ""
    prompt: str = ""
    object_ids: list[str] = field(default_factory=list)
    turns: list[TurnSample] = field(default_factory=list)
    renders: list[Any] = field(default_factory=list)
    """Render ``k`` is the image of observation ``k`` (uint8 HxWx3; None when the policy reads text
    only). Kept once per episode: every row refers to these by index."""
    blank_images: bool = False
    """Replace every render by a black image of its size before the policy sees it (the control
    of an image probe: the same prompts, token counts and shapes, no information in the pixels)."""

    def observe(self, observation: dict[str, Any], info: dict[str, Any] | None = None) -> None:
        """Record an observation in the conversation and its render in ``renders``."""
        if self.blank_images and observation.get("image") is not None:
            observation = {**observation, "image": np.zeros_like(np.asarray(observation["image"]))}
        self.conversation.observe(observation, info)
        image = observation.get("image") if self.conversation.images else None
        self.renders.append(None if image is None else np.array(image, dtype=np.uint8))  # Ray hands read-only arrays

    def images_of(self, sample: TurnSample) -> list[Any]:
        """The renders in ``sample``'s prompt, in order."""
        return [self.renders[k] for k in sample.images]

    @property
    def nbytes(self) -> int:
        """Bytes this episode keeps for the learner: renders once, token ids and log-probabilities."""
        pixels = sum(r.nbytes for r in self.renders if r is not None)
        return pixels + sum(8 * (len(t.prompt_ids) + 2 * len(t.response_ids)) + len(t.images) for t in self.turns)

    @property
    def done(self) -> bool:
        return bool(self.turns) and self.turns[-1].done

    @property
    def total_return(self) -> float:
        """Sum of the rewards the algorithm learns from (the env's plus any success bonus)."""
        return float(sum(t.reward for t in self.turns))

    @property
    def env_return(self) -> float:
        """Sum of the env's own rewards."""
        return float(sum(t.env_reward for t in self.turns))

    @property
    def final_total(self) -> float:
        return self.turns[-1].terms.get("total", 0.0) if self.turns else 0.0

    @property
    def success(self) -> bool:
        return any(t.success for t in self.turns)


class RolloutDriver:
    """Runs batches of multi-turn episodes on Ray env workers with a generation engine."""

    def __init__(self, env_id: str, env_kwargs: dict[str, Any], *, num_workers: int = 2,
                 worker_num_cpus: float = 1.0, overlap_chunks: int = 2, max_prompt_tokens: int = 2048,
                 system_prompt: str | None = None, images: bool = True, blank_images: bool = False):
        ray = require("ray", "ray", "rollouts on Ray")
        self._actor_class = ray.remote(num_cpus=worker_num_cpus)(EnvWorker)
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs)
        self.overlap_chunks = overlap_chunks
        self.max_prompt_tokens = max_prompt_tokens
        self.system_prompt = system_prompt
        self.images = images
        """Show the renders to a model that sees images (False: a VLM reads the text only)."""
        self.blank_images = blank_images
        """Show black images of the renders' size instead (:attr:`Episode.blank_images`)."""
        self.workers = [self._new_worker() for _ in range(num_workers)]
        self.restarts = 0
        """Workers replaced so far (over the driver's life)."""
        self.timings: dict[str, float] = {}
        """Seconds of the last :meth:`run`: ``generation``, ``env`` (workers' busy time, summed),
        ``env_wait`` (the driver blocked on workers) and ``rollout`` (wall)."""

    def _new_worker(self):
        return self._actor_class.remote(self.env_id, self.env_kwargs)

    def close(self) -> None:
        import ray  # present: the constructor required it
        for worker in self.workers:
            try:
                ray.get(worker.close.remote())
            except Exception:  # noqa: BLE001 -- a dead worker has nothing left to close
                pass
            ray.kill(worker)
        self.workers = []

    # ------------------------------------------------------------------ placement
    def _place(self, index: int) -> tuple[int, int]:
        """(worker, slot) of episode ``index``: round-robin over workers."""
        return index % len(self.workers), index // len(self.workers)

    def _call(self, worker: int, method: str, payload: Any, episodes: list[Episode], futures: Any = None):
        """Get a worker call's result; on a dead worker, replace it, replay its episodes and retry."""
        import ray  # present: the constructor required it
        from ray.exceptions import RayActorError

        future = futures if futures is not None else getattr(self.workers[worker], method).remote(payload)
        for attempt in range(MAX_WORKER_RESTARTS + 1):
            try:
                return ray.get(future)
            except RayActorError:
                if attempt == MAX_WORKER_RESTARTS:
                    raise
                self.restarts += 1
                self.workers[worker] = self._new_worker()
                mine = [e for e in episodes if self._place(e.index)[0] == worker]
                if method == "step_many":  # episodes that were reset before the crash are rebuilt
                    ray.get(self.workers[worker].replay.remote(
                        [(self._place(e.index)[1], e.seed, e.options, [t.response_text for t in e.turns])
                         for e in mine]))
                future = getattr(self.workers[worker], method).remote(payload)
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------ rollouts
    def run(self, generate: Callable[[list[Any]], list[Any]], encoder: Any,
            rooms: Sequence[dict[str, Any]], group_size: int, seed: int,
            success_bonus: float = 0.0) -> list[Episode]:
        """Play ``group_size`` episodes of each room (its ``reset`` options) to the end.

        ``encoder`` (an :class:`~agents.hf_chat.ChatEncoder`) prices and renders the prompts;
        ``generate(prompts)`` returns one :class:`~training.engines.Generation` per
        :class:`~agents.hf_chat.Prompt`.
        Episode ``k`` is reset with seed ``seed + k``. Returns the episodes in order (group ``g``
        holds episodes ``g * group_size ... (g + 1) * group_size - 1``). A turn the env reports as a
        success gets ``success_bonus`` added to its ``reward`` (``env_reward`` and ``terms`` stay
        the env's).
        """
        wall = time.perf_counter()
        timings = {"generation": 0.0, "env": 0.0, "env_wait": 0.0}
        from metaspatial_env.prompting import SYSTEM_PROMPT

        system = SYSTEM_PROMPT if self.system_prompt is None else self.system_prompt
        episodes = [Episode(index=g * group_size + k, group=g, options=dict(options), seed=seed + g * group_size + k,
                            conversation=encoder.conversation(self.max_prompt_tokens, self.images, system),
                            blank_images=self.blank_images)
                    for g, options in enumerate(rooms) for k in range(group_size)]
        clock = time.perf_counter()
        by_worker = self._split_by_worker(episodes)
        futures = {w: self.workers[w].reset_many.remote([(self._place(e.index)[1], e.seed, e.options) for e in eps])
                   for w, eps in by_worker.items()}
        for w, eps in by_worker.items():
            results, busy = self._call(w, "reset_many", [(self._place(e.index)[1], e.seed, e.options) for e in eps],
                                       episodes, futures[w])
            timings["env"] += busy
            for episode, result in zip(eps, results):
                episode.prompt = result["obs"]["text"]
                episode.task_id = result["task_id"]
                episode.object_ids = result["object_ids"]
                episode.observe(result["obs"])
        timings["env_wait"] += time.perf_counter() - clock

        turn = 0
        while True:
            active = [e for e in episodes if not e.done]
            if not active:
                break
            prompts = [encoder.prompt(e.conversation) for e in active]
            shown = [tuple(e.conversation.prompt_images()) for e in active]
            chunk = math.ceil(len(active) / self.overlap_chunks)
            pending = []
            for start in range(0, len(active), chunk):
                members = active[start:start + chunk]
                clock = time.perf_counter()
                generations = generate(prompts[start:start + chunk])
                timings["generation"] += time.perf_counter() - clock
                samples = [TurnSample(turn, g.prompt_ids, shown[start + i], g.response_ids, g.logprobs, g.text,
                                      g.finished) for i, g in enumerate(generations)]
                for w, pairs in self._split_by_worker(list(zip(members, samples)), key=lambda p: p[0]).items():
                    payload = [(self._place(e.index)[1], s.response_text) for e, s in pairs]
                    pending.append((w, pairs, payload, self.workers[w].step_many.remote(payload)))
            clock = time.perf_counter()
            for w, pairs, payload, future in pending:
                results, busy = self._call(w, "step_many", payload, episodes, future)
                timings["env"] += busy
                for (episode, sample), result in zip(pairs, results):
                    self._record(episode, sample, result, success_bonus)
            timings["env_wait"] += time.perf_counter() - clock
            turn += 1
        timings["rollout"] = time.perf_counter() - wall
        self.timings = timings
        return episodes

    @staticmethod
    def _record(episode: Episode, sample: TurnSample, result: dict[str, Any], success_bonus: float = 0.0) -> None:
        info = result["info"]
        sample.env_reward = float(result["reward"])
        sample.terms = {k[len("reward_"):]: float(v) for k, v in info.items() if k.startswith("reward_")}
        sample.success = bool(info["success"])
        sample.reward = sample.env_reward + (success_bonus if sample.success else 0.0)
        sample.done = bool(result["terminated"] or result["truncated"])
        sample.parse_errors = list(info["parse_errors"])
        sample.object_scores = object_scores(info["problems"], episode.object_ids)
        sample.feedback = result["obs"]["text"]
        episode.turns.append(sample)
        episode.conversation.answer(sample.response_text)
        if not sample.done:
            episode.observe(result["obs"], info)

    def _split_by_worker(self, items: list, key: Callable[[Any], Episode] = lambda e: e) -> dict[int, list]:
        groups: dict[int, list] = {}
        for item in items:
            groups.setdefault(self._place(key(item).index)[0], []).append(item)
        return groups
