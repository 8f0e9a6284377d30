"""Where a model runs: the ``torch`` backend (transformers, GPU or CPU) or ``llama_cpp`` (GGUF files
through llama.cpp, CPU).

Both give the engine the same things (see :mod:`latentseek_agents.generation`): prefill a batch of
prompts once, decode from them (greedy or sampled) while recording the hidden states that fed the
LM head, continue rows from new token prefixes reusing each prompt's cache, the next-token logits
of one sequence, the LM head as a float32 tensor, and the HF tokenizer. The LatentSeek loop,
rewards, baselines, bench and front ends never ask which backend they run on.

The ``"auto"`` rule (:func:`resolve_backend`): a GGUF file (the embedded default model is one) on
the CPU with llama-cpp-python installed, and no torch-only setting (``dtype``, ``quantize``,
``from_pretrained`` options), runs on llama.cpp; everything else (a GPU, a HuggingFace model or
folder, a loaded model object) runs on torch.
"""

from __future__ import annotations

import importlib.util
from typing import Any

__all__ = ["BACKENDS", "LLAMA_CPP_REQUIREMENT", "is_llama_cpp_available", "resolve_backend"]

BACKENDS = ("auto", "torch", "llama_cpp")
LLAMA_CPP_REQUIREMENT = "llama-cpp-python==0.3.36"
_INSTALL_HINT = (f'install it with `CMAKE_ARGS="-DLLAVA_BUILD=OFF" pip install "{LLAMA_CPP_REQUIREMENT}"` or the '
                 "package's extra `pip install \"latentseek-agents[llama-cpp]\"` (it compiles llama.cpp from source: "
                 "about 4-10 min on 2 cores)")


def is_llama_cpp_available() -> bool:
    """Whether llama-cpp-python can be imported (without importing it).

    Example:
        >>> isinstance(is_llama_cpp_available(), bool)
        True
    """
    return importlib.util.find_spec("llama_cpp") is not None


def resolve_backend(backend: Any, model: Any = None, *, device: Any = "auto", dtype: Any = "auto",
                    quantize: Any = None, load_options: bool = False) -> str:
    """The backend a model loads on: ``"torch"`` or ``"llama_cpp"`` (``"auto"`` applies the rule above).

    Args:
        backend: ``"auto"``, ``"torch"`` or ``"llama_cpp"``.
        model: what :func:`~latentseek_agents.models.load_model` was given.
        device, dtype, quantize: the load settings (llama.cpp runs on the CPU with the GGUF's own weights).
        load_options: whether ``from_pretrained`` options were given (torch only).

    Example:
        >>> resolve_backend("torch", "default")
        'torch'
        >>> resolve_backend("auto", "Qwen/Qwen2.5-7B-Instruct")
        'torch'
    """
    from ..gguf_models import is_gguf_path

    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    gguf = model is None or model == "default" or is_gguf_path(model)
    torch_only = [name for name, given in (("dtype", dtype not in (None, "auto")), ("quantize", quantize is not None),
                                           ("from_pretrained options", load_options)) if given]
    if backend == "llama_cpp":
        if not gguf:
            raise ValueError(f"backend='llama_cpp' runs GGUF files (or 'default'); got model {model!r}, which "
                             "loads with backend='torch'")
        if device not in (None, "auto", "cpu"):
            raise ValueError(f"backend='llama_cpp' runs on the CPU; got device {device!r} (use backend='torch' "
                             "for a GPU)")
        if torch_only:
            raise ValueError(f"backend='llama_cpp' runs the GGUF's own weights; {', '.join(torch_only)} "
                             "apply to backend='torch' only")
        if not is_llama_cpp_available():
            raise ImportError(f"backend='llama_cpp' needs llama-cpp-python, which is not installed: {_INSTALL_HINT}")
        return "llama_cpp"
    if backend == "torch" or not gguf or torch_only or not is_llama_cpp_available():
        return "torch"
    if device in (None, "auto"):
        import torch

        mps = getattr(torch.backends, "mps", None)
        if torch.cuda.is_available() or (mps is not None and mps.is_available()):
            return "torch"
    elif device != "cpu":
        return "torch"
    return "llama_cpp"
