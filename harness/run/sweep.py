"""A whole run: plan its phases, run what is not done yet, persist every result as it arrives.

A sweep is described by a :class:`SweepConfig` (what to run and how); :func:`run_sweep` plans the jobs
(:mod:`harness.run.plan`), hands those not yet in the run's journal to an executor
(:mod:`harness.run.executors`, :mod:`harness.run.cluster`) and writes each result to the store the
moment it comes back, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.codecs import Contender, label_of
from harness.datasets import Dataset
from harness.metrics import DEFAULT_METRICS, get_metric
from harness.run.adopt import adopt_legacy_rows
from harness.run.environment import start_run_info
from harness.run.executors import Executor, execute_local
from harness.run.jobs import EncodeJob, Job, JobResult, where
from harness.run.plan import pending_work, plan_jobs, reference_targets, search_jobs
from harness.run.quality_plan import TargetsFor, run_search
from harness.run.quality_plan import reference_targets as reference_qualities
from harness.run.quality_search import QualityTarget
from harness.run.ratecontrol import DEFAULT_RATE_TOLERANCE
from harness.run.store import RunStore


@dataclass(frozen=True)
class SweepConfig:
    """What a run computes and how: every choice of ``harness run`` besides the dataset and codecs."""

    points: Sequence[float] | None = None  # overrides every codec's default points
    target_bpps: Sequence[float] | None = None  # per image, the point whose bpp is nearest each target
    match: str | None = None  # the reference codec of a rate-matched run (its label or name)
    # Per image, each codec's knob is searched until its curve brackets each target (--target-quality).
    target_quality: tuple[QualityTarget, ...] = ()
    metrics: tuple[str, ...] = DEFAULT_METRICS
    keep_reconstructions: bool = False
    keep_bitstreams: bool = True
    tolerance: float = DEFAULT_RATE_TOLERANCE
    n_jobs: int = 1
    executor: Executor = execute_local
    ship_images: bool = False  # send each original's bytes with its jobs (workers without the files)
    retry_failed: bool = False
    time_repeats: int = 1  # each encode's and decode's time is the median of this many (same bits each time)
    argv: Sequence[str] | None = None  # the command line recorded in run.json (default: sys.argv)
    on_plan: Callable[[int, int], None] | None = None  # (jobs planned, already done), once per phase
    on_result: Callable[[JobResult], None] | None = None  # each result, as it is persisted


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
    adopted: int = 0  # rows of an earlier harness taken over, their parameters equal to the configuration


def _count(into: dict[str, int], names: Sequence[str]) -> None:
    for name in names:
        into[name] = into.get(name, 0) + 1


def execute_plan(
    store: RunStore,
    jobs: Sequence[EncodeJob],
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
            _count(summary.gained, result.gained)
            _count(summary.no_value, result.no_value)
        else:
            summary.ran += 1
        if row.failed:
            summary.failed += 1
            summary.failures.append((f"{row.codec} {row.image} {where(row.point, row.target_bpp)}", row.error or ""))
        _count(summary.metric_failures, result.metric_failed)
        if on_result:
            on_result(result)
    return summary


def _merged(summaries: Sequence[RunSummary], run_dir: Path) -> RunSummary:
    total = RunSummary(0, 0, 0, 0, [], run_dir)
    for s in summaries:
        total.total, total.skipped, total.ran = total.total + s.total, total.skipped + s.skipped, total.ran + s.ran
        total.failed, total.completed = total.failed + s.failed, total.completed + s.completed
        total.adopted += s.adopted
        total.failures.extend(s.failures)
        for into, part in ((total.gained, s.gained), (total.metric_failures, s.metric_failures),
                           (total.no_value, s.no_value)):
            for name, n in part.items():
                into[name] = into.get(name, 0) + n
    return total


def _run_batch(store: RunStore, jobs: Sequence[EncodeJob], codecs: Sequence[Contender],
               cfg: SweepConfig) -> RunSummary:
    adopted = adopt_legacy_rows(store, jobs, codecs)
    work = pending_work(store, jobs, cfg.retry_failed)
    if cfg.on_plan:
        cfg.on_plan(len(jobs), work[1])
    summary = execute_plan(store, jobs, cfg.n_jobs, cfg.executor, cfg.retry_failed, cfg.on_result, planned=work)
    summary.adopted = adopted
    return summary


def run_sweep(store: RunStore, dataset: Dataset, codecs: Sequence[Contender], config: SweepConfig | None = None,
              **changes: Any) -> RunSummary:
    """A whole run, as ``config`` says (``changes``: fields of :class:`SweepConfig` to set on it). With
    ``match``, the reference codec runs first at its own points and every other codec then runs, per
    image, at the bpp the reference reached on that image."""
    cfg = replace(config or SweepConfig(), **changes)
    store.create()
    start_run_info(store, dataset, codecs, cfg.argv, cfg.n_jobs)
    common: dict[str, Any] = {"file_sha256": store.original_sha256, "metrics": cfg.metrics,
                              "keep_reconstructions": cfg.keep_reconstructions,
                              "keep_bitstreams": cfg.keep_bitstreams, "tolerance": cfg.tolerance,
                              "ship_images": cfg.ship_images, "time_repeats": cfg.time_repeats}
    phases: list[Callable[[], list[EncodeJob]]]
    if cfg.match:
        wanted = {cfg.match, label_of(cfg.match)}
        reference = [c for c in codecs if c.label in wanted or c.name == cfg.match]
        if not reference:
            raise ValueError(f"--match {cfg.match}: the reference codec must be one of --codecs")
        others = [c for c in codecs if c is not reference[0]]
        info = store.read_info()
        info["match"] = reference[0].label  # the anchor its reports default to
        store.write_info(info)
        phases = [
            lambda: plan_jobs(dataset, reference, points=cfg.points, **common),
            lambda: plan_jobs(dataset, others, per_image_targets=reference_targets(
                store, reference[0].label, dataset), **common),
        ]
    elif cfg.target_quality:  # only contenders with fixed points run at points; the others are searched
        fixed = [c for c in codecs if c.fixed_points]
        phases = [lambda: plan_jobs(dataset, fixed, points=cfg.points, **common)]
    else:
        phases = [lambda: plan_jobs(dataset, codecs, points=cfg.points, target_bpps=cfg.target_bpps, **common)]
    summaries = []
    for phase in phases:
        jobs = phase()
        store.save_original_hashes()
        summaries.append(_run_batch(store, jobs, codecs, cfg))
        # A rate-matched comparison is read at exactly the reference's rate on each codec's own curve:
        # keep the search's bracketing encodes (not needed for plain --target-bpp sweeps).
        bracketing = search_jobs(store, [j for j in jobs if j.target_bpp is not None]) if cfg.match else []
        if bracketing:
            summaries.append(_run_batch(store, bracketing, codecs, cfg))
    targets_for = _quality_targets(store, codecs, cfg)
    if targets_for is not None:
        searched = [c for c in codecs if not c.fixed_points]

        def plan(data: Dataset, chosen: Sequence[Contender], points: list[float]) -> list[EncodeJob]:
            return [replace(j, role="quality-search") for j in plan_jobs(data, chosen, points=points, **common)]

        run_search(store, dataset, searched, targets_for, plan,
                   lambda jobs: summaries.append(_run_batch(store, jobs, searched, cfg)))
    store.write_parquet()
    return _merged(summaries, store.run_dir)


def _quality_targets(store: RunStore, codecs: Sequence[Contender], cfg: SweepConfig) -> TargetsFor | None:
    """What the quality search aims at per image: the --target-quality values, or with --match the
    reference's own value of every metric column (so each rival's curve brackets it: bits at equal quality)."""
    if cfg.target_quality:
        info = store.read_info()
        info["target_quality"] = [t.text() for t in cfg.target_quality]
        store.write_info(info)
        return lambda ref: list(cfg.target_quality)
    if not cfg.match:
        return None
    wanted = {cfg.match, label_of(cfg.match)}
    reference = next(c for c in codecs if c.label in wanted or c.name == cfg.match)
    columns = [col.name for name in cfg.metrics for col in get_metric(name).columns]
    targets = reference_qualities(store.rows(), reference.label, columns)
    return lambda ref: targets.get(ref.name, [])
