"""The room-layout env inside TRL's ``GRPOTrainer`` (``environment_factory``), for VLMs such as Qwen2.5-VL.

TRL runs the multi-turn loop itself: it renders the prompt with the environment's tools, generates,
parses ``<tool_call>`` blocks from the completion, calls the environment's methods, appends their
responses (images included) as ``tool`` messages and generates again, until a completion calls no
tool or ``max_tool_calling_iterations`` is spent. The learner then replays the whole completion,
tool responses masked out of the loss, with every image of the episode in the forward pass. What
this module adds:

- :class:`MetaSpatialToolEnv`: one env behind TRL's environment protocol. ``reset(**row)`` starts
  the room the dataset row names; the only tool, :meth:`~MetaSpatialToolEnv.submit_layout`, steps
  the env and answers with the render and the feedback as content parts, which is how TRL passes a
  multimodal tool response to the model; ``get_reward`` is the episode's return. TRL treats every
  public method of the class as a tool, so everything else here is private or a property.
- :func:`environment_factory`: the zero-argument factory TRL calls once per concurrent rollout.
- :func:`tool_chat_template`: Qwen2.5-VL's own template cannot render tool calls, so TRL refuses it;
  this gives it the Hermes-style ``<tool_call>`` template of the Qwen2.5 text models, with image
  parts allowed in tool responses, and the matching response parser.
- :func:`room_dataset`: a ``datasets.Dataset`` of prompts built from rooms, with the env's own
  task prompt; :func:`final_total` and :func:`layout_success` log what the episodes reached.

The environment can be any object with the gymnasium-like interface ``reset(*, seed, options) ->
(obs, info)``, ``step(text) -> (obs, reward, terminated, truncated, info)``, ``close()``, obs
``{"text": str, "image": uint8 HxWx3}`` (image optional): an env made in this process (the tested
path) or :class:`metaspatial_env.env_client.RemoteEnv` for an env served elsewhere (``base_url``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from metaspatial_env.deps import require
from metaspatial_env.prompting import SYSTEM_PROMPT, task_prompt

DEFAULT_ENV_ID = "MetaSpatial-Fast-v0"
TOOL_NAME = "submit_layout"

TOOL_SYSTEM_PROMPT = SYSTEM_PROMPT + (
    "\nSubmit each layout by calling the submit_layout tool with the complete layout (the JSON list, or the "
    "<answer>...</answer> text) as its layout argument. The tool answers with the render of the settled room and "
    "the feedback; call it again with a corrected layout until the feedback says the episode is over."
)
"""The system prompt for tool use: the shared one, plus how answers travel (as a tool call)."""

# Hermes-style tool calls as the Qwen2.5 text models render them (tools listed in the system turn,
# <tool_call> JSON in the assistant turn, <tool_response> inside a user turn), with image parts
# allowed in user and tool contents as Qwen2.5-VL renders them. Each message renders the same
# whatever follows it (TRL's multi-turn loop relies on that, see is_chat_template_prefix_preserving),
# so TRL keeps it rather than swapping in a training template.
TOOL_CHAT_TEMPLATE = (
    "{%- macro render_content(content) -%}"
    "{%- if content is string -%}{{- content -}}"
    "{%- elif content is not none -%}{%- for part in content -%}"
    "{%- if part.type == 'image' or 'image' in part or 'image_url' in part -%}<|vision_start|><|image_pad|><|vision_end|>"
    "{%- elif part.type == 'video' or 'video' in part -%}<|vision_start|><|video_pad|><|vision_end|>"
    "{%- elif 'text' in part -%}{{- part.text -}}{%- endif -%}"
    "{%- endfor -%}{%- endif -%}"
    "{%- endmacro -%}"
    "{%- if messages[0].role == 'system' -%}{%- set system = render_content(messages[0].content) -%}"
    "{%- else -%}{%- set system = 'You are a helpful assistant.' -%}{%- endif -%}"
    "{{- '<|im_start|>system\\n' + system -}}"
    "{%- if tools -%}"
    "{{- '\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\n"
    "You are provided with function signatures within <tools></tools> XML tags:\\n<tools>' -}}"
    "{%- for tool in tools -%}{{- '\\n' + (tool | tojson) -}}{%- endfor -%}"
    "{{- '\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within "
    "<tool_call></tool_call> XML tags:\\n<tool_call>\\n{\"name\": <function-name>, \"arguments\": "
    "<args-json-object>}\\n</tool_call>' -}}"
    "{%- endif -%}"
    "{{- '<|im_end|>\\n' -}}"
    "{%- for message in messages -%}"
    "{%- if message.role == 'system' and loop.first -%}"
    "{%- elif message.role == 'tool' -%}"
    "{%- if loop.first or messages[loop.index0 - 1].role != 'tool' -%}{{- '<|im_start|>user' -}}{%- endif -%}"
    "{{- '\\n<tool_response>\\n' + render_content(message.content) + '\\n</tool_response>' -}}"
    "{%- if loop.last or messages[loop.index0 + 1].role != 'tool' -%}{{- '<|im_end|>\\n' -}}{%- endif -%}"
    "{%- else -%}"
    "{{- '<|im_start|>' + message.role + '\\n' + render_content(message.content) -}}"
    "{%- for tool_call in message.tool_calls or [] -%}"
    "{%- if tool_call.function is defined -%}{%- set tool_call = tool_call.function -%}{%- endif -%}"
    "{%- if not loop.first or message.content -%}{{- '\\n' -}}{%- endif -%}"
    "{{- '<tool_call>\\n{\"name\": \"' + tool_call.name + '\", \"arguments\": ' -}}"
    "{%- if tool_call.arguments is string -%}{{- tool_call.arguments -}}"
    "{%- else -%}{{- tool_call.arguments | tojson -}}{%- endif -%}"
    "{{- '}\\n</tool_call>' -}}"
    "{%- endfor -%}"
    "{{- '<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)


def tool_chat_template(processing_class: Any) -> str:
    """Give a Qwen2.5-VL processor (or a Qwen2.5 tokenizer) the tool-capable chat template; return it.

    The template is set on the processor and on its tokenizer, and the tokenizer gets TRL's parser
    for Hermes ``<tool_call>`` JSON blocks (``response_template``, or ``response_schema`` before
    transformers 5.13), so ``GRPOTrainer`` finds the tool calls in a completion.
    """
    require("trl", "trl", "the tool-call parser")
    from packaging.version import Version
    from transformers import __version__ as transformers_version
    from trl.chat_template_utils import qwen3_schema, qwen3_template  # Hermes JSON calls: the Qwen2.5 format

    tokenizer = getattr(processing_class, "tokenizer", processing_class)
    for target in {id(processing_class): processing_class, id(tokenizer): tokenizer}.values():
        target.chat_template = TOOL_CHAT_TEMPLATE
    if Version(transformers_version) >= Version("5.13.0.dev0"):
        tokenizer.response_template = qwen3_template
    else:
        tokenizer.response_schema = qwen3_schema
    return TOOL_CHAT_TEMPLATE


# ----------------------------------------------------------------------------- the environment
def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content or [] if isinstance(part, Mapping))


class MetaSpatialToolEnv:
    """One room-layout episode per rollout, its layouts sent through the ``submit_layout`` tool.

    ``env``: any env with the gymnasium-like interface (see the module docstring); otherwise one is
    made: ``RemoteEnv(base_url)`` when ``base_url`` is given, else ``gymnasium.make(env_id,
    **env_kwargs)``. The env's own ``max_turns`` is the turn budget; once its episode has ended
    (``terminated`` on success or ``truncated`` at the budget) the tool refuses further layouts
    with a message, unscored, rather than stepping a finished episode.
    """

    def __init__(self, env: Any | None = None, *, env_id: str = DEFAULT_ENV_ID,
                 env_kwargs: Mapping[str, Any] | None = None, base_url: str | None = None):
        if env is None and base_url is not None:
            from metaspatial_env.env_client import RemoteEnv

            env = RemoteEnv(base_url)
        elif env is None:
            import gymnasium as gym

            import metaspatial_env  # noqa: F401  (registers the ids)

            env = gym.make(env_id, **dict(env_kwargs or {}))
        self.env = env
        self._start()

    def _start(self) -> None:
        self.task_id: str | None = None
        self.rewards: list[float] = []
        """The env's reward of each scored layout, in order."""
        self.infos: list[dict[str, Any]] = []
        self.done = False
        self._end = ""

    # ------------------------------------------------------------------ TRL's protocol
    def reset(self, prompt: Any = None, task_id: str | None = None, split: str | None = None,
              task: str | Mapping | None = None, seed: int | None = None, **_columns: Any) -> str | None:
        """Start the room the dataset row names; return the task prompt for TRL to append.

        ``task`` (a task dict or its JSON) is the room itself; otherwise ``task_id`` names a room of
        ``split`` (the env's configured split when empty); with neither the env draws one. ``seed``
        seeds the env. TRL appends the returned text to the row's last user message, so when that
        message already holds the task prompt (as :func:`room_dataset` writes it) None is returned
        and the prompt is not doubled. Other columns are ignored.
        """
        options: dict[str, Any] = {}
        if task:
            options["task"] = json.loads(task) if isinstance(task, str) else dict(task)
        elif task_id:
            options["task_id"] = str(task_id)
            if split:
                options["split"] = str(split)
        obs, info = self.env.reset(seed=None if seed is None else int(seed), options=options or None)
        self._start()
        self.task_id = info.get("task_id")
        text = obs["text"]
        if isinstance(prompt, Sequence) and prompt and not isinstance(prompt, str):
            if text in _content_text(prompt[-1].get("content")):
                return None
        return text

    def submit_layout(self, layout: str) -> list[dict[str, Any]]:
        """Submit the complete room layout: the environment settles it with physics, renders it and scores it.

        Args:
            layout: The layout as a JSON list with one entry per object of the room, each with new_object_id, x, y, z (metres, the centre of its bounding box) and z_angle (degrees), optionally inside <answer></answer> tags.

        Returns:
            The rendered views of the settled room and the feedback text: the reward terms and each object's problems.
        """
        if self.done:
            return [{"type": "text", "text": f"The episode is over ({self._end}): this layout was not scored. "
                                             f"Do not call {TOOL_NAME} again."}]
        if not isinstance(layout, str):  # a parser that typed the argument as JSON gives a list
            try:
                layout = json.dumps(layout)
            except (TypeError, ValueError):
                layout = str(layout)
        obs, reward, terminated, truncated, info = self.env.step(layout)
        self.rewards.append(float(reward))
        self.infos.append(dict(info))
        text = obs["text"]
        if terminated or truncated:
            self.done = True
            self._end = "the layout succeeded" if terminated else f"the turn budget of {len(self.rewards)} is spent"
            text += f"\nThe episode is over ({self._end})."
        parts: list[dict[str, Any]] = []
        image = obs.get("image") if isinstance(obs, Mapping) else None
        if image is not None:
            from PIL import Image

            parts.append({"type": "image", "image": Image.fromarray(np.asarray(image, dtype=np.uint8))})
        return [*parts, {"type": "text", "text": text}]

    def get_reward(self) -> float:
        """The episode's return: the sum of the env's rewards of the scored layouts (0.0 when none was).

        By the env's ``reward_mode``: ``absolute``, the sum of every turn's total (more good turns pay
        more); ``improvement``, the last layout's total (the differences telescope); ``final``, the
        total at the episode's end, and 0 when the rollout stopped calling the tool before the end.
        """
        return float(sum(self.rewards))

    # ------------------------------------------------------------------ read-outs (properties: not tools)
    @property
    def turns(self) -> int:
        """Layouts scored this episode."""
        return len(self.rewards)

    @property
    def last_total(self) -> float:
        """The last scored layout's ``reward_total`` (0.0 before any)."""
        return float(self.infos[-1].get("reward_total", 0.0)) if self.infos else 0.0

    @property
    def success(self) -> bool:
        """Whether the last scored layout succeeded."""
        return bool(self.infos[-1].get("success", False)) if self.infos else False

    def __enter__(self) -> MetaSpatialToolEnv:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.env.close()


def environment_factory(env_id: str = DEFAULT_ENV_ID, *, base_url: str | None = None,
                        **env_kwargs: Any) -> Callable[[], MetaSpatialToolEnv]:
    """A zero-argument factory of :class:`MetaSpatialToolEnv` for ``GRPOTrainer(environment_factory=...)``.

    ``env_kwargs`` must be JSON-able (the registered ids' construction arguments are), so every
    instance gets its own copy and the factory describes itself in a log line. ``base_url``
    serves the env from another process instead (``env_id`` and ``env_kwargs`` are then the
    server's business and must be left out).
    """
    if base_url is not None and env_kwargs:
        raise ValueError("environment_factory: a remote env (base_url) takes no env_kwargs; configure the server")
    try:
        frozen = json.dumps(env_kwargs, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise ValueError(f"environment_factory: env_kwargs must be JSON-able: {error}") from None

    def factory() -> MetaSpatialToolEnv:
        return MetaSpatialToolEnv(env_id=env_id, env_kwargs=json.loads(frozen), base_url=base_url)

    factory.__qualname__ = factory.__name__ = f"MetaSpatialToolEnv[{base_url or env_id} {frozen}]"
    return factory


# ----------------------------------------------------------------------------- data and rewards
def room_dataset(source: str = "train", num_rooms: int | None = None, *, min_objects: int | None = None,
                 max_objects: int | None = None, seed: int = 0, system_prompt: str = TOOL_SYSTEM_PROMPT):
    """A ``datasets.Dataset`` with one conversational prompt per room of ``source``.

    ``source`` is a bundled split or ``generated:FIRST_SEED:COUNT`` (see
    :func:`metaspatial_env.tasks.load_rooms`, which also applies the object bounds and
    ``num_rooms``). Columns: ``prompt`` (the system prompt and a user turn holding
    :func:`~metaspatial_env.prompting.task_prompt`, the text the env's reset shows), ``task_id``,
    ``split`` (the bundled split, empty for generated rooms), ``task`` (the room as JSON for
    generated rooms, which no split holds; empty otherwise) and ``seed`` (``seed`` plus the row).
    """
    datasets = require("datasets", "trl", "the TRL room dataset")
    from metaspatial_env.tasks import load_rooms, split_names

    rooms = load_rooms(source, min_objects, max_objects, limit=num_rooms)
    bundled = source in split_names()
    rows = [{"prompt": [{"role": "system", "content": system_prompt},
                        {"role": "user", "content": task_prompt(room)}],
             "task_id": room.id, "split": source if bundled else "",
             "task": "" if bundled else json.dumps(room.to_dict()), "seed": seed + i}
            for i, room in enumerate(rooms)]
    return datasets.Dataset.from_list(rows)


def final_total(environments: Sequence[MetaSpatialToolEnv], **_: Any) -> list[float]:
    """Each rollout's last layout total: a reward function to log with weight 0.

    The training reward needs no function: TRL adds the environment's ``get_reward`` as a reward
    column of its own (named after the class, weight 1), so a reward function that called it too
    would count the episode twice.
    """
    return [env.last_total for env in environments]


def layout_success(environments: Sequence[MetaSpatialToolEnv], **_: Any) -> list[float]:
    """1.0 for each rollout whose last layout succeeded: a reward function to log with weight 0."""
    return [float(env.success) for env in environments]


#: The logging reward functions; pass them with ``reward_weights=[0.0] * len(METRIC_REWARDS)``.
METRIC_REWARDS = (final_total, layout_success)
