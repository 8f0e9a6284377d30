"""Compare `latentseek bench` results files on the same problems: one summary table and every paired
comparison (fixed / broken counts, exact McNemar p), each file's rows labelled by the file's name.

    python benchmarks/compare_results.py cot_fp32.jsonl cot_int8.jsonl            # e.g. int8 vs float32
    python benchmarks/compare_results.py a.jsonl b.jsonl --labels fp32,int8 --common
    python benchmarks/compare_results.py ls.jsonl bon.jsonl sc.jsonl --plot all.png   # one figure, every method

It also prints, per method, how many of the attempts made after a wrong first answer were right,
and the right answers after k = 0..K extra generations (K: the largest budget in the files).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", help="results files of latentseek bench")
    parser.add_argument("--labels", help="comma-separated labels, one per file (default: the file names)")
    parser.add_argument("--common", action="store_true", help="keep only problems every group answered")
    parser.add_argument("--plot", help="write a PNG of accuracy against extra generations, every method on it")
    args = parser.parse_args(argv)

    from latentseek_agents.bench.report import (format_agreement, format_curves, format_paired,
                                                 format_retry_yield, format_table, judge_agreement, paired,
                                                 plot_curves, retry_yield, summarize)
    from latentseek_agents.bench.runner import read_rows

    labels = args.labels.split(",") if args.labels else [Path(f).stem for f in args.files]
    if len(labels) != len(args.files):
        print(f"compare_results: error: {len(labels)} labels for {len(args.files)} files", file=sys.stderr)
        return 2
    rows = []
    for path, label in zip(args.files, labels):
        if not Path(path).is_file():
            print(f"compare_results: error: {path!r} is not a file", file=sys.stderr)
            return 2
        latest = {(r["id"], r["method"], r["reward"]): r for r in read_rows(path) if not r.get("failed")}
        rows += [{**r, "method": f"{r['method']}[{label}]"} for r in latest.values()]
    if args.common:
        groups = {(r["method"], r["reward"]) for r in rows}
        ids = set.intersection(*({r["id"] for r in rows if (r["method"], r["reward"]) == g} for g in groups))
        rows = [r for r in rows if r["id"] in ids]
    print(format_table(summarize(rows)))
    print()
    print(format_paired(paired(rows)))
    judges = judge_agreement(rows)
    if judges:
        print()
        print(format_agreement(judges))
    yields = retry_yield(rows)
    if yields:
        print()
        print(format_retry_yield(yields))
    curved = [r for r in rows if r.get("correct_at")]  # rows that record right answers per budget k
    budget = max((len(r["correct_at"]) - 1 for r in curved), default=0)
    if budget:
        print()
        print(format_curves(curved, budget))
    if args.plot:
        plot_curves(curved, budget, args.plot)
        print(f"\nplot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
