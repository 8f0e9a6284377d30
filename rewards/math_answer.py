"""`MathAnswer`: is the completion's final answer equal to the reference? (math-verify + sympy)

The prediction is extracted explicitly (last ``\\boxed{}`` by default), both sides are wrapped in
``\\boxed{}`` so that math-verify parses them, and math-verify decides equivalence (gold first).

Time is bounded from any thread: the comparison runs in a persistent worker subprocess that is
killed (and replaced) when it overruns ``timeout_s``, because math-verify's own time-outs use
``signal.alarm`` and only work on the main thread. Model text is never given to
``sympify``/``eval``: math-verify filters what reaches sympy.

Known false positives of math-verify and what this checker does about them:

* numbers equal after rounding to 6 decimals (``1/2^{99}`` vs ``1/2^{98}``, ``1/2004!`` vs
  ``1/2006!``): rejected here; when both sides are plain numbers they must also agree to 1e-9
  relative.
* plain-text equations whose sides both parse to ``0`` (``3*x-1*y+13=0`` vs ``3x+4y+14=0``) and
  ``1-1/e`` vs ``1+1/e`` written with ``\\mathrm{e}``: math-verify's plain-text parser calls them
  equal; both sides are boxed here, which parses them as equations and keeps them apart (tests pin
  both facts).
"""

from __future__ import annotations

import math
import threading
from typing import Any

from latentseek_agents.answers import EXTRACTORS, extract_answer, gsm8k_gold
from latentseek_agents.scoring import CheckResult
from latentseek_agents.validation import check_number

from ._pool import WorkerPool, WorkerTimeout
from .base import MAX_CHECK_S, BaseChecker

__all__ = ["MathAnswer"]

_MAX_ANSWER_CHARS = 2_000
_pool: WorkerPool | None = None
_pool_lock = threading.Lock()


def _worker_pool() -> WorkerPool:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = WorkerPool("latentseek_agents.rewards._math_worker", size=4)
        return _pool


def _check_reference(reference: Any) -> None:
    """A reference is text or a finite real number; anything else (NaN, bytes, a list) is refused by name."""
    import math
    import numbers

    if isinstance(reference, str):
        return
    if isinstance(reference, numbers.Real) and not isinstance(reference, bool) and math.isfinite(reference):
        return
    raise ValueError(f"reference must be text or a finite number, got {type(reference).__name__} {reference!r:.40}")


class MathAnswer(BaseChecker):
    """Score 1.0 when the extracted final answer equals the reference, else 0.0.

    Args:
        extract: ``"last_boxed"`` (default), ``"json"``, ``"answer_is"`` or ``"auto"`` (each in turn).
        timeout_s: wall-clock bound of one comparison, enforced by killing the worker process.

    A missing reference, or one that cannot be parsed, gives ``score=None`` ("skip", as in TRL).

    Example:
        >>> MathAnswer().check("so \\\\boxed{72}", reference="#### 72").score
        1.0
        >>> MathAnswer().check("no box here", reference="72").feedback
        'no final answer found (extract=last_boxed)'
    """

    def __init__(self, extract: str = "last_boxed", timeout_s: float = 5.0) -> None:
        if extract not in EXTRACTORS:
            raise ValueError(f"extract must be one of {EXTRACTORS}, got {extract!r}")
        self.extract: Any = extract
        self.timeout_s: float = float(timeout_s)
        check_number("timeout_s", timeout_s, 0, MAX_CHECK_S, low_open=True)

    def __repr__(self) -> str:
        return f"MathAnswer(extract={self.extract!r}, timeout_s={self.timeout_s})"

    def check(self, completion: str, *, prompt: Any = None, reference: Any = None, **ctx: Any) -> CheckResult:
        """Compare the completion's final answer with ``reference`` (``"72"``, ``"#### 72"``, LaTeX)."""
        if reference is None or (isinstance(reference, str) and not reference.strip()):
            return CheckResult(score=None, feedback="no reference answer: skipped")
        _check_reference(reference)
        gold = gsm8k_gold(str(reference))
        pred = extract_answer(completion if isinstance(completion, str) else None, self.extract)
        details: dict[str, Any] = {"extracted": pred, "reference": gold}
        if pred is None:
            return CheckResult(score=0.0, passed=False,
                               feedback=f"no final answer found (extract={self.extract})", details=details)
        if len(pred) > _MAX_ANSWER_CHARS:
            return CheckResult(score=0.0, passed=False, details=details,
                               feedback=f"final answer is {len(pred)} characters long (limit {_MAX_ANSWER_CHARS})")
        # math-verify's own alarm (whole seconds) fires first where it can, so the worker survives.
        inner = max(1, math.floor(self.timeout_s * 0.8))
        try:
            reply = _worker_pool().request({"gold": gold, "pred": pred, "timeout": inner}, self.timeout_s)
        except WorkerTimeout:
            return CheckResult.failure(f"math check timed out after {self.timeout_s:g} s", **details)
        except (OSError, RuntimeError, ValueError) as exc:
            return CheckResult.failure(f"math check failed: {type(exc).__name__}: {exc}", **details)
        if "error" in reply:
            return CheckResult.failure(f"math check failed: {reply['error']}", **details)
        if not reply["gold_parsed"]:
            return CheckResult(score=None, feedback=f"reference {gold!r} could not be parsed: skipped",
                               details=details)
        ok = bool(reply["ok"])
        if reply["guard"]:
            details["rounding_guard"] = "math-verify said equal after rounding; the numbers differ"
        feedback = f"answer {pred!r} {'equals' if ok else 'does not equal'} the reference {gold!r}"
        return CheckResult(score=1.0 if ok else 0.0, passed=ok, feedback=feedback, details=details)
