"""Load on the OpenAI-compatible server: concurrent clients against Ray Serve replicas, and what
a client that walks away costs.

Prints, from one run on one machine, for the same load served two ways - one search at a time
(``max_batch_size=1``, as before batching) and batched (``max_batch_size=--batch``):
  * one request alone (the baseline), then C concurrent `openai` clients sending R requests each:
    answered / sent, lost (errors, time-outs), p50 and p99 latency (and each / the baseline),
    requests per minute, active searches afterwards, the largest batch;
  * (batched) the disconnect run: a long streamed search (many latent updates) is closed after its first
    reasoning chunk; the replica's CPU use is sampled every 20 ms from the close until it falls
    idle, and that delay is set against one decoding step of the same model.

The last line: ``throughput ratio R (batched / one search at a time)``.

Usage:
    python benchmarks/serve_load.py                                  # default model, 16 clients, 2 replicas
    python benchmarks/serve_load.py --backend torch --clients 16 --replicas 2 --requests 2 --max-tokens 64
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def questions(n: int) -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in (ROOT / "data/gsm8k/train_sample.jsonl").read_text().splitlines()[:n]]
    return [(r["question"], r["answer"].split("####")[-1].strip()) for r in rows]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def cpu_seconds(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


async def load(base: str, model: str, clients: int, requests: int, max_tokens: int, iters: int) -> dict:
    from openai import AsyncOpenAI

    work = questions(clients * requests)
    latencies: list[float] = []
    failures: list[str] = []

    async def client(k: int) -> None:
        async with AsyncOpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0, timeout=3600) as api:
            for question, answer in work[k * requests:(k + 1) * requests]:
                start = time.perf_counter()
                try:
                    await api.chat.completions.create(
                        model=model, messages=[{"role": "user", "content": question}], max_tokens=max_tokens,
                        extra_body={"latentseek": {"reference": answer, "max_iters": iters}})
                    latencies.append(time.perf_counter() - start)
                except Exception as exc:  # noqa: BLE001 - a lost request is a result here
                    failures.append(f"{type(exc).__name__}: {exc}"[:120])

    start = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    return {"wall": time.perf_counter() - start, "latencies": latencies, "failures": failures}


def replicas(base: str, count: int) -> dict[int, dict]:
    """The latest /health of each replica (health requests land on any replica: ask until all seen)."""
    import httpx

    seen: dict[int, dict] = {}
    for _ in range(200):
        health = httpx.get(f"{base}/health", timeout=30).json()
        seen[health["pid"]] = health
        if len(seen) == count:
            break
    return seen


def disconnect_run(base: str, model: str, count: int, max_tokens: int) -> dict:
    import httpx

    question, answer = questions(1)[0]
    body = {"model": model, "messages": [{"role": "user", "content": question}], "stream": True,
            "max_tokens": max_tokens, "latentseek": {"reference": answer + "0", "max_iters": 10}}  # never passes
    before = replicas(base, count)  # while all are idle (a busy replica gets no health checks)
    with httpx.stream("POST", f"{base}/v1/chat/completions", json=body, timeout=600) as reply:
        lines = reply.iter_lines()  # held: dropping the iterator would close the connection already
        next(line for line in lines if "reasoning_content" in line)
        time.sleep(0.3)  # the search is now in its first latent update / continuation
    closed = time.perf_counter()  # leaving the with block closed the connection
    pids = list(before)
    last = {pid: cpu_seconds(pid) for pid in pids}
    last_t, idle_after = closed, None
    while time.perf_counter() - closed < 60:
        time.sleep(0.1)
        now = time.perf_counter()
        cpu = {pid: cpu_seconds(pid) for pid in pids}
        if all((cpu[p] - last[p]) / (now - last_t) < 0.10 for p in pids):
            idle_after = last_t - closed  # the first 100 ms window in which every replica was idle
            break
        last, last_t = cpu, now
    after = replicas(base, count)
    extra = sum(after[p]["attempts_scored"] - before[p]["attempts_scored"] for p in pids if p in after) - 1
    return {"idle_after": idle_after, "active_after": sum(h["active_searches"] for h in after.values()),
            "extra_attempts": extra}


def run_phase(args: argparse.Namespace, label: str, batch: int, ongoing: int, disconnect: bool) -> dict:
    """Deploy the app with ``max_batch_size=batch``, measure one request alone and the load, tear down."""
    from openai import OpenAI
    from ray import serve

    from latentseek_agents import LatentSeekConfig
    from latentseek_agents.integrations.serve import latentseek_app
    from latentseek_agents.rewards import MathAnswer

    started = time.perf_counter()
    serve.run(latentseek_app(args.model, {"math": MathAnswer()}, num_replicas=args.replicas, num_cpus=1,
                             max_ongoing_requests=ongoing, max_queued_requests=4 * args.clients,
                             max_batch_size=batch, backend=args.backend,
                             config=LatentSeekConfig(max_iters=args.iters, max_new_tokens=args.max_tokens)),
              name="load", route_prefix="/")
    base = args.base
    print(f"\n== {label}: max_batch_size {batch}, max_ongoing_requests {ongoing} ==")
    print(f"{args.replicas} replicas of {args.model} up in {time.perf_counter() - started:.1f} s "
          f"({os.cpu_count()} cores, 1 per replica)")
    try:
        api = OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0, timeout=3600)
        model = api.models.list().data[0].id
        question, answer = questions(1)[0]
        for _ in range(2 * args.replicas):  # warm-up: the first call on each replica
            api.chat.completions.create(model=model, messages=[{"role": "user", "content": question}],
                                        max_tokens=args.max_tokens)
        alone = []
        for _ in range(2):
            start = time.perf_counter()
            reply = api.chat.completions.create(
                model=model, messages=[{"role": "user", "content": question}], max_tokens=args.max_tokens,
                extra_body={"latentseek": {"reference": answer, "max_iters": args.iters}})
            alone.append(time.perf_counter() - start)
        baseline = min(alone)
        step = baseline / max(1, reply.usage.completion_tokens)
        print(f"one request alone: {baseline:.2f} s ({reply.usage.completion_tokens} tokens over "
              f"{reply.model_extra['latentseek']['iterations'] + 1} attempts; ~{1000 * step:.0f} ms per token, "
              "reward included)")

        out = asyncio.run(load(base, model, args.clients, args.requests, args.max_tokens, args.iters))
        sent = args.clients * args.requests
        lat = out["latencies"]
        out.update(sent=sent, baseline=baseline, rate=60 * len(lat) / out["wall"])
        print(f"{args.clients} concurrent clients x {args.requests} requests against {args.replicas} replicas:")
        print(f"  answered {len(lat)}/{sent}, lost {sent - len(lat)}"
              + (f" (first: {out['failures'][0]})" if out["failures"] else ""))
        if lat:
            out.update(p50=statistics.median(lat), p99=percentile(lat, 99))
            print(f"  latency p50 {out['p50']:.2f} s ({out['p50'] / baseline:.1f}x alone), p99 {out['p99']:.2f} s "
                  f"({out['p99'] / baseline:.1f}x alone)")
            print(f"  throughput {out['rate']:.1f} requests/min over {out['wall']:.1f} s "
                  f"(alone, back to back: {60 / baseline:.1f} requests/min)")
        health = replicas(base, args.replicas)
        out["active_after"] = sum(h["active_searches"] for h in health.values())
        largest, batches = (max(h["largest_batch"] for h in health.values()),
                            sum(h["batches_run"] for h in health.values()))
        print(f"  afterwards: {out['active_after']} active searches; largest batch {largest} over {batches} batches")

        if disconnect:
            cut = disconnect_run(base, model, args.replicas, max(args.max_tokens, 256))
            print("client disconnect (a 10-update streamed search closed after its first reasoning chunk):")
            if cut["idle_after"] is None:
                print("  the replicas did NOT fall idle within 60 s")
            else:
                print(f"  every replica under 10 % of a core from {1000 * cut['idle_after']:.0f} ms after the close "
                      f"(= {cut['idle_after'] / step:.1f} decoding steps of ~{1000 * step:.0f} ms)")
            print(f"  afterwards: {cut['active_after']} active searches; {cut['extra_attempts']} attempt(s) scored "
                  "after the first one (a search left alone scores 10 more)")
    finally:
        serve.delete("load")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--backend", default="auto", choices=("auto", "torch", "llama_cpp"))
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=2, help="requests per client")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--iters", type=int, default=1, help="latent updates per request (at most)")
    parser.add_argument("--ongoing", type=int, default=2,
                        help="max_ongoing_requests per replica, one search at a time (the rest queue)")
    parser.add_argument("--batch", type=int, default=8,
                        help="max_batch_size (= max_ongoing_requests) per replica, batched")
    args = parser.parse_args(argv)

    os.environ.setdefault("RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S", "120")
    import ray
    from ray import serve

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args.base = f"http://127.0.0.1:{port}"
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    try:
        before = run_phase(args, "one search at a time", 1, args.ongoing, disconnect=False)
        after = run_phase(args, "batched", args.batch, args.batch, disconnect=True)
    finally:
        serve.shutdown()
        ray.shutdown()
    print(f"\nsame load, same run: one search at a time {before['rate']:.1f} requests/min (p50 "
          f"{before.get('p50', float('nan')):.1f} s, p99 {before.get('p99', float('nan')):.1f} s, lost "
          f"{before['sent'] - len(before['latencies'])}); batched {after['rate']:.1f} requests/min (p50 "
          f"{after.get('p50', float('nan')):.1f} s, p99 {after.get('p99', float('nan')):.1f} s, lost "
          f"{after['sent'] - len(after['latencies'])})")
    print(f"throughput ratio {after['rate'] / before['rate']:.2f} (batched / one search at a time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
