"""Engine speed on a GPU with a 7B-class model built from its config (random weights, bf16).

No weights or tokenizer are needed (none exist on the lent GPU machine): prompts are random token
ids and EOS is ignored, so every generation has exactly N tokens. Prints, from one run:
  * plain greedy generation of N tokens vs one LatentSeek iteration producing N tokens (ratio);
  * the latent update's time (fp32 through the LM head);
  * batch scaling of a LatentSeek iteration at batch 1, 2, 4, 8, 16 (problems per minute, ratio to batch 1).

    python benchmarks/gpu_speed.py                         # Qwen2.5-7B-Instruct's config, cuda, bf16
    python benchmarks/gpu_speed.py --preset tiny --device cpu --dtype float32 --tokens 16   # smoke test
    python benchmarks/gpu_speed.py --model default --device cpu --dtype float32 --batches 1,2,4,8   # CPU figures
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from types import SimpleNamespace

PRESETS = {
    # Qwen2.5-7B-Instruct's published config.json (architecture numbers only).
    "qwen2.5-7b": dict(model_type="qwen2", vocab_size=152064, hidden_size=3584, intermediate_size=18944,
                       num_hidden_layers=28, num_attention_heads=28, num_key_value_heads=4,
                       max_position_embeddings=32768, rope_theta=1000000.0, rms_norm_eps=1e-6,
                       tie_word_embeddings=False),
    "tiny": dict(model_type="qwen2", vocab_size=1000, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                 tie_word_embeddings=False),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="qwen2.5-7b", choices=sorted(PRESETS))
    parser.add_argument("--model", help="load this model (e.g. 'default') instead of building --preset")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--tokens", type=int, default=256, help="N tokens per generation")
    parser.add_argument("--prompt", type=int, default=150, help="prompt tokens")
    parser.add_argument("--batches", default="1,2,4,8,16")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fraction", type=float, default=0.2)
    args = parser.parse_args(argv)

    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from latentseek_agents import LatentSeekConfig, load_model
    from latentseek_agents.generation import continue_decoding, generate, prefill
    from latentseek_agents.latents import LatentOptimizer, num_latents

    device = torch.device(args.device)
    dtype = getattr(torch, args.dtype)
    start = time.perf_counter()
    if args.model:
        lm = load_model(args.model, device=args.device, dtype=args.dtype)
        model, config = lm.model, lm.model.config
        label = lm.name
    else:
        settings = dict(PRESETS[args.preset])
        config = AutoConfig.for_model(settings.pop("model_type"), **settings)
        with device:
            model = AutoModelForCausalLM.from_config(config, dtype=dtype)
        lm = load_model(model, tokenizer=SimpleNamespace(pad_token_id=0, eos_token_id=None))
        label = args.preset
    params = sum(p.numel() for p in model.parameters()) / 1e9
    print(f"{label}: {params:.2f} B parameters, {lm.dtype}, on {lm.device} "
          f"({torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}), "
          f"built in {time.perf_counter() - start:.1f} s", flush=True)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    def timed(fn):
        sync()
        t0 = time.perf_counter()
        out = fn()
        sync()
        return time.perf_counter() - t0, out

    n, never = args.tokens, ()
    latents = num_latents(n, args.fraction, 300)
    cfg = LatentSeekConfig(fraction=args.fraction)
    gen = torch.Generator().manual_seed(0)

    def prompts(batch: int) -> list[list[int]]:
        return [torch.randint(10, config.vocab_size, (args.prompt,), generator=gen).tolist() for _ in range(batch)]

    def iteration(batch: int) -> tuple[float, float, float]:
        ps = prompts(batch)
        first = generate(lm, ps, n, capture_hidden=latents, stop_ids=never)
        cached = prefill(lm, ps)
        optimizer = LatentOptimizer(lm, [g.hidden[:latents] for g in first], cfg)
        t_update, prefixes = timed(lambda: optimizer.step({i: -1.0 for i in range(batch)}))
        t_gen, _ = timed(lambda: continue_decoding(lm, cached, range(batch), n - latents,
                                                   prefixes=[prefixes[i] for i in range(batch)], stop_ids=never))
        t_plain, _ = timed(lambda: generate(lm, ps, n, stop_ids=never))
        return t_update, t_gen, t_plain

    iteration(1)  # warm-up (kernels, allocator)
    rows = [iteration(1) for _ in range(args.repeats)]
    update = statistics.median(r[0] for r in rows)
    gen_s = statistics.median(r[1] for r in rows)
    plain = statistics.median(r[2] for r in rows)
    print(f"\nN = {n} tokens, L = {latents} optimized positions, prompt {args.prompt} tokens, batch 1")
    print(f"plain greedy generation of N tokens : {plain:8.3f} s ({n / plain:.1f} tok/s)")
    print(f"LatentSeek iteration: update        : {update:8.3f} s")
    print(f"LatentSeek iteration: continuation  : {gen_s:8.3f} s")
    print(f"ratio iteration / plain generation  : {(update + gen_s) / plain:8.3f}")

    print(f"\n{'batch':>5s} {'iteration s':>12s} {'problems/min':>13s} {'ratio to batch 1':>17s}")
    base = None
    for batch in [int(b) for b in args.batches.split(",")]:
        t_update, t_gen, _ = iteration(batch)
        per_min = 60 * batch / (t_update + t_gen)
        base = base or per_min
        print(f"{batch:5d} {t_update + t_gen:12.3f} {per_min:13.1f} {per_min / base:17.2f}")
    if device.type == "cuda":
        print(f"\npeak GPU memory: {torch.cuda.max_memory_allocated(device) / 2**30:.1f} GiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
