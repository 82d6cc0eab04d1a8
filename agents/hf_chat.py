"""One chat encoder for every ``transformers`` consumer: the ``hf:`` policy, the HF engine, the learner.

A :class:`~metaspatial_env.prompting.Conversation` becomes model inputs in one place, so what the
policy samples from, what the engine generates with and what the learner recomputes are the same
tokens and the same pixels:

- :meth:`ChatEncoder.prompt` renders the chat template of a conversation (or of ``hf``-format
  messages) and lists its renders in order: a :class:`Prompt`.
- :meth:`ChatEncoder.inputs` turns prompts into one left-padded batch for ``generate``; for a
  vision-language model the processor expands each image placeholder into the image's visual
  tokens and returns ``pixel_values`` and the image grid sizes beside the token ids.
- :meth:`ChatEncoder.sequences` rebuilds a right-padded batch from stored token ids (prompt plus
  response) and the renders that were in the prompt: the learner's replay of a sampled row. The
  pixels come from the same image processor, so they equal what the engine saw; nothing float is
  stored per row.
- :meth:`ChatEncoder.image_tokens` prices an image by the processor's own resize rule, which is
  what the conversation's token budget charges per render.

A text-only model is the case without a processor: the template is rendered with string contents
and the renders are left out. :func:`load_chat_model` picks the case from the checkpoint's config
(a model type with an image-text-to-text class loads as a VLM) and loads LoRA checkpoints
(``adapter_config.json``) on their base.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from metaspatial_env.deps import require
from metaspatial_env.prompting import SYSTEM_PROMPT, Conversation, message_images

#: Names under which ``transformers`` VLMs keep their vision tower (Qwen2-VL family, LLaVA, ...).
VISION_TOWER_NAMES = ("visual", "vision_tower", "vision_model")


@dataclass(frozen=True)
class Prompt:
    """A chat ready for a model: the rendered template and the images it refers to, in order."""

    text: str
    """The chat template with the generation prompt; one image placeholder per image."""
    images: tuple[np.ndarray, ...] = field(default=())
    """uint8 HxWx3 renders, in the order of the placeholders (empty for text-only models)."""


def text_messages(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Chat messages with string contents (the text parts joined), for text-only chat templates."""
    return [{"role": m["role"], "content": m["content"] if isinstance(m["content"], str)
             else "".join(part["text"] for part in m["content"] if part.get("type") == "text")}
            for m in messages]


def load_tokenizer(path: str | Path):
    """The tokenizer of a checkpoint: ``AutoTokenizer``, except for a plain ``tokenizers`` tokenizer.

    A tokenizer saved as the generic backend (``tokenizer_class`` ``TokenizersBackend`` or
    ``PreTrainedTokenizerFast``, as :func:`training.pretrain.build_tokenizer` saves) is loaded as
    saved. ``AutoTokenizer`` would pick the model type's class (``Qwen2Tokenizer`` for the small
    policy), which rebuilds the pre-tokenizer and so silently tokenizes differently from
    pre-training (the small policy's prompts came out three times as long).
    """
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    config_file = Path(path) / "tokenizer_config.json"
    if config_file.is_file():
        declared = json.loads(config_file.read_text()).get("tokenizer_class")
        if declared in ("TokenizersBackend", "PreTrainedTokenizerFast"):
            return PreTrainedTokenizerFast.from_pretrained(path)
    return AutoTokenizer.from_pretrained(path)


class ChatEncoder:
    """Conversations to token ids and pixels for one model (``processor`` None: text-only)."""

    def __init__(self, tokenizer: Any, processor: Any | None = None):
        self.tokenizer = tokenizer
        self.processor = processor
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        self.image_token_id = getattr(processor, "image_token_id", None) if processor is not None else None
        self.forbidden_ids = self._placeholder_ids()
        """Tokens an answer may not contain: a VLM's image and video placeholders and markers. A
        sampled placeholder would be read as an image slot when the row is replayed, so the
        engines never sample them and the learner's law leaves them out the same way."""

    def _placeholder_ids(self) -> list[int]:
        if self.processor is None:
            return []
        ids = {getattr(self.processor, name, None) for name in ("image_token_id", "video_token_id")}
        for token in ("<|vision_start|>", "<|vision_end|>", getattr(self.processor, "image_token", None),
                      getattr(self.processor, "video_token", None)):
            if token and token in self.tokenizer.get_vocab():
                ids.add(self.tokenizer.convert_tokens_to_ids(token))
        return sorted(int(i) for i in ids if i is not None)

    @property
    def vision(self) -> bool:
        """Whether the model sees images."""
        return self.processor is not None

    # ------------------------------------------------------------------ budget
    def count_tokens(self, text: str) -> int:
        """Exact tokens of ``text`` (the conversation's budget is in these)."""
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def image_tokens(self, image: np.ndarray) -> int:
        """Visual tokens the processor spends on ``image`` (its own resize rule; 0 text-only)."""
        if self.processor is None:
            return 0
        height, width = np.asarray(image).shape[:2]
        return int(self.processor._get_num_multimodal_tokens(image_sizes=[(height, width)]).num_image_tokens[0])

    def conversation(self, max_prompt_tokens: int | None, images: bool = True,
                     system_prompt: str = SYSTEM_PROMPT) -> Conversation:
        """A conversation priced in this model's tokens; renders only when the model sees them."""
        return Conversation(max_prompt_tokens, self.count_tokens, images=images and self.vision,
                            system_prompt=system_prompt, image_tokens=self.image_tokens)

    # ------------------------------------------------------------------ prompts
    def prompt(self, chat: Conversation | list[dict[str, Any]]) -> Prompt:
        """The prompt of a conversation (within its budget) or of ``hf``-format messages."""
        messages = chat.messages("hf") if isinstance(chat, Conversation) else chat
        if self.processor is None:
            text = self.tokenizer.apply_chat_template(text_messages(messages), add_generation_prompt=True,
                                                      tokenize=False)
            return Prompt(text)
        text = self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return Prompt(text, tuple(np.array(image, dtype=np.uint8) for image in message_images(messages)))

    def inputs(self, prompts: Sequence[Prompt]) -> dict[str, Any]:
        """One left-padded batch of prompts for ``generate`` (tensors on the CPU)."""
        texts = [p.text for p in prompts]
        images = [image for p in prompts for image in p.images]
        if self.processor is None or not images:
            batch = self.tokenizer(texts, padding=True, padding_side="left", return_tensors="pt",
                                   add_special_tokens=False)
            return dict(batch)
        batch = self.processor(text=texts, images=images, padding=True, padding_side="left", return_tensors="pt")
        return dict(batch)

    def sequences(self, rows: Sequence[tuple[Sequence[int], Sequence[np.ndarray]]],
                  pixels: bool = True) -> dict[str, Any]:
        """A right-padded batch of stored token ids and each row's renders (the learner's replay).

        ``pixels=False`` leaves the images to the caller (it brings their encoded features and grid
        sizes) and keeps the image-token types the model's 3D positions need.
        """
        torch = require("torch", "hf", "the chat encoder")
        width = max(len(ids) for ids, _ in rows)
        input_ids = torch.full((len(rows), width), self.tokenizer.pad_token_id, dtype=torch.long)
        attention = torch.zeros((len(rows), width), dtype=torch.long)
        for i, (ids, _) in enumerate(rows):
            input_ids[i, : len(ids)] = torch.as_tensor(list(ids), dtype=torch.long)
            attention[i, : len(ids)] = 1
        batch: dict[str, Any] = {"input_ids": input_ids, "attention_mask": attention}
        images = [image for _, row_images in rows for image in row_images]
        if self.processor is None or not images:
            return batch
        batch["mm_token_type_ids"] = torch.as_tensor(self.processor.create_mm_token_type_ids(input_ids.tolist()))
        if pixels:
            batch.update(self.pixels(images))
        return batch

    def pixels(self, images: Sequence[np.ndarray]) -> dict[str, Any]:
        """``pixel_values`` and ``image_grid_thw`` of images, by the processor's image processor."""
        return dict(self.processor.image_processor(images=list(images), return_tensors="pt"))

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=True)

    def save(self, path: str | Path) -> None:
        """Write the processor (tokenizer, chat template, image settings) or the tokenizer."""
        (self.processor or self.tokenizer).save_pretrained(path)


def is_vision_checkpoint(path: str | Path) -> bool:
    """Whether the checkpoint's model type has an image-text-to-text class in ``transformers``."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES

    return AutoConfig.from_pretrained(path).model_type in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES


def load_encoder(path: str | Path) -> ChatEncoder:
    """The encoder of a checkpoint: its processor for a VLM, its tokenizer otherwise."""
    if is_vision_checkpoint(_base_path(path)):
        from transformers import AutoProcessor

        processor = AutoProcessor.from_pretrained(path)
        return ChatEncoder(processor.tokenizer, processor)
    return ChatEncoder(load_tokenizer(path))


def load_base_model(path: str | Path, dtype: Any = "auto"):
    """A full checkpoint as ``AutoModelForImageTextToText`` (VLMs) or ``AutoModelForCausalLM``."""
    from transformers import AutoModelForCausalLM, AutoModelForImageTextToText

    cls = AutoModelForImageTextToText if is_vision_checkpoint(path) else AutoModelForCausalLM
    return cls.from_pretrained(path, dtype=dtype)


def _base_path(path: str | Path) -> str | Path:
    """The base checkpoint of a LoRA adapter directory, or ``path`` itself."""
    adapter = Path(path) / "adapter_config.json"
    if adapter.is_file():
        return json.loads(adapter.read_text())["base_model_name_or_path"]
    return path


def load_chat_model(path: str | Path, dtype: Any = "auto", merge_adapters: bool = True):
    """``(model, encoder)`` of a checkpoint; a LoRA adapter directory loads on its base model.

    ``merge_adapters`` folds LoRA adapters into the weights (inference); False keeps a
    ``peft.PeftModel``. Raises ValueError naming the path when nothing loads.
    """
    try:
        encoder = load_encoder(path)
        base = _base_path(path)
        model = load_base_model(base, dtype)
        if base != path:
            peft = require("peft", "hf", "LoRA checkpoints")
            model = peft.PeftModel.from_pretrained(model, path)
            if merge_adapters:
                model = model.merge_and_unload()
    except (ValueError, KeyError, OSError) as error:
        raise ValueError(f"cannot load {str(path)!r} as a transformers chat model: {error}") from None
    return model, encoder


def vision_tower_prefix(model: Any) -> str | None:
    """The module name of the model's vision tower (``model.visual`` for Qwen2.5-VL), or None."""
    for name, _ in model.named_modules():
        if name.rsplit(".", 1)[-1] in VISION_TOWER_NAMES:
            return name
    return None
