"""Benchmark rows: GSM8K (question / answer with ``####``), MATH (problem / answer) and HumanEval
(prompt / test / entry_point) JSONL files, read into one :class:`BenchProblem` shape."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..answers import gsm8k_gold
from ..validation import check_int

__all__ = ["BenchProblem", "load_problems"]

CODE_SYSTEM = "Complete the Python function. Answer with the whole function in one ```python code block."


@dataclass
class BenchProblem:
    """One benchmark problem.

    Attributes:
        id: a stable id (the row's ``task_id``/``id``, else its line number).
        kind: ``"math"`` or ``"code"``.
        problem: the question string (math) or chat messages (code).
        question: the question text (what judges see).
        gold: the gold answer (math) or the HumanEval row (code: tests and entry point).
        dataset: the row's format, ``"gsm8k"``, ``"math"`` or ``"humaneval"`` (it picks the
            prompt's text, see :meth:`prompt_style`).
    """

    id: str
    kind: str
    problem: Any
    question: str
    gold: Any = field(repr=False)
    dataset: str = "gsm8k"

    def prompt_style(self, requested: str) -> str:
        """The prompt style this problem is asked in when ``requested`` is the run's.

        A HumanEval row carries its own prompt (``"none"``); Prompt 2 (``"json"``) on a MATH row
        takes the paper's MATH text (``"json_expression"``, no bare-number sentence); otherwise
        the requested style.

        Example:
            >>> BenchProblem("0", "math", "Simplify 2/4.", "Simplify 2/4.", "1/2", "math").prompt_style("json")
            'json_expression'
        """
        if self.kind == "code":
            return "none"
        if requested == "json" and self.dataset == "math":
            return "json_expression"
        return requested


def _row_problem(index: int, row: dict[str, Any]) -> BenchProblem:
    rid = str(row.get("task_id", row.get("id", index)))
    if "entry_point" in row and "test" in row and "prompt" in row:
        messages = [{"role": "system", "content": CODE_SYSTEM}, {"role": "user", "content": row["prompt"]}]
        return BenchProblem(rid, "code", messages, row["prompt"], row, "humaneval")
    dataset = "gsm8k" if "question" in row else "math"
    question = row.get("question", row.get("problem"))
    answer = row.get("answer", row.get("solution"))
    if not isinstance(question, str) or answer is None:
        raise ValueError(f"the row is neither GSM8K (question/answer), MATH (problem/answer) nor "
                         f"HumanEval (prompt/test/entry_point): keys {sorted(row)}")
    return BenchProblem(rid, "math", question, question, gsm8k_gold(str(answer)), dataset)


def load_problems(path: str | Path, limit: int | None = None, skip: int = 0) -> list[BenchProblem]:
    """Read up to ``limit`` problems from a JSONL file, after the first ``skip``.

    A row without an id keeps its line number as its id whatever ``skip`` is, so slices of one file
    run in separate processes never share an id and their result files concatenate.

    Example:
        >>> problems = load_problems("data/gsm8k/test_dev.jsonl", limit=2)   # doctest: +SKIP
        >>> problems[0].gold                                                 # doctest: +SKIP
        '18'
        >>> [p.id for p in load_problems("data/gsm8k/test_dev.jsonl", limit=2, skip=24)]   # doctest: +SKIP
        ['24', '25']
    """
    check_int("limit", limit, 1, optional=True)
    check_int("skip", skip, 0)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--data {str(path)!r} is not a file")
    problems: list[BenchProblem] = []
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8") as f:
        for index, line in enumerate(f):
            if limit is not None and len(problems) >= skip + limit:
                break
            if not line.strip():
                continue
            where = f"{path}, line {index + 1}"
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise ValueError(f"{where}: not valid JSON ({exc})") from None
            if not isinstance(row, dict):
                raise ValueError(f"{where}: a row must be a JSON object, got a JSON {type(row).__name__}")
            try:
                problem = _row_problem(index, row)
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from None
            if not problem.question.strip():
                raise ValueError(f"{where}: the question is empty")
            if problem.id in seen:
                raise ValueError(f"{where}: id {problem.id!r} repeats line {seen[problem.id]} (ids must be unique: "
                                 "results are kept per id)")
            seen[problem.id] = index + 1
            problems.append(problem)
    return problems[skip:]
