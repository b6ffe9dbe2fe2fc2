"""``harness report`` (BD tables) and ``harness plot`` (figures) of a run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from harness.cli.common import fail, out, say, split
from harness.cli.plugin import ReportDone, installed


@click.command("report")
@click.argument("run_dir", type=click.Path(exists=True))
@click.option("--anchor", default=None, help="Codec label (or name) every codec is compared with (default: the run's --match reference, else vvc "
                   "if present, else the first codec).")
@click.option("--metrics", default=None, help="Comma-separated metric columns (default: every metric column of the run).")
@click.option("--method", type=click.Choice(["pchip", "akima", "cubic"]), default="pchip", show_default=True,
              help="BD interpolation: pchip (JVET/JCT-VC CTC sheet), akima, cubic (VCEG-M33).")
@click.option("--pooling", type=click.Choice(["per-image", "pooled"]), default="per-image", show_default=True,
              help="Mean of per-image BD values, or BD of the dataset-mean curves.")
@click.option("--rate", "rate_column", type=click.Choice(["bpp", "bpp_payload"]), default="bpp", show_default=True)
@click.option("--min-overlap", default=None, type=float, help="Minimum shared fraction of the ranges for a BD value (default 0.4, as in FAU's package: overlap over the union of both ranges).")
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False), help="Output folder (default: RUN/report).")
@click.option("--format", "formats", default="md,csv,html", show_default=True, help="Files to write: md, csv, html.")
@click.option("--jpeg-ai", "jpeg_ai", is_flag=True,
              help="Only the JPEG AI table: BD-rate on MS-SSIM, VIF, FSIM, NLPD, IW-SSIM, VMAF, PSNR-HVS-M and their mean (jpeg_ai.md, jpeg_ai.csv).")
def report_command(run_dir: str, anchor: str | None, metrics: str | None, method: str, pooling: str, rate_column: str,
                   min_overlap: float | None, out_dir: str | None, formats: str, jpeg_ai: bool = False,
                   **plugin_values: Any) -> None:
    """BD-rate and BD-quality of every codec against an anchor, matched-quality ratios and a codec summary."""
    from harness.analysis.bdrate import DEFAULT_MIN_OVERLAP
    from harness.analysis.selection import ReportError, default_anchor, load_run, run_match
    from harness.render.report import report_run

    try:
        chosen = anchor or run_match(run_dir) or default_anchor(load_run(run_dir))
        if jpeg_ai:
            from harness.render.jpegai import jpegai_report

            _, text, files = jpegai_report(run_dir, chosen, rate_column=rate_column, out_dir=out_dir)
            out.print(text, markup=False, highlight=False)
            for path in files.values():
                say(f"wrote {path}")
            return
        report = report_run(run_dir, chosen, split(metrics) or None, method=method, pooling=pooling,
                            rate_column=rate_column, min_overlap=DEFAULT_MIN_OVERLAP if min_overlap is None else min_overlap,
                            out_dir=out_dir, formats=split(formats), console=out)
        for hook, value in installed().hooks("report", plugin_values):
            done = ReportDone(Path(run_dir), chosen, split(metrics) or None, Path(out_dir) if out_dir else None,
                              out, dict(report.files))
            report.files.update(hook(done, value) or {})
    except ReportError as exc:
        fail(str(exc))
    for path in report.files.values():
        say(f"wrote {path}")


@click.command("plot")
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
    from harness.analysis.selection import ReportError
    from harness.render.figures import plot_run

    try:
        files = plot_run(run_dir, split(metrics) or None, anchor=anchor, per_image=per_image,
                         formats=split(formats), out_dir=out_dir, method=method, pooling=pooling,
                         rate_column=rate_column)
    except ReportError as exc:
        fail(str(exc))
    for path in files:
        say(f"wrote {path}")


COMMANDS = [report_command, plot_command]
