"""Reward terms (DESIGN.md section 6): small pure functions, each bounded in [0, 1].

Per-object terms average over *all* of the room's objects, and an object the agent has not
yet placed validly scores 0 in every one of them, so no shape of answer earns more than its
valid entries are worth (the reference paid 0.7 for a JSON dict that skipped every check).

A mean over objects lets one absurd object hide: in a 20-object room a wardrobe floating 1 m
costs 1/20 of one term. So the ``worst`` term scores the *worst object*: each object's
soundness (:func:`object_soundness`) is the lowest of its own collision, bounds and stability
scores and of its required rules (support: ``on``, ``under``, on the floor; back to its wall),
and the term is the lowest soundness in the room. With its weight (:attr:`RewardConfig.worst_weight`,
2 of 8 by default) one gross error (an object floating or fully inside another: soundness about 0;
half through a wall: 0.5) lowers the total by 0.125 to 0.25 on its own, while every term stays
bounded and continuous.

``function`` (:mod:`metaspatial_env.function`, rooms with doors or windows only) is the mean of
the room's usability rules: doors that open, windows left free, every object's access side
reachable from a door, clearance in front of what opens or is sat at.

``total`` is the weighted mean of the enabled terms. ``success`` is all-or-nothing: a clean
answer, no collision, in bounds, stable, every required rule met, ``success_relations`` of
the other rules and, with ``function_success``, every function rule.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields

from .config import from_mapping

REWARD_MODES = ("absolute", "improvement", "final")
#: Float slack on tolerance comparisons (a sofa on a 1 cm rug overlaps it by 0.010000000000000009 m).
TOLERANCE_SLACK = 1e-9
TERMS = ("format", "collision", "bounds", "stability", "relations", "worst", "function", "judge")


@dataclass(frozen=True)
class RewardConfig:
    """Weights and thresholds of the reward. Unknown keys are an error (see :meth:`from_dict`)."""

    format_weight: float = 1.0
    """Weight of ``format``: the share of objects validly placed."""
    collision_weight: float = 1.0
    """Weight of ``collision``: freedom from interpenetration."""
    bounds_weight: float = 1.0
    """Weight of ``bounds``: the share of volume inside the room."""
    stability_weight: float = 1.0
    """Weight of ``stability``: how still the layout stays when physics settles it."""
    relations_weight: float = 2.0
    """Weight of ``relations``: the scene graph's placement rules."""
    worst_weight: float = 2.0
    """Weight of ``worst``: the soundness of the worst object, so one gross error costs at least 0.1."""
    function_weight: float = 1.0
    """Weight of ``function``: doors, windows, reach and clearances (:mod:`metaspatial_env.function`),
    present only in rooms with openings."""
    judge_weight: float = 1.0
    """Weight of ``judge``, used only on steps where a VLM judge returned a grade."""
    id_error_penalty: float = 1.0
    """Share of one object's format credit lost per unknown or duplicate id."""
    collision_tolerance: float = 0.01
    """Penetration depth (m) ignored between any two objects."""
    contact_tolerance: float = 0.03
    """Penetration depth (m) ignored between objects in a declared on/under relation."""
    stable_displacement: float = 0.02
    """Settle displacement (m) an object may show and still count as stable."""
    stable_rotation: float = 5.0
    """Settle rotation (degrees) an object may show and still count as stable."""
    displacement_scale: float = 0.1
    """Extra displacement (m) at which an object's stability has decayed to 1/e."""
    rotation_scale: float = 15.0
    """Extra rotation (degrees) at which an object's stability has decayed to 1/e."""
    bounds_tolerance: float = 0.01
    """Distance (m) an object may poke out of the room and still count as in bounds."""
    success_relations: float = 0.9
    """Share of the rules that are not required (sides, walls, facing ...) a successful layout must satisfy."""
    function_grid: float = 0.1
    """Cell size (m) of the floor grid the function term measures reach on."""
    function_tolerance: float = 0.02
    """Distance (m) an object may reach into a door's, window's or front clearance zone unpunished."""
    function_success: bool = False
    """Whether ``success`` also asks every function rule to hold. Off until the bundled splits'
    reference layouts and the heuristic meet them (issue 18); the term counts in the total either way."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"RewardConfig.{f.name} must be a finite number >= 0, got {value!r}")
        if not 0.01 <= self.function_grid <= 0.5:
            raise ValueError(f"RewardConfig.function_grid must be in [0.01, 0.5] m, got {self.function_grid!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, float] | None) -> RewardConfig:
        """Build from JSON-able kwargs; unknown keys raise ``ValueError``."""
        return from_mapping(cls, data, "RewardConfig keys")

    def weight(self, term: str) -> float:
        return getattr(self, f"{term}_weight")


def format_term(n_objects: int, n_placed: int, n_id_errors: int, penalty: float) -> float:
    """Share of the room's objects this answer placed validly, less ``penalty`` per bad id."""
    if n_objects <= 0:
        return 0.0
    return min(1.0, max(0.0, (n_placed - penalty * n_id_errors) / n_objects))


def collision_penalties(overlaps: Iterable[tuple[str, str, float, float]], object_ids: Iterable[str],
                        contact_pairs: frozenset[frozenset[str]], cfg: RewardConfig) -> dict[str, float]:
    """Per-object collision penalty in [0, 1]: the summed overlap ratios of its offending pairs.

    ``overlaps`` holds ``(a, b, depth, ratio)`` with ratio = overlap volume / smaller volume.
    """
    penalty = {oid: 0.0 for oid in object_ids}
    for a, b, depth, ratio in overlaps:
        if collides(a, b, depth, contact_pairs, cfg):
            penalty[a] = min(1.0, penalty[a] + ratio)
            penalty[b] = min(1.0, penalty[b] + ratio)
    return penalty


def collides(a: str, b: str, depth: float, contact_pairs: frozenset[frozenset[str]], cfg: RewardConfig) -> bool:
    """Whether a pair penetrating by ``depth`` counts as a collision (on/under pairs may touch)."""
    tolerance = cfg.contact_tolerance if frozenset((a, b)) in contact_pairs else cfg.collision_tolerance
    return depth > tolerance + TOLERANCE_SLACK


def collision_term(penalties: Mapping[str, float], placed: Iterable[str]) -> float:
    """Mean over all objects of (1 - collision penalty); unplaced objects count 0."""
    return _mean_over(penalties, placed, lambda p: 1.0 - p)


def bounds_term(inside_fraction: Mapping[str, float], placed: Iterable[str]) -> float:
    """Mean share of each object's volume inside the room; unplaced objects count 0."""
    return _mean_over(inside_fraction, placed, lambda f: f)


def stability_score(displacement: float, rotation: float, cfg: RewardConfig) -> float:
    """1 for an object that stays put in the settle, decaying with how far it moved and turned."""
    extra_move = max(0.0, displacement - cfg.stable_displacement)
    extra_turn = max(0.0, rotation - cfg.stable_rotation)
    return math.exp(-extra_move / cfg.displacement_scale - extra_turn / cfg.rotation_scale)


def stability_term(scores: Mapping[str, float], placed: Iterable[str]) -> float:
    """Mean stability score over all objects; unplaced objects count 0."""
    return _mean_over(scores, placed, lambda s: s)


def relations_term(rule_scores: Iterable[tuple[float, bool]]) -> float:
    """Mean score of the rules, given as ``(score, involves_only_placed_objects)``.

    A rule touching an unplaced object scores 0; a room with no rules scores 1.
    """
    values = [score if placed else 0.0 for score, placed in rule_scores]
    return sum(values) / len(values) if values else 1.0


def object_soundness(collision_penalty: float, inside_fraction: float, stability: float,
                     required_scores: Iterable[float]) -> float:
    """How sound one object is: the lowest of its collision freedom (1 - penalty), its share of
    volume inside the room, its stability score and the scores of its required rules."""
    return min(1.0 - collision_penalty, inside_fraction, stability, *required_scores)


def worst_term(soundness: Mapping[str, float], placed: Iterable[str]) -> float:
    """The soundness of the worst object; 0 while any object is unplaced (it counts 0)."""
    placed = set(placed)
    if not soundness:
        return 0.0
    return min(s if oid in placed else 0.0 for oid, s in soundness.items())


def judge_term(grades: Iterable[float]) -> float:
    """A VLM judge's 1-10 grades as one score: their mean mapped linearly onto [0, 1]."""
    values = [min(10.0, max(1.0, float(g))) for g in grades]
    return (sum(values) / len(values) - 1.0) / 9.0 if values else 0.0


def total_reward(terms: Mapping[str, float], cfg: RewardConfig) -> float:
    """Weighted mean of the terms present (``judge`` only when it was computed)."""
    weights = {name: cfg.weight(name) for name in terms}
    norm = sum(weights.values())
    if norm <= 0:
        return 0.0
    return sum(weights[name] * terms[name] for name in terms) / norm


def is_success(*, clean_answer: bool, penalties: Mapping[str, float], out_distance: Mapping[str, float],
               stability_scores: Mapping[str, float], required_rules: Iterable[bool],
               other_rules: Iterable[bool], cfg: RewardConfig, function_rules: Iterable[bool] = ()) -> bool:
    """A clean answer (every object placed once, no parse errors), collision-free, in bounds,
    stable, every required rule met, at least ``success_relations`` of the other rules, and (with
    ``function_success``) every function rule (doors, windows, reach, clearances) met."""
    others = list(other_rules)
    share = sum(others) / len(others) if others else 1.0
    return (
        clean_answer
        and all(p == 0.0 for p in penalties.values())
        and all(d <= cfg.bounds_tolerance + TOLERANCE_SLACK for d in out_distance.values())
        and all(s >= 1.0 for s in stability_scores.values())
        and all(required_rules)
        and share >= cfg.success_relations
        and (not cfg.function_success or all(function_rules))
    )


def turn_reward(mode: str, total: float, previous_total: float, episode_over: bool) -> float:
    """The per-turn reward for a ``reward_mode``.

    ``improvement`` pays the change in total (starting from 0), so an episode sums to its last
    total; ``final`` pays the last total once, when the episode ends.
    """
    if mode == "absolute":
        return total
    if mode == "improvement":
        return total - previous_total
    if mode == "final":
        return total if episode_over else 0.0
    raise ValueError(f"unknown reward_mode {mode!r}; known: {REWARD_MODES}")


def _mean_over(values: Mapping[str, float], placed: Iterable[str], credit) -> float:
    if not values:
        return 0.0
    placed = set(placed)
    return sum(credit(v) if oid in placed else 0.0 for oid, v in values.items()) / len(values)
