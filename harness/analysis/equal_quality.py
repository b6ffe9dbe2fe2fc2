"""Bits at equal quality: a single-point contender's rate over each rival's rate at the contender's quality.

The PICO claim is a rate claim ("at equal quality, PICO's files are 30-43% of its rivals'"). For every image,
metric and rival with a curve on that image, the rival's bpp at exactly the contender's value of the metric
is read on the rival's own curve (pchip on log bpp over quality, as BD-rate,
:func:`harness.analysis.bdrate.rate_at_quality`), never extrapolated: an image whose rival curve does not
reach the contender's value is counted as unreachable. Per rival and metric the ratios are aggregated as a
geometric mean over images with a 95% bootstrap interval (images resampled).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from harness.analysis.bdrate import rate_at_quality
from harness.metrics import column_info

BOOTSTRAP_SAMPLES = 2000
# The paper's claimed band: PICO's file size as a fraction of AV1's, AV2's, VVC's, ECM's and JPEG AI's.
CLAIMED_BAND = (0.30, 0.43)
CLAIMED_RIVALS = ("AV1", "AV2", "VVC", "ECM", "JPEG AI")


def higher_is_better(metric: str) -> bool:
    info = column_info(metric)
    return True if info is None else info.higher_is_better


@dataclass(frozen=True)
class RatioCell:
    """PICO's size as a fraction of one rival's at equal quality of one metric, over the images."""

    rival: str
    metric: str
    ratio: float | None  # geometric mean of per-image ratios (None: no image reached)
    low: float | None
    high: float | None
    images: int  # images with a ratio
    total: int  # images where both have data
    unreachable: tuple[str, ...] = ()

    def text(self) -> str:
        """``38% [31-45] (6/6)``: percent, 95% interval, images with a ratio / images compared."""
        if self.ratio is None:
            return f"n/a ({self.images}/{self.total})"
        interval = (f" [{self.low * 100:.0f}-{self.high * 100:.0f}]"
                    if self.low is not None and self.high is not None else "")
        return f"{self.ratio * 100:.0f}%{interval} ({self.images}/{self.total})"


@dataclass
class EqualQuality:
    anchor: str
    metrics: list[str]
    per_image: pd.DataFrame  # image, rival, metric, anchor_bpp, anchor_value, rival_bpp, ratio, status
    cells: list[RatioCell]
    notes: list[str] = field(default_factory=list)

    def cell(self, rival: str, metric: str) -> RatioCell | None:
        return next((c for c in self.cells if c.rival == rival and c.metric == metric), None)

    @property
    def rivals(self) -> list[str]:
        return list(dict.fromkeys(c.rival for c in self.cells))


def geometric_interval(ratios: Sequence[float], samples: int = BOOTSTRAP_SAMPLES,
                       seed: int = 0) -> tuple[float, float | None, float | None]:
    """Geometric mean and its 95% percentile-bootstrap interval (images resampled with replacement);
    no interval from fewer than two images."""
    logs = np.log(np.asarray(ratios, dtype=np.float64))
    mean = float(math.exp(logs.mean()))
    if logs.size < 2:
        return mean, None, None
    rng = np.random.default_rng(seed)
    draws = np.exp(logs[rng.integers(0, logs.size, size=(samples, logs.size))].mean(axis=1))
    low, high = np.percentile(draws, [2.5, 97.5])
    return mean, float(low), float(high)


def _curves(df: pd.DataFrame, anchor: str) -> dict[tuple[str, str], pd.DataFrame]:
    """(rival, image) -> the rival's measured rows on that image, for rivals with a curve (two points or more)."""
    rivals = df[(df["codec"] != anchor) & (df["status"] == "ok") & (df["rate_source"] != "published")]
    out: dict[tuple[str, str], pd.DataFrame] = {}
    for (codec, image), rows in rivals.groupby(["codec", "image"], sort=False):
        if rows["bpp"].notna().sum() >= 2:
            out[(str(codec), str(image))] = rows
    return out


def equal_quality(df: pd.DataFrame, anchor: str, metrics: Sequence[str], *,
                  samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> EqualQuality:
    """The equal-quality rate ratio of ``anchor`` (one point per image) against every rival with a curve."""
    anchor_rows = df[(df["codec"] == anchor) & (df["status"] == "ok") & df["bpp"].notna()]
    curves = _curves(df, anchor)
    records = []
    for a in anchor_rows.itertuples(index=False):
        image = str(a.image)
        for (rival, rival_image), rows in curves.items():
            if rival_image != image:
                continue
            for metric in metrics:
                raw = getattr(a, metric, None) if metric in anchor_rows else None
                value = float(raw) if raw is not None and pd.notna(raw) else float("nan")
                rival_bpp, status = float("nan"), "missing"
                have = rows[["bpp", metric]].dropna() if metric in rows else pd.DataFrame()
                if len(have) >= 2 and math.isfinite(value):
                    rival_bpp = float(rate_at_quality(have["bpp"].to_numpy(float), have[metric].to_numpy(float),
                                                      [value], higher_is_better=higher_is_better(metric))[0])
                    status = "ok" if math.isfinite(rival_bpp) else "unreachable"
                records.append({"image": image, "rival": rival, "metric": metric, "anchor_bpp": float(a.bpp),
                                "anchor_value": value, "rival_bpp": rival_bpp,
                                "ratio": float(a.bpp) / rival_bpp if status == "ok" else float("nan"),
                                "status": status})
    columns = ["image", "rival", "metric", "anchor_bpp", "anchor_value", "rival_bpp", "ratio", "status"]
    per_image = pd.DataFrame.from_records(records, columns=columns)
    cells: list[RatioCell] = []
    notes: list[str] = []
    for (rival, metric), group in per_image.groupby(["rival", "metric"], sort=False):
        compared = group[group["status"] != "missing"]
        ok = compared[compared["status"] == "ok"]
        unreachable = tuple(sorted(compared.loc[compared["status"] == "unreachable", "image"].astype(str)))
        if unreachable:
            notes.append(f"{rival}, {metric}: {len(unreachable)} image(s) where the rival's curve does not reach "
                         f"{anchor}'s value ({', '.join(unreachable)}); not extrapolated")
        if ok.empty:
            cells.append(RatioCell(str(rival), str(metric), None, None, None, 0, len(compared), unreachable))
            continue
        mean, low, high = geometric_interval(ok["ratio"].to_numpy(float), samples, seed)
        cells.append(RatioCell(str(rival), str(metric), mean, low, high, len(ok), len(compared), unreachable))
    return EqualQuality(anchor, list(metrics), per_image, cells, notes)


def headline_markdown(result: EqualQuality) -> str:
    """The report's opening table: rivals x metrics, each cell ``38% [31-45] (6/6)``, the claim beside it."""
    metrics = [m for m in result.metrics if any(c.metric == m for c in result.cells)]
    lines = [f"**{result.anchor}'s file size as a percentage of each rival's at equal metric quality** "
             "(geometric mean over images [95% bootstrap interval] (images reached/compared)):", "",
             "| rival | " + " | ".join(metrics) + " |", "|---|" + "---|" * len(metrics)]
    for rival in result.rivals:
        cells = [result.cell(rival, m) for m in metrics]
        lines.append(f"| {rival} | " + " | ".join(c.text() if c else "" for c in cells) + " |")
    low, high = CLAIMED_BAND
    lines += ["", f"The paper claims {low:.0%}-{high:.0%} against {', '.join(CLAIMED_RIVALS)} at equal *perceived* "
              "quality. These figures are at equal *metric* quality, which is not the same thing: only a study "
              "with people (`harness study`) measures perceived quality."]
    if result.notes:
        lines += [""] + [f"- {n}" for n in result.notes]
    return "\n".join(lines)
