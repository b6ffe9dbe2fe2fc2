"""The `harness` command line (click). Each command is a thin layer over a module's functions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from harness.claims.pico import commands as pico_commands
from harness.run.ratecontrol import DEFAULT_RATE_TOLERANCE

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


def _floats(value: str | None, option: str) -> list[float] | None:
    if not value:
        return None
    try:
        return [float(v) for v in _split(value)]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated numbers, got {value!r}", param_hint=option) from None


def _fail(message: str) -> NoReturn:
    console.print(f"[red]error:[/red] {message}", highlight=False)
    sys.exit(2)


def _set_device(device: str | None) -> None:
    """--device for the torch metrics, through the environment so worker processes inherit it."""
    if device:
        import os

        from harness.core.torchsetup import DEVICE_VARIABLE

        os.environ[DEVICE_VARIABLE] = device


DEVICE_OPTION = click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None,
    help="Where the torch metrics (LPIPS, DISTS, MS-SSIM, ColorVideoVDP) run: auto (a CUDA GPU if torch sees "
         "one), cpu or cuda (default: $HARNESS_METRIC_DEVICE, else auto).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="harness")
def main() -> None:
    """Benchmark image codecs: run sweeps, compute metrics, report BD-rates and plot RD curves."""


# The sample job's codecs at their quick settings (minutes on 2 cores); a codec named alone (`vvc`, `avif`,
# `jxl`) runs its research-grade defaults instead (docs/codec-settings.md).
QUICK_PROFILE = "jpeg,webp,avif:speed=6,jxl:effort=7,hevc,vvc:preset=fast"


@main.command()
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
@click.option("--pico-checkpoint", default=None, type=click.Path(dir_okay=False),
              help="Checkpoint for the pico-torch codec (same as pico-torch:checkpoint=PATH).")
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
        keep_reconstructions: bool, no_keep_bitstreams: bool, retry_failed: bool, pico_checkpoint: str | None, backend: str,
        scheduler: str | None, ship_images: bool, device: str | None) -> None:
    """Encode and decode every image of DATASET with every codec, and record one row per operating point."""
    _set_device(device)
    from harness.codecs import CodecError, get_codec
    from harness.datasets import DatasetError, resolve_dataset
    from harness.metrics import DEFAULT_METRICS, MetricError, get_metric
    from harness.run.cluster import ClusterError, execute_dask
    from harness.run.executors import execute_local
    from harness.run.store import RunStore, StoreError
    from harness.run.sweep import SweepConfig, run_sweep

    if jobs < 1:
        _fail(f"--jobs {jobs}: give at least 1 worker process")
    if points and (target_bpp or match):
        _fail("--points cannot be combined with --target-bpp or --match")
    if backend == "dask" and not scheduler:
        _fail("--backend dask needs --scheduler tcp://HOST:PORT (the address `dask scheduler` prints)")
    if scheduler and backend != "dask":
        _fail("--scheduler is only used with --backend dask")
    # "jpeg,,jpeg" is one codec, run once
    specs = pico_commands.with_checkpoint(list(dict.fromkeys(_split(codec_specs))), pico_checkpoint)
    try:
        data = resolve_dataset(dataset)
        codecs = [get_codec(s) for s in specs]
        metric_names = tuple(dict.fromkeys(_split(metrics))) or DEFAULT_METRICS
        for name in metric_names:
            get_metric(name)
    except (DatasetError, CodecError, MetricError) as exc:
        _fail(str(exc))
    for codec in codecs:
        ok = codec.availability()
        if not ok:
            console.print(f"[yellow]warning:[/yellow] {codec.label} is unavailable ({ok.reason}); its rows will be failed rows")
    store = RunStore(Path(results_root) / (run_name or data.name))
    try:
        store.lock()
    except StoreError as exc:
        _fail(str(exc))
    from harness.run.scratch import run_scratch
    executor = execute_dask(scheduler) if backend == "dask" and scheduler else execute_local
    console.print(f"dataset {data.name}: {len(data.images)} images; run directory {store.run_dir}")

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
                points=_floats(points, "--points"), target_bpps=_floats(target_bpp, "--target-bpp"), match=match,
                metrics=metric_names, keep_reconstructions=keep_reconstructions,
                keep_bitstreams=not no_keep_bitstreams, tolerance=tolerance, n_jobs=jobs, executor=executor,
                ship_images=ship_images, retry_failed=retry_failed, argv=sys.argv, on_plan=on_plan,
                on_result=on_result)
            summary = run_sweep(store, data, codecs, config)
        except (ValueError, ClusterError, StoreError) as exc:
            _fail(str(exc))
    # The run is written: let a later command in the same process (or the report) take the folder.
    store.unlock()
    rows = store.rows()
    failed = sum(row.failed for row in rows)
    absent = sum(row.status == "absent" for row in rows)
    metric_missing = _count_metric_errors(rows)
    console.print(f"{summary.total} jobs: {summary.ran} encoded, {summary.skipped} already done"
                  + (f", {summary.completed} completed without encoding" if summary.completed else "")
                  + f"; {len(rows)} rows, {failed} failed"
                  + (f", {absent} not published (no reconstruction of that image)" if absent else "")
                  + f" -> {store.parquet}", highlight=False)
    _print_rate_misses(rows, tolerance)
    _print_metric_changes(summary.gained, metric_missing, summary.no_value)
    sys.exit(min(failed + sum(1 for row in rows if row.ok and row.metric_errors), 100))


def _print_rate_misses(rows, tolerance: float) -> None:
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


def _count_metric_errors(rows) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        if row.ok:
            for name in row.metric_errors:
                counts[name] = counts.get(name, 0) + 1
    return counts


def _print_metric_changes(gained: dict[str, int], missing: dict[str, int], no_value: dict[str, int]) -> None:
    for name, n in sorted(gained.items()):
        console.print(f"{n} rows gained {name} (no encode)", highlight=False)
    for name, n in sorted(no_value.items()):
        console.print(f"{n} rows computed {name} without a value: the metric has none for these images "
                      f"(e.g. MS-SSIM needs both sides of at least 161 px; text metrics need text)", highlight=False)
    for name, n in sorted(missing.items()):
        console.print(f"[yellow]{n} rows have no {name}[/yellow] (the metric failed; see the error_{name} column; "
                      f"fix the cause and run again with --retry-failed)", highlight=False)


@main.command("codecs")
@click.option("--check", is_flag=True, help="Run every available codec on a small image and report bpp/PSNR sanity.")
def codecs_command(check: bool) -> None:
    """List every codec adapter, available or not, with its version or the reason it is unavailable."""
    from harness.codecs import codec_class, codec_names

    table = Table("codec", "available", "version / reason", "knob", "colour", "description")
    for name in codec_names():
        codec = codec_class(name)()
        ok = codec.availability()
        c = codec.colour
        table.add_row(name, "yes" if ok else "[red]no[/red]", codec.version() if ok else ok.reason,
                      f"{codec.knob.name} {codec.knob.low:g}..{codec.knob.high:g}",
                      f"{c.matrix} {c.range} {c.bit_depth}-bit {c.subsampling}", codec.description)
    out.print(table)
    if check:
        from harness.codecs.selfcheck import check_codecs, default_check_image

        def num(value: float | None, digits: int) -> str:
            return "" if value is None else f"{value:.{digits}f}"

        rows = [r for r in check_codecs(default_check_image()) if r["status"] != "unavailable"]
        checks = Table("codec", "status", "low point", "bpp", "PSNR", "high point", "bpp", "PSNR", "s", "detail",
                       title="check on a 128x96 crop of astronaut.png (RGB PSNR, dB)")
        for r in rows:
            colour = {"ok": "green", "suspect": "yellow"}.get(r["status"], "red")
            checks.add_row(r["codec"], f"[{colour}]{r['status']}[/{colour}]",
                           num(r["low_point"], 0), num(r["low_bpp"], 3), num(r["low_psnr"], 2),
                           num(r["high_point"], 0), num(r["high_bpp"], 3), num(r["high_psnr"], 2),
                           num(r["seconds"], 1), r["detail"])
        out.print(checks)
        sys.exit(1 if any(r["status"] != "ok" for r in rows) else 0)


@main.command("metrics")
@click.argument("run_dir", required=False, type=click.Path(exists=True, file_okay=False))
@click.option("--add", "names", default=None, help="Comma-separated metrics to compute on every successful row that lacks them.")
@click.option("--jobs", "-j", default=1, show_default=True, type=int, help="Parallel worker processes.")
@click.option("--list", "list_only", is_flag=True, help="List the metrics and the columns they produce.")
@DEVICE_OPTION
def metrics_command(run_dir: str | None, names: str | None, jobs: int, list_only: bool, device: str | None) -> None:
    """Add metrics to an earlier run without encoding again (decoding its kept bitstreams)."""
    _set_device(device)
    from harness.metrics import MetricError, get_metric, metric_names

    if list_only or not run_dir:
        table = Table("metric", "columns", "better", "description")
        for name in metric_names():
            metric = get_metric(name)
            table.add_row(name, ", ".join(c.name for c in metric.columns),
                          ", ".join("higher" if c.higher_is_better else "lower" for c in metric.columns),
                          metric.description)
        out.print(table)
        return
    if not names:
        _fail("name the metrics to add, e.g. --add lpips,dists")
    from harness.run.remetric import add_metrics
    from harness.run.store import StoreError

    try:
        added = add_metrics(Path(run_dir), _split(names), jobs=jobs)
    except (MetricError, FileNotFoundError, StoreError) as exc:
        _fail(str(exc))
    if not added.rows:
        console.print(f"every successful row already has {', '.join(_split(names))}", highlight=False)
    _print_metric_changes(added.gained, {}, added.no_value)
    for name, n in sorted(added.failed.items()):
        console.print(f"[yellow]{name} failed on {n} rows[/yellow]: {added.errors.get(name)}", highlight=False)
    console.print(f"-> {Path(run_dir) / 'results.parquet'}", highlight=False)
    sys.exit(min(sum(added.failed.values()), 100))


@main.command("compare")
@click.argument("reference", type=click.Path(exists=True, dir_okay=False))
@click.argument("distorted", type=click.Path(exists=True, dir_okay=False))
@click.option("--metrics", default=None,
              help="Comma-separated metrics (default: every metric but text). See `harness metrics --list`.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@DEVICE_OPTION
def compare_command(reference: str, distorted: str, metrics: str | None, as_json: bool, device: str | None) -> None:
    """Every metric of DISTORTED against REFERENCE (one pair of images). Exit status 1 if a metric failed."""
    import json

    from harness.core.images import ImageError
    from harness.metrics import MetricError, column_info
    from harness.run.compare import compare

    _set_device(device)
    try:
        result = compare(reference, distorted, _split(metrics) or None)
    except (ImageError, MetricError) as exc:
        _fail(str(exc))
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        table = Table("column", "value", "better", "label", title=f"{distorted} vs {reference}")
        for column, value in result.values.items():
            info = column_info(column)
            shown = "" if value is None else f"{value:.10g}"
            better = "higher" if info is None or info.higher_is_better else "lower"
            table.add_row(column, shown, better, info.axis_label if info else "")
        out.print(table)
        for line in result.errors:
            console.print(f"[red]{line}[/red]", highlight=False)
    sys.exit(1 if result.errors else 0)


@main.group()
def datasets() -> None:
    """List, fetch and verify datasets."""


@datasets.command("list")
def datasets_list() -> None:
    """Known datasets and whether they are on this machine."""
    from harness.datasets import dataset_definitions, local_root

    table = Table("dataset", "aliases", "local", "licence", "description")
    seen = set()
    for definition in dataset_definitions().values():
        if definition.name in seen:
            continue
        seen.add(definition.name)
        root = local_root(definition)
        table.add_row(definition.name, ", ".join(definition.aliases), str(root) if root else "-",
                      definition.licence, definition.description)
    out.print(table)


@datasets.command("fetch")
@click.argument("names", nargs=-1, required=True)
def datasets_fetch(names: tuple[str, ...]) -> None:
    """Download datasets into the cache and check their sha256."""
    from rich.progress import DownloadColumn, TransferSpeedColumn

    from harness.datasets import DatasetError, fetch

    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  console=console) as progress:
        def factory(label: str, total: int | None):
            task = progress.add_task(label, total=total)
            return lambda n: progress.update(task, advance=n)

        for name in names:
            try:
                root = fetch(name, factory)
            except DatasetError as exc:
                _fail(str(exc))
            console.print(f"{name}: {root}")


@datasets.command("verify")
@click.argument("names", nargs=-1, required=True)
def datasets_verify(names: tuple[str, ...]) -> None:
    """Check the sha256 of every file of local datasets against their definitions."""
    from harness.datasets import dataset_definitions, local_root, verify_files

    definitions = dataset_definitions()
    bad = 0
    for name in names:
        if name not in definitions:
            _fail(f"{name}: unknown dataset")
        root = local_root(definitions[name])
        if root is None:
            console.print(f"{name}: not on this machine")
            bad += 1
            continue
        problems = verify_files(definitions[name], root, strict=True)
        for line in problems:
            console.print(f"[red]{line}[/red]", highlight=False)
        bad += bool(problems)
        if not problems:
            console.print(f"{name}: ok ({root})")
    sys.exit(1 if bad else 0)


@main.command("report")
@click.argument("run_dir", type=click.Path(exists=True))
@click.option("--anchor", default=None, help="Codec label (or name) every codec is compared with (default: vvc if present, else the first codec).")
@click.option("--metrics", default=None, help="Comma-separated metric columns (default: every metric column of the run).")
@click.option("--method", type=click.Choice(["pchip", "akima", "cubic"]), default="pchip", show_default=True,
              help="BD interpolation: pchip (JVET/JCT-VC CTC sheet), akima, cubic (VCEG-M33).")
@click.option("--pooling", type=click.Choice(["per-image", "pooled"]), default="per-image", show_default=True,
              help="Mean of per-image BD values, or BD of the dataset-mean curves.")
@click.option("--rate", "rate_column", type=click.Choice(["bpp", "bpp_payload"]), default="bpp", show_default=True)
@click.option("--min-overlap", default=None, type=float, help="Minimum shared fraction of the ranges for a BD value (default 0.4, as in FAU's package: overlap over the union of both ranges).")
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False), help="Output folder (default: RUN/report).")
@click.option("--format", "formats", default="md,csv,html", show_default=True, help="Files to write: md, csv, html.")
@click.option("--summary", is_flag=True,
              help="Also write summary.md: every codec against the anchor at equal bpp per image (PSNR vs "
                   "perceptual metrics, JPEG XL), for anchors with one point per image such as published PICO.")
def report_command(run_dir: str, anchor: str | None, metrics: str | None, method: str, pooling: str, rate_column: str,
                   min_overlap: float | None, out_dir: str | None, formats: str, summary: bool) -> None:
    """BD-rate and BD-quality of every codec against an anchor, matched-quality ratios and a codec summary."""
    from harness.analysis.bdrate import DEFAULT_MIN_OVERLAP
    from harness.analysis.tables import ReportError, default_anchor, load_run
    from harness.render.report import report_run

    try:
        chosen = anchor or default_anchor(load_run(run_dir))
        report = report_run(run_dir, chosen, _split(metrics) or None, method=method, pooling=pooling,
                            rate_column=rate_column, min_overlap=DEFAULT_MIN_OVERLAP if min_overlap is None else min_overlap,
                            out_dir=out_dir, formats=_split(formats), console=out)
        if summary:
            report.files["summary"] = pico_commands.print_summary(run_dir, chosen, _split(metrics) or None,
                                                                  out_dir, out)
    except ReportError as exc:
        _fail(str(exc))
    for path in report.files.values():
        console.print(f"wrote {path}", highlight=False)


@main.command("published")
@click.option("--details", is_flag=True, help="List every file: codec, image, stated rate, where it was stated, path.")
def published_command(details: bool) -> None:
    """Published reconstructions (PICO and the codecs of its viewer): per codec, how many files are usable,
    listed but missing, or of the wrong size; every file that could not be used, once, with why."""
    from rich.markup import escape

    from harness.published.contender import ENV_DIRS, ENV_PICO, current_index, survey

    config, index = current_index()
    if not config.sources:
        console.print(f"no published reconstructions configured: set {ENV_PICO} or {ENV_DIRS}")
    for source in config.sources:
        console.print(f"source {source.path} (from {source.origin}"
                      + (f", untagged files are {source.default_codec})" if source.default_codec else ")"),
                      highlight=False, soft_wrap=True)
    status = survey(index)
    table = Table("codec", "images", "usable", "missing", "wrong size")
    for codec, st in status.items():
        images = {e.image_key for e in st.usable + st.missing} | {e.image_key for e, _, _ in st.wrong_size}
        table.add_row(codec, str(len(images)), str(len(st.usable)), str(len(st.missing)) if st.missing else "",
                      str(len(st.wrong_size)) if st.wrong_size else "")
    out.print(table)
    # Paths are printed whole (soft_wrap): a user has to find the file to fix it.
    for st in status.values():
        for entry in st.missing:
            where = escape(f"{entry.codec} {entry.image_key} at {entry.stated} bpp: {entry.path} "
                           f"(listed in {entry.listed_in or 'its name'})")
            console.print(f"[red]missing:[/red] {where}", highlight=False, soft_wrap=True)
        for entry, got, want in st.wrong_size:
            console.print(f"[red]wrong size:[/red] {escape(str(entry.path))} is {got[0]}x{got[1]}, the original is "
                          f"{want[0]}x{want[1]}", highlight=False, soft_wrap=True)
    problems = list(config.problems) + list(index.problems)
    problems += [f"{codec} {key}: {line}" for (codec, key), lines in sorted(index.conflicts.items()) for line in lines]
    for line in problems:
        console.print(f"[yellow]not used:[/yellow] {escape(line)}", highlight=False, soft_wrap=True)
    if details:
        for entry in index.entries:
            # Tab-separated and unstyled, for reading and for tools (cut, awk).
            click.echo(f"{entry.codec}\t{entry.image_key}\t{entry.stated} bpp\t{entry.layout}\t{entry.rate_label}"
                       f"\t{entry.path}")
    total = sum(len(st.usable) for st in status.values())
    console.print(f"{total} usable reconstructions, {sum(len(st.missing) for st in status.values())} missing, "
                  f"{sum(len(st.wrong_size) for st in status.values())} of the wrong size, {len(problems)} not used"
                  + ("" if details else " (--details lists every file)"), highlight=False)


@main.command("plot")
@click.argument("run_dir", type=click.Path(exists=True))
@click.option("--anchor", default=None, help="Anchor of the BD-rate figures (default: vvc if present, else the first codec).")
@click.option("--metrics", default=None, help="Comma-separated metric columns (default: every metric column of the run).")
@click.option("--per-image", is_flag=True, help="Also draw every image's RD curves (small multiples).")
@click.option("--format", "formats", default="png,pdf", show_default=True, help="Figure formats: png, pdf, svg.")
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False), help="Output folder (default: RUN/figures).")
@click.option("--method", type=click.Choice(["pchip", "akima", "cubic"]), default="pchip", show_default=True)
@click.option("--pooling", type=click.Choice(["per-image", "pooled"]), default="per-image", show_default=True)
@click.option("--rate", "rate_column", type=click.Choice(["bpp", "bpp_payload"]), default="bpp", show_default=True)
def plot_command(run_dir: str, anchor: str | None, metrics: str | None, per_image: bool, formats: str,
                 out_dir: str | None, method: str, pooling: str, rate_column: str) -> None:
    """RD curves per metric, BD-rate bars and encode/decode time vs BD-rate, for print (PNG + PDF/SVG)."""
    from harness.analysis.tables import ReportError
    from harness.render.plots import plot_run

    try:
        files = plot_run(run_dir, _split(metrics) or None, anchor=anchor, per_image=per_image,
                         formats=_split(formats), out_dir=out_dir, method=method, pooling=pooling,
                         rate_column=rate_column)
    except ReportError as exc:
        _fail(str(exc))
    for path in files:
        console.print(f"wrote {path}", highlight=False)


@main.command("view")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Site folder (default: RUN/viewer).")
@click.option("--serve", is_flag=True,
              help="Serve the site on this machine; image files are made when first requested.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port for --serve (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address --serve binds.")
@click.option("--jobs", "-j", default=1, show_default=True, type=int, help="Worker processes making image files.")
def view_command(run_dir: str, out_dir: str | None, serve: bool, port: int, host: str, jobs: int) -> None:
    """A self-contained comparison site of a run's reconstructions (slider, flip, side by side, zoom,
    difference maps, every row's numbers), opened from file:// or served with --serve."""
    import time

    from harness.render.viewer import ViewerError, write_site

    started = time.perf_counter()
    try:
        result = write_site(run_dir, out_dir, jobs=jobs, lazy=serve)
    except ViewerError as exc:
        _fail(str(exc))
    seconds = time.perf_counter() - started
    for line in result.errors:
        console.print(f"[red]not made:[/red] {line}", highlight=False)
    plan = result.plan
    rows = sum(len(page["rows"]) for page in plan.pages.values())
    console.print(f"{len(plan.pages)} images, {rows} reconstructions ({len(plan.not_shown)} rows not shown); "
                  f"{result.files} files, {result.bytes / 1e6:.1f} MB in {seconds:.1f} s -> {result.out_dir}",
                  highlight=False)
    if not serve:
        out.print((result.out_dir / "index.html").resolve().as_uri(), highlight=False)
        sys.exit(1 if result.errors else 0)
    from harness.render.viewer.server import make_server

    try:
        server = make_server(plan, result.out_dir, host=host, port=port)
    except OSError as exc:
        _fail(f"cannot serve on {host}:{port}: {exc.strerror or exc}")
    bound_host, bound_port = str(server.server_address[0]), server.server_address[1]
    out.print(f"serving http://{bound_host}:{bound_port}/index.html (Ctrl-C stops)", highlight=False)
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


main.add_command(pico_commands.train_command)


@main.group()
def study() -> None:
    """Pairwise preference studies with people: plan, serve, score, report, import and export votes."""


def _study_db(run_dir: str, name: str):
    from harness.pairwise.db import StudyDB, StudyError, study_dir

    try:
        return StudyDB(study_dir(run_dir, name)).check()
    except StudyError as exc:
        _fail(str(exc))


@study.command("create")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("name")
@click.option("--codecs", default=None, help="Comma-separated codec labels or names (default: every codec of the run).")
@click.option("--images", default=None, help="Comma-separated image names (default: every image).")
@click.option("--points", default=None, help="Comma-separated points to keep (knob values, or the bpp labels of "
                                            "rate-matched codecs), e.g. 30,50.")
@click.option("--golden-every", default=8, show_default=True, type=int,
              help="A rater's 3rd comparison and every N-th after it is a golden question (0: none).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the burn-in design.")
def study_create(run_dir: str, name: str, codecs: str | None, images: str | None, points: str | None,
                 golden_every: int, seed: int) -> None:
    """Plan a study NAME on RUN_DIR: conditions CODEC@POINT, lossless PNGs and the SQLite plan under
    RUN_DIR/studies/NAME/."""
    from harness.pairwise.db import StudyError
    from harness.pairwise.plan import create_study
    from harness.pairwise.report import condition_info

    try:
        db = create_study(run_dir, name, codecs=_split(codecs) or None, images=_split(images) or None,
                          points=_split(points) or None, golden_every=golden_every, seed=seed,
                          progress=lambda line: console.print(line, highlight=False))
    except StudyError as exc:
        _fail(str(exc))
    info = condition_info(db)
    table = Table("condition", "codec", "point", "mean bpp", "images", title=f"study {name}")
    for row in info.itertuples():
        table.add_row(row.condition, row.codec, row.point, f"{row.bpp:.4f}", str(row.images))
    out.print(table)
    console.print(f"wrote {db.path}", highlight=False)


@study.command("serve")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("name")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 lets colleagues on the network take part).")
@click.option("--port", default=8765, show_default=True, type=int)
def study_serve(run_dir: str, name: str, host: str, port: int) -> None:
    """Serve the study in a browser: one blind comparison at a time, every vote committed as it is cast."""
    import uvicorn

    from harness.pairwise.server import make_app

    db = _study_db(run_dir, name)
    console.print(f"study {name}: http://{host}:{port}/  (Ctrl-C stops; votes are saved as they are cast)",
                  highlight=False)
    uvicorn.run(make_app(db), host=host, port=port, log_level="warning")


@study.command("score")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("name")
@click.option("--bootstrap", default=1000, show_default=True, type=int, help="Bootstrap refits for the intervals.")
@click.option("--golden-threshold", default=0.8, show_default=True, type=float,
              help="Raters who answer fewer golden questions right than this share are dropped.")
@click.option("--resample", type=click.Choice(["both", "raters", "images"]), default="both", show_default=True,
              help="What the bootstrap resamples: raters and images, or one of them (see docs/study.md).")
@click.option("--seed", default=0, show_default=True, type=int)
def study_score(run_dir: str, name: str, bootstrap: int, golden_threshold: float, resample: str, seed: int) -> None:
    """Bradley-Terry Elo per condition with 95% bootstrap intervals; writes RUN/studies/NAME/elo.csv."""
    from harness.pairwise.db import StudyError
    from harness.pairwise.report import score_study, write_elo_csv

    db = _study_db(run_dir, name)
    try:
        scores, table = score_study(db, bootstrap=bootstrap, golden_threshold=golden_threshold, seed=seed,
                                    resample=resample)
    except StudyError as exc:
        _fail(str(exc))
    path = write_elo_csv(table, db.folder / "elo.csv")
    shown = Table("condition", "bpp", "Elo", "95% low", "95% high", "votes",
                  title=f"study {name}: {scores.votes_used} votes")
    for row in table.itertuples():
        shown.add_row(row.condition, f"{row.bpp:.4f}", f"{row.elo:.0f}", f"{row.low:.0f}", f"{row.high:.0f}",
                      str(row.votes))
    out.print(shown)
    for rater in scores.dropped_raters:
        r = scores.raters.set_index("rater").loc[rater]
        console.print(f"dropped rater {rater}: {r.golden_right} of {r.golden} golden questions right", highlight=False)
    console.print(f"wrote {path}", highlight=False)


@study.command("report")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("name")
@click.option("--anchor", default=None, help="Codec the perceptual BD-rates are against (default: the codec with "
                                            "the most conditions, VVC on a tie).")
@click.option("--bootstrap", default=1000, show_default=True, type=int)
@click.option("--golden-threshold", default=0.8, show_default=True, type=float)
@click.option("--format", "formats", default="png,pdf", show_default=True, help="Figure formats: png, pdf, svg.")
@click.option("--resample", type=click.Choice(["both", "raters", "images"]), default="both", show_default=True,
              help="What the bootstrap resamples: raters and images, or one of them (see docs/study.md).")
@click.option("--seed", default=0, show_default=True, type=int)
def study_report(run_dir: str, name: str, anchor: str | None, bootstrap: int, golden_threshold: float,
                 formats: str, resample: str, seed: int) -> None:
    """Elo vs bpp plot, Elo table, perceptual BD-rate (Elo as quality) with bootstrap intervals, and each
    metric's Kendall tau against the human ranking; writes elo.csv, bd.csv and report.md."""
    from rich.markdown import Markdown

    from harness.pairwise.db import StudyError
    from harness.pairwise.report import report_study

    db = _study_db(run_dir, name)
    try:
        rep = report_study(db, anchor=anchor, bootstrap=bootstrap, golden_threshold=golden_threshold, seed=seed,
                           resample=resample, formats=_split(formats))
    except StudyError as exc:
        _fail(str(exc))
    out.print(Markdown(rep.files["report"].read_text()))
    for path in rep.files.values():
        console.print(f"wrote {path}", highlight=False)


@study.command("import")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("name")
@click.argument("votes_csv", type=click.Path(dir_okay=False))
def study_import(run_dir: str, name: str, votes_csv: str) -> None:
    """Add votes from a CSV with columns rater,image,a,b,choice,seconds (choice: a or b)."""
    from harness.pairwise.db import StudyError
    from harness.pairwise.exchange import import_votes

    db = _study_db(run_dir, name)
    try:
        count = import_votes(votes_csv, db)
    except StudyError as exc:
        _fail(str(exc))
    console.print(f"imported {count} votes into {db.path}", highlight=False)


@study.command("export")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("name")
@click.argument("votes_csv", type=click.Path(dir_okay=False))
def study_export(run_dir: str, name: str, votes_csv: str) -> None:
    """Write every vote to a CSV with columns rater,image,a,b,choice,seconds."""
    from harness.pairwise.exchange import export_votes

    count = export_votes(_study_db(run_dir, name), votes_csv)
    console.print(f"wrote {count} votes to {votes_csv}", highlight=False)


if __name__ == "__main__":
    main()
