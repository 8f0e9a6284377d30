"""LatentSeek in DSPy: a local-model engine for ``dspy.LM`` and a Refine/BestOfN-shaped module.

Needs the ``[dspy]`` extra (``pip install 'latentseek-agents[dspy]'``).

Example:
    >>> import dspy
    >>> from latentseek_agents.integrations.dspy import (AsyncLatentSeekEngine, LatentSeekEngine,
    ...                                                  LatentSeekModule)
    >>> engine = LatentSeekEngine(model="default")
    >>> lm = dspy.LM("local/smollm2", engine=engine, async_engine=AsyncLatentSeekEngine(engine))
    >>> program = LatentSeekModule(dspy.ChainOfThought("question -> answer"), N=3,
    ...                            reward_fn=lambda args, pred: 1.0, threshold=1.0)
"""

try:
    import dspy  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "latentseek_agents.integrations.dspy needs dspy: pip install 'latentseek-agents[dspy]'"
    ) from exc

from .engine import AsyncLatentSeekEngine, LatentSeekEngine, LatentSeekJob, current_job
from .module import LatentSeekModule

__all__ = ["AsyncLatentSeekEngine", "LatentSeekEngine", "LatentSeekJob", "LatentSeekModule", "current_job",
           "latentseek_lm"]


def latentseek_lm(model: object = "default", *, name: str | None = None, cache: bool = True, **settings: object):
    """A ready ``dspy.LM`` backed by a LatentSeek engine (sync and async).

    Example:
        >>> lm = latentseek_lm("default", max_new_tokens=256)              # doctest: +SKIP
    """
    from ..common import display_name

    engine = LatentSeekEngine(model, **settings)  # type: ignore[arg-type]
    label = name or display_name(model).split("/")[-1]
    return dspy.LM(f"local/{label}", engine=engine, async_engine=AsyncLatentSeekEngine(engine), cache=cache)
