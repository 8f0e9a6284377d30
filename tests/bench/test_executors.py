"""The Ray executor: local Ray (2 CPUs), a tiny model saved to disk, the benchmark harness on top.
Faults are injected by the tests (a task runner that kills its worker), not by production code."""

import os
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from latentseek_agents import LatentSeekConfig  # noqa: E402
from latentseek_agents.bench import read_rows, run_bench  # noqa: E402
from latentseek_agents.bench.executors import RayExecutor  # noqa: E402
from latentseek_agents.bench.tasks import run_task  # noqa: E402

from .test_harness import GSM8K  # noqa: E402

CONFIG = LatentSeekConfig(max_iters=1, max_new_tokens=10, lr=0.3)
SAME = ("id", "method", "reward", "correct", "attempts", "tokens", "scores", "answer")


def dies_on(problem_id, marker_dir, always=False):
    """A task runner whose worker process exits (as an OOM-killed one would: no clean-up, no reply)
    the first time (or every time) it is given ``problem_id``."""
    def runner(lm, task, *args):
        marker = Path(marker_dir) / f"died-on-{problem_id}"
        if any(p.id == problem_id for p in task.problems) and (always or not marker.exists()):
            marker.touch()
            os._exit(17)
        return run_task(lm, task, *args)
    return runner


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


def test_a_killed_worker_loses_nothing_ray_runs_its_task_again(local_ray, model_dir, tmp_path):
    executor = RayExecutor(model_dir, 2, runner=dies_on("2", tmp_path))
    report = bench(model_dir, tmp_path / "rows.jsonl", executor=executor)
    rows = read_rows(tmp_path / "rows.jsonl")
    assert sorted((r["id"], r["method"]) for r in rows) == sorted((i, m) for i in "0123" for m in ("cot", "latentseek"))
    assert not any(r["failed"] for r in rows) and not report.notes
    assert (tmp_path / "died-on-2").exists()  # the worker really died once


def test_a_task_that_always_kills_its_worker_is_recorded_as_failed_then_retried(local_ray, model_dir, tmp_path):
    out = tmp_path / "rows.jsonl"
    report = bench(model_dir, out, methods=["cot"], executor=RayExecutor(model_dir, 2, max_retries=1,
                                                                       runner=dies_on("1", tmp_path, always=True)))
    failed = [r for r in read_rows(out) if r["failed"]]
    assert [r["id"] for r in failed] == ["1"] and "worker died 2 times" in failed[0]["error"]
    assert "1 row(s) failed" in str(report)
    bench(model_dir, out, methods=["cot"], ray_workers=2)  # the re-run tries the failed row again
    rows = read_rows(out)
    assert [r["id"] for r in rows if not r["failed"]].count("1") == 1 and len(rows) == 5


def test_resume_skips_finished_rows(local_ray, model_dir, tmp_path):
    out = tmp_path / "rows.jsonl"
    bench(model_dir, out, ray_workers=2, methods=["cot"], limit=2)
    bench(model_dir, out, ray_workers=2, methods=["cot"], limit=3)
    assert sorted(r["id"] for r in read_rows(out)) == ["0", "1", "2"]


def test_the_model_must_be_given_by_name(local_ray):
    with pytest.raises(ValueError, match="name or path"):
        RayExecutor(object())
    with pytest.raises(ValueError, match="num_workers must be an integer >= 1"):
        RayExecutor("default", 0)
