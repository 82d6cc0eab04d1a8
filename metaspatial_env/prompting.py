"""The text an agent reads and the chat messages built from it, in one place.

- :func:`task_prompt` (the reset observation) and :func:`feedback_text` (each step's
  observation) are what the environment shows; everything they write is printable ASCII (the
  observation's ``Text`` space). :func:`parse_task_prompt` reads a task prompt back into a
  :class:`~metaspatial_env.tasks.Task`, so a policy that only receives the prompt text (through
  the policy server, say) can still see the scene graph.
- :data:`SYSTEM_PROMPT` and :class:`Conversation` turn an episode's observations and answers
  into chat messages (OpenAI content parts or Hugging Face processor parts), with a token
  budget that drops old renders and old turns first. Policies and the trainer share them.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .function import DOOR_ZONE_EXTRA, OPEN_DEPTH, PERSON_WIDTH, REACH, SIT_DEPTH, WINDOW_DEPTH
from .schema import LAYOUT_ELEMENTS, LAYOUT_PREPOSITIONS, OBJECT_PREPOSITIONS, Opening, Task

if TYPE_CHECKING:  # pragma: no cover
    from .scoring import Evaluation

#: Longest text observation; feedback beyond it is cut with a note, a task prompt beyond it refused.
#: A 100-object room (the most a task may hold) of the benchmark's tiled rooms prompts in 18,761
#: characters; rooms with longer texts and more rules per object need the headroom.
MAX_TEXT_CHARS = 32768

ANSWER_FORMAT = (
    "Answer with your reasoning in <think>...</think>, then the layout in <answer>...</answer> as a JSON list "
    "with one entry per object: {\"new_object_id\": id, \"x\": m, \"y\": m, \"z\": m, \"z_angle\": degrees}. "
    "x, y, z are the centre of the object's bounding box; a floor object has z = height / 2."
)
CONVENTIONS = (
    "Coordinates: metres; the room spans x from 0 (west wall) to X (east wall), y from 0 (south wall) to Y "
    "(north wall), z from 0 (floor) to Z (ceiling). z_angle is the heading the object faces, clockwise from "
    "north: 0 faces +y (north), 90 faces +x (east), 180 south, 270 west. At z_angle 0 an object's length "
    "lies along x and its width along y. 'Left of B' means B's own left. Implied by every scene graph: an "
    "object on the floor and not on another stands on the floor (a rug is fine); one on a wall or in a corner, "
    "or hung on a wall, has its back to that wall and faces into the room (unless it has no front); wall and "
    "ceiling fixtures carry only what is put on them."
)


def ascii_text(text: str) -> str:
    """Printable ASCII only (with newlines), so any text fits the observation space."""
    text = text.encode("ascii", "backslashreplace").decode("ascii")
    return "".join(c for c in text if c == "\n" or 32 <= ord(c) < 127)


def _clip(text: str) -> str:
    if len(text) <= MAX_TEXT_CHARS:
        return text
    note = "\n... (feedback cut)"
    return text[: MAX_TEXT_CHARS - len(note)] + note


def _metres(value: float) -> str:
    """A length to the millimetre, without trailing zeros (what the task stores, read back exactly)."""
    return f"{round(value, 3):g}"


_UNSPECIFIED = "(unspecified)"


def describe_object(task: Task, object_id: str) -> str:
    """One line per object: its size, look, support and rules in the scene graph's words.

    The line has a fixed shape (``; ``-separated fields, rules ``, ``-separated) so that
    :func:`parse_task_prompt` can read it back.
    """
    o = task.object(object_id)
    length, width, height = o.size
    rules = [f"{r.preposition} {r.element}" for r in o.layout_rules]
    rules += [f"{r.preposition} {r.target}{' (adjacent)' if r.is_adjacent else ''}" for r in o.object_rules]
    if o.facing:
        rules.append(f"facing {o.facing}")
    return "; ".join([
        f"- {o.id}: size {_metres(length)} x {_metres(width)} x {_metres(height)} m (l x w x h)",
        f"style {o.style or _UNSPECIFIED}",
        f"material {o.material or _UNSPECIFIED}",
        ("on the floor" if o.on_floor else "not on the floor") + ("" if o.has_front else "; no front"),
        f"rules: {', '.join(rules) if rules else 'none'}",
        f"default z_angle {o.z_angle:g}",
    ])


#: The end a wall's offsets run from (its start), and the other end, in compass words.
_WALL_ENDS = {"south_wall": ("west", "east"), "north_wall": ("west", "east"),
              "west_wall": ("south", "north"), "east_wall": ("south", "north")}
OPENINGS_HEADER = "Doors and windows (fixed in the walls; nothing may be placed in them):"
OPENINGS_NEEDS = (
    f"The room must be usable: keep the floor in front of each door clear (as deep as the door is wide, plus "
    f"{DOOR_ZONE_EXTRA:g} m), put nothing taller than a window's sill within {WINDOW_DEPTH:g} m of a window, "
    f"leave a path {PERSON_WIDTH:g} m wide from a door to within {REACH:g} m of every bed's long side and every "
    f"seat, desk, sofa and cabinet front, and keep {OPEN_DEPTH:g} m free in front of what opens (wardrobes, "
    f"cabinets, dressers) and {SIT_DEPTH:g} m in front of a desk (its chair may stand there)."
)


def describe_opening(task: Task, opening: Opening) -> str:
    """One line per door or window, in a fixed shape that :func:`parse_task_prompt` reads back."""
    wall = opening.wall.removesuffix("_wall")
    start, end = _WALL_ENDS[opening.wall]
    parts = [f"- {opening.id}: {opening.kind} in the {wall} wall", f"centre {_metres(opening.offset)} m from its {start} end",
             f"{_metres(opening.width)} m wide", f"{_metres(opening.height)} m high"]
    if opening.kind == "door":
        parts += [f"hinged at its {start if opening.hinge == 'start' else end} side", "opens into the room"]
    else:
        parts.append(f"sill {_metres(opening.sill)} m")
    return ", ".join(parts)


def _opening_lines(task: Task) -> list[str]:
    """The openings and what they ask of the room; nothing for a room without any, so the prompts of
    tasks without openings stay as they were."""
    if not task.openings:
        return []
    return [OPENINGS_HEADER, *(describe_opening(task, o) for o in task.openings), OPENINGS_NEEDS]


def task_prompt(task: Task, start: str | None = None) -> str:
    """The reset observation: the room, the wish, the objects and their rules, the answer format;
    then, in a repair episode, ``start`` (:func:`start_text`)."""
    X, Y, Z = task.size
    lines = [
        f"Lay out this {task.room_type} (task {task.id}). "
        f"Room size: X = {_metres(X)} m, Y = {_metres(Y)} m, Z = {_metres(Z)} m.",
        f"User preference: {' '.join(task.user_preference.split())}",
        *_opening_lines(task),
        CONVENTIONS,
        "Objects to place:",
        *(describe_object(task, oid) for oid in task.object_ids),
        ANSWER_FORMAT,
        "Example: <answer>" + json.dumps([{"new_object_id": task.objects[0].id, "x": round(X / 2, 2),
                                           "y": round(Y / 2, 2), "z": round(task.objects[0].size[2] / 2, 3),
                                           "z_angle": task.objects[0].z_angle}]) + "</answer> (but list every object)",
    ]
    if start is not None:
        lines.append(start)
    text = ascii_text("\n".join(lines))
    if len(text) > MAX_TEXT_CHARS:  # cut, it would lose objects or the answer format: refuse instead
        raise ValueError(f"task {task.id}: its prompt is {len(text)} characters, over the observation's "
                         f"{MAX_TEXT_CHARS}; split the room or shorten its texts")
    return text


_HEADER = re.compile(r"^Lay out this (?P<room_type>.+) \(task (?P<id>\S+)\)\. Room size: X = (?P<x>\S+) m, "
                     r"Y = (?P<y>\S+) m, Z = (?P<z>\S+) m\.$")
_OBJECT_LINE = re.compile(
    r"^- (?P<id>\S+): size (?P<l>\S+) x (?P<w>\S+) x (?P<h>\S+) m \(l x w x h\); style (?P<style>.*?); "
    r"material (?P<material>.*?); (?P<floor>on the floor|not on the floor)(?P<no_front>; no front)?; "
    r"rules: (?P<rules>.*?); "
    r"default z_angle (?P<angle>\S+)$")
_OPENING_LINE = re.compile(
    r"^- (?P<id>\S+): (?P<kind>door|window) in the (?P<wall>south|north|west|east) wall, "
    r"centre (?P<offset>\S+) m from its (?:west|south) end, (?P<width>\S+) m wide, (?P<height>\S+) m high, "
    r"(?:hinged at its (?P<hinge>west|east|south|north) side, opens into the room|sill (?P<sill>\S+) m)$")
# Longest first, so "in the corner" is not read as "in ..." and "on" does not swallow others.
_PREPOSITIONS = sorted(set(LAYOUT_PREPOSITIONS) | set(OBJECT_PREPOSITIONS), key=len, reverse=True)


class PromptParseError(ValueError):
    """A text that is not a task prompt written by :func:`task_prompt`; says which line failed."""


def _number(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise PromptParseError(f"{what}: expected a number, got {text!r}") from None


def _parse_rules(text: str, object_id: str) -> tuple[list[dict], list[dict], str | None]:
    layout, objects, facing = [], [], None
    for rule in ([] if text == "none" else text.split(", ")):
        if rule.startswith("facing "):
            facing = rule[len("facing "):]
            continue
        preposition = next((p for p in _PREPOSITIONS if rule.startswith(p + " ")), None)
        if preposition is None:
            raise PromptParseError(f"object {object_id}: unreadable rule {rule!r}")
        target = rule[len(preposition) + 1:]
        adjacent = target.endswith(" (adjacent)")
        target = target.removesuffix(" (adjacent)")
        if not adjacent and target in LAYOUT_ELEMENTS and preposition in LAYOUT_PREPOSITIONS:
            layout.append({"layout_element_id": target, "preposition": preposition})
        else:
            objects.append({"object_id": target, "preposition": preposition, "is_adjacent": adjacent})
    return layout, objects, facing


def parse_task_prompt(text: str) -> Task:
    """Read a :func:`task_prompt` back into its task (sizes to the millimetre; no reference layout).

    Raises :class:`PromptParseError` naming the line that does not fit, or
    :class:`~metaspatial_env.tasks.TaskError` when the lines read make no valid task.
    """
    lines = text.splitlines()
    if START_HEADER in lines:  # a repair episode's starting layout follows the prompt
        lines = lines[:lines.index(START_HEADER)]
    header = next((m for m in map(_HEADER.match, lines) if m), None)
    if header is None:
        raise PromptParseError("no 'Lay out this ... (task ID). Room size: ...' line: not a task prompt")
    preference = next((line[len("User preference: "):] for line in lines if line.startswith("User preference: ")), "")
    objects, openings = [], []
    for line in lines:
        if not line.startswith("- "):
            continue
        opening = _OPENING_LINE.match(line)
        if opening is not None:
            openings.append(_opening_record(opening))
            continue
        match = _OBJECT_LINE.match(line)
        if match is None:
            raise PromptParseError(f"unreadable object line {line[:80]!r}")
        oid = match["id"]
        layout, object_rules, facing = _parse_rules(match["rules"], oid)
        objects.append({
            "new_object_id": oid,
            "style": "" if match["style"] == _UNSPECIFIED else match["style"],
            "material": "" if match["material"] == _UNSPECIFIED else match["material"],
            "size_in_meters": {k: _number(match[k[0]], f"object {oid} {k}") for k in ("length", "width", "height")},
            "is_on_the_floor": match["floor"] == "on the floor",
            "facing": facing,
            "placement": {"room_layout_elements": layout, "objects_in_room": object_rules},
            "rotation": {"z_angle": _number(match["angle"], f"object {oid} z_angle")},
            **({"has_front": False} if match["no_front"] else {}),
        })
    room = {"id": header["id"], "room_type": header["room_type"], "user_preference": preference,
            "size": {axis: _number(header[axis], f"room size {axis}") for axis in "xyz"}}
    if openings:
        room["openings"] = openings
    return Task.from_dict({"room": room, "objects": objects})


def _opening_record(match: re.Match) -> dict[str, Any]:
    """The on-disk form of an opening line (the schema checks it once the room is read)."""
    oid, wall = match["id"], match["wall"] + "_wall"
    record: dict[str, Any] = {"id": oid, "kind": match["kind"], "wall": wall,
                              **{k: _number(match[k], f"opening {oid} {k}") for k in ("offset", "width", "height")}}
    if match["hinge"] is not None:
        start, end = _WALL_ENDS[wall]
        if match["hinge"] not in (start, end):
            raise PromptParseError(f"opening {oid}: a door in the {match['wall']} wall cannot hinge at its "
                                   f"{match['hinge']} side")
        record.update(sill_height=0.0, hinge="start" if match["hinge"] == start else "end")
    else:
        record["sill_height"] = _number(match["sill"], f"opening {oid} sill")
    if (record["kind"] == "door") != (match["hinge"] is not None):
        raise PromptParseError(f"opening {oid}: a door has a hinge and a window a sill")
    return record


def feedback_text(evaluation: Evaluation, task: Task, turn: int, max_turns: int, problems: bool = True) -> str:
    """The step observation: the scores, then (``problems``) the problems object by object, each
    with its size."""
    lines = [f"Turn {turn} of {max_turns}: {_score_line(evaluation)}",
             *(_problem_lines(evaluation, task) if problems else [])]
    return _clip(ascii_text("\n".join(lines)))


def _score_line(evaluation: Evaluation) -> str:
    terms = ", ".join(f"{name} {value:.2f}" for name, value in evaluation.terms.items())
    verdict = "The layout succeeds." if evaluation.success else "The layout does not succeed yet."
    return f"reward {evaluation.total:.3f} ({terms}). {verdict}"


def _problem_lines(evaluation: Evaluation, task: Task) -> list[str]:
    order = {oid: i for i, oid in enumerate(task.object_ids)}
    problems = sorted(evaluation.problems, key=lambda p: order.get(p.object_id, -1))  # stable: kinds stay in order
    if not problems:
        return ["No problems found."]
    return ["Problems:", *(f"- {p.text}" for p in problems)]


#: The line that opens a repair episode's starting layout in the reset text; the task prompt ends
#: before it (:func:`parse_task_prompt` stops there).
START_HEADER = "The room already has a layout. Improve it: answer with the whole layout, as above."


def start_text(evaluation: Evaluation, task: Task, placed) -> str:
    """What a repair episode's first observation adds to the task prompt: the starting layout
    where it settled (objects not placed yet are named), its score and its problems."""
    layout = evaluation.settled_layout()
    poses = [json.dumps({"new_object_id": oid, **layout[oid]}) for oid in task.object_ids if oid in placed]
    missing = [oid for oid in task.object_ids if oid not in placed]
    lines = [START_HEADER, "Current layout (after physics settled it):", *poses]
    if missing:
        lines.append(f"Not placed yet: {', '.join(missing)}.")
    lines += [f"Its {_score_line(evaluation)}", *_problem_lines(evaluation, task)]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- chat messages
SYSTEM_PROMPT = (
    "You are an interior designer who lays out 3D rooms. Each turn you get the room (its size, the user's "
    "wish and the objects to place with their sizes and placement rules) or feedback on your last layout, "
    "usually with a rendered image: a perspective view and a top-down plan, objects labelled by id.\n"
    + CONVENTIONS + "\n"
    "First reason step by step inside <think>...</think>. Then give the complete layout inside "
    "<answer>...</answer> as a JSON list with one entry per object, every object of the room exactly once: "
    "{\"new_object_id\": id, \"x\": m, \"y\": m, \"z\": m, \"z_angle\": degrees}, where x, y, z are the centre "
    "of the object's bounding box (a floor object has z = height / 2). Keep objects inside the room and apart "
    "from each other unless one stands on another. When you get feedback, fix every problem it names and "
    "answer the whole layout again.\n"
    "Example for a 4 x 3 x 2.6 m room with a 2 x 0.9 x 0.8 m sofa_1 on the south wall facing north and a "
    "1 x 0.5 x 0.45 m coffee_table_1 in front of it:\n"
    "<think>The sofa's back touches the south wall, so its centre is 0.45 m from it; the table stands 0.4 m "
    "in front of the sofa.</think>\n"
    "<answer>[{\"new_object_id\": \"sofa_1\", \"x\": 2.0, \"y\": 0.45, \"z\": 0.4, \"z_angle\": 0}, "
    "{\"new_object_id\": \"coffee_table_1\", \"x\": 2.0, \"y\": 1.55, \"z\": 0.225, \"z_angle\": 0}]</answer>"
)
"""MetaSpatial-compatible system prompt: ``<think>`` then ``<answer>`` with a JSON list, and a
worked example that :func:`~metaspatial_env.actions.parse_action` accepts without errors."""

IMAGE_FORMATS = ("openai", "hf")
#: Pixels per side of one visual token in the default image cost (Qwen2.5-VL merges 28 x 28 px).
IMAGE_TOKEN_PIXELS = 28


#: How renders travel as data URLs: ``jpeg`` (the default: a 512 x 1024 render encodes in about
#: 1 ms against 15 ms as PNG, and its id labels stay legible at quality 90) or ``png`` (lossless).
IMAGE_ENCODINGS = ("jpeg", "png")
#: JPEG quality of :func:`image_data_url`.
JPEG_QUALITY = 90


def image_data_url(image: np.ndarray, encoding: str = "jpeg") -> str:
    """A uint8 HxWx3 image as a ``data:image/jpeg;base64,...`` (or ``png``) URL, what OpenAI-style APIs take."""
    from PIL import Image

    if encoding not in IMAGE_ENCODINGS:
        raise ValueError(f"image encoding must be one of {IMAGE_ENCODINGS}, got {encoding!r}")
    buffer = io.BytesIO()
    picture = Image.fromarray(np.asarray(image, dtype=np.uint8))
    if encoding == "jpeg":
        picture.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    else:
        picture.save(buffer, format="PNG")
    return f"data:image/{encoding};base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def decode_image_url(url: str) -> np.ndarray:
    """The uint8 HxWx3 image of a ``data:image/...;base64,`` URL; ValueError for anything else."""
    from PIL import Image

    header, _, payload = url.partition(",")
    if not (header.startswith("data:image/") and header.endswith(";base64")):
        raise ValueError("only base64 data URLs of images are accepted (data:image/...;base64,...)")
    try:
        with Image.open(io.BytesIO(base64.b64decode(payload, validate=True))) as image:
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except Exception as error:  # binascii.Error, PIL.UnidentifiedImageError, ...
        raise ValueError(f"undecodable image data URL: {error}") from None


def default_count_tokens(text: str) -> int:
    """A tokenizer-free estimate: about four characters per token."""
    return math.ceil(len(text) / 4)


def image_token_estimate(image: np.ndarray) -> int:
    """Visual tokens a Qwen2.5-VL-style encoder spends on ``image`` (one per 28 x 28 pixels)."""
    height, width = image.shape[:2]
    return math.ceil(height / IMAGE_TOKEN_PIXELS) * math.ceil(width / IMAGE_TOKEN_PIXELS)


@dataclass
class _Turn:
    role: str  # "user" or "assistant"
    text: str
    image: np.ndarray | None = None
    reward: float | None = None  # the env's reward_total behind a feedback turn, for summaries


class Conversation:
    """One episode's chat history: the system prompt, then user turns (task prompt or feedback,
    with the render) alternating with the policy's answers.

    ``max_prompt_tokens`` bounds :meth:`messages`: when the history is longer, renders of older
    turns go first, then whole older exchanges (an answer and the feedback on it), oldest first,
    replaced by a one-line summary of their rewards; the system prompt, the task prompt and the
    latest exchange always stay. ``count_tokens`` measures text (default: four characters per
    token; pass a tokenizer's ``lambda s: len(tok(s).input_ids)`` to be exact) and
    ``image_tokens`` prices one image (default :func:`image_token_estimate`). ``images=False``
    keeps the history text-only.
    """

    def __init__(self, max_prompt_tokens: int | None = None, count_tokens: Callable[[str], int] | None = None,
                 images: bool = True, *, system_prompt: str = SYSTEM_PROMPT,
                 image_tokens: Callable[[np.ndarray], int] | None = None, image_encoding: str = "jpeg"):
        if max_prompt_tokens is not None and max_prompt_tokens < 1:
            raise ValueError(f"max_prompt_tokens must be positive or None, got {max_prompt_tokens!r}")
        self.max_prompt_tokens = max_prompt_tokens
        self.count_tokens = count_tokens or default_count_tokens
        self.image_tokens = image_tokens or image_token_estimate
        self.images = images
        self.system_prompt = system_prompt
        if image_encoding not in IMAGE_ENCODINGS:
            raise ValueError(f"image_encoding must be one of {IMAGE_ENCODINGS}, got {image_encoding!r}")
        self.image_encoding = image_encoding
        self._turns: list[_Turn] = []
        self._fitted: tuple[list[int], set[int], list[float | None]] | None = None

    def reset(self) -> None:
        """Forget the episode (the system prompt stays)."""
        self._turns = []
        self._fitted = None

    def __len__(self) -> int:
        """Turns recorded so far (user and assistant), the system prompt not counted."""
        return len(self._turns)

    def observe(self, observation: Mapping[str, Any], info: Mapping[str, Any] | None = None) -> None:
        """Add a user turn: ``observation["text"]`` (the task prompt or feedback) and its image.

        ``info`` is optional; its ``reward_total`` feeds the summary of dropped turns.
        """
        if self._turns and self._turns[-1].role == "user":
            raise ValueError("observe() twice in a row: record the policy's answer() between observations")
        text = observation.get("text") if isinstance(observation, Mapping) else None
        if not isinstance(text, str):
            raise ValueError("the observation has no 'text' string")
        image = observation.get("image") if self.images else None
        if image is not None:
            image = np.asarray(image)
            if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
                raise ValueError(f"observation['image'] must be uint8 HxWx3, got {image.dtype} {image.shape}")
        reward = (info or {}).get("reward_total")
        self._turns.append(_Turn("user", text, image, None if reward is None else float(reward)))
        self._fitted = None

    def answer(self, text: str) -> None:
        """Add the policy's answer to the latest observation."""
        if not self._turns or self._turns[-1].role != "user":
            raise ValueError("answer() needs an observe() before it")
        self._turns.append(_Turn("assistant", str(text)))
        self._fitted = None

    # ------------------------------------------------------------------ budget
    def _cost(self, turn: _Turn, with_image: bool) -> int:
        cost = self.count_tokens(turn.text) + 4  # a few tokens of role markup per message
        return cost + (self.image_tokens(turn.image) if with_image and turn.image is not None else 0)

    def _fit(self) -> tuple[list[int], set[int], list[float | None]]:
        """Indices of the turns to keep, the indices whose image to keep, and the rewards of dropped
        feedback; worked out once per state of the history (a prompt asks for it twice: the
        messages, then which renders they hold)."""
        if self._fitted is None:
            self._fitted = self._fit_budget()
        return self._fitted

    def _fit_budget(self) -> tuple[list[int], set[int], list[float | None]]:
        turns = list(range(len(self._turns)))
        with_image = {i for i, t in enumerate(self._turns) if t.image is not None}
        dropped: list[float | None] = []
        if self.max_prompt_tokens is None:
            return turns, with_image, dropped

        def total() -> int:
            system = self.count_tokens(self.system_prompt) + 4
            return system + sum(self._cost(self._turns[i], i in with_image) for i in turns) + 32  # summary line

        latest_user = max((i for i in turns if self._turns[i].role == "user"), default=-1)
        while total() > self.max_prompt_tokens:
            old_images = sorted(i for i in with_image if i != latest_user)
            if old_images:
                with_image.discard(old_images[0])
                continue
            # Exchanges between the task prompt (index 0) and the latest exchange, oldest first.
            middle = [i for i in turns if 0 < i < latest_user - 1]
            if len(middle) < 2:
                break  # only the system prompt, the task prompt and the latest exchange are left
            answer, feedback = middle[0], middle[1]
            dropped.append(self._turns[feedback].reward)
            turns.remove(answer)
            turns.remove(feedback)
        return turns, with_image & set(turns), dropped

    def prompt_images(self) -> list[int]:
        """Which observations' renders :meth:`messages` holds, in their order in the chat.

        Observation ``k`` is the ``k``-th :meth:`observe` of the episode (0: the reset). A trainer
        keeps each render once per episode and replays a sampled prompt from these indices.
        """
        _, with_image, _ = self._fit()
        # observe() and answer() alternate, so turn i is observation i // 2 when it is a user turn.
        return [i // 2 for i in sorted(with_image)]

    # ------------------------------------------------------------------ output
    def messages(self, image_format: str = "openai") -> list[dict[str, Any]]:
        """The chat so far, within the token budget.

        ``image_format="openai"``: OpenAI chat messages, user content as parts
        ``{"type": "image_url", "image_url": {"url": data URL}}`` (``image_encoding``: JPEG or
        PNG) and ``{"type": "text", ...}``.
        ``image_format="hf"``: every content as parts, images as ``{"type": "image", "image":
        PIL.Image}`` (for ``processor.apply_chat_template``; :func:`message_images` lists them).
        """
        if image_format not in IMAGE_FORMATS:
            raise ValueError(f"image_format must be one of {IMAGE_FORMATS}, got {image_format!r}")
        kept, with_image, dropped = self._fit()
        messages = [_message("system", self.system_prompt, None, image_format)]
        for index, turn_index in enumerate(kept):
            turn = self._turns[turn_index]
            text = turn.text
            if index == 0 and dropped:
                rewards = ", ".join("?" if r is None else f"{r:.3f}" for r in dropped)
                text += (f"\n[{len(dropped)} earlier turn(s) omitted to fit the context; "
                         f"their rewards: {rewards}]")
            messages.append(_message(turn.role, text, turn.image if turn_index in with_image else None, image_format,
                                     self.image_encoding))
        return messages


def _message(role: str, text: str, image: np.ndarray | None, image_format: str,
             encoding: str = "jpeg") -> dict[str, Any]:
    if image_format == "openai":
        if role != "user":
            return {"role": role, "content": text}
        parts: list[dict[str, Any]] = []
        if image is not None:
            parts.append({"type": "image_url", "image_url": {"url": image_data_url(image, encoding)}})
        return {"role": role, "content": [*parts, {"type": "text", "text": text}]}
    parts = []
    if image is not None:
        from PIL import Image

        parts.append({"type": "image", "image": Image.fromarray(image)})
    return {"role": role, "content": [*parts, {"type": "text", "text": text}]}


def message_images(messages: list[dict[str, Any]]) -> list[Any]:
    """The images of ``hf``-format messages in order (what a processor takes beside the text)."""
    return [part["image"] for m in messages if isinstance(m["content"], list)
            for part in m["content"] if part.get("type") == "image"]


def hf_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI chat messages (string or part contents, images as data URLs) in ``hf`` format.

    Raises ValueError for an image that is not a base64 data URL or a part of unknown type.
    """
    from PIL import Image

    converted = []
    for message in messages:
        content = message.get("content")
        if content is None:
            content = ""
        if isinstance(content, str):
            parts = [{"type": "text", "text": content}]
        else:
            parts = []
            for part in content:
                kind = part.get("type")
                if kind == "text":
                    parts.append({"type": "text", "text": str(part.get("text", ""))})
                elif kind == "image_url":
                    url = part.get("image_url", {})
                    url = url.get("url", "") if isinstance(url, Mapping) else str(url)
                    parts.append({"type": "image", "image": Image.fromarray(decode_image_url(url))})
                else:
                    raise ValueError(f"unsupported message part type {kind!r} (text and image_url are)")
        converted.append({"role": message.get("role", "user"), "content": parts})
    return converted
