"""The evaluation harness: run a policy over a split in parallel workers, measure it the way
papers do, and write ``episodes.jsonl``, ``results.json``, ``episodes.csv`` and ``report.html``.

Workers are processes from the ``spawn`` context (Mesa's GL state and PyBullet clients do not
survive ``fork``); each builds one env and one policy and plays the rooms it is handed. An
episode's metrics come from its *final* turn (the layout the policy ends with); an episode that
ended early on success keeps its last layout for the turns it did not play, so the reward-per-turn
curve compares policies over the same number of turns.

The metrics and the CSV / HTML reports are computed by :mod:`agents.eval_metrics`, and
``metaspatial compare`` ranks runs in :mod:`agents.compare`.

Metrics, each with a 95 % confidence interval (Wilson for rates, normal for means):
format-valid, collision-free, in-bounds and stable rates (the final layout places every object
and the env reports no parse, collision, out-of-bounds or instability problem respectively, with
the tolerances ``success`` uses), relation satisfaction (mean ``relations``
term), success rate, mean reward per turn, and when the env has a judge, the judge score (mean
of the 0-1 ``judge`` term over episodes that got a grade) and the physically-grounded score
(the judge score counted only when the layout is complete, parsed cleanly, collision-free and
in bounds, else 0, after LayoutVLM's physically-grounded semantic alignment score).

Refinement metrics (``results.json``'s ``refinement``, :mod:`agents.refinement`; runs of two turns
or more): the gain in total and in success from turn 1 to each later turn, the repair rate (rooms
failed on turn 1 that succeed by the last, also by the kind of turn-1 problem) and the regression
rate. A repair episode (the env's ``start`` argument, e.g. ``--env-kwargs '{"start": {"kind":
"perturbed"}}'``) also keeps its ``start``: kind, total, success and problem counts of the layout
it started from.

Function metrics (SceneEval's), over the rooms with doors or windows only (``n`` counts them; none:
the metrics are left out): navigability (mean share of the walkable floor reachable from a door in
the final layout), and accessibility, opening-clearance and front-clearance rates (the final layout
places every object and has no ``access``, no ``door`` / ``window``, no ``clearance`` problem). Each
turn keeps the env's shares as ``function`` (``info["function"]``) and each episode its room's
``openings`` count; records written before they were kept still load, without these metrics.

Totals with and without the judge. A step's ``total`` is the weighted mean of the terms present,
so when the judge fails on some steps (no grade: the term is absent) those totals are on another
scale than the graded ones. When the env has a judge, evaluation therefore never averages the two:

- ``reward_per_turn`` (and the reward-per-turn curve) counts only the steps where the judge
  answered (``n`` says how many);
- ``total_no_judge`` is the mean over *every* step of the total without the judge term (the
  env's reward weights over the other terms; each turn carries it as ``total_no_judge``), the
  same scale whatever the judge did and the scale of a run without a judge; its curve is
  ``reward_per_turn_no_judge``;
- ``judge_steps`` in ``results.json`` counts the judged steps, how many got a grade and how many
  failed (``judge_error`` on the turn, and in ``episodes.csv`` / ``report.html``).

Output folder (``out``) and what survives an interruption:

- ``episodes.jsonl``: one JSON line per finished episode (``index`` in split order, then the
  episode), appended and flushed (fsync) as each episode finishes, in whatever order workers
  finish them. It is the record of the run: nothing else is needed to resume.
- ``results.json``: written atomically (a temporary file, then ``os.replace``): once before the
  first episode with ``"complete": false``, again with ``"complete": false`` over the episodes
  done when the run is interrupted (KeyboardInterrupt / SIGINT, SIGTERM through the CLI, or an
  error), and with ``"complete": true`` at the end. ``episodes_done`` / ``episodes_total`` say how
  far it got. After a SIGKILL it is the one from the start; ``--resume`` recomputes it.
- ``episodes.csv`` and ``report.html``: written (atomically) with every ``results.json``.
- ``scenes/<room>_turn<N>.glb`` (only with ``export``, ``--export``): each turn's settled layout as
  a glTF binary (:mod:`metaspatial_env.export`), listed under the episode's ``scenes``.

A fresh run refuses a folder that holds another run's files (:data:`RUN_FILES`) with one
:class:`OutputError` rather than mixing or deleting them; ``resume=True`` (``--resume``) instead
continues the run recorded there: the episodes already in ``episodes.jsonl`` are not played again,
the others are (each recorded exactly once), and the results are marked complete at the end. The
config must be the one of that run (``workers`` may differ); resuming a folder with no run in it
starts one. A partial run that recorded no episode (it failed or was killed before its first:
a typo in the policy name, say) holds nothing to keep: any run replaces it. The folder is checked
writable before any episode is played.

Secrets: ``api_key`` / ``token`` values in ``policy_kwargs`` or ``env_kwargs`` (and the judge's
key) are registered with :mod:`metaspatial_env.redact`, and everything written (each JSONL line,
``results.json``, the CSV, the HTML) goes through :func:`~metaspatial_env.redact.redact_data`.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from metaspatial_env.redact import SECRET_ARGUMENTS, redact_data, register_secret
from metaspatial_env.reward import total_reward

from .eval_metrics import (
    compute_metrics,
    csv_text,
    has_judge,
    html_report,
    judge_steps,
    reward_per_turn,
    reward_per_turn_no_judge,
)
from .refinement import refinement_metrics

#: The per-episode record (append-only JSON lines) and the files computed from it.
EPISODES_JSONL = "episodes.jsonl"
RESULTS_JSON = "results.json"
EPISODES_CSV = "episodes.csv"
REPORT_HTML = "report.html"
#: Files that make a folder hold a run's results (a fresh run refuses such a folder).
RUN_FILES = (RESULTS_JSON, EPISODES_JSONL, EPISODES_CSV, REPORT_HTML)
#: Config fields a resumed run may change (they change neither the episodes played nor their scores).
RESUMABLE_CHANGES = ("workers", "export")

# ----------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class EvalConfig:
    """What to evaluate and how; JSON-able (it is written into ``results.json``)."""

    policy: str
    """Policy name for :func:`agents.make_policy` (``heuristic``, ``openai:gpt-4o``, ``hf:PATH`` ...)."""
    split: str = "test"
    """Where the rooms come from: a bundled split or ``generated:FIRST_SEED:COUNT`` (see
    :func:`metaspatial_env.tasks.splits.load_rooms`)."""
    min_objects: int | None = None
    """Only rooms with at least this many objects (generated rooms: generated with at least this many)."""
    max_objects: int | None = None
    """Only rooms with at most this many objects (generated rooms: generated with at most this many)."""
    episodes: int | None = None
    """How many rooms, in split order (None: the whole split)."""
    turns: int = 3
    """Answers per episode."""
    workers: int = 1
    """Worker processes (spawned), each with its own env and policy."""
    env_id: str = "MetaSpatial-Fast-v0"
    """Registered env id; ``MetaSpatial-Fast-v0`` renders with the rasteriser."""
    env_kwargs: dict = field(default_factory=dict)
    """Extra env arguments (e.g. ``{"judge": {...}}`` to grade with a VLM judge)."""
    policy_kwargs: dict = field(default_factory=dict)
    """Extra policy arguments (e.g. ``{"base_url": ...}``)."""
    seed: int = 0
    """Episode ``i`` resets with ``seed + i``; a policy that takes a ``seed`` gets this one."""
    images: bool = True
    """Save each turn's image for the HTML report."""
    export: bool = False
    """Also write each turn's settled layout as ``scenes/<room>_turn<N>.glb`` (the ``export`` extra)."""

    def __post_init__(self) -> None:
        if self.episodes is not None and self.episodes < 1:
            raise ValueError(f"episodes must be positive or None, got {self.episodes}")
        if self.turns < 1 or self.workers < 1:
            raise ValueError(f"turns and workers must be positive, got {self.turns} and {self.workers}")
        if "max_turns" in self.env_kwargs:
            raise ValueError("the turn budget is --turns (EvalConfig.turns), not max_turns in the env kwargs")


# ----------------------------------------------------------------------------- workers
_WORKER: dict[str, Any] = {}


def _policy_kwargs(config: EvalConfig) -> dict[str, Any]:
    from . import takes_seed

    kwargs = dict(config.policy_kwargs)
    if "seed" not in kwargs and takes_seed(config.policy):
        kwargs["seed"] = config.seed
    return kwargs


def register_config_secrets(config: EvalConfig) -> None:
    """Register the secrets ``config`` carries: ``api_key`` / ``token`` ... values anywhere in its
    policy or env arguments, and the key the judge reads from its ``api_key_env`` variable."""

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                if isinstance(key, str) and key.lower() in SECRET_ARGUMENTS and isinstance(item, str):
                    register_secret(item)
                else:
                    walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    walk(config.policy_kwargs)
    walk(config.env_kwargs)
    judge = config.env_kwargs.get("judge")
    if isinstance(judge, Mapping):
        register_secret(os.environ.get(str(judge.get("api_key_env", "OPENAI_API_KEY"))))


def _start_worker(config: dict[str, Any], out: str | None, pooled: bool = False) -> None:
    if pooled:  # Ctrl-C reaches the whole process group: the parent handles it, workers just stop
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            _build_worker(config, out)
        except Exception as error:  # a pool respawns a worker whose initializer fails, forever:
            _WORKER["error"] = error  # fail the worker's first episode instead
        return
    _build_worker(config, out)


def _build_worker(config: dict[str, Any], out: str | None) -> None:
    import gymnasium as gym

    import metaspatial_env  # noqa: F401  (registers the ids)

    from . import make_policy

    cfg = EvalConfig(**config)
    register_config_secrets(cfg)
    _WORKER["config"] = cfg
    _WORKER["out"] = None if out is None else Path(out)
    # Every episode resets with its room's task dict, so the env's own split is only a default.
    _WORKER["env"] = gym.make(cfg.env_id, max_turns=cfg.turns, **cfg.env_kwargs)
    _WORKER["policy"] = make_policy(cfg.policy, **_policy_kwargs(cfg))


def _play(job: tuple[int, dict[str, Any]]) -> dict[str, Any]:
    """One episode in a worker: the episode digest plus the judge fields and saved image paths."""
    from PIL import Image

    from .runner import run_episode

    if "error" in _WORKER:
        raise _WORKER["error"]
    index, task = job
    cfg: EvalConfig = _WORKER["config"]
    out: Path | None = _WORKER["out"]
    keep_images = cfg.images and out is not None
    env = _WORKER["env"]
    export_dir = out / "scenes" if cfg.export and out is not None else None
    record = run_episode(env, _WORKER["policy"], task=task, seed=cfg.seed + index, keep_images=keep_images,
                         export_dir=export_dir)
    episode = record.summary()
    episode["openings"] = len(task["room"].get("openings", ()))
    if export_dir is not None:
        episode["scenes"] = {str(t.turn): str(t.scene.relative_to(out)) for t in record.turns}
    episode["prompt"] = record.prompt
    reward_config = getattr(env.unwrapped, "reward_config", None)
    for turn, summary in zip(record.turns, episode["turns"]):
        no_judge = _total_without_judge(turn.terms, reward_config)
        if no_judge is not None:
            summary["total_no_judge"] = round(no_judge, 4)
    if keep_images:
        folder = out / "images" / record.task_id
        folder.mkdir(parents=True, exist_ok=True)
        images = [(0, record.initial_image)] + [(t.turn, t.image) for t in record.turns]
        episode["images"] = {}
        for turn, image in images:
            if image is not None:
                path = folder / f"turn_{turn}.png"
                Image.fromarray(image).save(path)
                episode["images"][str(turn)] = str(path.relative_to(out))
    return episode


def _play_indexed(job: tuple[int, dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    return job[0], _play(job)


def _total_without_judge(terms: Mapping[str, float], reward_config) -> float | None:
    """A turn's total over its terms other than ``judge`` (None when that cannot be known)."""
    if "judge" not in terms:
        return terms.get("total")
    if reward_config is None:
        return None
    return total_reward({k: v for k, v in terms.items() if k not in ("total", "judge")}, reward_config)


def load_jobs(config: EvalConfig) -> list[tuple[int, dict[str, Any]]]:
    """``(index, task dict)`` of every room ``config`` evaluates, in split order."""
    from metaspatial_env.tasks.splits import load_rooms

    tasks = load_rooms(config.split, config.min_objects, config.max_objects, config.episodes)  # cut before generating
    return list(enumerate(t.to_dict() for t in tasks))


def run_episodes(config: EvalConfig, out: Path | None = None, progress: bool = True,
                 jobs: Sequence[tuple[int, dict[str, Any]]] | None = None,
                 on_episode=None, done: int = 0) -> list[dict[str, Any]]:
    """Play ``config``'s rooms (or ``jobs``) in ``config.workers`` spawned processes.

    ``on_episode(index, episode)`` is called in this process as each episode finishes (in the order
    they finish); the return value is the episodes in ``jobs`` order. ``done`` only starts the
    progress bar further on (episodes recorded before).
    """
    from tqdm import tqdm

    jobs = load_jobs(config) if jobs is None else list(jobs)
    position = {index: i for i, (index, _) in enumerate(jobs)}
    episodes: list[dict[str, Any]] = [{} for _ in jobs]
    args = (asdict(config), None if out is None else str(out))

    def finished(index: int, episode: dict[str, Any]) -> None:
        episodes[position[index]] = episode
        if on_episode is not None:
            on_episode(index, episode)
        bar.update()

    with tqdm(total=done + len(jobs), initial=done, desc=f"eval {config.policy}", unit="room",
              disable=not progress) as bar:
        if not jobs:
            return episodes
        if config.workers == 1:
            _start_worker(*args)
            try:
                for job in jobs:
                    finished(*_play_indexed(job))
            finally:
                _WORKER["env"].close()
                _WORKER.clear()
        else:
            context = multiprocessing.get_context("spawn")
            with context.Pool(min(config.workers, len(jobs)), initializer=_start_worker,
                              initargs=(*args, True)) as pool:
                for index, episode in pool.imap_unordered(_play_indexed, jobs):
                    finished(index, episode)
    return episodes


class OutputError(ValueError):
    """The output folder cannot take this run (another run's results, not writable, not resumable)."""


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and ``os.replace``:
    a reader (or a kill) sees the old file or the new one, never half of one."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _check_writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out) as probe:
            probe.write(b"metaspatial eval")
    except OSError as error:
        raise OutputError(f"cannot write to the output folder {out}: {error.strerror or error}") from None


def read_episodes_jsonl(path: Path, repair: bool = False) -> dict[int, dict[str, Any]]:
    """The episodes recorded in ``path`` by index (none if it does not exist).

    A last line cut short (a kill while it was written) is dropped, and with ``repair`` cut off the
    file so that the next append starts on a line of its own; any other bad line is an
    :class:`OutputError`. An index recorded twice keeps its first record.
    """
    if not path.exists():
        return {}
    data = path.read_bytes()
    recorded: dict[int, dict[str, Any]] = {}
    offset = keep = 0
    unterminated = False
    while offset < len(data):
        newline = data.find(b"\n", offset)
        end = len(data) if newline < 0 else newline + 1
        line, offset = data[offset:end], end
        if line.strip():
            try:
                item = json.loads(line)
                index, episode = item["index"], item["episode"]
                if not isinstance(index, int) or not isinstance(episode, dict):
                    raise ValueError("not an index and an episode")
            except (ValueError, KeyError, TypeError):
                if offset >= len(data):
                    break  # the last line, cut short by a kill
                number = data.count(b"\n", 0, offset)
                raise OutputError(f"{path} line {number} is not an episode record of metaspatial eval; "
                                  "choose another --out") from None
            recorded.setdefault(index, episode)
            unterminated = newline < 0
        keep = end
    if repair and keep < len(data):
        with open(path, "r+b") as handle:
            handle.truncate(keep)
    elif repair and unterminated:  # a whole record whose newline the kill cut
        with open(path, "ab") as handle:
            handle.write(b"\n")
    return recorded


class _EpisodeLog:
    """``episodes.jsonl`` opened for appending: one ``os.write`` and an fsync per episode."""

    def __init__(self, path: Path):
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def append(self, index: int, episode: dict[str, Any]) -> None:
        """Append an episode already redacted."""
        line = json.dumps({"index": index, "episode": episode}, separators=(",", ":")) + "\n"
        os.write(self._fd, line.encode())
        os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)


def _config_differences(stored: Mapping[str, Any], config: EvalConfig) -> list[str]:
    current = json.loads(json.dumps(redact_data(asdict(config))))
    keys = sorted((set(stored) | set(current)) - set(RESUMABLE_CHANGES))
    return [k for k in keys if stored.get(k) != current.get(k)]


def _empty_run(out: Path) -> bool:
    """Whether ``out`` holds only a partial run that recorded no episode."""
    try:
        partial = json.loads((out / RESULTS_JSON).read_text()).get("complete") is False
        return partial and not read_episodes_jsonl(out / EPISODES_JSONL)
    except (OSError, ValueError, AttributeError):
        return False


def prepare_output(config: EvalConfig, out: Path, resume: bool = False) -> dict[int, dict[str, Any]]:
    """Check ``out`` for this run (the module docstring) and return the episodes already recorded
    there (by index; empty for a fresh run). Raises :class:`OutputError` with what to do."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"the output folder {out} is a file")
    _check_writable(out)
    present = [name for name in RUN_FILES if (out / name).exists()]
    if not present:
        return {}  # a fresh run (also with resume: nothing to resume)
    if _empty_run(out):  # a run stopped before its first episode (a typo, a kill): nothing to keep
        for name in present:
            (out / name).unlink()
        return {}
    if not resume:
        raise OutputError(f"{out} holds another run's results ({', '.join(present)}): pass --resume to "
                          "continue that run, or choose another --out (nothing was run or changed)")
    results_path = out / RESULTS_JSON
    try:
        stored = json.loads(results_path.read_text())
        stored_config = stored["config"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise OutputError(f"cannot resume the run in {out}: no readable {RESULTS_JSON} with its config "
                          f"({type(error).__name__}); choose another --out") from None
    differences = _config_differences(stored_config, config)
    if differences:
        raise OutputError(f"cannot resume the run in {out}: it was run with other settings ({', '.join(differences)} "
                          "differ); resume with the same arguments, or choose another --out")
    return read_episodes_jsonl(out / EPISODES_JSONL, repair=True)


def build_results(config: EvalConfig, recorded: Mapping[int, dict[str, Any]], total: int,
                  complete: bool) -> dict[str, Any]:
    """``results.json``'s content over the ``recorded`` episodes (split order), secrets redacted."""
    episodes = [recorded[i] for i in sorted(recorded)]
    results = {
        "complete": complete,
        "episodes_done": len(episodes),
        "episodes_total": total,
        "config": asdict(config),
        "metrics": {name: asdict(m) for name, m in compute_metrics(episodes).items()} if episodes else {},
        "reward_per_turn": [asdict(m) for m in reward_per_turn(episodes, config.turns)] if episodes else [],
        "refinement": {name: asdict(m) for name, m in refinement_metrics(episodes, config.turns).items()},
        "judge_steps": judge_steps(episodes),
        "episodes": episodes,
    }
    if has_judge(episodes):
        results["reward_per_turn_no_judge"] = [asdict(m) for m in reward_per_turn_no_judge(episodes, config.turns)]
    return redact_data(results)


def write_results(results: dict[str, Any], out: Path) -> None:
    """``results.json``, ``episodes.csv`` and ``report.html`` (each atomically, secrets redacted)."""
    results = redact_data(results)
    write_atomic(out / RESULTS_JSON, json.dumps(results, indent=1))
    write_atomic(out / EPISODES_CSV, csv_text(results["episodes"]))
    write_atomic(out / REPORT_HTML, html_report(results))


def evaluate(config: EvalConfig, out: Path, progress: bool = True, resume: bool = False) -> dict[str, Any]:
    """Run the evaluation into ``out`` (the module docstring: ``episodes.jsonl`` as it goes, then
    ``results.json``, ``episodes.csv`` and ``report.html``); return the results.

    Interrupted (KeyboardInterrupt, or any error), it writes the results of the episodes done
    marked ``"complete": false`` and re-raises; ``resume=True`` continues such a run.
    """
    out = Path(out)
    register_config_secrets(config)
    recorded = prepare_output(config, out, resume)
    jobs = load_jobs(config)
    known = {index: task["room"]["id"] for index, task in jobs}
    stray = [i for i, e in recorded.items() if known.get(i) != e.get("task_id")]
    if stray:
        raise OutputError(f"cannot resume the run in {out}: {EPISODES_JSONL} records rooms this split does not "
                          f"have at those places (indices {stray[:5]})")
    pending = [job for job in jobs if job[0] not in recorded]
    write_results(build_results(config, recorded, len(jobs), complete=False), out)
    log = _EpisodeLog(out / EPISODES_JSONL)

    def record(index: int, episode: dict[str, Any]) -> None:
        clean = redact_data(episode)
        with _sigint_deferred():  # the line and the results learn of the episode together, or neither
            log.append(index, clean)
            recorded[index] = clean

    try:
        run_episodes(config, out, progress, jobs=pending, on_episode=record, done=len(recorded))
    except BaseException:
        with _no_sigint():
            log.close()
            write_results(build_results(config, recorded, len(jobs), complete=False), out)
        raise
    log.close()
    results = build_results(config, recorded, len(jobs), complete=True)
    write_results(results, out)
    return results


@contextlib.contextmanager
def _sigint_deferred():
    """Hold a Ctrl-C that arrives inside the block until its end (main thread only), then raise it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda *_: caught.append(True))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


class _no_sigint:
    """Ignore a second Ctrl-C while the partial results are written (main thread only)."""

    def __enter__(self):
        self._previous = None
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False

