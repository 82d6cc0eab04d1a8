"""What the vLLM engine pushes after an update, checked on CPU with the tiny VLM and real peft:
LoRA adapters merged into the live module (no copy), base parameter names, unmerged after; LoRA
wraps the language model only unless the vision tower is trained."""

from __future__ import annotations

import copy

import pytest

pytest.importorskip("peft")

import peft  # noqa: E402
import torch  # noqa: E402

from agents.hf_chat import load_chat_model, vision_tower_prefix  # noqa: E402
from training.engines import image_processor_settings, live_weights  # noqa: E402
from training.tiny_vlm import build_tiny_qwen25_vl  # noqa: E402
from training.trainer import lora_modules  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        yield load_chat_model(build_tiny_qwen25_vl(tmp_path_factory.mktemp("tiny_vlm")), dtype=torch.float32)


def _lora(model, vision: str | None):
    torch.manual_seed(0)
    targets = lora_modules(model, ("q_proj", "v_proj", "gate_proj"), vision)
    wrapped = peft.get_peft_model(copy.deepcopy(model), peft.LoraConfig(r=4, lora_alpha=8, target_modules=targets))
    for name, p in wrapped.named_parameters():
        if "lora_B" in name:
            p.data.normal_(0, 0.5)  # lora_B starts at 0: make the merge change something
    return wrapped, targets


def test_lora_targets_the_language_model_only(tiny):
    model, _ = tiny
    vision = vision_tower_prefix(model)
    assert vision == "model.visual"
    targets = lora_modules(model, ("q_proj", "gate_proj"), vision)
    assert targets and all(".language_model." in f".{t}" for t in targets)
    # the vision tower has gate_proj modules too: they are the ones left out
    assert any(n.startswith(vision) and n.endswith("gate_proj") for n, _ in model.named_modules())
    with pytest.raises(ValueError, match="name no module"):
        lora_modules(model, ("qkv_typo",), vision)


def test_live_weights_merge_in_place_under_base_names(tiny):
    model, _ = tiny
    wrapped, _ = _lora(model, vision_tower_prefix(model))
    expected = copy.deepcopy(wrapped).merge_and_unload().state_dict()
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        before = wrapped(input_ids=ids).logits
    with live_weights(wrapped) as pairs:
        pushed = dict(pairs)
        assert set(pushed) == set(expected)
        for name, tensor in pushed.items():
            assert torch.allclose(tensor, expected[name], atol=1e-6), name
        # no copy of the model: a pushed tensor is the live module's own storage
        live = dict(wrapped.named_parameters())
        embed = "model.language_model.embed_tokens.weight"
        assert pushed[embed].data_ptr() == live[f"base_model.model.{embed}"].data_ptr()
    with torch.no_grad():
        after = wrapped(input_ids=ids).logits
    assert torch.allclose(before, after, atol=1e-6)  # unmerged again: training goes on with the adapters
    assert not any(p.requires_grad for n, p in wrapped.named_parameters() if "lora_" not in n)


def test_full_model_pushes_its_own_tensors(tiny):
    model, encoder = tiny
    with live_weights(model) as pairs:
        pushed = dict(pairs)
    assert set(pushed) == set(model.state_dict())
    assert image_processor_settings(encoder.processor) == {"min_pixels": 56 * 56, "max_pixels": 112 * 224}


def test_trained_vision_tower_is_pushed_once_under_its_base_names(tiny):
    model, _ = tiny
    vision = vision_tower_prefix(model)
    targets = lora_modules(model, ("q_proj",), vision)
    wrapped = peft.get_peft_model(copy.deepcopy(model), peft.LoraConfig(r=4, target_modules=targets,
                                                                         modules_to_save=[vision]))
    trained = next(p for n, p in wrapped.named_parameters() if ".modules_to_save.default." in n)
    with torch.no_grad():
        trained.add_(1.0)  # the trained copy moves; the original stays behind for the reference
    expected = copy.deepcopy(wrapped).merge_and_unload().state_dict()
    with live_weights(wrapped) as pairs:
        pushed = dict(pairs)
    assert set(pushed) == set(expected)
    assert all(torch.equal(pushed[k], expected[k]) for k in expected)
