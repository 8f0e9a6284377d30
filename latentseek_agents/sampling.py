"""Sampling at the same budget as a search: `BestOfN` and `SelfConsistency`, with LatentSeek's interface.

Where latent search does not pay (``cookbook/results/``: on Qwen2.5-Coder-1.5B best-of-N beat it
under a gold check, and a vote of samples beat it without one), these are what to call instead.
Both take the same model, reward and :class:`LatentSeekConfig`, and spend the same budget as a
LatentSeek run with that config: at most ``config.max_generations`` full generations per problem
(K + 1 for ``max_iters = K``; a population's or a multi-sample gradient's whole count when the
config sets one), from a prompt prefilled once. They return :class:`SeekResult` objects with one
attempt per generation, and share ``solve``, ``solve_batch`` and ``iter_solve`` (streams, cancel
events, per-problem context) with :class:`~latentseek_agents.seek.LatentSeek`, so every front end
that runs one runs the others.

* :class:`BestOfN`: the greedy answer, then up to K samples at ``temperature``; stop once the reward
  passes (or skips); return the best-scoring answer.
* :class:`SelfConsistency`: K + 1 samples at ``temperature``; the most common final answer wins (ties
  to the earliest). No reward is needed; one given scores every sample for the record, and never
  stops the vote early. With ``stop_when_decided=True`` it stops drawing once the remaining samples
  could no longer change the winner: the same answer for fewer samples.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Generator
from typing import Any

from .answers import majority, vote_decided
from .cancel import cancel_scope
from .config import SAMPLE_TEMPERATURE, LatentSeekConfig
from .result import Attempt, SearchEvent
from .scoring import CheckResult, RewardLike
from .seek import LatentSeek, _dropped, _Problem
from .validation import check_number

__all__ = ["SAMPLE_TEMPERATURE", "BestOfN", "SelfConsistency"]



def _not_scored(completion: str) -> CheckResult:
    return CheckResult(score=None, feedback="not scored: self-consistency votes without a reward")


class _Sampler(LatentSeek):
    """``config.max_generations`` generations per problem from one prefilled prompt; subclasses say which are sampled,
    when a problem stops and which answer it returns."""

    greedy_first = True
    stops_on_pass = True

    def __init__(self, model: Any = None, reward: RewardLike | None = None, config: LatentSeekConfig | None = None,
                 *, tokenizer: Any = None, temperature: float = SAMPLE_TEMPERATURE) -> None:
        super().__init__(model, reward, config, tokenizer=tokenizer)
        check_number("temperature", temperature, 0, low_open=True)
        self.temperature = float(temperature)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(model={self.lm.name!r}, reward={self.reward!r}, "
                f"temperature={self.temperature}, config={self.config!r})")

    def _search(self, batch: list[_Problem], cancel: threading.Event | None = None
                ) -> Generator[SearchEvent, None, None]:
        if not batch:
            return
        from .generation import continue_decoding

        cfg = self.config
        generator, prompt = self._begin(batch, cancel)
        active = list(range(len(batch)))
        last = cfg.max_generations - 1  # the budget of a LatentSeek run with this config
        for iteration in range(last + 1):
            active = [i for i in active if not _dropped(batch[i])]
            if not active:
                return
            greedy = iteration == 0 and self.greedy_first
            t0 = time.perf_counter()
            with cancel_scope(event=cancel):
                gens = continue_decoding(self.lm, prompt, active, [batch[i].budget for i in active],
                                         temperature=0.0 if greedy else self.temperature, generator=generator,
                                         cancel_rows=[batch[i].cancel for i in active])
                gen_seconds = (time.perf_counter() - t0) / len(active)
                tokens = {i: gen.tokens for i, gen in zip(active, gens)}
                active = [i for i in active if not _dropped(batch[i])]
                attempts = self._score_all([batch[i] for i in active], [tokens[i] for i in active], iteration,
                                           generate_seconds=gen_seconds)
            for i, attempt in zip(active, attempts):
                item = batch[i]
                self._record(item, attempt)
                yield SearchEvent("attempt", i, attempt=attempt)
                if self.stops_on_pass and attempt.passed:
                    item.stop_reason = "threshold"
                elif self.stops_on_pass and attempt.details.get("skipped"):
                    item.stop_reason = "reward_skipped"
                elif iteration == last:
                    item.stop_reason = "max_iters"
                elif self._decided(item.trace, last - iteration):
                    item.stop_reason = "decided"
                if item.stop_reason is not None:
                    yield SearchEvent("result", i, result=self._result(item))
            active = [i for i in active if batch[i].stop_reason is None]

    def _decided(self, trace: list[Attempt], remaining: int) -> bool:
        """Whether ``remaining`` more generations can no longer change what a problem returns."""
        return False


class BestOfN(_Sampler):
    """Best-of-N at LatentSeek's budget: the greedy answer, then up to K = ``config.max_iters``
    samples at ``temperature``; stop once the reward passes; return the best-scoring answer.

    Args:
        model, reward, config, tokenizer: as for :class:`~latentseek_agents.seek.LatentSeek`
            (``config.max_iters`` is K — ``config.max_generations`` answers in all, so a config
            with a ``population`` buys the same number of samples; ``max_new_tokens``,
            ``score_threshold``, ``seed`` and ``prompt_style`` apply; the latent settings do not).
        temperature: the samples' temperature (> 0).

    Example:
        >>> from latentseek_agents import BestOfN, LatentSeekConfig
        >>> from latentseek_agents.rewards import MathAnswer
        >>> sampler = BestOfN("default", MathAnswer(), LatentSeekConfig(max_iters=3))  # doctest: +SKIP
        >>> sampler.solve("What is 6 * 7?", reference="42").answer                     # doctest: +SKIP
        '42'
    """

    def _choose(self, trace: list[Attempt]) -> int:
        return max(range(len(trace)), key=lambda i: (trace[i].score, -i))


class SelfConsistency(_Sampler):
    """Self-consistency at LatentSeek's budget: ``config.max_generations`` samples (K + 1) at
    ``temperature``; the most common final answer wins, ties to the earliest.

    Args:
        model, config, tokenizer: as for :class:`~latentseek_agents.seek.LatentSeek`.
        reward: optional; it scores each sample for the record (the vote never consults it).
        temperature: the samples' temperature (> 0).
        stop_when_decided: stop drawing samples once the rest could not change the winner even if
            they all agreed (:func:`~latentseek_agents.answers.vote_decided`; ``stop_reason``
            ``"decided"``). The answer is the one the full vote of the same samples returns (solved
            alone, the samples are the full vote's first ones; in a batch, problems still voting draw
            others once some stop). Off by default: the full vote of K + 1, the paper's baseline.

    Example:
        >>> from latentseek_agents import LatentSeekConfig, SelfConsistency
        >>> voter = SelfConsistency("default", config=LatentSeekConfig(max_iters=4))  # doctest: +SKIP
        >>> result = voter.solve("What is 6 * 7?")                                     # doctest: +SKIP
        >>> result.answer, len(result.trace)                                            # doctest: +SKIP
        ('42', 5)
        >>> quick = SelfConsistency("default", config=LatentSeekConfig(max_iters=4),
        ...                         stop_when_decided=True)                             # doctest: +SKIP
        >>> quick.solve("What is 6 * 7?").stop_reason  # 3 agreeing samples of 5 decide it  # doctest: +SKIP
        'decided'
    """

    greedy_first = False
    stops_on_pass = False

    def __init__(self, model: Any = None, reward: RewardLike | None = None, config: LatentSeekConfig | None = None,
                 *, tokenizer: Any = None, temperature: float = SAMPLE_TEMPERATURE,
                 stop_when_decided: bool = False) -> None:
        super().__init__(model, reward if reward is not None else _not_scored, config, tokenizer=tokenizer,
                         temperature=temperature)
        if not isinstance(stop_when_decided, bool):
            raise ValueError(f"stop_when_decided must be a bool, got {stop_when_decided!r}")
        self.stop_when_decided = stop_when_decided

    def __repr__(self) -> str:
        decided = ", stop_when_decided=True" if self.stop_when_decided else ""
        return super().__repr__()[:-1] + decided + ")"

    def _decided(self, trace: list[Attempt], remaining: int) -> bool:
        return self.stop_when_decided and vote_decided([a.text for a in trace], remaining)

    def _choose(self, trace: list[Attempt]) -> int:
        return majority([a.text for a in trace])
