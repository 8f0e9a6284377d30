"""One benchmark task (a method, a reward, a batch of problems) and the one function that runs it,
producing the one row type. Both executors (local, Ray) call :func:`run_task`; nothing here knows
how tasks are scheduled.

Example:
    >>> task = Task("cot", "oracle", [])
    >>> task.method, task.reward
    ('cot', 'oracle')
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..answers import extract_answer, last_boxed
from ..config import LatentSeekConfig
from ..scoring import CheckResult
from .data import BenchProblem
from .methods import MethodRun, run_method

__all__ = ["CODE_ONLY_REWARDS", "JUDGED_REWARDS", "REWARDS", "ROW_FIELDS", "SparseOracle", "Task", "failed_rows",
           "gold_checker", "make_reward", "make_row", "run_task"]

# self: SelfJudge (the paper's self-reward); self_boxed: the same behind a format gate (no \boxed{}
# answer scores 0, like the paper's format reward on some Prompt-1 runs); oracle: the gold check,
# saying right or wrong only (SparseOracle); examples (code only): the examples in the prompt's
# docstring run as unit tests (what a user has); self_sampled: SelfJudge counting each check by the
# share of JUDGE_SAMPLES sampled replies that pass; vote: VoteAgreement with VOTE_SAMPLES samples of
# the problem (no gold, no judge).
REWARDS = ("self", "self_boxed", "self_sampled", "vote", "oracle", "examples")
CODE_ONLY_REWARDS = ("examples",)
JUDGED_REWARDS = ("self", "self_boxed", "self_sampled")  # the rewards a judge budget changes
JUDGE_SAMPLES = 4
VOTE_SAMPLES = 4

# Every row has these fields (a failed row too, with empty values); the runner adds "settings".
_EMPTY: dict[str, Any] = {
    "correct": False, "first_correct": False, "answer": None, "attempts": 0, "chosen": 0, "tokens": 0,
    "tokens_each": [], "reward_tokens": 0,
    "generate_s": 0.0, "update_s": 0.0, "reward_s": 0.0, "scores": [], "answers": [], "correct_each": [],
    "correct_at": [False], "errors": [], "flipped": [], "judge_paths": {}, "failed": False, "error": None,
}
ROW_FIELDS = ("id", "method", "reward", "gold", *_EMPTY)


@dataclass(frozen=True)
class Task:
    """A batch of problems for one method under one reward."""

    method: str
    reward: str
    problems: Sequence[BenchProblem]


def gold_checker(kind: str, allow_code_execution: bool) -> Any:
    """The gold-answer check for a problem kind (also the ``oracle`` reward)."""
    from ..rewards import MathAnswer, UnitTests

    if kind == "code":
        return UnitTests(allow_execution=allow_code_execution, timeout_s=10.0)
    return MathAnswer(extract="auto")


class SparseOracle:
    """The gold check as a reward that says only right or wrong (the paper's "perfect sparse reward").

    Its score and verdict are the gold check's; its feedback names no reference answer and no hidden
    test, and its details are dropped, so ``self_refine`` is told that an answer is wrong, never what
    the right one is (the gold check's own feedback, "answer '8' does not equal the reference '48'",
    would hand it the answer).

    Example:
        >>> from latentseek_agents.rewards import MathAnswer
        >>> SparseOracle(MathAnswer()).check("so \\boxed{8}", reference="48").feedback
        'the final answer is wrong'
    """

    WRONG = {"math": "the final answer is wrong", "code": "the function fails the tests"}

    def __init__(self, gold: Any, kind: str = "math") -> None:
        if kind not in self.WRONG:
            raise ValueError(f"kind must be one of {tuple(self.WRONG)}, got {kind!r}")
        self.gold, self.kind = gold, kind

    def check(self, completion: str, *, prompt: Any = None, reference: Any = None, **ctx: Any) -> CheckResult:
        """The gold check's score and verdict, with feedback that gives nothing away."""
        result = self.gold.check(completion, prompt=prompt, reference=reference, **ctx)
        if result.score is None:  # skipped (no reference): nothing to hide, nothing to say
            return replace(result, details={})
        feedback = "the answer is right" if result.passed else self.WRONG[self.kind]
        return replace(result, feedback=feedback, details={})


def make_reward(name: str, lm: Any, gold: Any, judge_tokens: int, allow_code_execution: bool = False,
                kind: str = "math", answer_tokens: int = 1024) -> Any:
    """The reward called ``name`` (see :data:`REWARDS`) on model ``lm``; ``gold`` is the gold check;
    ``answer_tokens`` the budget of a vote's samples (the methods' own)."""
    from ..rewards import DocstringExamples, SelfJudge, VoteAgreement, gate

    if name == "oracle":
        return SparseOracle(gold, kind)
    if name == "examples":
        return DocstringExamples(allow_execution=allow_code_execution, timeout_s=10.0)
    if name == "vote":
        return VoteAgreement(lm, samples=VOTE_SAMPLES, max_new_tokens=answer_tokens)
    if name == "self_sampled":
        return SelfJudge(lm, max_new_tokens=judge_tokens, samples=JUDGE_SAMPLES)  # at SAMPLE_TEMPERATURE
    judge = SelfJudge(lm, max_new_tokens=judge_tokens)
    if name == "self_boxed":
        return gate(lambda text: last_boxed(text) is not None, then=judge)
    return judge


def _row(problem: BenchProblem, method: str, reward: str, **values: Any) -> dict[str, Any]:
    row = {"id": problem.id, "method": method, "reward": reward,
           "gold": problem.gold if problem.kind == "math" else problem.id, **_EMPTY}
    row.update(values)
    return row


def make_row(problem: BenchProblem, method: str, reward: str, run: MethodRun,
             config: LatentSeekConfig) -> dict[str, Any]:
    """The JSON row of one method's run on one problem."""
    chosen = run.chosen()
    attempts = run.attempts
    answers = [extract_answer(text) for text in run.texts] if problem.kind == "math" else []
    return _row(
        problem, method, reward,
        correct=attempts[chosen].correct, first_correct=attempts[0].correct,
        answer=answers[chosen] if answers else None, answers=answers,
        attempts=len(attempts), chosen=chosen, tokens=sum(a.tokens for a in attempts),
        tokens_each=[a.tokens for a in attempts],
        reward_tokens=sum(a.reward_tokens for a in attempts),
        generate_s=sum(a.generate_seconds for a in attempts), update_s=sum(a.update_seconds for a in attempts),
        reward_s=sum(a.reward_seconds for a in attempts),
        scores=[round(a.score, 4) for a in attempts], correct_each=[a.correct for a in attempts],
        correct_at=[attempts[run.chosen(k)].correct for k in range(config.max_generations)],  # k extra generations
        errors=[a.error for a in attempts if a.error],
        flipped=[round(a.flipped, 4) for a in attempts if a.flipped is not None],
        judge_paths=dict(sum((Counter(a.judge_paths) for a in attempts), Counter())),
    )


def failed_rows(task: Task, error: str) -> list[dict[str, Any]]:
    """Rows recording that a task's problems could not be solved (counted as wrong; retried on re-run)."""
    return [_row(p, task.method, task.reward, failed=True, error=error, errors=[error]) for p in task.problems]


def run_task(lm: Any, task: Task, config: LatentSeekConfig, judge_tokens: int,
             allow_code_execution: bool) -> list[dict[str, Any]]:
    """Run one task on a loaded model: one row per problem."""
    gold = gold_checker(task.problems[0].kind, allow_code_execution)
    reward = make_reward(task.reward, lm, gold, judge_tokens, allow_code_execution, task.problems[0].kind,
                         answer_tokens=config.max_new_tokens)
    runs = run_method(task.method, lm, list(task.problems), reward, gold, config)
    return [make_row(p, task.method, task.reward, run, config) for p, run in zip(task.problems, runs)]
