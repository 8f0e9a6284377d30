"""Batched CPU decoding throughput on one model: the engine's loop and transformers' generate at
batch 1/8/16/32, float32 and int8 (dynamically quantized body), against this machine's measured
ceilings; the latent update time; threads vs one single-thread worker per core; prompt-length
grouping. Everything is measured in this one run; ratios compare figures of the same run.

    python benchmarks/cpu_throughput.py --model models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
    python benchmarks/cpu_throughput.py --modes int8 --batches 1,16 --tokens 16     # quicker

Ceilings: at batch b one decoding step reads every weight once and does 2 x params x b FLOPs, so
tokens/s <= b x bandwidth / weight bytes and <= GEMM FLOP/s / (2 x params).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from roofline import copy_bandwidth, gemm_flops, int8_gemm_ops  # noqa: E402


def _questions(n: int) -> list[str]:
    with open(ROOT / "data" / "gsm8k" / "train_sample.jsonl", encoding="utf-8") as f:
        return [json.loads(line)["question"] for _, line in zip(range(n), f)]


def _weights(lm, mode: str) -> tuple[int, int]:
    """(parameters, bytes read per decoding step) of the model as it runs."""
    params = sum(p.numel() for p in lm.model.parameters())
    if mode != "int8":
        return params, sum(p.numel() * p.element_size() for p in lm.model.parameters())
    from torch.ao.nn.quantized.dynamic import Linear

    linear = sum(m.weight().numel() for m in lm.base.modules() if isinstance(m, Linear))
    return params + linear, (params * 4) + linear  # quantized weights are no longer parameters


def _rate(fn, tokens: int, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return tokens / statistics.median(times)


def _decode_rates(lm, prompts, batches, tokens, repeats, hf: bool) -> dict[str, dict[int, float]]:
    import torch

    from latentseek_agents.generation import _left_pad, generate

    out: dict[str, dict[int, float]] = {"engine loop": {}}
    if hf:
        out["transformers generate"] = {}
    for b in batches:
        rows = [prompts[i % len(prompts)] for i in range(b)]
        out["engine loop"][b] = _rate(lambda: generate(lm, rows, tokens, stop_ids=()), b * tokens, repeats)
        if hf:
            ids, mask = _left_pad(rows, lm.tokenizer.pad_token_id or 0, lm.device)
            with torch.no_grad():
                out["transformers generate"][b] = _rate(
                    lambda: lm.model.generate(ids, attention_mask=mask, max_new_tokens=tokens, min_new_tokens=tokens,
                                              do_sample=False, pad_token_id=lm.tokenizer.pad_token_id),
                    b * tokens, repeats)
    return out


def _update_seconds(lm, prompt, tokens: int, repeats: int) -> tuple[int, float]:
    from latentseek_agents import LatentSeekConfig
    from latentseek_agents.generation import generate
    from latentseek_agents.latents import LatentOptimizer, num_latents

    config = LatentSeekConfig()
    first = generate(lm, [prompt], tokens, capture_hidden=tokens, stop_ids=())[0]
    count = num_latents(len(first.tokens), config.fraction, config.max_latents)
    times = []
    for _ in range(repeats):
        optimizer = LatentOptimizer(lm, [first.hidden[:count]], config)
        start = time.perf_counter()
        optimizer.step({0: -1.0})
        times.append(time.perf_counter() - start)
    return count, statistics.median(times)


def _grouping(lm, prompts, batch: int, tokens: int) -> tuple[float, float]:
    """Seconds to decode every prompt in batches of ``batch``: file order vs sorted by length."""
    from latentseek_agents.generation import generate

    def run(order):
        start = time.perf_counter()
        for i in range(0, len(order), batch):
            generate(lm, order[i: i + batch], tokens, stop_ids=())
        return time.perf_counter() - start

    return run(list(prompts)), run(sorted(prompts, key=len))


def _worker(args) -> int:
    """One single-thread process decoding batch ``--batch`` (used by the workers-vs-threads row)."""
    import torch

    torch.set_num_threads(1)
    from latentseek_agents import load_model
    from latentseek_agents.generation import generate
    from latentseek_agents.prompts import build_messages, render_prompt

    lm = load_model(args.model, device="cpu", dtype="float32", quantize=None if args.worker == "float32" else "int8")
    prompts = [render_prompt(lm.tokenizer, build_messages(q)) for q in _questions(args.batch)]
    generate(lm, prompts, 4, stop_ids=())  # warm-up, then wait for the sibling to be ready
    Path(args.ready).touch()
    while len(list(Path(args.ready).parent.glob("ready-*"))) < 2:
        time.sleep(0.05)
    start = time.perf_counter()
    generate(lm, prompts, args.tokens, stop_ids=())
    print(json.dumps({"seconds": time.perf_counter() - start, "tokens": args.batch * args.tokens}))
    return 0


def _two_workers(model: str, mode: str, batch: int, tokens: int) -> float:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        procs = [subprocess.Popen([sys.executable, __file__, "--model", model, "--worker", mode, "--batch", str(batch),
                                   "--tokens", str(tokens), "--ready", str(Path(folder) / f"ready-{i}")],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) for i in range(2)]
        results = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    return sum(r["tokens"] for r in results) / max(r["seconds"] for r in results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--modes", default="float32,int8", help="comma-separated: float32, int8")
    parser.add_argument("--batches", default="1,8,16,32")
    parser.add_argument("--tokens", type=int, default=24, help="new tokens per row")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--no-hf", action="store_true", help="skip transformers generate")
    parser.add_argument("--no-workers", action="store_true", help="skip the workers-vs-threads row")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=16, help="batch of the workers and grouping rows")
    parser.add_argument("--ready", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return _worker(args)

    import torch

    from latentseek_agents import load_model
    from latentseek_agents.models import _registry
    from latentseek_agents.prompts import build_messages, render_prompt

    batches = [int(b) for b in args.batches.split(",")]
    bandwidth, flops, int8_ops = copy_bandwidth(), gemm_flops(), int8_gemm_ops()
    print(f"machine: {torch.get_num_threads()} threads, copy bandwidth {bandwidth / 1e9:.1f} GB/s, fp32 GEMM "
          f"{flops / 1e9:.0f} GFLOP/s, int8 dynamic-quantized Linear {int8_ops / 1e9:.0f} GOP/s", flush=True)
    summary = {}
    for mode in args.modes.split(","):
        lm = load_model(args.model, device="cpu", dtype="float32", quantize="int8" if mode == "int8" else None)
        prompts = [render_prompt(lm.tokenizer, build_messages(q)) for q in _questions(max(batches + [args.batch]))]
        params, weight_bytes = _weights(lm, mode)
        ceiling_ops = int8_ops if mode == "int8" else flops
        print(f"\n{lm.name} [{mode}]: {params / 1e9:.2f} B parameters, {weight_bytes / 1e9:.2f} GB read per step, "
              f"prompts {min(map(len, prompts))}-{max(map(len, prompts))} tokens, {args.tokens} new tokens per row",
              flush=True)
        rates = _decode_rates(lm, prompts, batches, args.tokens, args.repeats, hf=not args.no_hf)
        print(f"{'batch':>5s} {'path':22s} {'tok/s':>7s} {'vs b1':>6s} {'of bandwidth ceiling':>21s} "
              f"{'of GEMM ceiling':>16s}")
        for path, by_batch in rates.items():
            for b, rate in by_batch.items():
                memory_ceiling = b * bandwidth / weight_bytes
                compute_ceiling = ceiling_ops / (2 * params)
                print(f"{b:5d} {path:22s} {rate:7.1f} {rate / by_batch[batches[0]]:5.1f}x "
                      f"{rate / memory_ceiling:20.0%} {rate / compute_ceiling:16.0%}", flush=True)
        count, update = _update_seconds(lm, prompts[0], 64, args.repeats)
        print(f"latent update (Adam step through the LM head, {count} latents): {update * 1000:.0f} ms, "
              f"= {update * rates['engine loop'][batches[0]]:.2f} decoded tokens at batch {batches[0]}")
        plain, grouped = _grouping(lm, prompts[: 2 * args.batch], args.batch, args.tokens)
        print(f"{2 * args.batch} prompts in batches of {args.batch}: file order {plain:.1f} s, grouped by prompt "
              f"length {grouped:.1f} s ({plain / grouped:.2f}x)")
        summary[mode] = rates["engine loop"]
        del lm
        _registry.clear()
        gc.collect()  # the two workers below each load their own copy: free this one first
        if not args.no_workers:
            one = rates["engine loop"].get(args.batch)
            two = _two_workers(args.model, mode, args.batch, args.tokens)
            if one is not None:
                print(f"batch {args.batch}: one process x {torch.get_num_threads()} threads {one:.1f} tok/s, two "
                      f"single-thread workers {two:.1f} tok/s in aggregate ({two / one:.2f}x)", flush=True)
    if {"float32", "int8"} <= summary.keys():
        print("\nint8 / float32, engine loop: " + ", ".join(
            f"batch {b} {summary['int8'][b] / summary['float32'][b]:.2f}x" for b in batches))
    return 0


if __name__ == "__main__":
    sys.exit(main())
