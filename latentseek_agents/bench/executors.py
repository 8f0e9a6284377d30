"""Where benchmark tasks run: in this process (:func:`local_rows`) or on a pool of Ray actors
(:class:`RayExecutor`), each loading the model once. Both run every task through
:func:`~latentseek_agents.bench.tasks.run_task` and yield its rows; arrows point one way
(runner -> executors -> tasks).

Ray does the retrying: an actor that dies (killed, out of memory) is restarted and its task run
again by Ray (``max_task_retries``); only when Ray gives up are the task's problems recorded as
failed rows (a re-run of the benchmark tries them again). Needs the ``[ray]`` extra for Ray.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..config import LatentSeekConfig
from ..model_spec import ModelSpec, as_model_spec
from ..rewards.base import JUDGE_TOKENS
from .tasks import Task, failed_rows, run_task

__all__ = ["RayExecutor", "local_rows"]

TaskRunner = Callable[[Any, Task, LatentSeekConfig, int, bool], list[dict[str, Any]]]


def local_rows(lm: Any, tasks: Sequence[Task], config: LatentSeekConfig, *, judge_tokens: int = JUDGE_TOKENS,
               allow_code_execution: bool = False) -> Iterator[dict[str, Any]]:
    """Run the tasks one after the other on a loaded model; yield rows as each task finishes."""
    for task in tasks:
        yield from run_task(lm, task, config, judge_tokens, allow_code_execution)


class _Worker:
    """One actor: the model loaded once; tasks run on it with ``runner``."""

    def __init__(self, spec: ModelSpec, threads: int, runner: TaskRunner) -> None:
        import torch

        torch.set_num_threads(max(1, threads))
        if spec.resolved_backend() == "llama_cpp" and spec.n_threads is None:
            spec = spec.replace(n_threads=max(1, threads))
        self.lm = spec.load()
        self.runner = runner

    def run(self, task: Task, config: LatentSeekConfig, judge_tokens: int,
            allow_code_execution: bool) -> list[dict[str, Any]]:
        return self.runner(self.lm, task, config, judge_tokens, allow_code_execution)

    def pid(self) -> int:
        return os.getpid()


class RayExecutor:
    """A pool of Ray actors running benchmark tasks.

    Args:
        model: what each actor loads: a :class:`~latentseek_agents.model_spec.ModelSpec` or a name or
            path (actors can't share an in-memory model).
        num_workers: actors to start (one per GPU when there are enough, else CPU cores split evenly).
        device, dtype, quantize, backend: with a name or path, as for :func:`~latentseek_agents.load_model`.
        max_retries: how many times Ray runs a task again after its actor died.
        runner: the task runner (default :func:`~latentseek_agents.bench.tasks.run_task`; tests pass
            one that fails on purpose).

    Example:
        >>> pool = RayExecutor("default", num_workers=2)             # doctest: +SKIP
        >>> for row in pool.rows(tasks, config): ...                  # doctest: +SKIP
    """

    def __init__(self, model: Any, num_workers: int = 1, *, device: str | None = None, dtype: str | None = None,
                 quantize: str | None = None, backend: str | None = None, max_retries: int = 2,
                 runner: TaskRunner = run_task) -> None:
        try:
            import ray
        except ImportError as exc:
            raise ImportError("the Ray runner needs ray: pip install 'latentseek-agents[ray]'") from exc
        if not isinstance(model, (str, Path, ModelSpec)):
            raise ValueError("the Ray runner needs the model as a name or path or a ModelSpec (each actor loads its "
                             f"own copy); got {type(model).__name__}")
        spec = as_model_spec(str(model) if isinstance(model, Path) else model, device=device, dtype=dtype,
                             quantize=quantize, backend=backend)
        if not isinstance(num_workers, int) or isinstance(num_workers, bool) or num_workers < 1:
            raise ValueError(f"num_workers must be an integer >= 1, got {num_workers!r}")
        if not ray.is_initialized():
            ray.init(include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
        resources = ray.cluster_resources()
        cpus = max(1, int(resources.get("CPU", 1)) // num_workers)
        options: dict[str, Any] = {"num_cpus": cpus, "max_restarts": -1, "max_task_retries": max_retries}
        if int(resources.get("GPU", 0)) >= num_workers:
            options["num_gpus"] = 1
        self.actors = [ray.remote(_Worker).options(**options).remote(spec, cpus, runner)
                       for _ in range(num_workers)]
        self.max_retries = max_retries
        self.failed = 0

    def rows(self, tasks: Sequence[Task], config: LatentSeekConfig, *, judge_tokens: int = JUDGE_TOKENS,
             allow_code_execution: bool = False) -> Iterator[dict[str, Any]]:
        """Run every task; yield rows as tasks finish, in any order."""
        import ray

        queue = list(tasks)
        running: dict[Any, tuple[Task, int]] = {}
        idle = list(range(len(self.actors)))
        while queue or running:
            while queue and idle:
                task, slot = queue.pop(0), idle.pop(0)
                call = self.actors[slot].run.remote  # type: ignore[attr-defined]  # a Ray actor handle
                running[call(task, config, judge_tokens, allow_code_execution)] = (task, slot)
            done, _ = ray.wait(list(running), num_returns=1)
            task, slot = running.pop(done[0])
            idle.append(slot)
            try:
                yield from ray.get(done[0])
            except ray.exceptions.RayActorError as exc:  # Ray retried max_retries times, then gave up
                self.failed += len(task.problems)
                yield from failed_rows(task, f"worker died {self.max_retries + 1} times: {type(exc).__name__}")

    def close(self) -> None:
        """Stop the actors."""
        import ray

        for actor in self.actors:
            ray.kill(actor)  # type: ignore[arg-type]
