"""Prompts and chat messages: the task prompt reads back exactly, the system example parses, and
the conversation keeps its shape and budget."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

from metaspatial_env.actions import parse_action
from metaspatial_env.prompting import (
    SYSTEM_PROMPT,
    Conversation,
    PromptParseError,
    decode_image_url,
    image_data_url,
    message_images,
    parse_task_prompt,
    task_prompt,
)
from metaspatial_env.tasks import Task
from metaspatial_env.tasks.splits import load_split


def _without_reference(task: Task) -> dict:
    data = task.to_dict()
    data.pop("reference_layout", None)
    return data


@pytest.mark.parametrize("split", ["train", "test", "hard"])
def test_task_prompt_reads_back_exactly(split):
    for task in load_split(split)[:40]:
        assert parse_task_prompt(task_prompt(task)).to_dict() == _without_reference(task)


def test_task_prompt_without_style_or_rules_reads_back():
    task = load_split("test")[0].to_dict()
    task.pop("reference_layout", None)
    obj = task["objects"][0]
    obj.update(style="", material="", facing=None,
               placement={"room_layout_elements": [], "objects_in_room": []})
    assert parse_task_prompt(task_prompt(Task.from_dict(task))).to_dict() == task


def _with_openings(openings: list[dict]) -> Task:
    data = load_split("test")[0].to_dict()
    data.pop("reference_layout", None)
    data["room"]["openings"] = openings
    return Task.from_dict(data)


_OPENINGS = [
    {"id": "door_1", "kind": "door", "wall": "south_wall", "offset": 1.2, "width": 0.9, "height": 2.1,
     "sill_height": 0.0, "hinge": "start"},
    {"id": "door_2", "kind": "door", "wall": "east_wall", "offset": 0.85, "width": 0.8, "height": 2.0,
     "sill_height": 0.0, "hinge": "end"},
    {"id": "window_1", "kind": "window", "wall": "north_wall", "offset": 1.5, "width": 1.2, "height": 1.2,
     "sill_height": 0.9},
    {"id": "window_2", "kind": "window", "wall": "west_wall", "offset": 1.25, "width": 0.625, "height": 0.8,
     "sill_height": 0.95},
]


def test_openings_are_listed_and_read_back_exactly():
    task = _with_openings(_OPENINGS)
    text = task_prompt(task)
    assert ("- door_1: door in the south wall, centre 1.2 m from its west end, 0.9 m wide, 2.1 m high, "
            "hinged at its west side, opens into the room") in text.splitlines()
    assert "- door_2: door in the east wall, centre 0.85 m from its south end, 0.8 m wide, 2 m high, " \
           "hinged at its north side, opens into the room" in text.splitlines()
    assert ("- window_1: window in the north wall, centre 1.5 m from its west end, 1.2 m wide, 1.2 m high, "
            "sill 0.9 m") in text.splitlines()
    assert "keep the floor in front of each door clear" in text and "taller than a window's sill" in text
    again = parse_task_prompt(text)
    assert again.openings == task.openings
    data = task.to_dict()
    assert again.to_dict() == data


def test_a_room_without_openings_says_nothing_about_them():
    text = task_prompt(_with_openings([]))
    assert "door" not in text.lower() and "window" not in text.lower()


def test_a_misread_opening_line_is_named():
    text = task_prompt(_with_openings(_OPENINGS[:1])).replace("hinged at its west side", "hinged at its north side")
    with pytest.raises(PromptParseError, match="door_1"):
        parse_task_prompt(text)


@pytest.mark.parametrize("text, message", [
    ("hello", "not a task prompt"),
    ("Lay out this bedroom (task t1). Room size: X = 4 m, Y = 3 m, Z = 2.5 m.\n- bed_1: a bed",
     "unreadable object line"),
    ("Lay out this bedroom (task t1). Room size: X = 4 m, Y = 3 m, Z = 2.5 m.\n"
     "- bed_1: size 2 x 1.6 x 0.5 m (l x w x h); style a; material b; on the floor; rules: beside x; "
     "default z_angle 0", "unreadable rule"),
])
def test_parse_task_prompt_names_what_failed(text, message):
    with pytest.raises(PromptParseError, match=message):
        parse_task_prompt(text)


def test_system_prompt_example_is_a_valid_answer():
    example = SYSTEM_PROMPT[SYSTEM_PROMPT.index("<think>The"):]
    ids = re.findall(r'"new_object_id": "(\w+)"', example)
    result = parse_action(example, ids)
    assert result.error_codes == () and set(result.placements) == {"sofa_1", "coffee_table_1"}
    assert "<think>" in SYSTEM_PROMPT and "<answer>" in SYSTEM_PROMPT


def test_image_data_url_round_trip():
    image = np.random.default_rng(0).integers(0, 256, (8, 12, 3), dtype=np.uint8)
    url = image_data_url(image, "png")
    assert url.startswith("data:image/png;base64,")
    assert np.array_equal(decode_image_url(url), image)  # lossless


def test_image_data_urls_are_jpeg_by_default_and_close_to_the_render():
    import gymnasium as gym

    import metaspatial_env  # noqa: F401

    env = gym.make("MetaSpatial-Fast-v0", split="test", image_size=(128, 256))
    render = env.reset(seed=0)[0]["image"]
    env.close()
    url = image_data_url(render)
    assert url.startswith("data:image/jpeg;base64,")
    assert len(url) < len(image_data_url(render, "png"))
    decoded = decode_image_url(url).astype(int)
    assert decoded.shape == render.shape and np.abs(decoded - render).mean() < 3.0  # quality 90
    with pytest.raises(ValueError, match="image encoding"):
        image_data_url(render, "gif")
    conversation = Conversation(image_encoding="png")
    conversation.observe({"text": "t", "image": render})
    assert conversation.messages()[-1]["content"][0]["image_url"]["url"].startswith("data:image/png;base64,")


@pytest.mark.parametrize("url", ["http://example.com/a.png", "data:image/png;base64,!!!", "data:text/plain;base64,aGk="])
def test_decode_image_url_rejects_other_urls(url):
    with pytest.raises(ValueError):
        decode_image_url(url)


def _episode(conversation: Conversation, feedback_turns: int, image: np.ndarray | None = None) -> None:
    conversation.observe({"text": "task prompt " * 20, **({"image": image} if image is not None else {})})
    for turn in range(1, feedback_turns + 1):
        conversation.answer(f"answer {turn}")
        conversation.observe({"text": f"feedback {turn} " * 20, **({"image": image} if image is not None else {})},
                             {"reward_total": turn / 10})


def test_messages_alternate_in_openai_format_with_images():
    image = np.zeros((56, 112, 3), np.uint8)
    conversation = Conversation()
    _episode(conversation, 2, image)
    messages = conversation.messages()
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert messages[0]["content"] == SYSTEM_PROMPT
    assert messages[2]["content"] == "answer 1"
    image_part, text_part = messages[-1]["content"]
    assert image_part["type"] == "image_url" and image_part["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert text_part == {"type": "text", "text": "feedback 2 " * 20}


def test_messages_in_hf_format_carry_pil_images():
    conversation = Conversation()
    _episode(conversation, 1, np.zeros((28, 28, 3), np.uint8))
    messages = conversation.messages("hf")
    assert all(isinstance(m["content"], list) for m in messages)
    images = message_images(messages)
    assert len(images) == 2 and all(isinstance(i, Image.Image) for i in images)


def test_text_only_conversation_ignores_images():
    conversation = Conversation(images=False)
    _episode(conversation, 1, np.zeros((28, 28, 3), np.uint8))
    assert message_images(conversation.messages("hf")) == []


def test_budget_drops_old_images_then_old_turns_and_keeps_task_and_latest():
    image = np.zeros((280, 280, 3), np.uint8)  # 100 visual tokens
    full = Conversation()
    _episode(full, 4, image)
    assert len(full.messages()) == 10

    tight = Conversation(max_prompt_tokens=full_tokens(full) - 150)
    _episode(tight, 4, image)
    messages = tight.messages("hf")
    assert len(messages) == 10 and len(message_images(messages)) < 5  # old renders went first

    tighter = Conversation(max_prompt_tokens=tight.count_tokens(SYSTEM_PROMPT) + 250)
    _episode(tighter, 4, image)
    messages = tighter.messages("hf")
    texts = [m["content"][-1]["text"] for m in messages]
    assert texts[1].startswith("task prompt") and "earlier turn(s) omitted" in texts[1]
    assert "their rewards: 0.100" in texts[1]
    assert texts[-2] == "answer 4" and texts[-1].startswith("feedback 4")
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert len(message_images(messages)) == 1  # the latest render stays


def test_prompt_images_name_the_observations_whose_renders_the_prompt_holds():
    renders = [np.full((280, 280, 3), k, np.uint8) for k in range(5)]  # 100 visual tokens each
    full = Conversation()
    full.observe({"text": "task prompt " * 20, "image": renders[0]})
    for turn in range(1, 5):
        full.answer(f"answer {turn}")
        full.observe({"text": f"feedback {turn} " * 20, "image": renders[turn]}, {"reward_total": 0.1})
    assert full.prompt_images() == [0, 1, 2, 3, 4]
    tight = Conversation(max_prompt_tokens=full_tokens(full) - 150)  # two old renders must go
    tight.observe({"text": "task prompt " * 20, "image": renders[0]})
    for turn in range(1, 5):
        tight.answer(f"answer {turn}")
        tight.observe({"text": f"feedback {turn} " * 20, "image": renders[turn]}, {"reward_total": 0.1})
    shown = tight.prompt_images()
    assert shown == [2, 3, 4]  # the oldest first
    images = message_images(tight.messages("hf"))
    assert [int(np.asarray(i)[0, 0, 0]) for i in images] == shown  # the same renders, in chat order


def full_tokens(conversation: Conversation) -> int:
    """What the budget counts for the whole history (texts, 4 per message, 100 per image, the summary line)."""
    messages = conversation.messages("hf")
    texts = sum(conversation.count_tokens(m["content"][-1]["text"]) + 4 for m in messages)
    return texts + 100 * len(message_images(messages)) + 32


@pytest.mark.parametrize("calls, message", [
    (["answer"], "needs an observe"),
    (["observe", "observe"], "twice in a row"),
])
def test_conversation_order_errors(calls, message):
    conversation = Conversation()
    with pytest.raises(ValueError, match=message):
        for call in calls:
            conversation.observe({"text": "x"}) if call == "observe" else conversation.answer("y")


@pytest.mark.parametrize("observation", [{}, {"text": 3}, {"text": "x", "image": np.zeros((4, 4), np.uint8)}])
def test_observe_rejects_bad_observations(observation):
    with pytest.raises(ValueError):
        Conversation().observe(observation)


def test_reset_forgets_the_episode():
    conversation = Conversation()
    _episode(conversation, 2)
    conversation.reset()
    assert len(conversation) == 0 and len(conversation.messages()) == 1
