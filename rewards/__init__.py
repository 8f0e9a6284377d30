"""Composable reward checkers (imported as ``latentseek_agents.rewards``).

Every checker returns a :class:`CheckResult` with a score in [0, 1] (or None = skip), never raises
for bad model output, is picklable, and is also a TRL-style reward function
(``checker(completions, prompts=None, **kwargs) -> list[float | None]``).

Example:
    >>> from latentseek_agents.rewards import MathAnswer, gate, weighted
    >>> MathAnswer().check("... \\\\boxed{72}", reference="72").score
    1.0
"""

from latentseek_agents.scoring import Checker, CheckResult

from .adapters import as_dspy_metric, as_dspy_reward_fn, from_callable, from_dspy_metric, from_trl
from .base import BaseChecker
from .combine import AllOf, AnyOf, Gate, Weighted, all_of, any_of, gate, weighted
from .doc_examples import DocstringExamples, docstring_tests
from .judges import as_judge_backend
from .llm_judge import LLMJudge
from .math_answer import MathAnswer
from .sandbox import SandboxLimits, isolation_level, run_in_sandbox
from .self_judge import SELF_JUDGE_CHECKS, JudgeCheck, SelfJudge, parse_verdict
from .unit_tests import UnitTests, extract_code, split_tests
from .vote_agreement import VoteAgreement

__all__ = [
    "AllOf",
    "AnyOf",
    "BaseChecker",
    "CheckResult",
    "Checker",
    "DocstringExamples",
    "Gate",
    "JudgeCheck",
    "LLMJudge",
    "MathAnswer",
    "SELF_JUDGE_CHECKS",
    "SandboxLimits",
    "SelfJudge",
    "UnitTests",
    "VoteAgreement",
    "Weighted",
    "all_of",
    "any_of",
    "as_dspy_metric",
    "as_dspy_reward_fn",
    "as_judge_backend",
    "docstring_tests",
    "extract_code",
    "from_callable",
    "from_dspy_metric",
    "from_trl",
    "gate",
    "isolation_level",
    "parse_verdict",
    "run_in_sandbox",
    "split_tests",
    "weighted",
]
