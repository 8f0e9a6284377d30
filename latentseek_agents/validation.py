"""One rule for numeric settings everywhere: the right type, finite, in range, else a ValueError
that names the setting, says what was expected and shows what was given.

``bool`` is never a number here, and NaN and infinities never pass. A range has a top only where the
domain has one (a fraction's 1, torch's seed range, the longest wait a thread can do): an invented cap
would refuse a legitimate setting.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["ConfigError", "PromptTooLongError", "check_number", "check_int", "is_real"]


class ConfigError(ValueError):
    """A setting is wrong. ``field`` names it, so front ends point at it without parsing the message
    (the server's error ``param``, a CLI flag, a pydantic field).

    Example:
        >>> ConfigError("lr", "lr must be > 0, got -1").field
        'lr'
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class PromptTooLongError(ValueError):
    """A rendered prompt does not fit the model's context (the server answers
    ``context_length_exceeded``). ``tokens`` and ``context`` say by how much.

    Example:
        >>> PromptTooLongError(5000, 4096).context
        4096
    """

    def __init__(self, tokens: int, context: int, what: str = "question") -> None:
        super().__init__(f"{what} is too long: the rendered prompt has {tokens} tokens, and the model's "
                         f"context is {context} tokens")
        self.tokens, self.context = tokens, context


def is_real(value: Any) -> bool:
    """Whether ``value`` is an ``int`` or ``float`` (not a ``bool``).

    Example:
        >>> is_real(2.5), is_real(True), is_real("3")
        (True, False, False)
    """
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _interval(low: float, high: float, low_open: bool) -> str:
    if math.isinf(high):  # no top in the domain: the number only has to be finite
        return f"{'>' if low_open else '>='} {low:g}"
    return f"in {'(' if low_open else '['}{low:g}, {high:g}]"


def check_number(name: str, value: Any, low: float, high: float = math.inf, *, low_open: bool = False,
                 optional: bool = False) -> float | None:
    """``value`` as a float if it is a finite real number in the interval, else a ValueError.

    Args:
        name: the setting's name, as the user wrote it.
        low, high: the bounds (``high`` inclusive; leave it out when the domain has no top).
        low_open: exclude ``low`` itself (``> low`` rather than ``>= low``).
        optional: ``None`` is allowed (and returned).

    Example:
        >>> check_number("lr", 0.03, 0, low_open=True)
        0.03
        >>> check_number("lr", float("nan"), 0, low_open=True)
        Traceback (most recent call last):
        ...
        latentseek_agents.validation.ConfigError: lr must be a finite number > 0, got nan
        >>> check_number("fraction", 1.5, 0, 1, low_open=True)
        Traceback (most recent call last):
        ...
        latentseek_agents.validation.ConfigError: fraction must be a finite number in (0, 1], got 1.5
    """
    if value is None and optional:
        return None
    ok = is_real(value) and math.isfinite(value) and (value > low if low_open else value >= low) and value <= high
    if not ok:
        prefix = "None or " if optional else ""
        raise ConfigError(name, f"{name} must be {prefix}a finite number {_interval(low, high, low_open)}, "
                                f"got {value!r}")
    return float(value)


def check_int(name: str, value: Any, low: int, high: int | None = None, *, optional: bool = False) -> int | None:
    """``value`` if it is an ``int`` (not a bool) in ``[low, high]`` (no top when ``high`` is None), else a
    ValueError.

    Example:
        >>> check_int("max_iters", 3, 0, 10_000)
        3
        >>> check_int("max_iters", -1, 0)
        Traceback (most recent call last):
        ...
        latentseek_agents.validation.ConfigError: max_iters must be an integer >= 0, got -1
    """
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
        prefix = "None or " if optional else ""
        bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ConfigError(name, f"{name} must be {prefix}an integer {bounds}, got {value!r}")
    return value
