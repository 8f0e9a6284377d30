"""How well a reward without gold tells right answers from wrong ones, measured on results rows.

From a ``self_consistency`` results file (each row: a problem's K+1 sampled answers, the reward's
score of each, and whether each is right against gold), for every sample:

* the file's own reward (e.g. SelfJudge's greedy verdicts with ``--reward self``; ``--threshold``
  as the engine's pass rule, score > threshold);
* VoteAgreement (``rewards.VoteAgreement``): the share of the problem's *other* samples that reach
  the same answer (leave-one-out: what VoteAgreement with K samples would score this answer);

and, with ``--first`` (a results file of the same problems: a ``cot`` row's answer, or a search row's
first attempt, its greedy first answer), VoteAgreement of that first answer against the samples - the
reward a gold-free LatentSeek run would see first, with how many wrong first answers it passes;
``--limit-samples N`` keeps each problem's first N samples (VoteAgreement with N samples);
with ``--judged``, SelfJudge's scores (greedy or sampled verdicts) from runs with that reward.
Each is reported as precision (right among those it passes), recall (passed among the right
ones) and accuracy, with Wilson 95 % intervals.

Usage:
    python3 benchmarks/reward_precision.py cookbook/results/qwen_coder_1p5b/gsm8k_self_k3_int8_self_consistency.jsonl \\
        --first cookbook/results/qwen_coder_1p5b/gsm8k_cot_int8.jsonl
    R=cookbook/results/qwen_coder_1p5b
    python3 benchmarks/reward_precision.py $R/gsm8k_oracle_k10_llamacpp_self_consistency.jsonl \\
        --limit-samples 4 --first $R/gsm8k_oracle_k10_llamacpp_best_of_n.jsonl
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from latentseek_agents.answers import answer_key
from latentseek_agents.bench.report import wilson
from latentseek_agents.bench.runner import read_rows
from latentseek_agents.bench.tasks import JUDGE_SAMPLES


JUDGES = {"self": "greedy verdicts", "self_sampled": f"{JUDGE_SAMPLES} sampled verdicts per check"}  # bench rewards


def rates(passed: Sequence[bool], right: Sequence[bool]) -> str:
    """Precision, recall and accuracy of ``passed`` against ``right``, with intervals."""
    tp = sum(p and r for p, r in zip(passed, right))
    n_pass, n_right, n = sum(passed), sum(right), len(right)
    agree = sum(p == r for p, r in zip(passed, right))

    def share(k: int, total: int) -> str:
        if not total:
            return "      -      "
        low, high = wilson(k, total)
        return f"{k / total:5.1%} [{low:.0%}, {high:.0%}]"

    return (f"precision {share(tp, n_pass)} ({tp}/{n_pass})  recall {share(tp, n_right)} ({tp}/{n_right})  "
            f"accuracy {share(agree, n)}")


def first_attempts(path: str) -> dict[str, tuple[str | None, bool]]:
    """Each problem's first attempt in a results file: ``{id: (answer, right)}`` (sampled votes skipped)."""
    first: dict[str, tuple[str | None, bool]] = {}
    for r in read_rows(path):
        if r["method"] == "self_consistency" or r.get("failed"):
            continue
        if r.get("answers"):
            first.setdefault(r["id"], (r["answers"][0], bool(r["correct_each"][0])))
        else:
            first.setdefault(r["id"], (r.get("answer"), bool(r["correct"])))
    return first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("samples", help="a self_consistency results file (with answers per attempt)")
    parser.add_argument("--first", help="a results file of the same problems: each row's first attempt (a cot "
                                        "answer, a search's greedy first answer)")
    parser.add_argument("--limit-samples", type=int, help="keep each problem's first N samples (default: all)")
    parser.add_argument("--threshold", type=float, default=0.8, help="the file's reward passes above this")
    parser.add_argument("--reward", help="which reward's rows (default: self if the file has them, else the first)")
    parser.add_argument("--judged", nargs="*", default=[],
                        help="results files run with --reward self or self_sampled: every attempt's SelfJudge "
                             "score against gold")
    args = parser.parse_args(argv)

    rows = [r for r in read_rows(args.samples) if r["method"] == "self_consistency" and not r.get("failed")
            and r.get("answers")]
    rewards = list(dict.fromkeys(r["reward"] for r in rows))
    reward = args.reward or ("self" if "self" in rewards else rewards[0] if rewards else None)
    rows = [r for r in rows if r["reward"] == reward]
    if not rows:
        print(f"{args.samples}: no self_consistency rows with their answers (reward {reward})", file=sys.stderr)
        return 1
    if args.limit_samples is not None:
        n, fewest = args.limit_samples, min(len(r["answers"]) for r in rows)
        if not 2 <= n <= fewest:
            parser.error(f"--limit-samples: expected 2 to {fewest} (the samples every problem has), got {n}")
        rows = [{**r, "answers": r["answers"][:n], "correct_each": r["correct_each"][:n], "scores": r["scores"][:n]}
                for r in rows]
    k1 = len(rows[0]["answers"])
    right = [c for r in rows for c in r["correct_each"]]
    print(f"{args.samples}: {len(rows)} problems x {k1} samples, {sum(right)}/{len(right)} samples right")
    if reward != "oracle":  # the oracle is the gold check itself
        print(f"\n{reward} reward, passes above {args.threshold}:")
        print("  " + rates([s is not None and s > args.threshold for r in rows for s in r["scores"]], right))

    print("\nVoteAgreement, leave-one-out (share of the other samples with the same answer):")
    agreement = []
    for r in rows:
        keys = [answer_key(a) for a in r["answers"]]
        for j, key in enumerate(keys):
            others = keys[:j] + keys[j + 1:]
            agreement.append(0.0 if key is None else sum(o == key for o in others) / len(others))
    for label, cut in ((">= 1/2", 0.5), ("> 1/2", 0.5 + 1e-9), ("all agree", 1.0)):
        print(f"  {label:10s} " + rates([a >= cut for a in agreement], right))

    if args.first:
        first = first_attempts(args.first)
        pairs = [(first[r["id"]], r) for r in rows if r["id"] in first]
        print(f"\nVoteAgreement of the greedy first answer ({args.first}, {len(pairs)} problems) against the "
              f"{k1} samples:")
        right_first = [right for (_, right), _ in pairs]
        shares = []
        for (answer, _), r in pairs:
            key = answer_key(answer)
            shares.append(0.0 if key is None else sum(answer_key(a) == key for a in r["answers"]) / k1)
        print(f"  first answers right: {sum(right_first)}/{len(pairs)}")
        for label, cut in ((">= 1/2", 0.5), ("> 1/2", 0.5 + 1e-9), ("all agree", 1.0)):
            passed = [s >= cut for s in shares]
            wrong_passed = sum(p and not r for p, r in zip(passed, right_first))
            print(f"  {label:10s} " + rates(passed, right_first)
                  + f"  wrong passed {wrong_passed}/{len(right_first) - sum(right_first)}")

    for path in args.judged:
        judged_rows = read_rows(path)
        for judge, label in JUDGES.items():
            judged = [r for r in judged_rows if r["reward"] == judge and not r.get("failed")]
            if not judged:
                continue
            scores = [s for r in judged for s in r["scores"]]
            right_each = [c for r in judged for c in r["correct_each"]]
            firsts = [(r["scores"][0], r["correct_each"][0]) for r in judged if r["scores"]]
            print(f"\nSelfJudge ({label}), {path}: {len(judged)} problems, {len(scores)} answers judged")
            print("  every answer:  " + rates([s > args.threshold for s in scores], right_each))
            print("  first answers: " + rates([s > args.threshold for s, _ in firsts], [c for _, c in firsts]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
