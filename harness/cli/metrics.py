"""``harness metrics`` (list metrics, add them to a run) and ``harness compare`` (one pair of images)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.table import Table

from harness.cli.common import DEVICE_OPTION, fail, out, plain, say, set_device, split
from harness.cli.runoutput import print_metric_changes


@click.command("metrics")
@click.argument("run_dir", required=False, type=click.Path(exists=True, file_okay=False))
@click.option("--add", "names", default=None, help="Comma-separated metrics to compute on every successful row that lacks them.")
@click.option("--jobs", "-j", default=1, show_default=True, type=int, help="Parallel worker processes.")
@click.option("--list", "list_only", is_flag=True, help="List the metrics and the columns they produce.")
@DEVICE_OPTION
def metrics_command(run_dir: str | None, names: str | None, jobs: int, list_only: bool, device: str | None) -> None:
    """Add metrics to an earlier run without encoding again (decoding its kept bitstreams)."""
    set_device(device)
    from harness.metrics import MetricError, get_metric, metric_names

    if list_only or not run_dir:
        table = Table("metric", "columns", "better", "description")
        for name in metric_names():
            metric = get_metric(name)
            table.add_row(*plain(name, ", ".join(c.name for c in metric.columns),
                                 ", ".join("higher" if c.higher_is_better else "lower" for c in metric.columns),
                                 metric.description))
        out.print(table)
        return
    if not names:
        fail("name the metrics to add, e.g. --add lpips,dists")
    from harness.run.remetric import add_metrics
    from harness.run.store import StoreError

    try:
        added = add_metrics(Path(run_dir), split(names), jobs=jobs)
    except (MetricError, FileNotFoundError, StoreError) as exc:
        fail(str(exc))
    if not added.rows:
        say(f"every successful row already has {', '.join(split(names))}")
    print_metric_changes(added.gained, {}, added.no_value)
    for name, n in sorted(added.failed.items()):
        say(f"{added.errors.get(name)}", f"{name} failed on {n} rows:")
    say(f"-> {Path(run_dir) / 'results.parquet'}")
    sys.exit(min(sum(added.failed.values()), 100))


@click.command("compare")
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

    set_device(device)
    try:
        result = compare(reference, distorted, split(metrics) or None)
    except (ImageError, MetricError) as exc:
        fail(str(exc))
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        table = Table("column", "value", "better", "label", title=f"{distorted} vs {reference}")
        for column, value in result.values.items():
            info = column_info(column)
            shown = "" if value is None else f"{value:.10g}"
            better = "higher" if info is None or info.higher_is_better else "lower"
            table.add_row(*plain(column, shown, better, info.axis_label if info else ""))
        out.print(table)
        for line in result.errors:
            say(line, colour="red")
    sys.exit(1 if result.errors else 0)


COMMANDS = [metrics_command, compare_command]
