"""Planning and executing a run: one job per (image, codec, operating point), keyed by content.

A job's key hashes what determines its result: the original's file hash, the codec string, the codec's
version and the operating point (or target bpp). Jobs whose key is already in the run's journal are not
redone, so re-running an interrupted command finishes it and the final table equals that of an
uninterrupted run. Jobs never raise: a failure becomes a failed row with its message.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness import __version__
from harness.codecs import Codec, CodecError, Contender, NoOutput, get_codec
from harness.core.errors import one_line
from harness.core.hashing import sha256_bytes, sha256_file
from harness.core.images import SourceImage, cached_load, decode_image_bytes, encode_png
from harness.datasets import Dataset
from harness.metrics import DEFAULT_METRICS, suite_for
from harness.run.ratecontrol import DEFAULT_RATE_TOLERANCE
from harness.run.rows import Row, job_key
from harness.run.store import RunStore


@dataclass(frozen=True)
class Job:
    key: str
    dataset: str
    image: str
    image_path: str
    image_sha256: str
    codec: str
    point: float | None = None
    target_bpp: float | None = None
    tolerance: float = DEFAULT_RATE_TOLERANCE
    metrics: tuple[str, ...] = DEFAULT_METRICS
    keep_reconstruction: bool = False
    keep_bitstream: bool = True
    requested_point: float | None = None  # the point asked for, when the codec's range changed it
    role: str | None = None  # "search": an encode bracketing a target rate (see Row.role)
    # Set when the workers cannot read the dataset's files (no shared filesystem): the image ships with the job.
    image_bytes: bytes | None = field(default=None, repr=False, compare=False)
    # A metrics-only job: the finished row to complete with ``metrics``, from the run folder ``run_dir``
    # (its kept bitstream or reconstruction); nothing is encoded.
    previous: Row | None = None
    run_dir: str | None = None
    unreadable: str | None = None  # why the original could not be read when the job was planned

    @property
    def reconstruction_path(self) -> str:
        where = f"q{self.point:g}" if self.target_bpp is None else f"bpp{self.target_bpp:g}"
        codec = self.codec.replace(":", "_").replace("/", "_").replace("=", "-")
        return f"reconstructions/{codec}/{self.image}_{where}_{self.key[:8]}.png"


@dataclass
class JobResult:
    row: Row
    reconstruction_png: bytes | None = None
    bitstream: bytes | None = None  # to keep at ``row.bitstream``
    metrics_only: bool = False  # the row was completed from what the run kept, not encoded
    gained: tuple[str, ...] = ()  # metrics that got values in this job
    metric_failed: tuple[str, ...] = ()  # metrics that failed in this job
    no_value: tuple[str, ...] = ()  # metrics that ran but have no value here (MS-SSIM below 161 px, no text)


def _tallied(result: JobResult, outcomes: dict[str, tuple[dict[str, float | None], str | None]]) -> JobResult:
    """``result`` with the metrics of this job sorted into gained, ran without a value, and failed."""
    result.gained = tuple(n for n, (v, e) in outcomes.items() if e is None and any(x is not None for x in v.values()))
    result.no_value = tuple(n for n, (v, e) in outcomes.items() if e is None and all(x is None for x in v.values()))
    result.metric_failed = tuple(n for n, (_, e) in outcomes.items() if e is not None)
    return result


def bitstream_path(sha256: str, extension: str) -> str:
    """Where a run keeps a bitstream: named by its content, so identical streams are stored once."""
    return f"bitstreams/{sha256}{extension if extension.startswith('.') else '.' + extension}"


@functools.cache
def _file_sha256(path: str) -> str:
    return sha256_file(path)


def plan_jobs(
    dataset: Dataset,
    codecs: Sequence[Contender],
    points: Sequence[float] | None = None,
    target_bpps: Sequence[float] | None = None,
    per_image_targets: dict[str, list[float]] | None = None,
    metrics: tuple[str, ...] = DEFAULT_METRICS,
    keep_reconstructions: bool = False,
    tolerance: float = DEFAULT_RATE_TOLERANCE,
    ship_images: bool = False,
    keep_bitstreams: bool = True,
    file_sha256: Callable[[str], str] | None = None,
) -> list[Job]:
    """Jobs ordered image by image, so consecutive jobs reuse a worker's cached original and features.

    ``points`` overrides every codec's default points; ``target_bpps`` asks each codec, per image, for the
    knob value whose bpp is closest to each target; ``per_image_targets`` gives such targets per image
    name (rate matching to a reference codec). ``file_sha256`` hashes an original (default: read it; a
    run passes its folder's cache, :meth:`RunStore.original_sha256`)."""
    file_sha256 = file_sha256 or _file_sha256
    jobs = []
    for ref in dataset.images:
        unreadable = None
        try:
            sha = file_sha256(str(ref.path))
            data = ref.path.read_bytes() if ship_images else None
        except OSError as exc:
            # A file that cannot be read (vanished, permissions, I/O error) gives failed rows, not a
            # traceback: the key holds the name only, so the rows are redone once the file is readable.
            unreadable = f"cannot read {ref.path}: {one_line(exc)}"
            sha, data = f"unreadable:{ref.path}", None
        for codec in codecs:
            label, version = codec.label, codec.version()
            specs: list[tuple[float | None, float | None]]
            # Contenders with fixed per-image points (published reconstructions) have no knob to search:
            # a rate-matched or --target-bpp run evaluates them at the points they have.
            fixed = codec.fixed_points
            if per_image_targets is not None and not fixed:
                specs = [(None, t) for t in per_image_targets.get(ref.name, [])]
            elif target_bpps and not fixed:
                specs = [(None, float(t)) for t in target_bpps]
            else:
                specs = [(float(p), None) for p in (points if points else codec.points_for(ref.name))]
                requested: dict[float, float] = {}
                if points and not fixed:
                    # The codec would clamp the point anyway: key and record the point it really uses,
                    # so two requests that give one encode are one row, not two RD points.
                    for p in points:
                        used = codec.knob.clamp(float(p))
                        if used not in requested or float(p) == used:
                            requested[used] = float(p)
                    specs = [(codec.knob.clamp(p), t) if p is not None else (p, t) for p, t in specs]
                if not specs:
                    # No point for this image (no published reconstruction of it): one job whose failed
                    # row says so, rather than a silent gap in the table.
                    specs = [(None, None)]
            seen: set[str] = set()
            for point, target in specs:
                key = job_key(sha, ref.name, label, version, point, target, tolerance)
                if key in seen:
                    continue
                seen.add(key)
                asked = requested.get(point) if point is not None and target is None else None
                jobs.append(Job(
                    key=key, dataset=dataset.name, image=ref.name, image_path=str(ref.path), image_sha256=sha,
                    codec=label, point=point, target_bpp=target, tolerance=tolerance, metrics=metrics,
                    keep_reconstruction=keep_reconstructions, keep_bitstream=keep_bitstreams,
                    requested_point=asked if asked != point else None, image_bytes=data, unreadable=unreadable,
                ))
    return jobs


# --- execution (in worker processes) ------------------------------------------------------------------

@functools.lru_cache(maxsize=32)
def _codec(spec: str) -> Contender:
    return get_codec(spec)


def _source_image(job: Job) -> SourceImage:
    if job.image_bytes is None:
        return cached_load(job.image_path, job.image)
    pixels, notes = decode_image_bytes(job.image_bytes, job.image_path)
    return SourceImage(job.image, Path(job.image_path), job.image_sha256, pixels, notes)


def new_row(job: Job) -> Row:
    """The row of a job before it runs: what the plan knows."""
    return Row(job_key=job.key, dataset=job.dataset, image=job.image, image_path=job.image_path,
               image_sha256=job.image_sha256, codec=job.codec, point=job.point,
               requested_point=job.requested_point, target_bpp=job.target_bpp, role=job.role)


def execute_job(job: Job) -> JobResult:
    """Run one job to a row. Never raises: a codec failure is the row's status, a metric failure that
    metric's error."""
    if job.previous is not None:
        return complete_metrics(job)
    row = new_row(job)
    png = bitstream = None
    try:
        if job.unreadable:
            raise OSError(job.unreadable)
        codec = _codec(job.codec)
        row.codec_name, row.codec_version, row.knob = codec.name, codec.version(), codec.knob.name
        for name, value in codec.colour.as_columns().items():
            setattr(row, name, value)
        availability = codec.availability()
        if not availability:
            raise RuntimeError(f"codec unavailable: {availability.reason}")
        image = _source_image(job)
        row.width, row.height = image.width, image.height
        point = job.point
        if job.target_bpp is not None:
            from harness.run.ratecontrol import search_point

            if not isinstance(codec, Codec):  # planning never asks this of fixed points; a guard, not a path
                raise CodecError(f"{codec.name} has no knob to search for a target bpp")
            search = search_point(codec, image, job.target_bpp, job.tolerance)
            point = search.point
            row.point, row.search_encodes = point, search.iterations
        outcome = codec.compress(image, point, keep_bitstream=job.keep_bitstream)
        params = {**outcome.params, **({"input_notes": list(image.notes)} if image.notes else {})}
        if job.target_bpp is not None:
            params["rate_search"] = [[p, b] for p, b in search.trials]
        row.file_bytes, row.payload_bytes = outcome.file_bytes, outcome.payload_bytes
        row.bpp, row.bpp_payload, row.rate_source = outcome.bpp, outcome.bpp_payload, outcome.rate_source
        row.encode_seconds, row.decode_seconds = outcome.encode_seconds, outcome.decode_seconds
        row.params = json.dumps(params, sort_keys=True, default=str)
        from harness.run.reconstruct import pixels_sha256

        row.reconstruction_sha256 = pixels_sha256(outcome.reconstruction)
        if outcome.bitstream is not None:
            bitstream = outcome.bitstream
            row.bitstream_sha256 = sha256_bytes(bitstream)
            row.bitstream = bitstream_path(row.bitstream_sha256, codec.extension)
        if job.keep_reconstruction:
            png = encode_png(outcome.reconstruction)
            row.reconstruction = job.reconstruction_path
    except NoOutput as exc:  # nothing to evaluate on this image (never published): a gap, not a failure
        row.status, row.error = "absent", one_line(exc)
        return JobResult(row)
    except Exception as exc:  # noqa: BLE001 - a failing codec is a failed row; the run goes on
        row.status, row.error = "failed", one_line(exc, with_type=True)
        return JobResult(row)
    outcomes = suite_for(job.metrics).evaluate_each(image.sha256, image.pixels, outcome.reconstruction,
                                                    error_gram=outcome.error_gram)
    for name, (values, error) in outcomes.items():
        row.set_metric_outcome(name, values, error)
    return _tallied(JobResult(row, png, bitstream), outcomes)


def complete_metrics(job: Job) -> JobResult:
    """A metrics-only job: compute ``job.metrics`` on the reconstruction of the finished row
    ``job.previous``, decoded again from what the run kept. Never encodes; never raises."""
    from harness.run.reconstruct import reconstruction

    assert job.previous is not None and job.run_dir is not None
    row = replace(job.previous, values=dict(job.previous.values), metric_errors=dict(job.previous.metric_errors))
    try:
        image = _source_image(job)
        if image.sha256 != row.image_sha256:
            raise RuntimeError(f"the original {job.image_path} changed since the row was made (sha256 differs)")
        recon = reconstruction(job.run_dir, row)
    except Exception as exc:  # noqa: BLE001 - the row keeps its codec outcome; these metrics say why they have no value
        message = one_line(exc)
        for name in job.metrics:
            row.set_metric_outcome(name, {}, message)
        return JobResult(row, metrics_only=True, metric_failed=job.metrics)
    outcomes = suite_for(job.metrics).evaluate_each(image.sha256, image.pixels, recon)
    for name, (values, error) in outcomes.items():
        row.set_metric_outcome(name, values, error)
    return _tallied(JobResult(row, metrics_only=True), outcomes)


# --- execution backends -------------------------------------------------------------------------------

WORKER_DIED = ("the worker process died while running this job (killed by the system, e.g. out of memory, "
               "or a crash inside an in-process codec)")


def failed_result(job: Job, error: str) -> JobResult:
    """The result of a job that produced none of its own (its process died, the cluster failed it)."""
    if job.previous is not None:  # a metrics-only job: the codec's row stands, its metrics say why
        row = replace(job.previous, values=dict(job.previous.values),
                      metric_errors=dict(job.previous.metric_errors))
        for name in job.metrics:
            row.set_metric_outcome(name, {}, error)
        return JobResult(row, metrics_only=True, metric_failed=job.metrics)
    row = new_row(job)
    row.status, row.error = "failed", error
    return JobResult(row)


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

    waiting = list(reversed(jobs))
    suspects: list[Job] = []
    while waiting or suspects:
        if suspects:
            job = suspects.pop()
            try:
                yield get_reusable_executor(max_workers=1).submit(work, job).result()
            except BrokenProcessPool as exc:
                yield failed_result(job, f"{WORKER_DIED}: {one_line(exc, with_type=True)}")
            continue
        executor = get_reusable_executor(max_workers=n_jobs)
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


Executor = Callable[[Sequence[Job], int], Iterable[JobResult]]


@dataclass
class RunSummary:
    total: int
    skipped: int
    ran: int  # jobs encoded
    failed: int
    failures: list[tuple[str, str]]
    run_dir: Path
    completed: int = 0  # finished rows given missing or failed metrics, without encoding
    gained: dict[str, int] = field(default_factory=dict)  # metric -> rows that gained a value
    metric_failures: dict[str, int] = field(default_factory=dict)  # metric -> rows whose metric failed now
    no_value: dict[str, int] = field(default_factory=dict)  # metric -> rows where it ran but has no value


def environment(codecs: Sequence[Contender], argv: Sequence[str] | None = None) -> dict[str, Any]:
    """What run.json records about the machine and software."""
    import numpy
    import PIL

    info: dict[str, Any] = {
        "harness": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "numpy": numpy.__version__,
        "pillow": PIL.__version__,
        "command": list(argv if argv is not None else sys.argv),
        "codecs": {c.label: c.describe() for c in codecs},
    }
    for package in ("torch", "torchvision", "pyiqa"):
        try:  # the installed version, without paying for an import of torch in every run
            info[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            info[package] = None
    return info


def metrics_job(row: Row, metrics: Sequence[str], run_dir: str | Path) -> Job:
    """A job that computes ``metrics`` on the finished row ``row`` of the run in ``run_dir``."""
    return Job(key=row.job_key, dataset=row.dataset, image=row.image, image_path=row.image_path,
               image_sha256=row.image_sha256, codec=row.codec, point=row.point, target_bpp=row.target_bpp,
               metrics=tuple(metrics), previous=row, run_dir=str(run_dir))


def pending_work(store: RunStore, jobs: Sequence[Job], retry_failed: bool = False) -> tuple[list[Job], int]:
    """The jobs to run now, and how many are already done. A job never run, or whose codec failed (with
    ``retry_failed``), is encoded; a finished job missing some of its metrics, or whose metrics failed
    (with ``retry_failed``), becomes a metrics-only job on what the run kept."""
    finished = store.finished()
    pending: list[Job] = []
    for job in jobs:
        row = finished.get(job.key)
        if row is None or (row.failed and retry_failed):
            pending.append(job)
        elif row.ok:
            missing = row.missing_metrics(job.metrics, retry_failed)
            if missing:
                pending.append(replace(job, metrics=tuple(missing), previous=row, run_dir=str(store.run_dir)))
    return pending, len(jobs) - len(pending)


def execute_plan(
    store: RunStore,
    jobs: Sequence[Job],
    n_jobs: int = 1,
    executor: Executor = execute_local,
    retry_failed: bool = False,
    on_result: Callable[[JobResult], None] | None = None,
    planned: tuple[list[Job], int] | None = None,
) -> RunSummary:
    """Run the jobs not yet in the store, persisting each result the moment it arrives. ``planned``: what
    :func:`pending_work` gave for these jobs, if the caller already asked."""
    store.create()
    pending, skipped = planned if planned is not None else pending_work(store, jobs, retry_failed)
    summary = RunSummary(len(jobs), skipped, 0, 0, [], store.run_dir)
    for result in executor(pending, n_jobs):
        row = result.row
        if result.bitstream is not None and row.bitstream:
            store.save_file(row.bitstream, result.bitstream)
        if result.reconstruction_png is not None and row.reconstruction:
            store.save_file(row.reconstruction, result.reconstruction_png)
        store.append(row)
        if result.metrics_only:
            summary.completed += 1
            for name in result.gained:
                summary.gained[name] = summary.gained.get(name, 0) + 1
        else:
            summary.ran += 1
        if row.failed:
            summary.failed += 1
            summary.failures.append((f"{row.codec} {row.image} {row.point}", row.error or ""))
        for name in result.metric_failed:
            summary.metric_failures[name] = summary.metric_failures.get(name, 0) + 1
        if result.metrics_only:
            for name in result.no_value:
                summary.no_value[name] = summary.no_value.get(name, 0) + 1
        if on_result:
            on_result(result)
    return summary


def bracket_points(target: float, chosen: float, trials: Sequence[Sequence[float]]) -> list[float]:
    """The rate search's encodes to keep beside a target row: the nearest other trial below the target and
    the nearest above, so the codec's curve on the image spans the target with its chosen point inside."""
    others = [(float(p), float(b)) for p, b in trials if float(p) != chosen and b > 0]
    below = [t for t in others if t[1] <= target]
    above = [t for t in others if t[1] > target]
    keep = []
    if below:
        keep.append(max(below, key=lambda t: t[1])[0])
    if above:
        keep.append(min(above, key=lambda t: t[1])[0])
    return keep


def search_jobs(store: RunStore, targeted: Sequence[Job]) -> list[Job]:
    """Jobs that keep the rate search's bracketing encodes of finished target jobs as rows (role
    "search"), each an ordinary point of the codec keyed like one, so a point also asked for is one row."""
    finished = store.finished()
    jobs: list[Job] = []
    seen: set[str] = set()
    for job in targeted:
        row = finished.get(job.key)
        if job.target_bpp is None or row is None or not row.ok or row.point is None or not row.params:
            continue
        trials = json.loads(row.params).get("rate_search") or []
        for point in bracket_points(job.target_bpp, float(row.point), trials):
            key = job_key(job.image_sha256, job.image, job.codec, row.codec_version or "", point, None,
                          job.tolerance)
            if key in seen:
                continue
            seen.add(key)
            jobs.append(replace(job, key=key, point=point, target_bpp=None, requested_point=None, role="search"))
    return jobs


def start_run_info(store: RunStore, dataset: Dataset, codecs: Sequence[Contender], argv: Sequence[str] | None) -> None:
    """run.json keeps the environment of every invocation that added rows (resumes included)."""
    info = store.read_info()
    invocation = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **environment(codecs, argv)}
    info.setdefault("dataset", dataset.name)
    info.setdefault("dataset_root", str(dataset.root) if dataset.root else None)
    info.setdefault("invocations", []).append(invocation)
    store.write_info(info)


def reference_targets(store: RunStore, reference_label: str, dataset: Dataset) -> dict[str, list[float]]:
    """Per image of ``dataset``, the bpp the reference codec reached on it: the targets of a rate-matched
    run. Rows are matched by the original's hash (job keys are content keys, whatever the dataset was
    called), and a row whose rate exists counts even if one of its metrics failed."""
    names_by_hash: dict[str, set[str]] = {}
    for ref in dataset.images:
        names_by_hash.setdefault(store.original_sha256(str(ref.path)), set()).add(ref.name)
    targets: dict[str, set[float]] = {}
    for row in store.rows():
        names = names_by_hash.get(row.image_sha256, set())
        if row.codec == reference_label and row.ok and row.bpp is not None:
            # The row's own image, or every name of the same content when the name changed.
            for name in ({row.image} & names) or names:
                targets.setdefault(name, set()).add(float(row.bpp))
    return {image: sorted(values) for image, values in targets.items()}


def run_sweep(
    store: RunStore,
    dataset: Dataset,
    codecs: Sequence[Contender],
    *,
    points: Sequence[float] | None = None,
    target_bpps: Sequence[float] | None = None,
    match: str | None = None,
    metrics: tuple[str, ...] = DEFAULT_METRICS,
    keep_reconstructions: bool = False,
    keep_bitstreams: bool = True,
    tolerance: float = DEFAULT_RATE_TOLERANCE,
    n_jobs: int = 1,
    executor: Executor = execute_local,
    ship_images: bool = False,
    retry_failed: bool = False,
    argv: Sequence[str] | None = None,
    on_plan: Callable[[int, int], None] | None = None,
    on_result: Callable[[JobResult], None] | None = None,
) -> RunSummary:
    """A whole run. With ``match``, the reference codec runs first at its own points and every other codec
    then runs, per image, at the bpp the reference reached on that image."""
    store.create()
    start_run_info(store, dataset, codecs, argv)
    common: dict[str, Any] = {"file_sha256": store.original_sha256, "metrics": metrics,
                              "keep_reconstructions": keep_reconstructions,
                              "keep_bitstreams": keep_bitstreams, "tolerance": tolerance, "ship_images": ship_images}
    phases: list[Callable[[], list[Job]]]
    if match:
        reference = [c for c in codecs if c.label == match or c.name == match]
        if not reference:
            raise ValueError(f"--match {match}: the reference codec must be one of --codecs")
        others = [c for c in codecs if c is not reference[0]]
        phases = [
            lambda: plan_jobs(dataset, reference, points=points, **common),
            lambda: plan_jobs(dataset, others, per_image_targets=reference_targets(
                store, reference[0].label, dataset), **common),
        ]
    else:
        phases = [lambda: plan_jobs(dataset, codecs, points=points, target_bpps=target_bpps, **common)]
    summaries = []
    for phase in phases:
        jobs = phase()
        store.save_original_hashes()
        work = pending_work(store, jobs, retry_failed)
        if on_plan:
            on_plan(len(jobs), work[1])
        summaries.append(execute_plan(store, jobs, n_jobs, executor, retry_failed, on_result, planned=work))
        # A rate-matched comparison is read at exactly the reference's rate on each codec's own curve:
        # keep the search's bracketing encodes (not needed for plain --target-bpp sweeps).
        bracketing = search_jobs(store, [j for j in jobs if j.target_bpp is not None]) if match else []
        if bracketing:
            work = pending_work(store, bracketing, retry_failed)
            if on_plan:
                on_plan(len(bracketing), work[1])
            summaries.append(execute_plan(store, bracketing, n_jobs, executor, retry_failed, on_result,
                                          planned=work))
    store.write_parquet()
    gained: dict[str, int] = {}
    metric_failures: dict[str, int] = {}
    no_value: dict[str, int] = {}
    for s in summaries:
        for name, n in s.gained.items():
            gained[name] = gained.get(name, 0) + n
        for name, n in s.metric_failures.items():
            metric_failures[name] = metric_failures.get(name, 0) + n
        for name, n in s.no_value.items():
            no_value[name] = no_value.get(name, 0) + n
    return RunSummary(
        total=sum(s.total for s in summaries), skipped=sum(s.skipped for s in summaries),
        ran=sum(s.ran for s in summaries), failed=sum(s.failed for s in summaries),
        failures=[f for s in summaries for f in s.failures], run_dir=store.run_dir,
        completed=sum(s.completed for s in summaries), gained=gained, metric_failures=metric_failures,
        no_value=no_value,
    )
