"""Cooperative cancellation: work that can stop at a safe point (a decoding step) checks here.

A *scope* carries a deadline and/or an event; :func:`check_cancelled` raises :class:`Cancelled`
inside the innermost scopes of the current thread once the deadline has passed or the event is set.
The decoding loop calls it once per step, so a model-backed reward that outlives its time bound
(or a search its caller abandoned) stops within one step and releases the model's lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Cancelled", "active_scopes", "cancel_scope", "check_cancelled", "within_scopes"]

_local = threading.local()


class Cancelled(Exception):
    """The work was stopped: its deadline passed or its caller cancelled it."""


@contextmanager
def cancel_scope(*, deadline: float | None = None, event: threading.Event | None = None) -> Iterator[None]:
    """Run the block under a deadline (``time.monotonic()`` seconds) and/or a cancel event.

    Example:
        >>> with cancel_scope(deadline=time.monotonic() - 1):
        ...     check_cancelled()
        Traceback (most recent call last):
        ...
        latentseek_agents.cancel.Cancelled: stopped: the time bound passed
    """
    scopes = _local.__dict__.setdefault("scopes", [])
    scopes.append((deadline, event))
    try:
        yield
    finally:
        scopes.pop()


def check_cancelled() -> None:
    """Raise :class:`Cancelled` if any scope of this thread has expired or been cancelled."""
    for deadline, event in getattr(_local, "scopes", ()):
        if event is not None and event.is_set():
            raise Cancelled("stopped: the caller cancelled the work")
        if deadline is not None and time.monotonic() >= deadline:
            raise Cancelled("stopped: the time bound passed")


def active_scopes() -> tuple[tuple[float | None, threading.Event | None], ...]:
    """This thread's scopes, to hand to work it starts in another thread (:func:`within_scopes`)."""
    return tuple(getattr(_local, "scopes", ()))


@contextmanager
def within_scopes(scopes: tuple[tuple[float | None, threading.Event | None], ...]) -> Iterator[None]:
    """Run the block under scopes taken from another thread, so that a deadline or a cancel event of
    the thread that started the work (a closed stream, a client that left) reaches it.

    Example:
        >>> stop = threading.Event(); stop.set()
        >>> with cancel_scope(event=stop):
        ...     scopes = active_scopes()
        >>> def worker():
        ...     with within_scopes(scopes):
        ...         check_cancelled()
        >>> worker()
        Traceback (most recent call last):
        ...
        latentseek_agents.cancel.Cancelled: stopped: the caller cancelled the work
    """
    stack = _local.__dict__.setdefault("scopes", [])
    stack.extend(scopes)
    try:
        yield
    finally:
        del stack[len(stack) - len(scopes):]
