"""Where the tasks of ``_bulk`` run: this process, worker processes, or a Ray cluster.

Whatever the engine, results come back in task order, with at most ``2 x workers`` tasks in
flight, so the writer's memory holds a few tasks' results whatever the dataset's size.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Iterator
from typing import Any, Callable

from ._actok import set_num_threads
from ._bulk import Job, Task, run_task
from ._extras import require

_WORKER_JOB: Job | None = None


def _init_worker(job: Job) -> None:
    global _WORKER_JOB
    _WORKER_JOB = job
    if job.threads is not None:
        set_num_threads(job.threads)


def _worker_task(task: Task) -> tuple[Any, list[int], int]:
    assert _WORKER_JOB is not None
    return run_task(_WORKER_JOB, task)


def _ray_task(job: Job, task: Task) -> tuple[Any, list[int], int]:
    if job.threads is not None:
        set_num_threads(job.threads)
    return run_task(job, task)


def execute(
    job: Job,
    tasks: list[Task],
    *,
    engine: str = "local",
    workers: int = 1,
    ray_address: str | None = None,
) -> Iterator[tuple[Task, tuple[Any, list[int], int]]]:
    """Runs the tasks and yields ``(task, result)`` in task order, holding at most a few
    results beyond the one being written."""
    if engine == "ray":
        yield from _execute_ray(job, tasks, workers, ray_address)
    elif workers <= 1:
        for task in tasks:
            yield task, run_task(job, task)
    else:
        import concurrent.futures
        import multiprocessing

        # spawn: a forked child would inherit this process's thread pool mid-state.
        ctx = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(
            workers, mp_context=ctx, initializer=_init_worker, initargs=(job,)
        ) as pool:
            yield from _windowed(tasks, lambda t: pool.submit(_worker_task, t), 2 * workers)


def _windowed(
    tasks: list[Task],
    submit: Callable[[Task], Any],
    window: int,
    get: Callable[[Any], Any] | None = None,
) -> Iterator[tuple[Task, Any]]:
    pending: collections.deque[tuple[Task, Any]] = collections.deque()
    for task in tasks:
        pending.append((task, submit(task)))
        if len(pending) >= window:
            t, fut = pending.popleft()
            yield t, fut.result() if get is None else get(fut)
    while pending:
        t, fut = pending.popleft()
        yield t, fut.result() if get is None else get(fut)


def _execute_ray(
    job: Job, tasks: list[Task], workers: int, address: str | None
) -> Iterator[tuple[Task, Any]]:
    ray = require("ray", extra="ray", needed_for="actok encode --engine ray")
    started = not ray.is_initialized()
    if started:
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "logging_level": "ERROR",
        }
        if address is not None:
            kwargs["address"] = address
        elif workers > 1:
            kwargs["num_cpus"] = workers
        ray.init(**kwargs)
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        # One core per task: the tasks are the parallelism, not the core's thread pool.
        job = job if job.threads is not None else _with_threads(job, 1)
        job_ref = ray.put(job)
        remote = ray.remote(num_cpus=1)(_ray_task)

        def get(ref: Any) -> Any:
            try:
                return ray.get(ref)
            except ray.exceptions.RayTaskError as err:
                # The task's own error (an EncodeError naming the episode), not Ray's wrapper
                # with a remote traceback: the CLI prints it as its one line.
                cause = getattr(err, "cause", None)
                if isinstance(cause, Exception):
                    raise cause from None
                raise

        yield from _windowed(tasks, lambda t: remote.remote(job_ref, t), 2 * cpus, get)
    finally:
        if started:
            ray.shutdown()


def _with_threads(job: Job, threads: int) -> Job:
    return dataclasses.replace(job, threads=threads)
