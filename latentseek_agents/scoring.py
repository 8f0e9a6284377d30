"""Core reward types shared by the engine and ``latentseek_agents.rewards``.

A reward is either a *checker* (an object with ``check(completion, *, prompt=None,
reference=None, **ctx) -> CheckResult``) or a plain callable
``fn(completion, **context) -> float | CheckResult``. Scores lie in [0, 1] (the TRL / DSPy
convention); the engine optimizes with ``R = score - 1`` (the paper's [-1, 0] scale).

:func:`score_completion` is the one place where the engine calls a reward: it never raises,
records errors and time-outs, and clamps and flags out-of-range or NaN scores.
:func:`score_completions` scores several completions the same way, in one call when the reward
has a ``check_batch`` method (model-backed judges: one batched generation instead of one each).
"""

from __future__ import annotations

import inspect
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, SupportsFloat, TypeGuard, runtime_checkable

from .cancel import Cancelled, active_scopes, cancel_scope, check_cancelled, within_scopes

__all__ = [
    "DECODED_TOKENS",
    "CheckResult",
    "Checker",
    "RewardLike",
    "as_check_fn",
    "coerce_result",
    "score_completion",
    "score_completions",
]

DECODED_TOKENS = "decoded_tokens"  # the details key of the tokens a check decoded (budgets count them)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check.

    Attributes:
        score: in [0, 1], or None meaning "skip / not applicable" (as in TRL).
        passed: the checker's own verdict, if it has one.
        feedback: a human-readable explanation (used by self-refinement and DSPy's GEPA).
        details: per-part results, extracted answers, timings; a reward that decodes with a model (a
            judge's replies, a vote's samples) says how many tokens under :data:`DECODED_TOKENS`.
        error: set when the check itself failed (exception, time-out, bad value).

    Example:
        >>> CheckResult(score=1.0, passed=True, feedback="42 == 42").score
        1.0
    """

    score: float | None
    passed: bool | None = None
    feedback: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None

    @classmethod
    def failure(cls, error: str, **details: Any) -> CheckResult:
        """A failed check (score 0) caused by ``error``."""
        return cls(score=0.0, passed=False, feedback=error, details=details, error=error)


@runtime_checkable
class Checker(Protocol):
    """What the engine and the integrations accept as a reward."""

    def check(self, completion: str, *, prompt: Any = None, reference: Any = None, **ctx: Any) -> CheckResult:
        """Score one completion."""
        ...


RewardLike = Checker | Callable[..., Any]


def coerce_result(value: Any) -> CheckResult:
    """Turn what a reward returned (float, bool, None, CheckResult, object with .score) into a CheckResult.

    Example:
        >>> coerce_result(True).score
        1.0
    """
    if isinstance(value, CheckResult):
        return value
    if value is None:
        return CheckResult(score=None)
    if isinstance(value, bool):
        return CheckResult(score=float(value), passed=value)
    if _is_real(value):
        return CheckResult(score=float(value))
    # Objects with a .score attribute (e.g. dspy.Prediction(score=..., feedback=...)).
    score = getattr(value, "score", None)
    if _is_real(score) and not isinstance(score, bool):
        return CheckResult(score=float(score), feedback=str(getattr(value, "feedback", "") or ""))
    raise TypeError(
        f"a reward must return a float in [0, 1], a bool, None or a CheckResult, got {type(value).__name__}"
    )


def _is_real(value: Any) -> TypeGuard[SupportsFloat]:
    """A real number of any kind (int, float, numpy scalar, 0-d tensor, Decimal, Fraction), not text."""
    if isinstance(value, (str, bytes)) or value is None:
        return False
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return hasattr(value, "__float__")


def as_check_fn(reward: RewardLike) -> Callable[..., CheckResult]:
    """Turn a checker or a plain callable into ``fn(completion, **context) -> CheckResult``.

    Context keys the callable does not accept are not passed (so ``lambda text: ...`` works).

    Example:
        >>> fn = as_check_fn(lambda text: float("42" in text))
        >>> fn("it is 42", prompt="q", reference="42").score
        1.0
    """
    check = getattr(reward, "check", None)
    if callable(check):
        target = check
    elif callable(reward):
        target = reward
    else:
        raise TypeError(
            f"reward must be a checker (with .check) or a callable fn(completion, **context), "
            f"got {type(reward).__name__}"
        )
    try:
        params = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature
        params = None
    if params is None or any(p.kind is p.VAR_KEYWORD for p in params):
        accepted = None
    else:
        accepted = {p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}

    def fn(completion: str, **context: Any) -> CheckResult:
        if accepted is not None:
            context = {k: v for k, v in context.items() if k in accepted}
        return coerce_result(target(completion, **context))

    return fn


def _well_formed(result: CheckResult) -> CheckResult:
    """A CheckResult whose fields have their declared types (a checker may build one carelessly):
    details a mapping, feedback and error strings, passed a bool or None, score a float or None."""
    changes: dict[str, Any] = {}
    if not isinstance(result.details, Mapping):
        changes["details"] = {} if result.details is None else {"raw_details": repr(result.details)[:2000]}
    if not isinstance(result.feedback, str):
        changes["feedback"] = "" if result.feedback is None else str(result.feedback)
    if result.error is not None and not isinstance(result.error, str):
        changes["error"] = str(result.error)
    if result.passed is not None and not isinstance(result.passed, bool):
        changes["passed"] = bool(result.passed)
    if result.score is not None and type(result.score) is not float:
        if isinstance(result.score, bool) or not _is_real(result.score):
            raise TypeError(f"a CheckResult score must be a real number or None, got {type(result.score).__name__}")
        changes["score"] = float(result.score)
    return replace(result, **changes) if changes else result


def _validated(result: CheckResult) -> CheckResult:
    """Clamp-and-flag scores that are NaN or outside [0, 1] (never a silent wrong value)."""
    result = _well_formed(result)
    score = result.score
    if score is None:
        return result
    if not math.isfinite(score):
        flag = f"reward returned a non-finite score ({score}); counted as 0"
        return replace(result, score=0.0, passed=False, error=result.error or flag,
                       details={**result.details, "score_flag": flag, "raw_score": score})
    if not 0.0 <= score <= 1.0:
        clamped = min(1.0, max(0.0, score))
        flag = f"reward returned {score}, outside [0, 1]; clamped to {clamped}"
        return replace(result, score=clamped, details={**result.details, "score_flag": flag, "raw_score": score})
    return result


# Reward calls still running after their time-out. A model-backed reward stops at its next decoding
# step (cooperative cancellation); other code can't be stopped from outside a thread, so at most
# this many may linger before new reward calls are refused (each refusal is a recorded failure).
MAX_LINGERING_REWARDS = 8
_lingering = threading.Semaphore(MAX_LINGERING_REWARDS)


def _run_with_timeout(fn: Callable[[], CheckResult], timeout_s: float) -> CheckResult:
    if not _lingering.acquire(blocking=False):
        return CheckResult.failure(f"not run: {MAX_LINGERING_REWARDS} timed-out reward calls are still running")
    box: dict[str, Any] = {}
    deadline = time.monotonic() + timeout_s
    inherited = active_scopes()  # the caller's cancel event (a closed stream) reaches the reward's thread

    def target() -> None:
        try:
            with within_scopes(inherited), cancel_scope(deadline=deadline):
                box["result"] = fn()
        except BaseException as exc:  # noqa: BLE001 - recorded, never lost
            box["error"] = exc
        finally:
            _lingering.release()

    worker = threading.Thread(target=target, name="latentseek-reward", daemon=True)
    worker.start()
    worker.join(timeout_s)
    check_cancelled()  # the caller was cancelled: the search stops here, not as a timed-out reward
    if worker.is_alive() or isinstance(box.get("error"), Cancelled):  # stopped itself at the deadline
        return CheckResult.failure(f"reward timed out after {timeout_s:g} s")
    if "error" in box:
        raise box["error"]
    return box["result"]


def score_completion(
    check_fn: Callable[..., CheckResult],
    completion: str,
    *,
    timeout_s: float | None = None,
    **context: Any,
) -> tuple[CheckResult, float]:
    """Run one reward call safely; return ``(result, seconds)``. Never raises for reward faults.

    Example:
        >>> result, _ = score_completion(as_check_fn(lambda text: 1 / 0), "x")
        >>> result.score, result.error
        (0.0, 'reward raised ZeroDivisionError: division by zero')
    """
    start = time.perf_counter()
    try:
        if timeout_s is None:
            result = check_fn(completion, **context)
        else:
            result = _run_with_timeout(lambda: check_fn(completion, **context), timeout_s)
        result = _validated(result)
    except Cancelled:
        raise  # the caller stopped the search: not a fault of the reward
    except Exception as exc:  # noqa: BLE001 - a failing reward must not lose the run
        result = CheckResult.failure(f"reward raised {type(exc).__name__}: {exc}")
    return result, time.perf_counter() - start


def score_completions(
    reward: RewardLike,
    completions: Sequence[str],
    contexts: Sequence[Mapping[str, Any]],
    *,
    timeout_s: float | None = None,
) -> list[tuple[CheckResult, float]]:
    """Score several completions, each with its own context; never raises for reward faults.

    A reward with ``check_batch(completions, prompts=..., references=...)`` gets one call for
    all of them (their time is shared out equally; a time-out bounds the batch at
    ``timeout_s`` per completion); if that call raises or returns the wrong number of results,
    each completion is scored alone instead. Other rewards are called once per completion.

    Example:
        >>> results = score_completions(lambda text, reference: float(reference in text),
        ...                             ["it is 42", "no"], [{"reference": "42"}, {"reference": "42"}])
        >>> [r.score for r, _ in results]
        [1.0, 0.0]
    """
    if len(completions) != len(contexts):
        raise ValueError(f"got {len(completions)} completions and {len(contexts)} contexts")
    check_fn = as_check_fn(reward)
    batch = getattr(reward, "check_batch", None)
    if callable(batch) and len(completions) > 1:
        start = time.perf_counter()
        call = lambda: batch(list(completions), prompts=[c.get("prompt") for c in contexts],  # noqa: E731
                             references=[c.get("reference") for c in contexts])
        try:
            results = call() if timeout_s is None else _run_with_timeout(call, timeout_s * len(completions))
        except Cancelled:
            raise
        except Exception:  # noqa: BLE001 - fall back to scoring one by one, each fault recorded there
            results = None
        if isinstance(results, CheckResult) and results.error:  # the batch timed out
            seconds = (time.perf_counter() - start) / len(completions)
            return [(results, seconds)] * len(completions)
        if isinstance(results, Sequence) and len(results) == len(completions):
            try:
                checked = [_validated(coerce_result(r)) for r in results]
            except Exception:  # noqa: BLE001 - a wrong result type: score one by one
                checked = None
            if checked is not None:
                seconds = (time.perf_counter() - start) / len(completions)
                return [(r, seconds) for r in checked]
    return [score_completion(check_fn, text, timeout_s=timeout_s, **context)
            for text, context in zip(completions, contexts)]
