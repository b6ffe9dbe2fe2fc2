"""The text of a report's typed values: BD and matched-quality cells and headings, their wide tables, the
codec summary, the legend and the diagnostics."""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.analysis.comparison import (
    BDCell,
    BDGrid,
    MatchedCell,
    MatchedGrid,
    MetricAxis,
    Report,
    bd_grid,
    matched_grid,
)


def bd_heading(axis: MetricAxis, kind: str) -> str:
    if kind == "rate":
        return axis.label + (" [dB]" if axis.transform == "db" else "")
    direction = "" if axis.higher_is_better else ", lower is better"
    if axis.unit:
        return f"Δ{axis.label} [{axis.unit}{direction}]"
    return f"Δ{axis.label}{' (' + direction[2:] + ')' if direction else ''}"


def bd_text(cell: BDCell, kind: str) -> str:
    if cell.is_anchor:
        return "anchor"
    if cell.value is None:
        return "n/a"
    text = f"{cell.value:+.2f} %" if kind == "rate" else f"{cell.value:+.3f}"
    if cell.n_valid < cell.n_images:
        text += f" ({cell.n_valid}/{cell.n_images})"
    if cell.non_monotonic:
        text += " †"
    return text


def bd_class(cell: BDCell) -> str:
    """better / worse than the anchor, na for a missing value, '' for the anchor itself."""
    if cell.is_anchor:
        return ""
    if cell.better is None:
        return "na"
    return "better" if cell.better else "worse"


def matched_heading(axis: MetricAxis, target: float) -> str:
    return f"{axis.label} = {target:g}{' ' + axis.unit if axis.unit else ''}"


def matched_text(cell: MatchedCell) -> str:
    return "n/a" if cell.ratio is None else f"{cell.ratio:.3f} ({cell.n_images})"


def bd_frame(grid: BDGrid) -> pd.DataFrame:
    """A BD grid as text: codecs down, metric headings across; the anchor's row reads 'anchor'."""
    return pd.DataFrame({bd_heading(axis, grid.kind): [bd_text(row[j], grid.kind) for row in grid.cells]
                         for j, axis in enumerate(grid.metrics)},
                        index=pd.Index(grid.codecs, name="codec"))


def bd_wide(report: Report, kind: str = "rate") -> pd.DataFrame:
    """Codecs down, metrics across, formatted values; the anchor's row reads 'anchor'."""
    return bd_frame(bd_grid(report, kind))


def matched_frame(grid: MatchedGrid) -> pd.DataFrame:
    if not grid.rows:
        return pd.DataFrame()
    return pd.DataFrame([[matched_text(c) for c in row.cells] for row in grid.rows],
                        index=pd.Index([matched_heading(row.axis, row.target) for row in grid.rows], name="quality"),
                        columns=grid.codecs)


def matched_wide(report: Report) -> pd.DataFrame:
    """Geometric-mean rate ratio to the anchor (images that reach the target in brackets): one row per
    (metric, target quality), one column per codec, so many metrics stay readable."""
    return matched_frame(matched_grid(report))


def summary_cells(report: Report) -> tuple[list[str], list[tuple[str, list[tuple[str, str]]]]]:
    """The per-codec summary as text with style classes ('na' for a value that does not exist)."""
    s = report.summary
    rc = report.rate_column

    def number(v: float, text: str) -> tuple[str, str]:
        return (text, "") if np.isfinite(v) else ("n/a", "na")

    def speed(seconds_per_mp: float) -> tuple[str, str]:  # megapixels per second
        return (f"{1 / seconds_per_mp:.3g}", "") if np.isfinite(seconds_per_mp) and seconds_per_mp > 0 else ("n/a", "na")

    headings = ["images", "points", "per image", f"mean {rc} range", "encode [MP/s]", "decode [MP/s]", "failed",
                "not published", "version"]
    rows = []
    for _, r in s.iterrows():
        lo, hi = float(r[f"{rc}_min"]), float(r[f"{rc}_max"])
        rows.append((str(r["codec"]), [
            (str(r["images"]), ""), (str(r["points"]), ""), (f"{float(r['points_per_image']):g}", ""),
            number(lo, f"{lo:.3f} – {hi:.3f}"),
            speed(float(r["encode_s_per_mp"])), speed(float(r["decode_s_per_mp"])),
            (f"{r['failed']}/{r['rows']}", ""), (str(r["absent"]) if r["absent"] else "", ""),
            (str(r["version"]), "")]))
    return headings, rows


def summary_display(report: Report) -> pd.DataFrame:
    headings, rows = summary_cells(report)
    return pd.DataFrame([[text for text, _ in cells] for _, cells in rows], columns=headings,
                        index=pd.Index([codec for codec, _ in rows], name="codec"))


def legend_lines(report: Report) -> list[str]:
    pooling = ("mean over images of the per-image BD (JVET/JPEG AI practice)" if report.pooling == "per-image"
               else "BD of the dataset-mean RD curves (pooled)")
    lines = [
        (f"Run {report.run}; anchor {report.anchor}; rate {report.rate_column}; interpolation {report.method}; "
         f"pooling: {pooling}."),
        ("BD-rate: average rate difference at equal quality, negative = fewer bits than the anchor. "
         "BD-quality: average quality difference at equal rate (test - anchor)."),
        ("(k/n): only k of n images had a valid BD value; † non-monotonic curve(s); n/a: no valid value "
         "(see the diagnostics)."),
        "MS-SSIM-type metrics are in dB: -10 log10(1 - x).",
        "Matched quality: geometric-mean rate ratio to the anchor at equal quality (images where both reach it).",
    ]
    return lines + report.notes


def diagnostics(report: Report) -> pd.DataFrame:
    cols = ["codec", "metric", "kind", "value", "n_valid", "n_images", "overlap_min", "points_min",
            "non_monotonic", "reason"]
    return pd.concat([report.bd_rate[cols], report.bd_quality[cols]], ignore_index=True)


def pareto_line(report: Report) -> str | None:
    """The codecs on the Pareto front of encode speed against BD-rate (PSNR-RGB if the run has it, else the first
    metric), as one sentence; None when no metric has BD-rates."""
    from harness.analysis.speed import speed_front

    metrics = [str(m) for m in dict.fromkeys(report.bd_rate["metric"])] if len(report.bd_rate) else []
    if not metrics:
        return None
    metric = "psnr_rgb" if "psnr_rgb" in metrics else metrics[0]
    front = speed_front(report.summary, report.bd_rate, metric)
    if not front:
        return None
    return (f"Pareto front of encode speed (MP/s) against BD-rate on {metric}, fastest first: {', '.join(front)} "
            "(no other codec is both faster and smaller; figure time_vs_bdrate).")
