"""A codec comparison: every table of a report (:class:`Report`, :func:`make_report`), and the typed grids
(codecs by metrics) that :mod:`harness.render.report` turns into Markdown, HTML and terminal tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from harness.analysis import bdrate
from harness.analysis.equal_quality import EqualQuality, equal_quality
from harness.analysis.equal_rate import EqualRate, equal_rate
from harness.analysis.selection import (
    ReportError,
    check_rate_column,
    metric_columns,
    metric_info,
    missing_note,
    one_point_per_image,
    resolve_anchor,
    superseded_note,
)
from harness.analysis.tables import bd_per_image, bd_table, codec_summary, matched_quality
from harness.analysis.transparency import TargetCell, transparency

# --- the report -----------------------------------------------------------------------------------------

@dataclass
class Report:
    run: str
    anchor: str
    method: str
    pooling: str
    rate_column: str
    metrics: list[str]
    bd_rate: pd.DataFrame
    bd_quality: pd.DataFrame
    bd_per_image: pd.DataFrame
    matched: pd.DataFrame
    matched_per_image: pd.DataFrame
    summary: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    # Anchors with one point per image (published reconstructions): every codec at the anchor's own rates,
    # the comparison that exists when BD-rate does not (analysis.equal_rate.EqualRate).
    equal_rate: EqualRate | None = None
    # The same anchors against every rival with a curve, in the claim's units: the anchor's bits over the
    # rival's at the anchor's quality, per metric (analysis.equal_quality).
    equal_quality: EqualQuality | None = None
    # Runs with --target-quality: the bpp each codec needs to reach each target (analysis.transparency).
    targets_reached: list[TargetCell] = field(default_factory=list)

    def value(self, codec: str, metric: str, kind: str = "rate") -> float | None:
        table = self.bd_rate if kind == "rate" else self.bd_quality
        hit = table[(table["codec"] == codec) & (table["metric"] == metric)]
        if hit.empty or pd.isna(hit["value"].iloc[0]):
            return None
        return float(hit["value"].iloc[0])


def make_report(df: pd.DataFrame, anchor: str, metrics: Sequence[str] | None = None, *, run: str = "run",
                method: str = "pchip", pooling: str = "per-image", rate_column: str = "bpp",
                min_overlap: float = bdrate.DEFAULT_MIN_OVERLAP, transforms: dict[str, str] | None = None,
                targets: dict[str, Sequence[float]] | None = None, quality_targets: Sequence[str] = ()) -> Report:
    """Every table of a report, as DataFrames. ``quality_targets``: the run's ``--target-quality`` targets
    (``"ssimulacra2=90"``), for the table of the bpp each codec needs to reach them."""
    if df.empty:
        raise ReportError(f"{run}: the results table is empty")
    check_rate_column(df, rate_column)
    anchor = resolve_anchor(df, anchor)
    available = metric_columns(df)
    if metrics:
        missing = [m for m in metrics if m not in df.columns]
        if missing:
            raise ReportError(f"{run}: no metric column {missing[0]!r} (columns: {', '.join(available) or 'none'})")
        metrics = list(metrics)
    else:
        metrics = available
    if not metrics:
        raise ReportError(f"{run}: no metric column with finite values")
    common: dict[str, Any] = {"method": method, "rate_column": rate_column, "min_overlap": min_overlap,
                              "transforms": transforms}
    per_image = bd_per_image(df, anchor, metrics, kind="rate", **common)
    rate = bd_table(df, anchor, metrics, pooling=pooling, kind="rate",
                    per_image=per_image if pooling == "per-image" else None, **common)
    quality = bd_table(df, anchor, metrics, pooling=pooling, kind="quality", **common)
    matched_per, matched = matched_quality(df, anchor, metrics, targets=targets, rate_column=rate_column,
                                           method=method, transforms=transforms)
    notes = [note for metric in metrics if (note := missing_note(df, metric, rate_column))]
    if (superseded := superseded_note(df)) is not None:
        notes.append(superseded)
    if (padded := padded_note(df)) is not None:
        notes.append(padded)
    report = Report(run, anchor, method, pooling, rate_column, list(metrics), rate, quality, per_image, matched,
                    matched_per, codec_summary(df, rate_column), notes)
    if one_point_per_image(df, anchor, rate_column):
        report.equal_rate = equal_rate(df, anchor, metrics, run=run)
        quality = equal_quality(df, anchor, report.equal_rate.metrics)
        report.equal_quality = quality if quality.cells else None
    if quality_targets:
        report.targets_reached = transparency(df, quality_targets)
    return report


def padded_note(df: pd.DataFrame) -> str | None:
    """Published reconstructions that were larger than their original (codec padding), cropped to it."""
    if "padded_from" not in df or not df["padded_from"].notna().any():
        return None
    rows = df[df["padded_from"].notna()]
    which = ", ".join(f"{r.codec} {r.image} ({r.padded_from} for {r.width}x{r.height})" for r in rows.itertuples())
    return (f"{len(rows)} published reconstruction(s) larger than the original by codec padding, cropped from "
            f"the top-left to the original's size: {which}")


# --- typed grids for the renderers ----------------------------------------------------------------------

@dataclass(frozen=True)
class MetricAxis:
    """A metric as a table axis: its label and unit after the BD transform, and its direction."""

    metric: str
    label: str
    unit: str
    transform: str
    higher_is_better: bool


def metric_axis(metric: str, transform: str) -> MetricAxis:
    info = metric_info(metric)
    label, unit = bdrate.transformed_label(info.label, info.unit, transform)
    return MetricAxis(metric, label, unit, transform, info.higher_is_better)


@dataclass(frozen=True)
class BDCell:
    """One codec's BD value for one metric; ``value`` is None when missing (the reason is in the table)."""

    value: float | None
    n_valid: int = 0
    n_images: int = 0
    non_monotonic: bool = False
    is_anchor: bool = False
    better: bool | None = None  # beats the anchor; None for the anchor itself and for missing values


@dataclass(frozen=True)
class BDGrid:
    """Codecs down, metrics across: ``cells[i][j]`` is ``codecs[i]`` on ``metrics[j]``."""

    kind: str
    anchor: str
    codecs: list[str]
    metrics: list[MetricAxis]
    cells: list[list[BDCell]]


def _beats_anchor(value: float, kind: str, higher_is_better: bool) -> bool:
    # BD-rate: fewer bits is better whatever the metric; BD-quality: the metric's own direction.
    return value < 0 if kind == "rate" else (value > 0) == higher_is_better


def bd_grid(report: Report, kind: str = "rate") -> BDGrid:
    """The BD-rate (or BD-quality) table of a report as a typed grid; the anchor has its own row."""
    table = report.bd_rate if kind == "rate" else report.bd_quality
    codecs = [str(c) for c in report.summary["codec"]]
    axes, columns = [], []
    for metric in report.metrics:
        sub = table[table["metric"] == metric].set_index("codec")
        transform = str(sub["transform"].iloc[0]) if len(sub) else bdrate.default_transform(metric)
        axis = metric_axis(metric, transform)
        axes.append(axis)
        column = []
        for codec in codecs:
            if codec == report.anchor:
                column.append(BDCell(None, is_anchor=True))
            elif codec not in sub.index:
                column.append(BDCell(None))
            else:
                row = sub.loc[codec]
                value = None if pd.isna(row["value"]) else float(row["value"])
                column.append(BDCell(value, int(row["n_valid"]), int(row["n_images"]), bool(row["non_monotonic"]),
                                     better=None if value is None else
                                     _beats_anchor(value, kind, axis.higher_is_better)))
        columns.append(column)
    cells = [[columns[j][i] for j in range(len(axes))] for i in range(len(codecs))]
    return BDGrid(kind, report.anchor, codecs, axes, cells)


@dataclass(frozen=True)
class MatchedCell:
    """Geometric-mean rate ratio to the anchor over the ``n_images`` images where both reach the target."""

    ratio: float | None
    n_images: int = 0


@dataclass(frozen=True)
class MatchedRow:
    axis: MetricAxis
    target: float
    cells: list[MatchedCell]


@dataclass(frozen=True)
class MatchedGrid:
    """One row per (metric, target quality), one column per codec other than the anchor (whose ratio is 1)."""

    anchor: str
    codecs: list[str]
    rows: list[MatchedRow]


def matched_grid(report: Report) -> MatchedGrid:
    codecs = [str(c) for c in report.summary["codec"] if c != report.anchor]
    rows = []
    if not report.matched.empty:
        for (metric, target), g in report.matched.groupby(["metric", "target"], sort=False):
            sub = g.set_index("codec")
            cells = [MatchedCell(None) if c not in sub.index or pd.isna(sub.loc[c, "geomean_ratio"]) else
                     MatchedCell(float(sub.loc[c, "geomean_ratio"]), int(sub.loc[c, "n_images"])) for c in codecs]
            rows.append(MatchedRow(metric_axis(str(metric), str(g["transform"].iloc[0])), float(target), cells))
    return MatchedGrid(report.anchor, codecs, rows)
