"""`ChatLatentSeek`: LatentSeek as a LangChain chat model (LCEL, agents, LangGraph nodes).

Each call runs the LatentSeek loop on the conversation. Streaming yields one reasoning block per
attempt (iteration, score, feedback) and then the answer as a text block, so ``.text`` and output
parsers see only the answer. Per-call reference answers and settings come from invoke keyword
arguments (``chat.invoke(q, reference="72", max_iters=2)``) or from ``config["configurable"]``
(``{"reference": "72"}``), so one chat model serves a whole dataset.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextvars import ContextVar
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.callbacks.manager import handle_event
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import ensure_config, get_callback_manager_for_config
from pydantic import Field, field_validator

from latentseek_agents.config import MAX_TIMEOUT_S
from latentseek_agents.validation import check_number

from ..common import attempt_line, bounded_search, cut_at_stop
from .settings import LatentSeekSettings, messages_to_dicts, ours_from_configurable

__all__ = ["ChatLatentSeek", "ITERATION_EVENT"]

ITERATION_EVENT = "latentseek_iteration"
# BaseChatModel.stream gives _stream no run manager: stream()/astream() put the run's callback
# manager and run id here, so per-attempt custom events reach astream_events and handlers.
_stream_run: ContextVar[tuple[Any, uuid.UUID] | None] = ContextVar("latentseek_stream_run", default=None)


def attempt_event(attempt: Any) -> dict[str, Any]:
    """The JSON-serialisable payload of a ``latentseek_iteration`` event."""
    return {**attempt.summary(), "preview": attempt.text[-200:]}


def emit_iteration(run_manager: Any, attempt: Any) -> None:
    """Send a ``latentseek_iteration`` custom event on the chat model's own run."""
    if run_manager is not None:
        handlers, run_id, tags, metadata = (run_manager.handlers, run_manager.run_id, run_manager.tags,
                                            run_manager.metadata)
    elif (target := _stream_run.get()) is not None:
        manager, run_id = target
        handlers, tags, metadata = manager.handlers, manager.tags, manager.metadata
    else:
        return
    if handlers:
        handle_event(handlers, "on_custom_event", "ignore_custom_event", ITERATION_EVENT, attempt_event(attempt),
                     run_id=run_id, tags=tags, metadata=metadata)


class ChatLatentSeek(LatentSeekSettings, BaseChatModel):
    """A chat model whose answers are improved at test time by LatentSeek.

    Tool calling and structured output are not supported (a small local model is not a reliable
    tool caller); use :class:`~latentseek_agents.integrations.langchain.LatentSeekTool` to let an
    agent driven by another model hand sub-questions to LatentSeek.

    Example:
        >>> from latentseek_agents.rewards import MathAnswer
        >>> chat = ChatLatentSeek(model="default", reward=MathAnswer(), max_iters=2)
        >>> chat.invoke("What is 12 + 30?", reference="42").text        # doctest: +SKIP
    """

    temperature: float | None = Field(default=None, description="0 or None: LatentSeek decodes greedily")
    stop: list[str] | None = Field(default=None, alias="stop_sequences")
    streaming: bool = Field(default=False, description="invoke() goes through the stream (LangChain's rule)")
    timeout: float | None = Field(default=None, description="wall-clock bound of one call, in seconds: past it "
                                  "the search stops at its next decoding step and TimeoutError is raised")
    max_retries: int | None = Field(default=None, description="0 or None: a local search has no transient "
                                    "failures to retry (use .with_retry() for a retry policy)")

    @field_validator("temperature")
    @classmethod
    def _greedy(cls, value: float | None) -> float | None:
        if value not in (None, 0):
            raise ValueError(f"temperature must be 0 or None: LatentSeek decodes greedily (its search replaces "
                             f"sampling), got {value!r}")
        return value

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: float | None) -> float | None:
        return check_number("timeout", value, 0, MAX_TIMEOUT_S, low_open=True, optional=True)

    @field_validator("max_retries")
    @classmethod
    def _no_retries(cls, value: int | None) -> int | None:
        if value not in (None, 0):
            raise ValueError(f"max_retries must be 0 or None: a local search has no transient failures to retry "
                             f"(wrap the model in .with_retry() for a retry policy), got {value!r}")
        return value

    @property
    def _llm_type(self) -> str:
        return "latentseek-chat"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return self.settings_fingerprint()

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(ls_provider="latentseek",
                                 ls_model_name=kwargs.get("model") or self.model_display_name, ls_model_type="chat",
                                 ls_max_tokens=kwargs.get("max_new_tokens") or getattr(self, "max_new_tokens"))
        if self.temperature is not None:
            params["ls_temperature"] = self.temperature
        if stop or self.stop:
            params["ls_stop"] = stop or self.stop
        return params

    # ------------------------------------------------------------------ per-call settings
    @staticmethod
    def _with_configurable(config: RunnableConfig | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Move ``reference`` and settings from ``config["configurable"]`` into the call's kwargs.

        BaseChatModel does not hand the config to ``_generate``; as kwargs they also enter the
        LLM-cache key, so answers for different references are never shared.
        """
        return {**ours_from_configurable(ensure_config(config).get("configurable")), **kwargs}

    def invoke(self, input: Any, config: RunnableConfig | None = None, *, stop: list[str] | None = None,
               **kwargs: Any) -> AIMessage:
        return super().invoke(input, config, stop=stop, **self._with_configurable(config, kwargs))

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, *, stop: list[str] | None = None,
                      **kwargs: Any) -> AIMessage:
        return await super().ainvoke(input, config, stop=stop, **self._with_configurable(config, kwargs))

    @staticmethod
    def _stream_config(config: RunnableConfig | None) -> tuple[RunnableConfig, tuple[Any, Any]]:
        config = ensure_config(config)
        config["run_id"] = config.get("run_id") or uuid.uuid4()
        return config, (get_callback_manager_for_config(config), config["run_id"])

    def stream(self, input: Any, config: RunnableConfig | None = None, *, stop: list[str] | None = None,
               **kwargs: Any) -> Iterator[AIMessageChunk]:
        config, target = self._stream_config(config)
        kwargs = self._with_configurable(config, kwargs)
        token = _stream_run.set(target)
        try:
            yield from super().stream(input, config, stop=stop, **kwargs)
        finally:
            _stream_run.reset(token)

    async def astream(self, input: Any, config: RunnableConfig | None = None, *, stop: list[str] | None = None,
                      **kwargs: Any) -> AsyncIterator[AIMessageChunk]:
        config, target = self._stream_config(config)
        kwargs = self._with_configurable(config, kwargs)
        token = _stream_run.set(target)
        try:
            async for chunk in super().astream(input, config, stop=stop, **kwargs):
                yield chunk
        finally:
            _stream_run.reset(token)

    # ------------------------------------------------------------------ running the engine
    def _prepare(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> tuple[Any, list[dict[str, str]], Any]:
        if not messages:
            raise ValueError("ChatLatentSeek needs at least one message, got an empty conversation")
        overrides, reference = self.call_overrides(kwargs, None)
        return self.seeker(overrides), messages_to_dicts(messages), reference

    def _message(self, result: Any, stop: list[str] | None) -> dict[str, Any]:
        text, _ = cut_at_stop(result.text, stop or self.stop)
        usage = {"input_tokens": result.prompt_tokens, "output_tokens": result.generated_tokens,
                 "total_tokens": result.prompt_tokens + result.generated_tokens}
        metadata = {
            "model_name": self.model_display_name,
            "finish_reason": "stop",
            "latentseek": result.summary(),
        }
        return {"text": text, "usage": usage, "metadata": metadata}

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        seeker, chat, reference = self._prepare(messages, kwargs)
        result = None
        for event in bounded_search(seeker, chat, reference, self.timeout):
            if event.attempt is not None:
                emit_iteration(run_manager, event.attempt)
            if event.result is not None:
                result = event.result
        out = self._message(result, stop)
        message = AIMessage(content=out["text"], usage_metadata=out["usage"], response_metadata=out["metadata"])
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        seeker, chat, reference = self._prepare(messages, kwargs)
        # A consumer of the engine's stream: no thread, no queue; a caller that stops reading
        # (closes this generator) stops the search, with the model lock free.
        result = None
        stream = bounded_search(seeker, chat, reference, self.timeout)
        try:
            for event in stream:
                if event.result is not None:
                    result = event.result
                    continue
                emit_iteration(run_manager, event.attempt)
                yield ChatGenerationChunk(message=AIMessageChunk(
                    content=[{"type": "reasoning", "reasoning": attempt_line(event.attempt), "index": 0}]))
        finally:
            stream.close()
        out = self._message(result, stop)
        yield ChatGenerationChunk(message=AIMessageChunk(
            content=[{"type": "text", "text": out["text"], "index": 1}], usage_metadata=out["usage"],
            response_metadata=out["metadata"], chunk_position="last"))
