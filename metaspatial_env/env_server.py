"""The env over the OpenEnv protocol: ``metaspatial serve-env`` (DESIGN.md section 7).

A trainer in another process, virtualenv or machine (verl lives in a numpy-2 virtualenv that
cannot import Blender) plays episodes through this server: each WebSocket session (``/ws``, what
OpenEnv's ``EnvClient`` and :class:`~metaspatial_env.env_client.RemoteEnv` speak) owns one env,
``gymnasium.make(env_id, **env_kwargs)``, made on the session's first reset and closed when the
session ends, however it ends (a ``close`` message, the client closing or dropping the
connection; a peer that vanishes without a word is found by the WebSocket keepalive ping).

- **Reset**: ``seed`` and ``options`` (``task_id``, ``split``, ``task``) go to the env's reset;
  the option keys may also be given at the top level (``reset(seed=1, task_id=...)``, as OpenEnv
  consumers pass keyword arguments).
- **Step**: the action is :class:`~metaspatial_env.env_client.LayoutAction`, the answer text.
- **Observation** (:class:`~metaspatial_env.env_client.LayoutObservation`): the text (task prompt
  or feedback), the render as a data URL (JPEG by default, ``png`` lossless), reward, done,
  terminated / truncated, every ``reward_<name>``, ``success``, ``parse_errors``, the
  per-object ``problems``, turn, task id, and the env's whole ``info`` JSON-encoded (so a
  client rebuilds exactly the in-process info).
- **State** (:class:`~metaspatial_env.env_client.LayoutState`): episode id, step count, env id,
  task id, turn.

Sessions run concurrently, each on its own thread (the rasteriser's GL context belongs to the
thread that made it), up to ``max_sessions``; one more is refused with a ``CAPACITY_REACHED``
error frame. A malformed message (bad JSON, unknown fields, a step before reset or after the
episode ended, an answer over :data:`MAX_ACTION_TEXT` characters, unknown reset options) gets
one error frame and the session goes on. The HTTP ``/reset`` and ``/step`` routes OpenEnv adds
are stateless (a fresh env per request), so episodes need the WebSocket; a bad HTTP request is
a 400 with the message. ``GET /capacity`` reports active sessions and open envs.

There is no authentication in the protocol: the server binds loopback by default and warns when
told to bind anything else. openenv, FastAPI and uvicorn are imported only when a server is made.
"""

from __future__ import annotations

import argparse
import functools
import ipaddress
import json
import sys
import threading
import uuid
from typing import Any

import numpy as np

from .actions import MAX_ACTION_CHARS
from .deps import require
from .prompting import IMAGE_ENCODINGS, image_data_url

__all__ = ["DEFAULT_ENV_ID", "EnvRequestError", "add_serve_env", "check_env_args", "create_app", "is_loopback",
           "jsonable", "open_env_count", "serve"]

DEFAULT_ENV_ID = "MetaSpatial-v0"
PURPOSE = "metaspatial serve-env"
#: Longest answer the server hands to the env, in characters. The env itself rejects anything over
#: MAX_ACTION_CHARS as a penalised ``too_long`` step (a policy that rambles is scored, not
#: refused); far beyond that the request is refused before the env sees it.
MAX_ACTION_TEXT = 4 * MAX_ACTION_CHARS

_open_envs = 0
_open_envs_lock = threading.Lock()  # sessions make and close envs on their own threads


class EnvRequestError(ValueError):
    """A request the session's env cannot take (step before reset, oversized answer, bad reset
    options): an error frame over the WebSocket, a 400 over HTTP; the session goes on."""


def open_env_count() -> int:
    """Envs made by sessions of this process and not yet closed."""
    return _open_envs


def _count_env(delta: int) -> None:
    global _open_envs
    with _open_envs_lock:
        _open_envs += delta


def jsonable(value: Any) -> Any:
    """``value`` as JSON types: numpy scalars and arrays to numbers and lists, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def check_env_args(env_id: str, env_kwargs: Any, image_encoding: str = "jpeg", max_sessions: int = 4) -> None:
    """Raise ``ValueError`` (one line) unless a session could make ``env_id`` with ``env_kwargs``.

    A probe env is made and closed (renderers start lazily, so this costs no Blender start):
    unknown keys and bad values fail here, when the server starts, not on each session's reset.
    """
    import gymnasium as gym

    import metaspatial_env  # noqa: F401 -- registers the ids

    if image_encoding not in IMAGE_ENCODINGS:
        raise ValueError(f"image encoding must be one of {IMAGE_ENCODINGS}, got {image_encoding!r}")
    if isinstance(max_sessions, bool) or not isinstance(max_sessions, int) or max_sessions < 1:
        raise ValueError(f"max_sessions must be a positive int, got {max_sessions!r}")
    if not isinstance(env_kwargs, dict):
        raise ValueError(f"env kwargs must be a JSON object, got {type(env_kwargs).__name__}")
    try:
        json.dumps(env_kwargs)
    except (TypeError, ValueError):
        raise ValueError(f"env kwargs must be JSON-able, got {env_kwargs!r}") from None
    try:
        gym.spec(env_id)
    except gym.error.Error:
        known = [name for name, kwargs in metaspatial_env.ENV_IDS.items() if kwargs.get("observation") != "vector"]
        raise ValueError(f"unknown env id {env_id!r}; known: {', '.join(known)}") from None
    try:
        probe = gym.make(env_id, **env_kwargs)
    except (TypeError, gym.error.Error) as error:
        raise ValueError(f"cannot make {env_id!r} with {env_kwargs!r}: {error}") from None
    try:
        space = probe.observation_space
        if not (isinstance(space, gym.spaces.Dict) and "text" in space.spaces
                and isinstance(probe.action_space, gym.spaces.Text)):
            raise ValueError(f"{env_id!r} has no text observation and text action; the env server serves "
                             "text/image envs (MetaSpatial-v0, MetaSpatial-Fast-v0, MetaSpatial-Text-v0)")
    finally:
        probe.close()


@functools.cache
def environment_class() -> type:
    """The OpenEnv ``Environment`` subclass (made on first use, so importing this module needs no openenv)."""
    require("openenv", "openenv", PURPOSE)
    from openenv.core.env_server.interfaces import Environment
    from openenv.core.env_server.types import EnvironmentMetadata

    from .env_client import LayoutAction, LayoutObservation, LayoutState

    class MetaSpatialEnvironment(Environment):
        """One session's env: ``gymnasium.make(env_id, **env_kwargs)``, made on the first reset."""

        SUPPORTS_CONCURRENT_SESSIONS = True  # every session has its own env, scene and physics world

        def __init__(self, env_id: str = DEFAULT_ENV_ID, env_kwargs: dict[str, Any] | None = None,
                     image_encoding: str = "jpeg"):
            super().__init__()
            self.env_id = env_id
            self.env_kwargs = dict(env_kwargs or {})
            self.image_encoding = image_encoding
            self._env = None  # made lazily: OpenEnv makes throwaway instances for /state, /metadata, ...
            self._running = False
            self._state = LayoutState(env_id=env_id)

        def reset(self, seed: int | None = None, episode_id: str | None = None,
                  options: dict[str, Any] | None = None, **kwargs: Any) -> LayoutObservation:
            if options is not None and not isinstance(options, dict):
                raise EnvRequestError(f"reset options must be an object, got {type(options).__name__}")
            options = {**(options or {}), **kwargs}
            task = options.get("task")
            # a mesh path would make the server's renderer open a file of the client's choosing
            if isinstance(task, dict) and any(isinstance(o, dict) and "mesh" in o for o in task.get("objects") or []):
                raise EnvRequestError("bad reset: task meshes are not accepted over the wire")
            env = self._gym_env()
            try:
                obs, info = env.reset(seed=seed, options=options or None)
            except (ValueError, TypeError) as error:  # unknown options or task id, a seed that is no int
                raise EnvRequestError(f"bad reset: {error}") from None
            self._running = True
            self._state = LayoutState(episode_id=episode_id or uuid.uuid4().hex, step_count=0, env_id=self.env_id,
                                      task_id=info.get("task_id"), turn=0)
            return self._observation(obs, None, False, False, info)

        def step(self, action: LayoutAction, timeout_s: float | None = None, **kwargs: Any) -> LayoutObservation:
            if not self._running:
                raise EnvRequestError(
                    "call reset() before step(): the episode has not started or has ended (over HTTP each request "
                    "gets a fresh env; episodes need the /ws session of EnvClient or RemoteEnv)")
            if len(action.text) > MAX_ACTION_TEXT:
                raise EnvRequestError(f"action text too long: {len(action.text)} characters, at most "
                                      f"{MAX_ACTION_TEXT} accepted")
            obs, reward, terminated, truncated, info = self._env.step(action.text)
            self._running = not (terminated or truncated)
            self._state = self._state.model_copy(update={"step_count": self._state.step_count + 1,
                                                         "turn": info.get("turn", 0)})
            return self._observation(obs, float(reward), bool(terminated), bool(truncated), info)

        @property
        def state(self) -> LayoutState:
            return self._state

        def get_metadata(self) -> EnvironmentMetadata:
            from . import __version__

            return EnvironmentMetadata(
                name="MetaSpatial", version=__version__,
                description=f"3D room layout, {self.env_id}: answer a layout as JSON, get the render, feedback "
                            "and a shaped reward each turn")

        def close(self) -> None:
            if self._env is not None:
                env, self._env = self._env, None
                self._running = False
                try:
                    env.close()
                finally:
                    _count_env(-1)

        def _gym_env(self):
            if self._env is None:
                import gymnasium as gym

                import metaspatial_env  # noqa: F401 -- registers the ids

                self._env = gym.make(self.env_id, **self.env_kwargs)
                _count_env(+1)
            return self._env

        def _observation(self, obs: dict[str, Any], reward: float | None, terminated: bool, truncated: bool,
                         info: dict[str, Any]) -> LayoutObservation:
            info = jsonable(info)
            image = obs.get("image")
            return LayoutObservation(
                text=obs["text"], image=None if image is None else image_data_url(image, self.image_encoding),
                task_id=info.get("task_id"), turn=info.get("turn", 0),
                rewards={k: v for k, v in info.items() if k.startswith("reward_") and isinstance(v, (int, float))},
                success=bool(info.get("success", False)), parse_errors=info.get("parse_errors", []),
                problems=info.get("problems", []), terminated=terminated, truncated=truncated,
                done=terminated or truncated, reward=reward, info=info)

    return MetaSpatialEnvironment


def __getattr__(name: str):
    if name == "MetaSpatialEnvironment":
        return environment_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def create_app(env_id: str = DEFAULT_ENV_ID, env_kwargs: dict[str, Any] | None = None, max_sessions: int = 4,
               image_encoding: str = "jpeg"):
    """The FastAPI app serving ``env_id`` over OpenEnv; ``app.state.env_server`` is OpenEnv's
    ``HTTPEnvServer`` (its ``active_sessions`` is the session count)."""
    env_kwargs = {} if env_kwargs is None else env_kwargs
    check_env_args(env_id, env_kwargs, image_encoding, max_sessions)
    require("openenv", "openenv", PURPOSE)
    fastapi = require("fastapi", "openenv", PURPOSE)
    from fastapi.responses import JSONResponse
    from openenv.core.env_server.http_server import HTTPEnvServer

    from .env_client import LayoutAction, LayoutObservation, LayoutState

    # A partial of the class (not a closure) lets OpenEnv read SUPPORTS_CONCURRENT_SESSIONS without
    # making an instance.
    factory = functools.partial(environment_class(), env_id=env_id, env_kwargs=env_kwargs,
                                image_encoding=image_encoding)
    server = HTTPEnvServer(factory, LayoutAction, LayoutObservation, max_concurrent_envs=max_sessions,
                           env_name="metaspatial", state_cls=LayoutState)
    app = fastapi.FastAPI(title=f"MetaSpatial env server ({env_id})",
                          description="OpenEnv protocol: WebSocket sessions at /ws; see metaspatial_env.env_server")
    server.register_routes(app, mode="simulation")
    app.state.env_server = server

    @app.get("/capacity", tags=["Health"])
    async def capacity() -> dict[str, int]:
        return {"active_sessions": server.active_sessions, "max_sessions": server.max_concurrent_envs,
                "open_envs": open_env_count()}

    @app.exception_handler(EnvRequestError)
    async def bad_request(request, error: EnvRequestError):
        return JSONResponse(status_code=400, content={"detail": str(error)})

    return app


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine (a host name other than localhost may resolve anywhere)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def serve(env_id: str = DEFAULT_ENV_ID, env_kwargs: dict[str, Any] | None = None, host: str = "127.0.0.1",
          port: int = 8000, max_sessions: int = 4, image_encoding: str = "jpeg") -> None:
    """Serve until interrupted (``metaspatial serve-env``)."""
    app = create_app(env_id, env_kwargs, max_sessions, image_encoding)
    uvicorn = require("uvicorn", "openenv", PURPOSE)
    if not is_loopback(host):
        print(f"warning: serving the env on {host}, reachable beyond this machine: the OpenEnv protocol has no "
              "authentication, so anyone who can reach the port can open sessions (up to --max-sessions)",
              file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_level="info")


def parse_env_kwargs(text: str) -> dict[str, Any]:
    """``--env-kwargs``: a JSON object, else ``ValueError`` (one line)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"--env-kwargs is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise ValueError(f"--env-kwargs must be a JSON object, got {type(value).__name__}")
    return value


def serve_env(args: argparse.Namespace) -> int:
    serve(args.env_id, parse_env_kwargs(args.env_kwargs), host=args.host, port=args.port,
          max_sessions=args.max_sessions, image_encoding=args.image_encoding)
    return 0


def add_serve_env(parser: argparse.ArgumentParser) -> None:
    """The ``serve-env`` subcommand's arguments (see :mod:`metaspatial_env.cli`)."""
    parser.description = ("Serve the env over the OpenEnv protocol (WebSocket sessions at /ws, one env each) "
                          "for trainers in another process, virtualenv or machine.")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default: %(default)s); the protocol has no authentication, so a "
                             "non-loopback host is warned about")
    parser.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    parser.add_argument("--max-sessions", type=int, default=4,
                        help="concurrent sessions, one env each; more are refused (default: %(default)s)")
    parser.add_argument("--env-id", default=DEFAULT_ENV_ID,
                        help="Gymnasium id of the env (default: %(default)s, Blender; MetaSpatial-Fast-v0 "
                             "rasterises, MetaSpatial-Text-v0 sends no image)")
    parser.add_argument("--env-kwargs", default="{}",
                        help='JSON object of the env\'s keyword arguments, e.g. \'{"image_size": [256, 512]}\'')
    parser.add_argument("--image-encoding", choices=IMAGE_ENCODINGS, default="jpeg",
                        help="how renders travel (default: %(default)s; png is lossless and larger)")
    parser.set_defaults(func=serve_env)
