"""`run_bench`: run methods over a dataset in batches, append one JSON line per (problem, method,
reward) to a resumable file, and summarize."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..answers import extract_answer, last_boxed
from ..config import LatentSeekConfig
from .data import BenchProblem, load_problems
from .methods import METHODS, MethodRun, run_method
from .report import format_paired, format_table, paired, plot_curves, summarize

__all__ = ["run_bench", "REWARDS", "read_rows", "gold_checker", "make_reward", "make_row", "run_settings"]

# self: SelfJudge (the paper's self-reward); self_boxed: the same behind a format gate (no \boxed{}
# answer scores 0, like the paper's format reward on some Prompt-1 runs); oracle: the gold check.
REWARDS = ("self", "self_boxed", "oracle")


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


def gold_checker(kind: str, allow_code_execution: bool) -> Any:
    """The gold-answer check for a problem kind (also the ``oracle`` reward)."""
    from ..rewards import MathAnswer, UnitTests

    if kind == "code":
        return UnitTests(allow_execution=allow_code_execution, timeout_s=10.0)
    return MathAnswer(extract="auto")


def make_reward(name: str, lm: Any, gold: Any, judge_tokens: int) -> Any:
    """The reward called ``name`` (see :data:`REWARDS`) on model ``lm``."""
    from ..rewards import SelfJudge, gate

    if name == "oracle":
        return gold
    judge = SelfJudge(lm, max_new_tokens=judge_tokens)
    if name == "self_boxed":
        return gate(lambda text: last_boxed(text) is not None, then=judge)
    return judge


def make_row(problem: BenchProblem, method: str, reward: str, run: MethodRun, config: LatentSeekConfig) -> dict[str, Any]:
    """The JSON row of one method's run on one problem."""
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
        "flipped": [round(a.flipped, 4) for a in attempts if a.flipped is not None],
    }


def run_settings(config: LatentSeekConfig, model: Any, quantize: str | None, judge_tokens: int) -> dict[str, Any]:
    """What a results row was computed with; part of the resume key (other settings, other rows).

    Example:
        >>> run_settings(LatentSeekConfig(), "default", None, 128)["model"]
        'default'
    """
    name = model if isinstance(model, str) else getattr(model, "source", None) or getattr(model, "name", repr(model))
    return {**config.to_dict(), "model": str(name), "quantize": quantize, "judge_tokens": judge_tokens}


def _differences(old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = sorted(set(old) | set(new))
    return ", ".join(f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in keys if old.get(k) != new.get(k))


def _local_rows(lm: Any, tasks: list[tuple[str, str, list[BenchProblem]]], config: LatentSeekConfig,
                judge_tokens: int, allow_code_execution: bool) -> Iterator[dict[str, Any]]:
    for method, reward_name, batch in tasks:
        gold = gold_checker(batch[0].kind, allow_code_execution)
        reward = make_reward(reward_name, lm, gold, judge_tokens)
        for problem, run in zip(batch, run_method(method, lm, batch, reward, gold, config)):
            yield make_row(problem, method, reward_name, run, config)


def run_bench(
    data: str | Path,
    *,
    methods: Sequence[str] = METHODS,
    rewards: Sequence[str] = ("self",),
    limit: int | None = None,
    model: Any = "default",
    quantize: str | None = None,
    config: LatentSeekConfig | None = None,
    out: str | Path = "results.jsonl",
    plot: str | Path | None = None,
    batch_size: int = 8,
    judge_tokens: int = 128,
    allow_code_execution: bool = False,
    progress: bool = True,
    ray_workers: int | None = None,
) -> list[dict[str, Any]]:
    """Run every (method, reward) over the problems; rows already in ``out`` are skipped (resume).

    With ``ray_workers=N`` the batches run on N Ray actors (:mod:`latentseek_agents.distributed`);
    rows arrive in any order into the same file. Failed rows (a worker died too often) are
    written too and tried again by the next run.

    Returns the summaries (also printed). Example::

        run_bench("data/gsm8k/test_dev.jsonl", limit=30, methods=["cot", "latentseek"],
                  rewards=["oracle"], config=LatentSeekConfig(max_iters=3, max_new_tokens=256))
    """
    from tqdm.auto import tqdm

    from ..models import load_model

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
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    settings = run_settings(config, model, quantize, judge_tokens)
    earlier = read_rows(out)
    others = [r for r in earlier if r.get("settings") != settings]
    if others:
        print(f"{out}: {len(others)} row(s) were computed with other settings ("
              f"{_differences(others[-1].get('settings') or {}, settings)}); they are kept in the file but "
              "neither resumed nor counted here")
    done = {(r["id"], r["method"], r["reward"]) for r in earlier if r.get("settings") == settings
            and not r.get("failed")}
    tasks = []
    for reward_name in rewards:
        for method in methods:
            pending = [p for p in problems if (p.id, method, reward_name) not in done]
            tasks += [(method, reward_name, pending[i: i + batch_size]) for i in range(0, len(pending), batch_size)]
    bar = tqdm(total=sum(len(t[2]) for t in tasks), desc="bench", unit="problem", disable=not progress)
    if ray_workers:
        from ..distributed import RayPool

        pool = RayPool(model, ray_workers, quantize=quantize)
        rows_iter = pool.rows(tasks, config, judge_tokens=judge_tokens, allow_code_execution=allow_code_execution)
    else:
        rows_iter = _local_rows(load_model(model, quantize=quantize), tasks, config, judge_tokens, allow_code_execution)
    right = seen = 0
    try:
        with out.open("a", encoding="utf-8") as sink:
            if out.stat().st_size and not out.read_bytes().endswith(b"\n"):
                sink.write("\n")  # end a line cut short by an interrupted run before appending
            for row in rows_iter:
                row["settings"] = settings
                sink.write(json.dumps(row) + "\n")
                sink.flush()
                right += bool(row["correct"])
                seen += 1
                bar.update(1)
                bar.set_postfix(method=row["method"], accuracy=f"{right / seen:.1%}")
    finally:
        bar.close()
        if ray_workers:
            print(f"ray: {ray_workers} workers, {pool.retries} batch re-submission(s) after a worker died")
            pool.close()
    latest = {(r["id"], r["method"], r["reward"]): r for r in read_rows(out)  # a retried row replaces its failure
              if r.get("settings") == settings}
    rows = [r for r in latest.values() if r["method"] in methods and r["reward"] in rewards
            and r["id"] in {p.id for p in problems}]
    summary = summarize(rows)
    print(format_table(summary))
    if len(summary) > 1:
        print(format_paired(paired(rows)))
    if plot:
        plot_curves(rows, config.max_iters, plot)
        print(f"plot written to {plot}")
    return summary
