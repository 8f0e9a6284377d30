"""One DSPy program compiled with BootstrapFewShot on GSM8K train rows, then run three ways on the
same test rows: plain (the compiled ChainOfThought), with ``LatentSeekModule`` and with
``dspy.Refine`` (same N attempts, same reward, same threshold). Accuracy is against the gold answer
(MathAnswer), with Wilson intervals and paired comparisons (fixed / broken, exact McNemar p).

At test time there is no gold answer, so the reward the searches optimize is ``--reward``:
``format`` (the answer field parses as a number: cheap, no signal beyond format) or ``self``
(SelfJudge on the same model, the paper's self-reward; several generations per attempt).

The model must follow ChatAdapter's ``[[ ## field ## ]]`` format; the embedded default model often
doesn't (failed parses count as wrong, Evaluate's failure_score). The JSON-adapter fallback is off
(it would double every failing call). CI runs it on the default model with tiny budgets:

    python cookbook/dspy_bootstrap_gsm8k.py --train 4 --dev 2 --attempts 2 --max-new-tokens 96
    python cookbook/dspy_bootstrap_gsm8k.py --model M.gguf --quantize int8 --train 8 --dev 50 --attempts 4 \\
        --max-new-tokens 640 --reward self            # the evaluation model (hours on 2 CPU cores)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import dspy

from latentseek_agents.answers import gsm8k_gold
from latentseek_agents.bench.report import format_paired, paired, wilson
from latentseek_agents.integrations.dspy import LatentSeekModule, latentseek_lm
from latentseek_agents.models import load_model
from latentseek_agents.rewards import MathAnswer, SelfJudge, as_dspy_metric

DATA = Path(__file__).resolve().parents[1] / "data" / "gsm8k"


def rows(name: str, n: int) -> list[dspy.Example]:
    with (DATA / name).open(encoding="utf-8") as f:
        data = [json.loads(line) for _, line in zip(range(n), f)]
    return [dspy.Example(question=r["question"], reasoning=r["answer"].split("####")[0].strip(),
                         answer=gsm8k_gold(r["answer"])).with_inputs("question") for r in data]


def is_number(args: dict[str, Any], pred: dspy.Prediction) -> float:
    """The ``format`` reward: 1.0 when the answer field is a plain number."""
    text = str(getattr(pred, "answer", "")).strip().replace(",", "").lstrip("-")
    return float(text.replace(".", "", 1).isdigit())


def reward_fn(name: str, model: Any, judge_tokens: int) -> Any:
    if name == "format":
        return is_number
    judge = SelfJudge(model, max_new_tokens=judge_tokens)  # judges the reasoning and the answer together
    return lambda args, pred: judge.check(f"{getattr(pred, 'reasoning', '')}\nAnswer: {getattr(pred, 'answer', '')}",
                                          prompt=args["question"]).score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=8)
    parser.add_argument("--dev", type=int, default=5)
    parser.add_argument("--attempts", type=int, default=3, help="N: first answer + N-1 latent updates / refinements")
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--reward", choices=("format", "self"), default="format")
    parser.add_argument("--judge-tokens", type=int, default=256, help="SelfJudge reply budget (--reward self)")
    parser.add_argument("--model", default="default", help="'default', a hub id, a local folder or a .gguf file")
    parser.add_argument("--quantize", choices=("int8",), help="int8: dynamically quantized body (CPU)")
    args = parser.parse_args()
    for name in ("train", "dev", "attempts", "max_new_tokens", "judge_tokens"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer, got {getattr(args, name)}")

    metric = as_dspy_metric(MathAnswer(extract="full"))
    model = load_model(args.model, quantize=args.quantize)  # one copy: the program's LM and the self-judge
    lm = latentseek_lm(model, max_new_tokens=args.max_new_tokens, cache=False)
    reward = reward_fn(args.reward, model, args.judge_tokens)
    devset = rows("test_dev.jsonl", args.dev)
    start = time.perf_counter()
    with dspy.context(lm=lm, adapter=dspy.ChatAdapter(use_json_adapter_fallback=False)):
        optimizer = dspy.BootstrapFewShot(metric=metric, max_bootstrapped_demos=2, max_labeled_demos=2,
                                          max_errors=10_000)
        compiled = optimizer.compile(dspy.ChainOfThought("question -> answer"),
                                     trainset=rows("train_sample.jsonl", args.train))
        demos = compiled.predict.demos
        print(f"compiled with {len(demos)} demos ({sum('reasoning' in d for d in demos)} with reasoning) "
              f"in {time.perf_counter() - start:.0f} s; reward for the searches: {args.reward}")
        programs = {
            "compiled CoT": compiled,
            "+ LatentSeekModule": LatentSeekModule(compiled, N=args.attempts, reward_fn=reward, threshold=1.0),
            "+ dspy.Refine": dspy.Refine(module=compiled, N=args.attempts, reward_fn=reward, threshold=1.0),
        }
        results: list[dict[str, Any]] = []
        for label, program in programs.items():
            began = time.perf_counter()
            evaluate = dspy.Evaluate(devset=devset, metric=metric, num_threads=1, max_errors=10_000,
                                     failure_score=0.0)
            outcome = evaluate(program)
            right = [bool(score) for _, _, score in outcome.results]
            lo, hi = wilson(sum(right), len(right))
            print(f"{label:<20} {sum(right)}/{len(right)} = {100 * sum(right) / len(right):5.1f} % "
                  f"[{100 * lo:.1f}, {100 * hi:.1f}]  {(time.perf_counter() - began) / len(right):.1f} s/problem")
            for example, pred, score in outcome.results:
                print(f"    gold {example.answer:>6} | answer {str(getattr(pred, 'answer', None))[:12]:>12} | {score}")
            results += [{"id": str(i), "method": label, "reward": args.reward, "correct": ok}
                        for i, ok in enumerate(right)]
    print(format_paired(paired(results)))
    print(f"{len(devset)} problems, {time.perf_counter() - start:.0f} s in all")


if __name__ == "__main__":
    main()
