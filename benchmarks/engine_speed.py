"""Engine speed: one LatentSeek iteration vs one plain greedy generation of the same length.

Prints, from one run on one model:
  * plain greedy generation of N tokens (prompt encoding included, as a user pays it);
  * one LatentSeek iteration producing N tokens (latent update + prefix chunk + continuation
    from the reused prompt cache), split into update and generation;
  * the same iteration re-encoding the prompt instead of reusing its cache;
and the ratios between them. EOS is ignored so every variant generates exactly N tokens.

Usage:
    python benchmarks/engine_speed.py                       # default model, N=128, 3 repeats
    python benchmarks/engine_speed.py --tokens 64 --repeats 2 --few-shot 8
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def gsm8k_rows(n: int) -> list[dict]:
    with open(ROOT / "data" / "gsm8k" / "train_sample.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for _, line in zip(range(n), f)]


def build_question(few_shot: int) -> str:
    rows = gsm8k_rows(few_shot + 1)
    shots = "".join(f"Question: {r['question']}\nAnswer: {r['answer']}\n\n" for r in rows[1:])
    return shots + f"Question: {rows[0]['question']}"


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--quantize", choices=("int8",), help="int8: dynamically quantized body (CPU)")
    parser.add_argument("--tokens", type=int, default=128, help="N, tokens per generation")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--few-shot", type=int, default=0, help="GSM8K train examples in the prompt")
    parser.add_argument("--fraction", type=float, default=0.2)
    parser.add_argument("--lr", type=float, default=0.03)
    args = parser.parse_args(argv)

    import torch

    from latentseek_agents import LatentSeekConfig, load_model
    from latentseek_agents.generation import continue_decoding, generate, prefill
    from latentseek_agents.latents import LatentOptimizer, num_latents
    from latentseek_agents.prompts import build_messages, render_prompt

    lm = load_model(args.model, device=args.device, dtype=args.dtype, quantize=args.quantize)
    prompt = render_prompt(lm.tokenizer, build_messages(build_question(args.few_shot)))
    n = args.tokens
    config = LatentSeekConfig(lr=args.lr, fraction=args.fraction)
    never = ()
    print(f"model {lm.name} on {lm.device} ({lm.dtype}), torch threads {torch.get_num_threads()}, "
          f"prompt {len(prompt)} tokens, N = {n} tokens, {args.repeats} repeats", flush=True)

    first = generate(lm, [prompt], n, capture_hidden=n, stop_ids=never)[0]  # warm-up + latents
    latents = num_latents(len(first.tokens), config.fraction, config.max_latents)
    cached = prefill(lm, [prompt])
    rows = {"plain": [], "update": [], "iter_gen": [], "iter_total": [], "reencode_total": []}
    for _ in range(args.repeats):
        t_plain, _ = timed(lambda: generate(lm, [prompt], n, stop_ids=never))
        optimizer = LatentOptimizer(lm, [first.hidden[:latents]], config)
        t_update, prefixes = timed(lambda: optimizer.step({0: -1.0}))
        t_gen, gen = timed(lambda: continue_decoding(lm, cached, [0], n - latents, prefixes=[prefixes[0]],
                                                   stop_ids=never))
        assert latents + len(gen[0].tokens) == n
        t_reencode, _ = timed(lambda: continue_decoding(lm, prefill(lm, [prompt]), [0], n - latents,
                                                      prefixes=[prefixes[0]], stop_ids=never))
        rows["plain"].append(t_plain)
        rows["update"].append(t_update)
        rows["iter_gen"].append(t_gen)
        rows["iter_total"].append(t_update + t_gen)
        rows["reencode_total"].append(t_update + t_reencode)
    med = {k: statistics.median(v) for k, v in rows.items()}
    print(f"\nlatents optimized: L = {latents} of {n} positions")
    print(f"{'what':52s} {'median s':>9s}")
    print(f"{'plain greedy generation of N tokens (with prefill)':52s} {med['plain']:9.3f}")
    print(f"{'LatentSeek iteration: latent update':52s} {med['update']:9.3f}")
    print(f"{'LatentSeek iteration: prefix chunk + continuation':52s} {med['iter_gen']:9.3f}")
    print(f"{'LatentSeek iteration total (prompt cache reused)':52s} {med['iter_total']:9.3f}")
    print(f"{'LatentSeek iteration total (prompt re-encoded)':52s} {med['reencode_total']:9.3f}")
    print(f"\nratio iteration / plain generation          : {med['iter_total'] / med['plain']:.3f}")
    print(f"update share of the iteration              : {med['update'] / med['iter_total']:.1%}")
    print(f"speed-up of prompt-cache reuse (re-encode / reuse): {med['reencode_total'] / med['iter_total']:.3f}")
    print(f"plain decoding speed                        : {n / med['plain']:.1f} tok/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
