"""latentseek-agents: test-time latent reasoning (LatentSeek) for local HuggingFace models.

Example:
    >>> from latentseek_agents import LatentSeek, LatentSeekConfig, load_model
    >>> seeker = LatentSeek(load_model(), reward=lambda text, reference: float(reference in text),
    ...                     config=LatentSeekConfig(max_iters=2, max_new_tokens=64))  # doctest: +SKIP
    >>> seeker.solve("What is 6 * 7?", reference="42").answer                         # doctest: +SKIP

Heavy dependencies (torch, transformers) load on first use, so ``import latentseek_agents`` is fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .config import LatentSeekConfig
from .model_spec import ModelSpec
from .result import Attempt, SearchEvent, SeekResult
from .scoring import Checker, CheckResult

if TYPE_CHECKING:
    from .models import LoadedModel, ModelNotFoundError, load_model
    from .sampling import BestOfN, SelfConsistency
    from .seek import LatentSeek

__all__ = [
    "Attempt",
    "BestOfN",
    "CheckResult",
    "Checker",
    "LatentSeek",
    "LatentSeekConfig",
    "LoadedModel",
    "ModelNotFoundError",
    "ModelSpec",
    "SearchEvent",
    "SeekResult",
    "SelfConsistency",
    "load_model",
]
__version__ = "0.1.0"

_LAZY = {
    "BestOfN": ".sampling",
    "LatentSeek": ".seek",
    "SelfConsistency": ".sampling",
    "LoadedModel": ".models",
    "ModelNotFoundError": ".models",
    "load_model": ".models",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
