"""The units of work of a run: an encode job, a metrics-only job, and what either gives back."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.codecs.identity import CodecIdentity
from harness.metrics import DEFAULT_METRICS
from harness.run.ratecontrol import DEFAULT_RATE_TOLERANCE
from harness.run.rows import Row


def where(point: float | None, target_bpp: float | None, knob: str | None = None) -> str:
    """Where a job or row sits on its codec's curve, for messages: ``quality 50``, ``target 0.5 bpp`` or
    ``no point`` (a published codec without a reconstruction of the image)."""
    if point is not None:
        return f"{knob or 'point'} {point:g}"
    return f"target {target_bpp:g} bpp" if target_bpp is not None else "no point"


@dataclass(frozen=True, kw_only=True)
class _JobBase:
    key: str
    dataset: str
    image: str
    image_path: str
    image_sha256: str
    point: float | None = None
    target_bpp: float | None = None
    metrics: tuple[str, ...] = DEFAULT_METRICS
    # Set when the workers cannot read the dataset's files (no shared filesystem): the image ships with the job.
    image_bytes: bytes | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, kw_only=True)
class EncodeJob(_JobBase):
    """Encode and decode one image at one operating point (or target bpp), then compute ``metrics``."""

    codec: CodecIdentity
    tolerance: float = DEFAULT_RATE_TOLERANCE
    keep_reconstruction: bool = False
    keep_bitstream: bool = True
    requested_point: float | None = None  # the point asked for, when the codec's range changed it
    role: str | None = None  # "search" / "quality-search": an encode bracketing a target (see Row.role)
    unreadable: str | None = None  # why the original could not be read when the job was planned
    time_repeats: int = 1  # encodes and decodes whose median times the row records (same bits each time)

    @property
    def title(self) -> str:
        """How messages name the job: codec, image and point."""
        return f"{self.codec.label} {self.image} {where(self.point if self.target_bpp is None else None, self.target_bpp)}"

    @property
    def reconstruction_path(self) -> str:
        where = f"q{self.point:g}" if self.target_bpp is None else f"bpp{self.target_bpp:g}"
        codec = self.codec.label.replace(":", "_").replace("/", "_").replace("=", "-")
        return f"reconstructions/{codec}/{self.image}_{where}_{self.key[:8]}.png"


@dataclass(frozen=True, kw_only=True)
class MetricsJob(_JobBase):
    """Complete the finished row ``previous`` with ``metrics``, on what the run in ``run_dir`` kept (its
    bitstream or reconstruction); nothing is encoded."""

    previous: Row
    run_dir: str

    @property
    def title(self) -> str:
        return f"{self.previous.codec} {self.image} {where(self.point, self.target_bpp)}"


Job = EncodeJob | MetricsJob


def metrics_job(row: Row, metrics: tuple[str, ...] | list[str], run_dir: str, *,
                image_bytes: bytes | None = None) -> MetricsJob:
    """A job that computes ``metrics`` on the finished row ``row`` of the run in ``run_dir``."""
    return MetricsJob(key=row.job_key, dataset=row.dataset, image=row.image, image_path=row.image_path,
                      image_sha256=row.image_sha256, point=row.point, target_bpp=row.target_bpp,
                      metrics=tuple(metrics), previous=row, run_dir=str(run_dir), image_bytes=image_bytes)


@dataclass
class JobResult:
    row: Row
    reconstruction_png: bytes | None = None
    bitstream: bytes | None = None  # to keep at ``row.bitstream``
    metrics_only: bool = False  # the row was completed from what the run kept, not encoded
    gained: tuple[str, ...] = ()  # metrics that got values in this job
    metric_failed: tuple[str, ...] = ()  # metrics that failed in this job
    no_value: tuple[str, ...] = ()  # metrics that ran but have no value here (MS-SSIM below 161 px, no text)


def bitstream_path(sha256: str, extension: str) -> str:
    """Where a run keeps a bitstream: named by its content, so identical streams are stored once."""
    return f"bitstreams/{sha256}{extension if extension.startswith('.') else '.' + extension}"


def new_row(job: EncodeJob) -> Row:
    """The row of an encode job before it runs: what the plan knows."""
    return Row(job_key=job.key, dataset=job.dataset, image=job.image, image_path=job.image_path,
               image_sha256=job.image_sha256, codec=job.codec.label, codec_name=job.codec.name,
               codec_version=job.codec.version, codec_options=job.codec.options_json(),
               codec_config=job.codec.digest, point=job.point, requested_point=job.requested_point,
               target_bpp=job.target_bpp, role=job.role)


WORKER_DIED = ("the worker process died while running this job (killed by the system, e.g. out of memory, "
               "or a crash inside an in-process codec)")


def failed_result(job: Job, error: str) -> JobResult:
    """The result of a job that produced none of its own (its process died, the cluster failed it)."""
    if isinstance(job, MetricsJob):  # the codec's row stands, its metrics say why
        row = job.previous.copy()
        for name in job.metrics:
            row.set_metric_outcome(name, {}, error)
        return JobResult(row, metrics_only=True, metric_failed=job.metrics)
    row = new_row(job)
    row.status, row.error = "failed", error
    return JobResult(row)
