"""``hf:PATH``: a Hugging Face ``transformers`` model as a policy (Qwen2.5-VL family first).

The checkpoint at ``PATH`` (a local folder or a hub id; set ``HF_HUB_OFFLINE=1`` to forbid
downloads) loads with ``AutoProcessor`` and ``AutoModelForImageTextToText``; a text-only causal
LM (``AutoTokenizer`` + ``AutoModelForCausalLM``) is the fallback, and then the renders are left
out of the chat. Prompts are built by :class:`~metaspatial_env.prompting.Conversation` and
rendered with the processor's chat template; generation is greedy at ``temperature=0``.

:meth:`HFPolicy.act_batch` answers several episodes in one padded ``generate`` call: slot ``i``
of the batch is episode ``i`` (its own conversation), so a vector env's observations map onto
the slots directly. ``act`` is slot 0.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from metaspatial_env.deps import require
from metaspatial_env.prompting import hf_messages, message_images

from .chat import BatchedChatPolicy


def load_tokenizer(path: str):
    """The tokenizer of a checkpoint: ``AutoTokenizer``, except for a plain ``tokenizers`` tokenizer.

    A tokenizer saved as the generic backend (``tokenizer_class`` ``TokenizersBackend`` or
    ``PreTrainedTokenizerFast``, as :func:`training.pretrain.build_tokenizer` saves) is loaded as
    saved. ``AutoTokenizer`` would pick the model type's class (``Qwen2Tokenizer`` for the small
    policy), which rebuilds the pre-tokenizer and so silently tokenizes differently from
    pre-training (the small policy's prompts came out three times as long).
    """
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    config_file = Path(path) / "tokenizer_config.json"
    if config_file.is_file():
        declared = json.loads(config_file.read_text()).get("tokenizer_class")
        if declared in ("TokenizersBackend", "PreTrainedTokenizerFast"):
            return PreTrainedTokenizerFast.from_pretrained(path)
    return AutoTokenizer.from_pretrained(path)


class HFPolicy(BatchedChatPolicy):
    """A ``transformers`` chat model answering layouts, batched over episodes."""

    message_format = "hf"

    def __init__(self, path: str = "", *, max_new_tokens: int = 1024, temperature: float = 0.0, top_p: float = 1.0,
                 max_prompt_tokens: int | None = 8192, images: bool = True, device: str | None = None,
                 dtype: str = "auto", seed: int | None = None, system_prompt: str | None = None):
        if not path:
            raise ValueError("hf policy needs a checkpoint: hf:PATH")
        torch = require("torch", "hf", "the hf policy")
        transformers = require("transformers", "hf", "the hf policy")
        self.path = path
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.top_p = top_p
        self.seed = seed
        try:
            self.processor = transformers.AutoProcessor.from_pretrained(path)
            self.model = transformers.AutoModelForImageTextToText.from_pretrained(path, dtype=dtype)
            self.tokenizer = self.processor.tokenizer
            self.vision = True
        except (ValueError, KeyError, OSError) as vision_error:
            try:  # a text-only checkpoint
                self.tokenizer = load_tokenizer(path)
                self.processor = self.tokenizer
                self.model = transformers.AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
                self.vision = False
            except (ValueError, KeyError, OSError) as text_error:
                raise ValueError(f"cannot load {path!r} as a vision-language model ({vision_error}) "
                                 f"nor as a causal LM ({text_error})") from None
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device).eval()
        self.tokenizer.padding_side = "left"  # generation continues every row from its end
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        super().__init__(max_prompt_tokens, images=images and self.vision, system_prompt=system_prompt)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False).input_ids)

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
        if self.vision:
            texts = [self.processor.apply_chat_template(m, add_generation_prompt=True, tokenize=False) for m in batch]
            images = [image for m in batch for image in message_images(m)]
            inputs = self.processor(text=texts, images=images or None, padding=True, return_tensors="pt")
        else:
            texts = [self.tokenizer.apply_chat_template(_text_only(m), add_generation_prompt=True, tokenize=False)
                     for m in batch]
            inputs = self.tokenizer(texts, padding=True, return_tensors="pt", add_special_tokens=False)
        inputs = inputs.to(self.device)
        sampling = {"do_sample": True, "temperature": self.temperature, "top_p": self.top_p} \
            if self.temperature > 0 else {"do_sample": False}
        if self.seed is not None:
            torch.manual_seed(self.seed)
        with torch.inference_mode():
            output = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens,
                                         pad_token_id=self.tokenizer.pad_token_id, **sampling)
        new_tokens = output[:, inputs["input_ids"].shape[1]:]
        return self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)


def _text_only(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Plain string contents, for tokenizers whose chat template knows no parts."""
    return [{"role": m["role"], "content": "\n".join(p["text"] for p in m["content"] if p["type"] == "text")}
            for m in messages]
