"""Latent search vs sampling: LatentSeek's options swept at a matched budget on one dataset.

Each variant is one ``LatentSeekConfig`` change from the paper's settings; each runs through the
benchmark harness (``run_bench``, method ``latentseek``) into its own resumable JSONL file under
``--out-dir``, and the script prints one table with every variant beside the harness's other
methods (read from ``--compare``, a results file of ``latentseek bench`` on the same problems).
Besides accuracy it shows how much an update rewrites: the mean share of the optimized prefix
tokens that changed per update ("flipped"), the paper's step being far too large for a small model.

Usage:
    python benchmarks/latent_sweep.py --data data/gsm8k/test_dev.jsonl --limit 30 --max-iters 10 \\
        --reward oracle --variants faithful,lr0.01,lr0.003,sample --compare results.jsonl
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

VARIANTS: dict[str, dict[str, Any]] = {
    "faithful": {},
    "lr0.01": {"lr": 0.01},
    "lr0.003": {"lr": 0.003},
    "lr0.001": {"lr": 0.001},
    "steps3_lr0.01": {"lr": 0.01, "steps_per_iter": 3},
    "sgd_lr1": {"optimizer": "sgd", "lr": 1.0},
    "sample": {"policy": "sample"},
    "sample_t0.7": {"policy": "sample", "policy_temperature": 0.7},
    "sample_lr0.01": {"policy": "sample", "lr": 0.01},
    "best": {"select": "best"},
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--limit", type=int, default=30)
    parser.add_argument("--max-iters", type=int, default=10)
    parser.add_argument("--max-new-tokens", type=int, default=192)
    parser.add_argument("--reward", default="oracle", choices=("oracle", "self"))
    parser.add_argument("--variants", default="faithful,lr0.01,lr0.003,sample",
                        help=f"comma-separated, among {', '.join(VARIANTS)}")
    parser.add_argument("--model", default="default")
    parser.add_argument("--batch-size", type=int, default=15)
    parser.add_argument("--judge-tokens", type=int, default=128)
    parser.add_argument("--out-dir", default="sweep")
    parser.add_argument("--compare", help="a `latentseek bench` results file to show beside the variants")
    parser.add_argument("--ray", action="store_true")
    parser.add_argument("--num-workers", type=int, default=2)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    from latentseek_agents import LatentSeekConfig
    from latentseek_agents.bench import run_bench
    from latentseek_agents.bench.report import format_table, summarize
    from latentseek_agents.bench.runner import read_rows

    names = [n.strip() for n in args.variants.split(",") if n.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        parser.error(f"--variants: unknown {unknown}; choose among {list(VARIANTS)}")
    base = LatentSeekConfig(max_iters=args.max_iters, max_new_tokens=args.max_new_tokens)
    out_dir = Path(args.out_dir)
    rows: list[dict[str, Any]] = []
    ids: set[Any] = set()
    for name in names:
        print(f"== variant {name}: {VARIANTS[name] or 'paper settings'}", flush=True)
        path = out_dir / f"{name}.jsonl"
        print(run_bench(args.data, methods=["latentseek"], rewards=[args.reward], limit=args.limit, model=args.model,
                        config=base.replace(**VARIANTS[name]), out=path, batch_size=args.batch_size,
                        judge_tokens=args.judge_tokens, progress=not args.no_progress,
                        ray_workers=args.num_workers if args.ray else None))
        variant_rows = [r for r in read_rows(path) if not r.get("failed")]
        ids |= {r["id"] for r in variant_rows}
        rows += [{**r, "method": f"latentseek:{name}"} for r in variant_rows]
    if args.compare:
        rows += [r for r in read_rows(args.compare)
                 if r["id"] in ids and r["reward"] == args.reward and not r.get("failed")]
    print(f"\n{args.reward} reward, K = {args.max_iters}, {args.max_new_tokens} tokens, {len(ids)} problems")
    print(format_table(summarize(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
