"""Trainer checkpoints that survive a kill: written aside and renamed into place, found complete, loaded
without running pickled code.

A checkpoint ``step_NNNNNN`` holds ``model/`` (``save_pretrained`` plus the processor or tokenizer)
and ``trainer.pt`` (optimizer, scheduler, value head, RNG and room-sampler states). It is written
into ``step_NNNNNN.partial-<pid>`` and renamed once whole, so a kill leaves the previous one intact;
:func:`latest_checkpoint` takes the newest complete one and names what it skipped. ``trainer.pt``
holds tensors and plain data only (RNG and sampler states as JSON text that keeps their types) and
loads with ``torch.load(weights_only=True)``; a truncated or tampered file is a ``ValueError``
naming it.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .trainer import RoomSampler

#: Version of ``trainer.pt``: tensors and plain data only (loaded with ``weights_only=True``).
TRAINER_STATE_FORMAT = 2
_TRAINER_STATE_KEYS = ("format", "step", "optimizer", "scheduler", "value_head", "sampler", "rng", "config")
#: ``step_NNNNNN``: a committed checkpoint folder (anything else named ``step_*`` is a leftover).
_STEP_FOLDER = re.compile(r"step_(\d+)")


def pack_plain(value: Any) -> str:
    """JSON text of ``value`` (dicts with string keys, lists, tuples, numpy arrays and scalars, Python
    scalars), exact: :func:`unpack_plain` gives back equal values of the same types (tuples stay
    tuples, arrays keep their dtype). Anything else raises ``TypeError``, so nothing is ever pickled."""

    def encode(v: Any) -> Any:
        if isinstance(v, np.ndarray):
            return {"__ndarray__": v.tolist(), "dtype": v.dtype.str, "shape": list(v.shape)}
        if isinstance(v, np.generic):  # before float: np.float64 is one
            return {"__npscalar__": v.item(), "dtype": v.dtype.str}
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        if isinstance(v, tuple):
            return {"__tuple__": [encode(x) for x in v]}
        if isinstance(v, list):
            return [encode(x) for x in v]
        if isinstance(v, dict):
            if not all(isinstance(k, str) for k in v):
                raise TypeError(f"pack_plain: dict keys must be strings, got {sorted(map(repr, v))}")
            if any(k.startswith("__") and k.endswith("__") for k in v):
                raise TypeError(f"pack_plain: dict key reserved for tags in {sorted(v)}")
            return {k: encode(x) for k, x in v.items()}
        raise TypeError(f"pack_plain: cannot store a {type(v).__name__} as plain data")

    return json.dumps(encode(value), allow_nan=True)


def unpack_plain(text: str) -> Any:
    """The value packed by :func:`pack_plain`."""

    def decode(v: Any) -> Any:
        if isinstance(v, list):
            return [decode(x) for x in v]
        if isinstance(v, dict):
            if "__ndarray__" in v:
                return np.array(v["__ndarray__"], dtype=np.dtype(v["dtype"])).reshape(v["shape"])
            if "__npscalar__" in v:
                return np.dtype(v["dtype"]).type(v["__npscalar__"])
            if "__tuple__" in v:
                return tuple(decode(x) for x in v["__tuple__"])
            return {k: decode(x) for k, x in v.items()}
        return v

    return decode(json.loads(text))


def capture_rng_state() -> dict[str, Any]:
    """The torch (CPU and CUDA), numpy (global) and Python ``random`` states as tensors and JSON text."""
    import torch

    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "numpy": pack_plain(np.random.get_state()),
        "python": pack_plain(random.getstate()),
    }


def restore_rng_state(state: dict[str, Any]) -> None:
    """Set the generators captured by :func:`capture_rng_state` (CUDA only where there is one)."""
    import torch

    torch.set_rng_state(state["torch"])
    if state["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    np.random.set_state(unpack_plain(state["numpy"]))
    random.setstate(unpack_plain(state["python"]))


def build_trainer_state(step: int, optimizer: Any, scheduler: Any, value_head: Any, sampler: RoomSampler,
                        config: dict[str, Any]) -> dict[str, Any]:
    """The content of ``trainer.pt``: only tensors and plain data (see :func:`read_trainer_state`)."""
    return {
        "format": TRAINER_STATE_FORMAT,
        "step": int(step),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "value_head": value_head.state_dict() if value_head is not None else None,
        "sampler": pack_plain(sampler.state()),
        "rng": capture_rng_state(),
        "config": json.dumps(config, default=str),  # a record of the run; never loaded back
    }


def apply_trainer_state(state: dict[str, Any], optimizer: Any, scheduler: Any, value_head: Any,
                        sampler: RoomSampler) -> int:
    """Load a :func:`build_trainer_state` into the objects and the global generators; returns its step."""
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    if value_head is not None:
        if state["value_head"] is None:
            raise ValueError("the checkpoint has no value head but this algorithm needs one")
        value_head.load_state_dict(state["value_head"])
    sampler.load(unpack_plain(state["sampler"]))
    restore_rng_state(state["rng"])
    return int(state["step"])


def write_trainer_state(file: Path, state: dict[str, Any]) -> None:
    """``torch.save`` to a temporary file beside ``file``, synced, then renamed over it; a state that
    ``weights_only`` loading would refuse (a pickled object other than tensors and plain data) raises
    ``TypeError`` and writes nothing."""
    import torch

    file = Path(file)
    temporary = file.with_name(f"{file.name}.tmp-{os.getpid()}")
    try:
        with temporary.open("wb") as handle:
            torch.save(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        unsafe_globals = getattr(torch.serialization, "get_unsafe_globals_in_checkpoint", None)
        refused = unsafe_globals(temporary) if unsafe_globals is not None else []
        if refused:
            raise TypeError(f"the trainer state holds objects that a weights_only load refuses: {refused}")
        os.replace(temporary, file)
    finally:
        temporary.unlink(missing_ok=True)


def read_trainer_state(file: Path) -> dict[str, Any]:
    """Load ``trainer.pt`` with ``weights_only=True`` (no pickled code runs); a file that is truncated,
    corrupt, of another format or that holds other pickled objects raises ``ValueError`` naming it."""
    import pickle

    import torch

    file = Path(file)
    if not file.is_file():
        raise FileNotFoundError(f"{file} does not exist")
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        reason = " ".join(str(error).split())
        if "GLOBAL" in reason:
            raise ValueError(
                f"{file} holds pickled Python objects beyond tensors and plain data (a trainer.pt of an older "
                f"version of the trainer, or a tampered file); refusing to load it, since unpickling them could "
                f"run code. {_unsupported_global(reason)}") from error
        raise ValueError(f"{file} is incomplete or corrupt (unreadable pickle: {reason[-200:]})") from error
    except Exception as error:  # noqa: BLE001 - truncation shows as OSError, RuntimeError, EOFError, ...
        raise ValueError(f"{file} is incomplete or corrupt ({type(error).__name__}: "
                         f"{(str(error).splitlines() or [''])[0][:200]})") from error
    if not isinstance(state, dict) or state.get("format") != TRAINER_STATE_FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"{file} is not a trainer state of format {TRAINER_STATE_FORMAT} (found {found!r})")
    missing = [k for k in _TRAINER_STATE_KEYS if k not in state]
    if missing:
        raise ValueError(f"{file} is incomplete or corrupt: it lacks {missing}")
    return state


def _unsupported_global(reason: str) -> str:
    """The refused class or function named in torch's weights-only error, as a sentence."""
    match = re.search(r"GLOBAL ([\w.]+)", reason)
    return f"Refused: {match[1]}." if match else ""


def write_checkpoint(path: Path, write_model: Any, state: dict[str, Any]) -> Path:
    """Write a checkpoint folder ``path`` (``model/`` by ``write_model(folder)``, then ``trainer.pt``).

    The files go to ``<name>.partial-<pid>`` beside ``path``, are synced, and the folder is renamed to
    ``path`` only when complete. An existing ``path`` (a re-save at the same step) is renamed away to
    ``<name>.old-<pid>``, the new one renamed in, the old one deleted; if the second rename fails the
    old one is put back. A failed write deletes its partial folder and leaves ``path`` as it was.
    """
    path = Path(path)
    if path.exists() and (not path.is_dir() or not {p.name for p in path.iterdir()} <= {"model", "trainer.pt"}):
        raise FileExistsError(f"{path} exists and is not a checkpoint folder; not replacing it")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.partial-{os.getpid()}")
    if partial.exists():  # left by an earlier, killed process that had this id
        shutil.rmtree(partial)
    partial.mkdir()
    try:
        write_model(partial / "model")
        write_trainer_state(partial / "trainer.pt", state)
        _sync_tree(partial)
        if path.exists():
            old = path.with_name(f"{path.name}.old-{os.getpid()}")
            if old.exists():
                shutil.rmtree(old)
            os.replace(path, old)
            try:
                os.replace(partial, path)
            except BaseException:
                os.replace(old, path)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(partial, path)
        _sync_dir(path.parent)
    finally:
        shutil.rmtree(partial, ignore_errors=True)  # gone already when committed
    return path


def _sync_tree(folder: Path) -> None:
    """fsync every file and folder under ``folder`` (so the rename commits data that is on disk)."""
    for root, _, files in os.walk(folder):
        for name in files:
            descriptor = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
        _sync_dir(Path(root))


def _sync_dir(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # platforms that cannot open a folder (Windows)
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def checkpoint_problem(path: Path) -> str | None:
    """Why the folder ``path`` is not a complete checkpoint, or None when it is one.

    Cheap checks, no loading: ``trainer.pt`` is a whole zip archive (a truncated one has lost its
    central directory); ``model/`` has ``config.json`` or ``adapter_config.json`` and weights whose
    files are whole (safetensors: header and data sizes agree; ``.bin``: a whole zip; sharded: every
    shard of the index)."""
    path = Path(path)
    if not path.is_dir():
        return "not a folder"
    trainer = path / "trainer.pt"
    if not trainer.is_file():
        return "no trainer.pt"
    if not _whole_zip(trainer):
        return f"{trainer} is incomplete or corrupt"
    model = path / "model"
    if not model.is_dir():
        return "no model/"
    if not (model / "config.json").is_file() and not (model / "adapter_config.json").is_file():
        return "model/ has no config.json or adapter_config.json"
    weights: list[Path] = []
    for index in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        if (model / index).is_file():
            try:
                weights = [model / name for name in sorted(set(json.loads((model / index).read_text())["weight_map"]
                                                                  .values()))]
            except (ValueError, KeyError, AttributeError):
                return f"{model / index} is incomplete or corrupt"
            break
    else:
        weights = [model / name for name in ("model.safetensors", "adapter_model.safetensors", "pytorch_model.bin",
                                             "adapter_model.bin") if (model / name).is_file()]
        if not weights:
            return "model/ has no weights"
    for file in weights:
        if not file.is_file():
            return f"{file} is missing"
        if not (_whole_safetensors(file) if file.suffix == ".safetensors" else _whole_zip(file)):
            return f"{file} is incomplete or corrupt"
    return None


def _whole_zip(file: Path) -> bool:
    import zipfile

    try:
        with zipfile.ZipFile(file) as archive:
            return any(name.endswith("data.pkl") for name in archive.namelist())
    except (OSError, zipfile.BadZipFile, ValueError):
        return False


def _whole_safetensors(file: Path) -> bool:
    try:
        with file.open("rb") as handle:
            length = int.from_bytes(handle.read(8), "little")
            if length <= 0 or length > 100_000_000:
                return False
            header = json.loads(handle.read(length))
        end = max((int(t["data_offsets"][1]) for k, t in header.items() if k != "__metadata__"), default=0)
        return file.stat().st_size == 8 + length + end
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return False


def latest_checkpoint(folder: Path) -> Path:
    """The newest complete ``step_NNNNNN`` checkpoint in ``folder``.

    Incomplete ones newer than it and leftovers of interrupted saves (``step_*.partial-*``,
    ``step_*.old-*``) are skipped with one warning naming them; no complete checkpoint raises
    ``FileNotFoundError`` naming ``folder``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"resume=latest but no checkpoint folder {folder}")
    steps, skipped = [], []
    for entry in sorted(folder.iterdir()):
        match = _STEP_FOLDER.fullmatch(entry.name)
        if match and entry.is_dir():
            steps.append((int(match[1]), entry))
        elif entry.name.startswith("step_"):
            skipped.append(f"{entry.name} (left by an interrupted save)")
    chosen = None
    for _, entry in sorted(steps, reverse=True):
        problem = checkpoint_problem(entry)
        if problem is None:
            chosen = entry
            break
        skipped.append(f"{entry.name} ({problem})")
    if chosen is None:
        detail = f"; skipped {', '.join(skipped)}" if skipped else ""
        raise FileNotFoundError(f"resume=latest but no complete checkpoint in {folder}{detail}")
    if skipped:
        warnings.warn(f"resume=latest: using {chosen.name}; skipped incomplete checkpoints in {folder}: "
                      f"{', '.join(skipped)}", stacklevel=2)
    return chosen

