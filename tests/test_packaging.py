"""Packaging: the public names, a light top-level import, and rewards/integrations mapped under
latentseek_agents (never top-level import names) in a built wheel."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import latentseek_agents
import latentseek_agents.rewards as rewards

ROOT = Path(__file__).resolve().parents[1]


def test_public_names_are_pinned():
    assert sorted(latentseek_agents.__all__) == [
        "Attempt", "BestOfN", "CheckResult", "Checker", "LatentSeek", "LatentSeekConfig", "LoadedModel",
        "ModelNotFoundError", "ModelSpec", "SearchEvent", "SeekResult", "SelfConsistency", "load_model",
    ]
    for name in latentseek_agents.__all__:
        assert getattr(latentseek_agents, name) is not None
    assert {"MathAnswer", "SelfJudge", "CheckResult", "BaseChecker"} <= set(rewards.__all__)
    assert rewards.CheckResult is latentseek_agents.CheckResult


def test_integration_public_names_are_pinned():
    from latentseek_agents.integrations import dspy as dspy_integration
    from latentseek_agents.integrations import langchain as langchain_integration

    assert sorted(langchain_integration.__all__) == [
        "ChatLatentSeek", "ITERATION_EVENT", "LatentSeekRunnable", "LatentSeekSettings", "LatentSeekTool",
        "LatentSeekToolInput"]
    assert sorted(dspy_integration.__all__) == [
        "AsyncLatentSeekEngine", "LatentSeekEngine", "LatentSeekJob", "LatentSeekModule", "current_job",
        "latentseek_lm"]
    from latentseek_agents.integrations import serve as serve_integration

    assert sorted(serve_integration.__all__) == [
        "APIError", "LatentSeekService", "SELF_REWARD", "ServeLimits", "ServeOptions", "build_app", "create_app", "latentseek_app"]
    for module in (langchain_integration, dspy_integration, serve_integration):
        assert all(getattr(module, name) is not None for name in module.__all__)


def test_importing_the_package_does_not_import_torch_or_transformers():
    code = ("import sys, latentseek_agents, latentseek_agents.rewards, latentseek_agents.integrations, "
            "latentseek_agents.bench, latentseek_agents.cli, latentseek_agents.bench.executors, "
            "latentseek_agents.integrations.serve; "
            "print(sorted(m for m in ('torch', 'transformers', 'math_verify') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out), str(ROOT)], check=True, capture_output=True)
    return next(out.glob("latentseek_agents-*.whl"))


def test_the_wheel_maps_rewards_and_integrations_under_the_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "latentseek_agents/rewards/__init__.py" in names
    assert "latentseek_agents/integrations/__init__.py" in names
    assert "latentseek_agents/integrations/langchain/chat_model.py" in names
    assert "latentseek_agents/integrations/dspy/engine.py" in names
    assert "latentseek_agents/integrations/serve/app.py" in names
    assert "latentseek_agents/rewards/_sandbox_runner.py" in names
    assert "latentseek_agents/bench/runner.py" in names
    assert "latentseek_agents/py.typed" in names
    assert not any(n.startswith(("rewards/", "integrations/", "tests/")) for n in names)


def test_import_rewards_fails_from_an_installed_wheel(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                    str(wheel)], check=True, capture_output=True)
    code = (f"import sys; sys.path.insert(0, {str(target)!r}); "
            "import latentseek_agents.rewards as r; assert r.__file__.startswith(sys.path[0]); "
            "import importlib.util; print(importlib.util.find_spec('rewards'), "
            "importlib.util.find_spec('integrations'))")
    # -S: no site-packages (so no editable-install finder); run outside the repository.
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "None None"
