"""LatentSeek behind an OpenAI-compatible HTTP API, on Ray Serve.

Routes (what vLLM, llama.cpp's server and TGI answer, so any OpenAI client works):

* ``POST /v1/chat/completions``: a search per request; ``stream: true`` sends server-sent events
  in the standard chunk format, each scored attempt as ``reasoning_content``, then the answer,
  then ``data: [DONE]``. LatentSeek's settings and the reward's context come in the
  ``"latentseek"`` extension object (see :mod:`.protocol`).
* ``GET /v1/models`` and ``GET /v1/models/{id}``; ``GET /health`` (``active_searches`` included).

Requests that reach a replica together are solved together (:mod:`.batching`): one batched
search, up to ``max_batch_size`` requests with the same settings. A client that disconnects or
closes its stream leaves its batch within one decoding step (Ray Serve cancels the request; the
cancel reaches the engine) and the others go on. Backpressure is Ray Serve's: a replica takes
``max_ongoing_requests`` at once and the deployment queues at most ``max_queued_requests`` more;
beyond that a request is answered 503 at once, never queued without bound.

Example:
    >>> from latentseek_agents.rewards import MathAnswer
    >>> from ray import serve                                                       # doctest: +SKIP
    >>> serve.run(latentseek_app(model="default", rewards={"math": MathAnswer()}))  # doctest: +SKIP
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations (Request) at
# definition time, and they are imported inside create_app.
import json
import os
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from latentseek_agents.config import LatentSeekConfig
from latentseek_agents.model_spec import ModelSpec, as_model_spec
from latentseek_agents.models import load_model

from ..common import attempt_line, cut_at_stop, display_name
from .batching import SearchBatcher
from .options import LIMIT_OPTIONS, ServeOptions, config_from_strings, limits_from
from .protocol import (
    SETTING_LIMITS,
    APIError,
    ParsedRequest,
    ServeLimits,
    chunk_body,
    completion_body,
    new_id,
    parse_request,
    summary,
    usage,
)

__all__ = ["REWARD_NAMES", "SELF_REWARD", "LatentSeekService", "build_app", "create_app", "latentseek_app",
           "named_rewards"]

SELF_REWARD = "self"  # a reward spec: SelfJudge on the served model, built in each replica


def served_name(model: Any) -> str:
    """The name clients use for a model spec: a file or folder's name, else the spec itself.

    Example:
        >>> served_name("default"), served_name("/models/qwen.gguf")
        ('SmolLM2-135M-Instruct', 'qwen.gguf')
    """
    name = display_name(model)
    return Path(name).name if ("/" in name and (os.path.exists(name) or name.endswith(".gguf"))) else name


class LatentSeekService:
    """One replica's engine: the loaded model, the rewards by name, the base settings, the limits.

    Args:
        model: a :class:`~latentseek_agents.model_spec.ModelSpec`, a name or path, or a loaded model.
        rewards: ``{name: checker}``; a value ``"self"`` is SelfJudge on the served model. The
            first is the default for requests that name none.
        config: the base :class:`LatentSeekConfig` (per-request settings override it).
        limits: the per-request maxima (:class:`~.protocol.ServeLimits`).
        name: the model name clients send (default: :func:`served_name`).
        device, dtype, quantize, backend: with a name or path, the :class:`ModelSpec` fields.
        max_batch_size, batch_wait_s: how requests are batched (:class:`~.batching.SearchBatcher`;
            ``max_batch_size=1`` is one search at a time; default: :class:`~.options.ServeOptions`').
    """

    def __init__(self, model: Any = "default", rewards: Mapping[str, Any] | None = None,
                 config: LatentSeekConfig | None = None, limits: ServeLimits | None = None, name: str | None = None,
                 device: str | None = None, dtype: str | None = None, quantize: str | None = None,
                 backend: str | None = None, max_batch_size: int | None = None,
                 batch_wait_s: float | None = None) -> None:
        from latentseek_agents.rewards import SelfJudge

        if hasattr(model, "tokenizer"):  # already loaded
            self.lm = load_model(model, quantize=quantize, backend=backend or "auto")
        else:
            model = as_model_spec(model, device=device, dtype=dtype, quantize=quantize, backend=backend)
            self.lm = model.load()
            model = model.source
        self.config = config or LatentSeekConfig()
        self.limits = limits or ServeLimits()
        self.name = name or served_name(model)
        self.created = int(time.time())
        self.rewards = {key: SelfJudge(self.lm) if value == SELF_REWARD else value
                        for key, value in (rewards or {SELF_REWARD: SELF_REWARD}).items()}
        self.attempts_scored = 0  # over the replica's life (for /health: is a search still working?)
        self._count_lock = threading.Lock()
        batching = ServeOptions()  # the defaults, declared there
        self.batcher = SearchBatcher(self.lm, self.rewards, max_batch_size=max_batch_size or batching.batch_size,
                                     wait_s=batching.batch_wait_s if batch_wait_s is None else batch_wait_s,
                                     on_attempt=self._count_attempt)

    def _count_attempt(self) -> None:
        with self._count_lock:
            self.attempts_scored += 1

    @property
    def active_searches(self) -> int:
        """Requests being solved now whose client still waits."""
        return self.batcher.active

    def parse(self, raw: bytes) -> ParsedRequest:
        """Check a request body against this deployment (see :func:`~.protocol.parse_request`)."""
        return parse_request(raw, model_names=[self.name], rewards=list(self.rewards), base=self.config,
                             limits=self.limits)

    def events(self, request: ParsedRequest) -> AsyncGenerator[Any, None]:
        """The request's search events (its attempts, then its result), solved in a batch with the
        requests that arrive with it. Leaving early (the client went away) drops it from its batch at
        the next decoding step; a prompt the model can't run raises APIError (422) first."""
        return self.batcher.events(request)


def _finish_reason(result: Any, cut: bool) -> str:
    """"length" when the returned answer used its whole token budget (and no stop sequence cut it)."""
    attempt = result.chosen_attempt
    return "length" if not cut and attempt is not None and attempt.truncated else "stop"


def _sse(data: Any) -> str:
    return f"data: {json.dumps(data)}\n\n"


def create_app(service: Any) -> Any:
    """The FastAPI app answering the OpenAI routes with ``service()`` (a :class:`LatentSeekService`).

    ``service`` is a zero-argument callable so the app can be built before the replica's model
    loads (Ray Serve builds the app, then each replica its service).
    """
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, StreamingResponse
    from starlette.exceptions import HTTPException

    app = FastAPI(title="LatentSeek (OpenAI-compatible)", docs_url=None, redoc_url=None, openapi_url=None)

    def error(exc: APIError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        kind = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
        return error(APIError(exc.status_code, f"{request.method} {request.url.path}: {exc.detail}", kind=kind,
                              code="not_found" if exc.status_code == 404 else None))

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> JSONResponse:
        return error(APIError(500, f"the server failed: {type(exc).__name__}: {exc}", kind="server_error"))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error(APIError(400, str(exc)))

    async def read_body(request: Request) -> bytes:
        limit = service().limits.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise APIError(413, f"the request body is {declared} bytes; this server takes at most {limit}",
                           code="request_too_large")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise APIError(413, f"the request body is over {limit} bytes, the most this server takes",
                               code="request_too_large")
            chunks.append(chunk)
        return b"".join(chunks)

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Any:
        svc = service()
        try:
            parsed = svc.parse(await read_body(request))
            if parsed.stream:
                events = svc.events(parsed)
                first = await anext(events)  # bad prompts fail here, as a plain error response
                return StreamingResponse(_stream(svc, parsed, first, events), media_type="text/event-stream")
            result, reasoning = None, []
            async for event in svc.events(parsed):
                if event.attempt is not None:
                    reasoning.append(attempt_line(event.attempt))
                if event.result is not None:
                    result = event.result
        except APIError as exc:
            return error(exc)
        assert result is not None  # the stream ends with the problem's result
        text, cut = cut_at_stop(result.text, parsed.stop)
        return completion_body(result, model=svc.name, text=text, finish_reason=_finish_reason(result, cut),
                               reward=parsed.reward, reasoning="".join(reasoning))

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        svc = service()
        return {"object": "list", "data": [_model_card(svc)]}

    @app.get("/v1/models/{model_id:path}")
    async def model(model_id: str) -> Any:
        svc = service()
        if model_id != svc.name:
            return error(APIError(404, f"model {model_id!r} is not served here; this server serves {svc.name!r}",
                                  param="model", code="model_not_found"))
        return _model_card(svc)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        svc = service()
        return {"status": "ok", "model": svc.name, "active_searches": svc.active_searches,
                "attempts_scored": svc.attempts_scored, "batches_run": svc.batcher.batches_run,
                "largest_batch": svc.batcher.largest_batch, "max_batch_size": svc.batcher.max_batch_size,
                "rewards": list(svc.rewards), "pid": os.getpid()}

    return app


def _model_card(svc: Any) -> dict[str, Any]:
    return {"id": svc.name, "object": "model", "created": svc.created, "owned_by": "latentseek-agents",
            "latentseek": {"rewards": list(svc.rewards), "config": svc.config.to_dict(),
                           "limits": dict(svc.limits.__dict__)}}


async def _stream(svc: Any, parsed: ParsedRequest, first: Any,
                  events: AsyncGenerator[Any, None]) -> AsyncIterator[str]:
    completion_id, created = new_id(), int(time.time())
    yield _sse(chunk_body(completion_id, svc.name, created, {"role": "assistant", "content": ""}))
    result = None
    try:
        event = first
        while True:
            if event.attempt is not None:
                yield _sse(chunk_body(completion_id, svc.name, created,
                                      {"reasoning_content": attempt_line(event.attempt)}))
            if event.result is not None:
                result = event.result
            event = await anext(events, None)
            if event is None:
                break
    except Exception as exc:  # noqa: BLE001 - the status line is sent: report in-band, as vLLM does
        yield _sse(APIError(500, f"the search failed: {type(exc).__name__}: {exc}", kind="server_error").body())
        yield "data: [DONE]\n\n"
        return
    finally:
        await events.aclose()
    assert result is not None  # the stream ends with the problem's result
    text, cut = cut_at_stop(result.text, parsed.stop)
    yield _sse(chunk_body(completion_id, svc.name, created, {"content": text}))
    yield _sse(chunk_body(completion_id, svc.name, created, {}, _finish_reason(result, cut),
                          **{"latentseek": summary(result, parsed.reward)}))
    if parsed.include_usage:
        yield _sse(chunk_body(completion_id, svc.name, created, None, usage=usage(result)))
    yield "data: [DONE]\n\n"


def latentseek_app(model: Any = "default", rewards: Mapping[str, Any] | None = None, *,
                   config: LatentSeekConfig | None = None, limits: ServeLimits | None = None,
                   name: str | None = None, options: ServeOptions | None = None, num_replicas: int | None = None,
                   num_cpus: float | None = None, num_gpus: float | None = None,
                   max_ongoing_requests: int | None = None, max_queued_requests: int | None = None,
                   max_batch_size: int | None = None, batch_wait_s: float | None = None,
                   device: str | None = None, dtype: str | None = None, quantize: str | None = None,
                   backend: str | None = None) -> Any:
    """A Ray Serve application answering the OpenAI chat-completions API with LatentSeek.

    Args:
        model: a :class:`~latentseek_agents.model_spec.ModelSpec` or a name or path each replica
            loads (a loaded object can't travel to replicas); ``device``, ``dtype``, ``quantize``
            and ``backend`` complete a name or path. On llama.cpp a replica runs ``num_cpus``
            threads unless the spec sets ``n_threads``.
        rewards: ``{name: checker}`` (picklable; ``"self"`` = SelfJudge on the served model).
        config, limits: the base settings and the per-request maxima.
        options: the deployment's :class:`~.options.ServeOptions` (replicas, resources, admission,
            batching); or set its fields one by one with ``num_replicas``, ``num_cpus``, ``num_gpus``,
            ``max_ongoing_requests``, ``max_queued_requests``, ``max_batch_size``, ``batch_wait_s``
            (unset ones keep its defaults).

    Example:
        >>> serve.run(latentseek_app("default", {"math": MathAnswer()}, num_replicas=2))  # doctest: +SKIP
    """
    try:
        from ray import serve
    except ImportError as exc:
        raise ImportError("serving needs Ray Serve: pip install 'latentseek-agents[serve]'") from exc
    given = {k: v for k, v in (("replicas", num_replicas), ("num_cpus", num_cpus), ("num_gpus", num_gpus),
                               ("max_ongoing_requests", max_ongoing_requests),
                               ("max_queued_requests", max_queued_requests), ("max_batch_size", max_batch_size),
                               ("batch_wait_s", batch_wait_s)) if v is not None}
    if options is not None and given:
        raise ValueError(f"options is a ServeOptions; set {', '.join(sorted(given))} on it, not beside it")
    options = options or ServeOptions(**given)  # type: ignore[arg-type]  # each value checked there
    replica_cpus = options.num_cpus
    if not isinstance(model, (str, ModelSpec)):
        raise ValueError(f"model must be a name or path or a ModelSpec for serving (each replica loads it), got "
                         f"{type(model).__name__} {model!r:.40}")
    spec = as_model_spec(model, device=device, dtype=dtype, quantize=quantize, backend=backend)
    if spec.n_threads is None and spec.resolved_backend() == "llama_cpp":
        spec = spec.replace(n_threads=max(1, int(replica_cpus)))
    if rewards is not None and (not isinstance(rewards, Mapping) or not rewards):
        raise ValueError(f"rewards must be a non-empty mapping of name -> checker, got {rewards!r:.60}")
    for key, value in (rewards or {}).items():
        if not isinstance(key, str) or not key or not (value == SELF_REWARD or callable(getattr(value, "check", None))
                                                        or callable(value)):
            raise ValueError(f"rewards[{key!r}] must be a checker, a callable or 'self', got {type(value).__name__}")
    config, limits = config or LatentSeekConfig(), limits or ServeLimits()
    for field, (limit, _) in SETTING_LIMITS.items():
        cap = getattr(limits, limit)
        if getattr(config, field) > cap:
            raise ValueError(f"config.{field} is {getattr(config, field)}, above what limits let one request ask "
                             f"({cap}): raise the limit or lower the setting")
    settings = {"model": spec, "rewards": dict(rewards) if rewards else None, "config": config,
                "limits": limits, "name": name, "max_batch_size": options.batch_size,
                "batch_wait_s": options.batch_wait_s}
    @serve.ingress()
    class LatentSeekServer:
        """One replica: loads the model once, then builds the app that answers with it."""

        def __init__(self, settings: dict[str, Any]) -> None:
            import torch

            torch.set_num_threads(max(1, int(replica_cpus)))
            self.service = LatentSeekService(**settings)

        def __serve_build_asgi_app__(self) -> Any:
            return create_app(lambda: self.service)

    deployment = serve.deployment(LatentSeekServer, name="latentseek", num_replicas=options.replicas,
                                  max_ongoing_requests=options.max_ongoing_requests,
                                  max_queued_requests=options.max_queued_requests,
                                  ray_actor_options={"num_cpus": options.num_cpus, "num_gpus": options.num_gpus})
    return deployment.bind(settings)  # type: ignore[attr-defined]  # serve.deployment(cls) is a Deployment


REWARD_NAMES = ("math", "code", "self")


def named_rewards(spec: str, *, allow_code_execution: bool = False,
                  choices: tuple[str, ...] = REWARD_NAMES) -> dict[str, Any]:
    """Rewards from a comma-separated list of names (the first is the default): ``math``
    (MathAnswer against the request's reference), ``code`` (UnitTests on the request's tests; runs
    model code, so ``allow_code_execution`` must acknowledge it), ``self`` (SelfJudge on the served model).

    Example:
        >>> list(named_rewards("math,self"))
        ['math', 'self']
    """
    from latentseek_agents.rewards import MathAnswer, UnitTests

    names = [n.strip() for n in spec.split(",") if n.strip()]
    if not names or any(n not in choices for n in names):
        raise ValueError(f"reward must name rewards among {choices}, got {spec!r}")
    if "code" in names and not allow_code_execution:
        raise PermissionError("--reward code runs model code: pass --allow-code-execution to acknowledge it")
    makers = {"math": MathAnswer, "self": lambda: SELF_REWARD, "code": lambda: UnitTests(allow_execution=True)}
    return {n: makers[n]() for n in names}


_BUILD_ARGS = ("model", "reward", "name", "quantize", "backend", "device", "dtype", "threads",
               *(f.name for f in fields(ServeOptions)), *LIMIT_OPTIONS, *(f.name for f in fields(LatentSeekConfig)))


def build_app(args: dict[str, str]) -> Any:
    """The application builder for ``serve run`` (a cluster, a config file): the same app as
    ``latentseek serve``, from ``key=value`` arguments: the ModelSpec's (``model``, ``backend``,
    ``device``, ``dtype``, ``quantize``, ``threads``), the ServeOptions' (``replicas``,
    ``num_cpus``, ...), the per-request limits (``max_request_iters``, ``max_request_tokens``,
    ``max_body_bytes``) and any LatentSeekConfig setting (``lr=0.05``, on the server's defaults).
    Rewards by name: ``math``, ``self`` (and ``code`` only through
    ``latentseek_app`` itself, where executing model code is acknowledged).

    Example:
        serve run latentseek_agents.integrations.serve.app:build_app model=default reward=math,self replicas=2
    """
    from ..common import unknown_names

    problem = unknown_names(list(args), _BUILD_ARGS, "argument")
    if problem:
        raise ValueError(f"build_app: {problem}")
    try:
        rewards = named_rewards(args.get("reward", "math"), choices=("math", "self"))
        options = ServeOptions.from_strings(args)
        config = config_from_strings(args)
        limits = limits_from(args)
        threads = int(args["threads"]) if args.get("threads") is not None else None
    except ValueError as exc:
        raise ValueError(f"build_app: {exc}") from None
    spec = ModelSpec(args.get("model", "default"), backend=args.get("backend", "auto"),  # type: ignore[arg-type]
                     device=args.get("device", "auto"), dtype=args.get("dtype", "auto"),  # type: ignore[arg-type]
                     quantize=args.get("quantize"), n_threads=threads)  # type: ignore[arg-type]  # checked there
    return latentseek_app(spec, rewards, config=config, limits=limits, name=args.get("name"), options=options)
