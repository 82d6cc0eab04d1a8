"""A verl agent loop that plays the room-layout env: ``agent_name: metaspatial_agent``.

verl (``verl.trainer.main_ppo`` with ``actor_rollout_ref.rollout.mode=async``) runs one agent loop
per sampled trajectory. This one plays a whole episode of the multi-turn Gymnasium env:

1. the dataset row (:mod:`training.verl_dataset`) carries the env id, its JSON-able kwargs, the
   room and the reset seed in ``extra_info``; the env is made in-process (``gymnasium.make``) or,
   when ``env_server_url`` is set, reached through ``metaspatial serve-env``
   (:class:`metaspatial_env.env_client.RemoteEnv`), e.g. Blender renders on CPU nodes;
2. the row's prompt (the system prompt and the env's task prompt, which the env's reset text must
   equal) is the first user turn; the model answers in the native ``<think>``/``<answer>`` format;
3. each answer is one ``env.step``; after every non-final turn the render (a PIL image) and the
   feedback text go in as the next user turn, through verl's Continuous Token builder (the
   processor expands the image into its visual tokens, exactly what vLLM sees);
4. the output's ``response_mask`` is 1 over the model's tokens and 0 over the env's turns; its
   ``reward_score`` is the episode return (the sum of the env's per-turn rewards, so the env's
   ``reward_mode`` decides what a turn earns), which verl writes as ``rm_scores`` at the last
   token, so no reward model or reward function is needed. ``extra_fields`` carry the per-turn
   rewards (``turn_scores``) and ``reward_extra_info`` (logged by verl's trainer).

The episode ends when the env terminates (success) or truncates (turn budget), after
``max_turns`` answers, or when the next turn would not fit ``rollout.response_length``: images
cannot be cut, so a turn that does not fit is left out rather than truncated.

The env runs on one thread per episode (its own executor): the rasteriser's GL context belongs to
the thread that first rendered, and the event loop stays free for the other trajectories.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import uuid4

import numpy as np

from metaspatial_env.deps import require
from training.verl_dataset import AGENT_NAME, DEFAULT_ENV_ID

_agent_loop = require("verl.experimental.agent_loop.agent_loop", "verl",
                      "the verl agent loop (in its own virtualenv: bash scripts/setup_verl.sh)")
_profiler = require("verl.utils.profiler", "verl", "the verl agent loop")

logger = logging.getLogger(__name__)

# The rows' agent name and default env live with the row writer, which needs no verl.
# DEFAULT_ENV_ID is the rasteriser: verl's numpy-2 virtualenv has no Blender (serve-env has).


def episode_spec(extra_info: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a dataset row's ``extra_info`` says about its episode: env id, kwargs, reset args.

    ``env_kwargs`` is a JSON object (a string, as the parquet stores it, or a mapping); the room is
    ``task`` (a task dict or its JSON) or ``task_id`` (a room of the env's split). Raises ValueError
    naming the field that is missing or malformed.
    """
    info = dict(extra_info or {})
    kwargs = info.get("env_kwargs") or {}
    if isinstance(kwargs, str):
        try:
            kwargs = json.loads(kwargs)
        except json.JSONDecodeError as error:
            raise ValueError(f"extra_info.env_kwargs is not JSON: {error}") from None
    if not isinstance(kwargs, Mapping):
        raise ValueError(f"extra_info.env_kwargs must be a JSON object, got {type(kwargs).__name__}")
    options: dict[str, Any] = {}
    task = info.get("task")
    if task:
        options["task"] = json.loads(task) if isinstance(task, str) else dict(task)
    elif info.get("task_id"):
        options["task_id"] = str(info["task_id"])
    else:
        raise ValueError("extra_info has neither 'task' nor 'task_id': no room to reset the env with")
    seed = info.get("seed")
    max_turns = info.get("max_turns")
    max_turns = None if max_turns is None or int(max_turns) < 1 else int(max_turns)  # -1: the env's budget
    return {"env_id": str(info.get("env_id") or DEFAULT_ENV_ID), "env_kwargs": dict(kwargs),
            "options": options, "seed": None if seed is None else int(seed), "max_turns": max_turns}


def make_env(env_id: str, env_kwargs: Mapping[str, Any], env_server_url: str | None = None):
    """The episode's env: ``gymnasium.make`` here, or a client of ``metaspatial serve-env``.

    ``env_server_url`` may list several servers, comma-separated; each episode picks one at random,
    which spreads a batch's trajectories evenly enough over CPU nodes.
    """
    urls = [u.strip() for u in (env_server_url or "").split(",") if u.strip()]
    if urls:
        from metaspatial_env.env_client import RemoteEnv

        # A server was started with its env id and kwargs (``metaspatial serve-env``), so the
        # row's env_id and env_kwargs do not travel; the room and the seed do, in reset.
        return RemoteEnv(random.choice(urls))
    import gymnasium as gym

    import metaspatial_env  # noqa: F401  registers the ids

    return gym.make(env_id, **dict(env_kwargs))


def image_of(observation: Mapping[str, Any]):
    """The observation's render as a PIL image (what verl's processor and vLLM take), or None."""
    from PIL import Image

    image = observation.get("image") if isinstance(observation, Mapping) else None
    if image is None:
        return None
    return Image.fromarray(np.asarray(image, dtype=np.uint8)).convert("RGB")


def _user_text(messages: list[dict[str, Any]]) -> str:
    """The text of the last user message (string content or text parts)."""
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            return "".join(part.get("text", "") for part in content if part.get("type") == "text")
    return ""


def _register(cls):
    """verl's ``@register(AGENT_NAME)``, unless the name is already there.

    A worker that read the agent-loop config file holds the file's entry (``_target_`` plus this
    loop's keyword arguments) under the name, and hydra imports this module while instantiating
    that entry: a plain ``@register`` would then replace it with a bare ``_target_``, and every
    later episode would lose the file's arguments (the first one keeps them).
    """
    if AGENT_NAME not in _agent_loop._agent_loop_registry:
        _agent_loop.register(AGENT_NAME)(cls)
    return cls


@_register
class MetaSpatialAgentLoop(_agent_loop.AgentLoopBase):
    """Plays one env episode per trajectory (see the module docstring).

    Keyword arguments come from the agent-loop config file
    (``training/configs/verl_grpo_qwen2_5_vl_3b.yaml``): ``max_turns`` caps the answers (the
    row's ``extra_info.max_turns`` and the env's own budget apply too), ``max_tokens_per_turn``
    caps one answer, ``env_server_url`` plays through ``metaspatial serve-env`` instead of an
    in-process env.
    """

    def __init__(self, *args: Any, max_turns: int | None = None, max_tokens_per_turn: int | None = None,
                 env_server_url: str | None = None, **kwargs: Any):
        kwargs.pop("name", None)  # the config file's entry name, passed along by hydra
        kwargs.pop("tools", None)  # verl hands every loop its tool list; this one has none
        super().__init__(*args, **kwargs)
        self.max_turns = None if max_turns is None else int(max_turns)
        self.max_tokens_per_turn = None if max_tokens_per_turn is None else int(max_tokens_per_turn)
        self.env_server_url = env_server_url or None
        self.prompt_length = self.rollout_config.prompt_length
        self.response_length = self.rollout_config.response_length

    async def run(self, sampling_params: dict[str, Any], priority: int = 0, **kwargs: Any):
        spec = episode_spec(kwargs.get("extra_info"))
        limits = [m for m in (self.max_turns, spec["max_turns"]) if m is not None]
        max_turns = min(limits) if limits else None
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="metaspatial-env")
        loop = asyncio.get_running_loop()

        def on_env_thread(fn, *args, **kw):
            return loop.run_in_executor(executor, lambda: fn(*args, **kw))

        env = None
        try:
            env = await on_env_thread(make_env, spec["env_id"], spec["env_kwargs"], self.env_server_url)
            observation, _ = await on_env_thread(env.reset, seed=spec["seed"], options=spec["options"])
            return await self._play(env, observation, on_env_thread, sampling_params, int(priority),
                                    max_turns, list(kwargs["raw_prompt"]))
        finally:
            if env is not None:
                await on_env_thread(env.close)
            executor.shutdown(wait=False)

    async def _play(self, env, observation, on_env_thread, sampling_params, priority, max_turns, messages):
        if observation.get("text") != _user_text(messages):
            raise ValueError("the env's reset text differs from the dataset row's prompt: the parquet was written "
                             "for another room or env version; rewrite it with python -m training.verl_dataset")
        # The row's prompt is text only (the reset render of an empty room says nothing the text
        # does not), but a row with images is handled the way verl's own loops handle it.
        multi_modal_data = await self.process_multi_modal_info(messages)
        images = list(multi_modal_data.get("images") or [])
        mm_processor_kwargs = self._get_mm_processor_kwargs()
        self._assert_mm_supported(bool(images))
        prompt_ids = await self.ct_build_initial_tokens(messages, images=images or None)
        request_id = f"det-{priority}" if getattr(self.rollout_config, "full_determinism", False) else uuid4().hex

        metrics: dict[str, Any] = {}
        response_mask: list[int] = []
        response_logprobs: list[float] = []
        turn_rewards: list[float] = []
        last_info: dict[str, Any] = {}
        feedback_turns = 0
        ended_by = "max_turns"
        while True:
            budget = self.response_length - len(response_mask)
            turn_params = dict(sampling_params)
            turn_params["max_tokens"] = min(budget, self.max_tokens_per_turn or budget)
            with _profiler.simple_timer("generate_sequences", metrics):
                output = await self.server_manager.generate(
                    request_id=request_id, prompt_ids=prompt_ids, sampling_params=turn_params,
                    image_data=images or None, video_data=None, mm_processor_kwargs=mm_processor_kwargs)
            preempted = output.num_preempted if output.num_preempted is not None else 0
            metrics["num_preempted"] = metrics.get("num_preempted", 0) + preempted
            merged, response_mask, logprobs = await self.ct_merge_assistant_token(
                prompt_ids, output.token_ids, response_mask,
                response_logprobs if (response_logprobs or output.log_probs) else None,
                assistant_logprobs=output.log_probs or None)
            prompt_ids = merged.token_ids
            response_logprobs = logprobs or []
            answer = self.tokenizer.decode(output.token_ids, skip_special_tokens=True)

            with _profiler.simple_timer("tool_calls", metrics):  # verl's name for time spent outside the model
                observation, reward, terminated, truncated, last_info = await on_env_thread(env.step, answer)
            turn_rewards.append(float(reward))
            messages.append({"role": "assistant", "content": answer})
            if terminated or truncated:
                ended_by = "success" if terminated else "env_turns"
                break
            if max_turns is not None and len(turn_rewards) >= max_turns:
                break
            if len(response_mask) >= self.response_length:
                ended_by = "response_length"
                break

            # The render and the feedback as the next user turn, tokenized by verl's own builder.
            image = image_of(observation)
            content = ([{"type": "image", "image": image}] if image is not None else [])
            content.append({"type": "text", "text": observation["text"]})
            previous = list(messages)
            messages.append({"role": "user", "content": content})
            new_images = [image] if image is not None else []
            self._assert_mm_supported(bool(new_images))
            merged, mask, logprobs = await self.ct_merge_context_msg(
                previous, messages, prompt_ids, response_mask, response_logprobs or None)
            if len(mask) >= self.response_length:  # no room left for the answer to it
                messages.pop()
                ended_by = "response_length"
                break
            prompt_ids, response_mask = merged.token_ids, mask
            response_logprobs = logprobs or []
            images.extend(new_images)
            feedback_turns += 1

        return self._output(prompt_ids, response_mask, response_logprobs, images, mm_processor_kwargs, metrics,
                            turn_rewards, last_info, feedback_turns, ended_by)

    def _output(self, token_ids, response_mask, response_logprobs, images, mm_processor_kwargs, metrics,
                turn_rewards, last_info, feedback_turns, ended_by):
        if len(response_mask) > self.response_length:  # the budget checks above keep this from happening
            raise RuntimeError(f"episode of {len(response_mask)} response tokens overran "
                               f"rollout.response_length={self.response_length}")
        split = len(token_ids) - len(response_mask)
        episode_reward = float(sum(turn_rewards))
        # Scalars only: verl stacks each key across the batch and averages it in its metrics.
        reward_extra_info = {
            "episode_reward": episode_reward,
            "final_total": float(last_info.get("reward_total", 0.0)),
            "success": float(bool(last_info.get("success", False))),
            "answers": float(len(turn_rewards)),
            "ended_by_response_length": float(ended_by == "response_length"),
        }
        output = _agent_loop.AgentLoopOutput(
            prompt_ids=token_ids[:split],
            response_ids=token_ids[split:],
            response_mask=response_mask,
            response_logprobs=response_logprobs or None,
            multi_modal_data={"images": images} if images else {},
            mm_processor_kwargs=mm_processor_kwargs,
            reward_score=episode_reward,
            num_turns=1 + len(turn_rewards) + feedback_turns,  # user and assistant turns, as verl counts
            metrics=metrics,
            extra_fields={},
        )
        output.extra_fields.update({"turn_scores": turn_rewards, "tool_rewards": [],
                                    "reward_extra_info": reward_extra_info, "ended_by": ended_by})
        return output
