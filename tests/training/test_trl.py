"""TRL's ``GRPOTrainer`` on the room-layout env (``training.trl_env``), with real TRL, the real
env (fast rasteriser) and the tiny random-weight Qwen2.5-VL built in a fixture: two GRPO steps in
which the env is stepped through the ``submit_layout`` tool, the render reaches the next generate
call as pixels, the group's rewards differ and the vision tower's weights move; the tool refuses a
finished episode; the tool chat template renders a tool call and an image in a tool response.

What is scripted, and only that: a random tiny model cannot write a tool call, so
:class:`ScriptedToolCalls` wraps the model's ``generate`` and hands it a logits processor that
forces the tokens of the completion (a ``submit_layout`` call with a random layout, different per
sample, on an episode's first turn; a short closing answer after a tool response). The real
``generate`` still runs the model's forward passes with the prompt's pixels, and the learner's
forward and backward are untouched.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

pytest.importorskip("trl")
pytest.importorskip("transformers")

import torch  # noqa: E402
from transformers import LogitsProcessor, LogitsProcessorList  # noqa: E402

from agents.hf_chat import load_chat_model, vision_tower_prefix  # noqa: E402
from metaspatial_env.prompting import parse_task_prompt, task_prompt  # noqa: E402
from metaspatial_env.tasks import load_rooms  # noqa: E402
from training.tiny_vlm import build_tiny_qwen25_vl  # noqa: E402
from training.trl_env import (  # noqa: E402
    METRIC_REWARDS,
    TOOL_CHAT_TEMPLATE,
    TOOL_NAME,
    MetaSpatialToolEnv,
    environment_factory,
    room_dataset,
    tool_chat_template,
)

ENV_KWARGS = {"max_turns": 2, "image_size": [56, 112]}  # 8 visual tokens per render for the tiny processor
CLOSING = "Done."


@pytest.fixture(scope="module")
def offline():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("TRL_EXPERIMENTAL_SILENCE", "1")
        yield


@pytest.fixture(scope="module")
def tiny_vlm(tmp_path_factory, offline):
    return str(build_tiny_qwen25_vl(tmp_path_factory.mktemp("tiny_vlm")))


class ForceTokens(LogitsProcessor):
    """Leaves one allowed token per row: row ``b``'s script, then end-of-turn."""

    def __init__(self, scripts: list[list[int]], prompt_length: int, eos_id: int):
        self.scripts, self.prompt_length, self.eos_id = scripts, prompt_length, eos_id

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        step = input_ids.shape[1] - self.prompt_length
        forced = torch.full_like(scores, float("-inf"))
        for row, script in enumerate(self.scripts):
            forced[row, script[step] if step < len(script) else self.eos_id] = 0.0
        return forced


class ScriptedToolCalls:
    """Observes every ``generate`` call of the model (its kwargs) and scripts its tokens.

    This wrapper is the one scripted piece of the test (see the module docstring). The script of a
    row is read from its rendered prompt: no tool response yet means an episode's first turn, so
    the row calls ``submit_layout`` with a layout of the room in its task prompt, objects at random
    spots (a new draw per row, so a group's rewards differ); after a tool response it closes.
    """

    def __init__(self, model, tokenizer):
        self.generate, self.tokenizer = model.generate, tokenizer
        self.eos_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
        self.rng = np.random.default_rng(0)
        self.calls: list[dict] = []
        model.generate = self

    def __call__(self, *args, **kwargs):
        input_ids = kwargs["input_ids"]
        texts = self.tokenizer.batch_decode(input_ids, skip_special_tokens=False)
        self.calls.append({"texts": texts, "input_ids": input_ids.clone(),
                           "pixel_values": kwargs.get("pixel_values"), "image_grid_thw": kwargs.get("image_grid_thw")})
        scripts = [self.tokenizer(self._script(text), add_special_tokens=False)["input_ids"] for text in texts]
        kwargs["logits_processor"] = LogitsProcessorList([ForceTokens(scripts, input_ids.shape[1], self.eos_id)])
        return self.generate(*args, **kwargs)

    def _script(self, text: str) -> str:
        if "<tool_response>" in text:
            return CLOSING + "<|im_end|>"
        start = text.rindex("Lay out this")
        task = parse_task_prompt(text[start: text.index("<|im_end|>", start)])
        X, Y, _ = task.size
        layout = [{"new_object_id": o.id, "x": round(float(self.rng.uniform(0, X)), 2),
                   "y": round(float(self.rng.uniform(0, Y)), 2), "z": round(o.size[2] / 2, 3), "z_angle": 0}
                  for o in task.objects]
        call = {"name": TOOL_NAME, "arguments": {"layout": json.dumps(layout)}}
        return f"<tool_call>\n{json.dumps(call)}\n</tool_call><|im_end|>"


def test_two_grpo_steps_step_the_env_and_train_the_vision_tower_on_its_renders(tiny_vlm, tmp_path):
    from trl import GRPOConfig, GRPOTrainer

    model, encoder = load_chat_model(tiny_vlm, dtype=torch.float32)
    processor = encoder.processor
    processor.tokenizer.padding_side = "left"
    tool_chat_template(processor)
    scripted = ScriptedToolCalls(model, processor.tokenizer)
    prefix = vision_tower_prefix(model)
    assert prefix is not None
    before = {n: p.detach().clone() for n, p in model.named_parameters() if n.startswith(prefix + ".")}

    dataset = room_dataset("train", num_rooms=2, max_objects=4)
    args = GRPOConfig(output_dir=str(tmp_path / "out"), max_steps=2, per_device_train_batch_size=4, num_generations=4,
                      max_completion_length=1024, max_tool_calling_iterations=ENV_KWARGS["max_turns"],
                      learning_rate=1e-3, logging_steps=1, report_to="none", save_strategy="no", seed=0,
                      bf16=False, use_cpu=True, dataloader_num_workers=0,
                      reward_weights=[0.0] * len(METRIC_REWARDS))
    trainer = GRPOTrainer(model=model, reward_funcs=list(METRIC_REWARDS), args=args, train_dataset=dataset,
                          processing_class=processor,
                          environment_factory=environment_factory("MetaSpatial-Fast-v0", **ENV_KWARGS))
    assert trainer.chat_template is None  # our template kept: it is prefix-preserving
    trainer.train()

    # The env was stepped: each rollout of the last batch scored one layout and holds its reward.
    envs = trainer.environments
    assert len(envs) == 4 and all(env.turns == 1 and not env.done for env in envs)
    assert all(env.get_reward() == pytest.approx(env.last_total) for env in envs)  # absolute mode, one turn

    # Two steps, each a first turn (no image: the reset is text) then the turn after the tool response.
    first = scripted.calls[0]
    assert len(scripted.calls) == 4
    assert first["pixel_values"] is None and all("<tool_response>" not in t for t in first["texts"])
    room_prompts = [row["prompt"][1]["content"] for row in dataset]
    assert all(sum(text.count(p) for p in room_prompts) == 1 for text in first["texts"])  # not doubled by reset
    for call in scripted.calls[1::2]:
        assert all("<tool_response>" in t and "Turn 1 of 2: reward" in t for t in call["texts"])
        grid = call["image_grid_thw"]
        assert call["pixel_values"] is not None and grid.shape[0] == 4  # one render per rollout
        assert call["pixel_values"].shape[0] == int(grid.prod(-1).sum())
        image_pad = processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
        assert int((call["input_ids"] == image_pad).sum()) == int(grid.prod(-1).sum()) // 4  # 2 x 2 merge

    # The group's rewards differ (the env's get_reward is TRL's reward column), so the loss has a gradient.
    logs = [entry for entry in trainer.state.log_history if "rewards/MetaSpatialToolEnv/std" in entry]
    assert len(logs) == 2 and all(entry["rewards/MetaSpatialToolEnv/std"] > 0 for entry in logs)
    assert all(entry["tools/call_frequency"] == 1.0 and entry["tools/failure_frequency"] == 0.0 for entry in logs)

    after = dict(model.named_parameters())
    changed = [n for n, p in before.items() if not torch.equal(p, after[n].detach())]
    assert changed, "no vision-tower parameter changed"


def test_the_example_script_runs_two_steps_end_to_end(tiny_vlm, tmp_path, capsys):
    """The example as a user runs it (in this process): the tiny model writes no tool call, so it
    checks the wiring (arguments, template, dataset, factory, trainer, save), not learning."""
    from training.examples.trl_grpo import main

    out = tmp_path / "example"
    assert main(["--model", tiny_vlm, "--output-dir", str(out), "--env-kwargs", json.dumps(ENV_KWARGS),
                 "--max-objects", "4", "--num-rooms", "2", "--max-steps", "2", "--num-generations", "2",
                 "--max-completion-length", "32"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["steps"] == 2 and summary["output_dir"] == str(out)
    assert (out / "chat_template.jinja").read_text() == TOOL_CHAT_TEMPLATE  # the checkpoint keeps the tool template


def test_the_tool_refuses_a_finished_episode():
    with MetaSpatialToolEnv(env_id="MetaSpatial-Fast-v0", env_kwargs={"max_turns": 1, "image_size": [56, 112]}) as env:
        room = load_rooms("train", max_objects=4)[0]
        assert env.reset(task_id=room.id, split="train", seed=3) == task_prompt(room)
        answer = env.submit_layout(json.dumps([{"new_object_id": o.id, "x": 1.0, "y": 1.0, "z": o.size[2] / 2}
                                               for o in room.objects]))
        assert [part["type"] for part in answer] == ["image", "text"]
        assert answer[0]["image"].size == (112, 56)
        assert answer[1]["text"].startswith("Turn 1 of 1: reward") and "episode is over" in answer[1]["text"]
        assert env.done and env.turns == 1

        refused = env.submit_layout("[]")
        assert refused == [{"type": "text", "text": "The episode is over (the turn budget of 1 is spent): this "
                                                    f"layout was not scored. Do not call {TOOL_NAME} again."}]
        assert env.turns == 1 and env.get_reward() == env.rewards[0]

        env.reset(task_id=room.id, split="train")  # a new episode takes layouts again
        assert not env.done and env.turns == 0 and env.get_reward() == 0.0


def test_the_tool_env_plays_through_the_env_server_as_it_does_in_process():
    """``environment_factory(base_url=...)``: the same room and layout through ``metaspatial serve-env``'s
    app (a real server on 127.0.0.1, PNG so the pixels are exact) give the in-process feedback,
    reward and image."""
    pytest.importorskip("openenv")
    from metaspatial_env.env_server import create_app

    from ..serving import running_server

    kwargs = {"max_turns": 2, "image_size": [56, 112]}
    room = load_rooms("train", max_objects=4)[1]
    layout = json.dumps([{"new_object_id": o.id, "x": 1.5, "y": 1.0 + i, "z": o.size[2] / 2}
                         for i, o in enumerate(room.objects)])
    turns = []
    with running_server(create_app("MetaSpatial-Fast-v0", kwargs, max_sessions=1, image_encoding="png"),
                        path="") as url:
        for factory in (environment_factory(base_url=url), environment_factory("MetaSpatial-Fast-v0", **kwargs)):
            with factory() as env:
                assert env.reset(task_id=room.id, split="train", seed=5) == task_prompt(room)
                turns.append([env.submit_layout(layout), env.submit_layout(layout), env.get_reward(), env.done])
    (remote, local) = turns
    assert remote[3] and local[3] and remote[2] == local[2] and len(remote[0]) == 2
    for served, own in zip(remote[:2], local[:2]):
        assert served[1] == own[1]
        assert np.array_equal(np.asarray(served[0]["image"]), np.asarray(own[0]["image"]))


def test_the_factory_keeps_json_kwargs_and_reset_reads_dataset_rows():
    with pytest.raises(ValueError, match="JSON-able"):
        environment_factory("MetaSpatial-Fast-v0", image_size=object())
    factory = environment_factory("MetaSpatial-Text-v0", max_turns=2)
    row = room_dataset("generated:9100000:1", max_objects=4)[0]
    assert row["split"] == "" and row["task"]
    with factory() as env, factory() as other:
        assert env.env is not other.env
        assert env.reset(**row) is None  # the row's prompt already holds the task prompt
        assert env.task_id == row["task_id"]
        # a row without the text gets it from reset; a text-only env answers with text alone
        assert env.reset(task=row["task"], prompt=[{"role": "user", "content": ""}]) == row["prompt"][1]["content"]
        assert [part["type"] for part in env.submit_layout([{"new_object_id": "x", "x": 0, "y": 0, "z": 0}])] == ["text"]


def test_tool_chat_template_renders_a_tool_call_and_an_image_tool_response(tiny_vlm):
    from PIL import Image
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(tiny_vlm)
    assert tool_chat_template(processor) == TOOL_CHAT_TEMPLATE
    assert processor.tokenizer.chat_template == TOOL_CHAT_TEMPLATE
    layout = '[{"new_object_id": "bed_1", "x": 1.0, "y": 1.5, "z": 0.3}]'
    messages = [
        {"role": "system", "content": [{"type": "text", "text": "sys"}]},
        {"role": "user", "content": [{"type": "text", "text": "Lay out this room."}]},
        {"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "function": {"name": TOOL_NAME, "arguments": {"layout": layout}}}]},
        {"role": "tool", "name": TOOL_NAME, "content": [
            {"type": "image", "image": Image.new("RGB", (112, 56), (200, 30, 30))},
            {"type": "text", "text": "Turn 1 of 2: reward 0.5"}]},
    ]
    tools = [MetaSpatialToolEnv.submit_layout]
    text = processor.apply_chat_template(messages, tools=tools, tokenize=False, add_generation_prompt=True)
    assert '"name": "submit_layout"' in text.split("\n</tools>")[0]  # the tool's JSON schema in the system turn
    call = json.dumps({"name": TOOL_NAME, "arguments": {"layout": layout}})
    assert f"<|im_start|>assistant\n<tool_call>\n{call}\n</tool_call><|im_end|>" in text
    assert ("<|im_start|>user\n<tool_response>\n<|vision_start|><|image_pad|><|vision_end|>Turn 1 of 2: reward 0.5"
            "\n</tool_response><|im_end|>\n<|im_start|>assistant\n") in text

    batch = processor.apply_chat_template(messages, tools=tools, tokenize=True, return_dict=True,
                                          add_generation_prompt=True)
    image_pad = processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert batch["input_ids"][0].count(image_pad) == int(batch["image_grid_thw"].prod(-1).sum()) // 4 > 1

    # The tokenizer parses the same tool call back out of a completion.
    parsed = processor.tokenizer.parse_response(f"<tool_call>\n{call}\n</tool_call><|im_end|>", prefix="<|im_start|>assistant\n",
                                                tools=tools)
    assert parsed["tool_calls"][0]["function"] == {"name": TOOL_NAME, "arguments": {"layout": layout}}
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
