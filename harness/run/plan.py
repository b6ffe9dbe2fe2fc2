"""Planning a run: the jobs of a dataset x codecs x operating points, what is left to do, and the rate
search's bracketing encodes and rate-matched targets.

A job's key hashes what determines its result: the original's file hash, the codec string, the codec's
version and the operating point (or target bpp). Jobs whose key is already in the run's journal are not
redone, so re-running an interrupted command finishes it and the final table equals that of an
uninterrupted run.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import replace

from harness.codecs import Contender
from harness.core.errors import one_line
from harness.core.hashing import sha256_file
from harness.datasets import Dataset
from harness.metrics import DEFAULT_METRICS
from harness.run.jobs import EncodeJob, Job, MetricsJob
from harness.run.ratecontrol import DEFAULT_RATE_TOLERANCE
from harness.run.rows import job_key
from harness.run.store import RunStore


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
    time_repeats: int = 1,
) -> list[EncodeJob]:
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
            identity = codec.identity
            specs: list[tuple[float | None, float | None]]
            # Contenders with fixed per-image points (published reconstructions) have no knob to search:
            # a rate-matched or --target-bpp run evaluates them at the points they have.
            fixed = codec.fixed_points
            requested: dict[float, float] = {}
            if per_image_targets is not None and not fixed:
                specs = [(None, t) for t in per_image_targets.get(ref.name, [])]
            elif target_bpps and not fixed:
                specs = [(None, float(t)) for t in target_bpps]
            else:
                specs = [(float(p), None) for p in (points if points else codec.points_for(ref.name))]
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
                key = job_key(sha, ref.name, identity, point, target, tolerance)
                if key in seen:
                    continue
                seen.add(key)
                asked = requested.get(point) if point is not None and target is None else None
                jobs.append(EncodeJob(
                    key=key, dataset=dataset.name, image=ref.name, image_path=str(ref.path), image_sha256=sha,
                    codec=identity, point=point, target_bpp=target, tolerance=tolerance, metrics=metrics,
                    keep_reconstruction=keep_reconstructions, keep_bitstream=keep_bitstreams,
                    requested_point=asked if asked != point else None, image_bytes=data, unreadable=unreadable,
                    time_repeats=time_repeats,
                ))
    return jobs


def pending_work(store: RunStore, jobs: Sequence[EncodeJob], retry_failed: bool = False) -> tuple[list[Job], int]:
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
                pending.append(MetricsJob(
                    key=job.key, dataset=job.dataset, image=job.image, image_path=job.image_path,
                    image_sha256=job.image_sha256, point=job.point, target_bpp=job.target_bpp,
                    metrics=tuple(missing), image_bytes=job.image_bytes, previous=row, run_dir=str(store.run_dir)))
    return pending, len(jobs) - len(pending)


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


def search_jobs(store: RunStore, targeted: Sequence[EncodeJob]) -> list[EncodeJob]:
    """Jobs that keep the rate search's bracketing encodes of finished target jobs as rows (role
    "search"), each an ordinary point of the codec keyed like one, so a point also asked for is one row."""
    finished = store.finished()
    jobs: list[EncodeJob] = []
    seen: set[str] = set()
    for job in targeted:
        row = finished.get(job.key)
        if job.target_bpp is None or row is None or not row.ok or row.point is None:
            continue
        for point in bracket_points(job.target_bpp, float(row.point), row.search_trials or ()):
            key = job_key(job.image_sha256, job.image, job.codec, point, None, job.tolerance)
            if key in seen:
                continue
            seen.add(key)
            jobs.append(replace(job, key=key, point=point, target_bpp=None, requested_point=None, role="search"))
    return jobs


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
