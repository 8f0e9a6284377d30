"""The compared test-time methods, each at a budget of K+1 full generations per problem
(``config.max_generations``: more when the config gives LatentSeek a ``population`` or several
samples per step, so that every method gets what its latentseek run gets).

* ``cot``: one greedy chain of thought.
* ``best_of_n``: the greedy answer, then up to K samples at temperature 0.7; stop once the reward
  passes (or skips, as the engine does); return the best-scoring answer.
* ``self_consistency``: K+1 samples at temperature 0.7 (no greedy answer, no early stop: the
  reward is not consulted), the majority final answer wins, ties to the earliest (the paper's
  baseline).
* ``self_refine``: the greedy answer, then up to K revisions, each shown its last answer and the
  reward's feedback on it (like ``dspy.Refine``); stop once the reward passes.
* ``latentseek``: the greedy answer, then up to K latent updates (the engine, faithful settings
  unless changed).

Every method records, per attempt: reward score, whether it passed, whether it is correct against
the gold answer, tokens, and time split into generation / latent update / reward.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from ..answers import majority
from ..config import LatentSeekConfig
from ..prompts import build_messages, render_prompt
from ..result import Attempt, choose
from ..scoring import DECODED_TOKENS, as_check_fn, score_completion, score_completions
from .data import BenchProblem

__all__ = ["METHODS", "AttemptRecord", "MethodRun", "decoded_tokens", "judge_paths", "majority", "run_method"]

METHODS = ("cot", "best_of_n", "self_consistency", "self_refine", "latentseek")
ENGINE_METHODS = ("best_of_n", "self_consistency", "latentseek")  # run by the library's classes
REVISE = ("A checker reviewed your answer: {feedback}\nRevise your solution step by step and put your final "
          "answer within \\boxed{{}}.")
CODE_REVISE = "A checker ran the tests: {feedback}\nFix the function and answer with it in one ```python block."


@dataclass
class AttemptRecord:
    """One generation of a method for one problem, in the engine's vocabulary (:class:`Attempt`'s
    field names) plus whether it was right against the gold answer."""

    score: float
    passed: bool
    correct: bool
    tokens: int
    generate_seconds: float = 0.0
    update_seconds: float = 0.0
    reward_seconds: float = 0.0
    error: str | None = None
    feedback: str = ""
    prefix_tokens: int = 0  # latentseek: tokens decoded from the moved latents ...
    changed_positions: int = 0  # ... and how many of them this update changed
    judge_paths: dict[str, int] = field(default_factory=dict)  # how a judge's checks were decided (parsed...)
    reward_tokens: int = 0  # tokens the reward decoded to score this attempt (a judge's replies, a vote's samples)
    skipped: bool = False  # the reward skipped this answer (no reference, no example): no signal

    @classmethod
    def of(cls, attempt: Attempt, correct: bool) -> AttemptRecord:
        """The record of an engine attempt, through its one projection (:meth:`Attempt.summary`)."""
        summary = attempt.summary()
        shared = {f.name for f in fields(cls)} & set(summary) - {"score"}
        return cls(score=attempt.score, correct=correct, judge_paths=judge_paths(attempt.details),
                   reward_tokens=decoded_tokens(attempt.details), **{name: summary[name] for name in shared})

    @property
    def flipped(self) -> float | None:
        """Share of the optimized prefix tokens this update changed (None for a plain generation)."""
        return self.changed_positions / self.prefix_tokens if self.prefix_tokens else None


def judge_paths(details: Any) -> dict[str, int]:
    """How many of a judge's checks were decided by each path (``parsed``, ``probability``,
    ``missing``), read from a reward's details; empty for a reward that is not a judge or a cached result.

    Example:
        >>> judge_paths({"checks": {"a": {"path": "parsed"}, "b": {"path": "probability"}}})
        {'parsed': 1, 'probability': 1}
    """
    if not isinstance(details, dict) or details.get("cached") or not isinstance(details.get("checks"), dict):
        return {}
    paths = (check.get("path") for check in details["checks"].values() if isinstance(check, dict))
    return dict(Counter(path for path in paths if isinstance(path, str)))


def decoded_tokens(details: Any) -> int:
    """The tokens a reward decoded for one check, read from its details (:data:`DECODED_TOKENS`); 0 for
    a reward that decodes nothing and for a cached result (its tokens were counted where first decoded).

    Example:
        >>> decoded_tokens({"decoded_tokens": 812}), decoded_tokens({"decoded_tokens": 812, "cached": True})
        (812, 0)
    """
    if not isinstance(details, dict) or details.get("cached"):
        return 0
    value = details.get(DECODED_TOKENS, 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@dataclass
class MethodRun:
    """All attempts of one method on one problem, and how the method picks its answer."""

    attempts: list[AttemptRecord] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    pick: str = "first_pass"  # or "best", or "vote" (majority final answer)

    def chosen(self, budget: int | None = None) -> int:
        """Index of the answer returned with at most ``budget`` extra generations (None = all)."""
        if self.pick == "vote":
            seen = self.attempts if budget is None else self.attempts[: budget + 1]
            return majority(self.texts[: len(seen)])
        return choose(self.attempts, self.pick, budget)  # the engine's own rule


class _Scorer:
    """Reward and gold checks for a batch of problems (gold is never shown to the methods)."""

    def __init__(self, reward: Any, gold_check: Any, config: LatentSeekConfig) -> None:
        self.reward = reward
        self.gold = as_check_fn(gold_check)  # a checker object is called through .check, never as TRL's form
        self.config = config

    def correct(self, problem: BenchProblem, text: str) -> bool:
        """Whether ``text`` is right against the gold answer."""
        gold, _ = score_completion(self.gold, text, prompt=problem.question, reference=problem.gold)
        return gold.score == 1.0

    def __call__(self, problems: Sequence[BenchProblem], texts: Sequence[str], tokens: Sequence[int],
                 generate_seconds: float = 0.0) -> list[AttemptRecord]:
        contexts = [{"prompt": p.question, "reference": p.gold,
                     "messages": build_messages(p.problem, p.prompt_style(self.config.prompt_style))}
                    for p in problems]
        results = score_completions(self.reward, texts, contexts, timeout_s=self.config.reward_timeout_s)
        records = []
        for problem, text, n, (result, seconds) in zip(problems, texts, tokens, results):
            score = 0.0 if result.score is None else float(result.score)
            records.append(AttemptRecord(score=score, passed=self.config.passes(score),
                                         correct=self.correct(problem, text),
                                         tokens=n, reward_seconds=seconds, error=result.error,
                                         feedback=result.feedback, judge_paths=judge_paths(result.details),
                                         reward_tokens=decoded_tokens(result.details),
                                         skipped=result.score is None, generate_seconds=generate_seconds))
        return records


def _decode(lm: Any, messages: list[list[dict[str, str]]], budget: int) -> tuple[list[tuple[str, int]], float]:
    """Greedy answers to ``messages`` (cot, self_refine), with the generation time per answer."""
    from ..generation import generate

    start = time.perf_counter()
    gens = generate(lm, [render_prompt(lm.tokenizer, m) for m in messages], budget)
    per = (time.perf_counter() - start) / max(len(messages), 1)
    return [(lm.tokenizer.decode(g.tokens, skip_special_tokens=True), len(g.tokens)) for g in gens], per


def run_method(method: str, lm: Any, problems: Sequence[BenchProblem], reward: Any,
               gold_check: Any, config: LatentSeekConfig) -> list[MethodRun]:
    """Run ``method`` on a batch of problems, each with ``config.max_generations`` generations at most
    (K + 1 for K = ``config.max_iters``: the budget of a LatentSeek run with that config; best_of_n,
    self_consistency and latentseek through the library's :class:`~latentseek_agents.BestOfN`,
    :class:`~latentseek_agents.SelfConsistency` and :class:`~latentseek_agents.LatentSeek`)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    scorer = _Scorer(reward, gold_check, config)
    k, budget = config.max_generations - 1, config.max_new_tokens
    styles = [p.prompt_style(config.prompt_style) for p in problems]
    # the engine's select rule for latentseek (so the row reports the answer solve returned)
    pick = {"best_of_n": "best", "self_consistency": "vote", "latentseek": config.select}.get(method, "first_pass")
    runs = [MethodRun(pick=pick) for _ in problems]

    if method in ENGINE_METHODS:
        from ..sampling import BestOfN, SelfConsistency
        from ..seek import LatentSeek

        kind = {"latentseek": LatentSeek, "best_of_n": BestOfN, "self_consistency": SelfConsistency}[method]
        # The engine asks every problem of a batch in one style: a batch per style (one, usually).
        # Questions go in as text, so a judge sees the question, not the whole prompt.
        results: list[Any] = [None] * len(problems)
        for style in dict.fromkeys(styles):
            group = [i for i, s in enumerate(styles) if s == style]
            seeker = kind(lm, reward=reward, config=config.replace(prompt_style=style))
            solved = seeker.solve_batch([problems[i].problem for i in group], [problems[i].gold for i in group])
            for i, result in zip(group, solved):
                results[i] = result
        for run, problem, result in zip(runs, problems, results):
            for a in result.trace:
                run.attempts.append(AttemptRecord.of(a, scorer.correct(problem, a.text)))
                run.texts.append(a.text)
        return runs

    messages = [build_messages(p.problem, style) for p, style in zip(problems, styles)]
    first, per = _decode(lm, messages, budget)
    records = scorer(problems, [text for text, _ in first], [n for _, n in first], generate_seconds=per)
    for run, (text, _), record in zip(runs, first, records):
        run.attempts.append(record)
        run.texts.append(text)
    if method == "cot":
        return runs
    for _ in range(k):
        # like the engine, stop once the reward passes or skips (a skip gives nothing to search on)
        active = [i for i, run in enumerate(runs) if not (run.attempts[-1].passed or run.attempts[-1].skipped)]
        if not active:
            break
        # self_refine: the model revises its last answer, shown the reward's feedback. Like
        # dspy.Refine, a revision sees the question, its last answer and that answer's feedback
        # only, so the prompt does not grow with every revision.
        revise = []
        for i in active:
            template = CODE_REVISE if problems[i].kind == "code" else REVISE
            feedback = runs[i].attempts[-1].feedback or "the answer did not pass"
            revise.append(messages[i] + [{"role": "assistant", "content": runs[i].texts[-1]},
                                         {"role": "user", "content": template.format(feedback=feedback)}])
        outs, per = _decode(lm, revise, budget)
        records = scorer([problems[i] for i in active], [text for text, _ in outs], [n for _, n in outs],
                         generate_seconds=per)
        for i, (text, _), record in zip(active, outs, records):
            runs[i].attempts.append(record)
            runs[i].texts.append(text)
    return runs
