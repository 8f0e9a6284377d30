"""`DocstringExamples`: the tests a user already has — the examples in a function's docstring —
run against the completion by :class:`UnitTests` (never the hidden tests).

:func:`docstring_tests` turns the docstring of ``entry_point`` into an assert block:

* doctest examples (``>>> f(2)`` then ``4``) become ``assert f(2) == 4``; a ``>>>`` line with no
  output is kept as setup;
* prose examples on one line, ``f(args) <sep> value`` with ``<sep>`` one of ``==``, ``==>``,
  ``=>``, ``->``, ``➞``, ``returns``, ``should return``, ``# returns`` (``true`` / ``false`` read
  as Python's), and ``... = value`` after a worked sum (``f(x) -> 19 - 5 - 6 = 8``).

Only examples whose arguments and expected value are Python literals are kept (``is_happy(a) =>
False`` is prose, not a test). No example: None (the checker then skips: no signal to search on).

Example:
    >>> print(docstring_tests('def inc(x):\\n    \"\"\"Add one.\\n    >>> inc(1)\\n    2\\n    \"\"\"\\n', "inc"))
    assert inc(1) == 2
"""

from __future__ import annotations

import ast
import doctest
import inspect
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from latentseek_agents.scoring import CheckResult

from .base import BaseChecker
from .sandbox import SandboxLimits
from .unit_tests import UnitTests

__all__ = ["DocstringExamples", "docstring_tests"]

_SEPARATOR = re.compile(r"^\s*(?:==>|==|=>|->|➞|#\s*returns|should\s+return|returns)\s*(.+?)\s*\.?\s*$",
                        re.IGNORECASE)
_WORDS = {"true": "True", "false": "False", "none": "None"}


def _docstring(prompt: str, entry_point: str) -> str:
    """The docstring of ``entry_point`` in ``prompt`` as written in the source (escapes kept: its
    examples are code), dedented; the whole prompt if it can't be parsed."""
    try:
        module = ast.parse(prompt)
    except SyntaxError:
        return prompt
    for node in ast.walk(module):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == entry_point:
            if ast.get_docstring(node) is None:
                return ""
            first = node.body[0]
            written = ast.get_source_segment(prompt, first.value) if isinstance(first, ast.Expr) else ""
            written = written or ""
            quoted = re.match(r"^[rRuU]?(\"\"\"|'''|\"|')(.*)\1$", written, re.DOTALL)
            return inspect.cleandoc(quoted.group(2) if quoted else ast.get_docstring(node) or "")
    return prompt


def _literal(text: str) -> str | None:
    """``text`` as a Python literal's source (``true`` -> ``True``), or None if it is not one."""
    text = _WORDS.get(text.strip().lower(), text.strip())
    try:
        ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return text


def _literal_call(text: str, entry_point: str) -> tuple[str, str] | None:
    """The leading ``entry_point(literal args)`` of ``text`` and what follows it, or None."""
    start = text.find(entry_point + "(")
    if start < 0 or (start and (text[start - 1].isalnum() or text[start - 1] == "_")):
        return None
    depth = 0
    for end in range(start + len(entry_point), len(text)):
        depth += {"(": 1, ")": -1}.get(text[end], 0)
        if depth == 0:
            break
    else:
        return None
    call = text[start: end + 1]
    try:
        node = ast.parse(call, mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(node, ast.Call) or not all(_literal(ast.unparse(a)) for a in node.args) \
            or not all(kw.arg and _literal(ast.unparse(kw.value)) for kw in node.keywords):
        return None
    return call, text[end + 1:]


def _doctest_lines(doc: str) -> list[str]:
    lines: list[str] = []
    try:
        examples = doctest.DocTestParser().get_examples(doc)
    except ValueError:
        return lines
    for example in examples:
        want = example.want.strip()
        try:
            tree = ast.parse(example.source)
        except SyntaxError:
            continue
        source = ast.unparse(tree)  # comments dropped: "f(x)  # note" must not swallow "== value"
        if not want:
            lines.append(source)
        elif len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr) and (expected := _literal(want)) is not None:
            lines.append(f"assert {source} == {expected}")
    return lines


def _prose_lines(doc: str, entry_point: str) -> list[str]:
    lines = []
    for line in doc.splitlines():
        found = _literal_call(line, entry_point)
        if found is None:
            continue
        call, rest = found
        match = _SEPARATOR.match(rest)
        if not match:
            continue
        value = match.group(1)
        expected = _literal(value)
        if expected is None and " = " in value:  # "19 - 5 - 6 = 8": the worked sum's result
            expected = _literal(value.rsplit(" = ", 1)[1])
        if expected is not None:
            lines.append(f"assert {call} == {expected}")
    return lines


def docstring_tests(prompt: str, entry_point: str) -> str | None:
    """An assert block from the examples in ``entry_point``'s docstring (see the module docstring)."""
    if not (isinstance(prompt, str) and isinstance(entry_point, str) and entry_point.isidentifier()):
        return None
    doc = _docstring(prompt, entry_point)
    lines = _doctest_lines(doc) if ">>>" in doc else _prose_lines(doc, entry_point)
    if not any(line.startswith("assert ") for line in lines):
        return None
    return "\n".join(dict.fromkeys(lines))  # an example given twice is one test


class DocstringExamples(BaseChecker):
    """Score code by the examples in its prompt's docstring (what a real user has), in the sandbox.

    The prompt is the function's signature and docstring (a HumanEval ``prompt``; or, per call,
    ``reference={"prompt": ..., "entry_point": ...}``); a ``reference``'s hidden ``test`` is never
    run. Score: the share of examples passed; None (skip) when the docstring has none.

    Args:
        timeout_s: wall-clock bound of one run; allow_execution: must be True (model code runs);
        limits: the sandbox's limits. As for :class:`UnitTests`.

    Example:
        >>> checker = DocstringExamples(allow_execution=True)
        >>> prompt = 'def inc(x):\\n    \"\"\"\\n    >>> inc(1)\\n    2\\n    \"\"\"\\n'
        >>> checker.check("```python\\ndef inc(x):\\n    return x + 1\\n```", prompt=prompt,
        ...               entry_point="inc").score                                   # doctest: +SKIP
        1.0
    """

    def __init__(self, *, timeout_s: float = 10.0, allow_execution: bool | None = None,
                 limits: SandboxLimits | None = None) -> None:
        self.runner = UnitTests(timeout_s=timeout_s, allow_execution=allow_execution, limits=limits)

    def __repr__(self) -> str:
        return f"DocstringExamples(timeout_s={self.runner.timeout_s})"

    def check(self, completion: str, *, prompt: Any = None, reference: Any = None, **ctx: Any) -> CheckResult:
        """Run the docstring's examples against the completion's code; never raises for bad output."""
        entry_point = ctx.get("entry_point")
        if isinstance(reference, Mapping):
            entry_point = entry_point or reference.get("entry_point")
            prompt = prompt if isinstance(prompt, str) else reference.get("prompt")
        if not isinstance(prompt, str) or not isinstance(entry_point, str):
            return CheckResult(score=None, feedback="no prompt with a function and its entry_point: skipped")
        tests = docstring_tests(prompt, entry_point)
        if tests is None:
            return CheckResult(score=None, feedback=f"no usable examples in {entry_point}'s docstring: skipped")
        result = self.runner.check(completion, prompt=prompt, tests=tests, entry_point=entry_point)
        return replace(result, details={**result.details, "examples": tests})
