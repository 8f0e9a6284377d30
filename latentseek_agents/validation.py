"""One rule for numeric settings everywhere: the right type, finite, in range, else a ValueError
that names the setting, says what was expected and shows what was given.

``bool`` is never a number here, NaN and infinities never pass, and every range has a top, so an
absurd value fails at construction instead of at the first call.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["check_number", "check_int", "is_real"]


def is_real(value: Any) -> bool:
    """Whether ``value`` is an ``int`` or ``float`` (not a ``bool``).

    Example:
        >>> is_real(2.5), is_real(True), is_real("3")
        (True, False, False)
    """
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _interval(low: float, high: float, low_open: bool) -> str:
    return f"{'(' if low_open else '['}{low:g}, {high:g}]"


def check_number(name: str, value: Any, low: float, high: float, *, low_open: bool = False,
                 optional: bool = False) -> float | None:
    """``value`` as a float if it is a finite real number in the interval, else a ValueError.

    Args:
        name: the setting's name, as the user wrote it.
        low, high: the bounds (``high`` inclusive).
        low_open: exclude ``low`` itself (``> low`` rather than ``>= low``).
        optional: ``None`` is allowed (and returned).

    Example:
        >>> check_number("lr", 0.03, 0, 10, low_open=True)
        0.03
        >>> check_number("lr", float("nan"), 0, 10, low_open=True)
        Traceback (most recent call last):
        ...
        ValueError: lr must be a finite number in (0, 10], got nan
    """
    if value is None and optional:
        return None
    ok = is_real(value) and math.isfinite(value) and (value > low if low_open else value >= low) and value <= high
    if not ok:
        prefix = "None or " if optional else ""
        raise ValueError(f"{name} must be {prefix}a finite number in {_interval(low, high, low_open)}, got {value!r}")
    return float(value)


def check_int(name: str, value: Any, low: int, high: int, *, optional: bool = False) -> int | None:
    """``value`` if it is an ``int`` (not a bool) in ``[low, high]``, else a ValueError.

    Example:
        >>> check_int("max_iters", 3, 0, 10_000)
        3
        >>> check_int("seed", 2**70, 0, 2**63 - 1)
        Traceback (most recent call last):
        ...
        ValueError: seed must be an integer in [0, 9223372036854775807], got 1180591620717411303424
    """
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        prefix = "None or " if optional else ""
        raise ValueError(f"{name} must be {prefix}an integer in [{low}, {high}], got {value!r}")
    return value
