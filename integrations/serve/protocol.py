"""The OpenAI chat-completions protocol as LatentSeek serves it: the strict request schema, the
deployment's limits, OpenAI-style error objects, and the completion / chunk bodies.

Framework-free (pydantic only), so every rule here is tested without a server. LatentSeek's own
settings and the reward's context travel in one extension object, ``"latentseek"`` (what OpenAI
clients send through ``extra_body``)::

    {"model": "SmolLM2-135M-Instruct", "messages": [{"role": "user", "content": "2 + 3?"}],
     "max_tokens": 256,
     "latentseek": {"reward": "math", "reference": "5", "max_iters": 2}}

Everything is checked strictly: an unknown field is refused with its name and the closest valid
one, a budget above the deployment's maximum is refused with the maximum, a setting the engine
cannot honour (``temperature`` 0.7, ``n`` 2, images) is refused rather than ignored.
"""

from __future__ import annotations

import difflib
import json
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from latentseek_agents.config import LatentSeekConfig
from latentseek_agents.prompts import check_text
from latentseek_agents.validation import ConfigError, check_int

from ..common import CONFIG_FIELDS, unknown_names

__all__ = ["APIError", "EXTENSION", "EXTENSION_FIELDS", "SETTING_LIMITS", "ParsedRequest", "ServeLimits", "chunk_body",
           "completion_body", "new_id", "parse_request", "summary", "usage"]

EXTENSION = "latentseek"
# Per-request LatentSeek settings: every LatentSeekConfig field except the two that have an OpenAI
# name (max_tokens -> max_new_tokens, seed -> seed), plus the reward's name and context.
_SETTINGS = tuple(name for name in CONFIG_FIELDS if name not in ("max_new_tokens", "seed"))
_CONTEXT = ("reward", "reference", "tests", "entry_point")
EXTENSION_FIELDS = _CONTEXT + _SETTINGS


class APIError(Exception):
    """An error answered as OpenAI does: ``{"error": {"message", "type", "param", "code"}}``.

    Example:
        >>> APIError(400, "n must be 1, got 2", param="n").body()["error"]["param"]
        'n'
    """

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None,
                 kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.kind = status, message, param, code, kind

    def body(self) -> dict[str, Any]:
        """The JSON error object."""
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}


@dataclass(frozen=True)
class ServeLimits:
    """What one request may ask of the deployment (its budgets are refused above these).

    Args:
        max_iters: most latent updates per request.
        max_tokens: most new tokens per answer (``max_tokens`` / ``max_completion_tokens``).
        max_steps_per_iter: most optimizer steps per update.
        max_latents: most optimized positions.
        max_population: most chains per problem (``population``: each costs a generation per round).
        max_samples_per_step: most sampled prefixes per update (``samples_per_step``: each costs a generation).
        max_messages: most messages in one request.
        max_body_bytes: largest request body (413 above).

    Example:
        >>> ServeLimits(max_iters=3).max_iters
        3
    """

    max_iters: int = 10
    max_tokens: int = 1024
    max_steps_per_iter: int = 4
    max_latents: int = 300
    max_population: int = 4
    max_samples_per_step: int = 4
    max_messages: int = 256
    max_body_bytes: int = 1 << 20

    def __post_init__(self) -> None:
        for f in fields(self):
            check_int(f.name, getattr(self, f.name), 0 if f.name == "max_iters" else 1)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _TextPart(_Strict):
    type: Literal["text"]
    text: str


class _Message(_Strict):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[_TextPart] | None = None
    name: str | None = None
    tool_call_id: str | None = None


class _StreamOptions(_Strict):
    include_usage: bool = False


class _Request(_Strict):
    model: str
    messages: list[_Message] = Field(min_length=1)
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int | None = None
    stream: bool = False
    stream_options: _StreamOptions | None = None
    temperature: float | None = None
    top_p: float | None = None
    user: str | None = None
    latentseek: dict[str, Any] | None = None


_TOP_FIELDS = tuple(_Request.model_fields)


@dataclass
class ParsedRequest:
    """A checked request: the chat messages, the run's config, the reward's name and context."""

    messages: list[dict[str, str]]
    config: LatentSeekConfig
    reward: str
    context: dict[str, Any]
    stop: list[str]
    stream: bool
    include_usage: bool


def _param(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("str", "list[_TextPart]", "int", "float", "bool") or "[" in str(part):
            continue  # pydantic's union-branch labels
        else:
            out += ("." if out else "") + str(part)
    return out


def _from_validation(exc: ValidationError) -> APIError:
    errors = exc.errors()
    parts = [e for e in errors if "content" in e["loc"] and e["loc"][-1] == "type" and e["type"] == "literal_error"]
    if parts:
        return APIError(422, f"{_param(parts[0]['loc'])}: this model reads text only (content parts of type 'text'), "
                        f"got {parts[0]['input']!r:.40}", param=_param(parts[0]["loc"]), code="unsupported_content")
    extra = [e for e in errors if e["type"] == "extra_forbidden"]
    if extra:
        loc = extra[0]["loc"]
        close = difflib.get_close_matches(str(loc[-1]), EXTENSION_FIELDS, n=1, cutoff=0.8) if len(loc) == 1 else []
        if close:
            return APIError(400, f"unknown field {loc[0]!r} in the request (did you mean {close[0]!r}?): LatentSeek "
                            f"settings and the reward's context go in the {EXTENSION!r} object "
                            f"(extra_body={{'{EXTENSION}': {{...}}}})", param=str(loc[0]), code="unknown_field")
        known = {(): _TOP_FIELDS, ("stream_options",): tuple(_StreamOptions.model_fields)}.get(
            tuple(p for p in loc[:-1] if not isinstance(p, int)),
            tuple(_Message.model_fields) if loc[0] == "messages" and len(loc) == 3 else tuple(_TextPart.model_fields))
        problem = unknown_names([str(loc[-1])], known, "field") or f"unknown field {loc[-1]!r}"
        return APIError(400, problem + f" in {_param(loc[:-1]) or 'the request'}",
                        param=_param(loc), code="unknown_field")
    first = min(errors, key=lambda e: len(e["loc"]))  # the outermost problem reads best
    if first["type"] == "missing":
        return APIError(400, f"{_param(first['loc'])} is required", param=_param(first["loc"]), code="missing_field")
    given = first.get("input")
    shown = repr(given)[:80] if isinstance(given, (str, int, float, bool, type(None))) else f"a {type(given).__name__}"
    return APIError(400, f"{_param(first['loc'])}: {first['msg'].lower()}, got {shown}", param=_param(first["loc"]),
                    code="invalid_value")


def _check_text(text: str, param: str) -> None:
    try:
        check_text(text, param)
    except ValueError as exc:
        raise APIError(422, str(exc), param=param, code="invalid_text") from None


def _content(message: _Message, i: int) -> str:
    param = f"messages[{i}].content"
    if message.content is None:
        if message.role != "assistant":
            raise APIError(400, f"{param} is required for role {message.role!r}", param=param, code="missing_field")
        return ""
    text = message.content if isinstance(message.content, str) else "".join(p.text for p in message.content)
    _check_text(text, param)
    return text


def _budget(name: str, value: Any, maximum: int, low: int = 1) -> int:
    try:
        return check_int(name, value, low, maximum)  # type: ignore[return-value]
    except ValueError:
        raise APIError(400, f"{name} must be an integer in [{low}, {maximum}] on this server, got {value!r}",
                       param=name, code="invalid_value") from None


# The LatentSeekConfig settings a request may raise, each bounded by a ServeLimits field: setting ->
# (limit field, lowest value). max_new_tokens is bounded by max_tokens (OpenAI's own field) the same way.
SETTING_LIMITS = {"max_iters": ("max_iters", 0), "steps_per_iter": ("max_steps_per_iter", 1),
                  "max_latents": ("max_latents", 1), "population": ("max_population", 1),
                  "samples_per_step": ("max_samples_per_step", 1), "max_new_tokens": ("max_tokens", 1)}


def _settings(ext: Mapping[str, Any], limits: ServeLimits) -> dict[str, Any]:
    out = {}
    for name in _SETTINGS:
        if name in ext:
            if name in SETTING_LIMITS:
                cap, low = SETTING_LIMITS[name]
                _budget(f"{EXTENSION}.{name}", ext[name], getattr(limits, cap), low)
            out[name] = ext[name]
    return out


def parse_request(raw: bytes, *, model_names: Sequence[str], rewards: Sequence[str], base: LatentSeekConfig,
                  limits: ServeLimits) -> ParsedRequest:
    """Check a request body and turn it into what the engine runs; an :class:`APIError` otherwise.

    Args:
        raw: the body as received.
        model_names: the names this server answers to (the first is its own).
        rewards: the reward names the deployment was built with (the first is the default).
        base: the deployment's config; per-request settings override it.
        limits: the deployment's maxima.

    Example:
        >>> body = b'{"model": "m", "messages": [{"role": "user", "content": "2+3?"}], "n": 2}'
        >>> try:
        ...     parse_request(body, model_names=["m"], rewards=["math"], base=LatentSeekConfig(), limits=ServeLimits())
        ... except APIError as error:
        ...     print(error.status, error.param, error.message)
        400 n n must be 1 (one choice per request), got 2
    """
    if len(raw) > limits.max_body_bytes:
        raise APIError(413, f"the request body is {len(raw)} bytes; this server takes at most {limits.max_body_bytes}",
                       code="request_too_large")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise APIError(400, f"the body must be a JSON object, got invalid JSON ({exc})", code="invalid_json") from None
    if not isinstance(body, dict):
        raise APIError(400, f"the body must be a JSON object, got {type(body).__name__ if body is not None else 'null'}"
                       f" ({json.dumps(body)[:40]})", code="invalid_json")
    try:
        request = _Request.model_validate(body)
    except ValidationError as exc:
        raise _from_validation(exc) from None
    if request.model not in model_names:
        raise APIError(404, f"model {request.model!r} is not served here; this server serves {model_names[0]!r}",
                       param="model", code="model_not_found")
    if len(request.messages) > limits.max_messages:
        raise APIError(400, f"messages holds {len(request.messages)} messages; this server takes at most "
                       f"{limits.max_messages}", param="messages", code="invalid_value")
    if request.n not in (None, 1):
        raise APIError(400, f"n must be 1 (one choice per request), got {request.n}", param="n", code="invalid_value")
    if request.temperature not in (None, 0, 0.0):
        raise APIError(400, f"temperature must be 0 or absent: LatentSeek decodes greedily (its search replaces "
                       f"sampling), got {request.temperature}", param="temperature", code="unsupported_value")
    if request.top_p not in (None, 1, 1.0):
        raise APIError(400, f"top_p must be 1 or absent: LatentSeek decodes greedily, got {request.top_p}",
                       param="top_p", code="unsupported_value")
    if request.stream_options is not None and not request.stream:
        raise APIError(400, "stream_options is only allowed with stream: true", param="stream_options",
                       code="invalid_value")
    messages = [{"role": m.role, "content": _content(m, i)} for i, m in enumerate(request.messages)]
    if not any(m["role"] == "user" and m["content"].strip() for m in messages):
        raise APIError(400, "messages must contain a non-empty user message", param="messages", code="invalid_value")
    stop = [request.stop] if isinstance(request.stop, str) else list(request.stop or [])
    if len(stop) > 4 or any(not s for s in stop):
        raise APIError(400, f"stop must be up to 4 non-empty strings, got {stop!r:.80}", param="stop",
                       code="invalid_value")
    if request.max_tokens is not None and request.max_completion_tokens is not None:
        raise APIError(400, "give max_tokens or max_completion_tokens, not both", param="max_tokens",
                       code="invalid_value")
    overrides: dict[str, Any] = {}
    for name in ("max_tokens", "max_completion_tokens"):
        if getattr(request, name) is not None:
            overrides["max_new_tokens"] = _budget(name, getattr(request, name), limits.max_tokens)
    if request.seed is not None:
        overrides["seed"] = request.seed
    ext = request.latentseek or {}
    problem = unknown_names(list(ext), EXTENSION_FIELDS, "field")
    if problem:
        bad = next(k for k in ext if k not in EXTENSION_FIELDS)
        raise APIError(400, f"{problem} in {EXTENSION}", param=f"{EXTENSION}.{bad}", code="unknown_field")
    overrides.update(_settings(ext, limits))
    try:
        config = base.replace(**overrides) if overrides else base
    except ConfigError as exc:
        name = exc.field
        param = {"max_new_tokens": "max_tokens", "seed": "seed"}.get(name, f"{EXTENSION}.{name}")
        raise APIError(400, f"{param}: {exc}", param=param, code="invalid_value") from None
    reward = ext.get("reward", rewards[0] if rewards else None)
    if reward not in rewards:
        hint = unknown_names([str(reward)], list(rewards), "reward") if isinstance(reward, str) else None
        raise APIError(400, f"{hint or f'reward must be a name, got {reward!r}'}; this server has {list(rewards)}",
                       param=f"{EXTENSION}.reward", code="unknown_reward")
    context: dict[str, Any] = {}
    for name in ("tests", "entry_point"):
        if name in ext:
            if not isinstance(ext[name], str) or not ext[name].strip():
                raise APIError(400, f"{EXTENSION}.{name} must be a non-empty string, got {ext[name]!r:.40}",
                               param=f"{EXTENSION}.{name}", code="invalid_value")
            _check_text(ext[name], f"{EXTENSION}.{name}")
            context[name] = ext[name]
    reference = ext.get("reference")
    if reference is not None:
        if isinstance(reference, bool) or not isinstance(reference, (str, int, float)):
            raise APIError(400, f"{EXTENSION}.reference must be a string or a number, got {reference!r:.40}",
                           param=f"{EXTENSION}.reference", code="invalid_value")
        reference = str(reference)
        _check_text(reference, f"{EXTENSION}.reference")
    context["reference"] = reference
    include_usage = bool(request.stream_options and request.stream_options.include_usage)
    return ParsedRequest(messages, config, str(reward), context, stop, request.stream, include_usage)


def summary(result: Any, reward: str) -> dict[str, Any]:
    """The ``latentseek`` object of a response: what the search did.

    Example:
        >>> from latentseek_agents.result import Attempt, SeekResult
        >>> r = SeekResult(answer="5", text="5", score=1.0, iterations=0, stop_reason="threshold", chosen=0,
        ...                trace=[Attempt(iteration=0, text="5", score=1.0, passed=True, tokens=3)])
        >>> summary(r, "math")["scores"], summary(r, "math")["stop_reason"]
        ([1.0], 'threshold')
    """
    return {"reward": reward, **result.summary()}


def usage(result: Any) -> dict[str, int]:
    """OpenAI's ``usage`` of a search: the prompt once, the tokens of every attempt."""
    completion = result.generated_tokens
    return {"prompt_tokens": result.prompt_tokens, "completion_tokens": completion,
            "total_tokens": result.prompt_tokens + completion}


def new_id() -> str:
    """A fresh completion id."""
    return f"chatcmpl-{uuid.uuid4().hex}"


def completion_body(result: Any, *, model: str, text: str, finish_reason: str, reward: str,
                    reasoning: str | None = None, completion_id: str | None = None) -> dict[str, Any]:
    """A ``chat.completion`` object for a finished search (usage over all attempts).

    Example:
        >>> from latentseek_agents.result import SeekResult
        >>> r = SeekResult(answer="5", text="\\\\boxed{5}", score=1.0, iterations=0, trace=[], stop_reason="threshold")
        >>> completion_body(r, model="m", text=r.text, finish_reason="stop", reward="math")["choices"][0]["message"]
        {'role': 'assistant', 'content': '\\\\boxed{5}'}
    """
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if reasoning:
        message["reasoning_content"] = reasoning
    return {"id": completion_id or new_id(), "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}],
            "usage": usage(result), EXTENSION: summary(result, reward)}


def chunk_body(completion_id: str, model: str, created: int, delta: dict[str, Any] | None,
               finish_reason: str | None = None, **extra: Any) -> dict[str, Any]:
    """One ``chat.completion.chunk`` (``delta=None``: the usage-only last chunk, no choices).

    Example:
        >>> chunk_body("c", "m", 0, {"content": "5"})["choices"][0]["delta"]
        {'content': '5'}
    """
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish_reason,
                                         "logprobs": None}]
    return {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": choices, **extra}
