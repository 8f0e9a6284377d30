"""Scale the benchmark out on Ray: a pool of actors, each loading the model once, solving batches.

``run_bench(..., ray_workers=N)`` (``latentseek bench ... --ray --num-workers N``) sends batches of
problems to N actors (one per GPU when there are GPUs, else one per group of CPU cores) and
streams rows back in any order to the same resumable JSONL. An actor that dies (killed, out of
memory) is restarted by Ray; its unfinished batch is re-submitted, at most ``max_retries`` times,
then recorded as failed rows with the error (a re-run tries failed rows again). Finished rows are
written once, as they arrive, so nothing finished is lost or duplicated.

Needs the ``[ray]`` extra (``pip install 'latentseek-agents[ray]'``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .config import LatentSeekConfig

__all__ = ["RayPool", "failed_rows", "FAULT_ENV"]

# Fault injection for tests: a worker exits the first time it is given a batch holding one of these
# problem ids (comma-separated). A marker file per id (in FAULT_DIR) makes it happen once per id
# unless the id ends with "!" (then it happens every time).
FAULT_ENV = "LATENTSEEK_RAY_FAULT_IDS"
FAULT_DIR_ENV = "LATENTSEEK_RAY_FAULT_DIR"


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ImportError("the Ray runner needs ray: pip install 'latentseek-agents[ray]'") from exc
    return ray


def _maybe_fault(ids: Sequence[str]) -> None:
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    folder = Path(os.environ.get(FAULT_DIR_ENV, "/tmp"))
    for item in (s.strip() for s in spec.split(",") if s.strip()):
        always = item.endswith("!")
        fault_id = item.rstrip("!")
        if fault_id in ids:
            marker = folder / f"latentseek-fault-{fault_id}"
            if always or not marker.exists():
                marker.touch()
                os._exit(17)  # die like an OOM-killed process would: no clean-up, no reply


class _Worker:
    """One actor: the model loaded once; batches of (method, reward, problems) solved on it."""

    def __init__(self, model: Any, device: str, dtype: str, threads: int, quantize: str | None = None) -> None:
        import torch

        from .models import load_model

        torch.set_num_threads(max(1, threads))
        self.lm = load_model(model, device=device, dtype=dtype, quantize=quantize)

    def run(self, method: str, reward_name: str, problems: list[Any], config: LatentSeekConfig,
            judge_tokens: int, allow_code_execution: bool) -> list[dict[str, Any]]:
        from .bench.methods import run_method
        from .bench.runner import gold_checker, make_reward, make_row

        _maybe_fault([p.id for p in problems])
        gold = gold_checker(problems[0].kind, allow_code_execution)
        reward = make_reward(reward_name, self.lm, gold, judge_tokens)
        runs = run_method(method, self.lm, problems, reward, gold, config)
        return [make_row(p, method, reward_name, run, config) for p, run in zip(problems, runs)]

    def pid(self) -> int:
        return os.getpid()


def failed_rows(method: str, reward: str, problems: Sequence[Any], error: str) -> list[dict[str, Any]]:
    """Rows recording that these problems could not be solved (counted as wrong; retried on re-run)."""
    return [{"id": p.id, "method": method, "reward": reward, "correct": False, "first_correct": False,
             "failed": True, "error": error, "answer": None, "gold": p.gold if p.kind == "math" else p.id,
             "attempts": 0, "chosen": 0, "tokens": 0, "generate_s": 0.0, "update_s": 0.0, "reward_s": 0.0,
             "scores": [], "correct_each": [], "correct_at": [False], "errors": [error]} for p in problems]


class RayPool:
    """A pool of LatentSeek actors.

    Args:
        model: what each actor loads (a name or path: actors can't share an in-memory model).
        num_workers: actors to start.
        device, dtype, quantize: as for :func:`~latentseek_agents.load_model` ("auto" = cuda when the
            actor has a GPU).
        max_retries: re-submissions of a batch whose actor died.

    Example:
        >>> pool = RayPool("default", num_workers=2)                  # doctest: +SKIP
        >>> for row in pool.rows(tasks, config): ...                  # doctest: +SKIP
    """

    def __init__(self, model: Any, num_workers: int = 1, *, device: str = "auto", dtype: str = "auto",
                 quantize: str | None = None, max_retries: int = 2) -> None:
        ray = _ray()
        if not isinstance(model, (str, Path)):
            raise ValueError("the Ray runner needs the model as a name or path (each actor loads its own copy); "
                             f"got {type(model).__name__}")
        if not isinstance(num_workers, int) or num_workers < 1:
            raise ValueError(f"num_workers must be an integer >= 1, got {num_workers!r}")
        if not ray.is_initialized():
            ray.init(include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        cpus = max(1, int(resources.get("CPU", 1)) // num_workers)
        options: dict[str, Any] = {"num_cpus": cpus, "max_restarts": max_retries + 1, "max_task_retries": 0}
        if gpus >= num_workers:
            options["num_gpus"] = 1
        actor_class = ray.remote(_Worker)
        self.actors = [actor_class.options(**options).remote(str(model), device, dtype, cpus, quantize)
                       for _ in range(num_workers)]
        self.max_retries = max_retries
        self.retries = 0

    def rows(self, tasks: Sequence[tuple[str, str, list[Any]]], config: LatentSeekConfig, *, judge_tokens: int = 128,
             allow_code_execution: bool = False) -> Iterator[dict[str, Any]]:
        """Solve every (method, reward, problems) task; yield rows as batches finish, in any order."""
        ray = _ray()
        queue = [(task, 0) for task in tasks]
        running: dict[Any, tuple[tuple[str, str, list[Any]], int, int]] = {}
        idle = list(range(len(self.actors)))
        while queue or running:
            while queue and idle:
                (method, reward, problems), tries = queue.pop(0)
                slot = idle.pop(0)
                ref = self.actors[slot].run.remote(method, reward, problems, config, judge_tokens,
                                                   allow_code_execution)
                running[ref] = ((method, reward, problems), tries, slot)
            done, _ = ray.wait(list(running), num_returns=1)
            task, tries, slot = running.pop(done[0])
            idle.append(slot)
            try:
                yield from ray.get(done[0])
            except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError) as exc:
                if tries < self.max_retries:
                    self.retries += 1
                    queue.append((task, tries + 1))  # Ray restarts the actor; the batch runs again
                else:
                    method, reward, problems = task
                    yield from failed_rows(method, reward, problems,
                                           f"worker died {tries + 1} times: {type(exc).__name__}")

    def close(self) -> None:
        """Stop the actors."""
        ray = _ray()
        for actor in self.actors:
            ray.kill(actor)
