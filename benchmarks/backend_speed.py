"""Backend speed: llama.cpp against torch float32 on the same GGUF file, same token ids, same run.

Prints, from one process (both backends use ``--threads`` threads):
  * load time of each backend (torch: its cached float32 copy; the first conversion is not timed);
  * batch-1 generation of N tokens including the prompt, and decode only (prompt cached), both backends;
  * llama.cpp batch B aggregate decode speed for each ``--batches`` value;
  * one LatentSeek iteration on llama.cpp (latent update + prefix + continuation to N tokens) against a
    plain generation of N tokens;
and, as its last line, ``batch-1 decode: llama_cpp X tok/s, torch float32 Y tok/s, ratio R``. EOS is
ignored so that every variant decodes exactly N tokens.

Usage:
    python benchmarks/backend_speed.py --model default
    python benchmarks/backend_speed.py --model models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine_speed import build_question, timed  # noqa: E402  (the same GSM8K prompt as the engine benchmark)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="'default' or a .gguf file")
    parser.add_argument("--tokens", type=int, default=64, help="N, tokens per generation")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="threads of each backend")
    parser.add_argument("--batches", default="8,16", help="llama.cpp batch sizes for the aggregate speed")
    parser.add_argument("--few-shot", type=int, default=0, help="GSM8K train examples in the prompt")
    parser.add_argument("--skip-torch", action="store_true", help="llama.cpp figures only (no ratio line)")
    args = parser.parse_args(argv)

    import torch
    import transformers  # noqa: F401  (imported before the timed loads: a load is not an import)

    from latentseek_agents import LatentSeekConfig, load_model
    from latentseek_agents.generation import continue_decoding, generate, prefill
    from latentseek_agents.latents import LatentOptimizer, num_latents
    from latentseek_agents.prompts import build_messages, render_prompt

    torch.set_num_threads(args.threads)
    n, never = args.tokens, ()
    t_load_llama, llama = timed(lambda: load_model(args.model, backend="llama_cpp", n_threads=args.threads))
    prompt = render_prompt(llama.tokenizer, build_messages(build_question(args.few_shot)))
    print(f"model {llama.name}, prompt {len(prompt)} tokens, N = {n}, {args.threads} thread(s) each, "
          f"{args.repeats} repeats", flush=True)

    def speeds(lm: object) -> tuple[float, float]:
        """Median tok/s of N tokens with the prompt, and of N tokens decoded after a cached prompt."""
        generate(lm, [prompt], 4, stop_ids=never)  # warm-up
        whole, decode = [], []
        for _ in range(args.repeats):
            whole.append(timed(lambda: generate(lm, [prompt], n, stop_ids=never))[0])
            cached = prefill(lm, [prompt], room=n)
            decode.append(timed(lambda: continue_decoding(lm, cached, [0], n, stop_ids=never))[0])
        return n / statistics.median(whole), n / statistics.median(decode)

    rows = [("load (s)", f"{t_load_llama:.2f}")]
    whole, decode = speeds(llama)
    rows += [("batch 1, N tokens incl. prefill (tok/s)", f"{whole:.2f}"),
             ("batch 1, decode only (tok/s)", f"{decode:.2f}")]
    for size in [int(b) for b in args.batches.split(",") if b.strip()]:
        cached = prefill(llama, [prompt] * size, room=n)
        seconds = statistics.median(timed(lambda: continue_decoding(llama, cached, range(size), n,
                                                                    stop_ids=never))[0]
                                    for _ in range(args.repeats))
        rows.append((f"batch {size} decode aggregate (tok/s)", f"{size * n / seconds:.2f}"))

    config = LatentSeekConfig()
    first = generate(llama, [prompt], n, capture_hidden=n, stop_ids=never)[0]
    latents = num_latents(len(first.tokens), config.fraction, config.max_latents)
    llama.lm_head_fp32()  # dequantized once per process; not part of an iteration
    cached = prefill(llama, [prompt], room=n)
    plain, iteration, update = [], [], []
    for _ in range(args.repeats):
        plain.append(timed(lambda: generate(llama, [prompt], n, stop_ids=never))[0])
        optimizer = LatentOptimizer(llama, [first.hidden[:latents]], config)
        t_update, prefixes = timed(lambda: optimizer.step({0: -1.0}))
        t_gen, _ = timed(lambda: continue_decoding(llama, cached, [0], n - latents, prefixes=[prefixes[0]],
                                                   stop_ids=never))
        iteration.append(t_update + t_gen)
        update.append(t_update)
    rows += [(f"LatentSeek iteration, {latents} latents (s)", f"{statistics.median(iteration):.3f}"),
             ("  of which the latent update (s)", f"{statistics.median(update):.3f}"),
             ("plain generation of N tokens (s)", f"{statistics.median(plain):.3f}"),
             ("iteration / plain generation", f"{statistics.median(iteration) / statistics.median(plain):.3f}")]
    print("\nllama.cpp")
    for what, value in rows:
        print(f"  {what:44s} {value:>10s}")
    if args.skip_torch:
        return 0

    from latentseek_agents.gguf_models import gguf_to_safetensors

    gguf_to_safetensors(llama.path)  # the first conversion (minutes on a 1.5B) is not part of a load
    t_load_torch, lm = timed(lambda: load_model(args.model, backend="torch", device="cpu"))
    torch_whole, torch_decode = speeds(lm)
    print("\ntorch float32")
    print(f"  {'load (s, cached float32 copy)':44s} {t_load_torch:>10.2f}")
    print(f"  {'batch 1, N tokens incl. prefill (tok/s)':44s} {torch_whole:>10.2f}")
    print(f"  {'batch 1, decode only (tok/s)':44s} {torch_decode:>10.2f}")
    print(f"\nbatch-1 incl. prefill: llama_cpp {whole:.2f} tok/s, torch float32 {torch_whole:.2f} tok/s, "
          f"ratio {whole / torch_whole:.2f}")
    print(f"batch-1 decode: llama_cpp {decode:.2f} tok/s, torch float32 {torch_decode:.2f} tok/s, "
          f"ratio {decode / torch_decode:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
