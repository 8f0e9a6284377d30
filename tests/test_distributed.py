"""The Ray runner: local Ray (2 CPUs), a tiny model saved to disk, the benchmark harness on top."""

import pytest

ray = pytest.importorskip("ray")

from latentseek_agents import LatentSeekConfig  # noqa: E402
from latentseek_agents.bench import read_rows, run_bench  # noqa: E402
from latentseek_agents.distributed import FAULT_DIR_ENV, FAULT_ENV, RayPool  # noqa: E402

from .bench.test_harness import GSM8K  # noqa: E402

CONFIG = LatentSeekConfig(max_iters=1, max_new_tokens=10, lr=0.3)
SAME = ("id", "method", "reward", "correct", "attempts", "tokens", "scores", "answer")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def model_dir(tiny_model_dir):
    return tiny_model_dir


def bench(model_dir, out, **kwargs):
    settings = dict(limit=4, methods=["cot", "latentseek"], rewards=["oracle"], model=model_dir, config=CONFIG,
                    out=out, progress=False, batch_size=1)
    return run_bench(GSM8K, **{**settings, **kwargs})


def comparable(rows):
    return sorted(tuple(str(r[k]) for k in SAME) for r in rows)


def test_two_workers_give_the_single_process_rows(local_ray, model_dir, tmp_path):
    bench(model_dir, tmp_path / "local.jsonl")
    bench(model_dir, tmp_path / "ray.jsonl", ray_workers=2)
    assert comparable(read_rows(tmp_path / "ray.jsonl")) == comparable(read_rows(tmp_path / "local.jsonl"))
    assert len(read_rows(tmp_path / "ray.jsonl")) == 8


def test_a_killed_worker_loses_nothing(local_ray, model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv(FAULT_ENV, "2")
    monkeypatch.setenv(FAULT_DIR_ENV, str(tmp_path))
    ray.shutdown()  # actors inherit the environment of a fresh local cluster
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {FAULT_ENV: "2", FAULT_DIR_ENV: str(tmp_path)}})
    bench(model_dir, tmp_path / "rows.jsonl", ray_workers=2)
    rows = read_rows(tmp_path / "rows.jsonl")
    assert sorted((r["id"], r["method"]) for r in rows) == sorted((i, m) for i in "0123" for m in ("cot", "latentseek"))
    assert not any(r.get("failed") for r in rows)
    assert (tmp_path / "latentseek-fault-2").exists()  # the worker really died once


def test_a_batch_that_always_kills_its_worker_is_recorded_as_failed_then_retried(local_ray, model_dir, tmp_path):
    ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {FAULT_ENV: "1!", FAULT_DIR_ENV: str(tmp_path)}})
    out = tmp_path / "rows.jsonl"
    bench(model_dir, out, ray_workers=2, methods=["cot"])
    failed = [r for r in read_rows(out) if r.get("failed")]
    assert [r["id"] for r in failed] == ["1"] and "worker died 3 times" in failed[0]["error"]
    ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    bench(model_dir, out, ray_workers=2, methods=["cot"])  # the re-run tries the failed row again
    rows = read_rows(out)
    assert [r["id"] for r in rows if not r.get("failed")].count("1") == 1 and len(rows) == 5


def test_resume_skips_finished_rows(local_ray, model_dir, tmp_path):
    out = tmp_path / "rows.jsonl"
    bench(model_dir, out, ray_workers=2, methods=["cot"], limit=2)
    bench(model_dir, out, ray_workers=2, methods=["cot"], limit=3)
    assert sorted(r["id"] for r in read_rows(out)) == ["0", "1", "2"]


def test_the_pool_needs_a_model_name_or_path(local_ray, tiny_lm):
    with pytest.raises(ValueError, match="needs the model as a name or path"):
        RayPool(tiny_lm, 1)
