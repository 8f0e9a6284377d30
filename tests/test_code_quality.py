"""The package passes its linter (ruff, configured in pyproject.toml); its doctests run with every
``python3 -m pytest`` (``--doctest-modules`` over the package folders, see pyproject.toml)."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_package_passes_ruff():
    ruff = shutil.which("ruff")
    command = [ruff] if ruff else [sys.executable, "-m", "ruff"]
    out = subprocess.run([*command, "check", "latentseek_agents", "rewards", "integrations"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-1000:]
