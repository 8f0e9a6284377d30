"""A DSPy program with LatentSeekModule + MathAnswer, compiled with BootstrapFewShot on GSM8K train
rows and evaluated on a few test rows, on the embedded default model.

SmolLM2-135M often breaks ChatAdapter's ``[[ ## field ## ]]`` format; labeled demos help, and
failed parses count as failures (Evaluate's failure_score). The JSON-adapter fallback is off (it
would double every failing call). Budgets here are tiny so the script runs in CI.

    python cookbook/dspy_bootstrap_gsm8k.py --train 4 --dev 2 --attempts 2 --max-new-tokens 96
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import dspy

from latentseek_agents.answers import gsm8k_gold
from latentseek_agents.integrations.dspy import LatentSeekModule, latentseek_lm
from latentseek_agents.rewards import MathAnswer, as_dspy_metric

DATA = Path(__file__).resolve().parents[1] / "data" / "gsm8k"


def rows(name: str, n: int) -> list[dspy.Example]:
    with (DATA / name).open(encoding="utf-8") as f:
        data = [json.loads(line) for _, line in zip(range(n), f)]
    return [dspy.Example(question=r["question"], reasoning=r["answer"].split("####")[0].strip(),
                         answer=gsm8k_gold(r["answer"])).with_inputs("question") for r in data]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=8)
    parser.add_argument("--dev", type=int, default=5)
    parser.add_argument("--attempts", type=int, default=3, help="N: first answer + N-1 latent updates")
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--model", default="default")
    args = parser.parse_args()

    metric = as_dspy_metric(MathAnswer(extract="full"))
    # No gold answer at test time: the reward is a format check (did the answer parse as a number?).
    # With a stronger model, plug in SelfJudge / LLMJudge through as_dspy_reward_fn.
    program = LatentSeekModule(dspy.ChainOfThought("question -> answer"), N=args.attempts,
                               reward_fn=lambda inputs, pred: float(str(pred.answer).strip().replace(",", "")
                                                                    .lstrip("-").replace(".", "", 1).isdigit()),
                               threshold=1.0)
    lm = latentseek_lm(args.model, max_new_tokens=args.max_new_tokens, cache=False)
    start = time.perf_counter()
    with dspy.context(lm=lm, adapter=dspy.ChatAdapter(use_json_adapter_fallback=False)):
        optimizer = dspy.BootstrapFewShot(metric=metric, max_bootstrapped_demos=2, max_labeled_demos=2,
                                          max_errors=10_000)
        compiled = optimizer.compile(program, trainset=rows("train_sample.jsonl", args.train))
        demos = compiled.module.predict.demos
        evaluate = dspy.Evaluate(devset=rows("test_dev.jsonl", args.dev), metric=metric, num_threads=1,
                                 max_errors=10_000, failure_score=0.0)
        result = evaluate(compiled)
    print(f"compiled with {len(demos)} demos ({sum('reasoning' in d for d in demos)} with reasoning)")
    for example, pred, score in result.results:
        answer = getattr(pred, "answer", None)
        print(f"- gold {example.answer:>6} | answer {str(answer)[:12]:>12} | score {score}")
    print(f"dev accuracy {result.score:.1f}% on {args.dev} problems; {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
