"""This machine's ceilings, measured in the run that uses them: memory copy bandwidth and GEMM
throughput (float32, and int8 through dynamically quantized Linear layers)."""

from __future__ import annotations

import time

__all__ = ["copy_bandwidth", "gemm_flops", "int8_gemm_ops"]


def _best(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def copy_bandwidth(megabytes: int = 256, repeats: int = 5) -> float:
    """Bytes/s moved by copying a large float32 tensor (read + write counted)."""
    import torch

    big = torch.empty(megabytes * 2**20 // 4, dtype=torch.float32).uniform_()
    out = torch.empty_like(big)
    return 2 * big.numel() * 4 / _best(lambda: out.copy_(big), repeats)


def gemm_flops(m: int = 512, k: int = 1536, n: int = 8960, repeats: int = 5) -> float:
    """Float32 FLOP/s of an [m, k] x [k, n] matrix product (shaped like a 1.5B model's MLP)."""
    import torch

    a, b = torch.randn(m, k), torch.randn(k, n)
    return 2 * m * k * n / _best(lambda: a @ b, repeats)


def int8_gemm_ops(m: int = 512, k: int = 1536, n: int = 8960, repeats: int = 5) -> float:
    """Multiply-adds x 2 per second of a dynamically quantized int8 Linear on an [m, k] input."""
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch.ao.nn.quantized.dynamic import Linear

        layer = Linear(k, n, bias_=False, dtype=torch.qint8)
    x = torch.randn(m, k)
    with torch.no_grad():
        return 2 * m * k * n / _best(lambda: layer(x), repeats)
