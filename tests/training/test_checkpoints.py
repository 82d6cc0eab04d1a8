"""Checkpoint robustness without a full trainer: atomic folders, ``resume=latest`` skipping what is
incomplete, clear errors for broken ``trainer.pt``, loading without running pickled code, exact RNG
and sampler round trips. Real torch files throughout."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")

from training.checkpoints import (  # noqa: E402
    apply_trainer_state,
    build_trainer_state,
    capture_rng_state,
    checkpoint_problem,
    latest_checkpoint,
    pack_plain,
    read_trainer_state,
    restore_rng_state,
    unpack_plain,
    write_checkpoint,
    write_trainer_state,
)
from training.trainer import RoomSampler, Trainer  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------- fixtures
def _learner(seed: int):
    """A tiny model with the trainer's optimizer, schedule and sampler, all seeded from ``seed``."""
    torch.manual_seed(seed)
    model = torch.nn.Linear(4, 3)
    value_head = torch.nn.Linear(3, 1)
    params = list(model.parameters()) + list(value_head.parameters())
    optimizer = torch.optim.AdamW(params, lr=1e-2, weight_decay=0.01, betas=(0.9, 0.99))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda update: 1.0 / (1 + update))
    return model, value_head, optimizer, scheduler, RoomSampler(7, seed)


def _train(model, value_head, optimizer, scheduler, sampler, steps: int) -> list:
    """Steps that use every generator the trainer checkpoints; returns everything they drew and computed."""
    seen = []
    for _ in range(steps):
        rooms = sampler.take(3)
        x = torch.randn(5, 4)
        noise = float(np.random.rand()) + random.random()
        loss = (value_head(model(x)) ** 2).mean() * (1 + noise)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        seen.append((rooms, float(loss.detach()), [p.detach().clone() for p in model.parameters()], scheduler.get_last_lr()))
    return seen


def _state(step: int = 3, seed: int = 0) -> dict:
    """A real trainer state after two updates, labelled ``step``."""
    model, value_head, optimizer, scheduler, sampler = _learner(seed)
    _train(model, value_head, optimizer, scheduler, sampler, 2)
    return build_trainer_state(step, optimizer, scheduler, value_head, sampler, {"seed": seed, "path": Path("x")})


def _write_weights(folder: Path, scale: float = 1.0) -> None:
    """What ``save_pretrained`` leaves: a config and a safetensors file (written with the real library)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"model_type": "tiny"}))
    safetensors_torch.save_file({"w": torch.full((16, 16), scale)}, str(folder / "model.safetensors"))


def _checkpoint(path: Path, step: int = 3, scale: float = 1.0) -> Path:
    return write_checkpoint(path, lambda folder: _write_weights(folder, scale), _state(step))


def _truncate(file: Path, keep: int) -> None:
    file.write_bytes(file.read_bytes()[:keep])


class _RunsCode:
    """Unpickling this makes a folder: proof that a load ran code from the file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


# ---------------------------------------------------------------------- state (de)serialisation
def test_pack_plain_round_trips_generator_states_exactly():
    random.seed(11)
    np.random.seed(12)
    values = {
        "numpy_legacy": np.random.get_state(),  # ('MT19937', uint32 array, pos, has_gauss, cached_gaussian)
        "python": random.getstate(),  # (3, tuple of 625 ints, None)
        "pcg64": np.random.default_rng(13).bit_generator.state,  # 128-bit ints
        "mt19937": np.random.Generator(np.random.MT19937(14)).bit_generator.state,  # holds an array
        "scalars": [np.float32(0.1), np.int64(-3), np.float64(2.5), True, None, float("inf"), 1e-310],
    }
    back = unpack_plain(pack_plain(values))
    assert type(back["numpy_legacy"]) is tuple and type(back["python"]) is tuple
    assert back["python"] == values["python"]
    assert back["pcg64"] == values["pcg64"]
    for ours, theirs in zip(back["numpy_legacy"], values["numpy_legacy"]):
        if isinstance(theirs, np.ndarray):
            assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)
        else:
            assert ours == theirs and type(ours) is type(theirs)
    key = back["mt19937"]["state"]["key"]
    assert key.dtype == values["mt19937"]["state"]["key"].dtype
    assert np.array_equal(key, values["mt19937"]["state"]["key"])
    assert [type(v) for v in back["scalars"]] == [type(v) for v in values["scalars"]]
    assert back["scalars"] == values["scalars"]
    # and the generators continue identically from the restored states
    generator = np.random.Generator(np.random.MT19937())
    generator.bit_generator.state = back["mt19937"]
    assert generator.random() == np.random.Generator(np.random.MT19937(14)).random()


def test_pack_plain_refuses_what_is_not_plain_data():
    with pytest.raises(TypeError, match="cannot store a object"):
        pack_plain({"x": object()})
    with pytest.raises(TypeError, match="keys must be strings"):
        pack_plain({1: 2})


def test_rng_state_round_trips_exactly_through_trainer_pt(tmp_path):
    torch.manual_seed(1)
    np.random.seed(2)
    random.seed(3)
    torch.rand(3), np.random.randn(3), random.random()  # noqa: B018 - advance past the seeds (and a cached gauss)
    state = capture_rng_state()
    expected = (torch.rand(4), torch.randn(2), np.random.rand(4), np.random.randn(3), random.random(), random.getrandbits(64))
    file = tmp_path / "trainer.pt"
    write_trainer_state(file, {**_state(), "rng": state})
    torch.manual_seed(99), np.random.seed(99), random.seed(99)  # noqa: B018 - someone else used the generators
    restore_rng_state(read_trainer_state(file)["rng"])
    got = (torch.rand(4), torch.randn(2), np.random.rand(4), np.random.randn(3), random.random(), random.getrandbits(64))
    assert torch.equal(got[0], expected[0]) and torch.equal(got[1], expected[1])
    assert np.array_equal(got[2], expected[2]) and np.array_equal(got[3], expected[3])
    assert got[4:] == expected[4:]


def test_trainer_state_resumes_exactly(tmp_path):
    """Save after 3 steps, run 2 more; a fresh learner loaded from the file runs the same 2 steps."""
    model, value_head, optimizer, scheduler, sampler = _learner(0)
    _train(model, value_head, optimizer, scheduler, sampler, 3)
    file = tmp_path / "trainer.pt"
    write_trainer_state(file, build_trainer_state(3, optimizer, scheduler, value_head, sampler, {}))
    model_sd = {k: v.clone() for k, v in model.state_dict().items()}
    head_sd = {k: v.clone() for k, v in value_head.state_dict().items()}
    uninterrupted = _train(model, value_head, optimizer, scheduler, sampler, 2)

    model, value_head, optimizer, scheduler, sampler = _learner(1)  # other weights, generators and cursor
    model.load_state_dict(model_sd)  # what save_pretrained / from_pretrained carry
    step = apply_trainer_state(read_trainer_state(file), optimizer, scheduler, value_head, sampler)
    assert step == 3
    value_head.load_state_dict(head_sd)  # (loaded from the state too; checked by the equality below)
    resumed = _train(model, value_head, optimizer, scheduler, sampler, 2)
    for (rooms_a, loss_a, params_a, lr_a), (rooms_b, loss_b, params_b, lr_b) in zip(uninterrupted, resumed):
        assert rooms_a == rooms_b and loss_a == loss_b and lr_a == lr_b
        assert all(torch.equal(a, b) for a, b in zip(params_a, params_b))


def test_value_head_is_restored_from_the_state(tmp_path):
    model, value_head, optimizer, scheduler, sampler = _learner(0)
    _train(model, value_head, optimizer, scheduler, sampler, 2)
    file = tmp_path / "trainer.pt"
    write_trainer_state(file, build_trainer_state(2, optimizer, scheduler, value_head, sampler, {}))
    other = _learner(5)
    apply_trainer_state(read_trainer_state(file), other[2], other[3], other[1], other[4])
    assert all(torch.equal(a, b) for a, b in zip(value_head.parameters(), other[1].parameters()))


# ---------------------------------------------------------------------- broken trainer.pt
@pytest.mark.parametrize("keep", [0, 10, 0.5, -30])
def test_truncated_trainer_pt_is_a_clear_error(tmp_path, keep):
    file = tmp_path / "trainer.pt"
    write_trainer_state(file, _state())
    read_trainer_state(file)  # whole, it loads
    size = file.stat().st_size
    _truncate(file, int(size * keep) if isinstance(keep, float) else keep)
    with pytest.raises(ValueError, match="incomplete or corrupt") as caught:
        read_trainer_state(file)
    assert str(file) in str(caught.value)


def test_garbage_and_foreign_trainer_pt_are_clear_errors(tmp_path):
    file = tmp_path / "trainer.pt"
    file.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(ValueError, match="incomplete or corrupt"):
        read_trainer_state(file)
    torch.save({"step": 2}, file)  # loadable, but not a trainer state of this format
    with pytest.raises(ValueError, match="not a trainer state of format 2"):
        read_trainer_state(file)


def test_pickled_code_in_trainer_pt_is_refused_not_run(tmp_path):
    file = tmp_path / "trainer.pt"
    marker = tmp_path / "code_ran"
    torch.save({**_state(), "sampler": _RunsCode(marker)}, file)
    with pytest.raises(ValueError, match="refusing to load it") as caught:
        read_trainer_state(file)
    message = str(caught.value)
    assert str(file) in message and ("posix.mkdir" in message or "nt.mkdir" in message)
    assert not marker.exists()
    torch.load(file, weights_only=False)  # the unsafe load the trainer used to do runs the file's code
    assert marker.is_dir()


def test_old_format_trainer_pt_with_numpy_objects_is_refused(tmp_path):
    """What the previous trainer wrote (numpy RNG state as a pickled ndarray) is not unpickled."""
    file = tmp_path / "trainer.pt"
    torch.save({"step": 2, "numpy_rng": np.random.get_state(), "python_rng": random.getstate()}, file)
    with pytest.raises(ValueError, match="older version of the trainer"):
        read_trainer_state(file)


# ---------------------------------------------------------------------- folders and resume=latest
def test_latest_skips_partial_and_incomplete_checkpoints(tmp_path):
    folder = tmp_path / "checkpoints"
    good = _checkpoint(folder / "step_000001", step=1)
    # cut between its writes: model written, no trainer.pt
    _write_weights(folder / "step_000002" / "model")
    # a whole checkpoint still under its temporary name (the process died before the rename)
    _checkpoint(folder / "x", step=3).rename(folder / "step_000003.partial-4242")
    # trainer.pt cut short
    _truncate(_checkpoint(folder / "step_000004", step=4) / "trainer.pt", -30)
    # model weights cut short
    _truncate(_checkpoint(folder / "step_000005", step=5) / "model" / "model.safetensors", -7)
    # no model/ at all
    write_trainer_state((folder / "step_000006").mkdir() or folder / "step_000006" / "trainer.pt", _state(6))
    with pytest.warns(UserWarning) as caught:
        chosen = latest_checkpoint(folder)
    assert chosen == good
    assert read_trainer_state(chosen / "trainer.pt")["step"] == 1
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "\n" not in message and "using step_000001" in message
    for name in ("step_000002 (no trainer.pt)", "step_000003.partial-4242", "step_000004", "step_000005",
                 "model.safetensors is incomplete", "step_000006 (no model/)"):
        assert name in message


def test_latest_takes_the_numerically_newest_without_warning(tmp_path, recwarn):
    folder = tmp_path / "checkpoints"
    _checkpoint(folder / "step_999999", step=999_999)
    newest = _checkpoint(folder / "step_1000000", step=1_000_000)
    assert latest_checkpoint(folder) == newest
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]


def test_latest_without_a_complete_checkpoint_names_the_folder(tmp_path):
    folder = tmp_path / "checkpoints"
    with pytest.raises(FileNotFoundError, match="no checkpoint folder .*checkpoints"):
        latest_checkpoint(folder)
    _write_weights(folder / "step_000002" / "model")
    with pytest.raises(FileNotFoundError, match=r"no complete checkpoint in .*checkpoints; skipped step_000002"):
        latest_checkpoint(folder)


def test_explicit_resume_of_a_broken_checkpoint_fails_before_loading_anything(tmp_path):
    checkpoint = _checkpoint(tmp_path / "step_000003")
    trainer = SimpleNamespace(config=SimpleNamespace(resume=str(checkpoint)), output_dir=tmp_path)
    assert Trainer._resume_dir(trainer) == checkpoint
    _truncate(checkpoint / "trainer.pt", 100)
    with pytest.raises(ValueError, match=r"trainer\.pt is incomplete or corrupt"):
        Trainer._resume_dir(trainer)
    trainer.config.resume = str(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="is not a checkpoint"):
        Trainer._resume_dir(trainer)


def test_real_save_pretrained_output_counts_as_complete(tmp_path):
    """The checks accept what transformers and peft actually write (full model and LoRA adapters)."""
    transformers = pytest.importorskip("transformers")
    config = transformers.Qwen2Config(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=32)
    model = transformers.Qwen2ForCausalLM(config)
    full = write_checkpoint(tmp_path / "full" / "step_000001", model.save_pretrained, _state(1))
    assert checkpoint_problem(full) is None
    peft = pytest.importorskip("peft")
    lora = peft.get_peft_model(model, peft.LoraConfig(r=2, target_modules=["q_proj"]))
    adapters = write_checkpoint(tmp_path / "lora" / "step_000001", lora.save_pretrained, _state(1))
    assert (adapters / "model" / "adapter_config.json").is_file() and checkpoint_problem(adapters) is None


# ---------------------------------------------------------------------- atomic writes
def test_resave_at_the_same_step_replaces_the_folder(tmp_path):
    path = _checkpoint(tmp_path / "step_000003", step=3, scale=1.0)
    (path / "model" / "stale.bin").write_bytes(b"from the first save")
    _checkpoint(path, step=3, scale=2.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step_000003"]  # no .partial / .old left
    assert not (path / "model" / "stale.bin").exists()
    assert float(safetensors_torch.load_file(str(path / "model" / "model.safetensors"))["w"][0, 0]) == 2.0
    assert checkpoint_problem(path) is None


def test_failed_save_keeps_the_previous_checkpoint(tmp_path):
    path = _checkpoint(tmp_path / "step_000003", step=3, scale=1.0)
    before = {p.relative_to(path): p.read_bytes() for p in path.rglob("*") if p.is_file()}

    def dies_halfway(folder):
        _write_weights(folder, scale=5.0)
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_checkpoint(path, dies_halfway, _state(3))
    assert {p.relative_to(path): p.read_bytes() for p in path.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step_000003"]


def test_state_that_a_safe_load_would_refuse_is_not_written(tmp_path):
    file = tmp_path / "trainer.pt"
    with pytest.raises(TypeError, match="weights_only load refuses.*numpy"):
        write_trainer_state(file, {**_state(), "numpy_rng": np.random.get_state()})
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(TypeError):  # and a whole checkpoint with it is not committed
        write_checkpoint(tmp_path / "step_000001", _write_weights, {**_state(), "x": _RunsCode(tmp_path / "m")})
    assert list(tmp_path.iterdir()) == [] and not (tmp_path / "m").exists()


def test_save_refuses_to_replace_a_folder_that_is_not_a_checkpoint(tmp_path):
    target = tmp_path / "my_results"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a checkpoint folder"):
        _checkpoint(target)
    assert (target / "notes.txt").read_text() == "keep me"


def test_process_killed_mid_save_leaves_no_step_folder(tmp_path):
    """A real crash (os._exit after the weights, before trainer.pt): nothing named step_NNNNNN appears,
    the previous checkpoint stays the latest, the leftover is named in the warning."""
    folder = tmp_path / "checkpoints"
    previous = _checkpoint(folder / "step_000001", step=1)
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(REPO)!r})
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from pathlib import Path
        from test_checkpoints import _state, _write_weights
        from training.checkpoints import write_checkpoint

        def killed(folder):
            _write_weights(folder)
            os._exit(9)

        write_checkpoint(Path({str(folder / "step_000002")!r}), killed, _state(2))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 9, done.stderr
    names = sorted(p.name for p in folder.iterdir())
    assert "step_000002" not in names
    leftovers = [n for n in names if n.startswith("step_000002.partial-")]
    assert len(leftovers) == 1 and (folder / leftovers[0] / "model" / "model.safetensors").is_file()
    with pytest.warns(UserWarning, match=leftovers[0]):
        assert latest_checkpoint(folder) == previous
