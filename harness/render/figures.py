"""Every figure of a run, written at once: RD curves (contenders as markers), BD-rate bars, time vs BD-rate,
and, when the run has a single-point contender beside codecs with curves, its equal-quality rate ratios."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.analysis import bdrate, selection, tables
from harness.analysis.equal_quality import equal_quality
from harness.render.contenders import empty_bd_panels, single_point_codecs
from harness.render.equal_quality_plot import equal_quality_figure
from harness.render.plots import bd_bar_figure, rd_figure, rd_per_image_figure, save, time_scatter_figure


def plot_run(run_dir: str | Path, metrics: Sequence[str] | None = None, *, anchor: str | None = None,
             per_image: bool = False, formats: Sequence[str] = ("png", "pdf"), out_dir: str | Path | None = None,
             method: str = "pchip", pooling: str = "per-image", rate_column: str = "bpp",
             min_overlap: float = bdrate.DEFAULT_MIN_OVERLAP, notes: list[str] | None = None) -> list[Path]:
    """Every figure of a run into ``RUN/figures/`` (or ``out_dir``); returns the files written.

    RD curves per metric (and per image with ``per_image``); BD-rate bars and time-vs-BD-rate against
    ``anchor`` (default: :func:`harness.analysis.selection.default_anchor`) when the run has more than one codec;
    the equal-quality ratio figure when a published contender sits beside codecs with curves. A figure or
    panel without data is not drawn: ``notes`` (if given) receives one line naming each.
    """
    notes = notes if notes is not None else []
    df = selection.load_run(run_dir)
    if df.empty:
        raise selection.ReportError(f"{run_dir}: the results table is empty")
    base = Path(run_dir).parent if Path(run_dir).is_file() else Path(run_dir)
    out = Path(out_dir) if out_dir else base / "figures"
    out.mkdir(parents=True, exist_ok=True)
    metrics = list(metrics) if metrics else selection.metric_columns(df)
    if not metrics:
        raise selection.ReportError(f"{run_dir}: no metric column with finite values")
    files: list[Path] = []
    for metric in metrics:
        files += save(rd_figure(df, metric, rate_column=rate_column), out / f"rd_{metric}", formats)
        if per_image:
            files += save(rd_per_image_figure(df, metric, rate_column=rate_column), out / f"rd_{metric}_per_image",
                          formats)
    if len(selection.codec_order(df)) > 1:
        anchor = selection.resolve_anchor(df, anchor) if anchor else selection.default_anchor(df)
        bd = tables.bd_table(df, anchor, metrics, method=method, pooling=pooling, rate_column=rate_column,
                             min_overlap=min_overlap)
        empty = empty_bd_panels(bd, metrics)
        if len(empty) < len(metrics):
            files += save(bd_bar_figure(bd, metrics), out / "bdrate", formats)
            primary = next(m for m in ("psnr_rgb", *metrics) if m in metrics and m not in empty)
            summary = tables.codec_summary(df, rate_column)
            files += save(time_scatter_figure(summary, bd, primary), out / f"time_vs_bdrate_{primary}", formats)
        if empty:
            notes.append(f"BD-rate against {anchor}: no value for any codec on {', '.join(empty)}"
                         + (" (figures bdrate and time_vs_bdrate not drawn)" if len(empty) == len(metrics)
                            else " (panels left out)"))
        singles = single_point_codecs(selection.usable(df, metrics[0], rate_column))
        match = selection.run_match(run_dir)
        for contender in [match] if match in singles else singles:
            fig, missing = equal_quality_figure(equal_quality(df, contender, metrics))
            notes += missing
            if fig is not None:
                files += save(fig, out / f"equal_quality_{contender}", formats)
    return files
