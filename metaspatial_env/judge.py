"""The VLM judge: an OpenAI-compatible vision model grades a rendered layout (the ``judge`` term).

The judge sees the rendered views (perspective and top-down plan), the room size, the object
list (ids, sizes, styles, materials) and the user's preference, and grades the five criteria
IDesign and MetaSpatial use, 1 to 10 each, as strict JSON. The term is the mean grade mapped to
[0, 1] (:func:`metaspatial_env.reward.judge_term`).

Requests run at temperature 0 with a per-call timeout, in a thread pool shared by every env of
the process that uses the same settings (so vector envs grade concurrently); a malformed grade is
asked for again up to ``retries`` times. Grades are cached by a hash of the model, the settled
layout and the image. When no valid grade comes back, :class:`Grade` carries no score and says
why, and the env leaves the term out of that step (never a made-up grade).

Whatever the endpoint does, grading never raises: a 200 with a text/plain or HTML page, a body
that is not JSON or not a chat completion, a refusal (401, 404 ...), a hang past ``timeout``, a
closed connection, or a bug of ours in between all become a :class:`Grade` with ``error`` (the
env's ``info["judge_error"]``). That text goes through :func:`metaspatial_env.redact.redact`, and
the key read from ``api_key_env`` is registered as a secret, so an endpoint quoting the key back
does not put it in the info, nor in what evaluation writes from it.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .chat_client import ChatError, chat_with_retries, make_client
from .config import from_mapping
from .prompting import IMAGE_ENCODINGS, _metres, image_data_url
from .redact import redact, register_secret
from .reward import judge_term
from .schema import Task

CRITERIA = ("realism_and_geometric_consistency", "functionality", "layout", "color_and_materials",
            "overall_atmosphere")
JUDGE_SYSTEM_PROMPT = (
    "You are an expert interior designer grading a 3D room layout from its renders (left: a perspective "
    "view, right: a top-down plan; objects are labelled by id). Grade each criterion from 1 (very poor) to "
    "10 (excellent):\n"
    "- realism_and_geometric_consistency: objects sit plausibly, do not intersect or float, sizes and "
    "orientations make sense;\n"
    "- functionality: the room serves its purpose, with clear walkways and usable furniture;\n"
    "- layout: the arrangement is balanced and well organised and follows the requested relations;\n"
    "- color_and_materials: colours and materials go together and suit the room;\n"
    "- overall_atmosphere: the room matches the user's preference and feels coherent.\n"
    "Answer with only a JSON object with exactly these integer keys: " + ", ".join(CRITERIA) + "."
)


@dataclass(frozen=True)
class JudgeConfig:
    """Settings of the VLM judge (the env's ``judge`` argument); unknown keys are errors."""

    model: str
    """Model name at the endpoint, e.g. ``gpt-4o``."""
    base_url: str | None = None
    """OpenAI-compatible endpoint; None uses ``OPENAI_BASE_URL`` or OpenAI itself."""
    api_key_env: str = "OPENAI_API_KEY"
    """Name of the environment variable holding the key (the key itself never goes in a config)."""
    timeout: float = 60.0
    """Seconds one grading may take, retries included; past it the step has no judge term."""
    retries: int = 2
    """Extra requests after a malformed grade or a transient HTTP failure."""
    max_tokens: int = 300
    """Completion budget of one grade."""
    workers: int = 4
    """Threads grading concurrently (shared by the process's envs with the same settings)."""
    cache_size: int = 4096
    """Grades remembered by layout-and-image hash."""
    image_encoding: str = "jpeg"
    """How the render travels to the judge: ``jpeg`` (quality 90, labels legible) or ``png``."""

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model:
            raise ValueError("judge.model must be a non-empty model name")
        if not self.timeout > 0 or self.retries < 0 or self.workers < 1 or self.cache_size < 0:
            raise ValueError(f"judge: timeout > 0, retries >= 0, workers >= 1, cache_size >= 0; got {self}")
        if self.image_encoding not in IMAGE_ENCODINGS:
            raise ValueError(f"judge.image_encoding must be one of {IMAGE_ENCODINGS}, got {self.image_encoding!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JudgeConfig:
        if not isinstance(data, Mapping):
            raise ValueError(f"judge must be a dict of JudgeConfig fields, got {type(data).__name__}")
        if "model" not in data:
            raise ValueError("judge needs a 'model'")
        return from_mapping(cls, data, "judge keys")


@dataclass(frozen=True)
class Grade:
    """A judge's verdict: the criteria and the 0-1 score, or ``error`` saying why there is none."""

    criteria: dict[str, int] | None = None
    score: float | None = None
    error: str | None = None


class MalformedGrade(ValueError):
    """The judge's reply is not the strict JSON grade asked for."""


_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def parse_grade(text: str | None) -> dict[str, int]:
    """The five criteria from a reply (a fenced or surrounded JSON object is tolerated).

    Raises :class:`MalformedGrade` unless every criterion is an integer from 1 to 10.
    """
    match = _JSON_OBJECT.search(text or "")
    if match is None:
        raise MalformedGrade("no JSON object in the reply")
    try:
        data = json.loads(match.group(0))
    except json.JSONDecodeError as error:
        raise MalformedGrade(f"invalid JSON ({error.msg})") from None
    if not isinstance(data, dict):
        raise MalformedGrade("the JSON is not an object")
    missing = [c for c in CRITERIA if c not in data]
    if missing:
        raise MalformedGrade(f"missing criteria {missing}")
    grades = {}
    for criterion in CRITERIA:
        value = data[criterion]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or not 1 <= value <= 10:
            raise MalformedGrade(f"{criterion} must be an integer from 1 to 10, got {value!r}")
        grades[criterion] = int(value)
    return grades


def judge_prompt(task: Task) -> str:
    """What the judge reads beside the image: room size, user preference, the objects."""
    X, Y, Z = task.size
    objects = "\n".join(
        f"- {o.id}: {_metres(o.size[0])} x {_metres(o.size[1])} x {_metres(o.size[2])} m, "
        f"{' '.join(part for part in (o.style, o.material) if part) or 'unspecified style'}"
        for o in task.objects)
    return (f"Room: {task.room_type}, {_metres(X)} x {_metres(Y)} m, {_metres(Z)} m high.\n"
            f"User preference: {task.user_preference}\nObjects:\n{objects}\nGrade the layout in the image.")


def layout_key(model: str, layout: Mapping[str, Mapping[str, float]], image: np.ndarray) -> str:
    """Cache key: the judge model, the settled layout and the rendered pixels."""
    digest = hashlib.sha256(model.encode())
    digest.update(json.dumps(layout, sort_keys=True).encode())
    digest.update(str(image.shape).encode())
    digest.update(np.ascontiguousarray(image).tobytes())
    return digest.hexdigest()


class VLMJudge:
    """Grades layouts with an OpenAI-compatible VLM (see the module docstring)."""

    def __init__(self, config: JudgeConfig):
        import os

        self.config = config
        key = os.environ.get(config.api_key_env)
        register_secret(key)
        self._client = make_client(config.base_url, key, config.timeout)
        self._pool = ThreadPoolExecutor(config.workers, thread_name_prefix="vlm-judge")
        self._cache: OrderedDict[str, Grade] = OrderedDict()
        self._lock = threading.Lock()

    def submit(self, task: Task, layout: Mapping[str, Mapping[str, float]], image: np.ndarray) -> Future:
        """Start grading in the pool; the future's result is a :class:`Grade` (never raises)."""
        try:
            key = layout_key(self.config.model, layout, image)
            with self._lock:
                cached = self._cache.get(key)
            if cached is not None:
                return _done(cached)
            return self._pool.submit(self._grade_and_cache, key, task, image)
        except Exception as error:  # e.g. the pool was shut down
            return _done(_failed("judge unavailable", error))

    def grade(self, task: Task, layout: Mapping[str, Mapping[str, float]], image: np.ndarray) -> Grade:
        """Grade one layout, waiting at most ``config.timeout`` seconds."""
        return self.result(self.submit(task, layout, image))

    def grade_many(self, items: list[tuple[Task, Mapping[str, Mapping[str, float]], np.ndarray]]) -> list[Grade]:
        """Grade several layouts concurrently (in the pool), in order."""
        return [self.result(f) for f in [self.submit(*item) for item in items]]

    def result(self, future: Future) -> Grade:
        """The future's :class:`Grade`, waiting at most ``config.timeout`` seconds (never raises)."""
        try:
            grade = future.result(timeout=self.config.timeout)
        except FutureTimeout:
            return Grade(error=f"timeout: no grade within {self.config.timeout:g} s")
        except Exception as error:  # cancelled, or a failure _grade_and_cache did not turn into a Grade
            return _failed("judge failed", error)
        return grade if isinstance(grade, Grade) else Grade(error=f"judge failed: not a grade: {type(grade).__name__}")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _grade_and_cache(self, key: str, task: Task, image: np.ndarray) -> Grade:
        try:
            grade = self._request(task, image)
        except Exception as error:  # building the request (the image, the prompt) failed
            return _failed("judge failed", error)
        if grade.score is not None and self.config.cache_size:
            with self._lock:
                self._cache[key] = grade
                while len(self._cache) > self.config.cache_size:
                    self._cache.popitem(last=False)
        return grade

    def _request(self, task: Task, image: np.ndarray) -> Grade:
        messages = [
            {"role": "system", "content": JUDGE_SYSTEM_PROMPT},
            {"role": "user", "content": [{"type": "image_url",
                                          "image_url": {"url": image_data_url(image, self.config.image_encoding)}},
                                         {"type": "text", "text": judge_prompt(task)}]},
        ]
        problem = "no attempt"
        for _ in range(self.config.retries + 1):
            try:
                response = chat_with_retries(
                    self._client, retries=0, backoff=0.0, model=self.config.model, messages=messages,
                    temperature=0.0, max_tokens=self.config.max_tokens, response_format={"type": "json_object"})
                choice = response.choices[0] if response.choices else None
                text = getattr(getattr(choice, "message", None), "content", None)
                if text is not None and not isinstance(text, str):
                    raise MalformedGrade(f"the reply's content is {type(text).__name__}, not text")
                criteria = parse_grade(text)
                return Grade(criteria, judge_term(criteria.values()))
            except MalformedGrade as error:
                problem = f"malformed grade: {error}"
            except ChatError as error:
                problem = f"request failed: {error}"
            except Exception as error:  # a reply shaped like nothing the client or we expected
                problem = f"request failed: {type(error).__name__}: {error}"
        return Grade(error=redact(f"{problem} (after {self.config.retries + 1} attempt(s))"))


def _done(grade: Grade) -> Future:
    future: Future = Future()
    future.set_result(grade)
    return future


def _failed(what: str, error: BaseException) -> Grade:
    return Grade(error=redact(f"{what}: {type(error).__name__}: {error}"))


_JUDGES: dict[str, VLMJudge] = {}
_JUDGES_LOCK = threading.Lock()


def shared_judge(config: JudgeConfig) -> VLMJudge:
    """The process's judge for ``config`` (one pool and one cache per distinct setting)."""
    key = json.dumps(asdict(config), sort_keys=True)
    with _JUDGES_LOCK:
        if key not in _JUDGES:
            _JUDGES[key] = VLMJudge(config)
        return _JUDGES[key]
