"""``harness run``: encode, decode and measure a dataset with a set of codecs, resumably."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from harness.cli.common import DEVICE_OPTION, console, fail, floats, set_device, split
from harness.cli.plugin import installed
from harness.run.ratecontrol import DEFAULT_RATE_TOLERANCE

# The sample job's codecs at their quick settings (minutes on 2 cores); a codec named alone (`vvc`, `avif`,
# `jxl`) runs its research-grade defaults instead (docs/codec-settings.md).
QUICK_PROFILE = "jpeg,webp,avif:speed=6,jxl:effort=7,hevc,vvc:preset=fast"


@click.command()
@click.option("--codecs", "codec_specs", default=QUICK_PROFILE, show_default=True,
              help="Comma-separated codec strings (name[:option=value...]); see `harness codecs`. The default is "
                   "the quick profile (faster presets); a codec named alone runs its research-grade defaults.")
@click.option("--dataset", default="sample", show_default=True,
              help="A dataset name (see `harness datasets list`), a folder, a glob or an image file.")
@click.option("--run", "run_name", default=None, help="Run name: results go to RESULTS/<run>/ (default: the dataset name).")
@click.option("--results", "results_root", default="results", show_default=True, type=click.Path(file_okay=False),
              help="Folder holding runs.")
@click.option("--points", default=None, help="Knob values to use instead of each codec's defaults, e.g. 22,27,32,37.")
@click.option("--target-bpp", default=None, help="Per image, find the knob value whose bpp is closest to each of these.")
@click.option("--match", default=None, help="Run the other codecs at the bpp this reference codec has on each image.")
@click.option("--tolerance", default=DEFAULT_RATE_TOLERANCE, show_default=True, type=float,
              help="Relative bpp error accepted by --target-bpp/--match searches.")
@click.option("--metrics", default=None, help="Comma-separated metrics (default: psnr). See `harness metrics --list`.")
@click.option("--jobs", "-j", default=1, show_default=True, type=int, help="Parallel worker processes.")
@click.option("--keep-reconstructions", is_flag=True, help="Also keep decoded images as PNG (for viewing; metrics "
              "can always be added from the kept bitstreams).")
@click.option("--no-keep-bitstreams", "no_keep_bitstreams", is_flag=True,
              help="Do not keep the encoded files under RUN/bitstreams/ (saves disk; metrics can then no longer "
                   "be added without encoding again).")
@click.option("--retry-failed", is_flag=True, help="Redo what failed in an earlier attempt of this run: failed encodes "
              "are encoded again, failed metrics are computed again on the kept bitstream (no encode).")
@click.option("--backend", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="local: worker processes on this machine (--jobs); dask: the workers of a Dask cluster "
                   "(--scheduler). See docs/cluster.md.")
@click.option("--scheduler", default=None, help="Address of the Dask scheduler for --backend dask, e.g. tcp://HOST:8786.")
@click.option("--ship-images", is_flag=True,
              help="Send each original's bytes with its jobs, for workers that cannot read the dataset's files "
                   "(default: workers read the same paths, i.e. a shared filesystem).")
@DEVICE_OPTION
def run(codec_specs: str, dataset: str, run_name: str | None, results_root: str, points: str | None,
        target_bpp: str | None, match: str | None, tolerance: float, metrics: str | None, jobs: int,
        keep_reconstructions: bool, no_keep_bitstreams: bool, retry_failed: bool, backend: str,
        scheduler: str | None, ship_images: bool, device: str | None, **plugin_values: Any) -> None:
    """Encode and decode every image of DATASET with every codec, and record one row per operating point."""
    set_device(device)
    from harness.codecs import CodecError, get_codec
    from harness.datasets import DatasetError, resolve_dataset
    from harness.metrics import DEFAULT_METRICS, MetricError, get_metric
    from harness.run.cluster import ClusterError, execute_dask
    from harness.run.executors import execute_local
    from harness.run.store import RunStore, StoreError
    from harness.run.sweep import SweepConfig, run_sweep

    if jobs < 1:
        fail(f"--jobs {jobs}: give at least 1 worker process")
    if points and (target_bpp or match):
        fail("--points cannot be combined with --target-bpp or --match")
    if backend == "dask" and not scheduler:
        fail("--backend dask needs --scheduler tcp://HOST:PORT (the address `dask scheduler` prints)")
    if scheduler and backend != "dask":
        fail("--scheduler is only used with --backend dask")
    # "jpeg,,jpeg" is one codec, run once
    specs = list(dict.fromkeys(split(codec_specs)))
    for hook, value in installed().hooks("run", plugin_values):
        specs = hook(specs, value)
    try:
        data = resolve_dataset(dataset)
        codecs = [get_codec(s) for s in specs]
        metric_names = tuple(dict.fromkeys(split(metrics))) or DEFAULT_METRICS
        for name in metric_names:
            get_metric(name)
    except (DatasetError, CodecError, MetricError) as exc:
        fail(str(exc))
    for codec in codecs:
        ok = codec.availability()
        if not ok:
            console.print(f"[yellow]warning:[/yellow] {codec.label} is unavailable ({ok.reason}); its rows will be failed rows")
    store = RunStore(Path(results_root) / (run_name or data.name))
    try:
        store.lock()
    except StoreError as exc:
        fail(str(exc))
    from harness.run.scratch import run_scratch
    executor = execute_dask(scheduler) if backend == "dask" and scheduler else execute_local
    skipped = f" ({data.skipped_line})" if data.skipped else ""
    console.print(f"dataset {data.name}: {len(data.images)} images{skipped}; run directory {store.run_dir}",
                  markup=False)

    # Temporary files go under RUN/.tmp/<pid>/, removed at the end (or by the next run after a kill -9).
    with run_scratch(store.run_dir), Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                              TimeElapsedColumn(), TimeRemainingColumn(), console=console,
                                              transient=False) as progress:
        task = progress.add_task("jobs", total=0)

        def on_plan(total: int, done: int) -> None:
            progress.update(task, total=(progress.tasks[task].total or 0) + total, advance=done)

        def on_result(result) -> None:
            row = result.row
            progress.update(task, advance=1, description=f"{row.codec} {row.image}")
            if row.failed:
                progress.console.print(f"[red]failed[/red] {row.codec} {row.image} {row.point}: {row.error}",
                                       highlight=False)
            for name in result.metric_failed:
                progress.console.print(f"[yellow]metric {name} failed[/yellow] {row.codec} {row.image} {row.point}: "
                                       f"{row.metric_errors.get(name)}", highlight=False)

        try:
            config = SweepConfig(
                points=floats(points, "--points"), target_bpps=floats(target_bpp, "--target-bpp"), match=match,
                metrics=metric_names, keep_reconstructions=keep_reconstructions,
                keep_bitstreams=not no_keep_bitstreams, tolerance=tolerance, n_jobs=jobs, executor=executor,
                ship_images=ship_images, retry_failed=retry_failed, argv=sys.argv, on_plan=on_plan,
                on_result=on_result)
            summary = run_sweep(store, data, codecs, config)
        except (ValueError, ClusterError, StoreError) as exc:
            fail(str(exc))
    # The run is written: let a later command in the same process (or the report) take the folder.
    store.unlock()
    rows = store.rows()
    failed = sum(row.failed for row in rows)
    absent = sum(row.status == "absent" for row in rows)
    metric_missing = count_metric_errors(rows)
    console.print(f"{summary.total} jobs: {summary.ran} encoded, {summary.skipped} already done"
                  + (f", {summary.completed} completed without encoding" if summary.completed else "")
                  + f"; {len(rows)} rows, {failed} failed"
                  + (f", {absent} not published (no reconstruction of that image)" if absent else "")
                  + f" -> {store.parquet}", highlight=False)
    print_rate_misses(rows, tolerance)
    print_metric_changes(summary.gained, metric_missing, summary.no_value)
    sys.exit(min(failed + sum(1 for row in rows if row.ok and row.metric_errors), 100))


def print_rate_misses(rows, tolerance: float) -> None:
    """Rate-targeted rows whose codec could not reach the target within the tolerance (integer knobs)."""
    misses = [r for r in rows if r.ok and r.target_bpp and r.bpp is not None
              and abs(r.bpp / r.target_bpp - 1) > tolerance + 1e-12]
    if not misses:
        return
    console.print(f"[yellow]{len(misses)} rate-matched rows missed the target by more than {tolerance:.0%}[/yellow] "
                  "(their knob has no finer step; reports compare them at the exact target on the codec's own "
                  "curve, interpolated between the kept search points):", highlight=False)
    for r in sorted(misses, key=lambda r: (r.codec, r.image, r.target_bpp)):
        console.print(f"  {r.codec} {r.image}: target {r.target_bpp:.4g} bpp, got {r.bpp:.4g} "
                      f"({r.bpp / r.target_bpp - 1:+.1%}) at {r.knob} {r.point:g}", highlight=False)


def count_metric_errors(rows) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        if row.ok:
            for name in row.metric_errors:
                counts[name] = counts.get(name, 0) + 1
    return counts


def print_metric_changes(gained: dict[str, int], missing: dict[str, int], no_value: dict[str, int]) -> None:
    for name, n in sorted(gained.items()):
        console.print(f"{n} rows gained {name} (no encode)", highlight=False)
    for name, n in sorted(no_value.items()):
        console.print(f"{n} rows computed {name} without a value: the metric has none for these images "
                      f"(e.g. MS-SSIM needs both sides of at least 161 px; text metrics need text)", highlight=False)
    for name, n in sorted(missing.items()):
        console.print(f"[yellow]{n} rows have no {name}[/yellow] (the metric failed; see the error_{name} column; "
                      f"fix the cause and run again with --retry-failed)", highlight=False)


COMMANDS = [run]
