"""`ServeOptions`: how a LatentSeek deployment runs (replicas, resources, admission), declared once.

``latentseek serve``, ``build_app`` (``serve run ...:build_app key=value``) and ``latentseek_app``
all read these fields and their defaults from here; :meth:`ServeOptions.add_options` makes the
command-line flags.
"""

from __future__ import annotations

import argparse
import threading
from dataclasses import dataclass, field, fields
from typing import Any

from latentseek_agents.validation import ConfigError, check_int, check_number

__all__ = ["LIMIT_OPTIONS", "SERVE_CONFIG_DEFAULTS", "ServeOptions", "add_limit_options", "config_from_strings",
           "limits_from"]

# The server's default search budget (a request may ask more, up to its limits): one declaration for
# `latentseek serve` and `build_app`.
SERVE_CONFIG_DEFAULTS: dict[str, Any] = {"max_iters": 2}
# Command-line / build_app names of the per-request limits that a deployment sets -> ServeLimits fields.
LIMIT_OPTIONS = {"max_request_iters": "max_iters", "max_request_tokens": "max_tokens",
                 "max_body_bytes": "max_body_bytes"}


@dataclass(frozen=True)
class ServeOptions:
    """Deployment options, checked at construction.

    Args:
        replicas: model copies (one per GPU or group of CPU cores).
        num_cpus: CPU cores per replica (torch threads; llama.cpp threads unless the ModelSpec sets them).
        num_gpus: GPUs per replica.
        max_ongoing_requests: requests one replica holds at once.
        max_queued_requests: requests waiting for a replica; more are answered 503 at once.
        max_batch_size: requests a replica solves together as one batched search (default:
            ``max_ongoing_requests``; 1 = one search at a time).
        batch_wait_s: how long a replica's first waiting request waits for others to join its batch.

    Example:
        >>> ServeOptions(replicas=2).max_queued_requests
        16
        >>> ServeOptions(num_cpus=0)
        Traceback (most recent call last):
        ...
        latentseek_agents.validation.ConfigError: num_cpus must be a finite number > 0, got 0
    """

    replicas: int = field(default=1, metadata={"help": "model copies (one per GPU or CPU group)"})
    num_cpus: float = field(default=1.0, metadata={"help": "CPU cores per replica (torch / llama.cpp threads)"})
    num_gpus: float = field(default=0.0, metadata={"help": "GPUs per replica"})
    max_ongoing_requests: int = field(default=8, metadata={"help": "requests a replica holds at once"})
    max_queued_requests: int = field(default=16, metadata={
        "help": "requests waiting for a replica; more are answered 503 at once"})
    max_batch_size: int | None = field(default=None, metadata={
        "help": "requests a replica solves together in one batched search (1: one search at a time; "
                "default: max_ongoing_requests)"})
    batch_wait_s: float = field(default=0.05, metadata={
        "help": "seconds a replica's first waiting request waits for others to join its batch"})

    def __post_init__(self) -> None:
        for name in ("replicas", "max_ongoing_requests", "max_queued_requests"):
            check_int(name, getattr(self, name), 1)
        check_number("num_cpus", self.num_cpus, 0, low_open=True)
        check_number("num_gpus", self.num_gpus, 0)
        check_int("max_batch_size", self.max_batch_size, 1, optional=True)
        if self.max_batch_size is not None and self.max_batch_size > self.max_ongoing_requests:
            raise ConfigError("max_batch_size", f"max_batch_size is {self.max_batch_size}, above "
                              f"max_ongoing_requests ({self.max_ongoing_requests}): a replica never holds that "
                              "many requests; raise max_ongoing_requests or lower max_batch_size")
        check_number("batch_wait_s", self.batch_wait_s, 0, threading.TIMEOUT_MAX)

    @property
    def batch_size(self) -> int:
        """The most requests solved together: ``max_batch_size``, else ``max_ongoing_requests``."""
        return self.max_batch_size or self.max_ongoing_requests

    @staticmethod
    def add_options(parser: argparse.ArgumentParser) -> None:
        """Add ``--replicas --num-cpus --num-gpus --max-ongoing-requests --max-queued-requests``."""
        group = parser.add_argument_group("deployment (ServeOptions)")
        for f in fields(ServeOptions):
            default = "" if f.default is None else " (default: %(default)s)"
            group.add_argument("--" + f.name.replace("_", "-"), type=_kind(f.name), default=f.default,
                               help=f"{f.metadata['help']}{default}")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ServeOptions:
        """The options :meth:`add_options`' flags describe (validated)."""
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls)})

    @classmethod
    def from_strings(cls, values: dict[str, Any]) -> ServeOptions:
        """The options from ``key=value`` text (``build_app``); a value of the wrong type is named."""
        out: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in values:
                kind = _kind(f.name)
                try:
                    out[f.name] = kind(values[f.name])
                except ValueError:
                    raise ValueError(f"{f.name} must be {'an int' if kind is int else 'a float'}, "
                                     f"got {values[f.name]!r}") from None
        return cls(**out)


def _kind(name: str) -> type:
    """The type of a ServeOptions field's values (None aside)."""
    return float if name.startswith("num_") or name.endswith("_s") else int


def add_limit_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--max-request-iters --max-request-tokens --max-body-bytes`` (defaults: ServeLimits')."""
    from .protocol import ServeLimits

    base = ServeLimits()
    helps = {"max_iters": "most latent updates one request may ask", "max_tokens": "most max_tokens per request",
             "max_body_bytes": "largest request body"}
    for option, name in LIMIT_OPTIONS.items():
        parser.add_argument("--" + option.replace("_", "-"), type=int, default=getattr(base, name),
                            help=f"{helps[name]} (default: %(default)s)")


def limits_from(values: Any) -> Any:
    """The ServeLimits that ``LIMIT_OPTIONS`` names in ``values`` (a Namespace or a mapping of text) describe."""
    from .protocol import ServeLimits

    get = values.get if isinstance(values, dict) else lambda key, default=None: getattr(values, key, default)
    out: dict[str, int] = {}
    for option, name in LIMIT_OPTIONS.items():
        value = get(option)
        if value is not None:
            try:
                out[name] = int(value)
            except ValueError:
                raise ValueError(f"{option} must be an int, got {value!r}") from None
    return ServeLimits(**out)


def config_from_strings(values: dict[str, str]) -> Any:
    """A LatentSeekConfig from ``key=value`` text (``build_app``), on the server's defaults; each value is
    converted to its field's type, and a value that is not one is named.

    Example:
        >>> config_from_strings({"lr": "0.05", "select": "best"}).max_iters
        2
    """
    import typing

    from latentseek_agents.config import LatentSeekConfig

    hints = typing.get_type_hints(LatentSeekConfig)
    out: dict[str, Any] = dict(SERVE_CONFIG_DEFAULTS)
    for f in fields(LatentSeekConfig):
        if f.name not in values:
            continue
        text, hint = values[f.name], hints[f.name]
        kinds = [k for k in typing.get_args(hint) if k is not type(None)] or [hint]
        kind = kinds[0] if typing.get_origin(hint) is not typing.Literal else str
        if text.lower() == "none" and type(None) in typing.get_args(hint):
            out[f.name] = None
        elif kind is bool:
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError(f"{f.name} must be true or false, got {text!r}")
            out[f.name] = text.lower() in ("true", "1")
        elif kind in (int, float):
            try:
                out[f.name] = kind(text)
            except ValueError:
                raise ValueError(f"{f.name} must be {'an int' if kind is int else 'a float'}, got {text!r}") from None
        else:
            out[f.name] = text
    return LatentSeekConfig(**out)
