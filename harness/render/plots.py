"""Figures for a paper from a run's results: RD curves, BD-rate bars, complexity vs BD-rate.

Matplotlib figures made without pyplot (no global state, no display; PNG renders through Agg), so the
module works the same in a script, a worker process or a notebook, where the figures display inline. Every codec keeps one colour and marker in every
figure of a run, assigned by sorted codec name from the Okabe-Ito palette (distinguishable with the
common colour-vision deficiencies and in greyscale through the markers). Figures are sized for print
(fonts 8-9 pt at 1:1) and saved with a tight bounding box so nothing is clipped.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from harness.analysis import bdrate, selection
from harness.render.axes import draw_speed_front, log_ticks
from harness.render.contenders import draw_contender, empty_bd_panels, single_point_codecs

# Okabe & Ito (2008); yellow last because it is faint on white paper.
OKABE_ITO = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")
LINESTYLES = ("-", "--", "-.", ":")

STYLE: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.title_fontsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.35,
    "grid.linewidth": 0.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.4,
    "lines.markersize": 4.5,
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.05,
    "pdf.fonttype": 42,  # embed TrueType: text stays text in the PDF
    "svg.fonttype": "path",
}

FORMATS = ("png", "pdf", "svg")


@contextmanager
def style() -> Iterator[None]:
    # matplotlib types rc keys as a Literal of every rcParam name; STYLE's keys are such names.
    with mpl.rc_context(STYLE):  # type: ignore[arg-type]
        yield


def codec_styles(codecs: Sequence[str]) -> dict[str, dict[str, Any]]:
    """codec -> colour, marker, line style; by sorted name so a run's figures agree with each other."""
    styles = {}
    for i, codec in enumerate(sorted(codecs)):
        styles[codec] = {
            "color": OKABE_ITO[i % len(OKABE_ITO)],
            "marker": MARKERS[i % len(MARKERS)],
            "linestyle": LINESTYLES[(i // len(OKABE_ITO)) % len(LINESTYLES)],
        }
    return styles


def _rate_axis(ax: Any, rate_column: str, log: bool = True) -> None:
    """Call after plotting: the tick density depends on the data range."""
    label = "rate [bpp]" if rate_column == "bpp" else "rate, payload only [bpp]"
    ax.set_xlabel(label)
    if log:
        ax.set_xscale("log")
        log_ticks(ax)


def _quality_label(metric: str, transform: str) -> str:
    info = selection.metric_info(metric)
    label, unit = bdrate.transformed_label(info.label, info.unit, transform)
    if transform == "db":
        label = f"{label}, -10·log10(1-x)"
    arrow = "" if info.higher_is_better else " (lower is better)"
    return (f"{label} [{unit}]" if unit else label) + arrow


def _dataset_name(df: pd.DataFrame) -> str:
    names = sorted({str(d) for d in df["dataset"].dropna()}) if "dataset" in df else []
    return ", ".join(names) or "dataset"


def _legend_outside(fig: Figure, ax: Any, title: str | None = None) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, title=title,
                  alignment="left", borderaxespad=0.0)


def rd_figure(df: pd.DataFrame, metric: str, *, rate_column: str = "bpp", transform: str | None = None,
              spread: bool = True, log_rate: bool = True) -> Figure:
    """Dataset-mean RD curve per codec, with the interquartile range over images as error bars; contenders
    with one point per image are stars at their mean rate and quality."""
    transform = transform or bdrate.default_transform(metric)
    frame = selection.usable(df, metric, rate_column, transform)
    styles = codec_styles(selection.codec_order(df))
    singles = single_point_codecs(frame)
    with style():
        fig = Figure(figsize=(5.6, 3.6), layout="constrained")
        ax = fig.subplots()
        counts = []
        for codec in singles:
            mine = frame[frame["codec"] == codec]
            n = mine["image"].nunique()
            draw_contender(ax, codec, pd.DataFrame({"r": [mine["r"].mean()], "q": [mine["q"].mean()]}),
                            styles[codec], f"{codec} ({n} image{'s' if n > 1 else ''})")
        for codec in [c for c in selection.codec_order(df) if c not in singles]:
            curve = selection.mean_curves(frame[frame["codec"] == codec]).sort_values("r")
            if curve.empty:
                continue
            st = styles[codec]
            n = int(curve["n_images"].iloc[0])
            counts.append(n)
            if spread and n > 1:
                ax.errorbar(curve["r"], curve["q"],
                            xerr=[curve["r"] - curve["r_lo"], curve["r_hi"] - curve["r"]],
                            yerr=[curve["q"] - curve["q_lo"], curve["q_hi"] - curve["q"]],
                            fmt="none", ecolor=st["color"], elinewidth=0.6, alpha=0.45, capsize=0)
            ax.plot(curve["r"], curve["q"], label=codec, color=st["color"], marker=st["marker"],
                    linestyle=st["linestyle"], markerfacecolor="white" if st["color"] != "#000000" else "#000000",
                    markeredgewidth=1.1)
        _rate_axis(ax, rate_column, log_rate)
        ax.set_ylabel(_quality_label(metric, transform))
        n_text = f"{max(counts)} images" if counts and min(counts) == max(counts) else "images vary per codec"
        ax.set_title(f"{selection.metric_info(metric).label} vs rate, {_dataset_name(df)} ({n_text})", loc="left")
        _legend_outside(fig, ax, title="mean over images;\nbars: 25–75 % of images" if spread else None)
        missing = selection.missing_values(df, metric, rate_column)
        if not missing.empty:
            # Say on the figure itself what the curves leave out, so a missing value is never silent.
            counts = missing.groupby("reason", sort=False)["rows"].sum()
            fig.supxlabel(f"{int(counts.sum())} of {len(df)} rows without a value left out: "
                          + ", ".join(f"{why} {n}" for why, n in counts.items()), fontsize=6, x=0.01, ha="left")
    return fig


def rd_per_image_figure(df: pd.DataFrame, metric: str, *, rate_column: str = "bpp", transform: str | None = None,
                        columns: int = 4, log_rate: bool = True) -> Figure:
    """Small multiples: one panel per image with every codec's RD curve on that image."""
    transform = transform or bdrate.default_transform(metric)
    frame = selection.usable(df, metric, rate_column, transform)
    styles = codec_styles(selection.codec_order(df))
    images = sorted(frame["image"].unique())
    singles = single_point_codecs(frame)
    rows = max(1, math.ceil(len(images) / columns))
    cols = min(columns, max(1, len(images)))
    with style():
        fig = Figure(figsize=(2.3 * cols, 1.9 * rows + 0.6), layout="constrained")
        axes = fig.subplots(rows, cols, squeeze=False)
        for ax, image in zip(axes.flat, images):
            for codec in selection.codec_order(df):
                g = frame[(frame["image"] == image) & (frame["codec"] == codec)].sort_values("r")
                if g.empty:
                    continue
                st = styles[codec]
                if codec in singles:
                    draw_contender(ax, codec, g, st, codec)
                    continue
                ax.plot(g["r"], g["q"], color=st["color"], marker=st["marker"], linestyle=st["linestyle"],
                        markersize=3, linewidth=1.0, label=codec)
            ax.set_title(image, fontsize=8, loc="left")
            _rate_axis(ax, rate_column, log_rate)
            ax.set_xlabel("")
            ax.set_ylabel("")
        for ax in list(axes.flat)[len(images):]:
            ax.set_visible(False)
        fig.supxlabel("rate [bpp]" if rate_column == "bpp" else "rate, payload only [bpp]", fontsize=9)
        fig.supylabel(_quality_label(metric, transform), fontsize=9)
        seen: dict[str, Any] = {}
        for ax in axes.flat:  # every codec once, also those missing from the first panel
            for handle, label in zip(*ax.get_legend_handles_labels()):
                seen.setdefault(label, handle)
        handles, labels = list(seen.values()), list(seen)
        fig.legend(handles, labels, loc="outside upper center", ncols=min(len(labels), 6), frameon=False)
    return fig


def bd_bar_figure(bd: pd.DataFrame, metrics: Sequence[str] | None = None) -> Figure:
    """Horizontal bars of BD-rate against the anchor, one panel per metric, codecs in sorted order."""
    table = bd[bd["kind"] == "rate"] if "kind" in bd else bd
    metrics = list(metrics) if metrics else list(dict.fromkeys(table["metric"]))
    empty = empty_bd_panels(table, metrics)
    metrics = [m for m in metrics if m not in empty]
    anchor = str(table["anchor"].iloc[0]) if len(table) else "anchor"
    codecs = sorted(table["codec"].unique())
    styles = codec_styles(codecs + [anchor])
    panels = max(1, len(metrics))
    cols = min(panels, 3)
    rows = math.ceil(panels / cols)
    height = 0.32 * max(len(codecs), 1) + 0.9
    with style():
        fig = Figure(figsize=(2.9 * cols + 0.6, height * rows + 0.3), layout="constrained")
        axes = fig.subplots(rows, cols, squeeze=False, sharey=True)
        for ax, metric in zip(axes.flat, metrics):
            sub = table[table["metric"] == metric].set_index("codec")
            y = np.arange(len(codecs))[::-1]
            values = [float(sub.loc[c, "value"]) if c in sub.index and pd.notna(sub.loc[c, "value"]) else np.nan
                      for c in codecs]
            finite = [v for v in values if np.isfinite(v)]
            span = max([abs(v) for v in finite] + [1.0])
            for yi, codec, v in zip(y, codecs, values):
                if np.isfinite(v):
                    ax.barh(yi, v, color=styles[codec]["color"], height=0.62, edgecolor="black", linewidth=0.4)
                    ax.text(v + (0.02 * span if v >= 0 else -0.02 * span), yi, f"{v:+.1f} %", va="center",
                            ha="left" if v >= 0 else "right", fontsize=7.5)
                else:
                    ax.text(0, yi, "  n/a", va="center", ha="left", fontsize=7.5, color="0.4")
            ax.axvline(0, color="black", linewidth=0.8)
            lo = min(finite + [0.0])
            hi = max(finite + [0.0])
            pad = 0.28 * (hi - lo or 1.0)
            ax.set_xlim(lo - (pad if lo < 0 else 0.05 * pad), hi + (pad if hi > 0 else 0.05 * pad))
            ax.set_yticks(y, codecs)
            ax.grid(axis="y", visible=False)
            transform = sub["transform"].iloc[0] if len(sub) and "transform" in sub else "identity"
            info = selection.metric_info(metric)
            ax.set_title(info.label + (" in dB" if transform == "db" else ""), loc="left")
            ax.set_xlabel(f"BD-rate vs {anchor} [%]")
        for ax in list(axes.flat)[len(metrics):]:
            ax.set_visible(False)
        pooling = table["pooling"].iloc[0] if len(table) and "pooling" in table else ""
        method = table["method"].iloc[0] if len(table) and "method" in table else ""
        fig.suptitle(f"BD-rate against {anchor} ({method}, {pooling}); negative = fewer bits", fontsize=9, x=0.01,
                     ha="left")
        if empty:
            fig.supxlabel("left out, no BD-rate for any codec: " + ", ".join(empty), fontsize=6, x=0.01, ha="left")
    return fig


def time_scatter_figure(summary: pd.DataFrame, bd: pd.DataFrame, metric: str) -> Figure:
    """Encode and decode speed in megapixels per second (log; from the rows' median seconds per megapixel, as
    each row's ``timing`` measures them: ffmpeg's own CPU time, not its start-up) against BD-rate for one
    metric; the anchor sits at 0."""
    table = bd[(bd["kind"] == "rate") & (bd["metric"] == metric)] if "kind" in bd else bd[bd["metric"] == metric]
    anchor = str(table["anchor"].iloc[0]) if len(table) else None
    styles = codec_styles(list(summary["codec"]))
    values = {str(c): (float(v) if pd.notna(v) else np.nan) for c, v in zip(table["codec"], table["value"])}
    if anchor:
        values[anchor] = 0.0
    with style():
        fig = Figure(figsize=(6.4, 3.0), layout="constrained")
        axes = fig.subplots(1, 2, sharey=True)
        for ax, column, what in ((axes[0], "encode_s_per_mp", "encode"), (axes[1], "decode_s_per_mp", "decode")):
            xs = []
            for _, row in summary.iterrows():
                codec = str(row["codec"])
                seconds, v = float(row[column]), values.get(codec, np.nan)
                if not (np.isfinite(seconds) and seconds > 0 and np.isfinite(v)):
                    continue
                x = 1.0 / seconds  # megapixels per second
                xs.append(x)
                st = styles[codec]
                ax.scatter([x], [v], color=st["color"], marker=st["marker"], s=36, label=codec,
                           edgecolors="black", linewidths=0.4, zorder=3)
            draw_speed_front(ax, summary, bd, metric, what, values)
            ax.set_xscale("log")
            if xs:
                # At least a decade wide, so log ticks exist and points do not sit on the frame.
                lo, hi = min(xs) / 1.6, max(xs) * 1.6
                if hi / lo < 10:
                    mid = math.sqrt(lo * hi)
                    lo, hi = mid / math.sqrt(10), mid * math.sqrt(10)
                ax.set_xlim(lo, hi)
            log_ticks(ax)
            ax.axhline(0, color="0.3", linewidth=0.7, linestyle="--")
            ax.set_xlabel(f"{what} speed [megapixels per second]")
        info = selection.metric_info(metric)
        axes[0].set_ylabel(f"BD-rate vs {anchor} [%]\n({info.label})")
        _legend_outside(fig, axes[1])
    return fig


def save(fig: Figure, path_stem: Path, formats: Sequence[str]) -> list[Path]:
    paths = []
    for fmt in formats:
        if fmt not in FORMATS:
            raise selection.ReportError(f"unknown figure format {fmt!r} (known: {', '.join(FORMATS)})")
        path = path_stem.parent / f"{path_stem.name}.{fmt}"
        with style():
            fig.savefig(path, format=fmt)
        paths.append(path)
    return paths
