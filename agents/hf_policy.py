"""``hf:PATH``: a Hugging Face ``transformers`` model as a policy (Qwen2.5-VL family first).

The checkpoint at ``PATH`` (a local folder or a hub id; set ``HF_HUB_OFFLINE=1`` to forbid
downloads; a trainer checkpoint's ``model`` folder, LoRA adapters included) loads through
:func:`agents.hf_chat.load_chat_model`: a VLM with ``AutoProcessor`` and
``AutoModelForImageTextToText``, a text-only causal LM with its tokenizer, and then the renders
are left out of the chat. Prompts are built by :class:`~metaspatial_env.prompting.Conversation`
and encoded by the same :class:`~agents.hf_chat.ChatEncoder` the trainer uses; generation is
greedy at ``temperature=0``.

:meth:`HFPolicy.act_batch` answers several episodes in one padded ``generate`` call: slot ``i``
of the batch is episode ``i`` (its own conversation), so a vector env's observations map onto
the slots directly. ``act`` is slot 0.
"""

from __future__ import annotations

from typing import Any

from metaspatial_env.deps import require
from metaspatial_env.prompting import hf_messages

from .chat import BatchedChatPolicy
from .hf_chat import load_chat_model

__all__ = ["HFPolicy"]


class HFPolicy(BatchedChatPolicy):
    """A ``transformers`` chat model answering layouts, batched over episodes."""

    message_format = "hf"

    def __init__(self, path: str = "", *, max_new_tokens: int = 1024, temperature: float = 0.0, top_p: float = 1.0,
                 max_prompt_tokens: int | None = 8192, images: bool = True, device: str | None = None,
                 dtype: str = "auto", seed: int | None = None, system_prompt: str | None = None):
        if not path:
            raise ValueError("hf policy needs a checkpoint: hf:PATH")
        torch = require("torch", "hf", "the hf policy")
        require("transformers", "hf", "the hf policy")
        self.path = path
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.top_p = top_p
        self.seed = seed
        self.model, self.encoder = load_chat_model(path, dtype=dtype)
        self.processor = self.encoder.processor
        self.tokenizer = self.encoder.tokenizer
        self.vision = self.encoder.vision
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device).eval()
        super().__init__(max_prompt_tokens, images=images and self.vision, system_prompt=system_prompt)

    def count_tokens(self, text: str) -> int:
        return self.encoder.count_tokens(text)

    def image_tokens(self, image) -> int:
        return self.encoder.image_tokens(image)

    def complete(self, messages: list[dict[str, Any]]) -> str:
        """The reply to explicit OpenAI chat messages (the policy server's entry point)."""
        converted = hf_messages(messages)
        if not self.vision:
            converted = [{"role": m["role"], "content": [p for p in m["content"] if p["type"] == "text"]}
                         for m in converted]
        return self.generate([converted])[0]

    def generate(self, batch: list[list[dict[str, Any]]]) -> list[str]:
        """Completions of ``hf``-format chats, one padded batch."""
        import torch  # present: the constructor required it

        inputs = self.encoder.inputs([self.encoder.prompt(m) for m in batch])
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        sampling = {"do_sample": True, "temperature": self.temperature, "top_p": self.top_p} \
            if self.temperature > 0 else {"do_sample": False}
        if self.seed is not None:
            torch.manual_seed(self.seed)
        with torch.inference_mode():
            output = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens,
                                         pad_token_id=self.tokenizer.pad_token_id, **sampling)
        new_tokens = output[:, inputs["input_ids"].shape[1]:]
        return self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
