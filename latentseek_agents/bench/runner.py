"""`run_bench`: run methods over a dataset in batches, append one JSON line per (problem, method,
reward) to a resumable file, and summarize."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..answers import extract_answer
from ..config import LatentSeekConfig
from .data import BenchProblem, load_problems
from .methods import METHODS, MethodRun, run_method
from .report import format_table, plot_curves, summarize

__all__ = ["run_bench", "REWARDS", "read_rows"]

REWARDS = ("self", "oracle")


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """The rows already written to a results file (an unreadable last line is skipped)."""
    path = Path(path)
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue  # a line cut short by an interrupted run
    return rows


def _gold_checker(kind: str, allow_code_execution: bool) -> Any:
    from ..rewards import MathAnswer, UnitTests

    if kind == "code":
        return UnitTests(allow_execution=allow_code_execution, timeout_s=10.0)
    return MathAnswer(extract="auto")


def _row(problem: BenchProblem, method: str, reward: str, run: MethodRun, config: LatentSeekConfig) -> dict[str, Any]:
    chosen = run.chosen()
    attempts = run.attempts
    return {
        "id": problem.id, "method": method, "reward": reward,
        "correct": attempts[chosen].correct, "first_correct": attempts[0].correct,
        "answer": extract_answer(run.texts[chosen]) if problem.kind == "math" else None,
        "gold": problem.gold if problem.kind == "math" else problem.id,
        "attempts": len(attempts), "chosen": chosen, "tokens": sum(a.tokens for a in attempts),
        "generate_s": sum(a.generate_s for a in attempts), "update_s": sum(a.update_s for a in attempts),
        "reward_s": sum(a.reward_s for a in attempts),
        "scores": [round(a.score, 4) for a in attempts], "correct_each": [a.correct for a in attempts],
        "correct_at": [attempts[run.chosen(k)].correct for k in range(config.max_iters + 1)],
        "errors": [a.error for a in attempts if a.error],
        "settings": {"max_iters": config.max_iters, "lr": config.lr, "fraction": config.fraction,
                     "steps_per_iter": config.steps_per_iter, "optimizer": config.optimizer,
                     "select": config.select, "max_new_tokens": config.max_new_tokens},
    }


def run_bench(
    data: str | Path,
    *,
    methods: Sequence[str] = METHODS,
    rewards: Sequence[str] = ("self",),
    limit: int | None = None,
    model: Any = "default",
    config: LatentSeekConfig | None = None,
    out: str | Path = "results.jsonl",
    plot: str | Path | None = None,
    batch_size: int = 8,
    judge_tokens: int = 128,
    allow_code_execution: bool = False,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Run every (method, reward) over the problems; rows already in ``out`` are skipped (resume).

    Returns the summaries (also printed). Example::

        run_bench("data/gsm8k/test_dev.jsonl", limit=30, methods=["cot", "latentseek"],
                  rewards=["oracle"], config=LatentSeekConfig(max_iters=3, max_new_tokens=256))
    """
    from tqdm.auto import tqdm

    from ..models import load_model
    from ..rewards import SelfJudge

    for method in methods:
        if method not in METHODS:
            raise ValueError(f"methods must be among {METHODS}, got {method!r}")
    for reward in rewards:
        if reward not in REWARDS:
            raise ValueError(f"reward must be among {REWARDS}, got {reward!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    config = config or LatentSeekConfig()
    problems = load_problems(data, limit)
    if not problems:
        raise ValueError(f"--data {str(data)!r} holds no problems")
    kinds = {p.kind for p in problems}
    if "code" in kinds and not allow_code_execution:
        raise PermissionError("code problems run model code: pass --allow-code-execution to acknowledge it")
    lm = load_model(model)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = {(r["id"], r["method"], r["reward"]) for r in read_rows(out)}
    jobs = [(m, r) for r in rewards for m in methods]
    todo = [(m, r, p) for m, r in jobs for p in problems if (p.id, m, r) not in done]
    bar = tqdm(total=len(todo), desc="bench", unit="problem", disable=not progress)
    right = seen = 0
    with out.open("a", encoding="utf-8") as sink:
        if out.stat().st_size and not out.read_bytes().endswith(b"\n"):
            sink.write("\n")  # end a line cut short by an interrupted run before appending
        for method, reward_name in jobs:
            pending = [p for p in problems if (p.id, method, reward_name) not in done]
            for start in range(0, len(pending), batch_size):
                batch = pending[start: start + batch_size]
                gold = _gold_checker(batch[0].kind, allow_code_execution)
                reward = gold if reward_name == "oracle" else SelfJudge(lm, max_new_tokens=judge_tokens)
                for problem, run in zip(batch, run_method(method, lm, batch, reward, gold, config)):
                    row = _row(problem, method, reward_name, run, config)
                    sink.write(json.dumps(row) + "\n")
                    sink.flush()
                    right += bool(row["correct"])
                    seen += 1
                    bar.update(1)
                    bar.set_postfix(method=method, accuracy=f"{right / seen:.1%}")
    bar.close()
    rows = [r for r in read_rows(out) if r["method"] in methods and r["reward"] in rewards
            and r["id"] in {p.id for p in problems}]
    summary = summarize(rows)
    print(format_table(summary))
    if plot:
        plot_curves(rows, config.max_iters, plot)
        print(f"plot written to {plot}")
    return summary
