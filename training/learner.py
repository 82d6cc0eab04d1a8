"""The learner's replay of sampled rows: each response's log-probabilities under a model, with the
renders its prompt held.

A row is one (episode, turn) answer: the prompt ids as the engine expanded them, the sampled
response ids, and the episode's renders that were in the prompt (by index; the renders are kept
once per episode, never as float pixels per row). :func:`response_logprobs` rebuilds a
right-padded micro-batch through the same :class:`~agents.hf_chat.ChatEncoder` the engine used,
so a VLM sees the same pixels (its ``pixel_values`` are recomputed by the processor for the
micro-batch) and the same 3D positions as when the answer was sampled. A forward of a VLM with
image tokens but no pixels does not fail, it silently scores another context; the test suite
checks that withholding the renders changes the log-probabilities.

Only the response positions are projected onto the vocabulary (``logits_to_keep`` with each row's
positions): a 6 k-token prompt's full logits would be gigabytes per row for a 150 k vocabulary.

With the vision tower frozen, :class:`RenderFeatures` encodes each render of a step once and every
pass (old, reference, each update) reuses the features through ``mm_encoder_outputs``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Renders the vision tower encodes per call when caching a step's features.
RENDERS_PER_CALL = 8


@dataclass
class Row:
    """One sampled answer as the learner replays it."""

    prompt_ids: list[int]
    response_ids: list[int]
    images: list[np.ndarray]
    """The renders in the prompt, in order."""
    image_keys: list[tuple[int, int]]
    """``(episode index, render index)`` of each image: what a step's feature cache is keyed by."""


def rows_of(episodes: Sequence[Any]) -> list[Row]:
    """Every (episode, turn) of a rollout as a row, episode by episode."""
    return [Row(list(t.prompt_ids), list(t.response_ids), e.images_of(t), [(e.index, k) for k in t.images])
            for e in episodes for t in e.turns]


class RenderFeatures:
    """The vision tower's output for each render of a step, computed once (frozen tower)."""

    def __init__(self, model: Any, encoder: Any, rows: Sequence[Row], device: Any):
        import torch

        unique: dict[tuple[int, int], np.ndarray] = {}
        for row in rows:
            for key, image in zip(row.image_keys, row.images):
                unique.setdefault(key, image)
        keys = list(unique)
        self.features: dict[tuple[int, int], Any] = {}
        self.grids: dict[tuple[int, int], Any] = {}
        with torch.no_grad():
            for start in range(0, len(keys), RENDERS_PER_CALL):
                chunk = keys[start:start + RENDERS_PER_CALL]
                pixels = encoder.pixels([unique[k] for k in chunk])
                out = model.get_image_features(pixels["pixel_values"].to(device), pixels["image_grid_thw"].to(device))
                for key, feature, grid in zip(chunk, out.pooler_output, pixels["image_grid_thw"]):
                    self.features[key] = feature.detach()
                    self.grids[key] = grid

    def __len__(self) -> int:
        return len(self.features)

    def outputs(self, rows: Sequence[Row]) -> dict[str, Any]:
        """``mm_encoder_outputs`` for a micro-batch: the rows' image features in prompt order."""
        from transformers.modeling_outputs import BaseModelOutputWithPooling

        pooled = tuple(self.features[key] for row in rows for key in row.image_keys)
        return {"image": BaseModelOutputWithPooling(pooler_output=pooled)}

    def grid(self, rows: Sequence[Row]):
        """``image_grid_thw`` of the rows' images in prompt order (the model's 3D positions need it)."""
        import torch

        return torch.stack([self.grids[key] for row in rows for key in row.image_keys])


def response_logprobs(model: Any, encoder: Any, rows: Sequence[Row], *, temperature: float, device: Any,
                      features: RenderFeatures | None = None, value_head: Any = None,
                      images: bool = True):
    """Per-token log-probabilities and entropies of each row's response under ``model``.

    Returns ``(logprobs, entropy, mask, values)``: the token tensors are ``(B, T)`` with the
    response left-aligned, ``values`` is ``(B,)`` (``value_head`` on the last prompt token) or
    None. ``images=False`` withholds the renders (only to show that they matter).
    """
    import torch

    sequences = [(r.prompt_ids + r.response_ids, r.images if images else []) for r in rows]
    batch = encoder.sequences(sequences, pixels=features is None)
    longest = max(len(r.response_ids) for r in rows)
    positions = torch.zeros((len(rows), longest), dtype=torch.long)
    targets = torch.full((len(rows), longest), encoder.tokenizer.pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(rows), longest))
    for i, row in enumerate(rows):
        start, length = len(row.prompt_ids) - 1, len(row.response_ids)
        positions[i] = start  # padding slots repeat a real position; the mask drops them
        positions[i, :length] = torch.arange(start, start + length)  # logits at k predict token k + 1
        targets[i, :length] = torch.as_tensor(row.response_ids)
        mask[i, :length] = 1.0
    inputs = {k: v.to(device) for k, v in batch.items()}
    if features is not None and images and any(r.image_keys for r in rows):
        inputs["mm_encoder_outputs"] = features.outputs(rows)
        inputs["image_grid_thw"] = features.grid(rows).to(device)
    out = model(**inputs, logits_to_keep=positions.to(device), output_hidden_states=value_head is not None)
    logits = out.logits.float() / temperature
    if encoder.forbidden_ids:  # the engines never sample these: the same law here
        logits[..., encoder.forbidden_ids] = -math.inf
    log_softmax = logits.log_softmax(-1)
    logprobs = log_softmax.gather(-1, targets.to(device).unsqueeze(-1)).squeeze(-1)
    entropy = -(log_softmax.exp() * log_softmax.masked_fill(torch.isinf(log_softmax), 0.0)).sum(-1)
    values = None
    if value_head is not None:
        last_prompt = torch.tensor([len(r.prompt_ids) - 1 for r in rows], device=device)
        hidden = out.hidden_states[-1][torch.arange(len(rows), device=device), last_prompt]
        values = value_head(hidden).squeeze(-1).float()
    mask = mask.to(device)
    return logprobs * mask, entropy * mask, mask, values


def token_weights(algorithm: Any, tokenizer: Any, samples: Sequence[Any], width: int, device: Any):
    """Per-token weights of the object-credit modulation for each sample's response, ``(B, width)``."""
    import torch

    weights = torch.ones((len(samples), width))
    for i, s in enumerate(samples):
        pieces = [tokenizer.decode([t], skip_special_tokens=True) for t in s.response_ids]
        offsets, start = [], 0
        for piece in pieces:
            offsets.append((start, start + len(piece)))
            start += len(piece)
        w = algorithm.token_weights("".join(pieces), offsets, s.object_scores)
        weights[i, : len(w)] = torch.as_tensor(np.asarray(w, dtype=np.float32))
    return weights.to(device)
