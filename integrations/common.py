"""Pieces shared by the LangChain and DSPy adapters (framework-free).

Wrappers keep only settings; the engine is built per call from the process-wide model registry,
so constructing, copying or re-instantiating a wrapper never loads or copies weights.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Generator, Mapping, Sequence
from dataclasses import fields
from typing import Any

from latentseek_agents.config import LatentSeekConfig

__all__ = ["CALL_NAMES", "CONFIG_FIELDS", "MODEL_SETTINGS", "attempt_line", "bounded_search", "build_config",
           "check_model_and_reward", "cut_at_stop", "display_name", "fingerprint", "load_for", "make_seeker",
           "split_overrides", "unknown_names"]

CONFIG_FIELDS = tuple(f.name for f in fields(LatentSeekConfig))
# The ModelSpec fields a wrapper takes beside its model (one declaration: latentseek_agents.model_spec).
MODEL_SETTINGS = ("backend", "device", "dtype", "quantize")
# What one call may set: the reference, any LatentSeekConfig field, and max_tokens (LangChain's name).
CALL_NAMES = ("reference", "max_tokens", *CONFIG_FIELDS)
_DEFAULT_NAME = "SmolLM2-135M-Instruct"


def build_config(settings: Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> LatentSeekConfig:
    """A validated ``LatentSeekConfig`` from wrapper settings plus per-call overrides.

    Example:
        >>> build_config({"max_iters": 2}, {"lr": 0.1}).lr
        0.1
    """
    merged = {k: v for k, v in {**settings, **(overrides or {})}.items() if k in CONFIG_FIELDS}
    return LatentSeekConfig(**merged)


def unknown_names(given: Sequence[str], known: Sequence[str], what: str = "setting") -> str | None:
    """A message naming each unknown name and the closest known one, or None if all are known.

    Example:
        >>> unknown_names(["max_iter"], ["max_iters", "lr"])
        "unknown setting 'max_iter' (did you mean 'max_iters'?)"
    """
    import difflib

    parts = []
    for name in given:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            parts.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    if not parts:
        return None
    return f"unknown {what}{'s' if len(parts) > 1 else ''} " + ", ".join(parts)


def _is_loaded(model: Any) -> bool:
    """A loaded model object (LoadedModel, a llama.cpp model, a HF model) rather than a name or spec."""
    return hasattr(model, "tokenizer") or callable(getattr(model, "get_output_embeddings", None))


def _spec(model: Any, settings: Mapping[str, Any]) -> Any:
    from latentseek_agents.model_spec import as_model_spec

    return as_model_spec(model, **{k: settings.get(k) for k in MODEL_SETTINGS})


def check_model_and_reward(model: Any, reward: Any, settings: Mapping[str, Any]) -> None:
    """Check a wrapper's model, reward and model settings (``MODEL_SETTINGS``) at construction, without
    loading anything: a bad value, a device this machine lacks or a backend that isn't installed fails here."""
    from latentseek_agents.model_spec import ModelSpec
    from latentseek_agents.models import resolve_device, resolve_dtype

    if not (model is None or (isinstance(model, str) and model.strip()) or isinstance(model, ModelSpec)
            or _is_loaded(model)):
        raise ValueError(f"model must be 'default', a hub id, a local folder or .gguf path, a ModelSpec or a loaded "
                         f"model, got {type(model).__name__} {model!r:.40}")
    if reward is not None and not callable(getattr(reward, "check", None)) and not callable(reward):
        raise ValueError(f"reward must be None (SelfJudge), a checker with .check or a callable, "
                         f"got {type(reward).__name__}")
    if _is_loaded(model):
        given = sorted(k for k in MODEL_SETTINGS if settings.get(k) not in (None, "auto"))
        if given:
            raise ValueError(f"{', '.join(given)} apply when loading; this model object is already loaded")
        return
    spec = _spec(model, settings)
    if spec.resolved_backend() == "torch":  # "device must be ...", "CUDA is not available", "dtype must be"
        resolve_dtype(spec.dtype, resolve_device(spec.device))


def load_for(model: Any, settings: Mapping[str, Any]) -> Any:
    """The loaded model of a wrapper: ``model`` itself when loaded, else its spec loaded (shared registry)."""
    return model if _is_loaded(model) else _spec(model, settings).load()


def split_overrides(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Pop the LatentSeekConfig settings (``max_tokens`` as ``max_new_tokens``) out of per-call keyword
    arguments; any other name but ``reference`` is refused with the closest valid one.

    Example:
        >>> split_overrides({"max_iter": 3})
        Traceback (most recent call last):
        ...
        ValueError: per-call unknown setting 'max_iter' (did you mean 'max_iters'?)
    """
    problem = unknown_names([k for k in kwargs if not k.startswith("ls_")], CALL_NAMES)  # ls_*: LangChain's own
    if problem:
        raise ValueError(f"per-call {problem}")
    overrides = {name: kwargs.pop(name) for name in list(kwargs) if name in CONFIG_FIELDS}
    if kwargs.get("max_tokens") is not None:
        overrides["max_new_tokens"] = kwargs.pop("max_tokens")
    kwargs.pop("max_tokens", None)
    return overrides


def bounded_search(seeker: Any, problem: Any, reference: Any, timeout: float | None) -> Generator[Any, None, None]:
    """``seeker.iter_solve(problem, reference)`` under a wall-clock bound: past ``timeout`` seconds the
    search stops at its next decoding step and a ``TimeoutError`` is raised (what LangChain users get
    from any chat model's ``timeout``). Closing the iterator stops the search too."""
    import threading

    from latentseek_agents.cancel import Cancelled

    cancel = threading.Event()
    timer = threading.Timer(timeout, cancel.set) if timeout else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    stream = seeker.iter_solve([problem], [reference], cancel=cancel)  # one problem, whatever its shape
    try:
        yield from stream
    except Cancelled:
        raise TimeoutError(f"no answer within timeout={timeout} s: the search was stopped") from None
    finally:
        stream.close()
        if timer is not None:
            timer.cancel()


def attempt_line(attempt: Any) -> str:
    """One line of progress for a scored attempt: what streams as reasoning (chat model, server).

    Example:
        >>> from latentseek_agents.result import Attempt
        >>> attempt_line(Attempt(iteration=1, text="", score=0.5, passed=False, feedback="wrong"))
        'latent update 1: score 0.500 (wrong)\\n'
    """
    what = "first answer" if attempt.iteration == 0 else f"latent update {attempt.iteration}"
    note = attempt.error or attempt.feedback
    return f"{what}: score {attempt.score:.3f}" + (f" ({note[:160]})" if note else "") + "\n"


def cut_at_stop(text: str, stop: Sequence[str] | None) -> tuple[str, bool]:
    """Cut ``text`` at the earliest stop sequence; return it and whether a cut was made.

    Example:
        >>> cut_at_stop("a b. c", [". ", "x"])
        ('a b', True)
    """
    cuts = [text.find(s) for s in stop or () if s and s in text]
    return (text[: min(cuts)], True) if cuts else (text, False)


def display_name(model: Any) -> str:
    """A name for a model spec without loading it.

    Example:
        >>> display_name("default"), display_name("Qwen/Qwen2.5-7B-Instruct")
        ('SmolLM2-135M-Instruct', 'Qwen/Qwen2.5-7B-Instruct')
    """
    from latentseek_agents.model_spec import ModelSpec

    model = model.source if isinstance(model, ModelSpec) else model
    if model is None or model == "default":
        return _DEFAULT_NAME
    if isinstance(model, str):
        return model
    return str(getattr(model, "name", None) or type(model).__name__)


def fingerprint(obj: Any) -> str:
    """A stable digest of a reward's class and settings (falls back to its identity).

    Two rewards with the same class and settings share a fingerprint; a lambda or other
    unpicklable object gets one tied to the object itself, so caches never mix rewards.

    Example:
        >>> from latentseek_agents.rewards import MathAnswer
        >>> fingerprint(MathAnswer()) == fingerprint(MathAnswer())
        True
        >>> fingerprint(MathAnswer()) == fingerprint(MathAnswer(extract="auto"))
        False
    """
    kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
    try:
        payload = pickle.dumps(obj, protocol=4)
    except Exception:  # noqa: BLE001 - closures, locks, live models
        return f"{kind}@{id(obj):x}"
    return f"{kind}:{hashlib.sha256(payload).hexdigest()[:16]}"


def make_seeker(model: Any, reward: Any, config: LatentSeekConfig, settings: Mapping[str, Any] | None = None) -> Any:
    """A LatentSeek engine on the shared copy of ``model`` (loaded on first use)."""
    from latentseek_agents.seek import LatentSeek

    return LatentSeek(load_for(model, settings or {}), reward=reward, config=config)
