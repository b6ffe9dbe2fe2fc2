"""Every codec against an anchor at the anchor's own rates, image by image: the comparison to make when the
anchor has one point per image (published reconstructions such as PICO's), where BD-rate does not exist.

- A codec with a knob (run with ``--match``) is read on **its own RD curve for that image** at exactly the
  anchor's bpp: the rate search keeps its bracketing encodes as rows (role "search") and every metric is
  interpolated between them (pchip on log bpp, :func:`harness.analysis.bdrate.quality_at_rate`); the nearest
  real encode is kept beside.
- A rival without a curve (a published reconstruction) is compared where it is, with its **rate gap**: within
  the tolerance it is a comparison at equal rate; otherwise "anchor better at a lower rate" (the anchor spends
  fewer bits and still wins), "codec better at a lower rate", or "inconclusive" - never silently equal.
- A table's figures are computed on the **same images** (those all its codecs share); per-codec figures on
  each codec's own images are kept apart (``full_summary``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from harness.analysis.bdrate import quality_at_rate
from harness.analysis.selection import ReportError, metric_columns, resolve_anchor
from harness.analysis.tables import bd_table
from harness.metrics import column_info
from harness.run.ratecontrol import DEFAULT_RATE_TOLERANCE

DEFAULT_MAX_GAP = 0.25  # relative rate difference beyond which two points are not "at equal bpp"
PSNR_COLUMNS = ("psnr_rgb", "psnr_y709", "psnr_y601", "psnr_ycbcr611")
TEXT_PREFIXES = ("text",)


@dataclass
class EqualRate:
    """The pairs (anchor point, other codec's point) and what was measured on them."""

    run: str
    anchor: str
    metrics: list[str]
    pairs: pd.DataFrame  # one row per (codec, image, anchor point)
    summary: pd.DataFrame  # one row per (codec, metric)
    unpaired: pd.DataFrame  # anchor points a codec has no comparable point for, with why
    failures: pd.DataFrame  # rows whose codec failed
    bd: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    absent: pd.DataFrame = field(default_factory=pd.DataFrame)  # images a published source has nothing for
    common: list[str] = field(default_factory=list)  # the images every compared codec shares
    full_summary: pd.DataFrame = field(default_factory=pd.DataFrame)  # per codec, on all of its own images
    tolerance: float = DEFAULT_RATE_TOLERANCE


# The columns an equal-rate comparison reads when the user names none (others of the run stay out of the tables).
STUDY_METRICS = ("psnr_rgb", "psnr_y709", "ms_ssim_rgb", "lpips_alex", "lpips_vgg", "dists")


def _default_metrics(available: Sequence[str]) -> list[str]:
    chosen = [m for m in STUDY_METRICS if m in available] + [m for m in available if m.startswith(TEXT_PREFIXES)]
    return chosen or list(available)


def _metric_order(columns: Sequence[str]) -> list[str]:
    def rank(name: str) -> tuple[int, str]:
        for i, prefix in enumerate(("psnr_rgb", "psnr_y", "psnr", "ms_ssim", "lpips", "dists", "text")):
            if name.startswith(prefix):
                return i, name
        return 99, name

    return sorted(columns, key=rank)


def _higher_is_better(metric: str) -> bool:
    info = column_info(metric)
    return True if info is None else info.higher_is_better


def metric_label(metric: str) -> str:
    """A metric column's label with its unit, for tables."""
    info = column_info(metric)
    if info is None:
        return metric
    return f"{info.label} [{info.unit}]" if info.unit else info.label


BOOTSTRAP_SAMPLES = 2000
EQUAL_RATE_OUTCOMES = ("anchor", "codec", "tie")


def _how(row: pd.Series, tolerance: float) -> str:
    if pd.notna(row.get("target_bpp")):
        within = abs(row["bpp"] / row["target_bpp"] - 1) <= tolerance + 1e-12
        return "matched" if within else "matched (off target)"
    return "published" if row.get("rate_source") == "published" else "own point"


def _metric_value(row: pd.Series | dict, metric: str) -> float:
    value = row.get(metric, np.nan)
    return float(value) if value is not None and pd.notna(value) else float("nan")


def _on_curve(mine: pd.DataFrame, rate: float, metric: str) -> float | None:
    """``metric`` of the codec on this image at exactly ``rate``, on its own RD curve (None off the curve)."""
    if metric not in mine:
        return None
    return quality_at_rate(mine["bpp"].to_numpy(float), mine[metric].to_numpy(float), rate)


def outcome(delta: float, rate_gap: float, higher_is_better: bool, tolerance: float) -> str:
    """What one comparison says: at equal rate (``anchor``, ``codec``, ``tie``), or, when the rates differ by
    more than ``tolerance``, ``anchor at lower rate`` / ``codec at lower rate`` where the cheaper one also wins,
    else ``inconclusive``. ``delta`` is codec minus anchor; ``rate_gap`` the codec's rate over the anchor's - 1."""
    if not math.isfinite(delta):
        return "missing"
    codec_better = (delta > 0) == higher_is_better and delta != 0
    anchor_better = delta != 0 and not codec_better
    if abs(rate_gap) <= tolerance + 1e-12:
        return "anchor" if anchor_better else "codec" if codec_better else "tie"
    if rate_gap > 0:  # the codec spends more bits
        return "anchor at lower rate" if anchor_better or delta == 0 else "inconclusive"
    return "codec at lower rate" if codec_better or delta == 0 else "inconclusive"


def equal_rate(df: pd.DataFrame, anchor: str = "pico", metrics: Sequence[str] | None = None, *,
               max_gap: float = DEFAULT_MAX_GAP, tolerance: float = DEFAULT_RATE_TOLERANCE, run: str = "run",
               seed: int = 0) -> EqualRate:
    """Pair every ok anchor row with each other codec on the same image at the anchor's rate: on the codec's
    own curve where it has one around that rate, else at its matched or nearest published point."""
    if df.empty:
        raise ReportError(f"{run}: the results table is empty")
    anchor = resolve_anchor(df, anchor)
    metrics = _metric_order(list(metrics) if metrics else _default_metrics(metric_columns(df)))
    if not metrics:
        raise ReportError(f"{run}: no metric column with finite values")
    ok = df[df["status"] == "ok"].copy()
    ok["codec"] = ok["codec"].astype(str)
    ok["image"] = ok["image"].astype(str)
    ok["bpp"] = ok["bpp"].astype(float)
    anchors = ok[ok["codec"] == anchor]
    if anchors.empty:
        raise ReportError(f"{run}: the anchor {anchor} has no successful rows")
    pairs, unpaired = [], []
    others = sorted(c for c in ok["codec"].unique() if c != anchor)
    for codec in others:
        rows = ok[ok["codec"] == codec]
        for image, at in anchors.groupby("image"):
            mine = rows[rows["image"] == image]
            anchor_rates = at["bpp"].to_numpy()
            for _, a in at.sort_values("bpp").iterrows():
                match = _partner(a, mine, anchor_rates, max_gap)
                if isinstance(match, str):
                    unpaired.append({"codec": codec, "image": image, "anchor_bpp": a["bpp"], "why": match})
                    continue
                measured = mine[mine.get("rate_source", pd.Series("measured", index=mine.index)) != "published"]
                curve = {m: _on_curve(measured, float(a["bpp"]), m) for m in metrics} if len(measured) >= 2 else {}
                interpolated = bool(curve) and all(v is not None for v in curve.values())
                pair = {"codec": codec, "image": image, "anchor_bpp": a["bpp"],
                        "bpp": float(a["bpp"]) if interpolated else match["bpp"],
                        "rate_gap": 0.0 if interpolated else match["bpp"] / a["bpp"] - 1,
                        "nearest_bpp": match["bpp"], "nearest_gap": match["bpp"] / a["bpp"] - 1,
                        "how": "interpolated" if interpolated else _how(match, tolerance),
                        "rate_source": match.get("rate_source"), "codec_name": match.get("codec_name")}
                for metric in metrics:
                    va = _metric_value(a, metric)
                    nearest = _metric_value(match, metric)
                    vc = float(curve[metric]) if interpolated else nearest  # type: ignore[arg-type]
                    pair[f"{metric}:anchor"] = va
                    pair[f"{metric}:codec"] = vc
                    pair[f"{metric}:nearest"] = nearest
                    delta = vc - va if math.isfinite(va) and math.isfinite(vc) else np.nan
                    pair[f"{metric}:delta"] = delta
                    if math.isfinite(delta):
                        better = delta < 0 if _higher_is_better(metric) else delta > 0
                        pair[f"{metric}:anchor_better"] = bool(better) if delta != 0 else None
                    else:
                        pair[f"{metric}:anchor_better"] = None
                    pair[f"{metric}:outcome"] = outcome(delta, pair["rate_gap"], _higher_is_better(metric), tolerance)
                pairs.append(pair)
    pairs_df = pd.DataFrame(pairs)
    common = common_images(pairs_df)
    summary = _summarise(pairs_df[pairs_df["image"].isin(common)] if not pairs_df.empty else pairs_df, metrics,
                         anchor, seed)
    full = _summarise(pairs_df, metrics, anchor, seed)
    status = df["status"].astype(str) if "status" in df else pd.Series(dtype=str)
    columns = [c for c in ("codec", "image", "point", "error") if c in df]
    failures = df[status == "failed"][columns].copy()
    absent = df[status == "absent"][columns].copy()
    result = EqualRate(run, anchor, metrics, pairs_df, summary,
                       pd.DataFrame(unpaired, columns=["codec", "image", "anchor_bpp", "why"]), failures,
                       absent=absent, common=common, full_summary=full, tolerance=tolerance)
    result.bd = _bd_if_curves(df, anchor, metrics, result)
    return result


def common_images(pairs: pd.DataFrame) -> list[str]:
    """The images every codec of the comparison has a pair on: what a table's figures are computed over."""
    if pairs.empty:
        return []
    sets = [set(g["image"]) for _, g in pairs.groupby("codec")]
    return sorted(set.intersection(*sets))


def _partner(a: pd.Series, mine: pd.DataFrame, anchor_rates: np.ndarray, max_gap: float) -> pd.Series | str:
    """The other codec's row at the anchor row's bpp: its rate-matched row, else its nearest point within
    ``max_gap`` that is not nearer to another anchor point of the image; or why there is none."""
    if mine.empty:
        return "no successful row on this image"
    if "target_bpp" in mine:
        targeted = mine[mine["target_bpp"].notna()]
        hit = targeted[np.isclose(targeted["target_bpp"].astype(float), a["bpp"], rtol=1e-9, atol=1e-12)]
        if len(hit):
            return hit.iloc[0]
        untargeted = mine[mine["target_bpp"].isna()]
    else:
        untargeted = mine
    if "role" in untargeted:  # a search encode stands for a target elsewhere; it is read on the curve, not paired
        untargeted = untargeted[untargeted["role"].isna()]
    if untargeted.empty:
        return "no row matched to this anchor rate"
    gaps = (untargeted["bpp"] / a["bpp"] - 1).abs()
    best = untargeted.loc[gaps.idxmin()]
    gap = float(gaps.min())
    if gap > max_gap:
        return f"nearest point {best['bpp']:.4g} bpp is {gap:.0%} away (more than {max_gap:.0%})"
    nearest_anchor = anchor_rates[np.argmin(np.abs(anchor_rates / best["bpp"] - 1))]
    if not math.isclose(nearest_anchor, a["bpp"]):
        return f"its point {best['bpp']:.4g} bpp is nearer the anchor's {nearest_anchor:.4g} bpp"
    return best


def bootstrap_interval(values: np.ndarray, seed: int = 0, samples: int = BOOTSTRAP_SAMPLES) -> tuple[float, float]:
    """95% percentile interval of the mean of ``values`` (resampled over images); NaN for fewer than two."""
    values = np.asarray(values, dtype=float)
    if values.size < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(samples, values.size))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def _verdict(outcomes: Sequence[str], low: float, high: float, higher_is_better: bool, anchor: str, codec: str) -> str:
    """One verdict for a codec and metric from its per-image outcomes (and the interval of the mean)."""
    counts = {o: outcomes.count(o) for o in set(outcomes)}
    n = len(outcomes)
    if counts.get("inconclusive"):
        return f"inconclusive ({counts['inconclusive']}/{n} at different rates, cheaper one not better)"
    if all(o in EQUAL_RATE_OUTCOMES for o in outcomes):
        wins, losses = counts.get("anchor", 0), counts.get("codec", 0)
        if math.isfinite(low) and math.isfinite(high):
            anchor_side = (high < 0) if higher_is_better else (low > 0)
            codec_side = (low > 0) if higher_is_better else (high < 0)
            if anchor_side:
                return f"{anchor} better"
            if codec_side:
                return f"{codec} better"
            return f"no clear difference ({anchor} better on {wins}/{n})"
        return f"{anchor} better" if wins == n else f"{codec} better" if losses == n else f"mixed ({wins}/{n})"
    if all(o in ("anchor", "anchor at lower rate", "tie") for o in outcomes):
        return f"{anchor} better at a lower rate"
    if all(o in ("codec", "codec at lower rate", "tie") for o in outcomes):
        return f"{codec} better at a lower rate"
    return f"mixed ({counts.get('anchor', 0) + counts.get('anchor at lower rate', 0)}/{n} for {anchor})"


def _summarise(pairs: pd.DataFrame, metrics: Sequence[str], anchor: str, seed: int = 0) -> pd.DataFrame:
    columns = ["codec", "metric", "n", "mean_anchor", "mean_codec", "mean_delta", "low", "high", "anchor_better",
               "codec_better", "mean_rate_gap", "max_rate_gap", "how", "verdict"]
    rows = []
    if pairs.empty:
        return pd.DataFrame(columns=columns)
    for codec, g in pairs.groupby("codec"):
        for metric in metrics:
            delta = g[f"{metric}:delta"].astype(float)
            valid = g[np.isfinite(delta)]
            if valid.empty:
                continue
            hib = _higher_is_better(metric)
            outcomes = [str(o) for o in valid[f"{metric}:outcome"]]
            low, high = bootstrap_interval(valid[f"{metric}:delta"].to_numpy(float), seed)
            hows = sorted(set(valid["how"]))
            rows.append({"codec": codec, "metric": metric, "n": len(valid),
                         "mean_anchor": float(valid[f"{metric}:anchor"].mean()),
                         "mean_codec": float(valid[f"{metric}:codec"].mean()),
                         "mean_delta": float(valid[f"{metric}:delta"].astype(float).mean()),
                         "low": low, "high": high,
                         "anchor_better": sum(o in ("anchor", "anchor at lower rate") for o in outcomes),
                         "codec_better": sum(o in ("codec", "codec at lower rate") for o in outcomes),
                         "mean_rate_gap": float(valid["rate_gap"].mean()),
                         "max_rate_gap": float(valid["rate_gap"].abs().max()),
                         "how": ", ".join(hows),
                         "verdict": _verdict(outcomes, low, high, hib, anchor, str(codec))})
    return pd.DataFrame(rows, columns=columns)


def _bd_if_curves(df: pd.DataFrame, anchor: str, metrics: Sequence[str], result: EqualRate) -> pd.DataFrame | None:
    """BD-rate against the anchor where it has two or more points per image (the authors' CLIC release)."""
    ok = df[(df["status"] == "ok") & (df["codec"].astype(str) == anchor)]
    if ok.empty or ok.groupby("image")["bpp"].nunique().max() < 2:
        result.notes.append("The anchor has one point per image here: BD-rate needs two or more, so the "
                            "comparison is the per-image difference at equal bpp.")
        return None
    table = bd_table(df, anchor, list(metrics), kind="rate")
    return table


