"""`LatentSeekEngine`: a local HF model behind ``dspy.LM`` through DSPy 3.4's engine contract.

``dspy.LM("local/smollm2", engine=LatentSeekEngine(model="default"),
async_engine=AsyncLatentSeekEngine(...))`` is a working DSPy LM: the engine renders ``system`` +
``messages`` with the model's chat template and generates (greedy, or sampled when the request's
temperature is above 0), honouring ``max_tokens`` and ``stop``, and reports token usage.

Inside :class:`~latentseek_agents.integrations.dspy.LatentSeekModule` a *job* (reward function,
inputs, settings) is active in a context variable; the engine then runs the LatentSeek loop for
that call, parsing every attempt with the active adapter and the calling predictor's signature,
and returns the chosen attempt's text as the one response.

Weights are never copied: ``copy``/``deepcopy`` return the engine itself and the model comes from
the process-wide registry. ``dump_state``/``load_state`` let saved programs reload the LM.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from latentseek_agents.config import LatentSeekConfig
from latentseek_agents.prompts import normalize_role

from ..common import (
    CONFIG_FIELDS,
    MODEL_SETTINGS,
    build_config,
    check_model_and_reward,
    cut_at_stop,
    display_name,
    load_for,
)

__all__ = ["LatentSeekEngine", "AsyncLatentSeekEngine", "LatentSeekJob", "current_job"]


@dataclass
class LatentSeekJob:
    """What LatentSeekModule hands the engine for the LM calls of one forward pass."""

    reward_fn: Any
    inputs: dict[str, Any]
    overrides: dict[str, Any]
    results: list[Any] = field(default_factory=list)

    @property
    def attempts(self) -> list[dict[str, Any]]:
        """Every attempt of the job's LatentSeek runs: iteration, text, reward, parse error."""
        return [{**a.summary(), "text": a.text, "parse_error": a.details.get("parse_error")}
                for result in self.results for a in result.trace]


current_job: ContextVar[LatentSeekJob | None] = ContextVar("latentseek_dspy_job", default=None)


def _text_of(parts: Any) -> str:
    if parts is None:
        return ""
    if isinstance(parts, str):
        return parts
    return "".join(getattr(p, "text", "") or "" for p in parts)


class LatentSeekEngine:
    """A local model as a DSPy 3.4+ engine (``complete(Request) -> Response``).

    Args:
        model: ``"default"`` (SmolLM2-135M-Instruct), a hub id or local path, a ``ModelSpec`` or a
            loaded model.
        backend, device, dtype, quantize: the :class:`~latentseek_agents.model_spec.ModelSpec`
            settings beside a name or path (checked here, loaded on first use).
        **settings: LatentSeekConfig defaults for LatentSeek jobs (``max_iters``, ``lr``, ...);
            ``max_new_tokens`` is also the budget of plain calls without ``max_tokens``.

    Example:
        >>> import dspy
        >>> engine = LatentSeekEngine(model="default", max_new_tokens=256)
        >>> lm = dspy.LM("local/smollm2", engine=engine, async_engine=AsyncLatentSeekEngine(engine))
        >>> with dspy.context(lm=lm):                                      # doctest: +SKIP
        ...     dspy.Predict("question -> answer")(question="What is 12 + 30?")
    """

    supports_function_calling = False
    supports_reasoning = False
    supports_response_schema = False
    supported_params = ("max_tokens", "temperature", "stop", "seed")

    def __init__(self, model: Any = "default", *, backend: str = "auto", device: str = "auto", dtype: str = "auto",
                 quantize: str | None = None, **settings: Any) -> None:
        unknown = sorted(set(settings) - set(CONFIG_FIELDS))
        if unknown:
            raise TypeError(f"unknown LatentSeekEngine setting(s): {unknown}; known: {list(CONFIG_FIELDS)}")
        self.model_settings = {"backend": backend, "device": device, "dtype": dtype, "quantize": quantize}
        check_model_and_reward(model, None, self.model_settings)
        self.model = model
        self.device = device
        self.dtype = dtype
        self.settings = dict(settings)
        self.config: LatentSeekConfig = build_config({"prompt_style": "none", **settings})
        self.calls = 0
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ identity and state
    def __copy__(self) -> LatentSeekEngine:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> LatentSeekEngine:
        return self

    def __repr__(self) -> str:
        return f"LatentSeekEngine(model={display_name(self.model)!r}, settings={self.settings})"

    @property
    def lm(self) -> Any:
        """The loaded model (shared through the registry; loaded on first use)."""
        return load_for(self.model, self.model_settings)

    def dump_state(self) -> dict[str, Any]:
        """JSON-serialisable state (the model by name or path; never weights or secrets)."""
        from latentseek_agents.model_spec import ModelSpec
        from latentseek_agents.models import model_source

        model = model_source(self.model, "a LatentSeekEngine")
        if isinstance(model, ModelSpec):
            return {"model": model.source, **{k: getattr(model, k) for k in MODEL_SETTINGS},
                    "settings": dict(self.settings)}
        return {"model": model, **self.model_settings, "settings": dict(self.settings)}

    @classmethod
    def load_state(cls, state: dict[str, Any]) -> LatentSeekEngine:
        """Rebuild an engine from :meth:`dump_state` output."""
        return cls(state.get("model", "default"), **{k: state[k] for k in MODEL_SETTINGS if k in state},
                   **state.get("settings", {}))

    def close(self) -> None:
        """Nothing to release: the model stays in the shared registry."""

    # ------------------------------------------------------------------ requests
    def _messages(self, request: Any) -> list[dict[str, str]]:
        from dspy.lm15 import InvalidRequestError

        if request.tools:
            raise InvalidRequestError("LatentSeekEngine does not support tool calling")
        messages = []
        if request.system:
            messages.append({"role": "system", "content": _text_of(request.system)})
        for message in request.messages:
            try:
                role = normalize_role(message.role)
            except ValueError:
                raise InvalidRequestError(f"unsupported message role {message.role!r}") from None
            messages.append({"role": role, "content": message.text or ""})
        if not any(m["role"] == "user" and m["content"].strip() for m in messages):
            raise InvalidRequestError("the request has no non-empty user message")
        return messages

    def complete(self, request: Any) -> Any:
        """Answer one canonical DSPy request (a LatentSeek run when a job is active)."""
        from dspy.clients.engines.base import validate_request
        from dspy.lm15 import ContextLengthError, Message, Response, TextPart, Usage

        validate_request(request)
        messages = self._messages(request)
        cfg = request.config
        job = current_job.get()
        budget = cfg.max_tokens or self.config.max_new_tokens
        lm = self.lm
        from latentseek_agents.prompts import render_prompt

        prompt = render_prompt(lm.tokenizer, messages)
        context = lm.context_length
        if context is not None and len(prompt) >= context:
            raise ContextLengthError(f"the prompt has {len(prompt)} tokens; the model's context is {context}")
        if context is not None:
            budget = min(budget, context - len(prompt))
        with self._lock:
            self.calls += 1
        if job is None:
            text, generated, hit_limit = self._plain(lm, prompt, budget, cfg)
        else:
            text, generated, hit_limit = self._seek(lm, messages, budget, job)
        text, stopped = cut_at_stop(text, cfg.stop)
        finish = "stop" if stopped or not hit_limit else "length"
        return Response(id=None, model=display_name(self.model), message=Message.assistant([TextPart(text)]),
                        finish_reason=finish, usage=Usage(input_tokens=len(prompt), output_tokens=generated,
                                                          total_tokens=len(prompt) + generated))

    def _plain(self, lm: Any, prompt: list[int], budget: int, cfg: Any) -> tuple[str, int, bool]:
        from latentseek_agents.generation import generate, seeded_generator

        temperature = float(cfg.temperature or 0.0)
        generator = seeded_generator(lm, cfg.seed) if cfg.seed is not None and temperature > 0 else None
        gen = generate(lm, [prompt], budget, temperature=temperature, generator=generator)[0]
        hit_limit = len(gen.tokens) >= budget and (not gen.tokens or gen.tokens[-1] not in lm.eos_token_ids)
        return lm.tokenizer.decode(gen.tokens, skip_special_tokens=True), len(gen.tokens), hit_limit

    def _seek(self, lm: Any, messages: list[dict[str, str]], budget: int, job: LatentSeekJob) -> tuple[str, int, bool]:
        from latentseek_agents.seek import LatentSeek

        config = build_config({**self.config.to_dict(), **job.overrides, "prompt_style": "none",
                               "max_new_tokens": budget})
        reward = _AttemptReward(job)
        result = LatentSeek(lm, reward=reward, config=config).solve(messages)
        job.results.append(result)
        chosen = result.chosen_attempt
        return result.text, result.generated_tokens, bool(chosen is not None and chosen.truncated)

    def stream(self, request: Any) -> Iterator[Any]:
        """The completed response as DSPy stream events (start, text, end)."""
        from dspy.lm15 import response_to_events

        return response_to_events(self.complete(request))


class _AttemptReward:
    """Parse an attempt with the active adapter and the calling predictor's signature, then score it."""

    def __init__(self, job: LatentSeekJob) -> None:
        import dspy

        self.job = job
        callers = dspy.settings.caller_modules or []
        self.predictor = next((m for m in reversed(callers) if isinstance(m, dspy.Predict)), None)
        self.adapter = dspy.settings.adapter or dspy.ChatAdapter()

    def __call__(self, completion: str, **context: Any) -> Any:
        import dspy

        from latentseek_agents.scoring import CheckResult, coerce_result

        if self.predictor is None:
            return CheckResult.failure("no calling dspy.Predict found", parse_error="no calling dspy.Predict found")
        try:
            fields = self.adapter.parse(self.predictor.signature, completion)
        except Exception as exc:  # noqa: BLE001 - AdapterParseError and friends: a failed attempt
            error = f"{type(exc).__name__}: {str(exc)[:300]}"
            return CheckResult(score=0.0, passed=False, feedback=f"adapter could not parse the answer: {error}",
                               error=error, details={"parse_error": error})
        return coerce_result(self.job.reward_fn(dict(self.job.inputs), dspy.Prediction(**fields)))


class AsyncLatentSeekEngine:
    """The async twin: runs the sync engine in a worker thread (the event loop stays free).

    Example:
        >>> engine = LatentSeekEngine()
        >>> async_engine = AsyncLatentSeekEngine(engine)
    """

    def __init__(self, engine: LatentSeekEngine | None = None, **kwargs: Any) -> None:
        self.engine = engine or LatentSeekEngine(**kwargs)

    def __copy__(self) -> AsyncLatentSeekEngine:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> AsyncLatentSeekEngine:
        return self

    def dump_state(self) -> dict[str, Any]:
        """The sync engine's state."""
        return self.engine.dump_state()

    @classmethod
    def load_state(cls, state: dict[str, Any]) -> AsyncLatentSeekEngine:
        """Rebuild from :meth:`dump_state` output."""
        return cls(LatentSeekEngine.load_state(state))

    async def complete(self, request: Any) -> Any:
        """Answer one request without blocking the event loop."""
        return await asyncio.to_thread(self.engine.complete, request)

    async def stream(self, request: Any) -> AsyncIterator[Any]:
        """The completed response as stream events."""
        for event in await asyncio.to_thread(lambda: list(self.engine.stream(request))):
            yield event

    async def aclose(self) -> None:
        """Nothing to release."""
