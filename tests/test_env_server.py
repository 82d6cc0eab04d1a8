"""The env server (OpenEnv protocol) and its clients, against a real uvicorn server on 127.0.0.1.

The tests talk over real sockets to servers started here (uvicorn in a background thread,
the rasteriser env at 64 x 128): concurrent sessions, remote episodes equal to in-process ones,
malformed requests that leave the session alive, dropped clients, the session limit, the CLI.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("openenv")
pytest.importorskip("uvicorn")

from websockets.sync.client import connect  # noqa: E402

from metaspatial_env.env_client import EnvServerError, MetaSpatialEnvClient, RemoteEnv  # noqa: E402
from metaspatial_env.env_server import MAX_ACTION_TEXT, create_app, is_loopback, jsonable  # noqa: E402
from metaspatial_env.tasks import load_split  # noqa: E402

from .serving import running_server  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ENV_ID = "MetaSpatial-Fast-v0"
ENV_KWARGS = {"image_size": [64, 128]}
SHAPE = (64, 128, 3)
#: Bound on waiting for the server to notice a closed session (a liveness bound, not a speed check).
SETTLE_S = 30.0


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    """A server of two sessions sending PNG (lossless, so remote images equal in-process ones)."""
    with running_server(create_app(ENV_ID, ENV_KWARGS, max_sessions=2, image_encoding="png"), path="") as base:
        yield base


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def wait_for_capacity(url: str, active: int) -> dict:
    """The server's /capacity once it reports ``active`` sessions and as many open envs at most
    (a session is dropped, then its env closed, asynchronously)."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        capacity = get_json(f"{url}/capacity")
        if capacity["active_sessions"] == active and capacity["open_envs"] <= active or time.monotonic() > deadline:
            return capacity
        time.sleep(0.05)


def play_episode(env: RemoteEnv, seed: int) -> list[np.ndarray]:
    """A whole episode of empty answers; the images of every observation."""
    obs, info = env.reset(seed=seed)
    images = [obs["image"]]
    assert info["turn"] == 0 and isinstance(info["task_id"], str)
    for turn in range(1, 10):
        obs, reward, terminated, truncated, info = env.step("<answer>[]</answer>")
        images.append(obs["image"])
        assert info["turn"] == turn and isinstance(reward, float) and "reward_total" in info
        if terminated or truncated:
            return images
    raise AssertionError("the episode did not end")


def assert_real_image(image: np.ndarray) -> None:
    assert image.shape == SHAPE and image.dtype == np.uint8
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 10  # a drawn room, not a blank frame


def test_two_clients_play_whole_episodes_at_once(url):
    opened = threading.Barrier(3)
    results: dict[int, list[np.ndarray] | BaseException] = {}

    def client(seed: int) -> None:
        try:
            with RemoteEnv(url) as env:
                opened.wait(timeout=60)  # both sessions are open before either plays
                opened.wait(timeout=60)  # ... and the main thread has counted them
                results[seed] = play_episode(env, seed)
        except BaseException as error:  # noqa: BLE001 -- reported by the main thread
            results[seed] = error
            opened.abort()

    threads = [threading.Thread(target=client, args=(seed,)) for seed in (1, 2)]
    for thread in threads:
        thread.start()
    opened.wait(timeout=60)
    during = get_json(f"{url}/capacity")
    opened.wait(timeout=60)
    for thread in threads:
        thread.join(timeout=300)
    assert during["active_sessions"] == 2 and during["open_envs"] == 0  # envs are made on the first reset
    for seed in (1, 2):
        assert not isinstance(results[seed], BaseException), results[seed]
        assert len(results[seed]) == 4  # the reset and 3 turns
        for image in results[seed]:
            assert_real_image(image)
    assert wait_for_capacity(url, 0) == {"active_sessions": 0, "max_sessions": 2, "open_envs": 0}


def test_a_remote_episode_equals_the_in_process_env(url):
    local = gym.make(ENV_ID, **ENV_KWARGS)
    task_id = load_split("train")[5].id
    try:
        with RemoteEnv(url) as remote:
            for seed, options in ((7, None), (3, {"task_id": task_id})):
                local_obs, local_info = local.reset(seed=seed, options=options)
                remote_obs, remote_info = remote.reset(seed=seed, options=options)
                assert remote_info == jsonable(local_info) and remote_obs["text"] == local_obs["text"]
                assert np.array_equal(remote_obs["image"], local_obs["image"])
                # a random complete layout, a wrong id (parse errors) and another random layout
                answers = [local.action_space.sample(), '<answer>[{"new_object_id": "nope", "x": 1, "y": 1, "z": 0}]'
                           '</answer>', local.action_space.sample()]
                for answer in answers:
                    local_obs, local_reward, *local_ends, local_info = local.step(answer)
                    remote_obs, remote_reward, *remote_ends, remote_info = remote.step(answer)
                    assert remote_info == jsonable(local_info)
                    assert (remote_reward, remote_ends) == (local_reward, local_ends)
                    assert remote_obs["text"] == local_obs["text"]
                    assert np.array_equal(remote_obs["image"], local_obs["image"])
                    assert ("unknown_id" in remote_info["parse_errors"]) == (answer is answers[1])
                    assert {"problems", "success", "reward_format", "layout"} <= set(remote_info)
            state = remote.state()
            assert state == {"episode_id": state["episode_id"], "step_count": 3, "env_id": ENV_ID, "task_id": task_id,
                             "turn": 3}
    finally:
        local.close()


def frame(ws, message) -> dict:
    ws.send(message if isinstance(message, str) else json.dumps(message))
    return json.loads(ws.recv(timeout=120))


def test_malformed_requests_get_a_clear_error_and_the_session_goes_on(url):
    ws_url = url.replace("http://", "ws://") + "/ws"
    with connect(ws_url, max_size=None) as ws:
        bad = [
            ({"type": "step", "data": {"text": "[]"}}, "EXECUTION_ERROR", "call reset() before step()"),
            ("{bad json", "INVALID_JSON", "Invalid JSON"),
            ({"type": "frobnicate"}, "UNKNOWN_TYPE", "frobnicate"),
            ({"type": "reset", "data": {"options": {"bogus": 1}}}, "EXECUTION_ERROR", "unknown reset options"),
            ({"type": "reset", "data": {"options": {"task_id": "no_such_room"}}}, "EXECUTION_ERROR", "no_such_room"),
        ]
        for message, code, text in bad:
            reply = frame(ws, message)
            assert reply["type"] == "error" and reply["data"]["code"] == code and text in reply["data"]["message"]
        assert frame(ws, {"type": "reset", "data": {"seed": 4}})["type"] == "observation"
        mid_episode = [
            ({"type": "step", "data": {"txt": "[]"}}, "VALIDATION_ERROR"),  # a wrong field
            ({"type": "step", "data": {"text": 12}}, "VALIDATION_ERROR"),  # a wrong type
            ({"type": "step", "data": {"text": "x" * (MAX_ACTION_TEXT + 1)}}, "EXECUTION_ERROR"),  # oversized
        ]
        for message, code in mid_episode:
            reply = frame(ws, message)
            assert reply["type"] == "error" and reply["data"]["code"] == code
        assert "too long" in reply["data"]["message"] and "Traceback" not in json.dumps(reply)
        for turn in (1, 2, 3):  # the episode still runs from its first turn
            reply = frame(ws, {"type": "step", "data": {"text": "<answer>[]</answer>"}})
            assert reply["type"] == "observation" and reply["data"]["observation"]["turn"] == turn
        assert reply["data"]["done"] and reply["data"]["observation"]["truncated"]
        assert frame(ws, {"type": "step", "data": {"text": "[]"}})["data"]["code"] == "EXECUTION_ERROR"
        state = frame(ws, {"type": "state"})["data"]
        assert (state["step_count"], state["turn"], state["env_id"]) == (3, 3, ENV_ID)


def test_remote_env_raises_one_clear_error_and_keeps_its_session(url):
    with RemoteEnv(url) as env:
        with pytest.raises(EnvServerError, match=r"call reset\(\) before step\(\)") as caught:
            env.step("<answer>[]</answer>")
        assert caught.value.code == "EXECUTION_ERROR" and "\n" not in str(caught.value)
        with pytest.raises(EnvServerError, match="unknown reset options"):
            env.reset(options={"bogus": 1})
        task = load_split("test")[0].to_dict()
        task["objects"][0]["mesh"] = "/etc/any.glb"  # a file of the client's choosing on the server
        with pytest.raises(EnvServerError, match="task meshes are not accepted over the wire"):
            env.reset(options={"task": task})
        assert len(play_episode(env, seed=5)) == 4
    with pytest.raises(EnvServerError, match="cannot reach the env server"):
        RemoteEnv("http://127.0.0.1:1", timeout=5)


def test_http_routes_answer_and_a_stateless_step_is_a_clear_400(url):
    assert get_json(f"{url}/health")["status"] == "healthy"
    assert "text" in get_json(f"{url}/schema")["action"]["properties"]
    request = urllib.request.Request(f"{url}/step", data=json.dumps({"action": {"text": "[]"}}).encode(),
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)
    assert caught.value.code == 400 and "/ws session" in json.loads(caught.value.read())["detail"]


def test_a_dropped_client_frees_its_session_and_closes_its_env(url):
    with contextlib.suppress(OSError), connect(url.replace("http://", "ws://") + "/ws", max_size=None) as ws:
        assert frame(ws, {"type": "reset", "data": {"seed": 1}})["type"] == "observation"
        assert get_json(f"{url}/capacity")["active_sessions"] == 1
        assert get_json(f"{url}/capacity")["open_envs"] == 1
        ws.socket.shutdown(socket.SHUT_RDWR)  # the peer vanishes without a close frame, as a killed client does
    assert wait_for_capacity(url, 0) == {"active_sessions": 0, "max_sessions": 2, "open_envs": 0}


def test_a_full_server_refuses_one_more_session_and_frees_the_slot_on_close():
    with running_server(create_app(ENV_ID, ENV_KWARGS, max_sessions=1), path="") as base:  # JPEG, the default
        first = RemoteEnv(base)
        with pytest.raises(EnvServerError, match="at capacity") as caught:
            RemoteEnv(base)
        assert caught.value.code == "CAPACITY_REACHED"
        for image in play_episode(first, seed=2):  # the open session is unharmed
            assert_real_image(image)
        first.close()
        wait_for_capacity(base, 0)
        with RemoteEnv(base) as second:
            assert second.reset(seed=2)[1]["turn"] == 0


def test_the_openenv_client_gets_typed_observations_and_state(url):
    async def episode() -> None:
        async with MetaSpatialEnvClient(base_url=url) as client:
            result = await client.reset(seed=3)
            observation = result.observation
            assert observation.image.startswith("data:image/png;base64,") and observation.task_id
            assert (result.reward, result.done, observation.turn) == (None, False, 0)
            result = await client.step("<answer>[]</answer>")  # a plain string is the answer text too
            observation = result.observation
            assert observation.turn == 1 and isinstance(result.reward, float) and not result.done
            assert "missing_object" in observation.parse_errors and observation.problems
            assert set(observation.rewards) == {k for k in observation.info if k.startswith("reward_")}
            state = await client.state()
            assert (state.step_count, state.turn, state.task_id) == (1, 1, observation.task_id)

    asyncio.run(episode())


def test_a_text_only_env_sends_no_image():
    with running_server(create_app("MetaSpatial-Text-v0", {}, max_sessions=1), path="") as base, RemoteEnv(base) as env:
        obs, info = env.reset(seed=1)
        assert list(obs) == ["text"] and obs["text"] and info["turn"] == 0
        obs, reward, terminated, truncated, info = env.step("<answer>[]</answer>")
        assert list(obs) == ["text"] and "missing_object" in info["parse_errors"] and info["turn"] == 1


def test_create_app_rejects_bad_arguments_with_one_line_value_errors():
    for args, message in [(("Nope-v0", {}), "unknown env id"), ((ENV_ID, {"frobs": 1}), "frobs"),
                          (("MetaSpatialContinuous-v0", {}), "text observation"),
                          ((ENV_ID, {}, 0), "max_sessions"), ((ENV_ID, {}, 1, "gif"), "image encoding")]:
        with pytest.raises(ValueError, match=message) as caught:
            create_app(*args)
        assert "\n" not in str(caught.value)


def test_only_loopback_hosts_count_as_private():
    assert all(is_loopback(host) for host in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"))
    assert not any(is_loopback(host) for host in ("0.0.0.0", "::", "10.0.0.5", "example.com"))


def metaspatial(*argv: str) -> subprocess.CompletedProcess:
    command = Path(sys.executable).with_name("metaspatial")
    return subprocess.run([str(command), *argv], capture_output=True, text=True, cwd=ROOT, timeout=120)


@pytest.mark.parametrize("argv, message", [
    (["--env-kwargs", "{bad"], "--env-kwargs is not JSON"),
    (["--env-kwargs", "[1]"], "--env-kwargs must be a JSON object"),
    (["--env-id", "Nope-v0"], "unknown env id 'Nope-v0'"),
])
def test_cli_bad_input_is_one_error_line_and_exit_2(argv, message):
    done = metaspatial("serve-env", *argv)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert done.stderr.startswith(f"metaspatial serve-env: error: {message}")


def test_cli_help_and_lazy_imports():
    done = metaspatial("serve-env", "--help")
    assert done.returncode == 0 and "--max-sessions" in done.stdout and "--image-encoding" in done.stdout
    probe = ("import sys, metaspatial_env, metaspatial_env.env_server, metaspatial_env.cli; "
             "print([m for m in ('openenv', 'fastapi', 'uvicorn') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.stdout.strip() == "[]"
