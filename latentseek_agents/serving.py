"""Serve ChatLatentSeek over HTTP with Ray Serve, so agents on other machines share one model pool.

``latentseek_app(model="Qwen/Qwen2.5-7B-Instruct", reward=MathAnswer(), num_replicas=2)`` builds a
Ray Serve application: each replica (one per GPU, or per group of CPU cores) holds one
:class:`~latentseek_agents.integrations.langchain.ChatLatentSeek` and answers

    POST /  {"messages": [{"role": "user", "content": "..."}], "reference": "72", "max_iters": 2}
    ->      {"answer": "...", "text": "...", "latentseek": {...}, "usage": {...}}

Requests run on the replica's event loop without blocking it (the engine runs in a worker thread);
Serve queues and load-balances requests across replicas. Rewards must be picklable (the checkers
in ``latentseek_agents.rewards`` are), since they travel to the replicas.

Needs ``pip install 'latentseek-agents[serve]'`` (Ray Serve and the LangChain extra).

Example:
    >>> from ray import serve                                                   # doctest: +SKIP
    >>> serve.run(latentseek_app(model="default", max_iters=2), route_prefix="/latentseek")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

__all__ = ["LatentSeekDeployment", "latentseek_app"]

_ROLES = {"system": "system", "user": "human", "human": "human", "assistant": "ai", "ai": "ai"}


class LatentSeekDeployment:
    """One Serve replica: a ChatLatentSeek built from settings (weights load on first request)."""

    def __init__(self, settings: dict[str, Any]) -> None:
        from .integrations.langchain import ChatLatentSeek

        self.chat = ChatLatentSeek(**settings)

    async def __call__(self, request: Any) -> dict[str, Any]:
        from starlette.responses import JSONResponse

        from .integrations.common import CONFIG_FIELDS

        try:
            body = await request.json()
            messages = body.get("messages") or [{"role": "user", "content": body["question"]}]
            converted = [(_ROLES[m["role"]], m["content"]) for m in messages]
        except (ValueError, KeyError, TypeError) as exc:
            return JSONResponse({"error": "body must be JSON with 'messages' ([{role, content}]) or 'question', "
                                          f"got an error: {type(exc).__name__}: {exc}"}, status_code=400)
        overrides = {k: v for k, v in body.items() if k in CONFIG_FIELDS}
        try:
            message = await self.chat.ainvoke(converted, reference=body.get("reference"), **overrides)
        except ValueError as exc:  # bad settings or a prompt too long for the model
            return JSONResponse({"error": str(exc)}, status_code=400)
        meta = message.response_metadata["latentseek"]
        return {"answer": meta["answer"], "text": message.text, "latentseek": meta, "usage": message.usage_metadata,
                "model_name": message.response_metadata["model_name"]}


def latentseek_app(num_replicas: int = 1, num_cpus: float = 1.0, num_gpus: float = 0.0, **settings: Any) -> Any:
    """A Ray Serve application serving ChatLatentSeek (settings as for ChatLatentSeek).

    The model must be given by name or path (each replica loads its own copy once).
    """
    try:
        from ray import serve
    except ImportError as exc:
        raise ImportError("serving needs Ray Serve: pip install 'latentseek-agents[serve]'") from exc
    model = settings.get("model", "default")
    if not isinstance(model, str):
        raise ValueError(f"model must be a name or path for serving (each replica loads it), got {type(model).__name__}")
    deployment = serve.deployment(LatentSeekDeployment, name="latentseek", num_replicas=num_replicas,
                                  ray_actor_options={"num_cpus": num_cpus, "num_gpus": num_gpus})
    return deployment.bind(settings)
