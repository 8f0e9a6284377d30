"""Adapters between checkers and the reward shapes of DSPy, TRL and plain callables.

* :func:`as_dspy_metric`: a checker as a DSPy metric ``metric(example, pred, trace=None)`` (a score
  for ``Evaluate``; a bool against ``threshold`` when optimizers pass ``trace``) that also accepts
  GEPA's five-argument form and then returns ``dspy.Prediction(score=..., feedback=...)``.
* :func:`as_dspy_reward_fn`: a checker as ``reward_fn(args, pred) -> float`` for ``dspy.Refine`` /
  ``dspy.BestOfN`` / ``LatentSeekModule``.
* :func:`from_dspy_metric`, :func:`from_trl`, :func:`from_callable`: the other way round.

DSPy is imported only when a DSPy object must be built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Any

from latentseek_agents.scoring import CheckResult, RewardLike, as_check_fn, coerce_result

from .base import BaseChecker

__all__ = ["as_dspy_metric", "as_dspy_reward_fn", "from_dspy_metric", "from_trl", "from_callable",
           "DSPyMetric", "DSPyRewardFn", "FromDSPyMetric", "FromTRL", "FromCallable"]


def _field(obj: Any, name: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


class DSPyMetric:
    """A checker as a DSPy metric (see :func:`as_dspy_metric`)."""

    def __init__(self, checker: RewardLike, gold_field: str, pred_field: str, question_field: str,
                 threshold: float) -> None:
        self.checker = checker
        self.gold_field, self.pred_field, self.question_field = gold_field, pred_field, question_field
        self.threshold = threshold
        self.__name__ = f"{type(checker).__name__}_metric"

    def result(self, example: Any, pred: Any) -> CheckResult:
        """The checker's full result for one (example, prediction) pair."""
        completion = _field(pred, self.pred_field)
        return as_check_fn(self.checker)("" if completion is None else str(completion),
                                         prompt=_field(example, self.question_field),
                                         reference=_field(example, self.gold_field))

    def __call__(self, example: Any, pred: Any, trace: Any = None, pred_name: Any = None,
                 pred_trace: Any = None) -> Any:
        result = self.result(example, pred)
        score = 0.0 if result.score is None else float(result.score)
        if pred_name is not None or pred_trace is not None:  # GEPA's feedback metric
            import dspy

            return dspy.Prediction(score=score, feedback=result.feedback)
        if trace is not None:  # optimizers ask "good enough to keep as a demo?"
            return score >= self.threshold
        return score


def as_dspy_metric(checker: RewardLike, *, gold_field: str = "answer", pred_field: str = "answer",
                   question_field: str = "question", threshold: float = 1.0) -> DSPyMetric:
    """Use a checker as a DSPy metric.

    Example:
        >>> from latentseek_agents.rewards import MathAnswer
        >>> metric = as_dspy_metric(MathAnswer(extract="auto"))
        >>> metric({"question": "2+2?", "answer": "4"}, {"answer": "The answer is 4"})
        1.0
    """
    return DSPyMetric(checker, gold_field, pred_field, question_field, threshold)


class DSPyRewardFn:
    """A checker as ``reward_fn(args, pred) -> float`` (see :func:`as_dspy_reward_fn`)."""

    def __init__(self, checker: RewardLike, pred_field: str, question_field: str,
                 reference: Any = None, reference_field: str | None = None) -> None:
        self.checker = checker
        self.pred_field, self.question_field = pred_field, question_field
        self.reference, self.reference_field = reference, reference_field

    def __call__(self, args: Mapping[str, Any], pred: Any) -> float:
        reference = args.get(self.reference_field) if self.reference_field else self.reference
        completion = _field(pred, self.pred_field)
        result = as_check_fn(self.checker)("" if completion is None else str(completion),
                                           prompt=args.get(self.question_field), reference=reference)
        return 0.0 if result.score is None else float(result.score)


def as_dspy_reward_fn(checker: RewardLike, *, pred_field: str = "answer", question_field: str = "question",
                      reference: Any = None, reference_field: str | None = None) -> DSPyRewardFn:
    """Use a checker as ``dspy.Refine`` / ``dspy.BestOfN`` ``reward_fn(args, pred)``.

    Example:
        >>> fn = as_dspy_reward_fn(lambda text: float("4" in text))
        >>> fn({"question": "2+2?"}, {"answer": "4"})
        1.0
    """
    return DSPyRewardFn(checker, pred_field, question_field, reference, reference_field)


class FromDSPyMetric(BaseChecker):
    """A DSPy metric as a checker (see :func:`from_dspy_metric`)."""

    def __init__(self, metric: Callable[..., Any], gold_field: str, pred_field: str, question_field: str) -> None:
        self.metric = metric
        self.gold_field, self.pred_field, self.question_field = gold_field, pred_field, question_field

    def check(self, completion: str, *, prompt: Any = None, reference: Any = None, **ctx: Any) -> CheckResult:
        fields_example = {self.question_field: prompt, self.gold_field: reference}
        try:
            import dspy

            example = dspy.Example(**fields_example).with_inputs(self.question_field)
            pred = dspy.Prediction(**{self.pred_field: completion})
        except ImportError:
            example, pred = SimpleNamespace(**fields_example), SimpleNamespace(**{self.pred_field: completion})
        return coerce_result(self.metric(example, pred))


def from_dspy_metric(metric: Callable[..., Any], *, gold_field: str = "answer", pred_field: str = "answer",
                     question_field: str = "question") -> FromDSPyMetric:
    """Use a DSPy metric ``metric(example, pred, trace=None)`` as a checker.

    Example:
        >>> check = from_dspy_metric(lambda ex, pred, trace=None: ex.answer == pred.answer)
        >>> check.check("4", reference="4").score
        1.0
    """
    return FromDSPyMetric(metric, gold_field, pred_field, question_field)


class FromTRL(BaseChecker):
    """A TRL reward function as a checker (see :func:`from_trl`)."""

    def __init__(self, fn: Callable[..., Any], reference_key: str) -> None:
        self.fn = fn
        self.reference_key = reference_key
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)

    def check(self, completion: str, *, prompt: Any = None, reference: Any = None, **ctx: Any) -> CheckResult:
        columns = {k: [v] for k, v in ctx.items() if k != "messages"}
        columns[self.reference_key] = [reference]
        values = self.fn(completions=[completion], prompts=[prompt], **columns)
        if not isinstance(values, (list, tuple)) or len(values) != 1:
            raise TypeError(f"a TRL reward function must return one value per completion, got {values!r:.80}")
        return coerce_result(values[0])


def from_trl(fn: Callable[..., Any], *, reference_key: str = "solution") -> FromTRL:
    """Use a TRL reward function ``fn(completions, prompts=None, **columns) -> list[float | None]``.

    Example:
        >>> def exact(completions, solution, **kwargs):
        ...     return [float(c.strip() == s) for c, s in zip(completions, solution)]
        >>> from_trl(exact).check("72", reference="72").score
        1.0
    """
    return FromTRL(fn, reference_key)


class FromCallable(BaseChecker):
    """A plain callable as a checker (see :func:`from_callable`)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {type(fn).__name__}")
        self.fn = fn
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)

    def check(self, completion: str, *, prompt: Any = None, reference: Any = None, **ctx: Any) -> CheckResult:
        return as_check_fn(self.fn)(completion, prompt=prompt, reference=reference, **ctx)


def from_callable(fn: Callable[..., Any]) -> FromCallable:
    """Use ``fn(completion, **context) -> float | bool | CheckResult`` as a checker.

    Example:
        >>> from_callable(lambda text: len(text) < 10)(["short", "much too long indeed"])
        [1.0, 0.0]
    """
    return FromCallable(fn)
