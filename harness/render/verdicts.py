"""The equal-rate verdict table (anchors with one point per image) as Markdown, and its number formats."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from harness.analysis.equal_rate import EqualRate, metric_label


def fmt(value: float, metric: str) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    if metric.startswith("psnr"):
        return f"{value:.2f}"
    return f"{value:.4f}"


def signed(value: float, metric: str) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return ("+" if value > 0 else "") + fmt(value, metric)


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _interval(low: float, high: float, metric: str) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return ""
    return f" [{signed(low, metric)}, {signed(high, metric)}]"


def _rate_text(g: pd.DataFrame, tolerance: float) -> str:
    """How a codec's comparisons were made, with its rate gap to the anchor."""
    hows = set(", ".join(g["how"]).split(", "))
    gap = float(g["max_rate_gap"].max())
    if hows == {"interpolated"}:
        return "exact (interpolated on its curve)"
    if gap <= tolerance + 1e-12:
        return f"equal (gap ≤ {gap:.1%})"
    mean = float(g["mean_rate_gap"].iloc[0])
    return f"{mean:+.1%} mean gap (up to {gap:.1%}): not equal"


def verdict_table(result: EqualRate, summary: pd.DataFrame | None = None) -> str:
    """The table that answers the question: per codec, per metric, the verdict, the mean difference
    (codec − anchor) with its 95% bootstrap interval over images, and the wins; with the rate comparison."""
    a = result.anchor
    s = result.summary if summary is None else summary
    if s.empty:
        return "No comparisons."
    header = ["codec", "images", "rate vs " + a, *(metric_label(m) for m in result.metrics)]
    rows = []
    for codec, g in s.groupby("codec", sort=False):
        by = g.set_index("metric")
        cells = [codec, str(int(g["n"].max())), _rate_text(g, result.tolerance)]
        for m in result.metrics:
            if m not in by.index:
                cells.append("–")
                continue
            r = by.loc[m]
            cells.append(f"**{r.verdict}**: {signed(r.mean_delta, m)}{_interval(r.low, r.high, m)} "
                         f"({a} better on {int(r.anchor_better)}/{int(r.n)})")
        rows.append(cells)
    return md_table(header, rows)
