"""Running a sweep's jobs on a Dask cluster (``harness run --backend dask --scheduler tcp://HOST:PORT``).

Only the execution moves: the client plans the jobs, submits them to the scheduler and persists every
result that comes back exactly as a local run does (journal, failed rows, resume, the same parquet), so a
run can be started on a cluster, interrupted, and finished locally or the other way round.

- Each job is one task whose key is derived from the job's key and every other field of the job, so
  identical jobs share a task and two runs with different metrics never do.
- Jobs are submitted in a window a few times the cluster's thread count, not all at once: with
  ``--ship-images`` every task carries its image's bytes, and a whole CLIC sweep would otherwise sit in the
  scheduler's memory.
- A worker that dies mid-job loses nothing: the scheduler reschedules its tasks on other workers, and the
  client persists each task's result once, whichever worker produced it. A job that kills every worker
  it runs on (more than the scheduler's ``allowed-failures``, default 3) becomes a failed row.
- Workers keep the module-level caches of :mod:`harness.run.worker`, :mod:`harness.core.images` and
  :mod:`harness.metrics` (codec objects, decoded originals, metric networks, reference-side features) for
  their whole life, so they are loaded once per worker process, not once per job.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

from harness.core.errors import one_line
from harness.run.executors import Executor
from harness.run.jobs import EncodeJob, Job, JobResult, failed_result
from harness.run.worker import execute_job

# Dask settings for the scheduler's and the workers' environment (docs/cluster.md). Dask's defaults
# sample every worker's stack every 10 ms and check event loops every 20 ms: ~6% of a core per idle worker
# process with its nanny, measured on 2 loaded cores; with these, ~0.5%. Jobs of seconds lose nothing by
# coarser housekeeping.
QUIET_DASK_ENV = {
    "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False",
    "DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL": "1s",
    "DASK_DISTRIBUTED__ADMIN__SYSTEM_MONITOR__INTERVAL": "2s",
    "DASK_DISTRIBUTED__WORKER__MEMORY__MONITOR_INTERVAL": "1s",
}

# In-flight tasks per worker thread: enough that no worker waits for the client between two jobs.
WINDOW_PER_THREAD = 2
MIN_WINDOW = 8
_WINDOW_REFRESH_SECONDS = 5.0


class ClusterError(RuntimeError):
    """The cluster cannot be used (unreachable scheduler, lost connection); str() is one line."""


def task_key(job: Job) -> str:
    """The Dask key of a job's task: the job key plus a digest of everything else the result depends on
    (metrics, reconstruction kept, image name and path), so equal keys mean equal results."""
    digest = hashlib.sha256(repr(job).encode()).hexdigest()[:16]
    return f"harness-job-{job.key}-{digest}"


def _check_version(result: JobResult, planned: str | None) -> JobResult:
    # A worker with another build of a codec would file its rows under keys that promise the client's build.
    row = result.row
    found = row.codec_version
    if not result.metrics_only and row.ok and planned is not None and found is not None and found != planned:
        row.status, row.error = "failed", (f"codec version mismatch: the worker has {found!r}, the client "
                                           f"planned with {planned!r}; install the same versions everywhere")
        row.values, row.metric_errors = {}, {}
        result.reconstruction_png = result.bitstream = None
        row.reconstruction = row.bitstream = row.bitstream_sha256 = None
    return result


def _thread_count(client: Any) -> int:
    return sum(client.nthreads().values())


def _stream(client: Any, jobs: Sequence[Job]) -> Iterator[JobResult]:
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    unique: dict[str, Job] = {}
    for job in jobs:  # identical jobs give identical rows: run one
        unique.setdefault(task_key(job), job)
    waiting = iter(unique.items())
    in_flight: dict[str, Job] = {}
    completed = as_completed(loop=client.loop, with_results=True, raise_errors=False)

    threads = _thread_count(client)
    if any(n > 1 for n in client.nthreads().values()):
        warnings.warn("some Dask workers run several threads: start them with --nthreads 1 --nworkers N, "
                      "so every job has a process (and its caches) of its own", stacklevel=2)
    refreshed = time.monotonic()

    def submit_more() -> None:
        nonlocal threads, refreshed
        if time.monotonic() - refreshed > _WINDOW_REFRESH_SECONDS:
            threads, refreshed = _thread_count(client), time.monotonic()
        window = max(MIN_WINDOW, WINDOW_PER_THREAD * threads)
        while len(in_flight) < window:
            item = next(waiting, None)
            if item is None:
                return
            key, job = item
            # pure: the task is a function of the job alone; no retries: execute_job never raises, so an
            # error here is the cluster's (unpicklable job, missing module) and would only repeat.
            future = client.submit(execute_job, job, key=key, pure=True)
            in_flight[key] = job
            completed.add(future)

    submit_more()
    for future, outcome in completed:
        popped = in_flight.pop(future.key) if future.key in in_flight else None
        if popped is None:  # already persisted (cannot happen with one future per key; kept as a guard)
            continue
        job = popped
        status = future.status
        future.release()  # frees the result on the cluster now that the client holds it
        if isinstance(outcome, JobResult):
            # The codec version the client planned with is part of the job's codec identity.
            result = _check_version(outcome, job.codec.version if isinstance(job, EncodeJob) else None)
        elif isinstance(outcome, tuple) and isinstance(outcome[1], BaseException):  # (type, exc, traceback)
            exc = outcome[1]
            if isinstance(exc, KilledWorker):
                result = failed_result(job, f"the job killed every Dask worker it ran on ({one_line(exc, with_type=True)})")
            else:
                result = failed_result(job, f"on the Dask worker: {one_line(exc, with_type=True)}")
        else:  # cancelled: the scheduler forgot the task (restarted, or the connection was lost)
            raise ClusterError(f"lost the task of {job.title} ({status}): the Dask scheduler "
                               f"restarted or became unreachable; run the same command again to resume")
        submit_more()
        yield result


def execute_dask(scheduler: str, connect_timeout: float = 30.0) -> Executor:
    """An executor that runs jobs on the Dask cluster whose scheduler listens at ``scheduler``
    (``tcp://HOST:PORT``). ``n_jobs`` is ignored: the cluster's workers decide the parallelism."""

    def executor(jobs: Sequence[Job], n_jobs: int) -> Iterator[JobResult]:
        if not jobs:
            return
        from distributed import Client

        try:
            client = Client(scheduler, timeout=connect_timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {scheduler}: {one_line(exc, with_type=True)}") from None
        try:
            yield from _stream(client, jobs)
        finally:
            client.close()

    return executor
