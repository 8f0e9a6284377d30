"""The ``latentseek`` command line (``solve`` one question; ``bench`` a dataset; ``serve`` an
OpenAI-compatible API).

``latentseek solve "QUESTION" [--reference ANSWER] [--model ...] [--max-iters N] [--json]
[--trace FILE]`` runs LatentSeek on one question with a progress bar over iterations. With
``--reference`` the reward is :class:`~latentseek_agents.rewards.MathAnswer` against it; without,
the model judges itself (:class:`~latentseek_agents.rewards.SelfJudge`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
import types
import typing
from collections.abc import Sequence
from typing import Any

from .config import LatentSeekConfig, field_help
from .model_spec import ModelSpec
from .rewards.base import JUDGE_TOKENS

__all__ = ["main", "build_parser", "add_config_options", "config_from_args"]


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text}")
    return value


def add_config_options(parser: argparse.ArgumentParser, **defaults: Any) -> None:
    """One ``--option`` per LatentSeekConfig field (type, choices, default and help from the config),
    so a new setting is declared once; ``defaults`` overrides a default for this sub-command."""
    hints = typing.get_type_hints(LatentSeekConfig)
    base = LatentSeekConfig()
    helps = field_help()
    group = parser.add_argument_group("LatentSeek settings (LatentSeekConfig)")
    for field in dataclasses.fields(LatentSeekConfig):
        hint = hints[field.name]
        optional = typing.get_origin(hint) in (typing.Union, types.UnionType)
        kind = next(t for t in typing.get_args(hint) if t is not type(None)) if optional else hint
        kwargs: dict[str, Any] = {"dest": field.name, "default": defaults.get(field.name, getattr(base, field.name)),
                                  "help": helps.get(field.name, "").replace("%", "%%") + " (default: %(default)s)"}
        if typing.get_origin(kind) is typing.Literal:
            kwargs["choices"] = typing.get_args(kind)
        elif kind is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["type"] = kind
        group.add_argument("--" + field.name.replace("_", "-"), **kwargs)


def config_from_args(args: argparse.Namespace) -> LatentSeekConfig:
    """The LatentSeekConfig that ``add_config_options``' options describe (validated)."""
    return LatentSeekConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(LatentSeekConfig)})


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``latentseek`` (sub-command ``solve``)."""
    parser = argparse.ArgumentParser(prog="latentseek", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    solve = sub.add_parser("solve", help="improve the answer to one question with LatentSeek (or, at the same "
                                         "budget, best-of-N or self-consistency)")
    solve.add_argument("question", help="the question to solve")
    solve.add_argument("--reference", help="gold answer: reward = math check against it (else self-judge)")
    solve.add_argument("--method", choices=SOLVE_METHODS, default="latentseek",
                       help="latentseek (default), best_of_n (the greedy answer, then samples until the reward "
                            "passes) or self_consistency (a vote of max_iters + 1 samples; no reward needed): "
                            "the same budget, see the README's first section")
    solve.add_argument("--stop-when-decided", action="store_true",
                       help="with --method self_consistency: stop sampling once the rest could not change the "
                            "vote's winner (the same answer, fewer samples)")
    ModelSpec.add_options(solve)
    add_config_options(solve)
    solve.add_argument("--judge-tokens", type=_positive_int, default=JUDGE_TOKENS,
                       help="token budget of each self-judge reply (without --reference; default: %(default)s)")
    solve.add_argument("--json", action="store_true", help="print the SeekResult as one JSON object")
    solve.add_argument("--trace", metavar="FILE", help="append one JSON line per attempt to FILE")
    solve.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    bench = sub.add_parser("bench", help="compare LatentSeek with CoT, best-of-N and self-refinement")
    bench.add_argument("--data", required=True,
                       help="GSM8K, MATH or HumanEval style JSONL file (HumanEval rows are asked as given; "
                            "--prompt-style json asks MATH rows in the paper's MATH text, json_expression)")
    bench.add_argument("--limit", type=_positive_int, help="first N problems")
    bench.add_argument("--skip", type=int, default=0,
                       help="start after the first N problems (with --limit, a slice; ids stay those of the "
                            "whole file, so slices run in parallel processes concatenate)")
    bench.add_argument("--methods", default="cot,best_of_n,self_consistency,self_refine,latentseek",
                       help="comma-separated: cot, best_of_n, self_consistency, self_refine, latentseek")
    bench.add_argument("--reward", default="self",
                       help="comma-separated: self (SelfJudge), self_boxed (SelfJudge behind a \\boxed{} "
                            "format gate), self_sampled (SelfJudge counting 4 sampled replies per check), vote "
                            "(VoteAgreement: agreement with 4 samples of the problem, no gold), oracle (the gold "
                            "check: right or wrong, never the answer), examples (code only: the docstring's "
                            "examples run as unit tests)")
    ModelSpec.add_options(bench)
    add_config_options(bench, max_iters=3)  # K: each method gets K+1 generations
    bench.add_argument("--batch-size", type=_positive_int, default=8)
    bench.add_argument("--judge-tokens", type=_positive_int, default=JUDGE_TOKENS,
                       help="SelfJudge reply budget (default: %(default)s)")
    bench.add_argument("--out", default="results.jsonl", help="JSONL rows (re-running skips finished rows)")
    bench.add_argument("--plot", help="write a PNG of accuracy against iterations")
    bench.add_argument("--allow-code-execution", action="store_true", help="needed for HumanEval-style data")
    bench.add_argument("--ray", action="store_true", help="run the batches on a pool of Ray actors")
    bench.add_argument("--num-workers", type=_positive_int, default=2, help="Ray actors (with --ray)")
    bench.add_argument("--no-progress", action="store_true")

    serve = sub.add_parser("serve", help="serve an OpenAI-compatible chat-completions API (Ray Serve)")
    ModelSpec.add_options(serve)
    serve.add_argument("--name", help="the model name clients send (default: the file or model name)")
    serve.add_argument("--reward", default="math",
                       help="comma-separated rewards a request may pick, the first being the default: math "
                            "(MathAnswer against the request's reference), code (UnitTests on the request's "
                            "tests), self (SelfJudge on the served model)")
    serve.add_argument("--allow-code-execution", action="store_true", help="needed for --reward code")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    serve.add_argument("--port", type=_positive_int, default=8000)
    from latentseek_agents.integrations.serve.options import (  # framework-free: no Ray import
        SERVE_CONFIG_DEFAULTS,
        ServeOptions,
        add_limit_options,
    )

    ServeOptions.add_options(serve)
    add_limit_options(serve)
    add_config_options(serve, **SERVE_CONFIG_DEFAULTS)
    return parser


DEFAULT_MODEL_NOTE = (
    "note         : this ran the embedded demo model, SmolLM2-135M-Instruct, which solves almost no\n"
    "               GSM8K: a wrong answer and score 0 are expected, the run shows the loop working.\n"
    "               For a competent model: python3 benchmarks/eval_model.py --dest models, then\n"
    "               --model models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf (or any hub id / local folder).\n"
    "               Measured results: cookbook/results/README.md"
)


def _writable_file(path: str, flag: str, *, make_folder: bool = False) -> None:
    """Fail before any model loads if ``path`` can't be written (a folder, a missing folder, no rights)."""
    import os
    from pathlib import Path

    target = Path(path)
    if target.is_dir():
        raise ValueError(f"{flag} {path!r} is a folder; give a file path")
    folder = target.parent
    if make_folder:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValueError(f"{flag} {path!r}: its folder can't be created ({exc.strerror})") from None
    if not folder.is_dir():
        raise ValueError(f"{flag} {path!r}: its folder {str(folder)!r} does not exist")
    if not os.access(target if target.exists() else folder, os.W_OK):
        raise ValueError(f"{flag} {path!r} is not writable")


def _open_trace(path: str) -> Any:
    """The ``--trace`` file opened for appending; an OSError becomes one line naming the path."""
    try:
        return open(path, "a", encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"--trace {path!r} can't be opened for writing ({exc.strerror or exc})") from None


def _summary(result: Any, seconds: float, lm: Any) -> str:
    from .answers import extract_answer

    first = result.first
    lines = [
        f"model        : {lm.name} on {lm.backend}",
        f"first answer : {extract_answer(first.text) or _short(first.text)}  (score {_score(first, 3)})",
        f"final answer : {result.answer if result.answer is not None else _short(result.text)}"
        f"  (score {_score(result.chosen_attempt, 3)})",
        f"iterations   : {result.iterations}  (stop: {result.stop_reason})",
        "scores       : " + " -> ".join(_score(a, 2) for a in result.trace),
        f"tokens       : {result.generated_tokens} generated, {result.prompt_tokens} in the prompt",
        f"time         : {seconds:.1f} s",
    ]
    errors = [f"  iteration {a.iteration}: {a.error}" for a in result.trace if a.error]
    if errors:
        lines += ["reward errors:"] + errors
    return "\n".join(lines)


def _score(attempt: Any, digits: int) -> str:
    """An attempt's score as text; "-" when the reward skipped it (a vote without a reward)."""
    return "-" if attempt.details.get("skipped") else f"{attempt.score:.{digits}f}"


def _short(text: str, width: int = 70) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else "..." + flat[-width:]


SOLVE_METHODS = ("latentseek", "best_of_n", "self_consistency")


def _solve(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from .rewards import MathAnswer, SelfJudge
    from .sampling import BestOfN, SelfConsistency
    from .seek import LatentSeek

    config = config_from_args(args)
    if not args.question.strip():
        raise ValueError("question must be a non-empty string, got an empty string")
    if args.stop_when_decided and args.method != "self_consistency":
        raise ValueError(f"--stop-when-decided applies to --method self_consistency, got --method {args.method}")
    if args.trace:
        _writable_file(args.trace, "--trace")
    spec = ModelSpec.from_args(args)
    trace_file = _open_trace(args.trace) if args.trace else None  # before the model loads: fail fast
    start = time.perf_counter()
    try:
        lm = spec.load()
    except BaseException:
        if trace_file is not None:
            trace_file.close()
        raise
    reward: Any = MathAnswer(extract="auto") if args.reference else None  # None: the method's own default
    if reward is None and args.method != "self_consistency":  # a vote needs no reward
        reward = SelfJudge(lm, max_new_tokens=args.judge_tokens)
    kind = {"latentseek": LatentSeek, "best_of_n": BestOfN, "self_consistency": SelfConsistency}[args.method]
    options = {"stop_when_decided": True} if args.stop_when_decided else {}  # only a vote takes it (checked above)
    seeker = kind(lm, reward=reward, config=config, **options)
    most = config.max_generations  # one per attempt, the same for every method
    bar = tqdm(total=most, desc=args.method, unit="attempt", disable=args.no_progress, file=sys.stderr)

    def on_attempt(_: int, attempt: Any) -> None:
        nonlocal trace_file
        bar.update(1)
        bar.set_postfix(iteration=attempt.iteration, score=f"{attempt.score:.2f}")
        if trace_file is not None:
            try:
                trace_file.write(json.dumps({"question": args.question, **attempt.to_dict()}) + "\n")
                trace_file.flush()
            except OSError as exc:  # a side output failing never costs the result
                print(f"latentseek: warning: --trace {args.trace!r} stopped being written ({exc}); the result "
                      "is still printed", file=sys.stderr)
                trace_file = None

    result = None
    try:
        for event in seeker.iter_solve(args.question, reference=args.reference):  # the engine's own stream
            if event.attempt is not None:
                on_attempt(event.index, event.attempt)
            else:
                result = event.result
    finally:
        bar.close()
        if trace_file is not None:
            try:
                trace_file.close()
            except OSError:
                pass
    assert result is not None  # the stream ends with the problem's result
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        print(_summary(result, time.perf_counter() - start, lm))
        if args.model == "default":
            print(DEFAULT_MODEL_NOTE)
    return 0


def _bench(args: argparse.Namespace) -> int:
    from .bench import run_bench

    config = config_from_args(args)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    rewards = [r.strip() for r in args.reward.split(",") if r.strip()]
    if not methods:
        raise ValueError(f"--methods names no method (got {args.methods!r})")
    if not rewards:
        raise ValueError(f"--reward names no reward (got {args.reward!r})")
    spec = ModelSpec.from_args(args)
    _writable_file(args.out, "--out", make_folder=True)
    if args.plot:
        _writable_file(args.plot, "--plot")
    report = run_bench(args.data, methods=methods, rewards=rewards, limit=args.limit,
                       skip=args.skip, model=spec,
                       config=config, out=args.out, plot=args.plot, batch_size=args.batch_size,
                       judge_tokens=args.judge_tokens, allow_code_execution=args.allow_code_execution,
                       progress=not args.no_progress, ray_workers=args.num_workers if args.ray else None)
    print(report)
    return 0


def _serve(args: argparse.Namespace) -> int:
    import os

    from latentseek_agents.integrations.serve import ServeOptions, latentseek_app
    from latentseek_agents.integrations.serve.app import named_rewards
    from latentseek_agents.integrations.serve.options import limits_from

    from .validation import check_int

    check_int("--port", args.port, 1, 65_535)

    try:
        rewards = named_rewards(args.reward, allow_code_execution=args.allow_code_execution)
    except ValueError as exc:
        raise ValueError(f"--{exc}") from None
    limits = limits_from(args)
    app = latentseek_app(ModelSpec.from_args(args), rewards, config=config_from_args(args), limits=limits,
                         name=args.name, options=ServeOptions.from_args(args))
    os.environ.setdefault("RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S", "120")  # busy CPU machines start slowly
    import ray
    from ray import serve

    ray.init(include_dashboard=False)
    serve.start(http_options={"host": args.host, "port": args.port})
    serve.run(app, name="latentseek", route_prefix="/")
    print(f"serving at http://{args.host}:{args.port}/v1 (OpenAI chat completions; Ctrl-C stops)", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        serve.shutdown()
        ray.shutdown()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``latentseek`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "solve":
            return _solve(args)
        if args.command == "bench":
            return _bench(args)
        if args.command == "serve":
            return _serve(args)
    except (ValueError, OSError, ImportError) as exc:  # bad input, a file, a missing optional package
        print(f"latentseek: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("latentseek: interrupted (bench: finished rows are kept; the same command resumes)"
              if args.command == "bench" else "latentseek: interrupted", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command!r}")
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
