"""An OpenAI-compatible LatentSeek server on Ray Serve (``pip install 'latentseek-agents[serve]'``).

``latentseek serve --model M --reward math --port 8000`` runs it; any OpenAI client then calls
``POST /v1/chat/completions`` with LatentSeek's settings in ``extra_body={"latentseek": {...}}``.

Example:
    >>> from openai import OpenAI                                               # doctest: +SKIP
    >>> client = OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="none")   # doctest: +SKIP
    >>> client.chat.completions.create(model="SmolLM2-135M-Instruct",          # doctest: +SKIP
    ...     messages=[{"role": "user", "content": "What is 6 * 7?"}],
    ...     extra_body={"latentseek": {"reward": "math", "reference": "42", "max_iters": 2}})
"""

from .app import SELF_REWARD, LatentSeekService, build_app, create_app, latentseek_app
from .options import ServeOptions
from .protocol import APIError, ServeLimits

__all__ = ["APIError", "LatentSeekService", "SELF_REWARD", "ServeLimits", "ServeOptions", "build_app", "create_app",
           "latentseek_app"]
