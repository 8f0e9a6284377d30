"""GSM8K with MathAnswer as the LatentSeek reward, on the embedded default model.

The reward is the oracle (the gold answer is known), so this shows the loop's search, not a
deployable method: with a gold answer you would simply check it. SmolLM2-135M is far too weak for
real gains (GSM8K ~2 %); the point is the mechanics, the trace and the figures.

    python cookbook/gsm8k_math_answer.py --limit 3 --max-iters 2 --max-new-tokens 96
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from latentseek_agents import LatentSeek, LatentSeekConfig, load_model
from latentseek_agents.answers import gsm8k_gold
from latentseek_agents.rewards import MathAnswer

DATA = Path(__file__).resolve().parents[1] / "data" / "gsm8k" / "test_dev.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=5)
    parser.add_argument("--max-iters", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--model", default="default")
    args = parser.parse_args()

    rows = [json.loads(line) for _, line in zip(range(args.limit), DATA.open(encoding="utf-8"))]
    seeker = LatentSeek(load_model(args.model), reward=MathAnswer(extract="auto"),
                        config=LatentSeekConfig(max_iters=args.max_iters, max_new_tokens=args.max_new_tokens))
    start = time.perf_counter()
    results = seeker.solve_batch([r["question"] for r in rows], [gsm8k_gold(r["answer"]) for r in rows])
    first_right = sum(r.trace[0].score == 1.0 for r in results)
    final_right = sum(r.score == 1.0 for r in results)
    for row, result in zip(rows, results):
        print(f"- gold {gsm8k_gold(row['answer']):>6} | first {str(result.trace[0].details.get('extracted')):>8}"
              f" | final {str(result.answer):>8} | iterations {result.iterations} ({result.stop_reason})")
    print(f"\nchain of thought: {first_right}/{len(rows)} right; LatentSeek (oracle reward, "
          f"<= {args.max_iters} iterations): {final_right}/{len(rows)} right; "
          f"{time.perf_counter() - start:.0f} s for {len(rows)} problems, batched")


if __name__ == "__main__":
    main()
