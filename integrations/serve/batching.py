"""`SearchBatcher`: the requests that reach a replica together are solved as one batched search.

Requests wait in a queue; one worker thread takes the oldest, gathers those with the same search
settings that arrive within ``wait_s`` (at most ``max_batch_size``), and runs them through
:meth:`LatentSeek.iter_solve` as one batch: their generations, latent updates and reward calls run
together, as in ``solve_batch``. Each request gets its own events (its attempts, then its result)
as they happen, so a request that finishes early returns at once. Requests with other settings
(another reward, another config) wait for the next batch. A request whose client leaves is dropped
from its batch at the next decoding step; the others go on. A batch runs to its end: requests that
arrive meanwhile form the next one (the engine prefills a batch once, so none join mid-search).

``max_batch_size=1`` is one search at a time.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from latentseek_agents.result import SearchEvent
from latentseek_agents.validation import PromptTooLongError, check_int, check_number

from .protocol import APIError, ParsedRequest

__all__ = ["SearchBatcher"]


@dataclass(eq=False)
class _Pending:
    """One request: what it asks, and where its events go (its own asyncio queue, on its own loop)."""

    request: ParsedRequest
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    cancel: threading.Event = field(default_factory=threading.Event)
    done: bool = False

    def send(self, item: Any) -> None:
        """Hand an event (or an exception) to the request's coroutine, from the worker thread."""
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # its event loop is closed: nobody is waiting any more
            self.cancel.set()

    @property
    def settings(self) -> tuple[str, Any]:
        """What must be equal for two requests to share a batch: the reward and the whole config."""
        return self.request.reward, self.request.config


class SearchBatcher:
    """Solves the requests that arrive together as one batched search (see the module docstring).

    Args:
        lm: the replica's loaded model.
        rewards: ``{name: checker}`` (a request names one).
        max_batch_size: the most requests solved together; 1 = one search at a time.
        wait_s: how long the first request of a batch waits for others to join.
        (Their defaults are :class:`~.options.ServeOptions`', where a deployment sets them.)
        on_attempt: called (in the worker thread) after each scored attempt, e.g. to count them.

    Example:
        >>> batcher = SearchBatcher(lm, {"math": MathAnswer()}, max_batch_size=8, wait_s=0.05)  # doctest: +SKIP
        >>> async for event in batcher.events(parsed_request):                     # doctest: +SKIP
        ...     print(event.kind)
    """

    def __init__(self, lm: Any, rewards: Mapping[str, Any], *, max_batch_size: int, wait_s: float,
                 on_attempt: Callable[[], None] | None = None) -> None:
        check_int("max_batch_size", max_batch_size, 1)
        check_number("wait_s", wait_s, 0, threading.TIMEOUT_MAX)
        self.lm, self.rewards = lm, dict(rewards)
        self.max_batch_size, self.wait_s = max_batch_size, wait_s
        self.on_attempt = on_attempt
        self._waiting: list[_Pending] = []
        self._running: list[_Pending] = []
        self._cond = threading.Condition()
        self._worker: threading.Thread | None = None
        self.batches_run = 0  # over the replica's life (for /health)
        self.largest_batch = 0

    @property
    def active(self) -> int:
        """Requests being solved now whose client still waits for them."""
        with self._cond:
            return sum(not (p.done or p.cancel.is_set()) for p in self._running)

    async def events(self, request: ParsedRequest) -> AsyncGenerator[SearchEvent, None]:
        """The request's events: each scored attempt, then its result. A prompt the model can't run
        raises :class:`~.protocol.APIError` (422) before any event. Leaving early (the client went
        away) drops the request from its batch at the next decoding step."""
        pending = _Pending(request, asyncio.get_running_loop())
        with self._cond:
            self._waiting.append(pending)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="latentseek-batcher", daemon=True)
                self._worker.start()
            self._cond.notify_all()
        try:
            while True:
                item = await pending.queue.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
                if item.kind == "result":
                    return
        finally:
            pending.cancel.set()  # a no-op once it has its result

    # ------------------------------------------------------------------ the worker thread
    def _next_batch(self) -> list[_Pending]:
        """Wait for a request, then up to ``wait_s`` for others with its settings; take them."""
        with self._cond:
            while True:
                self._waiting = [p for p in self._waiting if not p.cancel.is_set()]  # left while queued
                if self._waiting:
                    break
                self._cond.wait()
            key = self._waiting[0].settings
            deadline = time.monotonic() + self.wait_s
            while sum(p.settings == key for p in self._waiting) < self.max_batch_size:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            batch = [p for p in self._waiting if p.settings == key and not p.cancel.is_set()][: self.max_batch_size]
            self._waiting = [p for p in self._waiting if p not in batch]
            self._running = batch
            return batch

    def _work(self) -> None:
        while True:
            batch = self._next_batch()
            if batch:
                self.batches_run += 1
                self.largest_batch = max(self.largest_batch, len(batch))
                self._solve(batch)
            with self._cond:
                self._running = []

    def _solve(self, batch: list[_Pending]) -> None:
        from latentseek_agents.seek import LatentSeek

        first = batch[0].request
        try:
            seeker = LatentSeek(self.lm, reward=self.rewards[first.reward], config=first.config)
            stream = seeker.iter_solve(
                [p.request.messages for p in batch], [p.request.context.get("reference") for p in batch],
                cancel=[p.cancel for p in batch], return_exceptions=True,
                contexts=[{k: v for k, v in p.request.context.items() if k != "reference"} for p in batch])
            for event in stream:
                pending = batch[event.index]
                if event.kind == "error":
                    pending.done = True
                    code = "context_length_exceeded" if isinstance(event.error, PromptTooLongError) else "invalid_value"
                    pending.send(APIError(422, str(event.error), param="messages", code=code))
                    continue
                if event.attempt is not None and self.on_attempt is not None:
                    self.on_attempt()
                pending.done = pending.done or event.kind == "result"
                if not pending.cancel.is_set():
                    pending.send(event)
        except BaseException as exc:  # noqa: BLE001 - every request of the batch hears of the failure
            for pending in batch:
                if not pending.done:
                    pending.done = True
                    pending.send(exc)
            if not isinstance(exc, Exception):
                raise
