"""LatentSeek in LangChain: a chat model, a Runnable returning the whole SeekResult, and an agent tool.

Needs the ``[langchain]`` extra (``pip install 'latentseek-agents[langchain]'``).

Example:
    >>> from latentseek_agents.integrations.langchain import ChatLatentSeek
    >>> from latentseek_agents.rewards import MathAnswer
    >>> chat = ChatLatentSeek(model="default", reward=MathAnswer(), max_iters=2)
    >>> chat.invoke("What is 12 + 30?", reference="42").text          # doctest: +SKIP
"""

try:
    import langchain_core  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "latentseek_agents.integrations.langchain needs langchain-core: "
        "pip install 'latentseek-agents[langchain]'"
    ) from exc

from .chat_model import ITERATION_EVENT, ChatLatentSeek
from .runnable import LatentSeekRunnable
from .settings import LatentSeekSettings
from .tool import LatentSeekTool, LatentSeekToolInput

__all__ = [
    "ITERATION_EVENT",
    "ChatLatentSeek",
    "LatentSeekRunnable",
    "LatentSeekSettings",
    "LatentSeekTool",
    "LatentSeekToolInput",
]
