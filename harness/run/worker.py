"""Running one job in a worker process: encode, decode and measure, or complete a row's metrics.

Jobs never raise: a codec failure becomes a failed row with its message, a metric failure that metric's
error. Codec objects, decoded originals and metric networks are cached per process, so consecutive jobs
of one image and codec load them once.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from harness.codecs import CodecError, Contender, NoOutput, codec_of
from harness.codecs.identity import CodecIdentity
from harness.core.errors import one_line
from harness.core.hashing import sha256_bytes
from harness.core.images import SourceImage, cached_load, decode_image_bytes, encode_png
from harness.metrics import suite_for
from harness.run.jobs import EncodeJob, Job, JobResult, MetricsJob, bitstream_path, new_row


@functools.lru_cache(maxsize=32)
def _codec(identity: CodecIdentity) -> Contender:
    return codec_of(identity)


def _source_image(job: Job) -> SourceImage:
    if job.image_bytes is None:
        return cached_load(job.image_path, job.image)
    pixels, notes = decode_image_bytes(job.image_bytes, job.image_path)
    return SourceImage(job.image, Path(job.image_path), job.image_sha256, pixels, notes)


def _tallied(result: JobResult, outcomes: dict[str, tuple[dict[str, float | None], str | None]]) -> JobResult:
    """``result`` with the metrics of this job sorted into gained, ran without a value, and failed."""
    result.gained = tuple(n for n, (v, e) in outcomes.items() if e is None and any(x is not None for x in v.values()))
    result.no_value = tuple(n for n, (v, e) in outcomes.items() if e is None and all(x is None for x in v.values()))
    result.metric_failed = tuple(n for n, (_, e) in outcomes.items() if e is not None)
    return result


def execute_job(job: Job) -> JobResult:
    """Run one job to a row. Never raises: a codec failure is the row's status, a metric failure that
    metric's error."""
    if isinstance(job, MetricsJob):
        return complete_metrics(job)
    return encode_job(job)


def encode_job(job: EncodeJob) -> JobResult:
    """Encode, decode and measure one image at one operating point (or target bpp)."""
    row = new_row(job)
    png = bitstream = None
    try:
        if job.unreadable:
            raise OSError(job.unreadable)
        codec = _codec(job.codec)
        row.codec_version, row.knob = codec.version(), codec.knob.name
        if codec.identity.digest != job.codec.digest:
            raise CodecError(f"configuration mismatch: this process's {codec.label} has digest "
                             f"{codec.identity.digest}, the plan {job.codec.digest}; install the same versions")
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

            if not codec.rate_search:  # planning never asks this of fixed points; a guard, not a path
                raise CodecError(f"{codec.name} has no knob to search for a target bpp")
            search = search_point(codec, image, job.target_bpp, job.tolerance)
            point = search.point
            row.point, row.search_encodes = point, search.iterations
        outcome = codec.compress(image, point, keep_bitstream=job.keep_bitstream, repeats=job.time_repeats)
        params = {k: v for k, v in outcome.params.items() if k != "padded_to"}  # a typed field now
        params.update({"input_notes": list(image.notes)} if image.notes else {})
        if job.target_bpp is not None:
            row.search_trials = tuple((float(p), float(b)) for p, b in search.trials)
        if outcome.padded_to is not None:
            row.padded_height, row.padded_width = outcome.padded_to
        row.file_bytes, row.payload_bytes = outcome.file_bytes, outcome.payload_bytes
        row.bpp, row.bpp_payload, row.rate_source = outcome.bpp, outcome.bpp_payload, outcome.rate_source
        row.padded_from = outcome.padded_from
        row.encode_seconds, row.decode_seconds = outcome.encode_seconds, outcome.decode_seconds
        row.timing = outcome.timing
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


def complete_metrics(job: MetricsJob) -> JobResult:
    """A metrics-only job: compute ``job.metrics`` on the reconstruction of the finished row
    ``job.previous``, decoded again from what the run kept. Never encodes; never raises."""
    from harness.run.reconstruct import reconstruction

    row = job.previous.copy()
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
