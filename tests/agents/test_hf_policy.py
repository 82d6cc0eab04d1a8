"""The ``hf:`` policy with a tiny random-weight Qwen2.5-VL built offline: loads through
``from_pretrained`` with the real processor, answers env observations (garbage, scored and
penalised), batches episodes, and serves over HTTP."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import metaspatial_env  # noqa: F401  (registers the ids)
from agents import make_policy
from agents.openai_policy import OpenAIPolicy
from agents.runner import run_episode
from agents.server import create_app
from metaspatial_env.prompting import SYSTEM_PROMPT, message_images
from metaspatial_env.tasks.splits import load_split
from training.tiny_vlm import build_tiny_qwen25_vl

from ..serving import running_server


@pytest.fixture(scope="module")
def tiny_vlm(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        path = build_tiny_qwen25_vl(tmp_path_factory.mktemp("tiny_qwen25_vl"))
        yield make_policy(f"hf:{path}", max_new_tokens=16, device="cpu")


@pytest.fixture(scope="module")
def env():
    env = gym.make("MetaSpatial-Fast-v0", split="test", max_turns=2, image_size=(128, 256))
    yield env
    env.close()


def test_tiny_qwen_loads_as_a_vision_language_model(tiny_vlm):
    assert tiny_vlm.vision and type(tiny_vlm.model).__name__ == "Qwen2_5_VLForConditionalGeneration"
    assert type(tiny_vlm.processor).__name__ == "Qwen2_5_VLProcessor"


def test_episode_with_garbage_answers_is_scored_and_penalised(tiny_vlm, env):
    record = run_episode(env, tiny_vlm, task_id=load_split("test")[0].id, seed=0)
    assert len(record.turns) == 2
    for turn in record.turns:
        assert isinstance(turn.action, str) and math.isfinite(turn.reward) and 0.0 <= turn.reward <= 1.0
        assert turn.terms["format"] < 1.0 and not turn.success
        assert turn.parse_errors
    # The second turn's prompt carried the first render, the answer and the feedback.
    messages = tiny_vlm._conversations[0].messages("hf")
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant"]
    assert len(message_images(messages)) == 2


def test_act_batch_answers_each_episode_in_one_generate(tiny_vlm):
    envs = [gym.make("MetaSpatial-Fast-v0", split="test", image_size=(64, 128)) for _ in range(3)]
    resets = [e.reset(seed=i) for i, e in enumerate(envs)]
    tiny_vlm.reset()
    answers = tiny_vlm.act_batch([obs for obs, _ in resets], [info for _, info in resets])
    steps = [e.step(a) for e, a in zip(envs, answers)]
    for e in envs:
        e.close()
    assert len(answers) == 3 and all(isinstance(a, str) for a in answers)
    assert all(0.0 <= reward <= 1.0 for _, reward, *_ in steps)
    assert [len(c) for c in tiny_vlm._conversations] == [2, 2, 2]
    with pytest.raises(ValueError, match="infos"):
        tiny_vlm.act_batch([resets[0][0]], [])


def test_hf_policy_served_over_http(tiny_vlm):
    with running_server(create_app("hf", factory=lambda: tiny_vlm)) as url:
        client_policy = OpenAIPolicy("tiny", base_url=url, api_key="k", max_tokens=16)
        image = np.zeros((56, 112, 3), np.uint8)
        answer = client_policy.act({"text": "Lay out nothing.", "image": image}, {})
    assert isinstance(answer, str)


def test_text_only_causal_lm_is_a_fallback(tmp_path, monkeypatch):
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    vlm_dir = build_tiny_qwen25_vl(tmp_path / "vlm")
    tokenizer = AutoTokenizer.from_pretrained(vlm_dir)
    tokenizer.chat_template = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
                               "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1)
    Qwen2ForCausalLM(config).save_pretrained(tmp_path / "lm")
    tokenizer.save_pretrained(tmp_path / "lm")
    policy = make_policy(f"hf:{tmp_path / 'lm'}", max_new_tokens=8, device="cpu")
    assert not policy.vision
    task = load_split("test")[0]
    env = gym.make("MetaSpatial-Fast-v0", split="test", image_size=(64, 128))
    obs, info = env.reset(seed=0, options={"task_id": task.id})
    answer = policy.act(obs, info)
    reward = env.step(answer)[1]
    assert isinstance(answer, str) and 0.0 <= reward <= 1.0
    # A model trained without the shared system prompt is asked without it (system_prompt="").
    bare = make_policy(f"hf:{tmp_path / 'lm'}", max_new_tokens=8, device="cpu", system_prompt="")
    bare.act(obs, info)
    env.close()
    system = [c.messages("openai")[0] for c in (policy._conversations[0], bare._conversations[0])]
    assert system[0]["role"] == system[1]["role"] == "system"
    assert system[0]["content"] == SYSTEM_PROMPT and system[1]["content"] == ""


def test_unloadable_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="cannot load"):
        make_policy(f"hf:{tmp_path}")
