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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import __version__
from harness.codecs import Codec, CodecError, Contender, get_codec
from harness.core.errors import one_line
from harness.core.hashing import sha256_bytes, sha256_file
from harness.core.images import SourceImage, cached_load, decode_image_bytes, encode_png
from harness.datasets import Dataset
from harness.metrics import DEFAULT_METRICS, suite_for
from harness.run.ratecontrol import DEFAULT_RATE_TOLERANCE
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
    # Set when the workers cannot read the dataset's files (no shared filesystem): the image ships with the job.
    image_bytes: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def reconstruction_path(self) -> str:
        where = f"q{self.point:g}" if self.target_bpp is None else f"bpp{self.target_bpp:g}"
        codec = self.codec.replace(":", "_").replace("/", "_").replace("=", "-")
        return f"reconstructions/{codec}/{self.image}_{where}_{self.key[:8]}.png"


@dataclass
class JobResult:
    row: dict[str, Any]
    reconstruction_png: bytes | None = None


def job_key(image_sha256: str, codec_label: str, codec_version: str, point: float | None,
            target_bpp: float | None, tolerance: float) -> str:
    identity = {
        "image": image_sha256,
        "codec": codec_label,
        "version": codec_version,
        "point": point,
        "target_bpp": target_bpp,
        "tolerance": tolerance if target_bpp is not None else None,
    }
    return sha256_bytes(json.dumps(identity, sort_keys=True).encode())[:32]


@functools.lru_cache(maxsize=None)
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
) -> list[Job]:
    """Jobs ordered image by image, so consecutive jobs reuse a worker's cached original and features.

    ``points`` overrides every codec's default points; ``target_bpps`` asks each codec, per image, for the
    knob value whose bpp is closest to each target; ``per_image_targets`` gives such targets per image
    name (rate matching to a reference codec)."""
    jobs = []
    for ref in dataset.images:
        sha = _file_sha256(str(ref.path))
        data = ref.path.read_bytes() if ship_images else None
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
                if not specs:
                    # No point for this image (no published reconstruction of it): one job whose failed
                    # row says so, rather than a silent gap in the table.
                    specs = [(None, None)]
            for point, target in specs:
                jobs.append(Job(
                    key=job_key(sha, label, version, point, target, tolerance),
                    dataset=dataset.name, image=ref.name, image_path=str(ref.path), image_sha256=sha,
                    codec=label, point=point, target_bpp=target, tolerance=tolerance, metrics=metrics,
                    keep_reconstruction=keep_reconstructions, image_bytes=data,
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


def execute_job(job: Job) -> JobResult:
    """Run one job to a row. Never raises: any failure is recorded in the row."""
    row: dict[str, Any] = {
        "job_key": job.key, "status": "ok", "error": None, "dataset": job.dataset, "image": job.image,
        "image_path": job.image_path, "image_sha256": job.image_sha256, "codec": job.codec,
        "point": job.point, "target_bpp": job.target_bpp,
    }
    png = None
    try:
        codec = _codec(job.codec)
        row.update(codec_name=codec.name, codec_version=codec.version(), knob=codec.knob.name,
                   **codec.colour.as_columns())
        availability = codec.availability()
        if not availability:
            raise RuntimeError(f"codec unavailable: {availability.reason}")
        image = _source_image(job)
        row.update(width=image.width, height=image.height)
        point = job.point
        if job.target_bpp is not None:
            from harness.run.ratecontrol import search_point

            if not isinstance(codec, Codec):  # planning never asks this of fixed points; a guard, not a path
                raise CodecError(f"{codec.name} has no knob to search for a target bpp")
            search = search_point(codec, image, job.target_bpp, job.tolerance)
            point = search.point
            row.update(point=point, search_encodes=search.iterations)
        outcome = codec.compress(image, point)
        params = {**outcome.params, **({"input_notes": list(image.notes)} if image.notes else {})}
        row.update(
            file_bytes=outcome.file_bytes, payload_bytes=outcome.payload_bytes, bpp=outcome.bpp,
            bpp_payload=outcome.bpp_payload, rate_source=outcome.rate_source,
            encode_seconds=outcome.encode_seconds, decode_seconds=outcome.decode_seconds,
            params=json.dumps(params, sort_keys=True, default=str),
        )
        values, errors = suite_for(job.metrics).evaluate(image.sha256, image.pixels, outcome.reconstruction)
        row.update(values)
        if errors:
            row.update(status="failed", error="; ".join(errors))
        if job.keep_reconstruction:
            png = encode_png(outcome.reconstruction)
            row["reconstruction"] = job.reconstruction_path
    except Exception as exc:  # a failing codec is a failed row; the run goes on
        row.update(status="failed", error=one_line(exc, with_type=True))
    return JobResult(row, png)


# --- execution backends -------------------------------------------------------------------------------

def execute_local(jobs: Sequence[Job], n_jobs: int) -> Iterator[JobResult]:
    """joblib (loky) workers; results stream back in completion order."""
    if n_jobs == 1 or len(jobs) <= 1:
        for job in jobs:
            yield execute_job(job)
        return
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered", batch_size=1, pre_dispatch="2*n_jobs")
    yield from parallel(delayed(execute_job)(job) for job in jobs)


Executor = Callable[[Sequence[Job], int], Iterable[JobResult]]


@dataclass
class RunSummary:
    total: int
    skipped: int
    ran: int
    failed: int
    failures: list[tuple[str, str]]
    run_dir: Path


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


def execute_plan(
    store: RunStore,
    jobs: Sequence[Job],
    n_jobs: int = 1,
    executor: Executor = execute_local,
    retry_failed: bool = False,
    on_result: Callable[[JobResult], None] | None = None,
) -> RunSummary:
    """Run the jobs not yet in the store, persisting each result the moment it arrives."""
    store.create()
    finished = store.finished()
    pending = [j for j in jobs if j.key not in finished or (retry_failed and finished[j.key] != "ok")]
    failed = 0
    failures: list[tuple[str, str]] = []
    for result in executor(pending, n_jobs):
        if result.reconstruction_png is not None:
            store.save_reconstruction(result.row["reconstruction"], result.reconstruction_png)
        store.append(result.row)
        if result.row["status"] != "ok":
            failed += 1
            failures.append((f"{result.row['codec']} {result.row['image']} {result.row.get('point')}",
                             result.row["error"]))
        if on_result:
            on_result(result)
    return RunSummary(len(jobs), len(jobs) - len(pending), len(pending), failed, failures, store.run_dir)


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
    names_by_hash = {_file_sha256(str(ref.path)): ref.name for ref in dataset.images}
    targets: dict[str, set[float]] = {}
    for row in store.rows():
        name = names_by_hash.get(row.get("image_sha256"))
        if name is not None and row.get("codec") == reference_label and row.get("bpp") is not None:
            targets.setdefault(name, set()).add(float(row["bpp"]))
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
    common = dict(metrics=metrics, keep_reconstructions=keep_reconstructions, tolerance=tolerance,
                  ship_images=ship_images)
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
        if on_plan:
            finished = store.finished()
            on_plan(len(jobs), sum(1 for j in jobs if j.key in finished and (finished[j.key] == "ok" or not retry_failed)))
        summaries.append(execute_plan(store, jobs, n_jobs, executor, retry_failed, on_result))
    store.write_parquet()
    return RunSummary(
        total=sum(s.total for s in summaries), skipped=sum(s.skipped for s in summaries),
        ran=sum(s.ran for s in summaries), failed=sum(s.failed for s in summaries),
        failures=[f for s in summaries for f in s.failures], run_dir=store.run_dir,
    )
