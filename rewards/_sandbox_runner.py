"""Runs inside the sandbox (stdlib only, copied into the run's temp dir; never imported by the library).

stdin: one line with the run's secret token, then one JSON object:
``{"program": str, "entry_point": str | None, "steps": [{"kind": "setup"|"test", "name": str,
"source": str}], "step_timeout": float, "limits": {...}, "output_bytes": int}``.

The runner (this process) keeps the token and never runs model code. It forks a child that wipes
its copy of the token, runs the program and the steps in one namespace, and reports each step on
a pipe. The runner prints ``{"token": ..., "results": [...], "exit": ..., "output": ...}`` as its
last stdout line only after the child has ended, so a program that exits early, kills its parent
or prints a fake result can't produce a passing run.
"""

import json
import os
import resource
import signal
import sys

_BUILTIN_TYPES = (int, float, complex, str, bytes, bool, type(None), list, tuple, dict, set, frozenset)


def _read_stdin():
    token = bytearray(33)  # 32 hex characters and a newline, read in place (no other copy)
    got = 0
    while got < len(token):
        view = memoryview(token)[got:]
        n = os.readv(0, [view])
        if n == 0:
            break
        got += n
    chunks = []
    while True:
        chunk = os.read(0, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    return token, json.loads(b"".join(chunks).decode("utf-8"))


def _set_limits(limits):
    for name, value in limits.items():
        resource.setrlimit(getattr(resource, name), (value, value))


def _plain(value, depth=0):
    """True when ``value`` is built only of builtin types (so == and repr can be trusted)."""
    kind = type(value)
    if kind not in _BUILTIN_TYPES or depth > 50:
        return False
    if kind in (list, tuple, set, frozenset):
        return all(_plain(v, depth + 1) for v in value)
    if kind is dict:
        return all(_plain(k, depth + 1) and _plain(v, depth + 1) for k, v in value.items())
    return True


def _guard(fn):
    def candidate(*args, **kwargs):
        result = fn(*args, **kwargs)
        if not _plain(result):
            raise TypeError(f"candidate returned a {type(result).__name__}, not a builtin value")
        return result

    return candidate


class _StepTimeout(BaseException):
    pass


def _on_alarm(signum, frame):
    raise _StepTimeout()


def _describe(exc):
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:300]


def _child(payload, report_fd, out_path):
    out = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    report = os.fdopen(report_fd, "w", buffering=1)
    write, dumps = report.write, json.dumps
    signal.signal(signal.SIGALRM, _on_alarm)
    step_timeout = float(payload["step_timeout"])
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    steps = [{"kind": "setup", "name": "program", "source": payload["program"]}] + payload["steps"]
    entry_point = payload.get("entry_point")
    for index, step in enumerate(steps):
        ok, error = True, None
        signal.setitimer(signal.ITIMER_REAL, step_timeout)
        try:
            exec(compile(step["source"], f"<{step['kind']} {index}>", "exec"), namespace)
            if index == 0 and entry_point:
                if not callable(namespace.get(entry_point)):
                    raise NameError(f"the program does not define {entry_point}()")
                namespace[entry_point] = namespace["candidate"] = _guard(namespace[entry_point])
        except _StepTimeout:
            ok, error = False, f"timed out after {step_timeout:g} s"
        except BaseException as exc:  # SystemExit too: exiting early is a failure
            ok, error = False, _describe(exc)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        write(dumps({"index": index, "ok": ok, "error": error}) + "\n")
        if not ok and step["kind"] == "setup":
            break  # later steps depend on it
    report.close()
    os._exit(0)


def _not_dumpable():
    """Keep /proc/<pid>/mem and /proc/<pid>/fd of this process closed to the same user."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except (OSError, AttributeError):
        pass


def main():
    _not_dumpable()
    token, payload = _read_stdin()
    _set_limits(payload["limits"])
    out_path = os.path.join(os.getcwd(), "output.txt")
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        token[:] = b"\0" * len(token)  # the child never holds the token
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        _child(payload, write_fd, out_path)
    os.close(write_fd)
    results = []
    with os.fdopen(read_fd, "r") as reports:
        for line in reports:
            try:
                results.append(json.loads(line))
            except ValueError:
                break
    _, status = os.waitpid(pid, 0)
    try:
        with open(out_path, "rb") as f:
            output = f.read(payload["output_bytes"]).decode("utf-8", "replace")
    except OSError:
        output = ""
    final = {"token": token.decode().strip(), "results": results, "exit": status, "output": output}
    sys.stdout.write(json.dumps(final) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
