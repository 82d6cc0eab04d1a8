"""Run a policy through episodes and keep what happened each turn (used by the CLI and evaluation)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import Policy


@dataclass
class TurnRecord:
    """One turn: the answer, the reward terms and the feedback the env gave back."""

    turn: int
    action: str
    reward: float
    terms: dict[str, float]
    success: bool
    parse_errors: list[str]
    feedback: str
    image: np.ndarray | None = field(default=None, repr=False)
    problems: list[dict[str, Any]] = field(default_factory=list, repr=False)
    """The env's per-object problems (``info["problems"]``)."""
    judge_error: str | None = None
    """Why the env's VLM judge gave no grade this turn (None when it graded or is off)."""
    scene: Path | None = None
    """The turn's settled layout as a glTF binary, when the episode was run with ``export_dir``."""
    function: dict[str, float] | None = None
    """The env's function shares (``info["function"]``: navigability, accessibility, opening and
    front clearance); None in a room without doors or windows."""


@dataclass
class EpisodeRecord:
    """One room, start to end."""

    task_id: str
    room_type: str
    prompt: str
    turns: list[TurnRecord]
    initial_image: np.ndarray | None = field(default=None, repr=False)
    start: dict[str, Any] | None = None
    """A repair episode's start (``info["start"]`` at reset): its kind, terms, success and problems;
    None for the empty stack."""

    @property
    def success(self) -> bool:
        return any(t.success for t in self.turns)

    @property
    def final_total(self) -> float:
        return self.turns[-1].terms.get("total", 0.0) if self.turns else 0.0

    def summary(self) -> dict[str, Any]:
        """A JSON-able digest (no images)."""
        start = {} if self.start is None else {"start": {
            "kind": self.start["kind"], "success": bool(self.start.get("success", False)),
            "total": round(float(self.start.get("reward_total", 0.0)), 4),
            "problem_counts": dict(Counter(p["kind"] for p in self.start.get("problems", [])))}}
        return {
            "task_id": self.task_id,
            "room_type": self.room_type,
            "success": self.success,
            "turns_used": len(self.turns),
            "final_total": round(self.final_total, 4),
            "turns": [
                {"turn": t.turn, "reward": round(t.reward, 4), "success": t.success,
                 "terms": {k: round(v, 4) for k, v in t.terms.items()}, "parse_errors": t.parse_errors,
                 "feedback": t.feedback, "action": t.action,
                 "problem_counts": dict(Counter(p["kind"] for p in t.problems)),
                 **({"judge_error": t.judge_error} if t.judge_error else {}),
                 **({"function": {k: round(float(v), 4) for k, v in t.function.items()}} if t.function else {})}
                for t in self.turns
            ],
            **start,
        }


def run_episode(env, policy: Policy, *, task_id: str | None = None, task: dict[str, Any] | None = None,
                seed: int | None = None, keep_images: bool = False,
                export_dir: Path | None = None) -> EpisodeRecord:
    """Play one episode of ``env`` with ``policy`` and record every turn.

    The room is ``task`` (a task dict), else the env split's room ``task_id``, else one the env draws.
    With ``export_dir``, each turn's settled layout is written there as ``<room>_turn<N>.glb``
    (the env's ``export_scene``, which needs the ``export`` extra).
    """
    if task is not None and task_id is not None:
        raise ValueError("give task or task_id, not both")
    export = None if export_dir is None else getattr(env.unwrapped, "export_scene", None)
    if export_dir is not None and export is None:
        raise ValueError(f"{type(env.unwrapped).__name__} cannot export scenes (no export_scene)")
    options = {"task": task} if task is not None else {"task_id": task_id} if task_id is not None else None
    observation, info = env.reset(seed=seed, options=options)
    policy.reset()
    task = info["task"]
    record = EpisodeRecord(info["task_id"], task["room"]["room_type"], observation["text"], [],
                           observation.get("image") if keep_images else None, start=info.get("start"))
    done = False
    while not done:
        action = policy.act(observation, info)
        observation, reward, terminated, truncated, info = env.step(action)
        terms = {k[len("reward_"):]: v for k, v in info.items() if k.startswith("reward_")}
        record.turns.append(TurnRecord(info["turn"], action, reward, terms, info["success"], info["parse_errors"],
                                       observation["text"], observation.get("image") if keep_images else None,
                                       info.get("problems", []), info.get("judge_error"),
                                       function=info.get("function")))
        if export is not None:
            record.turns[-1].scene = export(Path(export_dir) / f"{record.task_id}_turn{info['turn']}.glb")
        done = terminated or truncated
    return record
