"""Axis helpers the figures share: plain-number log ticks and the Pareto front line."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from harness.analysis.speed import speed_front


def log_ticks(ax: Any) -> None:
    """Plain-number ticks on a log x axis: 1-2-5 per decade over up to two decades, decades beyond
    (1-2-5 over three decades collide at print size)."""
    lo, hi = ax.get_xlim()
    decades = math.log10(hi / lo) if lo > 0 and hi > lo else 1.0
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0) if decades <= 2.2 else (1.0,)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def draw_speed_front(ax: Any, summary: pd.DataFrame, bd: pd.DataFrame, metric: str, what: str,
                     values: dict[str, float]) -> None:
    """The Pareto front of ``what`` (encode or decode) speed against BD-rate as a dotted step line."""
    front = speed_front(summary, bd, metric, what)
    speeds = {str(r["codec"]): 1.0 / float(r[f"{what}_s_per_mp"]) for _, r in summary.iterrows()}
    if len(front) > 1:
        ax.step([speeds[c] for c in front], [values[c] for c in front], where="post", color="0.2", linewidth=0.8,
                linestyle=":", label="Pareto front", zorder=2)
