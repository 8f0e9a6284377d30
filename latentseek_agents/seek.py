"""`LatentSeek`: the test-time loop (generate, score, move the latents, decode, continue, re-score).

Faithful mode by default (docs/method.md): greedy chain of thought; latents = the hidden states
that fed the LM head at the first L = min(int(fraction * T), max_latents) generated positions;
one Adam step per iteration on ``-R * sum log p(argmax)`` with ``R = score - 1``; the new prefix is
the argmax of the moved latents (or, with ``policy="sample"``, tokens sampled from them, the step
being REINFORCE with a baseline); greedy continuation from the cached prompt (sampled with
``continuation_temperature > 0``); stop once the score is above ``score_threshold``, after at most
``max_iters`` updates.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .answers import extract_answer, vote_key
from .cancel import cancel_scope, check_cancelled
from .config import SAMPLE_TEMPERATURE, LatentSeekConfig
from .prompts import Problem, build_messages, question_text, render_prompt
from .result import Attempt, SearchEvent, SeekResult, choose
from .scoring import CheckResult, RewardLike, as_check_fn, score_completions
from .validation import PromptTooLongError

__all__ = ["LatentSeek"]

AttemptCallback = Callable[[int, Attempt], None]


def _one_per_problem(values: Any, count: int, name: str = "references") -> list[Any]:
    """``values`` (references, contexts, cancel events) as a list with one entry per problem (None: none)."""
    if values is None:
        return [None] * count
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Sequence):
        raise ValueError(f"{name} must be a list with one entry per problem, got a "
                         f"{type(values).__name__} ({values!r:.40}); for one problem use solve()")
    if len(values) != count:
        raise ValueError(f"{name} has {len(values)} entries for {count} problems")
    return list(values)


@dataclass
class _Problem:
    """Book-keeping of one problem inside a batch."""

    messages: list[dict[str, str]]
    question: str
    reference: Any
    prompt_ids: list[int]
    budget: int
    context: dict[str, Any] = field(default_factory=dict)  # the reward's extra context for this problem
    cancel: threading.Event | None = None  # set: this problem stops at its next decoding step, silently
    trace: list[Attempt] = field(default_factory=list)
    stop_reason: str | None = None
    start: float = 0.0
    seconds: float = 0.0


@dataclass(eq=False)
class _Member:
    """One chain of a problem's search (a problem has ``population`` of them): its latents' optimizer
    slot, its current prefix, the prefixes its last update tried and its own attempts."""

    problem: int
    slot: int = -1
    prefix: list[int] = field(default_factory=list)
    samples: list[list[int]] = field(default_factory=list)  # the prefixes the last update tried: next step's actions
    trace: list[Attempt] = field(default_factory=list)
    restart: bool = False  # its next attempt is a fresh sample (restart_on_repeat)


def _dropped(item: _Problem) -> bool:
    """Whether the problem's own cancel event is set (its caller left: it leaves the search)."""
    return item.cancel is not None and item.cancel.is_set()


def _repeats(attempt: Attempt, trace: Sequence[Attempt]) -> bool:
    """Whether ``attempt`` repeats another attempt of ``trace`` (its problem's): the same final answer
    (normalized as a vote normalizes it), or, without one, the same text."""
    def key(text: str) -> str:
        return vote_key(text) or text.strip()

    mine = key(attempt.text)
    return any(key(a.text) == mine for a in trace if a is not attempt)


def _weights(member: _Member) -> float | list[float]:
    """The REINFORCE weights of the prefixes a member's last update tried: one (:func:`_advantage`), or,
    for a group of samples, each one's score minus the group's mean (the baseline)."""
    if len(member.samples) == 1:
        return _advantage(member.trace)
    scores = [a.score for a in member.trace[-len(member.samples):]]
    return [score - sum(scores) / len(scores) for score in scores]


def _advantage(trace: Sequence[Attempt]) -> float:
    """REINFORCE weight of the last attempt: its reward (``score - 1``) minus the mean of the
    earlier attempts' rewards (no baseline before the first update)."""
    earlier = [a.score - 1.0 for a in trace[:-1]]
    baseline = sum(earlier) / len(earlier) if earlier else 0.0
    return (trace[-1].score - 1.0) - baseline


class LatentSeek:
    """Instance-level policy gradient in latent space, on a local HF causal LM.

    Args:
        model: a ``LoadedModel``, a name/path for :func:`load_model` (``None`` or ``"default"``
            = the embedded SmolLM2-135M-Instruct), or a loaded HF model (pass ``tokenizer``).
        reward: a checker (``.check(completion, prompt=, reference=) -> CheckResult``) or a
            callable ``fn(completion, **context) -> float | CheckResult``, scores in [0, 1].
            ``None`` uses :class:`~latentseek_agents.rewards.SelfJudge` on the same model.
        config: a :class:`LatentSeekConfig` (defaults = the paper's).
        tokenizer: the tokenizer when ``model`` is a loaded HF model.

    Example:
        >>> from latentseek_agents import LatentSeek, LatentSeekConfig
        >>> seeker = LatentSeek("default", reward=lambda text, reference: float(reference in text),
        ...                     config=LatentSeekConfig(max_iters=2, max_new_tokens=64))  # doctest: +SKIP
        >>> seeker.solve("What is 6 * 7?", reference="42").stop_reason                   # doctest: +SKIP
        'threshold'
    """

    def __init__(
        self,
        model: Any = None,
        reward: RewardLike | None = None,
        config: LatentSeekConfig | None = None,
        *,
        tokenizer: Any = None,
    ) -> None:
        from .models import load_model

        if config is not None and not isinstance(config, LatentSeekConfig):
            raise TypeError(f"config must be a LatentSeekConfig, got {type(config).__name__}")
        self.lm = load_model(model, tokenizer=tokenizer)
        self.config = config or LatentSeekConfig()
        if reward is None:
            from latentseek_agents.rewards import SelfJudge

            reward = SelfJudge(self.lm)
        self.reward = reward
        as_check_fn(reward)  # a reward that is neither a checker nor a callable fails here

    def __repr__(self) -> str:
        return f"LatentSeek(model={self.lm.name!r}, reward={self.reward!r}, config={self.config!r})"

    # ------------------------------------------------------------------ public API
    def solve(
        self,
        problem: Problem,
        reference: Any = None,
        *,
        on_attempt: AttemptCallback | None = None,
        **context: Any,
    ) -> SeekResult:
        """Solve one problem (a question string or a list of chat messages).

        Args:
            problem: the question, or chat messages.
            reference: a gold answer passed to the reward (e.g. ``"72"``), if any.
            on_attempt: called as ``on_attempt(0, attempt)`` after each scored attempt.
            **context: extra keyword context for the reward.
        """
        return self.solve_batch([problem], [reference], on_attempt=on_attempt, **context)[0]

    def solve_batch(
        self,
        problems: Sequence[Problem],
        references: Sequence[Any] | None = None,
        *,
        on_attempt: AttemptCallback | None = None,
        return_exceptions: bool = False,
        **context: Any,
    ) -> list[SeekResult]:
        """Solve several problems together: their generations and latent updates run batched.

        Results equal ``[solve(p, r) for p, r in ...]`` up to floating-point batching effects.
        ``on_attempt(i, attempt)`` names the problem by its index ``i``. With
        ``return_exceptions=True`` a problem that can't be run (empty, too long for the model)
        gets its ``ValueError`` in its place and the others are solved; otherwise it raises.
        """
        if isinstance(problems, (str, bytes, bytearray)) or not isinstance(problems, Sequence):
            raise ValueError(f"problems must be a list of questions or message lists, got {type(problems).__name__}")
        if on_attempt is not None and not callable(on_attempt):
            raise ValueError(f"on_attempt must be None or a callable (index, attempt), got "
                             f"{type(on_attempt).__name__} {on_attempt!r:.40}")
        results: list[Any] = [None] * len(problems)
        for event in self.iter_solve(list(problems), references, return_exceptions=return_exceptions, **context):
            if event.attempt is not None and on_attempt is not None:
                on_attempt(event.index, event.attempt)
            if event.kind != "attempt":
                results[event.index] = event.result if event.error is None else event.error
        return results

    def iter_solve(
        self,
        problems: Problem | Sequence[Problem],
        references: Any = None,
        *,
        cancel: threading.Event | Sequence[threading.Event | None] | None = None,
        contexts: Sequence[Mapping[str, Any]] | None = None,
        return_exceptions: bool = False,
        **context: Any,
    ) -> Generator[SearchEvent, None, None]:
        """The search as a stream: one event per scored attempt as it happens, one per problem when
        its answer is final. ``solve`` and ``solve_batch`` are consumers of this stream.

        Closing the iterator (``close()``, leaving a ``for`` loop, a client that disconnects) stops
        the search: nothing decodes while the stream waits for its consumer, so no step runs after
        the close, and the model's lock is free. Setting ``cancel`` from another thread stops a
        search mid-decode at its next step (the stream then raises
        :class:`~latentseek_agents.cancel.Cancelled`).

        Args:
            problems: one question (or message list), or a list of them.
            references: the reference (one problem) or one per problem.
            cancel: one event for the whole search, or one per problem: a problem whose event is set
                stops at its next decoding step without further events, and the others go on (a
                server solving several clients' requests together drops the one that left).
            contexts: one mapping per problem of extra reward context, over ``**context``.
            return_exceptions: a problem that can't be run (empty, too long for the model) yields one
                ``"error"`` event with its ``ValueError`` first and the others are solved;
                otherwise that error is raised here, before anything runs.

        Example:
            >>> for event in seeker.iter_solve("What is 6 * 7?", reference="42"):   # doctest: +SKIP
            ...     print(event.kind, event.attempt.score if event.attempt else event.result.answer)
            attempt 0.0
            attempt 1.0
            result 42
        """
        single = isinstance(problems, (str, bytes, bytearray)) or not isinstance(problems, Sequence) or (
            bool(problems) and isinstance(problems[0], Mapping))
        batch: list[Problem] = [problems] if single else list(problems)  # type: ignore[list-item,arg-type]
        references = [references] if single else _one_per_problem(references, len(batch))
        per_problem = _one_per_problem(contexts, len(batch), "contexts")
        events = _one_per_problem(cancel, len(batch), "cancel") if isinstance(cancel, Sequence) else None
        prepared: list[_Problem | ValueError] = []
        for k, (p, r) in enumerate(zip(batch, references)):
            try:
                item = self._prepare(p, r)
            except ValueError as exc:
                if not return_exceptions:
                    raise
                prepared.append(exc)
                continue
            item.context = {**context, **(per_problem[k] or {})}
            item.cancel = events[k] if events is not None else None
            prepared.append(item)
        whole = cancel if isinstance(cancel, threading.Event) else None
        return self._stream(prepared, whole)  # an empty batch is an empty stream, as solve_batch([]) is []

    def _stream(self, prepared: list[_Problem | ValueError],
                cancel: threading.Event | None) -> Generator[SearchEvent, None, None]:
        """The errors of problems that can't run, then the search of the others (indices as given)."""
        runnable = [k for k, item in enumerate(prepared) if isinstance(item, _Problem)]
        for k, item in enumerate(prepared):
            if isinstance(item, ValueError):
                yield SearchEvent("error", k, error=item)
        for event in self._search([prepared[k] for k in runnable], cancel):  # type: ignore[misc]
            yield replace(event, index=runnable[event.index])

    def _search(self, batch: list[_Problem], cancel: threading.Event | None = None
                ) -> Generator[SearchEvent, None, None]:
        """The loop as a generator. It never yields while it holds the model's lock or is decoding;
        each blocking phase runs under the ``cancel`` event's scope (checked once per decoding step).
        A problem whose own ``cancel`` is set ends its decoding at the next step and leaves the search
        there: it is not scored and yields nothing more.

        Each problem searches with ``population`` members (1: the paper's one chain), each with its
        own latents: the greedy first answer, and samples for the others."""
        if not batch:
            return
        from .generation import continue_decoding
        from .latents import LatentOptimizer, num_latents

        cfg = self.config
        # Iteration 0: the greedy chain of thought (and, for a population, samples), recording the hidden states.
        members = [_Member(i) for i in range(len(batch)) for _ in range(cfg.population)]
        t0 = time.perf_counter()
        generator, prompt = self._begin(batch, cancel)
        with cancel_scope(event=cancel):
            firsts: dict[int, Any] = {}
            for greedy in (True, False):
                group = [k for k, m in enumerate(members) if (k % cfg.population == 0) == greedy]
                if not group:
                    continue
                gens = continue_decoding(self.lm, prompt, [members[k].problem for k in group],
                                         [batch[members[k].problem].budget for k in group],
                                         capture_hidden=cfg.max_latents,
                                         cancel_rows=[batch[members[k].problem].cancel for k in group],
                                         temperature=0.0 if greedy else SAMPLE_TEMPERATURE, generator=generator)
                firsts.update(zip(group, gens))
            gen_seconds = (time.perf_counter() - t0) / len(members)
            live = [k for k, m in enumerate(members) if not _dropped(batch[m.problem])]
            attempts = self._score_all([batch[members[k].problem] for k in live], [firsts[k].tokens for k in live],
                                       0, generate_seconds=gen_seconds)
        hidden: dict[int, Any] = {}
        for k, attempt in zip(live, attempts):
            member, gen = members[k], firsts[k]
            self._record(batch[member.problem], attempt, member)
            yield SearchEvent("attempt", member.problem, attempt=attempt)
            latents = num_latents(len(gen.tokens), cfg.fraction, cfg.max_latents)
            if latents and gen.hidden is not None:
                hidden[k] = gen.hidden[:latents]
                member.prefix = gen.tokens[:latents]
                member.samples = [member.prefix]
        for i in dict.fromkeys(members[k].problem for k in live):
            item = batch[i]
            own = [k for k in live if members[k].problem == i]
            if any(a.passed for a in item.trace):
                item.stop_reason = "threshold"
            elif any(a.details.get("skipped") for a in item.trace):
                item.stop_reason = "reward_skipped"  # nothing to optimize against (no reference, no tests)
            elif not any(k in hidden for k in own):
                item.stop_reason = "no_latents"
            elif cfg.max_iters == 0:
                item.stop_reason = "max_iters"
            if item.stop_reason is not None:
                yield SearchEvent("result", i, result=self._result(item))

        searching = [k for k in live if k in hidden and batch[members[k].problem].stop_reason is None]
        optimizer = LatentOptimizer(self.lm, [hidden[k] for k in searching], cfg) if searching else None
        for s, k in enumerate(searching):
            members[k].slot = s
        active = [members[k] for k in searching]

        for iteration in range(1, cfg.max_iters + 1):
            active = [m for m in active if not _dropped(batch[m.problem])]
            if not active:
                break
            restarting = [m for m in active if m.restart]
            stepping = [m for m in active if not m.restart]
            t0 = time.perf_counter()
            assert optimizer is not None  # active members exist, so it was built
            drawn: dict[int, list[list[int]]] = {}  # per stepping member's slot, the prefixes this update tries
            if stepping:
                with cancel_scope(event=cancel), self.lm.lock:
                    check_cancelled()
                    if cfg.policy == "sample":
                        optimizer.step({m.slot: _weights(m) for m in stepping},
                                       actions={m.slot: m.samples for m in stepping})
                        drawn = {m.slot: [optimizer.sample(m.slot, cfg.policy_temperature, generator)
                                          for _ in range(cfg.samples_per_step)] for m in stepping}
                    else:
                        moved = optimizer.step({m.slot: m.trace[-1].score - 1.0 for m in stepping})
                        drawn = {m.slot: [moved[m.slot]] for m in stepping}
            update_seconds = (time.perf_counter() - t0) / len(active)
            # One entry per answer this round: (member, the prefix it starts from; None for a restart).
            entries: list[tuple[_Member, list[int] | None]] = [(m, p) for m in stepping for p in drawn[m.slot]]
            entries += [(m, None) for m in restarting]
            changed = [0 if p is None else sum(a != b for a, b in zip(p, m.prefix)) for m, p in entries]
            for m in stepping:
                m.prefix, m.samples = drawn[m.slot][0], drawn[m.slot]

            # A prefix that already holds a stop token is the whole answer; the rest continue.
            stops = set(self.lm.eos_token_ids)
            tokens: dict[int, list[int]] = {}  # by entry
            to_continue = []
            for k, (m, p) in enumerate(entries):
                if p is None:
                    continue
                cut = next((j for j, tok in enumerate(p) if tok in stops), None)
                if cut is not None:
                    tokens[k] = p[: cut + 1]
                else:
                    to_continue.append(k)
            fresh = [k for k, (_, p) in enumerate(entries) if p is None]
            t0 = time.perf_counter()
            with cancel_scope(event=cancel):
                if to_continue:
                    gens = continue_decoding(
                        self.lm, prompt, [entries[k][0].problem for k in to_continue],
                        [max(batch[entries[k][0].problem].budget - len(entries[k][1] or ()), 0) for k in to_continue],
                        prefixes=[entries[k][1] or [] for k in to_continue],
                        cancel_rows=[batch[entries[k][0].problem].cancel for k in to_continue],
                        temperature=cfg.continuation_temperature, generator=generator,
                    )
                    for k, gen in zip(to_continue, gens):
                        tokens[k] = (entries[k][1] or []) + gen.tokens
                if fresh:  # a restart: a fresh sample from the prompt; its hidden states are the new latents
                    samples = continue_decoding(
                        self.lm, prompt, [entries[k][0].problem for k in fresh],
                        [batch[entries[k][0].problem].budget for k in fresh],
                        capture_hidden=cfg.max_latents, temperature=SAMPLE_TEMPERATURE, generator=generator,
                        cancel_rows=[batch[entries[k][0].problem].cancel for k in fresh])
                    for k, gen in zip(fresh, samples):
                        m = entries[k][0]
                        tokens[k], m.restart = gen.tokens, False
                        latents = num_latents(len(gen.tokens), cfg.fraction, cfg.max_latents)
                        if latents and gen.hidden is not None:  # too short to optimize: keep the old latents
                            optimizer.reset(m.slot, gen.hidden[:latents])
                            m.prefix = gen.tokens[:latents]
                            m.samples = [m.prefix]
                gen_seconds = (time.perf_counter() - t0) / len(entries)
                live = [k for k, (m, _) in enumerate(entries) if not _dropped(batch[m.problem])]
                attempts = self._score_all([batch[entries[k][0].problem] for k in live], [tokens[k] for k in live],
                                           iteration, generate_seconds=gen_seconds, update_seconds=update_seconds,
                                           prefix_tokens=[len(entries[k][1] or ()) for k in live],
                                           changed=[changed[k] for k in live])
            scored: dict[int, list[Attempt]] = {}
            for k, attempt in zip(live, attempts):
                m = entries[k][0]
                self._record(batch[m.problem], attempt, m)
                scored.setdefault(m.problem, []).append(attempt)
                yield SearchEvent("attempt", m.problem, attempt=attempt)
            for i, answers in scored.items():
                item = batch[i]
                if any(a.passed for a in answers):
                    item.stop_reason = "threshold"
                elif iteration == cfg.max_iters:
                    item.stop_reason = "max_iters"
                if item.stop_reason is not None:
                    yield SearchEvent("result", i, result=self._result(item))
            if cfg.restart_on_repeat:
                for m in active:
                    m.restart = (batch[m.problem].stop_reason is None and m.problem in scored
                                 and _repeats(m.trace[-1], batch[m.problem].trace))
            active = [m for m in active if m.problem in scored and batch[m.problem].stop_reason is None]

    # ------------------------------------------------------------------ helpers
    def _prepare(self, problem: Problem, reference: Any) -> _Problem:
        messages = build_messages(problem, self.config.prompt_style)
        ids = render_prompt(self.lm.tokenizer, messages)
        budget = self.config.max_new_tokens
        context = self.lm.context_length
        if context is not None:
            if len(ids) >= context:
                raise PromptTooLongError(len(ids), context)
            budget = min(budget, context - len(ids))
        # A reward (a judge) sees the question as asked, not the prompt style's wrapping of it.
        question = problem if isinstance(problem, str) else question_text(messages)
        return _Problem(messages=messages, question=question, reference=reference,
                        prompt_ids=ids, budget=budget)

    def _begin(self, batch: list[_Problem], cancel: threading.Event | None) -> tuple[Any, Any]:
        """Start a batch's search: its clock, its one seeded generator (every random draw of a
        solve: sampled prefixes, members, continuations, restarts) and its prompts, prefilled once."""
        from .generation import prefill, seeded_generator

        start = time.perf_counter()
        for item in batch:
            item.start = start
        generator = seeded_generator(self.lm, self.config.seed)
        with cancel_scope(event=cancel):
            prompt = prefill(self.lm, [p.prompt_ids for p in batch], room=max(p.budget for p in batch))
        return generator, prompt

    def _score_all(
        self,
        items: Sequence[_Problem],
        tokens: Sequence[list[int]],
        iteration: int,
        *,
        generate_seconds: float = 0.0,
        update_seconds: float = 0.0,
        prefix_tokens: Sequence[int] | None = None,
        changed: Sequence[int] | None = None,
    ) -> list[Attempt]:
        """Score one new answer per problem (one reward call for all when the reward batches).

        A completion identical to one seen earlier in the same problem is not checked again.
        """
        texts = [self.lm.tokenizer.decode(t, skip_special_tokens=True) for t in tokens]
        results: list[tuple[CheckResult, float] | None] = [self._cached(item, text) for item, text in zip(items, texts)]
        todo = [k for k, r in enumerate(results) if r is None]
        scored = score_completions(
            self.reward, [texts[k] for k in todo],
            [{"prompt": items[k].question, "reference": items[k].reference, "messages": items[k].messages,
              **items[k].context} for k in todo],
            timeout_s=self.config.reward_timeout_s,
        )
        for k, scored_k in zip(todo, scored):
            results[k] = scored_k
        stops = set(self.lm.eos_token_ids)
        attempts = []
        for k, (item, text) in enumerate(zip(items, texts)):
            result, reward_seconds = results[k]  # type: ignore[misc]  # every slot is filled by now
            details = dict(result.details)
            feedback = result.feedback
            if result.score is None:  # the reward skipped this answer: scored 0, and said so
                details["skipped"] = True
                feedback = f"reward skipped this answer: {feedback}" if feedback else "reward skipped this answer"
            score = 0.0 if result.score is None else float(result.score)
            attempts.append(Attempt(
                iteration=iteration, text=text, score=score, passed=self.config.passes(score),
                feedback=feedback, error=result.error, tokens=len(tokens[k]),
                truncated=len(tokens[k]) >= item.budget and (not tokens[k] or tokens[k][-1] not in stops),
                prefix_tokens=prefix_tokens[k] if prefix_tokens else 0, changed_positions=changed[k] if changed else 0,
                seconds=generate_seconds + update_seconds + reward_seconds,
                generate_seconds=generate_seconds, update_seconds=update_seconds,
                reward_seconds=reward_seconds, details=details,
            ))
        return attempts

    @staticmethod
    def _cached(item: _Problem, text: str) -> tuple[CheckResult, float] | None:
        """The earlier (error-free) result of an identical completion of the same problem, if any."""
        for previous in item.trace:
            if previous.text == text and previous.error is None:
                return CheckResult(score=previous.score, feedback=previous.feedback,
                                   details={**previous.details, "cached": True}), 0.0
        return None

    @staticmethod
    def _record(item: _Problem, attempt: Attempt, member: _Member | None = None) -> None:
        item.trace.append(attempt)
        item.seconds = time.perf_counter() - item.start
        if member is not None:
            member.trace.append(attempt)

    def _choose(self, trace: list[Attempt]) -> int:
        """Which attempt a problem returns (the config's ``select`` rule)."""
        return choose(trace, self.config.select)

    def _result(self, item: _Problem) -> SeekResult:
        trace = item.trace
        index = self._choose(trace)
        chosen = trace[index]
        return SeekResult(
            answer=extract_answer(chosen.text), text=chosen.text, score=chosen.score,
            iterations=trace[-1].iteration, trace=trace, stop_reason=item.stop_reason or "max_iters",
            prompt_tokens=len(item.prompt_ids), seconds=item.seconds, chosen=index,
        )
