"""`ServeOptions`: how a LatentSeek deployment runs (replicas, resources, admission), declared once.

``latentseek serve``, ``build_app`` (``serve run ...:build_app key=value``) and ``latentseek_app``
all read these fields and their defaults from here; :meth:`ServeOptions.add_options` makes the
command-line flags.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field, fields
from typing import Any

from latentseek_agents.validation import check_int, check_number

__all__ = ["ServeOptions"]


@dataclass(frozen=True)
class ServeOptions:
    """Deployment options, checked at construction.

    Args:
        replicas: model copies (one per GPU or group of CPU cores).
        num_cpus: CPU cores per replica (torch threads; llama.cpp threads unless the ModelSpec sets them).
        num_gpus: GPUs per replica.
        max_ongoing_requests: requests one replica runs at once (they share its model's lock).
        max_queued_requests: requests waiting for a replica; more are answered 503 at once.

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
    max_ongoing_requests: int = field(default=2, metadata={"help": "requests a replica runs at once"})
    max_queued_requests: int = field(default=16, metadata={
        "help": "requests waiting for a replica; more are answered 503 at once"})

    def __post_init__(self) -> None:
        for name in ("replicas", "max_ongoing_requests", "max_queued_requests"):
            check_int(name, getattr(self, name), 1)
        check_number("num_cpus", self.num_cpus, 0, low_open=True)
        check_number("num_gpus", self.num_gpus, 0)

    @staticmethod
    def add_options(parser: argparse.ArgumentParser) -> None:
        """Add ``--replicas --num-cpus --num-gpus --max-ongoing-requests --max-queued-requests``."""
        group = parser.add_argument_group("deployment (ServeOptions)")
        for f in fields(ServeOptions):
            kind = float if f.name.startswith("num_") else int
            group.add_argument("--" + f.name.replace("_", "-"), type=kind, default=f.default,
                               help=f"{f.metadata['help']} (default: %(default)s)")

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
                kind = float if f.name.startswith("num_") else int
                try:
                    out[f.name] = kind(values[f.name])
                except ValueError:
                    raise ValueError(f"{f.name} must be {'an int' if kind is int else 'a float'}, "
                                     f"got {values[f.name]!r}") from None
        return cls(**out)
