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
        --max-new-tokens 640 --reward self --out dspy.jsonl --programs cot,refine   # the evaluation model:
        # hours on 2 CPU cores; run --programs latentseek in a second process, re-run to resume or report

Problems run one by one, every chosen program on each, so a stopped run leaves a paired set: re-run
with ``--dev`` at the number finished to report them from ``--out`` alone.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import dspy

from latentseek_agents.answers import gsm8k_gold
from latentseek_agents.bench.methods import judge_paths
from latentseek_agents.bench.report import (format_agreement, format_paired, judge_agreement, paired, parsed_share,
                                            wilson)
from latentseek_agents.bench.runner import append_row, read_rows
from latentseek_agents.integrations.dspy import LatentSeekModule, latentseek_lm
from latentseek_agents.models import load_model
from latentseek_agents.rewards import MathAnswer, SelfJudge, as_dspy_metric
from latentseek_agents.rewards.base import JUDGE_TOKENS

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


def answer_of(pred: Any) -> str:
    """A prediction's answer field as the rows record it (``"None"`` when it has none).

    >>> answer_of(dspy.Prediction(answer="42")), answer_of(None)
    ('42', 'None')
    """
    return str(getattr(pred, "answer", None))


class Reward:
    """The reward the searches call, ``reward(args, pred) -> float``; it keeps every score it gave, the
    answer it scored (and, for the self-judge, how each check was decided) until ``take()`` moves them
    into a row."""

    def __init__(self, name: str, model: Any, judge_tokens: int) -> None:
        # the self-judge judges the reasoning and the answer together
        self.judge = SelfJudge(model, max_new_tokens=judge_tokens) if name == "self" else None
        self.scores: list[float | None] = []
        self.answers: list[str] = []
        self.paths: Counter[str] = Counter()

    def __call__(self, args: dict[str, Any], pred: dspy.Prediction) -> float | None:
        if self.judge is None:
            score = is_number(args, pred)
        else:
            result = self.judge.check(f"{getattr(pred, 'reasoning', '')}\nAnswer: {getattr(pred, 'answer', '')}",
                                      prompt=args["question"])
            score = result.score
            self.paths.update(judge_paths(result.details))
        self.scores.append(score)
        self.answers.append(answer_of(pred))
        return score

    def take(self) -> dict[str, Any]:
        """The scores and answers (one per attempt scored) and judge paths since the last call."""
        taken = {"rewards": self.scores, "answers": self.answers, "judge_paths": dict(self.paths)}
        self.scores, self.answers, self.paths = [], [], Counter()
        return taken


THRESHOLD = 1.0  # both searches stop at a reward at or above this (every judge check passed)
PROGRAMS = {"cot": "compiled CoT", "latentseek": "+ LatentSeekModule", "refine": "+ dspy.Refine"}


def settings_of(args: argparse.Namespace) -> dict[str, Any]:
    """What a row was computed with: rows of other settings in ``--out`` are neither reused nor counted."""
    keys = ("model", "quantize", "train", "attempts", "max_new_tokens", "reward", "judge_tokens")
    return {key: getattr(args, key) for key in keys}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=8)
    parser.add_argument("--dev", type=int, default=5, help="the first N test rows")
    parser.add_argument("--attempts", type=int, default=3, help="N: first answer + N-1 latent updates / refinements")
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--reward", choices=("format", "self"), default="format")
    parser.add_argument("--judge-tokens", type=int, default=JUDGE_TOKENS,
                        help=f"SelfJudge reply budget (--reward self; default {JUDGE_TOKENS})")
    parser.add_argument("--model", default="default", help="'default', a hub id, a local folder or a .gguf file")
    parser.add_argument("--quantize", choices=("int8",), help="int8: dynamically quantized body (CPU)")
    parser.add_argument("--programs", default=",".join(PROGRAMS),
                        help=f"comma-separated, among {', '.join(PROGRAMS)} (split a long run over processes)")
    parser.add_argument("--out", help="JSONL, one row per (program, problem) as it finishes; re-running skips "
                                      "the rows already there with the same settings and reports them all")
    args = parser.parse_args()
    for name in ("train", "dev", "attempts", "max_new_tokens", "judge_tokens"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer, got {getattr(args, name)}")
    chosen = [name.strip() for name in args.programs.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in PROGRAMS]
    if unknown or not chosen:
        parser.error(f"--programs: expected a comma-separated subset of {list(PROGRAMS)}, got {args.programs!r}")
    if args.out:
        try:
            Path(args.out).open("a").close()  # before hours of work, not at the first row
        except OSError as exc:
            parser.error(f"--out {args.out!r} can't be written: {exc.strerror}")

    trainset, devset = rows("train_sample.jsonl", args.train), rows("test_dev.jsonl", args.dev)
    for option, name, loaded, asked in (("--train", "train_sample.jsonl", trainset, args.train),
                                        ("--dev", "test_dev.jsonl", devset, args.dev)):
        if len(loaded) < asked:
            parser.error(f"{option}: data/gsm8k/{name} has {len(loaded)} rows, got {asked}")
    settings = settings_of(args)
    ids = [str(i) for i in range(len(devset))]
    done = {(r["method"], r["id"]): r for r in (read_rows(args.out) if args.out else [])
            if r.get("settings") == settings and r["method"] in chosen and r["id"] in ids}
    pending = {name: [i for i in ids if (name, i) not in done] for name in chosen}
    if args.out:
        print(f"{len(done)} row(s) reused from {args.out}, {sum(map(len, pending.values()))} to run")
    start = time.perf_counter()
    if any(pending.values()):
        run_programs(args, trainset, devset, pending, done)
    results = [done[(name, i)] for name in chosen for i in ids]
    for name in chosen:
        group = [r for r in results if r["method"] == name]
        right = sum(r["correct"] for r in group)
        lo, hi = wilson(right, len(group))
        seconds = sum(r["seconds"] for r in group) / len(group)
        print(f"{PROGRAMS[name]:<20} {right}/{len(group)} = {100 * right / len(group):5.1f} % "
              f"[{100 * lo:.1f}, {100 * hi:.1f}]  {seconds:.1f} s/problem{token_summary(group)}{reward_summary(group)}")
    print(format_paired(paired([{**r, "method": PROGRAMS[r["method"]]} for r in results])))
    agreement = judge_agreement(reward_rows(results))
    if agreement:
        print(format_agreement(agreement))
    print(f"{len(devset)} problems, {time.perf_counter() - start:.0f} s in this run")


def token_summary(group: list[dict[str, Any]]) -> str:
    """Mean tokens one program wrote per problem (its rows), over the rows that recorded them (older rows didn't)."""
    tokens = [r["tokens"] for r in group if r.get("tokens") is not None]
    if not tokens:
        return ""
    over = "" if len(tokens) == len(group) else f" (on {len(tokens)} of {len(group)})"
    return f", {sum(tokens) / len(tokens):.0f} tokens/problem{over}"


def reward_summary(group: list[dict[str, Any]]) -> str:
    """How one search program's reward decided (its rows): attempts scored, first answers passed, judge verdicts
    parsed."""
    scored = [r["rewards"] for r in group if r.get("rewards")]
    if not scored:
        return ""
    first = sum((scores[0] or 0) >= THRESHOLD for scores in scored)
    share = parsed_share(group)
    verdicts = f", judge verdict parsed {100 * share:.1f} %" if share is not None else ""
    return (f"; reward: {sum(map(len, scored)) / len(scored):.2f} attempts scored, "
            f"first answer passed on {first}/{len(scored)}{verdicts}")


def reward_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The search rows that recorded each scored attempt's correctness, shaped for ``judge_agreement``
    (how often the reward's "passes" matched the gold answer; older rows have no ``correct_each``).

    >>> reward_rows([{"method": "refine", "reward": "self", "rewards": [1.0], "correct_each": [False]},
    ...              {"method": "cot", "reward": "self", "rewards": []}])[0]["scores"]
    [1.0]
    """
    rule = {"score_threshold": THRESHOLD, "inclusive_threshold": True}  # the searches stop at >= THRESHOLD
    return [{"method": PROGRAMS[r["method"]], "reward": r["reward"], "settings": rule,
             "scores": [score or 0.0 for score in r["rewards"]],  # a reward that returned None passed nothing
             "correct_each": r["correct_each"]}
            for r in results if r.get("rewards") and len(r.get("correct_each", ())) == len(r["rewards"])]


def generated_tokens(history: list[dict[str, Any]]) -> int:
    """Tokens the program's LM calls wrote (DSPy history entries' usage; the self-judge's not included).

    >>> generated_tokens([{"usage": {"completion_tokens": 12}}, {"usage": {"completion_tokens": 30}}])
    42
    """
    return sum((entry.get("usage") or {}).get("completion_tokens") or 0 for entry in history)


def run_programs(args: argparse.Namespace, trainset: list[dspy.Example], devset: list[dspy.Example],
                 pending: dict[str, list[str]], done: dict[tuple[str, str], dict[str, Any]]) -> None:
    """Compile once, then score each pending (program, problem), one row written as each finishes."""
    from tqdm.auto import tqdm

    settings = settings_of(args)
    metric = as_dspy_metric(MathAnswer(extract="full"))
    model = load_model(args.model, quantize=args.quantize)  # one copy: the program's LM and the self-judge
    lm = latentseek_lm(model, max_new_tokens=args.max_new_tokens, cache=False)
    reward = Reward(args.reward, model, args.judge_tokens)
    start = time.perf_counter()
    with dspy.context(lm=lm, adapter=dspy.ChatAdapter(use_json_adapter_fallback=False)):
        optimizer = dspy.BootstrapFewShot(metric=metric, max_bootstrapped_demos=2, max_labeled_demos=2,
                                          max_errors=10_000)
        compiled = optimizer.compile(dspy.ChainOfThought("question -> answer"),
                                     trainset=trainset)
        demos = compiled.predict.demos
        print(f"compiled with {len(demos)} demos ({sum('reasoning' in d for d in demos)} with reasoning) "
              f"in {time.perf_counter() - start:.0f} s; reward for the searches: {args.reward}")
        programs = {
            "cot": compiled,
            "latentseek": LatentSeekModule(compiled, N=args.attempts, reward_fn=reward, threshold=THRESHOLD),
            "refine": dspy.Refine(module=compiled, N=args.attempts, reward_fn=reward, threshold=THRESHOLD),
        }
        # problem by problem, every program on it: an interrupted run leaves a paired set (re-run with a
        # smaller --dev to report the problems finished)
        todo = [(name, i) for i in sorted(set().union(*pending.values()), key=int)
                for name in pending if i in pending[name]]
        for name, i in tqdm(todo, desc="programs x problems"):
            began = time.perf_counter()
            # Evaluate on one example: its error handling (a failed call scores failure_score) per row
            evaluate = dspy.Evaluate(devset=[devset[int(i)]], metric=metric, num_threads=1, max_errors=10_000,
                                     failure_score=0.0)
            reward.take()  # start the row's record clean
            programs[name].history.clear()  # DSPy records every LM call made inside a module in its history
            example, pred, score = evaluate(programs[name]).results[0]
            row = {"id": i, "method": name, "reward": args.reward, "correct": bool(score),
                   "gold": example.answer, "answer": answer_of(pred),
                   "tokens": generated_tokens(programs[name].history),
                   "seconds": round(time.perf_counter() - began, 2), "settings": settings, **reward.take()}
            # each scored attempt's answer against the gold one: how far the reward's "passes" can be trusted
            row["correct_each"] = [bool(metric(example, dspy.Prediction(answer=a))) for a in row["answers"]]
            done[(name, i)] = row
            print(f"    {PROGRAMS[name]:<20} gold {row['gold']:>6} | answer {row['answer'][:12]:>12} | {score}")
            if args.out:
                append_row(args.out, row)


if __name__ == "__main__":
    main()
