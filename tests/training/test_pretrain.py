"""Pre-training data (noisy, clean and repair demonstrations), digit tokens, and the warm-start gate."""

from __future__ import annotations

import json

import pytest

from metaspatial_env.tasks.splits import load_rooms
from training import warm_start
from training.pretrain import (
    build_tokenizer,
    demonstration_stats,
    demonstrations,
    main,
    pretrain,
    tokenize_conversation,
)


@pytest.fixture(scope="module")
def rooms():
    return list(load_rooms("generated:7300000:12", 2, 3))


def test_repair_traces_give_turn_one_and_learn_the_feedback_repair(rooms):
    conversations = demonstrations(rooms, noise=0.35, seed=0, data="repair")
    assert all(c["kind"] == "repair" and c["learn"] == [False, True] for c in conversations)
    roles = [m["role"] for m in conversations[0]["messages"]]
    assert roles == ["system", "user", "assistant", "user", "assistant"]
    # the env's real feedback on the given turn 1 is the second user message
    assert conversations[0]["messages"][3]["content"].startswith("Turn 1 of 2: reward")
    failed = [c for c in conversations if not c["successes"][0]]
    assert len(failed) >= 8  # turn 1 is poor ...
    assert sum(c["successes"][1] for c in failed) >= 0.9 * len(failed)  # ... and the target repairs it
    stats = demonstration_stats(conversations)["repair"]
    assert stats["conversations"] == 12 and stats["success_per_turn"][1] > stats["success_per_turn"][0]


def test_a_mix_deals_the_kinds_to_the_rooms_in_turn_and_clean_is_one_learned_turn(rooms):
    conversations = demonstrations(rooms[:4], noise=0.35, seed=0, data="clean,noisy")
    assert [c["kind"] for c in conversations] == ["clean", "noisy", "clean", "noisy"]
    clean = conversations[0]
    assert clean["learn"] == [True] and [m["role"] for m in clean["messages"]] == ["system", "user", "assistant"]
    assert all(c["successes"] == [True] for c in conversations if c["kind"] == "clean")
    assert conversations[1]["learn"] == [True, True]
    with pytest.raises(ValueError, match="comma-separated mix"):
        demonstrations(rooms[:1], noise=0.35, seed=0, data="clean,perfect")


def test_the_loss_mask_covers_only_the_learned_answers():
    tokenizer = build_tokenizer(["first answer", "second answer", "question"], vocab_size=300)
    messages = [{"role": "user", "content": "question"}, {"role": "assistant", "content": "first answer"},
                {"role": "user", "content": "question"}, {"role": "assistant", "content": "second answer"}]
    ids, mask = tokenize_conversation(tokenizer, messages, [False, True])
    learned = tokenizer.decode([i for i, m in zip(ids, mask) if m])
    assert learned == "second answer<|im_end|>"
    _, every = tokenize_conversation(tokenizer, messages)
    assert tokenizer.decode([i for i, m in zip(ids, every) if m]) == "first answer<|im_end|>second answer<|im_end|>"


def test_numbers_are_tokenized_digit_by_digit_and_ids_stay_whole():
    texts = ['{"new_object_id": "desk_12", "x": 2.84, "y": 12.5}'] * 50
    digits = build_tokenizer(texts, vocab_size=400)
    pieces = [digits.decode([i]) for i in digits("2.84 desk_12", add_special_tokens=False)["input_ids"]]
    assert pieces == ["2", ".", "8", "4", " ", "desk_12"]
    whole = build_tokenizer(texts, vocab_size=400, digits=False)
    assert len(whole("2.84", add_special_tokens=False)["input_ids"]) < 4  # merged: the old behaviour


def test_bad_data_kind_is_one_line(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--data", "repair,bogus", "--out", "unused"])
    assert done.value.code == 2
    assert "comma-separated mix" in capsys.readouterr().err


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    out = tmp_path_factory.mktemp("warm")
    stats = pretrain(out, rooms=6, first_seed=7400000, min_objects=1, max_objects=2, data="repair,clean",
                     vocab_size=400, hidden_size=32, layers=1, heads=2, steps=3, batch_size=2, log_every=0)
    return out, stats


def test_pretraining_on_repair_and_clean_data_records_what_the_targets_score(warm):
    out, stats = warm
    assert json.loads((out / "pretrain.json").read_text()) == stats
    assert set(stats["demonstrations"]) == {"repair", "clean"} and stats["digits"] is True
    assert stats["demonstrations"]["clean"]["success_per_turn"] == [1.0]


def test_the_warm_start_gate_measures_and_refuses_an_untrained_policy(warm, capsys):
    out, _ = warm
    measured = warm_start.measure(str(out), "generated:7500000:3", min_objects=1, max_objects=2, rooms=3,
                                  samples=2, max_new_tokens=16)
    assert measured["rooms"] == 3 and measured["pass_at_2"]["n"] == 3
    # three optimizer steps cannot write the format: a gate on it refuses, naming the bar
    assert measured["format_valid"]["value"] == 0.0
    assert "format_valid 0.000 < 0.5" in warm_start.gate(measured, min_format_valid=0.5)
    assert warm_start.gate(measured) is None
    code = warm_start.main([str(out), "--rooms-source", "generated:7500000:2", "--rooms", "2", "--min-objects", "1",
                            "--max-objects", "2", "--samples", "2", "--max-new-tokens", "8",
                            "--min-format-valid", "0.5"])
    assert code == 1 and "below its bars" in capsys.readouterr().err
    written = json.loads((out / "warm_start.json").read_text())
    assert written["passed"] is False and written["bars"]["format_valid"] == 0.5
