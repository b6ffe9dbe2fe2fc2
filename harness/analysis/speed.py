"""Speed against compression: the codecs on the Pareto front of encode or decode speed against BD-rate."""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.core.pareto import pareto_front


def speed_front(summary: pd.DataFrame, bd: pd.DataFrame, metric: str, speed: str = "encode") -> list[str]:
    """Codecs on the Pareto front of ``speed`` (encode or decode, megapixels per second from the summary's median
    seconds per megapixel) against BD-rate on ``metric`` (the anchor at 0), fastest first."""
    table = bd[(bd["metric"] == metric) & (bd["kind"] == "rate")] if "kind" in bd else bd[bd["metric"] == metric]
    values = {str(c): float(v) for c, v in zip(table["codec"], table["value"]) if pd.notna(v)}
    if len(table):
        values[str(table["anchor"].iloc[0])] = 0.0
    points = []
    for _, row in summary.iterrows():
        seconds = float(row[f"{speed}_s_per_mp"])
        if str(row["codec"]) in values and np.isfinite(seconds) and seconds > 0:
            points.append((str(row["codec"]), 1.0 / seconds, values[str(row["codec"])]))
    return [str(codec) for codec in pareto_front(points)]
