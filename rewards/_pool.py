"""A small pool of persistent worker subprocesses with a hard wall-clock kill per request.

Used where a library's own time-outs can't be trusted off the main thread (math-verify uses
``signal.alarm``). Safe to call from any thread: each request takes an idle worker (or starts one),
and a worker that overruns its deadline is killed with its whole process group and replaced.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from typing import Any

__all__ = ["WorkerPool", "WorkerTimeout"]


class WorkerTimeout(Exception):
    """The worker did not answer before the deadline (it has been killed)."""


class _Worker:
    def __init__(self, module: str, env: dict[str, str], start_timeout_s: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, bufsize=1, start_new_session=True, env=env,
        )
        self.requests = 0
        if self.read(start_timeout_s) != {"ready": True}:
            self.kill()
            raise RuntimeError(f"worker {module} did not start")

    def read(self, timeout_s: float) -> Any:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], max(timeout_s, 0.0))
        if not ready:
            raise WorkerTimeout
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("worker exited")
        return json.loads(line)

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()  # type: ignore[union-attr]
            except OSError:
                pass


class WorkerPool:
    """Persistent workers running ``python -m module`` (a JSON-lines request/reply loop).

    Args:
        module: the worker module.
        size: most workers alive (and requests in flight) at once.
        env: extra environment variables for the workers.
        start_timeout_s: how long a new worker may take to say it is ready.

    Example:
        >>> pool = WorkerPool("latentseek_agents.rewards._math_worker", size=2)   # doctest: +SKIP
        >>> pool.request({"gold": "1", "pred": "1"}, timeout_s=5)                 # doctest: +SKIP
        {'ok': True, ...}
    """

    def __init__(self, module: str, size: int = 2, env: dict[str, str] | None = None,
                 start_timeout_s: float = 60.0) -> None:
        self.module = module
        self.size = size
        self.env = {**os.environ, **(env or {})}
        self.start_timeout_s = start_timeout_s
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        atexit.register(self.close)

    def _take(self) -> _Worker:
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                worker = _Worker(self.module, self.env, self.start_timeout_s)
                with self._lock:
                    self._all.add(worker)
                return worker
            if worker.proc.poll() is None:
                return worker
            self._discard(worker)

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._all.discard(worker)

    def request(self, payload: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """Send one request; raise :class:`WorkerTimeout` if no answer comes within ``timeout_s``,
        the wait for a free worker included (starting a new worker is bounded by ``start_timeout_s``)."""
        asked = time.monotonic()
        if not self._slots.acquire(timeout=timeout_s):
            raise WorkerTimeout(f"no worker was free within {timeout_s:g} s")
        try:
            worker = self._take()
            # Waiting for a free worker counts against the bound; a worker started for this request
            # (only idle workers that served before are reused) gets the whole bound once it is ready.
            deadline = (asked if worker.requests else time.monotonic()) + timeout_s
            try:
                assert worker.proc.stdin is not None
                worker.proc.stdin.write(json.dumps(payload) + "\n")
                worker.proc.stdin.flush()
                reply = worker.read(deadline - time.monotonic())
            except WorkerTimeout:
                self._discard(worker)
                raise
            except (OSError, RuntimeError, ValueError):
                self._discard(worker)
                raise
            worker.requests += 1
            self._idle.put(worker)
            return reply
        finally:
            self._slots.release()

    def close(self) -> None:
        """Kill every worker (also run at interpreter exit)."""
        with self._lock:
            workers, self._all = list(self._all), set()
        for worker in workers:
            worker.kill()
        while not self._idle.empty():
            self._idle.get_nowait()
