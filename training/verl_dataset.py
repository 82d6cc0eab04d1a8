"""verl's parquet rows for the room-layout env: one row per room, played by ``metaspatial_agent``.

verl's ``RLHFDataset`` reads a parquet file whose rows hold the chat ``prompt`` (a list of
``{"role", "content"}`` messages), ``data_source`` (the group name of verl's validation metrics),
``agent_name`` (which registered agent loop plays the row), ``reward_model.ground_truth`` (logged
beside validation samples) and ``extra_info`` (handed to the agent loop unchanged; ``index`` names
the sample). The row written here:

- ``prompt``: :data:`~metaspatial_env.prompting.SYSTEM_PROMPT`, then the env's task prompt
  (:func:`~metaspatial_env.prompting.task_prompt`), the text the env's reset returns;
- ``extra_info``: ``env_id``, ``env_kwargs`` (a JSON object as a string, so every row has the same
  parquet schema whatever the kwargs), ``task`` (the room as JSON, so rooms of any source play
  without the env knowing the source), ``task_id``, ``seed`` (the reset seed), ``max_turns``.

Rooms come from :func:`metaspatial_env.tasks.load_rooms` (a bundled split or
``generated:FIRST_SEED:COUNT``) or a task file (:func:`~metaspatial_env.tasks.load_tasks`)::

    python -m training.verl_dataset --split train --out data/train.parquet
    python -m training.verl_dataset --split test --out data/test.parquet --max-objects 10
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from agents.cli import json_object
from metaspatial_env.deps import require
from metaspatial_env.prompting import SYSTEM_PROMPT, task_prompt
from metaspatial_env.schema import Task

#: The agent loop the rows name (:data:`training.verl_agent_loop.AGENT_NAME`; not imported, so
#: writing rows needs no verl).
AGENT_NAME = "metaspatial_agent"
DEFAULT_ENV_ID = "MetaSpatial-Fast-v0"
DATA_SOURCE = "metaspatial"


def verl_row(task: Task, index: int, *, env_id: str = DEFAULT_ENV_ID, env_kwargs: Mapping[str, Any] | None = None,
             seed: int = 0, source: str = "", agent_name: str = AGENT_NAME) -> dict[str, Any]:
    """One parquet row (a plain dict of JSON-able values) for ``task``; see the module docstring."""
    kwargs = dict(env_kwargs or {})
    try:
        kwargs_json = json.dumps(kwargs, sort_keys=True)
    except (TypeError, ValueError):
        raise ValueError(f"env_kwargs must be JSON-able, got {kwargs!r}") from None
    max_turns = kwargs.get("max_turns")
    return {
        "data_source": DATA_SOURCE,
        "agent_name": agent_name,
        "prompt": [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": task_prompt(task)}],
        "ability": "room_layout",
        "reward_model": {"style": "env", "ground_truth": task.id},
        "extra_info": {
            "index": int(index),
            "source": source,
            "task_id": task.id,
            "task": json.dumps(task.to_dict(), sort_keys=True),
            "env_id": env_id,
            "env_kwargs": kwargs_json,
            "seed": int(seed),
            # -1 when the env's own budget applies (parquet columns cannot mix ints and nulls).
            "max_turns": -1 if max_turns is None else int(max_turns),
        },
    }


def verl_rows(tasks: Iterable[Task], *, env_id: str = DEFAULT_ENV_ID, env_kwargs: Mapping[str, Any] | None = None,
              seed: int = 0, source: str = "") -> list[dict[str, Any]]:
    """Rows for ``tasks``: row ``i`` resets with seed ``seed + i``."""
    return [verl_row(t, i, env_id=env_id, env_kwargs=env_kwargs, seed=seed + i, source=source)
            for i, t in enumerate(tasks)]


def write_parquet(rows: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Write rows as one parquet file (parent directories made); returns the path."""
    if not rows:
        raise ValueError("no rows to write: the room source gave no rooms")
    pa = require("pyarrow", "verl", "writing verl parquet files")
    parquet = require("pyarrow.parquet", "verl", "writing verl parquet files")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    parquet.write_table(pa.Table.from_pylist([dict(r) for r in rows]), path)
    return path


def load_source(source: str | None, tasks_file: str | None, min_objects: int | None, max_objects: int | None,
                limit: int | None) -> tuple[list[Task], str]:
    """The rooms of ``--split`` (a bundled split or ``generated:...``) or of ``--tasks FILE``."""
    from metaspatial_env.tasks import load_rooms, load_tasks

    if tasks_file:
        tasks = [t for t in load_tasks(tasks_file)
                 if (min_objects or 1) <= len(t.objects) <= (max_objects or 10**9)]
        return tasks[:limit] if limit else tasks, Path(tasks_file).name
    return list(load_rooms(source or "train", min_objects, max_objects, limit)), source or "train"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.verl_dataset", description=__doc__.splitlines()[0])
    room = parser.add_mutually_exclusive_group()
    room.add_argument("--split", help="bundled split (train, test, hard) or generated:FIRST_SEED:COUNT (default train)")
    room.add_argument("--tasks", help="a .json/.jsonl(.gz) task file instead of a split")
    parser.add_argument("--out", required=True, help="parquet file to write")
    parser.add_argument("--env-id", default=DEFAULT_ENV_ID, help=f"env the rows play (default {DEFAULT_ENV_ID})")
    parser.add_argument("--env-kwargs", type=json_object, default={},
                        help='env kwargs as a JSON object, e.g. \'{"max_turns": 3, "image_size": [448, 896]}\'')
    parser.add_argument("--min-objects", type=int, default=None)
    parser.add_argument("--max-objects", type=int, default=None)
    parser.add_argument("--limit", type=int, default=None, help="first N rooms only")
    parser.add_argument("--seed", type=int, default=0, help="reset seed of the first row (row i: seed + i)")
    args = parser.parse_args(argv)
    try:
        tasks, source = load_source(args.split, args.tasks, args.min_objects, args.max_objects, args.limit)
        path = write_parquet(verl_rows(tasks, env_id=args.env_id, env_kwargs=args.env_kwargs, seed=args.seed,
                                       source=source), args.out)
    except (ValueError, OSError) as error:
        parser.exit(2, f"python -m training.verl_dataset: error: {error}\n")
    print(f"{path}: {len(tasks)} rows from {source} ({args.env_id})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
