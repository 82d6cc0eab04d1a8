"""Per-phase cost of scoring a layout (static checks, settle, evaluate), without parsing or rendering.

Every room of a split is scored with its reference layout by
:func:`~metaspatial_env.scoring.evaluate_layout`, ``--repeats`` times; the median over passes of the
mean per layout is printed in milliseconds. It uses only the public scoring API, so running it
against two checkouts one after the other (``PYTHONPATH=/path/to/other/checkout``) pairs them on the
same machine and load. It reads only ``metaspatial_env`` (not :mod:`benchmarks.reward_holes`,
whose answer-building it repeats) so that it runs unchanged against a checkout that lacks it.

    python -m benchmarks.scoring_phases [--split test] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import statistics

from metaspatial_env.actions import parse_action
from metaspatial_env.geometry import Box
from metaspatial_env.physics import PhysicsWorld
from metaspatial_env.reward import RewardConfig
from metaspatial_env.scoring import evaluate_layout
from metaspatial_env.tasks import load_split

PHASES = ("static", "settle", "evaluate")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", default="test")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    cases = []
    for task in load_split(args.split):
        text = json.dumps([{"new_object_id": o.id, **task.reference_layout[o.id]} for o in task.objects])
        parse = parse_action(text, task.object_ids)
        boxes = {o.id: Box(o.size, (p.x, p.y, p.z), p.z_angle) for o in task.objects
                 for p in [parse.placements[o.id]]}
        cases.append((task, boxes, parse))
    passes: dict[str, list[float]] = {phase: [] for phase in PHASES}
    cfg = RewardConfig()
    with PhysicsWorld() as world:
        for _ in range(args.repeats):
            total = dict.fromkeys(PHASES, 0.0)
            for task, boxes, parse in cases:
                timings: dict[str, float] = {}
                evaluate_layout(task, boxes, set(boxes), parse, world, cfg, timings)
                for phase in PHASES:
                    total[phase] += timings[phase]
            for phase in PHASES:
                passes[phase].append(total[phase] / len(cases) * 1000.0)
    print(" ".join(f"{phase} {statistics.median(v):.3f} ms" for phase, v in passes.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
