"""`run_bench`: run methods over a dataset in batches, append one JSON line per (problem, method,
reward) to a resumable file, and summarize."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..config import LatentSeekConfig
from ..model_spec import ModelSpec, as_model_spec
from ..rewards.base import JUDGE_TOKENS
from .data import load_problems
from .executors import RayExecutor, local_rows
from .methods import METHODS
from .report import format_agreement, format_paired, format_table, judge_agreement, paired, plot_curves, summarize
from .tasks import CODE_ONLY_REWARDS, JUDGED_REWARDS, REWARDS, Task

__all__ = ["BenchReport", "REWARDS", "append_row", "computed_with", "read_rows", "run_bench", "run_settings"]


@dataclass
class BenchReport:
    """What :func:`run_bench` computed: one summary per (method, reward), the paired comparisons,
    and notes on the file (rows kept from other settings, failed rows). ``str(report)`` is what the
    CLI prints.

    Example:
        >>> str(BenchReport(summary=[], pairs=[], notes=["2 rows were computed with other settings"]))
        '2 rows were computed with other settings'
    """

    summary: list[dict[str, Any]]
    pairs: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    judges: list[dict[str, Any]] = field(default_factory=list)  # judge_agreement: non-oracle rewards vs gold

    def __str__(self) -> str:
        parts = list(self.notes)
        if self.summary:
            parts.append(format_table(self.summary))
        if len(self.summary) > 1:
            parts.append(format_paired(self.pairs))
        if self.judges:
            parts.append(format_agreement(self.judges))
        return "\n".join(parts)

def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """The rows already written to a results file.

    A row an interrupted run cut short (``{...`` that does not parse) is skipped: the next run
    computes it again. Any other line that is not a results row (a list, a number, other text) is a
    ``ValueError`` naming the file and line, so a damaged file is never half-read or overwritten.

    Example:
        >>> read_rows("no-such-results.jsonl")
        []
    """
    path = Path(path)
    if not path.is_file():
        return []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not a UTF-8 results file ({exc.reason} at byte {exc.start})") from None
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            if line.lstrip().startswith("{"):
                continue  # a row cut short by an interrupted run (a later run ended the line and went on)
            raise ValueError(f"{path}:{number}: not a JSON line ({line[:60]!r}); fix or remove that line, "
                             "the rows around it are kept") from None
        if not isinstance(row, dict) or not {"id", "method", "reward"} <= set(row):
            raise ValueError(f"{path}:{number}: a results row is a JSON object with id, method and reward, got "
                             f"{line[:60]!r}; fix or remove that line, the rows around it are kept")
        rows.append(row)
    return rows


def append_row(path: str | Path, row: dict[str, Any]) -> None:
    """Append one JSON row to a results file, first ending a line an interrupted run cut short.

    Example:
        >>> append_row("results.jsonl", {"id": "0", "method": "cot", "correct": True})  # doctest: +SKIP
    """
    with Path(path).open("a+b") as sink:  # writes append; reads see the last byte only
        if sink.seek(0, 2):
            sink.seek(-1, 2)
            if sink.read(1) != b"\n":
                sink.write(b"\n")
        sink.write(json.dumps(row).encode("utf-8") + b"\n")


def run_settings(config: LatentSeekConfig, model: Any, judge_tokens: int) -> dict[str, Any]:
    """What a results row was computed with; part of the resume key (other settings, other rows).

    ``model`` is a :class:`~latentseek_agents.model_spec.ModelSpec` or a loaded model.

    Example:
        >>> from latentseek_agents.model_spec import ModelSpec
        >>> run_settings(LatentSeekConfig(), ModelSpec("default", backend="torch"), 128)["backend"]
        'torch'
    """
    name: Any
    if isinstance(model, ModelSpec):
        name, quantize, backend = model.source, model.quantize, model.resolved_backend()
    else:
        name = getattr(model, "source", None) or getattr(model, "name", repr(model))
        quantize = getattr(model, "quantize", None)
        backend = getattr(model, "backend", "torch")
    return {**config.to_dict(), "model": str(name), "quantize": quantize, "backend": backend,
            "judge_tokens": judge_tokens}


def computed_with(row: dict[str, Any], settings: dict[str, Any]) -> bool:
    """Whether ``row`` was computed with ``settings`` (the judge budget counts only for judged rewards).

    Example:
        >>> computed_with({"reward": "oracle", "settings": {"lr": 0.03, "judge_tokens": 128}},
        ...               {"lr": 0.03, "judge_tokens": 512})
        True
        >>> computed_with({"reward": "oracle", "settings": {"lr": 0.03, "judge_tokens": 512}},
        ...               {"lr": 0.03, "population": 1, "judge_tokens": 512})  # a later option at its default
        True
    """
    theirs = row.get("settings")
    if not isinstance(theirs, dict):
        return False
    if "backend" in settings:
        theirs = {"backend": "torch", **theirs}  # rows from before the llama.cpp backend ran on torch
    # A setting added after a row was computed: the row ran with its default (new options are off by default).
    theirs = {**{f.name: f.default for f in fields(LatentSeekConfig) if f.name in settings}, **theirs}
    if row.get("reward") not in JUDGED_REWARDS:
        theirs = {**theirs, "judge_tokens": settings.get("judge_tokens")}
    return theirs == settings


def _differences(old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = sorted(set(old) | set(new))
    return ", ".join(f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in keys if old.get(k) != new.get(k))


def run_bench(
    data: str | Path,
    *,
    methods: Sequence[str] = METHODS,
    rewards: Sequence[str] = ("self",),
    limit: int | None = None,
    skip: int = 0,
    model: Any = "default",
    quantize: str | None = None,
    backend: str | None = None,
    config: LatentSeekConfig | None = None,
    out: str | Path = "results.jsonl",
    plot: str | Path | None = None,
    batch_size: int = 8,
    judge_tokens: int = JUDGE_TOKENS,
    allow_code_execution: bool = False,
    progress: bool = True,
    ray_workers: int | None = None,
    executor: Any = None,
) -> BenchReport:
    """Run every (method, reward) over the problems; rows already in ``out`` are skipped (resume).

    ``model`` is a :class:`~latentseek_agents.model_spec.ModelSpec`, a name or path (with
    ``quantize`` / ``backend``), or a loaded model (local runs only).

    ``skip`` / ``limit`` take a slice of ``data``: ``skip=24, limit=6`` runs its problems 25-30, with the
    ids they have in the whole file, so slices run in parallel processes concatenate into one file.

    With ``ray_workers=N`` the batches run on N Ray actors (:class:`~.executors.RayExecutor`; or pass
    your own ``executor``); rows arrive in any order into the same file. Failed rows (a worker
    died more often than Ray retries) are written too and tried again by the next run.

    Returns a :class:`BenchReport` (the caller prints it). Example::

        report = run_bench("data/gsm8k/test_dev.jsonl", limit=30, methods=["cot", "latentseek"],
                           rewards=["oracle"], config=LatentSeekConfig(max_iters=3, max_new_tokens=256))
        print(report)
    """
    from tqdm.auto import tqdm

    for method in methods:
        if method not in METHODS:
            raise ValueError(f"methods must be among {METHODS}, got {method!r}")
    for reward in rewards:
        if reward not in REWARDS:
            raise ValueError(f"reward must be among {REWARDS}, got {reward!r}")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    config = config or LatentSeekConfig()
    problems = load_problems(data, limit, skip)
    if not problems:
        after = f" after the first {skip} (skip)" if skip else ""
        raise ValueError(f"--data {str(data)!r} holds no problems{after}")
    kinds = {p.kind for p in problems}
    for reward in rewards:
        if reward in CODE_ONLY_REWARDS and kinds != {"code"}:
            raise ValueError(f"reward {reward!r} needs code problems (HumanEval rows); {str(data)!r} holds math "
                             "problems")
    if "code" in kinds and not allow_code_execution:
        raise PermissionError("code problems run model code: pass --allow-code-execution to acknowledge it")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    loaded = model if hasattr(model, "tokenizer") else None
    if loaded is not None and (quantize is not None or backend is not None):
        raise ValueError("quantize and backend apply when loading; this model object is already loaded")
    spec = None if loaded is not None else as_model_spec(model, quantize=quantize, backend=backend)
    settings = run_settings(config, loaded if loaded is not None else spec, judge_tokens)
    earlier = read_rows(out)
    notes = []
    others = [r for r in earlier if not computed_with(r, settings)]
    if others:
        notes.append(f"{out}: {len(others)} row(s) were computed with other settings ("
                     f"{_differences(others[-1].get('settings') or {}, settings)}); they are kept in the file but "
                     "neither resumed nor counted here")
    done = {(r["id"], r["method"], r["reward"]) for r in earlier if computed_with(r, settings)
            and not r.get("failed")}
    tasks = []
    for reward_name in rewards:
        for method in methods:
            pending = [p for p in problems if (p.id, method, reward_name) not in done]
            tasks += [Task(method, reward_name, pending[i: i + batch_size]) for i in range(0, len(pending), batch_size)]
    bar = tqdm(total=sum(len(t.problems) for t in tasks), desc="bench", unit="problem", disable=not progress)
    if executor is None and ray_workers:
        if spec is None:
            raise ValueError("the Ray runner needs the model as a name or path (each actor loads its own copy)")
        executor = RayExecutor(spec, ray_workers)
    if executor is not None:
        rows_iter = executor.rows(tasks, config, judge_tokens=judge_tokens, allow_code_execution=allow_code_execution)
    else:
        lm = loaded if loaded is not None else spec.load()  # type: ignore[union-attr]  # one of the two is set
        rows_iter = local_rows(lm, tasks, config, judge_tokens=judge_tokens, allow_code_execution=allow_code_execution)
    right = seen = failed = 0
    try:
        for row in rows_iter:
            row["settings"] = settings
            append_row(out, row)
            right += bool(row["correct"])
            failed += bool(row["failed"])
            seen += 1
            bar.update(1)
            bar.set_postfix(method=row["method"], accuracy=f"{right / seen:.1%}")
    finally:
        bar.close()
        if executor is not None:
            executor.close()
    if failed:
        notes.append(f"{failed} row(s) failed (their worker kept dying); the same command tries them again")
    latest = {(r["id"], r["method"], r["reward"]): r for r in read_rows(out)  # a retried row replaces its failure
              if computed_with(r, settings)}
    rows = [r for r in latest.values() if r["method"] in methods and r["reward"] in rewards
            and r["id"] in {p.id for p in problems}]
    if plot:
        plot_curves(rows, config.max_iters, plot)
        notes.append(f"plot written to {plot}")
    return BenchReport(summarize(rows), paired(rows), notes, judge_agreement(rows))
