"""`LatentSeekModule`: a drop-in for ``dspy.Refine`` / ``dspy.BestOfN`` that improves the inner
module's answer with LatentSeek instead of resampling.

``LatentSeekModule(module, N, reward_fn, threshold, fail_count=None, **latentseek_settings)`` takes
the same arguments as Refine and BestOfN: ``reward_fn(args, pred) -> float`` (in [0, 1]; values
outside are clamped and flagged), ``N`` = most attempts (the first answer plus ``N - 1`` latent
updates), stop once the reward is at or above ``threshold``; the best attempt is returned (as
BestOfN does). The latent loop runs where the model is, inside :class:`LatentSeekEngine`, so the
configured LM must be a LatentSeek-backed ``dspy.LM``.

Unlike BestOfN/Refine, the inner module is never deep-copied, so its predictors' traces reach
``BootstrapFewShot`` / ``MIPROv2`` (demos are found), ``fail_count`` is a per-call budget (0 means
zero), and there is an ``aforward``.

Concurrency: ``dspy.Evaluate(num_threads=N)`` and ``dspy.Parallel`` call the engine from several
threads; each call is deterministic and the device is guarded by the model's lock, so results
equal a serial run. DSPy's ``ParallelExecutor`` re-submits any of the last (at most 3) items that
has run for 120 s or more, once: a slow LatentSeek call may then run twice. Keep per-item budgets
(``N``, ``max_new_tokens``) small enough to finish well under 120 s, or run the program through
``dspy.Parallel(timeout=0)`` yourself, which disables the re-submission.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dspy

from ..common import CONFIG_FIELDS, build_config, fingerprint, unknown_names
from .engine import LatentSeekEngine, LatentSeekJob, current_job

__all__ = ["LatentSeekModule"]


# Keywords dspy.Predict takes beside its signature's inputs.
_PREDICT_KEYWORDS = ("config", "demos", "lm", "signature", "new_signature")


def _engine_of(lm: Any) -> Any:
    return getattr(lm, "engine", None) or getattr(lm, "_engine", None)


class _Held:
    """A value kept where DSPy's ``named_parameters`` does not look (not a Module, list, tuple or dict)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __getstate__(self) -> Any:
        return self.value

    def __setstate__(self, value: Any) -> None:
        self.value = value


def _input_names(module: Any) -> set[str] | None:
    """The inputs ``module`` takes: its signature's, its ``forward``'s named parameters, or its only
    predictor's; None when they can't be known (then nothing is checked)."""
    import inspect

    signature = getattr(module, "signature", None)
    if signature is not None and hasattr(signature, "input_fields"):
        return set(signature.input_fields)
    try:
        params = inspect.signature(module.forward).parameters.values()
    except (TypeError, ValueError):
        return None
    if not any(p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) for p in params):
        return {p.name for p in params}
    predictors = module.named_predictors()
    if len(predictors) == 1:
        return set(predictors[0][1].signature.input_fields)
    return None


class LatentSeekModule(dspy.Module):
    """Improve ``module``'s answer at test time with LatentSeek, scored by ``reward_fn``.

    Args:
        module: the DSPy module to run (e.g. ``dspy.ChainOfThought("question -> answer")``).
        N: most attempts per call (first answer + ``N - 1`` latent updates).
        reward_fn: ``reward_fn(args: dict, pred: dspy.Prediction) -> float`` in [0, 1].
        threshold: stop once a reward is at or above this.
        fail_count: inner-module exceptions tolerated per call before re-raising (default 0).
        json_fallback: let ChatAdapter retry a failed parse with JSONAdapter (an extra full model call).
        **latentseek_settings: LatentSeekConfig settings (``lr``, ``fraction``, ``max_new_tokens``...).

    Returns (from a call): the inner module's output fields plus ``score`` (the chosen attempt's
    reward) and ``iterations`` (latent updates done); when the inner module already has such
    fields, these are named ``latentseek_score`` / ``latentseek_iterations``.

    Example:
        >>> program = LatentSeekModule(dspy.ChainOfThought("question -> answer"), N=3,
        ...                            reward_fn=lambda args, pred: float(pred.answer == "4"), threshold=1.0)
        >>> program(question="What is 2 + 2?").answer                      # doctest: +SKIP
    """

    def __init__(self, module: dspy.Module, N: int, reward_fn: Any, threshold: float, fail_count: int | None = None,
                 *, json_fallback: bool = False, **latentseek_settings: Any) -> None:
        super().__init__()
        if not isinstance(N, int) or isinstance(N, bool) or N < 1:
            raise ValueError(f"N must be an integer >= 1, got {N!r}")
        if not callable(reward_fn):
            raise TypeError(f"reward_fn must be callable as reward_fn(args, pred), got {type(reward_fn).__name__}")
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
            raise ValueError(f"threshold must be a number in [0, 1], got {threshold!r}")
        if fail_count is not None and (not isinstance(fail_count, int) or fail_count < 0):
            raise ValueError(f"fail_count must be None or an integer >= 0, got {fail_count!r}")
        problem = unknown_names(list(latentseek_settings), CONFIG_FIELDS)
        if problem:
            raise TypeError(f"LatentSeekModule: {problem}")
        owned = {"max_iters": "N (N - 1 latent updates)", "score_threshold": "threshold",
                 "inclusive_threshold": "the module (a reward at or above threshold passes, as in dspy.Refine)"}
        for name in sorted(set(latentseek_settings) & set(owned)):
            raise ValueError(f"LatentSeekModule sets {name} from {owned[name]}; don't pass {name}=")
        self.module = module
        self.N = N
        # Stored behind a lambda (as BestOfN/Refine do) and in a holder DSPy's named_parameters does not
        # walk, so a reward that is itself a DSPy module is never optimized with the program.
        self.reward_fn = lambda *args: reward_fn(*args)
        self._reward = _Held(reward_fn)
        self._inputs = _input_names(module)
        self.threshold = float(threshold)
        self.fail_count = fail_count or 0
        self.json_fallback = json_fallback
        self.overrides = {"select": "best", **latentseek_settings, "max_iters": N - 1,
                          "score_threshold": self.threshold, "inclusive_threshold": True}
        build_config(self.overrides)  # validate now: "lr must be > 0, got -1"

    def _check_lm(self) -> Any:
        """Every predictor must run on a LatentSeek-backed LM; returns the context LM (may be None)."""
        context_lm = dspy.settings.lm
        for name, predictor in self.module.named_predictors() or [("module", None)]:
            lm = getattr(predictor, "lm", None) or context_lm
            if lm is None:
                raise ValueError("LatentSeekModule needs a configured LM: dspy.LM('local/<name>', "
                                 "engine=LatentSeekEngine(...)) set with dspy.context(lm=...) or dspy.configure")
            if not isinstance(_engine_of(lm), LatentSeekEngine):
                raise ValueError(
                    f"LatentSeekModule needs a LatentSeek-backed LM, but {name} uses {lm!r} "
                    f"(engine {type(_engine_of(lm)).__name__}). Use dspy.LM('local/<name>', "
                    "engine=LatentSeekEngine(...), async_engine=AsyncLatentSeekEngine(...))"
                )
            if getattr(predictor, "lm", None) is not None and getattr(lm, "cache", False):
                raise ValueError(
                    f"{name} has its own LM with DSPy's cache on: a LatentSeek answer would be cached under "
                    "the plain request's key. Set the LM with dspy.context(lm=...) instead, or build the "
                    "predictor's LM with cache=False"
                )
        return context_lm

    def _context(self, kwargs: dict[str, Any]) -> tuple[LatentSeekJob, dict[str, Any]]:
        lm = self._check_lm()
        job = LatentSeekJob(reward_fn=self._reward.value, inputs=dict(kwargs), overrides=dict(self.overrides))
        # The job changes the answer, so it must change DSPy's cache key too.
        key = fingerprint((self._reward.value, sorted(self.overrides.items())))
        settings: dict[str, Any] = {}
        if lm is not None:
            settings["lm"] = lm.copy(metadata={"latentseek": key})
        adapter = dspy.settings.adapter
        if adapter is None or (type(adapter) is dspy.ChatAdapter and adapter.use_json_adapter_fallback
                               and not self.json_fallback):
            settings["adapter"] = dspy.ChatAdapter(use_json_adapter_fallback=self.json_fallback)
        return job, settings

    def _finish(self, pred: dspy.Prediction, job: LatentSeekJob) -> dspy.Prediction:
        last = job.results[-1] if job.results else None
        fields = dict(pred.items())
        score_key = "latentseek_score" if "score" in fields else "score"
        iter_key = "latentseek_iterations" if "iterations" in fields else "iterations"
        skipped = last is not None and bool(last.trace[last.chosen].details.get("skipped"))
        fields[score_key] = last.score if last is not None and not skipped else None  # None: the reward skipped
        fields[iter_key] = last.iterations if last is not None else 0
        out = dspy.Prediction(**fields)
        # Per-attempt texts, rewards and parse errors: a plain attribute, not a Prediction field.
        object.__setattr__(out, "latentseek_attempts", job.attempts)
        return out

    @contextmanager
    def _job(self, kwargs: dict[str, Any]) -> Iterator[LatentSeekJob]:
        """Activate a job (and the LM/adapter it needs) for one run of the inner module."""
        job, settings = self._context(kwargs)
        token = current_job.set(job)
        try:
            with dspy.context(**settings):
                yield job
        except Exception as exc:
            exc.latentseek_attempts = job.attempts  # type: ignore[attr-defined]
            raise
        finally:
            current_job.reset(token)

    def _check_inputs(self, kwargs: dict[str, Any]) -> None:
        """Refuse an input the inner module does not take (DSPy itself only warns), naming the closest."""
        if self._inputs is None:
            return
        problem = unknown_names([k for k in kwargs if k not in _PREDICT_KEYWORDS], sorted(self._inputs), "input")
        if problem:
            raise ValueError(f"LatentSeekModule: {problem}; the inner module takes {sorted(self._inputs)}")

    def forward(self, **kwargs: Any) -> dspy.Prediction:
        """Run the inner module with the LatentSeek loop active in the engine."""
        self._check_inputs(kwargs)
        for tries_left in range(self.fail_count, -1, -1):
            try:
                with self._job(kwargs) as job:
                    return self._finish(self.module(**kwargs), job)
            except Exception:
                if not tries_left:
                    raise
        raise AssertionError("unreachable")

    async def aforward(self, **kwargs: Any) -> dspy.Prediction:
        """Async twin of :meth:`forward` (the engine runs in a worker thread)."""
        self._check_inputs(kwargs)
        for tries_left in range(self.fail_count, -1, -1):
            try:
                with self._job(kwargs) as job:
                    return self._finish(await self.module.acall(**kwargs), job)
            except Exception:
                if not tries_left:
                    raise
        raise AssertionError("unreachable")
