"""Run model-written Python in a fresh, isolated, resource-limited subprocess.

Each run gets: a fresh ``python -I`` interpreter in its own temp dir and process group; when
running as root, new network and PID namespaces (``unshare``) and dropped privileges (uid 65534
via ``setpriv``); rlimits on memory, CPU, file size, open files, processes and core dumps; an empty
environment; a hard wall-clock kill of the whole process group; capped output; and a pass signal
that the program cannot fake (a random per-run token printed by the runner only after the program's
process ended; see ``_sandbox_runner.py``).

Without root, user namespaces are used when the kernel allows them, else only rlimits and the
process group (``isolation`` in the result says which). This is defence in depth for rewards, not
a security boundary for hostile code.
"""

from __future__ import annotations

import functools
import hmac
import json
import os
import secrets
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from latentseek_agents.validation import check_int

__all__ = ["SandboxLimits", "SandboxResult", "run_in_sandbox", "isolation_level", "sandbox_python"]

_RUNNER = Path(__file__).with_name("_sandbox_runner.py")
_NOBODY = 65534


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits of one sandboxed run.

    Example:
        >>> SandboxLimits(memory_mb=512).memory_mb
        512
    """

    memory_mb: int = 1024
    file_mb: int = 8
    open_files: int = 64
    processes: int = 64
    output_bytes: int = 64_000

    def __post_init__(self) -> None:
        for name in ("memory_mb", "file_mb", "open_files", "processes", "output_bytes"):
            check_int(name, getattr(self, name), 1, 2**31 - 1)


@dataclass
class SandboxResult:
    """What a sandboxed run reported.

    Attributes:
        steps: per step (program first, then setup/test steps): ``{"index", "ok", "error"}``.
        verified: the runner's token came back intact (the run ended normally).
        timed_out: the wall-clock bound killed the run.
        output: the program's captured stdout/stderr (capped).
        error: why the run produced no verified result, if it didn't.
        isolation: ``"namespaces+nobody"``, ``"user-namespaces"`` or ``"rlimits-only"``.
        seconds: wall time of the run.
    """

    steps: list[dict[str, Any]] = field(default_factory=list)
    verified: bool = False
    timed_out: bool = False
    output: str = ""
    error: str | None = None
    isolation: str = ""
    seconds: float = 0.0


def _world_usable(path: Path) -> bool:
    """Can uid 65534 execute ``path`` (every parent directory searchable)?"""
    try:
        path = path.resolve()
        if not path.stat().st_mode & stat.S_IXOTH:
            return False
        return all(parent.stat().st_mode & stat.S_IXOTH for parent in path.parents)
    except OSError:
        return False


@functools.lru_cache(maxsize=1)
def sandbox_python() -> str:
    """An interpreter the sandbox user can run (a venv under a private home can't be used)."""
    if os.geteuid() != 0:
        return sys.executable
    for candidate in (sys.executable, shutil.which("python3"), "/usr/bin/python3", "/usr/local/bin/python3"):
        if candidate and _world_usable(Path(candidate)):
            return str(Path(candidate))
    raise RuntimeError("no Python interpreter usable by uid 65534 was found (install python3 system-wide)")


def _works(cmd: list[str]) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@functools.lru_cache(maxsize=1)
def isolation_level() -> str:
    """The strongest isolation this machine allows (detected once)."""
    unshare, setpriv = shutil.which("unshare"), shutil.which("setpriv")
    if os.geteuid() == 0 and unshare and setpriv and _works(
            [unshare, "--net", "--pid", "--fork", "--kill-child", "--", setpriv, f"--reuid={_NOBODY}",
             f"--regid={_NOBODY}", "--clear-groups", "--", "true"]):
        return "namespaces+nobody"
    if unshare and _works([unshare, "--user", "--net", "--pid", "--fork", "--kill-child", "--", "true"]):
        return "user-namespaces"
    return "rlimits-only"


def _command(level: str, runner: Path) -> list[str]:
    python = [sandbox_python(), "-I", str(runner)]
    if level == "namespaces+nobody":
        return ["unshare", "--net", "--pid", "--fork", "--kill-child", "--", "setpriv",
                f"--reuid={_NOBODY}", f"--regid={_NOBODY}", "--clear-groups", "--", *python]
    if level == "user-namespaces":
        return ["unshare", "--user", "--net", "--pid", "--fork", "--kill-child", "--", *python]
    return python


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def _read_until(proc: subprocess.Popen, deadline: float, cap: int) -> tuple[bytes, bool]:
    """Drain stdout (keeping at most ``cap`` bytes) until EOF or the deadline."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    kept = bytearray()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return bytes(kept), True
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return bytes(kept), False
        if len(kept) < cap:
            kept += chunk[: cap - len(kept)]


def run_in_sandbox(
    program: str,
    steps: list[dict[str, str]],
    *,
    entry_point: str | None = None,
    timeout_s: float = 10.0,
    step_timeout_s: float | None = None,
    limits: SandboxLimits = SandboxLimits(),
) -> SandboxResult:
    """Run ``program`` then each step (``{"kind": "setup"|"test", "name", "source"}``) in one namespace.

    When ``entry_point`` is given, the program must define it; it is then wrapped (its return
    values must be builtin types, so an object whose ``__eq__`` is always True can't pass) and also
    bound to the name ``candidate`` (HumanEval's ``check(candidate)`` convention).

    Example:
        >>> r = run_in_sandbox("def f(x): return x + 1",
        ...                    [{"kind": "test", "name": "t", "source": "assert f(1) == 2"}])  # doctest: +SKIP
        >>> r.verified, [s["ok"] for s in r.steps]                                            # doctest: +SKIP
        (True, [True, True])
    """
    level = isolation_level()
    start = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="latentseek-sandbox-"))
    token = secrets.token_hex(16)
    try:
        runner = workdir / "runner.py"
        shutil.copyfile(_RUNNER, runner)
        if level == "namespaces+nobody":
            for path in (workdir, runner):
                os.chown(path, _NOBODY, _NOBODY)
        payload = {
            "program": program, "entry_point": entry_point, "steps": steps,
            "step_timeout": float(step_timeout_s or timeout_s),
            "output_bytes": limits.output_bytes,
            "limits": {
                "RLIMIT_AS": limits.memory_mb << 20, "RLIMIT_CPU": int(timeout_s) + 1,
                "RLIMIT_FSIZE": limits.file_mb << 20, "RLIMIT_NOFILE": limits.open_files,
                "RLIMIT_NPROC": limits.processes, "RLIMIT_CORE": 0,
            },
        }
        env = {"PATH": "/usr/bin:/bin", "HOME": str(workdir), "TMPDIR": str(workdir),
               "LANG": "C.UTF-8", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
        proc = subprocess.Popen(_command(level, runner), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, cwd=workdir, env=env, start_new_session=True)
        try:
            assert proc.stdin is not None
            proc.stdin.write(token.encode() + b"\n" + json.dumps(payload).encode())
            proc.stdin.close()
        except BrokenPipeError:
            pass
        raw, timed_out = _read_until(proc, start + timeout_s, cap=4 * limits.output_bytes + (1 << 20))
        _kill_group(proc)  # also reaps anything the program left behind
        result = SandboxResult(timed_out=timed_out, isolation=level, seconds=time.monotonic() - start)
        if timed_out:
            result.error = f"timed out after {timeout_s:g} s"
            return result
        try:
            final = json.loads(raw.decode("utf-8", "replace").strip().splitlines()[-1])
        except (ValueError, IndexError):
            result.error = "the run ended without a result (the runner was killed or crashed)"
            return result
        if not isinstance(final, dict) or not hmac.compare_digest(str(final.get("token", "")), token):
            result.error = "the run's result was not signed by the runner"
            return result
        result.verified = True
        result.steps = list(final.get("results", []))
        result.output = str(final.get("output", ""))[: limits.output_bytes]
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
