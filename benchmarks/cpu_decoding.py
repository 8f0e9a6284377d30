"""CPU decoding speed: the engine's loop against transformers' generate (dynamic and static cache,
optionally torch.compile), and the memory-bandwidth floor, batch 1, in one run.

The floor: at batch 1 every decoded token reads all weights once, so tokens/s cannot exceed
(memory bandwidth) / (bytes of weights); bandwidth is measured here by copying a large tensor.

    python benchmarks/cpu_decoding.py                    # default model, 64 tokens
    python benchmarks/cpu_decoding.py --compile          # also static cache + torch.compile (compile time printed)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from roofline import copy_bandwidth  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compile", action="store_true", help="also try torch.compile with a static cache")
    args = parser.parse_args(argv)

    import torch

    from latentseek_agents import load_model
    from latentseek_agents.generation import generate
    from latentseek_agents.prompts import build_messages, render_prompt

    lm = load_model(args.model, device="cpu", dtype="float32")
    prompt = render_prompt(lm.tokenizer, build_messages("Natalia sold clips to 48 of her friends in April, and "
                                                        "then she sold half as many clips in May. How many?"))
    ids = torch.tensor([prompt])
    n = args.tokens

    warmups: dict[str, float] = {}

    def rate(fn, name: str = "") -> float:
        start = time.perf_counter()
        fn()  # warm-up (for torch.compile: the compilation)
        warmups[name] = time.perf_counter() - start
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return n / statistics.median(times)

    def hf(**kw):
        return lambda: lm.model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=n, min_new_tokens=n,
                                         do_sample=False, **kw)

    results = {"engine loop (dynamic cache)": rate(lambda: generate(lm, [prompt], n, stop_ids=()))}
    with torch.no_grad():
        results["transformers generate, dynamic cache"] = rate(hf())
        results["transformers generate, static cache"] = rate(hf(cache_implementation="static"))
        if args.compile:
            # Default inductor mode: "reduce-overhead" means CUDA graphs, which a CPU does not have.
            eager = lm.model.forward
            lm.model.forward = torch.compile(eager, dynamic=False)
            name = "transformers generate, static cache + torch.compile"
            results[name] = rate(hf(cache_implementation="static"), name)
            lm.model.forward = eager

    bandwidth = copy_bandwidth()
    weight_bytes = sum(p.numel() * p.element_size() for p in lm.model.parameters())
    floor = bandwidth / weight_bytes

    print(f"{lm.name}, fp32, batch 1, {n} tokens, prompt {len(prompt)} tokens, {torch.get_num_threads()} threads")
    for name, value in results.items():
        print(f"{name:55s} {value:6.1f} tok/s  ({value / floor:.0%} of the floor)")
    print(f"memory bandwidth (tensor copy)                          {bandwidth / 1e9:6.1f} GB/s")
    print(f"weights read per token                                  {weight_bytes / 1e6:6.0f} MB")
    print(f"bandwidth floor                                         {floor:6.1f} tok/s")
    for name, seconds in warmups.items():
        if name:
            print(f"first call (compilation) of {name}: {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
