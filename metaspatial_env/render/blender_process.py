"""The Blender worker process as the renderer sees it: started from one long-lived launcher thread
(so its parent-death signal follows the process, not a short-lived thread), called over a pipe
with a heartbeat socket beside it (a stopped or deadlocked worker is told from a busy one within
``hang_timeout`` seconds), stopped with its scratch folder removed, and dropped without being
touched in a forked child. :class:`~metaspatial_env.render.blender.BlenderRenderer` owns one.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from multiprocessing.connection import Connection, wait
from pathlib import Path

log = logging.getLogger(__name__)


class BlenderRenderError(RuntimeError):
    """The Blender worker failed (twice in a row, or with an error inside Blender)."""


class WorkerHung(TimeoutError):
    """The worker stopped beating its heartbeat and is not working either (stopped or deadlocked)."""


class _Launcher:
    """Starts worker processes from one long-lived daemon thread.

    Linux's parent-death signal (``PR_SET_PDEATHSIG``, which the worker sets on itself) fires
    when the *thread* that forked the worker exits, not the process. Workers started straight from
    the caller's thread died with it (an env created in a short-lived thread lost its worker).
    This thread lives as long as the process (it only ends when the process does), so the signal
    ties each worker to the process: normal exit, an exception, ``os._exit`` or ``SIGKILL``.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def popen(self, args, **kwargs) -> subprocess.Popen:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="metaspatial-blender-launcher",
                                                daemon=True)
                self._thread.start()
        done, result = threading.Event(), {}
        self._jobs.put((args, kwargs, result, done))
        done.wait()
        if "error" in result:
            raise result["error"]
        return result["proc"]

    def _serve(self) -> None:
        while True:  # never returns: returning would SIGKILL every worker started here
            args, kwargs, result, done = self._jobs.get()
            try:
                result["proc"] = subprocess.Popen(args, **kwargs)
            except BaseException as error:  # noqa: BLE001 - handed to the caller
                result["error"] = error
            finally:
                done.set()


_launcher = _Launcher()
#: Workers this process started (a forked child abandons the ones it inherited).
_workers: weakref.WeakSet[Worker] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    """A forked child starts with no launcher thread and must not talk to its parent's workers."""
    global _launcher
    _launcher = _Launcher()
    for worker in list(_workers):
        worker.abandon()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _proc_stat(pid: int) -> tuple[str, float] | None:
    """(state letter, CPU seconds of all threads) of ``pid`` from ``/proc``; None where unknown."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return fields[0], (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class Worker:
    """One worker process, the parent's end of its request socket and of its heartbeat socket."""

    def __init__(self, settings: dict, start_timeout: float):
        from .blender_worker import scratch_dir

        parent_sock, child_sock = socket.socketpair()
        beat_sock, child_beat = socket.socketpair()
        self.log = tempfile.TemporaryFile()  # the worker's stderr, shown when it fails
        self.scratch = scratch_dir()  # the worker's image files; removed here, even if it was killed
        self.owner = os.getpid()
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        fds = (child_sock.fileno(), child_beat.fileno())
        try:
            self.proc = _launcher.popen(
                [sys.executable, "-m", "metaspatial_env.render.blender_worker", str(fds[0]), self.scratch,
                 str(fds[1]), str(os.getpid())],
                pass_fds=fds, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=self.log, env=env)
        except BaseException:
            shutil.rmtree(self.scratch, ignore_errors=True)
            for sock in (parent_sock, beat_sock):
                sock.close()
            raise
        finally:
            child_sock.close()
            child_beat.close()
        self.conn = Connection(parent_sock.detach())
        beat_sock.setblocking(False)
        self.beat = beat_sock
        self.pid = self.proc.pid
        self.finalizer = weakref.finalize(self, _stop, self.proc, self.conn, self.beat, self.log, self.scratch)
        _workers.add(self)
        reply = self.call({"op": "configure", "settings": settings}, start_timeout)
        if not reply.get("ok"):
            self.stop()
            raise BlenderRenderError(f"the Blender worker could not start:\n{reply.get('error')}")
        self.info = reply
        self.renders = 0

    def _drain_beats(self) -> bool:
        """Read the heartbeats that arrived; True if any did. ``EOFError`` if the worker's end closed."""
        got = False
        while True:
            try:
                data = self.beat.recv(4096)
            except (BlockingIOError, InterruptedError):
                return got
            except OSError as error:
                raise EOFError(f"heartbeat socket: {error}") from error
            if not data:
                raise EOFError("the worker closed its heartbeat socket")
            got = True

    def call(self, message: dict, timeout: float, hang_timeout: float | None = None) -> dict:
        """Send a request and wait for its reply.

        Raises ``TimeoutError`` after ``timeout`` seconds, :class:`WorkerHung` (a ``TimeoutError``)
        when ``hang_timeout`` is set and the worker is found hung (see the module docs), and
        ``EOFError`` when the worker is gone.
        """
        try:
            self.conn.send(message)
            start = last_beat = time.monotonic()
            cpu_at_beat = None
            self._drain_beats()
            deadline = start + timeout
            while True:
                now = time.monotonic()
                step = max(0.0, min(deadline - now, 0.5))
                ready = wait([self.conn, self.beat], step)
                after = time.monotonic()
                if self.conn in ready or self.conn.poll(0):
                    return self.conn.recv()
                if after - now > step + 1.0:  # this process was suspended: that is not the worker's silence
                    last_beat, cpu_at_beat = after, None
                if self._drain_beats():
                    last_beat, cpu_at_beat = after, None
                if after >= deadline:
                    raise TimeoutError(f"no reply within {timeout:g} s")
                if hang_timeout is None:
                    continue
                stat = _proc_stat(self.pid)
                if cpu_at_beat is None and stat is not None:
                    cpu_at_beat = stat[1]
                silent = after - last_beat
                if silent < hang_timeout:
                    continue
                if stat is None:
                    raise WorkerHung(f"no heartbeat for {silent:.1f} s")
                state, cpu = stat
                if state in "TtZX":
                    what = {"T": "stopped", "t": "stopped by a tracer", "Z": "exited", "X": "exited"}[state]
                    raise WorkerHung(f"no heartbeat for {silent:.1f} s; the process is {what}")
                if cpu_at_beat is not None and cpu - cpu_at_beat < 0.1 * silent:
                    raise WorkerHung(f"no heartbeat for {silent:.1f} s and {cpu - cpu_at_beat:.2f} s of CPU "
                                     f"used in that time (state {state}): deadlocked")
                # silent but busy (a long C call holding the GIL): let it work, up to ``timeout``
        except (BrokenPipeError, ConnectionResetError, OSError) as error:
            if isinstance(error, TimeoutError):
                raise
            raise EOFError(str(error)) from error

    def stderr_tail(self, chars: int = 2000) -> str:
        try:
            self.log.seek(0, os.SEEK_END)
            size = self.log.tell()
            self.log.seek(max(0, size - chars))
            return self.log.read().decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""

    def stop(self) -> None:
        self.finalizer()

    def abandon(self) -> None:
        """In a forked child: forget this (the parent's) worker; close this process's copies of its sockets."""
        if self.owner == os.getpid():
            return
        self.finalizer.detach()  # stopping it, or removing its scratch directory, is the parent's business
        for closeable in (self.conn, self.beat, self.log):
            try:
                closeable.close()
            except Exception:
                pass


def _stop(proc: subprocess.Popen, conn: Connection, beat: socket.socket, log_file, scratch: str) -> None:
    """End a worker: ask politely, then kill; never leaves a zombie or its scratch directory behind."""
    try:
        if proc.poll() is None:
            try:
                conn.send({"op": "close"})
                proc.wait(timeout=5)
            except (OSError, EOFError, subprocess.TimeoutExpired, ValueError):
                pass
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
    except Exception:  # interpreter shutdown: do the least
        try:
            proc.kill()
        except Exception:
            pass
    for closeable in (conn, beat, log_file):
        try:
            closeable.close()
        except Exception:
            pass
    shutil.rmtree(scratch, ignore_errors=True)
