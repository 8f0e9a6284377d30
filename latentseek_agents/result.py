"""`Attempt` and `SeekResult`: what one LatentSeek run returns, JSON-serialisable."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Attempt", "SearchEvent", "SeekResult", "STOP_REASONS", "choose"]

STOP_REASONS = ("threshold", "max_iters", "no_latents", "reward_skipped", "decided")


@dataclass
class Attempt:
    """One scored answer: the first chain of thought (iteration 0) or a latent update's decode.

    Attributes:
        iteration: 0 for the first answer, k for the answer after the k-th latent update.
        text: the completion (special tokens removed).
        score: reward score in [0, 1] (0 when the reward failed).
        passed: whether ``score`` is above the configured threshold.
        feedback: the reward's feedback text.
        error: the reward's error (exception, time-out, NaN), if any.
        tokens: number of tokens generated for this attempt (the stop token included).
        truncated: the answer used its whole token budget without a stop token (OpenAI's
            ``finish_reason="length"``).
        prefix_tokens: number of tokens decoded from optimized latents (0 for iteration 0).
        changed_positions: how many of those prefix tokens differ from the previous attempt's.
        seconds: wall time of this attempt; split into generate / update / reward seconds.
        details: the reward's details (per-check results, extracted answers...).
    """

    iteration: int
    text: str
    score: float
    passed: bool
    feedback: str = ""
    error: str | None = None
    tokens: int = 0
    truncated: bool = False
    prefix_tokens: int = 0
    changed_positions: int = 0
    seconds: float = 0.0
    generate_seconds: float = 0.0
    update_seconds: float = 0.0
    reward_seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (details values that are not JSON types become strings)."""
        data = asdict(self)
        data["details"] = _jsonable(self.details)
        return data

    @property
    def skipped(self) -> bool:
        """The reward skipped this answer (its ``score`` is then 0 by convention)."""
        return bool(self.details.get("skipped"))

    def summary(self) -> dict[str, Any]:
        """The plain projection every front end reports (server, LangChain metadata, DSPy): no text,
        feedback cut to 300 characters, ``score`` None when the reward skipped.

        Example:
            >>> Attempt(iteration=1, text="x", score=0.5, passed=False, tokens=9).summary()["tokens"]
            9
        """
        return {"iteration": self.iteration, "score": None if self.skipped else self.score, "passed": self.passed,
                "skipped": self.skipped, "tokens": self.tokens, "prefix_tokens": self.prefix_tokens,
                "changed_positions": self.changed_positions, "feedback": self.feedback[:300], "error": self.error,
                "seconds": round(self.seconds, 3), "generate_seconds": round(self.generate_seconds, 3),
                "update_seconds": round(self.update_seconds, 3), "reward_seconds": round(self.reward_seconds, 3)}


def choose(attempts: Sequence[Any], select: str = "first_pass", budget: int | None = None) -> int:
    """The one rule for which attempt is returned: its index among ``attempts`` (anything with
    ``.score`` and ``.passed``), looking at the first ``budget + 1`` only when a budget is given.

    ``"first_pass"``: the first that passed, else the last seen (the paper); ``"best"``: the highest
    score, the earliest on ties.

    Example:
        >>> from types import SimpleNamespace as A
        >>> tries = [A(score=0.2, passed=False), A(score=0.9, passed=True), A(score=1.0, passed=True)]
        >>> choose(tries), choose(tries, "best"), choose(tries, budget=0)
        (1, 2, 0)
    """
    if not attempts:
        raise ValueError("there is no attempt to choose from")
    seen = attempts if budget is None else attempts[: budget + 1]
    if select == "best":
        return max(range(len(seen)), key=lambda i: (seen[i].score, -i))
    if select == "first_pass":
        return next((i for i, a in enumerate(seen) if a.passed), len(seen) - 1)
    raise ValueError(f"select must be 'first_pass' or 'best', got {select!r}")


@dataclass
class SeekResult:
    """The outcome of ``LatentSeek.solve``.

    Attributes:
        answer: the final answer extracted from ``text`` (``\\boxed{}``, JSON "final answer",
            or "the answer is ..."), or None.
        text: the chosen completion.
        score: its reward score in [0, 1].
        iterations: rounds after the first answer: latent updates (a round of a population or of a
            group of samples counts once), or, for BestOfN / SelfConsistency, samples after the first
            (0 = the first answer already passed or none was possible).
        trace: every attempt, iteration 0 first.
        stop_reason: ``"threshold"`` (a score passed), ``"max_iters"`` (budget spent),
            ``"no_latents"`` (the first answer was too short to optimize) or ``"reward_skipped"``
            (the reward skipped the first answer, e.g. a math check without a reference: there
            is nothing to optimize against), or, for ``SelfConsistency(stop_when_decided=True)``,
            ``"decided"`` (the remaining samples could not change the vote's winner).
        prompt_tokens: tokens of the rendered prompt.
        seconds: wall time of the whole solve.
        chosen: index in ``trace`` of the returned attempt (see :func:`choose`).

    Example:
        >>> r = SeekResult(answer="42", text="\\\\boxed{42}", score=1.0, iterations=0,
        ...                trace=[], stop_reason="threshold")
        >>> r.to_dict()["answer"]
        '42'
    """

    answer: str | None
    text: str
    score: float
    iterations: int
    trace: list[Attempt]
    stop_reason: str
    prompt_tokens: int = 0
    seconds: float = 0.0
    chosen: int = -1

    @property
    def chosen_attempt(self) -> Attempt | None:
        """The returned attempt (the one ``text`` comes from)."""
        return self.trace[self.chosen] if self.trace else None

    @property
    def first(self) -> Attempt | None:
        """The first chain-of-thought attempt (the baseline), if any."""
        return self.trace[0] if self.trace else None

    @property
    def generated_tokens(self) -> int:
        """Tokens generated over all attempts."""
        return sum(a.tokens for a in self.trace)

    def to_dict(self) -> dict[str, Any]:
        """All fields as one JSON-serialisable dict (what ``latentseek solve --json`` prints)."""
        return {
            "answer": self.answer,
            "text": self.text,
            "score": self.score,
            "iterations": self.iterations,
            "stop_reason": self.stop_reason,
            "prompt_tokens": self.prompt_tokens,
            "generated_tokens": self.generated_tokens,
            "seconds": self.seconds,
            "chosen": self.chosen,
            "trace": [a.to_dict() for a in self.trace],
        }

    def summary(self) -> dict[str, Any]:
        """What the search did, as the plain dict every front end reports (the server's ``latentseek``
        object, ChatLatentSeek's ``response_metadata["latentseek"]``): no texts, one
        :meth:`Attempt.summary` per attempt.

        Example:
            >>> r = SeekResult(answer="5", text="5", score=1.0, iterations=0, stop_reason="threshold", chosen=0,
            ...                trace=[Attempt(iteration=0, text="5", score=1.0, passed=True, tokens=3)])
            >>> r.summary()["scores"], r.summary()["stop_reason"]
            ([1.0], 'threshold')
        """
        return {"answer": self.answer, "score": self.score, "iterations": self.iterations,
                "stop_reason": self.stop_reason, "chosen": self.chosen, "scores": [a.score for a in self.trace],
                "errors": [a.error for a in self.trace if a.error], "prompt_tokens": self.prompt_tokens,
                "generated_tokens": self.generated_tokens, "attempts": [a.summary() for a in self.trace]}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


@dataclass(frozen=True)
class SearchEvent:
    """One step of :meth:`LatentSeek.iter_solve`'s stream.

    Attributes:
        kind: ``"attempt"`` (a scored attempt of problem ``index``), ``"result"`` (its final answer)
            or ``"error"`` (it can't be run; only with ``iter_solve(..., return_exceptions=True)``).
        index: which problem, in the order given.
        attempt: the scored attempt (``kind == "attempt"``).
        result: the problem's :class:`SeekResult` (``kind == "result"``).
        error: why the problem can't be run (``kind == "error"``), a ``ValueError``.

    Example:
        >>> SearchEvent("attempt", 0).kind
        'attempt'
    """

    kind: str
    index: int
    attempt: Attempt | None = None
    result: SeekResult | None = None
    error: Exception | None = None
