"""Composable reward checkers (imported as ``latentseek_agents.rewards``).

Every checker returns a :class:`CheckResult` with a score in [0, 1] (or None = skip) and is also a
TRL-style reward function (``checker(completions, prompts=None, **kwargs) -> list[float | None]``).

Example:
    >>> from latentseek_agents.rewards import MathAnswer
    >>> MathAnswer().check("... \\\\boxed{72}", reference="72").score
    1.0
"""

from latentseek_agents.scoring import CheckResult, Checker

from .base import BaseChecker
from .math_answer import MathAnswer
from .self_judge import SELF_JUDGE_CHECKS, JudgeCheck, SelfJudge, parse_verdict

__all__ = [
    "BaseChecker",
    "CheckResult",
    "Checker",
    "JudgeCheck",
    "MathAnswer",
    "SELF_JUDGE_CHECKS",
    "SelfJudge",
    "parse_verdict",
]
