"""Running jobs locally: in this process, or in a pool of worker processes (the Dask executor is
:mod:`harness.run.cluster`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from harness.core.errors import one_line
from harness.core.process import die_with_parent
from harness.run.jobs import WORKER_DIED, Job, JobResult, failed_result
from harness.run.worker import execute_job

# Runs jobs on ``n_jobs`` workers and yields their results in completion order.
Executor = Callable[[Sequence[Job], int], Iterable[JobResult]]


def execute_local(jobs: Sequence[Job], n_jobs: int,
                  work: Callable[[Job], JobResult] = execute_job) -> Iterator[JobResult]:
    """Worker processes (loky, as joblib uses them); results stream back in completion order.

    A worker that dies (SIGKILL by the out-of-memory killer, a segfault in an in-process codec) takes the
    jobs it was running with it without a word: those jobs are run again one at a time in a fresh worker,
    and the one that kills its worker again becomes a failed row; the run goes on."""
    if n_jobs == 1 or len(jobs) <= 1:
        for job in jobs:
            yield work(job)
        return
    from concurrent.futures import FIRST_COMPLETED, wait

    from joblib.externals.loky import get_reusable_executor
    from joblib.externals.loky.process_executor import BrokenProcessPool

    # Workers die with this process, however it dies (kill -9 included), and their programs with them.
    pool = {"initializer": die_with_parent, "initargs": (os.getpid(),)}
    waiting = list(reversed(jobs))
    suspects: list[Job] = []
    while waiting or suspects:
        if suspects:
            job = suspects.pop()
            try:
                yield get_reusable_executor(max_workers=1, **pool).submit(work, job).result()
            except BrokenProcessPool as exc:
                yield failed_result(job, f"{WORKER_DIED}: {one_line(exc, with_type=True)}")
            continue
        executor = get_reusable_executor(max_workers=n_jobs, **pool)
        in_flight: dict[Any, Job] = {}
        broken = False
        while (waiting or in_flight) and not broken:
            while waiting and len(in_flight) < 2 * n_jobs:
                job = waiting.pop()
                in_flight[executor.submit(work, job)] = job
            done, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
            for future in done:
                try:
                    result = future.result()
                except BrokenProcessPool:
                    broken = True
                    continue
                in_flight.pop(future)
                yield result
        if broken:
            # Which in-flight job killed the worker is unknown: each is tried again on its own.
            suspects.extend(reversed(list(in_flight.values())))
