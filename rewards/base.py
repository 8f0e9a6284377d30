"""`BaseChecker`: the shared shape of every checker (``check`` plus the TRL reward-function call)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from latentseek_agents.scoring import CheckResult

__all__ = ["BaseChecker", "JUDGE_TOKENS", "MAX_CHECK_S", "MAX_JUDGE_TOKENS"]

MAX_CHECK_S = 3600.0  # the longest time bound any one check may be given
MAX_JUDGE_TOKENS = 32_768  # the largest reply budget of a judge
# The default reply budget of a local judge (SelfJudge, LLMJudge, the CLI, the harness). Measured on
# Qwen2.5-Coder-1.5B-Instruct (cookbook/results/qwen_coder_1p5b_self_judge.md): every SelfJudge reply on
# 32 GSM8K answers ended within 380 tokens; the share with a verdict is 86.7 % at 128, 89.1 % at 256 and
# 89.8 % at 512 and 1024 (the rest end without one and use the verdict-token probabilities).
JUDGE_TOKENS = 512


class BaseChecker:
    """Base class of the checkers: subclasses implement :meth:`check`.

    Instances are also TRL reward functions: ``checker(completions, prompts=None, **kwargs)``
    returns one ``float | None`` per completion (``None`` = skip), reading per-row columns such as
    ``reference`` / ``solution`` / ``answer`` from ``kwargs`` as TRL passes them.

    Example:
        >>> class Contains(BaseChecker):
        ...     def check(self, completion, *, prompt=None, reference=None, **ctx):
        ...         return CheckResult(score=float(str(reference) in completion))
        >>> Contains()(["it is 42", "no"], reference=["42", "42"])
        [1.0, 0.0]
    """

    def check(self, completion: str, *, prompt: Any = None, reference: Any = None, **ctx: Any) -> CheckResult:
        """Score one completion."""
        raise NotImplementedError

    def __call__(self, completions: Sequence[Any], prompts: Sequence[Any] | None = None,
                 **kwargs: Any) -> list[float | None]:
        """TRL reward-function form: a list of completions in, a list of scores out."""
        if isinstance(completions, str):
            raise TypeError("checkers are called with a list of completions; use .check(text) for one")
        references = kwargs.pop("reference", None) or kwargs.pop("solution", None) or kwargs.pop("answer", None)
        scores: list[float | None] = []
        for i, completion in enumerate(completions):
            text = _completion_text(completion)
            row = {k: v[i] for k, v in kwargs.items() if isinstance(v, Sequence) and not isinstance(v, str)
                   and len(v) == len(completions)}
            prompt = prompts[i] if prompts is not None else None
            reference = references[i] if references is not None else None
            scores.append(self.check(text, prompt=prompt, reference=reference, **row).score)
        return scores


def _completion_text(completion: Any) -> str:
    """TRL passes conversational completions as ``[{"role": "assistant", "content": ...}]``."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Sequence) and completion and isinstance(completion[-1], dict):
        return str(completion[-1].get("content", ""))
    return str(completion)
