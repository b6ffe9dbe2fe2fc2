"""``harness run``: encode, decode and measure a dataset with a set of codecs, resumably."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from harness.cli.common import DEVICE_OPTION, console, fail, say, set_device, split
from harness.cli.runoutput import (
    closing_line,
    count_metric_errors,
    failures,
    print_metric_changes,
    print_rate_misses,
    print_result,
)
from harness.cli.runrequest import RunRequest
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
@click.option("--match", default=None, help="Run the other codecs at the bpp this reference codec has on each image, "
              "then search each until its curve brackets the reference's value of every metric (equal quality).")
@click.option("--target-quality", default=None,
              help="METRIC=VALUE[,...]: per image, search each codec's knob until its curve brackets each value of "
                   "that metric column (e.g. ssimulacra2=90, butteraugli_max=1); the report reads the bpp at exactly "
                   "the target.")
@click.option("--allow-unavailable", is_flag=True,
              help="Go on when a requested codec is unavailable (its rows are failed rows) instead of stopping.")
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
@click.option("--time-repeats", default=1, show_default=True, type=int,
              help="Encode and decode each point this many times and record the median times (speed-focused runs; "
                   "every repeat must give the same bits and pixels).")
@click.option("--max-megapixels", default=None, type=float,
              help="Largest picture read, in megapixels (default: Pillow's 89.5 MP decompression-bomb limit).")
@click.option("--lossless", is_flag=True,
              help="The lossless sweep instead: each codec's lossless mode(s) (--codecs from jxl, webp, avif, hevc, "
                   "jpeg2000, png-oxipng, or CODEC:EFFORT; default all), bit-exactness checked, bpp and MP/s, into "
                   "RESULTS/<run>/lossless/.")
@DEVICE_OPTION
def run(codec_specs: str, dataset: str, run_name: str | None, results_root: str, points: str | None,
        target_bpp: str | None, match: str | None, target_quality: str | None, allow_unavailable: bool,
        tolerance: float, metrics: str | None, jobs: int,
        keep_reconstructions: bool, no_keep_bitstreams: bool, retry_failed: bool, backend: str,
        scheduler: str | None, ship_images: bool, time_repeats: int, max_megapixels: float | None, lossless: bool,
        device: str | None, **plugin_values: Any) -> None:
    """Encode and decode every image of DATASET with every codec, and record one row per operating point."""
    if lossless:
        _lossless(codec_specs, dataset, run_name, results_root)
        return
    set_device(device)
    # A folder in the layout of the PICO authors' release: its reconstructions are the published contenders
    # (before the codecs are made, so they find them).
    from harness.datasets.scenes import recognise

    if (tree := recognise(Path(dataset).expanduser())) is not None:
        from harness.published.config import add_folder

        add_folder(tree.manifest_root)
    # Every usage error before any work: nothing read, no run folder made.
    asked = RunRequest.check(codec_specs, points, target_bpp, match, tolerance, metrics, jobs, backend, scheduler,
                             plugin_values, target_quality)
    if time_repeats < 1:
        fail(f"--time-repeats {time_repeats}: give at least 1")
    if max_megapixels is not None:
        if not max_megapixels > 0:
            fail(f"--max-megapixels {max_megapixels:g}: give a positive number of megapixels")
        from harness.core.images import MAX_MEGAPIXELS_ENV

        os.environ[MAX_MEGAPIXELS_ENV] = f"{max_megapixels:g}"  # read by this process and its workers
    from harness.datasets import DatasetError, resolve_dataset
    from harness.run.cluster import ClusterError, execute_dask
    from harness.run.executors import execute_local
    from harness.run.store import RunStore, StoreError
    from harness.run.sweep import SweepConfig, run_sweep

    try:
        data = resolve_dataset(dataset)
    except DatasetError as exc:
        fail(str(exc))
    unavailable = [(codec.label, codec.availability().reason) for codec in asked.codecs if not codec.availability()]
    for label, reason in unavailable:
        if allow_unavailable:
            say(f"{label} is unavailable ({reason}); its rows will be failed rows", "warning:")
        else:
            say(f"{label} is unavailable: {reason}", "error:", "red")
    if unavailable and not allow_unavailable:
        fail(f"{len(unavailable)} requested codec(s) unavailable: make them available as said above, leave them "
             "out of --codecs, or pass --allow-unavailable to record their rows as failed")
    store = RunStore(Path(results_root) / (run_name or data.name))
    try:
        store.lock()
    except StoreError as exc:
        fail(str(exc))
    from harness.run.scratch import run_scratch
    executor = execute_dask(scheduler) if backend == "dask" and scheduler else execute_local
    skipped = f" ({data.skipped_line})" if data.skipped else ""
    say(f"dataset {data.name}: {len(data.images)} images{skipped}; run directory {store.run_dir}")

    # Temporary files go under RUN/.tmp/<pid>/, removed at the end (or by the next run after a kill -9).
    try:
        with run_scratch(store.run_dir), Progress(TextColumn("{task.description}"), BarColumn(),
                                                  MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                                                  console=console, transient=False) as progress:
            task = progress.add_task("jobs", total=0)

            def on_plan(total: int, done: int) -> None:
                progress.update(task, total=(progress.tasks[task].total or 0) + total, advance=done)

            def on_result(result) -> None:
                progress.update(task, advance=1, description=escape(f"{result.row.codec} {result.row.image}"))
                print_result(result, progress.console)

            config = SweepConfig(
                points=asked.points, target_bpps=asked.target_bpps, match=match, metrics=asked.metrics,
                keep_reconstructions=keep_reconstructions, keep_bitstreams=not no_keep_bitstreams,
                tolerance=tolerance, n_jobs=jobs, executor=executor, ship_images=ship_images,
                retry_failed=retry_failed, argv=sys.argv, on_plan=on_plan, on_result=on_result,
                time_repeats=time_repeats, target_quality=asked.quality_targets)
            summary = run_sweep(store, data, asked.codecs, config)
    except (ValueError, ClusterError, StoreError) as exc:
        store.unlock()
        fail(str(exc))
    except KeyboardInterrupt:
        store.unlock()
        saved = len(store.rows()) if store.journal.exists() else 0
        say(f"{saved} finished row{'' if saved == 1 else 's'} {'is' if saved == 1 else 'are'} saved in "
            f"{store.run_dir}; run the same command again to resume (finished jobs are not redone)",
            "interrupted:", "red")
        sys.exit(130)
    # The run is written: let a later command in the same process (or the report) take the folder.
    store.unlock()
    rows = store.rows()
    say(closing_line(summary, rows, store.parquet))
    print_rate_misses(rows, tolerance)
    print_metric_changes(summary.gained, count_metric_errors(rows), summary.no_value)
    sys.exit(min(sum(failures(rows)), 100))


COMMANDS = [run]


def _lossless(codec_specs: str, dataset: str, run_name: str | None, results_root: str) -> None:
    from harness.core.images import ImageError
    from harness.datasets import DatasetError, resolve_dataset
    from harness.render.lossless import write_lossless
    from harness.run.lossless import lossless_sweep, select_modes

    specs = [] if codec_specs == QUICK_PROFILE else list(dict.fromkeys(split(codec_specs)))
    try:
        modes = select_modes(specs)
        data = resolve_dataset(dataset)
        rows = lossless_sweep(data, modes, progress=say)
    except (ValueError, DatasetError, ImageError) as exc:
        fail(str(exc))
    files = write_lossless(rows, Path(results_root) / (run_name or data.name) / "lossless")
    console.print(files["report"].read_text(), markup=False, highlight=False)
    for path in files.values():
        say(f"wrote {path}")
    failed = int((~rows["exact"].astype(bool)).sum())
    if failed:
        sys.exit(min(failed, 100))
