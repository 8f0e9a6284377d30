"""`VoteAgreement`: a reward without a gold answer - how many of the problem's own samples agree.

For each problem the model draws ``samples`` answers at ``temperature`` once (cached per prompt);
a completion scores the share of those samples whose final answer equals its own (answers
normalized as self-consistency's vote normalizes them: "$1,072.00" = "1072"). A completion without
a final answer scores 0. So the score is high exactly where self-consistency would vote, and a
search rewarded by it moves towards the answer a vote would pick; ``cookbook/results/`` measures
its precision and recall against gold.

The samples are drawn from the same prompt the solver used (the engine passes its chat
``messages``); a plain ``prompt`` string is asked as one user message.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from typing import Any

from latentseek_agents.answers import vote_key
from latentseek_agents.config import SAMPLE_TEMPERATURE
from latentseek_agents.scoring import DECODED_TOKENS, CheckResult
from latentseek_agents.validation import check_int, check_number

from .base import BaseChecker

__all__ = ["VoteAgreement"]

_CACHE_SIZE = 1024  # prompts whose samples are kept


class VoteAgreement(BaseChecker):
    """Score = the share of the problem's own samples that reach the completion's final answer.

    Args:
        model: the sampling model (usually the one being searched): a ``LoadedModel``,
            ``"default"`` or a name/path for :func:`~latentseek_agents.load_model`.
        samples: answers drawn per problem (once; later checks of the same problem reuse them).
        temperature: their temperature (> 0).
        max_new_tokens: each sample's token budget.
        seed: the samples' seed (the same problem draws the same samples).

    Example:
        >>> reward = VoteAgreement("default", samples=4, max_new_tokens=256)      # doctest: +SKIP
        >>> reward.check("... \\\\boxed{42}", prompt="What is 6 * 7?").score          # doctest: +SKIP
        0.75
    """

    def __init__(self, model: Any = "default", *, samples: int = 4, temperature: float = SAMPLE_TEMPERATURE,
                 max_new_tokens: int = 512, seed: int = 0) -> None:
        check_int("samples", samples, 1)
        check_number("temperature", temperature, 0, low_open=True)
        check_int("max_new_tokens", max_new_tokens, 1)
        check_int("seed", seed, 0, 2**63 - 1)
        self.model, self.samples, self.temperature = model, samples, float(temperature)
        self.max_new_tokens, self.seed = max_new_tokens, seed
        self._lm: Any = None
        self._votes: OrderedDict[tuple[int, ...], list[str | None]] = OrderedDict()

    def __repr__(self) -> str:
        name = getattr(self.model, "name", self.model)
        return f"VoteAgreement(model={name!r}, samples={self.samples}, temperature={self.temperature})"

    def __getstate__(self) -> dict[str, Any]:
        from latentseek_agents.models import model_source

        state = self.__dict__.copy()
        state.update(model=model_source(state["model"], "a vote reward"), _lm=None, _votes=OrderedDict())
        return state

    @property
    def lm(self) -> Any:
        """The loaded sampling model (from the shared registry)."""
        if self._lm is None:
            from latentseek_agents.models import load_model

            self._lm = load_model(self.model)
        return self._lm

    def votes(self, messages: list[dict[str, str]]) -> list[str | None]:
        """The final answers of the problem's samples (drawn on first use, then cached)."""
        return self._votes_drawn(messages)[0]

    def _votes_drawn(self, messages: list[dict[str, str]]) -> tuple[list[str | None], int]:
        """:meth:`votes`, and how many tokens this call decoded to draw them (0 when cached)."""
        from latentseek_agents.generation import generate, seeded_generator
        from latentseek_agents.prompts import render_prompt

        ids = render_prompt(self.lm.tokenizer, messages)
        key, decoded = tuple(ids), 0
        if key not in self._votes:
            budget = self.max_new_tokens
            if self.lm.context_length is not None:
                budget = max(1, min(budget, self.lm.context_length - len(ids)))
            gens = generate(self.lm, [ids] * self.samples, budget, temperature=self.temperature,
                            generator=seeded_generator(self.lm, self.seed))
            self._votes[key] = [vote_key(self.lm.tokenizer.decode(g.tokens, skip_special_tokens=True)) for g in gens]
            decoded = sum(len(g.tokens) for g in gens)
            while len(self._votes) > _CACHE_SIZE:
                self._votes.popitem(last=False)
        self._votes.move_to_end(key)
        return self._votes[key], decoded

    def check(self, completion: str, *, prompt: Any = None, reference: Any = None,
              messages: list[dict[str, str]] | None = None, **ctx: Any) -> CheckResult:
        """The share of the problem's samples agreeing with ``completion``'s final answer (``reference``
        is not used: this reward needs no gold)."""
        if messages is None:
            if not isinstance(prompt, str) or not prompt.strip():
                return CheckResult(score=None, feedback="no question to sample answers for: skipped")
            messages = [{"role": "user", "content": prompt}]
        answer = vote_key(completion)
        if answer is None:
            return CheckResult(score=0.0, feedback="no final answer to compare with the samples'",
                               details={"answer": None})
        votes, decoded = self._votes_drawn(messages)
        agree = votes.count(answer)
        common = Counter(v for v in votes if v is not None).most_common(1)
        return CheckResult(score=agree / len(votes),
                           feedback=f"{agree} of {len(votes)} samples reach {answer!r}"
                                    + (f"; the most common answer is {common[0][0]!r} ({common[0][1]})"
                                       if common else ""),
                           details={"answer": answer, "votes": votes, DECODED_TOKENS: decoded})
