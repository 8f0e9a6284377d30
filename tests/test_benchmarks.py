"""The benchmark scripts still run (tiny settings; their figures are printed, never asserted)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_speed_script_runs_on_cpu_with_a_tiny_preset():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_speed.py"), "--preset", "tiny",
                          "--device", "cpu", "--dtype", "float32", "--tokens", "12", "--prompt", "10",
                          "--batches", "1,2", "--repeats", "1"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "ratio iteration / plain generation" in out.stdout and "problems/min" in out.stdout


@pytest.mark.default_model
def test_cpu_decoding_script_runs_on_the_default_model():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "cpu_decoding.py"), "--tokens", "4",
                          "--repeats", "1"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "bandwidth floor" in out.stdout and "engine loop" in out.stdout
