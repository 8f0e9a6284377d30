"""The package passes its linter (ruff) and its type check (mypy, it ships ``py.typed``), both configured
in pyproject.toml; its doctests run with every ``python3 -m pytest`` (``--doctest-modules`` over the
package folders)."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


PACKAGE = ["latentseek_agents", "rewards", "integrations"]


def run(tool, *args):
    found = shutil.which(tool)
    command = [found] if found else [sys.executable, "-m", tool]
    return subprocess.run([*command, *args, *PACKAGE], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_the_package_passes_ruff():
    out = run("ruff", "check")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-1000:]


def test_the_package_passes_mypy():
    out = run("mypy")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-1000:]
