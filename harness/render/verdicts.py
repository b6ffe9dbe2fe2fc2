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


def verdict_word(verdict: str, anchor: str, codec: str) -> str:
    """One word for a verdict sentence of :mod:`harness.analysis.equal_rate` (explained by :func:`verdict_legend`)."""
    if verdict.startswith("inconclusive"):
        return "inconclusive"
    if verdict.startswith("mixed"):
        return "mixed"
    if verdict.startswith("no clear difference"):
        return "unclear"
    lower = verdict.endswith("at a lower rate")
    if verdict.startswith(f"{anchor} better"):
        return anchor + ("†" if lower else "")
    if verdict.startswith(f"{codec} better"):
        return "rival" + ("†" if lower else "")
    return verdict.split()[0]


def verdict_legend(anchor: str) -> str:
    return (f"Each cell: mean over images of (rival − {anchor}) in the metric's units [95% bootstrap interval], "
            f"then the verdict. **{anchor}**: {anchor} better at equal rate (the interval excludes 0); **rival**: "
            "the rival better; **†**: the better one also spends fewer bits (rates differ beyond the tolerance); "
            "**unclear**: the interval includes 0; **mixed**: some images each way; **inconclusive**: rates differ "
            "and the cheaper one is not better. Higher is better for PSNR and MS-SSIM, lower for LPIPS and DISTS.")


def _cells(result: EqualRate, summary: pd.DataFrame) -> list[tuple[str, str, str, list[str]]]:
    """Per codec: (codec, images, rate comparison, one compact cell per metric)."""
    a = result.anchor
    out = []
    for codec, g in summary.groupby("codec", sort=False):
        by = g.set_index("metric")
        cells = []
        for m in result.metrics:
            if m not in by.index:
                cells.append("–")
                continue
            r = by.loc[m]
            cells.append(f"{signed(r.mean_delta, m)}{_interval(r.low, r.high, m)} "
                         f"**{verdict_word(str(r.verdict), a, str(codec))}**")
        out.append((str(codec), str(int(g["n"].max())), _rate_text(g, result.tolerance), cells))
    return out


def verdict_table(result: EqualRate, summary: pd.DataFrame | None = None) -> str:
    """The table that answers the question: per codec and metric, the mean difference (codec − anchor) with
    its 95% bootstrap interval over images and one verdict word; the legend below it."""
    a = result.anchor
    s = result.summary if summary is None else summary
    if s.empty:
        return "No comparisons."
    header = ["codec", "images", "rate vs " + a, *(metric_label(m) for m in result.metrics)]
    rows = [[codec, n, rate, *cells] for codec, n, rate, cells in _cells(result, s)]
    return md_table(header, rows) + "\n\n" + verdict_legend(a)


def verdict_blocks(result: EqualRate) -> str:
    """The verdict table as one block per rival (readable in an 80-column terminal)."""
    if result.summary.empty:
        return "No comparisons."
    lines = []
    for codec, n, rate, cells in _cells(result, result.summary):
        lines += [f"**{codec}** ({n} images; rate: {rate})", ""]
        lines += [f"- {metric_label(m)}: {cell}" for m, cell in zip(result.metrics, cells)]
        lines.append("")
    return "\n".join(lines + [verdict_legend(result.anchor)])
