"""`MathAnswer`: is the completion's final answer equal to the reference? (math-verify + sympy)

The prediction is extracted explicitly (last ``\\boxed{}`` by default), both sides are wrapped in
``\\boxed{}`` so that math-verify parses them, and math-verify decides equivalence (gold first).
math-verify rounds numbers to 6 decimals, which makes ``1/2^{99}`` equal ``1/2^{98}``: when both
sides are plain numbers this checker also requires a relative difference below 1e-9.

Model text is never given to ``sympify``/``eval``: math-verify filters what reaches sympy.
"""

from __future__ import annotations

import math
import threading
from typing import Any

from latentseek_agents.answers import EXTRACTORS, extract_answer, gsm8k_gold
from latentseek_agents.scoring import CheckResult

from .base import BaseChecker

__all__ = ["MathAnswer"]


def _wrap(answer: str) -> str:
    return answer if "\\boxed" in answer else f"\\boxed{{{answer}}}"


def _numbers_agree(gold: Any, pred: Any) -> bool:
    """False only when both sides are plain numbers that differ beyond 1e-9 relative."""
    import sympy

    if not (isinstance(gold, sympy.Basic) and isinstance(pred, sympy.Basic)):
        return True
    if not (gold.is_number and pred.is_number):
        return True
    try:
        diff = abs(sympy.N(gold - pred, 60))
        scale = max(abs(sympy.N(gold, 60)), abs(sympy.N(pred, 60)))
        return bool(diff == 0 or diff <= sympy.Float("1e-9") * scale)
    except (TypeError, ValueError, ArithmeticError):
        return True


class MathAnswer(BaseChecker):
    """Score 1.0 when the extracted final answer equals the reference, else 0.0.

    Args:
        extract: ``"last_boxed"`` (default), ``"json"``, ``"answer_is"`` or ``"auto"``.
        timeout_s: math-verify's parse/verify time bound, rounded up to whole seconds (applied on the
            main thread only: math-verify's signal-based timer cannot run in other threads).

    Example:
        >>> MathAnswer().check("so \\\\boxed{72}", reference="#### 72").score
        1.0
        >>> MathAnswer().check("no box here", reference="72").feedback
        'no final answer found (extract=last_boxed)'
    """

    def __init__(self, extract: str = "last_boxed", timeout_s: float = 5.0) -> None:
        if extract not in EXTRACTORS:
            raise ValueError(f"extract must be one of {EXTRACTORS}, got {extract!r}")
        if not isinstance(timeout_s, (int, float)) or timeout_s <= 0:
            raise ValueError(f"timeout_s must be a number > 0, got {timeout_s!r}")
        self.extract = extract
        self.timeout_s = float(timeout_s)

    def __repr__(self) -> str:
        return f"MathAnswer(extract={self.extract!r}, timeout_s={self.timeout_s})"

    def check(self, completion: str, *, prompt: Any = None, reference: Any = None, **ctx: Any) -> CheckResult:
        """Compare the completion's final answer with ``reference`` (``"72"``, ``"#### 72"``, LaTeX)."""
        if reference is None or not str(reference).strip():
            return CheckResult(score=None, feedback="no reference answer: skipped")
        gold = gsm8k_gold(str(reference))
        pred = extract_answer(completion if isinstance(completion, str) else None, self.extract)
        if pred is None:
            return CheckResult(score=0.0, passed=False,
                               feedback=f"no final answer found (extract={self.extract})",
                               details={"extracted": None, "reference": gold})
        from math_verify import parse, verify

        # math-verify's timer is signal.alarm: whole seconds, main thread only.
        on_main = threading.current_thread() is threading.main_thread()
        timeout = max(1, math.ceil(self.timeout_s)) if on_main else None
        gold_parsed = parse(_wrap(gold), parsing_timeout=timeout)
        pred_parsed = parse(_wrap(pred), parsing_timeout=timeout)
        details = {"extracted": pred, "reference": gold}
        if not gold_parsed:
            return CheckResult(score=None, feedback=f"reference {gold!r} could not be parsed: skipped",
                               details=details)
        ok = bool(pred_parsed) and verify(gold_parsed, pred_parsed, timeout_seconds=timeout)
        if ok and not _numbers_agree(gold_parsed[0], pred_parsed[0]):
            ok = False
            details["rounding_guard"] = "math-verify said equal after rounding; the numbers differ"
        feedback = f"answer {pred!r} {'equals' if ok else 'does not equal'} the reference {gold!r}"
        return CheckResult(score=1.0 if ok else 0.0, passed=ok, feedback=feedback, details=details)
