"""The ``latentseek`` command line.

``latentseek solve "QUESTION" [--reference ANSWER] [--model ...] [--max-iters N] [--json]
[--trace FILE]`` runs LatentSeek on one question with a progress bar over iterations. With
``--reference`` the reward is :class:`~latentseek_agents.rewards.MathAnswer` against it; without,
the model judges itself (:class:`~latentseek_agents.rewards.SelfJudge`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from .config import LatentSeekConfig

__all__ = ["main", "build_parser"]


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``latentseek`` (sub-command ``solve``)."""
    parser = argparse.ArgumentParser(prog="latentseek", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    solve = sub.add_parser("solve", help="improve the answer to one question with LatentSeek")
    solve.add_argument("question", help="the question to solve")
    solve.add_argument("--reference", help="gold answer: reward = math check against it (else self-judge)")
    solve.add_argument("--model", default="default",
                       help="'default' (embedded SmolLM2-135M-Instruct), a hub id or a local path")
    solve.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    solve.add_argument("--dtype", default="auto", help="auto, float32, bfloat16 or float16")
    defaults = LatentSeekConfig()
    solve.add_argument("--max-iters", type=int, default=defaults.max_iters)
    solve.add_argument("--max-new-tokens", type=int, default=defaults.max_new_tokens)
    solve.add_argument("--lr", type=float, default=defaults.lr)
    solve.add_argument("--fraction", type=float, default=defaults.fraction)
    solve.add_argument("--score-threshold", type=float, default=defaults.score_threshold)
    solve.add_argument("--prompt-style", default=defaults.prompt_style, choices=("boxed", "json", "none"))
    solve.add_argument("--select", default=defaults.select, choices=("first_pass", "best"))
    solve.add_argument("--seed", type=int, default=defaults.seed)
    solve.add_argument("--judge-tokens", type=_positive_int, default=256,
                       help="token budget of each self-judge reply (without --reference)")
    solve.add_argument("--json", action="store_true", help="print the SeekResult as one JSON object")
    solve.add_argument("--trace", metavar="FILE", help="append one JSON line per attempt to FILE")
    solve.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def _summary(result: Any, seconds: float) -> str:
    from .answers import extract_answer

    first = result.first
    lines = [
        f"first answer : {extract_answer(first.text) or _short(first.text)}  (score {first.score:.3f})",
        f"final answer : {result.answer if result.answer is not None else _short(result.text)}"
        f"  (score {result.score:.3f})",
        f"iterations   : {result.iterations}  (stop: {result.stop_reason})",
        "scores       : " + " -> ".join(f"{a.score:.2f}" for a in result.trace),
        f"tokens       : {result.generated_tokens} generated, {result.prompt_tokens} in the prompt",
        f"time         : {seconds:.1f} s",
    ]
    errors = [f"  iteration {a.iteration}: {a.error}" for a in result.trace if a.error]
    if errors:
        lines += ["reward errors:"] + errors
    return "\n".join(lines)


def _short(text: str, width: int = 70) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else "..." + flat[-width:]


def _solve(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from .models import load_model
    from .rewards import MathAnswer, SelfJudge
    from .seek import LatentSeek

    config = LatentSeekConfig(
        max_iters=args.max_iters, max_new_tokens=args.max_new_tokens, lr=args.lr, fraction=args.fraction,
        score_threshold=args.score_threshold, prompt_style=args.prompt_style, select=args.select,
        seed=args.seed,
    )
    if not args.question.strip():
        raise ValueError("question must be a non-empty string, got an empty string")
    start = time.perf_counter()
    lm = load_model(args.model, device=args.device, dtype=args.dtype)
    reward = MathAnswer(extract="auto") if args.reference else SelfJudge(lm, max_new_tokens=args.judge_tokens)
    seeker = LatentSeek(lm, reward=reward, config=config)
    bar = tqdm(total=config.max_iters + 1, desc="latentseek", unit="attempt", disable=args.no_progress,
               file=sys.stderr)
    trace_file = open(args.trace, "a", encoding="utf-8") if args.trace else None

    def on_attempt(_: int, attempt: Any) -> None:
        bar.update(1)
        bar.set_postfix(iteration=attempt.iteration, score=f"{attempt.score:.2f}")
        if trace_file is not None:
            trace_file.write(json.dumps({"question": args.question, **attempt.to_dict()}) + "\n")
            trace_file.flush()

    try:
        result = seeker.solve(args.question, reference=args.reference, on_attempt=on_attempt)
    finally:
        bar.close()
        if trace_file is not None:
            trace_file.close()
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        print(_summary(result, time.perf_counter() - start))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``latentseek`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "solve":
            return _solve(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"latentseek: error: {exc}", file=sys.stderr)
        return 2
    parser.error(f"unknown command {args.command!r}")
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
