"""What the RD figures need to know of contenders without a curve (published reconstructions, one point per
image: drawn as star markers) and of panels without data (left out and named, never drawn empty)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd


def single_point_codecs(frame: pd.DataFrame) -> list[str]:
    """Published contenders with one point per image (PICO, HiFiC, ...): no curve, so drawn as markers."""
    if "rate_source" not in frame:
        return []
    published = frame[frame["rate_source"] == "published"]
    counts = published.groupby(["codec", "image"]).size()
    return sorted(str(c) for c, n in counts.groupby(level="codec").max().items() if n == 1)


def draw_contender(ax: Any, codec: str, points: pd.DataFrame, st: dict[str, Any], label: str) -> None:
    ax.plot(points["r"], points["q"], linestyle="none", marker="*", markersize=11, color=st["color"],
            markeredgecolor="black", markeredgewidth=0.6, label=label, zorder=4)


def empty_bd_panels(bd: pd.DataFrame, metrics: Sequence[str]) -> list[str]:
    """Metrics whose BD-rate panel would be empty (no finite value for any codec): left out and named."""
    table = bd[bd["kind"] == "rate"] if "kind" in bd else bd
    finite = pd.to_numeric(table["value"], errors="coerce").notna()
    return [m for m in metrics if not (finite & (table["metric"] == m)).any()]
