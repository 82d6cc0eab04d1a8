"""Object-level credit in the spirit of MetaSpatial's 3D-SPO: each object's JSON entry is weighted
by that object's own feedback.

A layout answer is a list of entries ``{"new_object_id": ..., "x": ...}``. The env's per-object
feedback gives each object a score in [0, 1]; its *badness* is ``1 - score``. The tokens of an
object's entry get weight ``1 + strength * (badness - mean badness)``, every other token (think
text, brackets, unscored ids) weight 1, so the weights average ~1 over the entries (exactly 1 when
the entries have equal token counts). The loss (``Algorithm.loss``) applies them sign-aware: on a
negative advantage the worst objects' tokens are pushed down hardest, on a positive one the best
objects' tokens are pushed up hardest.
"""

from __future__ import annotations

import re

import numpy as np

_ID_KEY = re.compile(r'"new_object_id"\s*:\s*"([^"\\]*)"')


def object_spans(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, object_id)`` of every JSON object in ``text`` that names exactly one id.

    Braces inside JSON strings are skipped; an entry cut off by the end of the text (a truncated
    answer) reaches to the end. Outer objects that contain several ids are not spans.
    """
    spans, opened, in_string, escaped = [], [], False, False
    for i, ch in enumerate(text):
        if in_string:
            escaped, in_string = (False, True) if escaped else (ch == "\\", ch != '"')
        elif ch == '"':
            in_string = True
        elif ch == "{":
            opened.append(i)
        elif ch == "}" and opened:
            spans.append((opened.pop(), i + 1))
    spans.extend((start, len(text)) for start in opened)
    out = []
    for start, end in sorted(spans):
        ids = _ID_KEY.findall(text, start, end)
        if len(ids) == 1:
            out.append((start, end, ids[0]))
    return out


def object_token_weights(response_text: str, token_offsets: list[tuple[int, int]],
                         object_scores: dict[str, float], strength: float) -> np.ndarray:
    """Weight per response token (see the module docstring); ``token_offsets`` are character
    ``(start, end)`` pairs from a fast tokenizer's ``return_offsets_mapping``."""
    if strength < 0:
        raise ValueError(f"object modulation strength must be >= 0, got {strength}")
    weights = np.ones(len(token_offsets))
    if not object_scores or strength == 0:
        return weights
    badness = {oid: 1.0 - min(max(float(score), 0.0), 1.0) for oid, score in object_scores.items()}
    mean_badness = float(np.mean(list(badness.values())))
    spans = [(s, e, 1.0 + strength * (badness[oid] - mean_badness))
             for s, e, oid in object_spans(response_text) if oid in badness]
    for k, (start, end) in enumerate(token_offsets):
        if end <= start:
            continue  # special tokens carry no text
        for span_start, span_end, weight in spans:
            if span_start <= start < span_end:
                weights[k] = weight
                break
    return np.clip(weights, 0.0, None)
