"""What stopping a vote once it is decided saves: `SelfConsistency(stop_when_decided=True)` against the full vote.

Two ways, both printing figures (nothing is asserted):

* ``--replay FILE ...``: from self-consistency rows already written by ``latentseek bench`` (each row
  keeps every sample's final answer, newer rows each sample's length too), how many of the samples (and
  tokens) a vote stopped once decided would have drawn, per file and in all; its answers are the full
  vote's by construction (checked on each row).
* ``--data FILE --model M``: both votes on the same problems in one run (the full one first), with
  their samples, decoded tokens, seconds and ratios, and how many answers agree. Solved in one batch,
  the problems that go on after others stop draw other samples than the full vote did, so answers may
  differ where the vote is close; solved one at a time (``--batch-size 1``) they agree exactly.

Example:
    python benchmarks/vote_early_stop.py --replay \
        cookbook/results/qwen_coder_1p5b/gsm8k_llamacpp_self_consistency_k7_rows1-42.jsonl
    python benchmarks/vote_early_stop.py --data data/gsm8k/test_dev.jsonl --limit 4 --max-iters 4 --max-new-tokens 64
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from latentseek_agents.answers import majority, vote_decided  # noqa: E402
from latentseek_agents.model_spec import ModelSpec  # noqa: E402


def as_texts(answers: list[str | None]) -> list[str]:
    """Recorded final answers as texts the vote reads them from (no answer: a text without one)."""
    return [f"\\boxed{{{a}}}" if a is not None else "" for a in answers]


def drawn(texts: list[str]) -> int:
    """How many of a full vote's samples (in order) a vote stopped once decided draws."""
    return next(k for k in range(1, len(texts) + 1) if vote_decided(texts[:k], len(texts) - k))


def replay(paths: list[str]) -> None:
    total_full = total_drawn = 0
    for path in paths:
        rows = [json.loads(line) for line in Path(path).open() if line.strip()]
        rows = [r for r in rows if r.get("method") == "self_consistency" and r.get("answers")]
        if not rows:
            print(f"{path}: no self-consistency rows with per-sample answers")
            continue
        texts = [as_texts(r["answers"]) for r in rows]
        stops = [drawn(t) for t in texts]
        full, early = sum(map(len, texts)), sum(stops)
        unlike = sum(majority(t) != r["chosen"] for t, r in zip(texts, rows))
        decided = sum(stop < len(t) for stop, t in zip(stops, texts))
        print(f"{path}: {len(rows)} votes of {full // len(rows)} samples: a vote stopped once decided draws "
              f"{early} of {full} samples ({early / full:.1%}; {full / early:.2f}x fewer), stops early on "
              f"{decided} of {len(rows)}; the same answers by construction (recorded choice reproduced on "
              f"{len(rows) - unlike} of {len(rows)})")
        if all(len(r.get("tokens_each") or []) == len(r["answers"]) for r in rows):  # rows that keep each length
            spent = sum(r["tokens"] for r in rows)
            kept = sum(sum(r["tokens_each"][:stop]) for r, stop in zip(rows, stops))
            print(f"    decoded tokens: {kept} of {spent} ({kept / spent:.1%}; {spent / kept:.2f}x fewer)")
        total_full, total_drawn = total_full + full, total_drawn + early
    if len(paths) > 1 and total_drawn:
        print(f"all files: {total_drawn} of {total_full} samples ({total_drawn / total_full:.1%})")


def live(args: argparse.Namespace) -> None:
    from latentseek_agents import LatentSeekConfig, SelfConsistency
    from latentseek_agents.bench.data import load_problems

    problems = load_problems(args.data, limit=args.limit)
    lm = ModelSpec.from_args(args).load()
    config = LatentSeekConfig(max_iters=args.max_iters, max_new_tokens=args.max_new_tokens)
    questions = [p.question for p in problems]
    figures = {}
    for label, stop in (("full vote", False), ("stop when decided", True)):
        voter = SelfConsistency(lm, config=config, stop_when_decided=stop)
        start, results = time.perf_counter(), []
        for k in range(0, len(questions), args.batch_size):
            results += voter.solve_batch(questions[k:k + args.batch_size])
        seconds = time.perf_counter() - start
        samples = sum(len(r.trace) for r in results)
        tokens = sum(a.tokens for r in results for a in r.trace)
        figures[label] = (results, samples, tokens, seconds)
        print(f"{label:>18s}: {samples} samples, {tokens} tokens, {seconds:.1f} s")
    (full, s0, t0, w0), (early, s1, t1, w1) = figures.values()
    same = sum(a.answer == b.answer for a, b in zip(full, early))
    print(f"ratios full / stopped: samples {s0 / s1:.2f}x, tokens {t0 / t1:.2f}x, seconds {w0 / w1:.2f}x; "
          f"the same answer on {same} of {len(full)} problems")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replay", nargs="+", metavar="FILE", help="bench results files to replay")
    parser.add_argument("--data", help="problems to solve both ways (GSM8K-style JSONL)")
    parser.add_argument("--limit", type=int, default=8)
    parser.add_argument("--max-iters", type=int, default=4, help="K: a vote of K + 1 samples")
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=8)
    ModelSpec.add_options(parser)
    args = parser.parse_args(argv)
    if bool(args.replay) == bool(args.data):
        parser.error("give either --replay FILE ... or --data FILE")
    replay(args.replay) if args.replay else live(args)


if __name__ == "__main__":
    main()
