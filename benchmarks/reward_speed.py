"""Reward throughput: MathAnswer checks per second (main thread, worker thread, 4 threads), the
UnitTests sandbox's cost per run, with a plain subprocess start as the baseline, and SelfJudge on
the default model judging B answers one by one against one batched call, and on llama.cpp the batched
call with its prompts' shared prefixes decoded once against each prompt decoded whole.

    python benchmarks/reward_speed.py [--judge 8 --judge-tokens 64 --judge-model default --judge-threads 1]
    # --judge 0 skips SelfJudge; --judge-threads loads the judge on llama.cpp with that many threads
"""

from __future__ import annotations

import argparse
import json
import subprocess
import threading
import time
from pathlib import Path

from latentseek_agents.rewards import MathAnswer, UnitTests, isolation_level
from latentseek_agents.rewards.sandbox import sandbox_python

ROOT = Path(__file__).resolve().parents[1]


def rate(n: int, fn) -> float:
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - start)


def in_thread(fn):
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("v", fn()))
    thread.start()
    thread.join()
    return box["v"]


def self_judge_speed(n: int, tokens: int, model: str = "default", threads: int | None = None) -> None:
    """SelfJudge over n GSM8K answers: one ``check`` each vs one ``check_batch`` (same run); on
    llama.cpp also ``check_batch`` with every prompt decoded whole (no shared prefix)."""
    from latentseek_agents import load_model
    from latentseek_agents.backends import llama_cpp
    from latentseek_agents.rewards import SelfJudge

    rows = [json.loads(line) for line in (ROOT / "data" / "gsm8k" / "train_sample.jsonl").open()][:n]
    questions = [r["question"] for r in rows]
    answers = [r["answer"].replace("#### ", "The answer is ") for r in rows]
    judge = SelfJudge(model if threads is None else load_model(model, backend="llama_cpp", n_threads=threads),
                      max_new_tokens=tokens)
    judge.check(answers[0], prompt=questions[0])  # load the model
    start = time.perf_counter()
    alone = [judge.check(a, prompt=q) for a, q in zip(answers, questions)]
    alone_s = time.perf_counter() - start
    start = time.perf_counter()
    together = judge.check_batch(answers, prompts=questions)
    batch_s = time.perf_counter() - start
    same = sum(a.score == b.score for a, b in zip(alone, together))
    print(f"SelfJudge, {n} answers x 4 verifiers, {tokens} tokens: one by one {alone_s:6.1f} s, "
          f"batched {batch_s:6.1f} s ({alone_s / batch_s:.2f}x; {same}/{n} equal scores; "
          f"mean score {sum(r.score for r in together) / n:.2f})")
    if judge.lm.backend != "llama_cpp":
        return
    share = llama_cpp._SHARE
    llama_cpp._SHARE = 1 << 30  # no prompt shares a prefix: each is decoded whole (the code before sharing)
    try:
        start = time.perf_counter()
        whole = judge.check_batch(answers, prompts=questions)
        whole_s = time.perf_counter() - start
    finally:
        llama_cpp._SHARE = share
    ids = [judge.backend._encode(p) for a, q in zip(answers, questions) for p in judge.prompts_for(a, q)]
    total = sum(map(len, ids))
    decoded = total - sum(k for _, k in llama_cpp._share_plan(ids, share).values())
    same = sum(a.score == b.score for a, b in zip(whole, together))
    print(f"SelfJudge batched on llama.cpp, {n} answers: shared prefixes {batch_s:6.1f} s ({decoded} prompt tokens "
          f"decoded), every prompt whole {whole_s:6.1f} s ({total}): {whole_s / batch_s:.2f}x; "
          f"{same}/{n} equal scores")


def main() -> None:
    parser = argparse.ArgumentParser(description="reward throughput")
    parser.add_argument("--judge", type=int, default=8, help="answers for the SelfJudge timing (0 skips it)")
    parser.add_argument("--judge-tokens", type=int, default=64)
    parser.add_argument("--judge-model", default="default",
                        help="'default' or a .gguf file (on llama.cpp, prefix sharing is timed too)")
    parser.add_argument("--judge-threads", type=int, default=None, help="llama.cpp threads of the judge")
    args = parser.parse_args()
    math = MathAnswer()
    math.check("\\boxed{1}", reference="1")  # start the worker pool
    check = lambda i: math.check(f"so \\boxed{{\\frac{{{i}}}{{2}}}}", reference=f"{i / 2}")  # noqa: E731
    main_rate = rate(200, check)
    worker_rate = in_thread(lambda: rate(200, check))
    start = time.perf_counter()
    threads = [threading.Thread(target=lambda: [check(i) for i in range(100)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    four_rate = 400 / (time.perf_counter() - start)
    start = time.perf_counter()
    tower = math.check("\\boxed{2^{2^{2^{2^{2^{2^{2}}}}}}}", reference="1")
    tower_s = time.perf_counter() - start

    rows = [json.loads(line) for line in (ROOT / "data" / "humaneval" / "dev.jsonl").open()][:20]
    tests = UnitTests(allow_execution=True)
    start = time.perf_counter()
    passed = sum(tests.check(r["canonical_solution"], prompt=r["prompt"], reference=r).score == 1.0 for r in rows)
    sandbox_s = (time.perf_counter() - start) / len(rows)
    start = time.perf_counter()
    for _ in range(20):
        subprocess.run([sandbox_python(), "-I", "-c", "pass"], check=True)
    bare_s = (time.perf_counter() - start) / 20

    print(f"MathAnswer checks/s, main thread          : {main_rate:7.1f}")
    print(f"MathAnswer checks/s, one worker thread     : {worker_rate:7.1f}")
    print(f"MathAnswer checks/s, 4 threads together    : {four_rate:7.1f}")
    print(f"MathAnswer on a 7-level power tower        : {tower.score} in {tower_s:.2f} s ({tower.feedback})")
    print(f"UnitTests per HumanEval run (isolation {isolation_level()}): {sandbox_s * 1000:6.1f} ms "
          f"({passed}/{len(rows)} canonical solutions passed)")
    print(f"bare `{sandbox_python()} -I -c pass` start-up: {bare_s * 1000:6.1f} ms")
    print(f"sandbox cost / bare interpreter start      : {sandbox_s / bare_s:6.2f}x")
    if args.judge:
        self_judge_speed(args.judge, args.judge_tokens, args.judge_model, args.judge_threads)


if __name__ == "__main__":
    main()
