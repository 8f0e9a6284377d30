"""GGUF files as models: dequantized once into a cached safetensors copy, keyed by content digest.

transformers can read many GGUF files (``gguf_file=``), but dequantizing on every load is slow (a
1.5B Q4_K_M file takes minutes). :func:`gguf_to_safetensors` does it once: the copy lives under
``default_model_cache_dir()/gguf/<sha256 prefix>``, so a changed file is converted again and the
same bytes at another path are not. The copy is written to a temporary folder and renamed into
place (a half-written copy is never used), under a file lock (two processes loading the same file
at once convert it once). Before any work the file is checked: its header, its architecture and
tensor types against what transformers and gguf can dequantize, and the free disk space.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "default_model_cache_dir", "GGUFError", "GGUFInfo", "check_gguf_header", "inspect_gguf", "file_sha256",
    "gguf_to_safetensors",
    "is_gguf_path",
]

_MAGIC = b"GGUF"
_PLAIN_TYPES = ("F32", "F16")  # gguf.quants.dequantize passes these through
_COPY_MARKER = "latentseek_source.json"


def default_model_cache_dir() -> Path:
    """Where converted copies of GGUF models (the default's among them) are kept.

    ``$LATENTSEEK_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/latentseek_agents`` (``~/.cache``).
    """
    root = os.environ.get("LATENTSEEK_CACHE_DIR")
    if root:
        return Path(root)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "latentseek_agents"


class GGUFError(ValueError):
    """A GGUF file can't be turned into a model; the message says why and what was found."""


@dataclass(frozen=True)
class GGUFInfo:
    """What a GGUF file's header says.

    Attributes:
        architecture: ``general.architecture`` (``"llama"``, ``"qwen2"``, ...).
        tensor_types: the distinct tensor types (``"Q4_K"``, ``"F32"``, ...).
        parameters: total elements over all tensors.
        name: ``general.name`` when present.
    """

    architecture: str
    tensor_types: tuple[str, ...]
    parameters: int
    name: str | None = None

    @property
    def float32_bytes(self) -> int:
        """Bytes of a float32 copy of every tensor (an upper bound on the converted size)."""
        return 4 * self.parameters


def is_gguf_path(model: Any) -> bool:
    """Whether ``model`` names a ``.gguf`` file (by its suffix; the file need not exist).

    Example:
        >>> is_gguf_path("models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")
        True
    """
    return isinstance(model, (str, os.PathLike)) and str(model).lower().endswith(".gguf")


def _field_text(reader: Any, key: str) -> str | None:
    field = reader.fields.get(key)
    if field is None or not field.data:
        return None
    return bytes(field.parts[field.data[0]]).decode("utf-8", errors="replace")


def check_gguf_header(path: str | os.PathLike[str]) -> None:
    """Refuse a path that is not a GGUF file, naming what its first bytes are (reads 8 bytes only).

    Example:
        >>> check_gguf_header(__file__)                         # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        latentseek_agents.gguf_models.GGUFError: '...gguf_models.py' is not a GGUF file: its first bytes are ...
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"GGUF file {str(path)!r} does not exist")
    with path.open("rb") as f:
        head = f.read(8)
    if head[:4] != _MAGIC:
        raise GGUFError(f"{str(path)!r} is not a GGUF file: its first bytes are {head!r}, a GGUF file starts "
                        f"with {_MAGIC!r}")


def inspect_gguf(path: str | os.PathLike[str]) -> GGUFInfo:
    """Read a GGUF file's header; refuse files that are not GGUF, naming what the header was.

    Example:
        >>> inspect_gguf("SmolLM2-135M-Instruct.Q4_1.gguf").architecture    # doctest: +SKIP
        'llama'
    """
    path = Path(path)
    check_gguf_header(path)
    from gguf import GGUFReader

    try:
        reader = GGUFReader(str(path))
    except Exception as exc:  # a truncated or corrupt file fails inside gguf in many ways
        raise GGUFError(f"{str(path)!r} has a GGUF header but could not be read "
                        f"({type(exc).__name__}: {exc}); is the file complete?") from exc
    architecture = _field_text(reader, "general.architecture")
    if architecture is None:
        raise GGUFError(f"{str(path)!r} has no general.architecture field")
    types = tuple(sorted({t.tensor_type.name for t in reader.tensors}))
    parameters = sum(int(t.n_elements) for t in reader.tensors)
    return GGUFInfo(architecture, types, parameters, _field_text(reader, "general.name"))


def _check_supported(path: Path, info: GGUFInfo) -> None:
    from gguf import quants
    from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES

    readable = set(GGUF_SUPPORTED_ARCHITECTURES) - {"general", "tokenizer"}  # sections of its table, not models
    arch = info.architecture.replace("-", "_")
    aliases = {"qwen2moe": "qwen2_moe", "qwen3moe": "qwen3_moe", "t5encoder": "t5"}
    if arch not in readable and aliases.get(arch) not in readable:
        raise GGUFError(f"{str(path)!r}: architecture {info.architecture!r} can't be loaded by transformers' GGUF "
                        f"reader (it reads {', '.join(sorted(readable))})")
    traits = getattr(quants, "_type_traits", None)
    if traits is None:  # a gguf version without the table: let the conversion itself say
        return
    known = {t.name for t in traits} | set(_PLAIN_TYPES)
    missing = [name for name in info.tensor_types if name not in known]
    if missing:
        raise GGUFError(f"{str(path)!r}: tensor type(s) {', '.join(sorted(set(missing)))} can't be dequantized by "
                        f"the installed gguf package (it dequantizes {', '.join(sorted(known))})")


def file_sha256(path: str | os.PathLike[str], *, progress: bool = False) -> str:
    """The sha256 hex digest of a file, read in 8 MiB blocks.

    Example:
        >>> file_sha256("model.gguf")                           # doctest: +SKIP
        'cc324af0...'
    """
    from tqdm.auto import tqdm

    path = Path(path)
    digest = hashlib.sha256()
    with path.open("rb") as f, tqdm(total=path.stat().st_size, unit="B", unit_scale=True, desc="sha256",
                                    disable=not progress, leave=False) as bar:
        while block := f.read(8 << 20):
            digest.update(block)
            bar.update(len(block))
    return digest.hexdigest()


def _check_disk(path: Path, info: GGUFInfo, where: Path) -> None:
    need = info.float32_bytes + (64 << 20)
    free = shutil.disk_usage(where).free
    if free < need:
        raise GGUFError(f"not enough disk space to convert {str(path)!r}: its float32 copy needs about "
                        f"{need / 2**30:.2f} GiB under {str(where)!r}, which has {free / 2**30:.2f} GiB free "
                        "(set LATENTSEEK_CACHE_DIR to a larger disk)")


def _convert(path: Path, target: Path, digest: str) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    # A GGUF-loaded model carries a quantization config and refuses save_pretrained; the weights are
    # plain float32 tensors by now, so the copy is an ordinary checkpoint.
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.hf_quantizer = None  # type: ignore[assignment]
    model.is_quantized = False  # type: ignore[assignment]

    def fill(tmp: Path) -> None:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / _COPY_MARKER).write_text(json.dumps({"gguf": path.name, "sha256": digest}) + "\n", encoding="utf-8")

    _write_folder_atomically(target, fill)


def _write_folder_atomically(target: Path, fill: Callable[[Path], object]) -> None:
    """Fill a fresh temporary folder beside ``target`` (unique to this process and thread), then rename it onto
    ``target`` in one step, so a reader sees no folder or a whole one; the temporary folder is removed whatever
    happens. Raises ``OSError`` when ``target`` can't be written, or already holds another writer's copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    tmp.chmod(0o755)  # mkdtemp's folder is private; a cache is shared
    try:
        fill(tmp)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def gguf_to_safetensors(path: str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None = None,
                        *, digest: str | None = None) -> Path:
    """The folder of a float32 safetensors copy of a GGUF file, converting it the first time.

    Args:
        path: the ``.gguf`` file.
        cache_dir: where copies live (default: ``default_model_cache_dir() / "gguf"``).
        digest: the file's sha256 if already known (skips hashing it).

    Example:
        >>> folder = gguf_to_safetensors("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")   # doctest: +SKIP
        >>> (folder / "config.json").is_file()                   # doctest: +SKIP
        True
    """
    import fcntl

    path = Path(path).expanduser()
    info = inspect_gguf(path)
    digest = digest or file_sha256(path, progress=path.stat().st_size > (256 << 20))
    root = Path(cache_dir) if cache_dir is not None else default_model_cache_dir() / "gguf"
    target = root / digest[:24]
    if (target / _COPY_MARKER).is_file():
        return target
    _check_supported(path, info)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f"{digest[:24]}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if this process dies
        if (target / _COPY_MARKER).is_file():  # another process converted it while we waited
            return target
        if target.exists():  # left by an older layout or a crash between rename and marker: redo
            shutil.rmtree(target)
        _check_disk(path, info, root)
        _convert(path, target, digest)
    return target
