"""`UnitTests`: run generated code against unit tests in the sandbox; score = fraction passed.

Tests come in three shapes, detected from their source:

* HumanEval: a ``check(candidate)`` function plus ``entry_point``. Each statement of ``check``'s
  body that contains an ``assert`` is one test; other statements run as setup, in order.
* plain assert blocks: top-level statements; each one containing an ``assert`` is a test.
* pytest style: top-level ``def test_*()`` functions; each is a test, called in order.

Model code runs only in :func:`~latentseek_agents.rewards.sandbox.run_in_sandbox`, and only after an
explicit opt-in (``allow_execution=True`` or ``LATENTSEEK_ALLOW_CODE_EXECUTION=1``).
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Mapping
from typing import Any

from latentseek_agents.scoring import CheckResult
from latentseek_agents.validation import check_number

from .base import MAX_CHECK_S, BaseChecker
from .sandbox import SandboxLimits, run_in_sandbox

__all__ = ["UnitTests", "extract_code", "split_tests"]

ALLOW_ENV = "LATENTSEEK_ALLOW_CODE_EXECUTION"
_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


def extract_code(completion: str, entry_point: str | None = None) -> str:
    """The code in a completion: the last fenced Python block (the last defining ``entry_point``
    when given), else the whole completion.

    Example:
        >>> extract_code("Here:\\n```python\\ndef f():\\n    return 1\\n```\\nDone.")
        'def f():\\n    return 1\\n'
    """
    fenced = [(lang.lower(), body) for lang, body in _FENCE.findall(completion or "")]
    blocks = [body for lang, body in fenced if lang in ("", "python", "py", "python3")]
    if not blocks:
        return completion or ""
    if entry_point:
        defining = [b for b in blocks if re.search(rf"\bdef\s+{re.escape(entry_point)}\s*\(", b)]
        if defining:
            return defining[-1]
    return blocks[-1]


def _has_assert(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Assert) for n in ast.walk(node))


def _label(node: ast.stmt) -> str:
    text = ast.unparse(node).strip().splitlines()[0]
    return text if len(text) <= 120 else text[:117] + "..."


def _statement_steps(body: list[ast.stmt]) -> list[dict[str, str]]:
    return [{"kind": "test" if _has_assert(node) else "setup", "name": _label(node),
             "source": ast.unparse(node)} for node in body]


def split_tests(tests: str) -> list[dict[str, str]]:
    """Split test source into ordered setup/test steps (see the module docstring).

    Example:
        >>> [s["kind"] for s in split_tests("import math\\nassert f(1) == 2\\nassert f(2) == 3")]
        ['setup', 'test', 'test']
    """
    try:
        module = ast.parse(tests)
    except SyntaxError as exc:
        raise ValueError(f"tests must be valid Python, got a SyntaxError: {exc}") from None
    check = next((n for n in module.body if isinstance(n, ast.FunctionDef) and n.name == "check"), None)
    if check is not None:
        setup = [n for n in module.body if n is not check]
        steps = [{"kind": "setup", "name": "test module", "source": ast.unparse(ast.Module(setup, []))}]
        return steps + _statement_steps(check.body)
    pytest_style = [n for n in module.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test")]
    if pytest_style:
        steps = [{"kind": "setup", "name": "test module", "source": tests}]
        return steps + [{"kind": "test", "name": f"{n.name}()", "source": f"{n.name}()"} for n in pytest_style]
    steps = _statement_steps(module.body)
    if not any(s["kind"] == "test" for s in steps):
        raise ValueError("tests contain no assert, no check(candidate) and no test_* function")
    return steps


class UnitTests(BaseChecker):
    """Run the completion's code against unit tests in a sandbox.

    Args:
        tests: test source (HumanEval ``check``, assert block, or pytest-style functions). May
            instead come per call, as ``tests=`` or in a ``reference`` mapping (``{"test": ...,
            "entry_point": ...}``, a HumanEval row).
        entry_point: the function under test; its return values must be builtin types.
        timeout_s: wall-clock bound of one whole run (the process group is killed after it).
        step_timeout_s: bound of one test (default: ``timeout_s``).
        allow_execution: must be True (or ``LATENTSEEK_ALLOW_CODE_EXECUTION=1``): model code runs.
        limits: memory / file size / processes / output caps of the sandbox.

    Example:
        >>> checker = UnitTests(tests="assert add(2, 3) == 5", entry_point="add",
        ...                     allow_execution=True)
        >>> checker.check("```python\\ndef add(a, b):\\n    return a + b\\n```").score   # doctest: +SKIP
        1.0
    """

    def __init__(
        self,
        tests: str | None = None,
        entry_point: str | None = None,
        *,
        timeout_s: float = 10.0,
        step_timeout_s: float | None = None,
        allow_execution: bool | None = None,
        limits: SandboxLimits | None = None,
    ) -> None:
        if allow_execution is not None and not isinstance(allow_execution, bool):
            raise ValueError(f"allow_execution must be True, False or None, got {allow_execution!r}")
        allowed = allow_execution if allow_execution is not None else os.environ.get(ALLOW_ENV) == "1"
        if not allowed:
            raise PermissionError(
                "UnitTests runs model-generated code: pass allow_execution=True (or set "
                f"{ALLOW_ENV}=1) to acknowledge that it will be executed in a local sandbox"
            )
        for name, value in (("timeout_s", timeout_s), ("step_timeout_s", step_timeout_s)):
            check_number(name, value, 0, MAX_CHECK_S, low_open=True, optional=True)
        for name, text, what in (("tests", tests, "Python test source"),
                                 ("entry_point", entry_point, "a function name")):
            if text is not None and not isinstance(text, str):
                raise ValueError(f"{name} must be None or {what} (a str), got {type(text).__name__} {text!r:.40}")
        if tests is not None:
            split_tests(tests)  # fail now on bad test source, not at the first check
        self.tests = tests
        self.entry_point = entry_point
        self.timeout_s = float(timeout_s)
        self.step_timeout_s = step_timeout_s
        self.limits = limits or SandboxLimits()

    def __repr__(self) -> str:
        return f"UnitTests(entry_point={self.entry_point!r}, timeout_s={self.timeout_s})"

    def check(self, completion: str, *, prompt: Any = None, reference: Any = None, **ctx: Any) -> CheckResult:
        """Run the tests against the completion's code; never raises for bad model output."""
        tests, entry_point = ctx.get("tests") or ctx.get("test"), ctx.get("entry_point")
        if isinstance(reference, Mapping):
            tests = tests or reference.get("test") or reference.get("tests")
            entry_point = entry_point or reference.get("entry_point")
            prompt = prompt if isinstance(prompt, str) else reference.get("prompt")
        tests, entry_point = tests or self.tests, entry_point or self.entry_point
        if not tests:
            return CheckResult(score=None, feedback="no tests given: skipped")
        try:
            steps = split_tests(tests)
        except ValueError as exc:
            return CheckResult(score=None, feedback=str(exc), error=str(exc))
        code = extract_code(completion if isinstance(completion, str) else "", entry_point)
        if entry_point and isinstance(prompt, str) and not re.search(rf"\bdef\s+{re.escape(entry_point)}\s*\(", code) \
                and re.search(rf"\bdef\s+{re.escape(entry_point)}\s*\(", prompt):
            code = prompt + code  # a HumanEval completion continues the prompt's signature
        run = run_in_sandbox(code, steps, entry_point=entry_point, timeout_s=self.timeout_s,
                             step_timeout_s=self.step_timeout_s, limits=self.limits)
        return self._score(run, steps)

    @staticmethod
    def _score(run: Any, steps: list[dict[str, str]]) -> CheckResult:
        names = ["program"] + [s["name"] for s in steps]
        kinds = ["setup"] + [s["kind"] for s in steps]
        tests = [i for i, kind in enumerate(kinds) if kind == "test"]
        details: dict[str, Any] = {"isolation": run.isolation, "seconds": round(run.seconds, 3),
                                   "output": run.output[-2000:], "tests": len(tests)}
        if not run.verified:
            # The program timed out, crashed or broke the runner: the answer failed, the check did not
            # (no error, so the engine reuses this result for an identical answer instead of re-running it).
            details.update(passed_tests=0, run_error=run.error)
            return CheckResult(score=0.0, passed=False, feedback=f"0/{len(tests)} tests passed: {run.error}",
                               details=details)
        reported = {int(r["index"]): r for r in run.steps if isinstance(r, dict) and "index" in r}
        passed = [i for i in tests if reported.get(i, {}).get("ok") is True]
        details["passed_tests"] = len(passed)
        failing = next((i for i in range(len(names)) if reported.get(i, {}).get("ok") is not True), None)
        score = len(passed) / len(tests) if tests else 0.0
        feedback = f"{len(passed)}/{len(tests)} tests passed"
        if failing is not None:
            error = reported.get(failing, {}).get("error") or "did not run"
            feedback += f"; first failing {kinds[failing]}: {names[failing]} ({error})"
            details["first_failure"] = {"name": names[failing], "error": error}
        return CheckResult(score=score, passed=bool(tests) and len(passed) == len(tests),
                           feedback=feedback, details=details)
