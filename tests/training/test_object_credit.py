"""Object-level (3D-SPO-style) token weights: spans of JSON entries and the weights by hand."""

from __future__ import annotations

import numpy as np
import pytest

from training.algorithms import AlgorithmConfig, make_algorithm, object_token_weights
from training.algorithms.object_credit import object_spans

ANSWER = '<answer>[{"new_object_id": "bed", "x": 1}, {"new_object_id": "lamp", "x": 2}]</answer>'
BED = ANSWER.index('{"new_object_id": "bed"')
LAMP = ANSWER.index('{"new_object_id": "lamp"')


def char_offsets(text: str) -> list[tuple[int, int]]:
    """One token per character."""
    return [(i, i + 1) for i in range(len(text))]


@pytest.mark.parametrize(("text", "expected"), [
    (ANSWER, [(BED, ANSWER.index("}") + 1, "bed"), (LAMP, ANSWER.rindex("}") + 1, "lamp")]),
    # Braces inside strings are text, not structure.
    ('[{"new_object_id": "a{b}", "x": 1}]', [(1, 34, "a{b}")]),
    # A truncated last entry reaches to the end of the text.
    ('[{"new_object_id": "a"}, {"new_object_id": "b", "x": 1.', [(1, 23, "a"), (25, 55, "b")]),
    # A dict keyed by ids names none as new_object_id: no spans.
    ('{"bed": {"x": 1}}', []),
    ("not json at all", []),
])
def test_object_spans(text, expected):
    assert object_spans(text) == expected


def test_weights_by_hand():
    # bed scores 1.0, lamp 0.5: badness 0 and 0.5, mean 0.25; strength 2 -> bed 1 + 2*(-0.25) = 0.5,
    # lamp 1 + 2*(0.25) = 1.5; everything outside the entries 1.
    weights = object_token_weights(ANSWER, char_offsets(ANSWER), {"bed": 1.0, "lamp": 0.5}, 2.0)
    bed_end, lamp_end = ANSWER.index("}") + 1, ANSWER.rindex("}") + 1
    expected = np.ones(len(ANSWER))
    expected[BED:bed_end] = 0.5
    expected[LAMP:lamp_end] = 1.5
    assert weights.tolist() == expected.tolist()
    # Mean over entries (one weight per object) is exactly 1.
    assert (weights[BED] + weights[LAMP]) / 2 == 1.0


@pytest.mark.parametrize(("scores", "strength", "bed", "lamp"), [
    ({"bed": 1.0, "lamp": 0.5}, 0.0, 1.0, 1.0),      # off
    ({"bed": 0.3, "lamp": 0.3}, 5.0, 1.0, 1.0),      # equal feedback: nothing to tell apart
    ({"bed": 0.0, "lamp": 1.0}, 4.0, 3.0, 0.0),      # 1 + 4*0.5 = 3; 1 - 4*0.5 = -1 -> clipped at 0
    ({"bed": 0.0}, 1.0, 1.0, 1.0),                   # lamp unscored -> 1; bed is the mean itself -> 1
    ({"bed": 2.0, "lamp": -1.0}, 1.0, 0.5, 1.5),     # clamped to 1 and 0: badness 0, 1, mean 0.5
])
def test_weights_table(scores, strength, bed, lamp):
    weights = object_token_weights(ANSWER, char_offsets(ANSWER), scores, strength)
    assert (weights[BED], weights[LAMP]) == (bed, lamp)


def test_special_tokens_and_empty_scores():
    offsets = [(0, 0)] + char_offsets(ANSWER)  # a BOS-like token with an empty span
    weights = object_token_weights(ANSWER, offsets, {"bed": 1.0, "lamp": 0.0}, 1.0)
    assert weights[0] == 1.0 and weights[1 + BED] == 0.5
    assert object_token_weights(ANSWER, offsets, {}, 1.0).tolist() == [1.0] * len(offsets)
    with pytest.raises(ValueError, match="strength"):
        object_token_weights(ANSWER, offsets, {"bed": 1.0}, -1.0)


def test_with_a_real_tokenizer_offsets():
    """Offsets from a byte-level BPE trained here (``tokenizers``), as the trainer gets them."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.train_from_iterator([ANSWER] * 20, trainers.BpeTrainer(vocab_size=300, show_progress=False))
    offsets = tokenizer.encode(ANSWER).offsets
    algo = make_algorithm(AlgorithmConfig(object_modulation=2.0))
    weights = algo.token_weights(ANSWER, offsets, {"bed": 1.0, "lamp": 0.5})
    inside_bed = [w for (s, _), w in zip(offsets, weights) if BED <= s < ANSWER.index("}") + 1]
    inside_lamp = [w for (s, _), w in zip(offsets, weights) if LAMP <= s < ANSWER.rindex("}") + 1]
    assert inside_bed and set(inside_bed) == {0.5}
    assert inside_lamp and set(inside_lamp) == {1.5}
    assert weights[0] == 1.0  # "<answer>" is outside every entry
    # With modulation off the algorithm hands back ones.
    assert make_algorithm(AlgorithmConfig()).token_weights(ANSWER, offsets, {"bed": 1.0}).tolist() == [1.0] * len(offsets)
