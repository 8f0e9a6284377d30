"""`ModelSpec`: how to load a model, declared once and accepted by every front end.

The CLI (``solve``, ``bench``, ``serve``), the bench harness and its Ray workers, the server, the
LangChain wrappers and the DSPy engine all take a model as a name or path plus the same settings;
this is the one place those settings are declared and checked (without loading anything), and
:meth:`ModelSpec.add_options` is the one place their command-line options are made.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

from .backends import BACKENDS
from .validation import check_int

__all__ = ["ModelSpec", "DTYPES", "DTYPE_ALIASES", "QUANTIZE_CHOICES", "as_model_spec"]

DTYPES = ("auto", "float32", "bfloat16", "float16")
QUANTIZE_CHOICES = ("int8",)
DTYPE_ALIASES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16", "half": "float16"}


@dataclass(frozen=True)
class ModelSpec:
    """What model to load and how (frozen, checked at construction; nothing is loaded until :meth:`load`).

    Args:
        source: ``"default"`` (the embedded SmolLM2-135M-Instruct), a hub id, a local folder or a
            ``.gguf`` file.
        backend: ``"auto"``, ``"torch"`` or ``"llama_cpp"`` (see :mod:`latentseek_agents.backends`).
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"`` (torch; llama.cpp: CPU).
        dtype: ``"auto"``, ``"float32"``, ``"bfloat16"`` or ``"float16"`` (torch only).
        quantize: ``None`` or ``"int8"`` (torch on the CPU only).
        n_threads: llama.cpp threads (default: every CPU the process may use); torch's come from
            ``torch.set_num_threads``.

    Example:
        >>> ModelSpec("model.gguf", backend="llama_cpp", n_threads=1).backend
        'llama_cpp'
        >>> ModelSpec(backend="onnx")
        Traceback (most recent call last):
        ...
        ValueError: backend must be one of ('auto', 'torch', 'llama_cpp'), got 'onnx'
    """

    source: str = "default"
    backend: Literal["auto", "torch", "llama_cpp"] = "auto"
    device: str = "auto"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    quantize: Literal["int8"] | None = None
    n_threads: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.source, str) or not self.source.strip():
            raise ValueError(f"model must be a non-empty name or path ('default', a hub id, a local folder or a "
                             f".gguf file), got {type(self.source).__name__} {self.source!r:.60}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if not isinstance(self.device, str) or not self.device.strip():
            raise ValueError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {self.device!r}")
        dtype = DTYPE_ALIASES.get(self.dtype, self.dtype) if isinstance(self.dtype, str) else self.dtype
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {self.dtype!r}")
        object.__setattr__(self, "dtype", dtype)
        if self.quantize is not None and self.quantize not in QUANTIZE_CHOICES:
            raise ValueError(f"quantize must be None or one of {QUANTIZE_CHOICES}, got {self.quantize!r}")
        check_int("n_threads", self.n_threads, 1, optional=True)
        if self.n_threads is not None and self.backend == "torch":
            raise ValueError("n_threads sets llama.cpp's threads (backend 'llama_cpp' or 'auto'); torch's threads "
                             "come from torch.set_num_threads or OMP_NUM_THREADS")

    def load(self) -> Any:
        """The loaded model (shared per process: the same spec returns the same object).

        Example:
            >>> ModelSpec().load().name                                # doctest: +SKIP
            'SmolLM2-135M-Instruct'
        """
        from .models import load_model

        options = {"n_threads": self.n_threads} if self.n_threads is not None else {}
        return load_model(self.source, backend=self.backend, device=self.device, dtype=self.dtype,
                          quantize=self.quantize, **options)

    def resolved_backend(self) -> str:
        """The backend :meth:`load` will use (``"auto"`` resolved; nothing is loaded).

        Example:
            >>> ModelSpec("Qwen/Qwen2.5-7B-Instruct").resolved_backend()
            'torch'
        """
        from .backends import resolve_backend

        return resolve_backend(self.backend, self.source, device=self.device, dtype=self.dtype,
                               quantize=self.quantize)

    def replace(self, **changes: Any) -> ModelSpec:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (JSON-ready)."""
        return asdict(self)

    @staticmethod
    def add_options(parser: argparse.ArgumentParser, *, device: bool = True) -> None:
        """Add ``--model --backend --device --dtype --quantize --threads`` to a command-line parser."""
        group = parser.add_argument_group("model (ModelSpec)")
        group.add_argument("--model", default="default",
                           help="'default' (embedded SmolLM2-135M-Instruct), a hub id, a local folder or a .gguf file")
        group.add_argument("--backend", choices=BACKENDS, default="auto",
                           help="torch, llama_cpp (GGUF files on the CPU; needs the llama-cpp extra) or auto: "
                                "llama_cpp for a GGUF on the CPU when it is installed (default: %(default)s)")
        if device:
            group.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default: %(default)s)")
        group.add_argument("--dtype", default="auto",
                           help=f"torch weights' dtype: {', '.join(DTYPES)} (default: %(default)s)")
        group.add_argument("--quantize", choices=QUANTIZE_CHOICES,
                           help="int8: dynamically quantized body (torch, CPU, float32)")
        group.add_argument("--threads", type=int, dest="n_threads", metavar="N",
                           help="llama.cpp threads (default: every CPU this process may use)")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ModelSpec:
        """The spec that :meth:`add_options`' options describe (validated)."""
        values: dict[str, Any] = {f.name: getattr(args, "model" if f.name == "source" else f.name, f.default)
                                  for f in fields(cls)}
        return cls(**values)


def as_model_spec(model: Any = "default", **settings: Any) -> ModelSpec:
    """``model`` as a :class:`ModelSpec`: a spec is returned as is (``settings`` must then be unset), a
    name or path is combined with ``settings`` (``backend``, ``device``, ``dtype``, ``quantize``, ``n_threads``;
    ``None`` values mean the default).

    Example:
        >>> as_model_spec("default", backend="torch", quantize=None)
        ModelSpec(source='default', backend='torch', device='auto', dtype='auto', quantize=None, n_threads=None)
    """
    given = {k: v for k, v in settings.items() if v is not None and v != "auto"}
    if isinstance(model, ModelSpec):
        if given:
            raise ValueError(f"model is a ModelSpec; set {', '.join(sorted(given))} on it, not beside it")
        return model
    if model is None:
        model = "default"
    return ModelSpec(model, **{k: v for k, v in settings.items() if v is not None})
