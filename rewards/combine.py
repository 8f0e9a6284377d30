"""Combinators: build one checker from several, keeping each part's result in ``details``.

A part's ``None`` score means "skip" (as in TRL): it is left out of the combination; when every
part skips, the combination skips too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from latentseek_agents.scoring import CheckResult, RewardLike, as_check_fn

from .base import BaseChecker

__all__ = ["Weighted", "AllOf", "AnyOf", "Gate", "weighted", "all_of", "any_of", "gate"]


def _name(part: Any) -> str:
    return getattr(part, "__name__", None) or type(part).__name__


def _run(part: RewardLike, completion: str, prompt: Any, reference: Any, ctx: dict[str, Any]) -> CheckResult:
    try:
        return as_check_fn(part)(completion, prompt=prompt, reference=reference, **ctx)
    except Exception as exc:  # noqa: BLE001 - one failing part is a failed part, not a crash
        return CheckResult.failure(f"{_name(part)} raised {type(exc).__name__}: {exc}")


def _part_details(name: str, result: CheckResult, **extra: Any) -> dict[str, Any]:
    return {"name": name, "score": result.score, "passed": result.passed, "feedback": result.feedback,
            "error": result.error, **extra}


class Weighted(BaseChecker):
    """Weighted mean of the parts' scores (skipped parts left out); see :func:`weighted`."""

    def __init__(self, parts: Sequence[tuple[RewardLike, float]]) -> None:
        if not parts:
            raise ValueError("weighted needs at least one part")
        for _, weight in parts:
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
                raise ValueError(f"weights must be numbers >= 0, got {weight!r}")
        if not any(w > 0 for _, w in parts):
            raise ValueError("weighted needs at least one positive weight")
        self.parts = [(part, float(w)) for part, w in parts]

    def check(self, completion: str, *, prompt: Any = None, reference: Any = None, **ctx: Any) -> CheckResult:
        results = [(part, w, _run(part, completion, prompt, reference, ctx)) for part, w in self.parts]
        counted = [(w, r) for _, w, r in results if r.score is not None and w > 0]
        details = {"parts": [_part_details(_name(p), r, weight=w) for p, w, r in results]}
        if not counted:
            return CheckResult(score=None, feedback="every part skipped", details=details)
        total = sum(w for w, _ in counted)
        score = sum(w * (r.score or 0.0) for w, r in counted) / total
        feedback = "; ".join(f"{d['name']}: {d['feedback']}" for d in details["parts"] if d["feedback"])
        return CheckResult(score=score, passed=all(r.passed is not False for _, r in counted),
                           feedback=feedback, details=details)


class AllOf(BaseChecker):
    """Passes when every (non-skipped) part passes; score = the lowest part score."""

    def __init__(self, parts: Sequence[RewardLike]) -> None:
        if not parts:
            raise ValueError("all_of needs at least one part")
        self.parts = list(parts)

    def _combine(self, completion: str, prompt: Any, reference: Any, ctx: dict[str, Any], best: bool) -> CheckResult:
        results = [(part, _run(part, completion, prompt, reference, ctx)) for part in self.parts]
        counted = [r for _, r in results if r.score is not None]
        details = {"parts": [_part_details(_name(p), r) for p, r in results]}
        if not counted:
            return CheckResult(score=None, feedback="every part skipped", details=details)
        chosen = (max if best else min)(counted, key=lambda r: r.score or 0.0)  # every counted score is a float
        verdicts = [r.passed if r.passed is not None else (r.score or 0.0) >= 1.0 for r in counted]
        passed = any(verdicts) if best else all(verdicts)
        failing = [d for d in details["parts"] if d["score"] is not None and not d["passed"]]
        feedback = chosen.feedback if best else "; ".join(f"{d['name']}: {d['feedback']}" for d in failing)
        return CheckResult(score=chosen.score, passed=passed, feedback=feedback, details=details)

    def check(self, completion: str, *, prompt: Any = None, reference: Any = None, **ctx: Any) -> CheckResult:
        return self._combine(completion, prompt, reference, ctx, best=False)


class AnyOf(AllOf):
    """Passes when any (non-skipped) part passes; score = the highest part score."""

    def check(self, completion: str, *, prompt: Any = None, reference: Any = None, **ctx: Any) -> CheckResult:
        return self._combine(completion, prompt, reference, ctx, best=True)


class Gate(BaseChecker):
    """Run ``then`` only when the format check passes; otherwise score 0 with the format's feedback."""

    def __init__(self, fmt: RewardLike, then: RewardLike) -> None:
        self.fmt = fmt
        self.then = then

    def _format(self, completion: str, prompt: Any, reference: Any,
                ctx: dict[str, Any]) -> tuple[CheckResult | None, dict[str, Any]]:
        """(the failing result, details) when the format check fails, else (None, details)."""
        gate_result = _run(self.fmt, completion, prompt, reference, ctx)
        ok = gate_result.passed if gate_result.passed is not None else (gate_result.score or 0.0) >= 1.0
        details: dict[str, Any] = {"gate": _part_details(_name(self.fmt), gate_result)}
        if gate_result.score is not None and not ok:
            return CheckResult(score=0.0, passed=False, details=details,
                               feedback=f"format check failed: {gate_result.feedback}".rstrip(": ")), details
        return None, details

    def _passed_on(self, result: CheckResult, details: dict[str, Any]) -> CheckResult:
        details["then"] = _part_details(_name(self.then), result)
        return CheckResult(score=result.score, passed=result.passed, feedback=result.feedback,
                           details={**result.details, **details}, error=result.error)

    def check(self, completion: str, *, prompt: Any = None, reference: Any = None, **ctx: Any) -> CheckResult:
        failed, details = self._format(completion, prompt, reference, ctx)
        if failed is not None:
            return failed
        return self._passed_on(_run(self.then, completion, prompt, reference, ctx), details)

    def check_batch(self, completions: Sequence[str], *, prompts: Sequence[Any] | None = None,
                    references: Sequence[Any] | None = None) -> list[CheckResult]:
        """Gate each answer; the ones that pass go to ``then`` together (one batch if it batches)."""
        n = len(completions)
        prompts = list(prompts) if prompts is not None else [None] * n
        references = list(references) if references is not None else [None] * n
        results: list[CheckResult | None] = [None] * n
        through = []
        for i in range(n):
            results[i], details = self._format(completions[i], prompts[i], references[i], {})
            if results[i] is None:
                through.append((i, details))
        picked = [i for i, _ in through]
        batch = getattr(self.then, "check_batch", None)
        if picked and callable(batch):
            scored = batch([completions[i] for i in picked], prompts=[prompts[i] for i in picked],
                           references=[references[i] for i in picked])
        else:
            scored = [_run(self.then, completions[i], prompts[i], references[i], {}) for i in picked]
        for (i, details), result in zip(through, scored):
            results[i] = self._passed_on(result, details)
        return results  # type: ignore[return-value]


def weighted(*parts: RewardLike | tuple[RewardLike, float]) -> Weighted:
    """Weighted mean of checkers: ``weighted((math, 2.0), (judge, 1.0))`` or ``weighted(a, b)`` (equal).

    Example:
        >>> w = weighted((lambda t: 1.0, 3), (lambda t: 0.0, 1))
        >>> w.check("x").score
        0.75
    """
    pairs = [p if isinstance(p, tuple) else (p, 1.0) for p in parts]
    return Weighted(pairs)  # type: ignore[arg-type]


def all_of(*parts: RewardLike) -> AllOf:
    """Every part must pass; the score is the lowest.

    Example:
        >>> all_of(lambda t: 1.0, lambda t: 0.5).check("x").score
        0.5
    """
    return AllOf(parts)


def any_of(*parts: RewardLike) -> AnyOf:
    """One passing part is enough; the score is the highest.

    Example:
        >>> any_of(lambda t: 1.0, lambda t: 0.5).check("x").passed
        True
    """
    return AnyOf(parts)


def gate(fmt: RewardLike, then: RewardLike) -> Gate:
    """Check the format first; only a well-formed answer is scored by ``then``.

    Example:
        >>> has_box = lambda t: "\\\\boxed{" in t
        >>> gate(has_box, then=lambda t: 1.0).check("42").score
        0.0
    """
    return Gate(fmt, then)
