"""Clients of the env server (``metaspatial serve-env``, :mod:`metaspatial_env.env_server`).

Two faces of one WebSocket session (one env on the server per connection):

- :class:`MetaSpatialEnvClient`: an OpenEnv :class:`~openenv.core.env_client.EnvClient` for
  OpenEnv consumers (TRL, SkyRL, ...): ``reset(seed=..., options=...)`` / ``step(LayoutAction)``
  return ``StepResult[LayoutObservation]``, async by default, ``.sync()`` for blocking code.
- :class:`RemoteEnv`: a Gymnasium-like client with the in-process env's contract, for code
  written against ``RoomLayoutEnv`` (a trainer in a numpy-2 virtualenv that cannot import
  Blender): ``reset(*, seed, options) -> (obs, info)``, ``step(text) -> (obs, reward,
  terminated, truncated, info)``, ``close()``, a context manager. ``obs`` is ``{"image": uint8
  HxWx3, "text": str}`` (no ``image`` for text-only envs) and ``info`` has the in-process env's
  keys and values, as JSON carries them (tuples arrive as lists).

The wire models (:class:`LayoutAction`, :class:`LayoutObservation`, :class:`LayoutState`) live
here, not in the server module, so a client never imports the server side (uvicorn, the env).
Every failure a client sees (a refused session, a malformed request, an env error, a dropped or
unreachable server, a reply that came too late) is one :class:`EnvServerError` with the
server's message, never a raw traceback of the transport.
"""

from __future__ import annotations

from typing import Any

from .deps import require
from .prompting import decode_image_url

require("openenv", "openenv", "the env client (metaspatial_env.env_client)")

from openenv.core.client_types import StepResult  # noqa: E402
from openenv.core.env_client import EnvClient  # noqa: E402
from openenv.core.env_server.types import Action, Observation, State  # noqa: E402
from pydantic import Field, ValidationError  # noqa: E402
from websockets.exceptions import ConnectionClosed, WebSocketException  # noqa: E402

__all__ = ["EnvServerError", "LayoutAction", "LayoutObservation", "LayoutState", "MetaSpatialEnvClient",
           "RemoteEnv"]

#: Validation errors quoted in one :class:`EnvServerError` message (the rest are counted).
MAX_QUOTED_ERRORS = 5


class LayoutAction(Action):
    """One turn's answer: the layout text the in-process env's ``step`` takes (DESIGN.md section 5)."""

    text: str = Field(description="the answer: optional <think>, then <answer>[...]</answer> with a JSON list "
                                  "of {new_object_id, x, y, z, z_angle}")


class LayoutObservation(Observation):
    """What a reset or step returns (``reward`` and ``done`` are the base class's)."""

    text: str = Field(default="", description="the task prompt on reset, the feedback after a step")
    image: str | None = Field(default=None, description="the render as a data URL (data:image/jpeg;base64,... "
                                                        "or png); None for text-only envs")
    task_id: str | None = Field(default=None, description="the room's id")
    turn: int = Field(default=0, description="turns answered so far in this episode")
    rewards: dict[str, float] = Field(default_factory=dict, description="every reward_<name> term of the step, "
                                                                        "reward_total included")
    success: bool = Field(default=False, description="the step's layout meets the success criteria")
    parse_errors: list[str] = Field(default_factory=list, description="named errors of reading the answer")
    problems: list[dict[str, Any]] = Field(default_factory=list, description="per-object feedback: id, what is "
                                                                             "wrong, by how much")
    terminated: bool = Field(default=False, description="the episode ended on success")
    truncated: bool = Field(default=False, description="the episode ended with its turn budget spent")
    info: dict[str, Any] = Field(default_factory=dict, description="the in-process env's whole info, JSON-encoded")


class LayoutState(State):
    """A session's state: ``episode_id`` and ``step_count`` (the base class's), the env and episode."""

    env_id: str | None = Field(default=None, description="the Gymnasium id the session's env was made with")
    task_id: str | None = Field(default=None, description="the current room's id (None before the first reset)")
    turn: int = Field(default=0, description="turns answered in the current episode")


class EnvServerError(RuntimeError):
    """The env server refused or failed a request, or could not be reached. ``code`` is the
    server's error code (``CAPACITY_REACHED``, ``VALIDATION_ERROR``, ``EXECUTION_ERROR``,
    ``INVALID_JSON`` ...) or None for a transport failure. A ``RuntimeError``, which OpenEnv's own
    client raises for server errors, so code written against it keeps working."""

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message if code is None else f"{message} [{code}]")
        self.code = code

    @classmethod
    def from_error_frame(cls, data: dict[str, Any]) -> EnvServerError:
        message = str(data.get("message") or "unknown error")
        errors = data.get("errors")
        if isinstance(errors, list) and errors:
            quoted = []
            for error in errors[:MAX_QUOTED_ERRORS]:
                where = ".".join(str(part) for part in error.get("loc", ())) if isinstance(error, dict) else ""
                what = error.get("msg", error) if isinstance(error, dict) else error
                quoted.append(f"{where}: {what}" if where else str(what))
            if len(errors) > MAX_QUOTED_ERRORS:
                quoted.append(f"and {len(errors) - MAX_QUOTED_ERRORS} more")
            message = f"{message}: {'; '.join(quoted)}"
        code = data.get("code")
        return cls(message, None if code is None else str(code))


class MetaSpatialEnvClient(EnvClient[LayoutAction, LayoutObservation, LayoutState]):
    """OpenEnv client of one env-server session; ``step`` also takes the answer as a plain string.

    Server error frames raise :class:`EnvServerError` (OpenEnv's own client raises a bare
    ``RuntimeError`` whose text has to be parsed for the code).
    """

    def _step_payload(self, action: LayoutAction | str) -> dict[str, Any]:
        if isinstance(action, str):
            action = LayoutAction(text=action)
        return action.model_dump()

    def _parse_result(self, payload: dict[str, Any]) -> StepResult[LayoutObservation]:
        reward, done = payload.get("reward"), bool(payload.get("done", False))
        observation = LayoutObservation(**{**payload.get("observation", {}), "reward": reward, "done": done})
        return StepResult(observation=observation, reward=reward, done=done, metadata=payload.get("metadata"))

    def _parse_state(self, payload: dict[str, Any]) -> LayoutState:
        return LayoutState(**payload)

    async def _send_and_receive(self, message: dict[str, Any]) -> dict[str, Any]:
        # As EnvClient's, but an error frame becomes an EnvServerError carrying its code.
        try:
            await self._send(message)
        except ConnectionClosed:
            pass  # a refused session sends its error frame, then closes: read the frame
        response = await self._receive()
        if response.get("type") == "error":
            data = response.get("data")
            raise EnvServerError.from_error_frame(data if isinstance(data, dict) else {"message": str(data)})
        return response


def gym_observation(observation: LayoutObservation) -> dict[str, Any]:
    """The in-process env's observation (``image`` decoded to uint8 HxWx3, ``text``) from the wire form."""
    if observation.image is None:
        return {"text": observation.text}
    return {"image": decode_image_url(observation.image), "text": observation.text}


class RemoteEnv:
    """A Gymnasium-like env whose episodes run on an env server (one session per instance).

    ``base_url`` is the server's ``http://host:port`` (or ``ws://``). ``timeout`` bounds the
    connection and each reply in seconds (a Blender env's first render starts its worker, which
    takes seconds). Construction opens the session, so a server at its ``--max-sessions`` limit
    refuses here, with an :class:`EnvServerError` whose code is ``CAPACITY_REACHED``.
    """

    def __init__(self, base_url: str, timeout: float = 120.0):
        self.base_url = base_url
        self.timeout = float(timeout)
        self._client = MetaSpatialEnvClient(base_url, connect_timeout_s=self.timeout, message_timeout_s=self.timeout)
        self._session = self._client.sync()
        self._closed = False
        try:
            self._call(self._session.connect)
            self._call(self._session.state)  # the server refuses a session at capacity on its first message
        except BaseException:
            self.close()
            raise

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[dict[str, Any], dict[str, Any]]:
        kwargs: dict[str, Any] = {}
        if seed is not None:
            kwargs["seed"] = seed
        if options is not None:
            kwargs["options"] = options
        result = self._call(self._session.reset, **kwargs)
        return gym_observation(result.observation), dict(result.observation.info)

    def step(self, action: str) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        if not isinstance(action, str):
            raise TypeError(f"the action is the answer text (str), got {type(action).__name__}")
        result = self._call(self._session.step, LayoutAction(text=action))
        observation = result.observation
        return (gym_observation(observation), float(result.reward or 0.0), observation.terminated,
                observation.truncated, dict(observation.info))

    def state(self) -> dict[str, Any]:
        """The session's state: ``episode_id``, ``step_count``, ``env_id``, ``task_id``, ``turn``."""
        return self._call(self._session.state).model_dump()

    def close(self) -> None:
        """End the session (the server closes its env); safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            self._session.close()
        except Exception:  # noqa: BLE001 -- a server already gone has nothing left to close
            pass

    def __enter__(self) -> RemoteEnv:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def _call(self, method, *args: Any, **kwargs: Any) -> Any:
        """``method(*args, **kwargs)`` with every transport failure as one :class:`EnvServerError`."""
        if self._closed:
            raise EnvServerError("this RemoteEnv is closed")
        try:
            return method(*args, **kwargs)
        except EnvServerError:
            raise
        except ConnectionClosed as error:
            raise EnvServerError(f"the env server at {self.base_url} closed the connection ({error})") from None
        except TimeoutError:  # asyncio's too (one class since Python 3.11)
            raise EnvServerError(f"no reply from the env server at {self.base_url} within {self.timeout:g} s") from None
        except (ConnectionError, OSError, WebSocketException) as error:
            raise EnvServerError(f"cannot reach the env server at {self.base_url}: {error}") from None
        except ValidationError as error:
            raise EnvServerError(f"unexpected reply from the env server at {self.base_url}: {error}") from None

