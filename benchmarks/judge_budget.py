"""How many reply tokens the self-judge needs: verdict rates and the judge's precision / recall at
several budgets, on the harness's own greedy chain-of-thought answers.

Each verifier check is generated once, greedily, at the largest budget; the reply a smaller budget
would have written is its first tokens (greedy decoding), so every budget is scored by cutting the
reply's tokens and calling ``SelfJudge.verdicts`` — a cut reply without a verdict falls back to the
verdict-token probabilities, as the judge does. "Parse only" is the old rule (no verdict = failed
check), for comparison. An answer "passes" when its score passes ``LatentSeekConfig``'s threshold;
precision and recall are of "passes" against the gold check.

    python3 benchmarks/judge_budget.py --model M.gguf --quantize int8 --data data/gsm8k/test_dev.jsonl \\
        --limit 16 --answer-tokens 640 --budgets 128,256,512,1024 --out judge_budget.jsonl

Rows go to ``--out`` as each batch of answers finishes (re-running skips answered ids); the table is
printed from every row in the file.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _budgets(text: str) -> list[int]:
    try:
        values = sorted({int(v) for v in text.split(",")})
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}") from None
    from latentseek_agents.rewards.base import MAX_JUDGE_TOKENS

    if not values or values[0] < 1 or values[-1] > MAX_JUDGE_TOKENS:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers in [1, {MAX_JUDGE_TOKENS}], got {text!r}")
    return values


def judge_rows(lm: Any, problems: Sequence[Any], budgets: Sequence[int], answer_tokens: int) -> list[dict[str, Any]]:
    """Answer ``problems`` greedily, judge each answer once at the largest budget, score every budget."""
    from latentseek_agents.bench.methods import run_method
    from latentseek_agents.bench.tasks import gold_checker
    from latentseek_agents.config import LatentSeekConfig
    from latentseek_agents.rewards import SelfJudge

    config = LatentSeekConfig(max_iters=0, max_new_tokens=answer_tokens)
    gold = gold_checker("math", False)
    runs = run_method("cot", lm, problems, gold, gold, config)
    judge = SelfJudge(lm, max_new_tokens=max(budgets))
    requests = [judge.prompts_for(run.texts[0], p.question) for p, run in zip(problems, runs)]
    refused = [next(filter(None, map(judge.backend.fits, asked)), None) for asked in requests]
    flat = [r for asked, why in zip(requests, refused) if not why for r in asked]
    tokens = iter(judge.backend.reply_tokens(flat) if flat else [])
    n, rows = len(judge.checks), []
    for i, (problem, run) in enumerate(zip(problems, runs)):
        row = {"id": problem.id, "correct": run.attempts[0].correct, "answer_tokens": run.attempts[0].tokens}
        if refused[i]:  # the judge refuses it too (a failed check); it has no reply to measure
            rows.append({**row, "not_judged": refused[i]})
            continue
        mine = [next(tokens) for _ in range(n)]
        row.update(reply_tokens=[len(t) for t in mine], budgets={})
        for budget in budgets:
            result = judge.verdicts(requests[i], [judge.backend.decode(t[:budget]) for t in mine])
            checks = result.details["checks"]
            parse_only = 1.0 - sum(c["weight"] for c in checks.values() if c["path"] != "parsed" or not c["verdict"]) \
                / sum(c["weight"] for c in checks.values())
            row["budgets"][str(budget)] = {
                "score": result.score, "passes": config.passes(result.score),
                "parse_only_passes": config.passes(parse_only),
                "paths": [c["path"] for c in checks.values()], "verdicts": [c["verdict"] for c in checks.values()]}
        rows.append(row)
    return rows


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f} %" if whole else "    -"


def _precision_recall(rows: Sequence[dict[str, Any]], key: str, budget: str) -> str:
    from latentseek_agents.bench.report import wilson

    passes = [r["budgets"][budget][key] for r in rows]
    right = [r["correct"] for r in rows]
    tp = sum(p and c for p, c in zip(passes, right))
    precision = f"{tp}/{sum(passes)}" + (" [%.2f, %.2f]" % wilson(tp, sum(passes)) if sum(passes) else "")
    recall = f"{tp}/{sum(right)}" + (" [%.2f, %.2f]" % wilson(tp, sum(right)) if sum(right) else "")
    agree = sum(p == c for p, c in zip(passes, right))
    return f"precision {precision:<18} recall {recall:<18} agrees with gold {agree}/{len(rows)}"


def report(rows: Sequence[dict[str, Any]], check_names: Sequence[str]) -> str:
    """The table: per budget, how replies were decided and how well "passes" matches the gold answer."""
    skipped = len(rows)
    rows = [r for r in rows if "not_judged" not in r]
    skipped -= len(rows)
    if not rows:
        return f"no answer could be judged ({skipped} too long for the judge's context)"
    budgets = sorted(set.intersection(*(set(r["budgets"]) for r in rows)), key=int)  # those every row has
    lengths = sorted(t for r in rows for t in r["reply_tokens"])
    lines = [f"{len(rows)} answers ({sum(r['correct'] for r in rows)} right by the gold check), "
             f"{len(lengths)} judge replies; reply tokens at the largest budget: median "
             f"{statistics.median(lengths):.0f}, p90 {lengths[int(0.9 * (len(lengths) - 1))]}, max {lengths[-1]}"
             + (f"; {skipped} answer(s) too long for the judge's context, not judged" if skipped else ""),
             "", f"{'budget':>6}  {'verdict parsed':>14}  {'by probability':>14}  {'missing':>8}  per check parsed"]
    for budget in budgets:
        paths = [p for r in rows for p in r["budgets"][budget]["paths"]]
        per_check = [sum(r["budgets"][budget]["paths"][k] == "parsed" for r in rows) for k in range(len(check_names))]
        lines.append(f"{budget:>6}  {_share(paths.count('parsed'), len(paths)):>14}  "
                     f"{_share(paths.count('probability'), len(paths)):>14}  {_share(paths.count('missing'), len(paths)):>8}  "
                     + ", ".join(f"{name} {c}/{len(rows)}" for name, c in zip(check_names, per_check)))
    lines += ["", "answer passes (score above the threshold) against the gold answer:"]
    for budget in budgets:
        lines.append(f"{budget:>6}  with fallback: {_precision_recall(rows, 'passes', budget)}")
        lines.append(f"{'':>6}  parse only:    {_precision_recall(rows, 'parse_only_passes', budget)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--quantize", choices=["int8"])
    parser.add_argument("--data", default="data/gsm8k/test_dev.jsonl")
    parser.add_argument("--limit", type=int, default=16)
    parser.add_argument("--answer-tokens", type=int, default=640, help="budget of each chain-of-thought answer")
    parser.add_argument("--budgets", type=_budgets, default=[128, 256, 512, 1024], help="judge reply budgets")
    parser.add_argument("--batch-size", type=int, default=8, help="answers per batch (4 judge replies each)")
    parser.add_argument("--out", required=True, help="JSONL rows, one per answer (resumable)")
    args = parser.parse_args(argv)
    for name in ("limit", "answer_tokens", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer, got {getattr(args, name)}")

    from latentseek_agents.bench.data import load_problems
    from latentseek_agents.models import load_model
    from latentseek_agents.rewards import SELF_JUDGE_CHECKS

    out = Path(args.out)
    done = {json.loads(line)["id"] for line in out.read_text().splitlines() if line.strip()} if out.is_file() else set()
    todo = [p for p in load_problems(args.data, args.limit) if p.id not in done]
    if any(p.kind != "math" for p in todo):
        parser.error("--data must hold math problems (GSM8K or MATH rows)")
    if todo:
        lm = load_model(args.model, quantize=args.quantize)
        for start in range(0, len(todo), args.batch_size):
            rows = judge_rows(lm, todo[start: start + args.batch_size], args.budgets, args.answer_tokens)
            with out.open("a") as f:
                f.writelines(json.dumps(r) + "\n" for r in rows)
            print(f"judged {min(start + args.batch_size, len(todo))}/{len(todo)}", file=sys.stderr, flush=True)
    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    print(report(rows, [c.name for c in SELF_JUDGE_CHECKS]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
