"""`SelfJudge`: the paper's self-reward, the same local model verifying its own answer.

Four true/false checks, each asking for a short reasoning and then a fixed verdict marker:
the final answer is correct (weight 1), the problem is understood (weight 1), every calculation
re-checks (weight 2), the solution ends with a clear final answer (weight 2). The score is
``1 - failed_weight / 6`` (the paper's ``-failed/6`` on the [0, 1] scale).

Unlike the reference code: the four prompts run as one greedy batch (deterministic), with a bounded
token budget; only the generated tokens are parsed, at the last verdict marker, with word
boundaries ("untrue" is not "true"). A reply cut off before its verdict is not failed outright: on
a local model the verdict is then read from the probabilities of "True" / "False" after the reply
and the marker (``P(True) >= 0.5`` passes); each check records which path decided it
(``details["checks"][name]["path"]``: ``"parsed"``, ``"probability"`` or ``"missing"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from latentseek_agents.config import SAMPLE_TEMPERATURE
from latentseek_agents.scoring import DECODED_TOKENS, CheckResult
from latentseek_agents.validation import ConfigError, check_int, check_number

from .base import JUDGE_TOKENS, MAX_JUDGE_TOKENS, BaseChecker
from .judges import LocalJudge, groups, last_marker_value, neutralize

__all__ = ["SelfJudge", "JudgeCheck", "SELF_JUDGE_CHECKS", "parse_verdict"]

VERDICT_MARKER = "VERDICT"

_HEADER = (
    "You review solutions to math problems with a critical eye. Read the QUESTION and the "
    "PROPOSED SOLUTION below, then do the TASK. Reason briefly, then end your reply with a last "
    "line that is exactly `VERDICT: True` or `VERDICT: False`.\n\n"
    "QUESTION:\n{question}\n\nPROPOSED SOLUTION:\n{solution}\n\nTASK:\n{task}"
)


@dataclass(frozen=True)
class JudgeCheck:
    """One verifier prompt: its name, weight and task text."""

    name: str
    weight: int
    task: str


SELF_JUDGE_CHECKS: tuple[JudgeCheck, ...] = (
    JudgeCheck("answer_correct", 1,
               "Decide only whether the solution's final answer is right. Do not grade the method."),
    JudgeCheck("understanding", 1,
               "Decide whether the solution reads the question correctly: it answers what was "
               "asked, uses the quantities as the question states them, and covers every part."),
    JudgeCheck("calculations", 2,
               "Redo every arithmetic step of the solution yourself. If any step's result is "
               "wrong, the verdict is False. Numbers that are only quoted are not checked."),
    JudgeCheck("clear_answer", 2,
               "Decide whether the solution ends with one explicit, fully computed final answer "
               "(a number or expression), not an unfinished formula and not a refusal."),
)


def parse_verdict(reply: str) -> bool | None:
    """The True/False after the last ``VERDICT:`` in the judge's own reply; None when there is none.

    Example:
        >>> parse_verdict("3 + 4 = 7 is right.\\nVERDICT: True")
        True
        >>> parse_verdict("VERDICT: untrue") is None
        True
    """
    value = last_marker_value(reply, VERDICT_MARKER, "true|false")
    return None if value is None else value.lower() == "true"


class SelfJudge(BaseChecker):
    """The paper's self-reward: four weighted verifier checks run by a local model.

    Args:
        model: the judging model: a ``LoadedModel``, ``"default"`` or a name/path for
            :func:`~latentseek_agents.load_model`. Usually the model being optimized.
        max_new_tokens: token budget of each verifier's reply (bounded, unlike the paper's 4096;
            the default, 512, is where the 1.5B evaluation model's replies all ended).
        checks: the verifier prompts and weights (default: the paper's four).
        samples: replies per check; 1 (default) is one greedy reply. Above 1 each check is asked
            ``samples`` times at ``temperature`` (as the reference code samples its judge) and counts
            by the share of replies whose verdict is True: a check 3 of 4 replies pass costs a quarter
            of its weight.
        temperature: the sampled replies' temperature (only with ``samples > 1``; default
            ``SAMPLE_TEMPERATURE``, 0.7).
        seed: the sampled replies' seed.

    Example:
        >>> judge = SelfJudge("default", max_new_tokens=128)       # doctest: +SKIP
        >>> judge.check("2 + 3 = 5. \\\\boxed{5}", prompt="What is 2 + 3?").score  # doctest: +SKIP
    """

    def __init__(self, model: Any = "default", *, max_new_tokens: int = JUDGE_TOKENS,
                 checks: tuple[JudgeCheck, ...] = SELF_JUDGE_CHECKS, samples: int = 1,
                 temperature: float | None = None, seed: int = 0) -> None:
        check_int("max_new_tokens", max_new_tokens, 1, MAX_JUDGE_TOKENS)
        if not checks or any(c.weight <= 0 for c in checks):
            raise ValueError("checks must be a non-empty tuple of JudgeCheck with positive weights")
        check_int("samples", samples, 1)
        if samples == 1 and temperature is not None:
            raise ConfigError("temperature", f"temperature applies to sampled verdicts (samples > 1); with "
                                             f"samples=1 the judge replies greedily, got temperature={temperature!r}")
        check_number("temperature", temperature, 0, low_open=True, optional=True)
        check_int("seed", seed, 0, 2**63 - 1)
        self.checks = tuple(checks)
        self.samples, self.seed = samples, seed
        self.temperature = None if samples == 1 else float(temperature if temperature is not None
                                                            else SAMPLE_TEMPERATURE)
        self._backend = LocalJudge(model, max_new_tokens=max_new_tokens)

    @property
    def model(self) -> Any:
        """The judging model as given (a ``LoadedModel``, ``"default"`` or a name/path)."""
        return self._backend.model

    @property
    def max_new_tokens(self) -> int:
        """Token budget of each verifier's reply."""
        return self._backend.max_new_tokens

    @max_new_tokens.setter
    def max_new_tokens(self, value: int) -> None:
        self._backend.max_new_tokens = value

    @property
    def lm(self) -> Any:
        """The loaded judge model (loaded on first use, shared through the model registry)."""
        return self._backend.lm

    @property
    def backend(self) -> LocalJudge:
        """The local backend that writes the verifiers' replies (``backend.complete(prompts)``)."""
        return self._backend

    def __repr__(self) -> str:
        name = getattr(self.model, "name", self.model)
        sampled = f", samples={self.samples}, temperature={self.temperature}" if self.samples > 1 else ""
        return f"SelfJudge(model={name!r}, max_new_tokens={self.max_new_tokens}{sampled})"

    def check(self, completion: str, *, prompt: Any = None, reference: Any = None, **ctx: Any) -> CheckResult:
        """Run the four verifiers on ``completion`` for the question ``prompt``."""
        return self.check_batch([completion], prompts=[prompt])[0]

    def check_batch(self, completions: Sequence[str], *, prompts: Sequence[Any] | None = None,
                    references: Sequence[Any] | None = None) -> list[CheckResult]:
        """Judge several completions with one batched generation (every verifier of every one).

        Example:
            >>> judge.check_batch(["5", "6"], prompts=["What is 2 + 3?"] * 2)  # doctest: +SKIP
        """
        prompts = list(prompts) if prompts is not None else [None] * len(completions)
        if len(prompts) != len(completions):
            raise ValueError(f"got {len(completions)} completions and {len(prompts)} prompts")
        results = [CheckResult(score=0.0, passed=False, feedback="empty solution: every check fails",
                               details={"checks": {}}) for _ in completions]
        judged, requests = [], []
        for i, completion in enumerate(completions):
            if not (isinstance(completion, str) and completion.strip()):
                continue
            asked = self.prompts_for(completion, prompts[i])
            too_long = next((why for why in map(self._backend.fits, asked) if why), None)
            if too_long:  # refused inside the bound, never fed past the model's window
                results[i] = CheckResult.failure(f"not judged: {too_long}")
                continue
            judged.append(i)
            requests += asked
        if not requests:
            return results
        per, n = self.samples, len(self.checks)  # `per` replies to each of an answer's n checks, in order
        tokens = self._backend.reply_tokens(requests, per, self.temperature or 0.0, self.seed)
        for i, its_requests, mine in zip(judged, groups(requests, n), groups(tokens, n * per)):
            texts = [self._backend.decode(reply) for reply in mine]
            result = self.verdicts(its_requests, texts if per == 1 else groups(texts, per))
            results[i] = replace(result, details={**result.details, DECODED_TOKENS: sum(map(len, mine))})
        return results

    def prompts_for(self, completion: str, question: Any) -> list[str]:
        """The verifier prompts for one answer, one per check (the solution's own markers defanged).

        Example:
            >>> len(SelfJudge("default").prompts_for("\\boxed{5}", "What is 2 + 3?"))
            4
        """
        question = neutralize(question if isinstance(question, str) else str(question or ""), [VERDICT_MARKER])
        solution = neutralize(completion, [VERDICT_MARKER])
        return [_HEADER.format(question=question, solution=solution, task=check.task) for check in self.checks]

    def _fallback(self, request: str, reply: str) -> tuple[bool | None, float | None]:
        """The verdict of a reply without one, from P("True") vs P("False") after the marker."""
        option_probs = getattr(self._backend, "option_probs", None)
        if option_probs is None:
            return None, None
        probs = option_probs(request, reply.rstrip() + f"\n{VERDICT_MARKER}:", ["True", "False"])
        return probs["True"] >= 0.5, probs["True"]

    def verdicts(self, requests: Sequence[str], replies: Sequence[str | Sequence[str]]) -> CheckResult:
        """Score replies already written to :meth:`prompts_for`'s prompts (one per check, in order;
        with sampled verdicts, a list of replies per check).

        A reply without a verdict is decided by the verdict-token probabilities after it; so
        replies cut to a smaller budget score as that budget would (``benchmarks/judge_budget.py``).
        A check with several replies counts by the share of them that pass.

        Example:
            >>> judge.verdicts(judge.prompts_for("5", "2 + 3?"), ["VERDICT: True"] * 4).score  # doctest: +SKIP
            1.0
        """
        if len(requests) != len(self.checks) or len(replies) != len(self.checks):
            raise ValueError(f"need one prompt and one reply per check ({len(self.checks)}), "
                             f"got {len(requests)} prompts and {len(replies)} replies")
        total = sum(c.weight for c in self.checks)
        failed, per_check, notes = 0.0, {}, []
        for check, request, reply in zip(self.checks, requests, replies):
            sampled = [reply] if isinstance(reply, str) else list(reply)
            decided = []
            for text in sampled:
                verdict, path, p_true = parse_verdict(text), "parsed", None
                if verdict is None:
                    verdict, p_true = self._fallback(request, text)
                    path = "missing" if verdict is None else "probability"
                decided.append((verdict, path, p_true))
            share = sum(verdict is True for verdict, _, _ in decided) / len(decided)
            verdict, path, p_true = decided[0] if len(decided) == 1 else (share >= 0.5, max(
                (p for _, p, _ in decided), key=("parsed", "probability", "missing").index), None)
            per_check[check.name] = {"verdict": verdict, "weight": check.weight, "path": path,
                                     "p_true": p_true, "reply": sampled[0][-600:]}
            if len(decided) > 1:
                per_check[check.name]["true_share"] = share
            if share < 1.0:
                failed += check.weight * (1.0 - share)
                notes.append(f"{check.name} failed" + (" (no verdict)" if verdict is None else "")
                             + (f" ({share:.0%} of {len(decided)} replies passed)" if len(decided) > 1 else ""))
        score = 1.0 - failed / total
        return CheckResult(score=score, passed=failed == 0,
                           feedback="; ".join(notes) or "all checks passed",
                           details={"checks": per_check})
