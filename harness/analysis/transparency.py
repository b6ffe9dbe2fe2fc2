"""What each codec needs to reach a quality target (``--target-quality``): bpp at exactly the target per image,
read on the codec's own curve (pchip on log bpp over quality, as BD-rate; never extrapolated), aggregated as
a geometric mean over images with a 95% bootstrap interval. For "visually lossless" targets such as
``ssimulacra2=90`` or ``butteraugli_max=1`` this is the transparency table."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from harness.analysis.bdrate import rate_at_quality
from harness.analysis.equal_quality import geometric_interval, higher_is_better


@dataclass(frozen=True)
class TargetCell:
    codec: str
    target: str  # "ssimulacra2=90"
    bpp: float | None  # geometric mean over the images that reach it
    low: float | None
    high: float | None
    images: int
    total: int

    def text(self) -> str:
        if self.bpp is None:
            return f"not reached ({self.images}/{self.total})"
        interval = f" [{self.low:.3g}-{self.high:.3g}]" if self.low is not None and self.high is not None else ""
        return f"{self.bpp:.3g}{interval} ({self.images}/{self.total})"


def parse_target(text: str) -> tuple[str, float]:
    column, _, value = text.partition("=")
    return column, float(value)


def rates_at_targets(df: pd.DataFrame, targets: Sequence[str]) -> pd.DataFrame:
    """One row per (codec, image, target): the bpp at exactly the target on that image's curve (NaN when
    the codec's curve does not reach it)."""
    ok = df[(df["status"] == "ok") & df["bpp"].notna()]
    records = []
    for target in targets:
        column, value = parse_target(target)
        if column not in ok:
            continue
        for (codec, image), rows in ok.groupby(["codec", "image"], sort=False):
            have = rows[["bpp", column]].dropna()
            bpp = float("nan")
            if len(have) >= 2:
                bpp = float(rate_at_quality(have["bpp"].to_numpy(float), have[column].to_numpy(float), [value],
                                            higher_is_better=higher_is_better(column))[0])
            records.append({"codec": str(codec), "image": str(image), "target": target, "bpp": bpp})
    return pd.DataFrame.from_records(records, columns=["codec", "image", "target", "bpp"])


def transparency(df: pd.DataFrame, targets: Sequence[str]) -> list[TargetCell]:
    per_image = rates_at_targets(df, targets)
    cells = []
    for (codec, target), group in per_image.groupby(["codec", "target"], sort=False):
        reached = group["bpp"][group["bpp"].map(math.isfinite)]
        if reached.empty:
            cells.append(TargetCell(str(codec), str(target), None, None, None, 0, len(group)))
            continue
        mean, low, high = geometric_interval(reached.to_numpy(float))
        cells.append(TargetCell(str(codec), str(target), mean, low, high, len(reached), len(group)))
    return cells


def transparency_markdown(cells: Sequence[TargetCell]) -> str:
    targets = list(dict.fromkeys(c.target for c in cells))
    codecs = sorted({c.codec for c in cells}, key=lambda c: min((x.bpp or math.inf) for x in cells if x.codec == c))
    lines = ["**bpp each codec needs to reach each quality target** (geometric mean over images "
             "[95% bootstrap interval] (images reached/searched); read on each codec's own curve at exactly the "
             "target):", "", "| codec | " + " | ".join(targets) + " |", "|---|" + "---|" * len(targets)]
    for codec in codecs:
        by_target = {c.target: c for c in cells if c.codec == codec}
        lines.append(f"| {codec} | " + " | ".join(by_target[t].text() if t in by_target else "" for t in targets)
                     + " |")
    return "\n".join(lines)
