"""The tables of a codec comparison, computed from a run's rows (no formatting here): BD-rate and
BD-quality against an anchor (pooled or per image, with diagnostics), matched-quality size ratios, and a
per-codec summary.

Rows that failed, and points whose quality or rate is not finite (PSNR = inf for a lossless decode),
never enter a BD computation; how many were left out is part of the diagnostics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from harness.analysis import bdrate
from harness.analysis.selection import (
    ReportError,
    check_rate_column,
    codec_order,
    mean_curves,
    metric_columns,
    metric_frames,
    metric_info,
    point_key,
    resolve_anchor,
)

POOLINGS = ("per-image", "pooled")
KINDS = ("rate", "quality")


# --- BD tables ------------------------------------------------------------------------------------------

def _bd(kind: str, ra: np.ndarray, qa: np.ndarray, rt: np.ndarray, qt: np.ndarray, method: str, hib: bool,
        min_overlap: float) -> bdrate.BDResult:
    fn = bdrate.bd_rate if kind == "rate" else bdrate.bd_quality
    # Values arrive already transformed, so the BD functions see them as is.
    return fn(ra, qa, rt, qt, method, higher_is_better=hib, min_overlap=min_overlap)


def bd_per_image(df: pd.DataFrame, anchor: str, metrics: Sequence[str] | None = None, *, method: str = "pchip",
                 kind: str = "rate", rate_column: str = "bpp", min_overlap: float = bdrate.DEFAULT_MIN_OVERLAP,
                 transforms: dict[str, str] | None = None) -> pd.DataFrame:
    """One BD value per (codec, metric, image) against the anchor, with its diagnostics."""
    check_rate_column(df, rate_column)
    anchor = resolve_anchor(df, anchor)
    metrics = list(metrics) if metrics else metric_columns(df)
    rows = []
    for metric, info, transform, frame in metric_frames(df, metrics, rate_column, transforms):
        curves = {k: (g["r"].to_numpy(), g["q"].to_numpy()) for k, g in frame.groupby(["codec", "image"])}
        images = sorted(df["image"].astype(str).unique())
        for codec in codec_order(df):
            if codec == anchor:
                continue
            for image in images:
                a, t = curves.get((anchor, image)), curves.get((codec, image))
                base = {"codec": codec, "metric": metric, "image": image, "kind": kind, "method": method,
                        "transform": transform}
                if a is None or t is None:
                    who = "anchor" if a is None else "test"
                    rows.append({**base, "value": None, "reason": f"{who} has no usable points on this image",
                                 "overlap": float("nan"), "n_anchor": 0 if a is None else len(a[0]),
                                 "n_test": 0 if t is None else len(t[0]), "monotonic": True, "notes": ""})
                    continue
                res = _bd(kind, a[0], a[1], t[0], t[1], method, info.higher_is_better, min_overlap)
                rows.append({**base, "value": res.value, "reason": res.reason, "overlap": res.overlap,
                             "n_anchor": res.n_anchor, "n_test": res.n_test, "monotonic": res.monotonic,
                             "notes": "; ".join(res.notes)})
    return pd.DataFrame(rows, columns=["codec", "metric", "image", "kind", "method", "transform", "value", "reason",
                                       "overlap", "n_anchor", "n_test", "monotonic", "notes"])


def bd_table(df: pd.DataFrame, anchor: str, metrics: Sequence[str] | None = None, *, method: str = "pchip",
             pooling: str = "per-image", kind: str = "rate", rate_column: str = "bpp",
             min_overlap: float = bdrate.DEFAULT_MIN_OVERLAP, transforms: dict[str, str] | None = None,
             per_image: pd.DataFrame | None = None) -> pd.DataFrame:
    """BD of every codec against the anchor for every metric: one row per (codec, metric).

    ``pooling="per-image"`` (default, as JVET/JPEG AI): BD per image, then the arithmetic mean over the
    images where it exists (``n_valid`` of ``n_images``). ``pooling="pooled"``: BD of the dataset-mean
    curves over the images both codecs have.
    """
    if pooling not in POOLINGS:
        raise ReportError(f"pooling {pooling!r} is not one of {', '.join(POOLINGS)}")
    if kind not in KINDS:
        raise ReportError(f"BD kind {kind!r} is not one of {', '.join(KINDS)}")
    if method not in bdrate.METHODS:
        raise ReportError(f"BD method {method!r} is not one of {', '.join(bdrate.METHODS)}")
    check_rate_column(df, rate_column)
    anchor = resolve_anchor(df, anchor)
    metrics = list(metrics) if metrics else metric_columns(df)
    rows = []
    if pooling == "per-image":
        if per_image is None:
            per_image = bd_per_image(df, anchor, metrics, method=method, kind=kind, rate_column=rate_column,
                                     min_overlap=min_overlap, transforms=transforms)
        for (codec, metric), g in per_image.groupby(["codec", "metric"], sort=False):
            valid = g[g["value"].notna()]
            info = metric_info(metric)
            reasons = g.loc[g["value"].isna(), "reason"]
            reason = ""
            if len(reasons):
                common = reasons.value_counts()
                reason = f"{len(reasons)} of {len(g)} images missing: " + "; ".join(
                    f"{r} ({n})" for r, n in common.items())
            value = float(valid["value"].astype(float).mean()) if len(valid) else None
            rows.append({"codec": codec, "metric": metric, "value": value, "n_images": len(g),
                         "n_valid": len(valid), "overlap_min": g["overlap"].min(),
                         "overlap_mean": g["overlap"].mean(),
                         "points_min": int(min(g["n_anchor"].min(), g["n_test"].min())),
                         "non_monotonic": int((~g["monotonic"].astype(bool)).sum()), "reason": reason,
                         "transform": g["transform"].iloc[0], "higher_is_better": info.higher_is_better})
    else:
        for metric, info, transform, frame in metric_frames(df, metrics, rate_column, transforms):
            anchor_images = set(frame.loc[frame["codec"] == anchor, "image"])
            for codec in codec_order(df):
                if codec == anchor:
                    continue
                images = sorted(anchor_images & set(frame.loc[frame["codec"] == codec, "image"]))
                curves = mean_curves(frame[frame["codec"].isin([anchor, codec])], images)
                a, t = curves[curves["codec"] == anchor], curves[curves["codec"] == codec]
                if not images:
                    res = bdrate.BDResult(kind, method, None, "no image has usable points for both codecs")
                else:
                    res = _bd(kind, a["r"].to_numpy(), a["q"].to_numpy(), t["r"].to_numpy(), t["q"].to_numpy(),
                              method, info.higher_is_better, min_overlap)
                n_images = df["image"].nunique()
                rows.append({"codec": codec, "metric": metric, "value": res.value, "n_images": n_images,
                             "n_valid": len(images) if res.ok else 0, "overlap_min": res.overlap,
                             "overlap_mean": res.overlap, "points_min": min(res.n_anchor, res.n_test),
                             "non_monotonic": int(not res.monotonic), "reason": res.reason,
                             "transform": transform, "higher_is_better": info.higher_is_better})
    out = pd.DataFrame(rows, columns=["codec", "metric", "value", "n_images", "n_valid", "overlap_min",
                                      "overlap_mean", "points_min", "non_monotonic", "reason", "transform",
                                      "higher_is_better"])
    out.insert(2, "kind", kind)
    out.insert(3, "method", method)
    out.insert(4, "pooling", pooling)
    out.insert(5, "anchor", anchor)
    return out


# --- matched quality ------------------------------------------------------------------------------------

def default_targets(frame: pd.DataFrame, anchor: str, count: int = 5) -> list[float]:
    """Target qualities spread over the inner part of the anchor's dataset-mean quality range."""
    curve = mean_curves(frame[frame["codec"] == anchor])
    if curve.empty:
        return []
    lo, hi = float(curve["q"].min()), float(curve["q"].max())
    if not hi > lo:
        return []
    raw = np.linspace(lo, hi, count + 2)[1:-1]
    step = (hi - lo) / (count + 1)
    digits = max(0, -math.floor(math.log10(step)) + 1) if step > 0 else 3
    return sorted({round(float(v), digits) for v in raw})


def matched_quality(df: pd.DataFrame, anchor: str, metrics: Sequence[str] | None = None, *,
                    targets: dict[str, Sequence[float]] | None = None, rate_column: str = "bpp",
                    method: str = "pchip", transforms: dict[str, str] | None = None
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Matched-quality comparison (as codec-compare does).

    For each image and target quality, the rate each codec needs (interpolated on its own curve in
    log-rate, never extrapolated); then per codec and target the geometric-mean ratio of that rate to the
    anchor's over the images where both reach the target. Returns (per-image rates, summary).
    """
    check_rate_column(df, rate_column)
    anchor = resolve_anchor(df, anchor)
    metrics = list(metrics) if metrics else metric_columns(df)
    per_image = []
    for metric, info, transform, frame in metric_frames(df, metrics, rate_column, transforms):
        wanted = list((targets or {}).get(metric) or default_targets(frame, anchor))
        if not wanted:
            continue
        for (codec, image), g in frame.groupby(["codec", "image"]):
            rates = bdrate.rate_at_quality(g["r"].to_numpy(), g["q"].to_numpy(), wanted, method,
                                           higher_is_better=info.higher_is_better)
            for target, rate in zip(wanted, rates):
                per_image.append({"metric": metric, "target": float(target), "codec": codec, "image": image,
                                  "rate": float(rate), "transform": transform})
    per = pd.DataFrame(per_image, columns=["metric", "target", "codec", "image", "rate", "transform"])
    rows = []
    for (metric, target), g in per.groupby(["metric", "target"], sort=False):
        base = g[g["codec"] == anchor].set_index("image")["rate"]
        for codec, c in g.groupby("codec"):
            rate = c.set_index("image")["rate"]
            both = rate.index.intersection(base.index)
            ratio = (rate[both] / base[both]).to_numpy(dtype=float)
            ratio = ratio[np.isfinite(ratio) & (ratio > 0)]
            reached = rate[np.isfinite(rate)]
            rows.append({"metric": metric, "target": target, "codec": codec, "transform": c["transform"].iloc[0],
                         "n_images": len(ratio), "n_reached": len(reached),
                         "mean_rate": float(reached.mean()) if len(reached) else None,
                         "geomean_ratio": float(np.exp(np.log(ratio).mean())) if len(ratio) else None})
    summary = pd.DataFrame(rows, columns=["metric", "target", "codec", "transform", "n_images", "n_reached",
                                          "mean_rate", "geomean_ratio"])
    if len(summary):
        summary = summary.sort_values(["metric", "target", "codec"], kind="stable").reset_index(drop=True)
    return per, summary


# --- per-codec summary ----------------------------------------------------------------------------------

def codec_summary(df: pd.DataFrame, rate_column: str = "bpp") -> pd.DataFrame:
    """Per codec: versions, images, operating points, failures, the range of its dataset-mean rate, and
    median encode/decode seconds per megapixel."""
    check_rate_column(df, rate_column)
    rows = []
    for codec in codec_order(df):
        g = df[df["codec"].astype(str) == codec]
        ok = g[g["status"] == "ok"]
        failed = g[g["status"] == "failed"]
        absent = g[g["status"] == "absent"]
        mp = (ok["width"].astype(float) * ok["height"].astype(float)) / 1e6
        enc = (ok["encode_seconds"].astype(float) / mp).dropna()
        dec = (ok["decode_seconds"].astype(float) / mp).dropna()
        rate = ok.assign(r=ok[rate_column].astype(float), image=ok["image"].astype(str), codec=codec)
        rate = rate[np.isfinite(rate["r"])]
        if len(rate):
            rate = rate.assign(key=point_key(rate))
            means = rate.groupby("key")["r"].mean()
            lo, hi = float(means.min()), float(means.max())
        else:
            lo = hi = float("nan")
        n_points = int(rate["key"].nunique()) if len(rate) else 0
        errors = failed["error"].dropna().astype(str)
        versions = sorted({str(v) for v in g["codec_version"].dropna()}) if "codec_version" in g else []
        rows.append({"codec": codec, "version": " | ".join(versions), "images": int(g["image"].nunique()),
                     "points": n_points, "rows": len(g),
                     "points_per_image": float(ok.groupby(ok["image"].astype(str))["bpp"].nunique().median())
                     if len(ok) else 0.0,
                     "failed": len(failed), "absent": len(absent),
                     "first_error": errors.iloc[0] if len(errors) else "",
                     f"{rate_column}_min": lo, f"{rate_column}_max": hi,
                     "encode_s_per_mp": float(enc.median()) if len(enc) else float("nan"),
                     "decode_s_per_mp": float(dec.median()) if len(dec) else float("nan")})
    return pd.DataFrame(rows)

