"""`LatentSeekRunnable`: a Runnable that returns the whole SeekResult (answer, score, trace).

Input: a question string, or a dict with ``question`` or ``messages`` and an optional
``reference``. Each attempt is a child run (``latentseek.iteration``, visible in tracing) and a
custom event ``latentseek_iteration`` (visible in ``astream_events``). ``batch`` runs the engine's
batched solve (one batch on the device, not a thread pool racing on it); ``abatch`` runs that in a
worker thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.callbacks import CallbackManagerForChainRun, dispatch_custom_event
from langchain_core.runnables import RunnableConfig, RunnableSerializable
from langchain_core.runnables.config import run_in_executor

from latentseek_agents.result import SeekResult

from .chat_model import ITERATION_EVENT, attempt_event
from .settings import LatentSeekSettings

__all__ = ["LatentSeekRunnable"]


_INPUT_KEYS = ("question", "messages", "reference")


def _problem(value: Any) -> tuple[Any, Any]:
    """(question or messages, reference) from a runnable input; unknown or conflicting keys are refused."""
    if isinstance(value, str):
        return value, None
    if isinstance(value, Mapping):
        from ..common import unknown_names

        problem_keys = [k for k in ("question", "messages") if value.get(k) is not None]
        unknown = unknown_names([str(k) for k in value], _INPUT_KEYS, "input key")
        if unknown:
            raise ValueError(f"input: {unknown}; a dict input takes 'question' or 'messages', and 'reference'")
        if len(problem_keys) != 1:
            what = "both" if problem_keys else "neither"
            raise ValueError(f"input must be a question string or a dict with exactly one of 'question' and "
                             f"'messages', got {what} (keys {sorted(value)})")
        problem = value[problem_keys[0]]
        if not isinstance(problem, str):
            from .settings import messages_to_dicts

            problem = [m if isinstance(m, Mapping) else messages_to_dicts([m])[0] for m in problem]
        return problem, value.get("reference")
    raise ValueError(f"input must be a question string or a dict, got {type(value).__name__}")


class LatentSeekRunnable(LatentSeekSettings, RunnableSerializable[Any, SeekResult]):
    """LatentSeek as a Runnable returning the whole :class:`~latentseek_agents.SeekResult`.

    Example:
        >>> from latentseek_agents.rewards import MathAnswer
        >>> seek = LatentSeekRunnable(model="default", reward=MathAnswer(), max_iters=2)
        >>> seek.invoke({"question": "What is 12 + 30?", "reference": "42"}).score   # doctest: +SKIP
    """

    name: str | None = "latentseek"

    def _run(self, value: Any, run_manager: CallbackManagerForChainRun, config: RunnableConfig,
             **kwargs: Any) -> SeekResult:
        overrides, reference = self.call_overrides(dict(kwargs), config.get("configurable"))
        problem, given = _problem(value)
        seeker = self.seeker(overrides)
        children = run_manager.get_child()

        def on_attempt(_: int, attempt: Any) -> None:
            data = attempt_event(attempt)
            child = children.on_chain_start(None, {"iteration": attempt.iteration}, name="latentseek.iteration")
            child.on_chain_end(data)
            dispatch_custom_event(ITERATION_EVENT, data, config=config)

        return seeker.solve(problem, reference=given if given is not None else reference, on_attempt=on_attempt)

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> SeekResult:
        """Solve one problem."""
        return self._call_with_config(self._run, input, config, run_type="chain", **kwargs)

    def _run_batch(self, inputs: list[Any], run_manager: list[CallbackManagerForChainRun],
                   config: list[RunnableConfig], **kwargs: Any) -> list[Any]:
        run_managers, configs = run_manager, config  # the names _batch_with_config passes them by
        overrides, reference = self.call_overrides(dict(kwargs), configs[0].get("configurable") if configs else None)
        outputs: list[Any] = [None] * len(inputs)
        problems, references, slots = [], [], []
        for i, value in enumerate(inputs):
            try:
                problem, given = _problem(value)
            except ValueError as exc:
                outputs[i] = exc
                continue
            per_call = (configs[i].get("configurable") or {}).get("reference")
            problems.append(problem)
            references.append(given if given is not None else per_call if per_call is not None else reference)
            slots.append(i)
        if problems:
            children = [run_managers[i].get_child() for i in slots]

            def on_attempt(k: int, attempt: Any) -> None:
                data = attempt_event(attempt)
                child = children[k].on_chain_start(None, {"iteration": attempt.iteration},
                                                   name="latentseek.iteration")
                child.on_chain_end(data)
                dispatch_custom_event(ITERATION_EVENT, data, config=configs[slots[k]])

            # A problem that can't run (empty, too long) gets its own error; the others are solved.
            results = self.seeker(overrides).solve_batch(problems, references, on_attempt=on_attempt,
                                                         return_exceptions=True)
            for i, result in zip(slots, results):
                outputs[i] = result
        return outputs

    def batch(self, inputs: list[Any], config: RunnableConfig | list[RunnableConfig] | None = None, *,
              return_exceptions: bool = False, **kwargs: Any) -> list[Any]:
        """Solve several problems in one batched LatentSeek run."""
        if not inputs:
            return []
        return self._batch_with_config(self._run_batch, inputs, config, return_exceptions=return_exceptions,
                                       run_type="chain", **kwargs)

    async def abatch(self, inputs: list[Any], config: RunnableConfig | list[RunnableConfig] | None = None, *,
                     return_exceptions: bool = False, **kwargs: Any) -> list[Any]:
        """``batch`` in a worker thread (the event loop stays free)."""
        return await run_in_executor(None, self.batch, inputs, config, return_exceptions=return_exceptions, **kwargs)
