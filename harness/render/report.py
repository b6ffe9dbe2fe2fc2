"""Tables for a paper or a standards contribution, from a run's results table.

Pure functions turn a results DataFrame into tidy DataFrames (BD-rate / BD-quality against an anchor,
per-image BD with diagnostics, matched-quality size ratios, a per-codec summary); renderers turn those
into a rich terminal table, Markdown (tabulate), CSV and a standalone HTML page. :func:`report_run` does
all of it for a run directory.

Rows that failed, and points whose quality or rate is not finite (PSNR = inf for a lossless decode),
never enter a BD computation; how many were left out is part of the diagnostics.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.analysis import bdrate
from harness.metrics import Column, column_info

RATE_COLUMNS = ("bpp", "bpp_payload")
POOLINGS = ("per-image", "pooled")
KINDS = ("rate", "quality")


class ReportError(ValueError):
    """A report cannot be made (no such run, anchor or metric); str() is one line."""


# --- loading and selection ------------------------------------------------------------------------------

def load_run(run: str | Path) -> pd.DataFrame:
    """The results of a run directory, or of a ``results.parquet`` path given directly."""
    path = Path(run)
    if path.is_file():
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a file that is not parquet
            raise ReportError(f"{path}: not a readable parquet file ({' '.join(str(exc).split())})") from None
    if not path.is_dir():
        raise ReportError(f"{path}: no such run directory or parquet file")
    from harness.run.store import read_results

    try:
        return read_results(path)
    except FileNotFoundError as exc:
        raise ReportError(str(exc)) from None


def run_name(run: str | Path) -> str:
    path = Path(run)
    return path.parent.name if path.is_file() else path.name


def metric_info(column: str) -> Column:
    info = column_info(column)
    if info is None:
        raise ReportError(f"column {column!r} is not a metric any registered metric produces")
    return info


def metric_columns(df: pd.DataFrame) -> list[str]:
    """The metric columns of a results table that hold at least one finite value, in table order."""
    from harness.run.store import ROW_SCHEMA

    columns = []
    for name in df.columns:
        if name in ROW_SCHEMA or column_info(name) is None:
            continue
        values = pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        if np.isfinite(values).any():
            columns.append(name)
    return columns


def codec_order(df: pd.DataFrame) -> list[str]:
    """Codec labels in the stable order every table and figure uses: sorted by name."""
    return sorted(str(c) for c in df["codec"].dropna().unique())


def resolve_anchor(df: pd.DataFrame, anchor: str) -> str:
    """The codec label an anchor names: a label exactly, or a codec name that only one label has."""
    labels = codec_order(df)
    if anchor in labels:
        return anchor
    by_name = sorted({str(label) for label, name in zip(df["codec"], df["codec_name"])
                      if isinstance(name, str) and name == anchor}) if "codec_name" in df else []
    if len(by_name) == 1:
        return by_name[0]
    if len(by_name) > 1:
        raise ReportError(f"anchor {anchor!r} is ambiguous: the run has {', '.join(by_name)}")
    raise ReportError(f"anchor {anchor!r} is not in the run (codecs: {', '.join(labels) or 'none'})")


def _check_rate_column(df: pd.DataFrame, rate_column: str) -> None:
    if rate_column not in RATE_COLUMNS:
        raise ReportError(f"rate column {rate_column!r} is not one of {', '.join(RATE_COLUMNS)}")
    if rate_column not in df.columns:
        raise ReportError(f"the results table has no {rate_column!r} column")


def _point_key(frame: pd.DataFrame) -> pd.Series:
    """What identifies an operating point across images: the knob value, or for rate-targeted runs the
    rank of the target within the image (targets differ per image when matched to a reference)."""
    if "target_bpp" in frame and frame["target_bpp"].notna().any():
        return frame.groupby(["codec", "image"])["target_bpp"].rank(method="dense").astype(float)
    return frame["point"].astype(float)


def usable(df: pd.DataFrame, metric: str, rate_column: str = "bpp", transform: str = "identity") -> pd.DataFrame:
    """The rows a BD computation may use for ``metric``: status ok, finite positive rate, finite
    (transformed) quality. Adds the column ``q`` (transformed quality), ``r`` (rate) and ``key``."""
    frame = df[df["status"] == "ok"] if "status" in df else df
    frame = frame.assign(
        r=pd.to_numeric(frame[rate_column], errors="coerce").astype(float),
        q=bdrate.TRANSFORMS[transform](pd.to_numeric(frame[metric], errors="coerce").to_numpy(dtype=float, na_value=np.nan)),
    )
    frame = frame[np.isfinite(frame["r"]) & (frame["r"] > 0) & np.isfinite(frame["q"])]
    frame = frame.assign(image=frame["image"].astype(str), codec=frame["codec"].astype(str))
    return frame.assign(key=_point_key(frame))


def _excluded_counts(df: pd.DataFrame, kept: pd.DataFrame) -> dict[str, int]:
    total = df.groupby(df["codec"].astype(str)).size()
    used = kept.groupby("codec").size()
    return {codec: int(total.get(codec, 0) - used.get(codec, 0)) for codec in total.index}


def mean_curves(frame: pd.DataFrame, images: Sequence[str] | None = None) -> pd.DataFrame:
    """Dataset-mean RD curve per codec: for each operating point, mean rate and mean quality over the
    images (only points every listed image has, so each mean is over the same images)."""
    if images is not None:
        frame = frame[frame["image"].isin(list(images))]
    rows = []
    for codec, group in frame.groupby("codec"):
        n_images = group["image"].nunique()
        for key, at in group.groupby("key"):
            if at["image"].nunique() != n_images:
                continue
            rows.append({"codec": codec, "key": key, "r": at["r"].mean(), "q": at["q"].mean(),
                         "r_lo": at["r"].quantile(0.25), "r_hi": at["r"].quantile(0.75),
                         "q_lo": at["q"].quantile(0.25), "q_hi": at["q"].quantile(0.75), "n_images": n_images})
    return pd.DataFrame(rows, columns=["codec", "key", "r", "q", "r_lo", "r_hi", "q_lo", "q_hi", "n_images"])


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
    _check_rate_column(df, rate_column)
    anchor = resolve_anchor(df, anchor)
    metrics = list(metrics) if metrics else metric_columns(df)
    rows = []
    for metric in metrics:
        info = metric_info(metric)
        transform = (transforms or {}).get(metric, bdrate.default_transform(metric))
        frame = usable(df, metric, rate_column, transform)
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
    _check_rate_column(df, rate_column)
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
        for metric in metrics:
            info = metric_info(metric)
            transform = (transforms or {}).get(metric, bdrate.default_transform(metric))
            frame = usable(df, metric, rate_column, transform)
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
    _check_rate_column(df, rate_column)
    anchor = resolve_anchor(df, anchor)
    metrics = list(metrics) if metrics else metric_columns(df)
    per_image = []
    for metric in metrics:
        info = metric_info(metric)
        transform = (transforms or {}).get(metric, bdrate.default_transform(metric))
        frame = usable(df, metric, rate_column, transform)
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
    _check_rate_column(df, rate_column)
    rows = []
    for codec in codec_order(df):
        g = df[df["codec"].astype(str) == codec]
        ok = g[g["status"] == "ok"]
        failed = g[g["status"] != "ok"]
        mp = (ok["width"].astype(float) * ok["height"].astype(float)) / 1e6
        enc = (ok["encode_seconds"].astype(float) / mp).dropna()
        dec = (ok["decode_seconds"].astype(float) / mp).dropna()
        rate = ok.assign(r=ok[rate_column].astype(float), image=ok["image"].astype(str), codec=codec)
        rate = rate[np.isfinite(rate["r"])]
        if len(rate):
            rate = rate.assign(key=_point_key(rate))
            means = rate.groupby("key")["r"].mean()
            lo, hi = float(means.min()), float(means.max())
        else:
            lo = hi = float("nan")
        n_points = int(rate["key"].nunique()) if len(rate) else 0
        errors = failed["error"].dropna().astype(str)
        versions = sorted({str(v) for v in g["codec_version"].dropna()}) if "codec_version" in g else []
        rows.append({"codec": codec, "version": " | ".join(versions), "images": int(g["image"].nunique()),
                     "points": n_points, "rows": len(g),
                     "failed": len(failed), "first_error": errors.iloc[0] if len(errors) else "",
                     f"{rate_column}_min": lo, f"{rate_column}_max": hi,
                     "encode_s_per_mp": float(enc.median()) if len(enc) else float("nan"),
                     "decode_s_per_mp": float(dec.median()) if len(dec) else float("nan")})
    return pd.DataFrame(rows)


# --- the report -----------------------------------------------------------------------------------------

@dataclass
class Report:
    run: str
    anchor: str
    method: str
    pooling: str
    rate_column: str
    metrics: list[str]
    bd_rate: pd.DataFrame
    bd_quality: pd.DataFrame
    bd_per_image: pd.DataFrame
    matched: pd.DataFrame
    matched_per_image: pd.DataFrame
    summary: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)

    def value(self, codec: str, metric: str, kind: str = "rate") -> float | None:
        table = self.bd_rate if kind == "rate" else self.bd_quality
        hit = table[(table["codec"] == codec) & (table["metric"] == metric)]
        if hit.empty or pd.isna(hit["value"].iloc[0]):
            return None
        return float(hit["value"].iloc[0])


def make_report(df: pd.DataFrame, anchor: str, metrics: Sequence[str] | None = None, *, run: str = "run",
                method: str = "pchip", pooling: str = "per-image", rate_column: str = "bpp",
                min_overlap: float = bdrate.DEFAULT_MIN_OVERLAP, transforms: dict[str, str] | None = None,
                targets: dict[str, Sequence[float]] | None = None) -> Report:
    """Every table of a report, as DataFrames."""
    if df.empty:
        raise ReportError(f"{run}: the results table is empty")
    _check_rate_column(df, rate_column)
    anchor = resolve_anchor(df, anchor)
    available = metric_columns(df)
    if metrics:
        missing = [m for m in metrics if m not in df.columns]
        if missing:
            raise ReportError(f"{run}: no metric column {missing[0]!r} (columns: {', '.join(available) or 'none'})")
        metrics = list(metrics)
    else:
        metrics = available
    if not metrics:
        raise ReportError(f"{run}: no metric column with finite values")
    common: dict[str, Any] = {"method": method, "rate_column": rate_column, "min_overlap": min_overlap,
                              "transforms": transforms}
    per_image = bd_per_image(df, anchor, metrics, kind="rate", **common)
    rate = bd_table(df, anchor, metrics, pooling=pooling, kind="rate",
                    per_image=per_image if pooling == "per-image" else None, **common)
    quality = bd_table(df, anchor, metrics, pooling=pooling, kind="quality", **common)
    matched_per, matched = matched_quality(df, anchor, metrics, targets=targets, rate_column=rate_column,
                                           method=method, transforms=transforms)
    notes = []
    for metric in metrics:
        transform = (transforms or {}).get(metric, bdrate.default_transform(metric))
        kept = usable(df, metric, rate_column, transform)
        excluded = {c: n for c, n in _excluded_counts(df, kept).items() if n}
        if excluded:
            notes.append(f"{metric}: rows left out of BD (failed, or non-finite rate/quality): "
                         + ", ".join(f"{c} {n}" for c, n in sorted(excluded.items())))
    return Report(run, anchor, method, pooling, rate_column, list(metrics), rate, quality, per_image, matched,
                  matched_per, codec_summary(df, rate_column), notes)


# --- rendering ------------------------------------------------------------------------------------------

def _metric_heading(metric: str, transform: str, kind: str) -> str:
    info = metric_info(metric)
    label, unit = bdrate.transformed_label(info.label, info.unit, transform)
    if kind == "rate":
        return label + (" [dB]" if transform == "db" else "")
    direction = "" if info.higher_is_better else ", lower is better"
    return f"Δ{label} [{unit}{direction}]" if unit else f"Δ{label}{' (' + direction[2:] + ')' if direction else ''}"


def _format_value(row: pd.Series, kind: str) -> str:
    if pd.isna(row["value"]):
        return "n/a"
    text = f"{row['value']:+.2f} %" if kind == "rate" else f"{row['value']:+.3f}"
    if row["n_valid"] < row["n_images"]:
        text += f" ({row['n_valid']}/{row['n_images']})"
    if row["non_monotonic"]:
        text += " †"
    return text


def bd_wide(report: Report, kind: str = "rate") -> pd.DataFrame:
    """Codecs down, metrics across, formatted values; the anchor's row reads 'anchor'."""
    table = report.bd_rate if kind == "rate" else report.bd_quality
    columns = {}
    order = [c for c in report.summary["codec"]]
    for metric in report.metrics:
        sub = table[table["metric"] == metric].set_index("codec")
        transform = sub["transform"].iloc[0] if len(sub) else bdrate.default_transform(metric)
        heading = _metric_heading(metric, transform, kind)
        columns[heading] = ["anchor" if c == report.anchor else
                            (_format_value(sub.loc[c], kind) if c in sub.index else "n/a") for c in order]
    return pd.DataFrame(columns, index=pd.Index(order, name="codec"))


def summary_display(report: Report) -> pd.DataFrame:
    s = report.summary
    rc = report.rate_column
    return pd.DataFrame({
        "codec": s["codec"],
        "images": s["images"],
        "points": s["points"],
        f"mean {rc} range": [f"{lo:.3f} – {hi:.3f}" if np.isfinite(lo) else "n/a"
                             for lo, hi in zip(s[f"{rc}_min"], s[f"{rc}_max"])],
        "encode [s/MP]": [f"{v:.3g}" if np.isfinite(v) else "n/a" for v in s["encode_s_per_mp"]],
        "decode [s/MP]": [f"{v:.3g}" if np.isfinite(v) else "n/a" for v in s["decode_s_per_mp"]],
        "failed": [f"{f}/{r}" for f, r in zip(s["failed"], s["rows"])],
        "version": s["version"],
    }).set_index("codec")


def matched_wide(report: Report) -> pd.DataFrame:
    """Geometric-mean rate ratio to the anchor (images that reach the target in brackets): one row per
    (metric, target quality), one column per codec, so many metrics stay readable."""
    m = report.matched
    if m.empty:
        return pd.DataFrame()
    codecs = [c for c in report.summary["codec"] if c != report.anchor]  # the anchor's ratio is 1 by definition
    rows, index = [], []
    for (metric, target), g in m.groupby(["metric", "target"], sort=False):
        info = metric_info(metric)
        label, unit = bdrate.transformed_label(info.label, info.unit, g["transform"].iloc[0])
        index.append(f"{label} = {target:g}{' ' + unit if unit else ''}")
        sub = g.set_index("codec")
        rows.append([
            ("n/a" if c not in sub.index or pd.isna(sub.loc[c, "geomean_ratio"]) else
             f"{sub.loc[c, 'geomean_ratio']:.3f} ({sub.loc[c, 'n_images']})")
            for c in codecs])
    return pd.DataFrame(rows, index=pd.Index(index, name="quality"), columns=codecs)


def _legend_lines(report: Report) -> list[str]:
    pooling = ("mean over images of the per-image BD (JVET/JPEG AI practice)" if report.pooling == "per-image"
               else "BD of the dataset-mean RD curves (pooled)")
    lines = [
        (f"Run {report.run}; anchor {report.anchor}; rate {report.rate_column}; interpolation {report.method}; "
         f"pooling: {pooling}."),
        ("BD-rate: average rate difference at equal quality, negative = fewer bits than the anchor. "
         "BD-quality: average quality difference at equal rate (test - anchor)."),
        ("(k/n): only k of n images had a valid BD value; † non-monotonic curve(s); n/a: no valid value "
         "(see the diagnostics)."),
        "MS-SSIM-type metrics are in dB: -10 log10(1 - x).",
        "Matched quality: geometric-mean rate ratio to the anchor at equal quality (images where both reach it).",
    ]
    return lines + report.notes


def _diagnostics(report: Report) -> pd.DataFrame:
    cols = ["codec", "metric", "kind", "value", "n_valid", "n_images", "overlap_min", "points_min",
            "non_monotonic", "reason"]
    return pd.concat([report.bd_rate[cols], report.bd_quality[cols]], ignore_index=True)


def _md(frame: pd.DataFrame) -> str:
    # Numbers read best right-aligned even when formatted as text; the codec column stays left.
    return frame.to_markdown(colalign=("left",) + ("right",) * len(frame.columns))


def to_markdown(report: Report) -> str:
    parts = [f"# Codec comparison: {report.run}", "", *[f"- {line}" for line in _legend_lines(report)], "",
             f"## BD-rate against {report.anchor}", "", _md(bd_wide(report, "rate")), "",
             f"## BD-quality against {report.anchor}", "", _md(bd_wide(report, "quality")), ""]
    matched = matched_wide(report)
    if not matched.empty:
        parts += [f"## Matched quality: rate ratio to {report.anchor}", "", _md(matched), ""]
    parts += ["## Codecs", "", summary_display(report).to_markdown(), "",
              "## Diagnostics", "", _diagnostics(report).to_markdown(index=False, floatfmt=".4g"), ""]
    return "\n".join(parts)


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:2em auto;max-width:72em;
color:#222;line-height:1.4}
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.92em}
th,td{border:1px solid #ccc;padding:0.25em 0.6em;text-align:right}
th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}
.better{color:#0072B2;font-weight:600}.worse{color:#D55E00}.na{color:#888}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}
"""


def _html_bd_table(frame: pd.DataFrame, kind: str) -> str:
    """A BD table whose cells are coloured by whether the codec beats the anchor."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in [frame.index.name or "", *frame.columns])
    body = []
    for codec, row in frame.iterrows():
        cells = [f"<th>{html.escape(str(codec))}</th>"]
        for column, text in row.items():
            css = ""
            if text.startswith("n/a"):
                css = "na"
            elif text != "anchor":
                value = float(text.split()[0])
                better = value < 0 if kind == "rate" else (value > 0) == ("lower is better" not in str(column))
                css = "better" if better else "worse"
            cells.append(f'<td class="{css}">{html.escape(text)}</td>' if css else f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def to_html(report: Report, figures: Sequence[Path] = ()) -> str:
    """A standalone page: tables inline, figures embedded as PNG data."""
    def table(frame: pd.DataFrame) -> str:
        return frame.to_html(escape=True, border=0, na_rep="n/a")

    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>Codec comparison: {html.escape(report.run)}</title><style>{_CSS}</style></head><body>",
             f"<h1>Codec comparison: {html.escape(report.run)}</h1><ul>",
             *[f"<li>{html.escape(line)}</li>" for line in _legend_lines(report)], "</ul>",
             f"<h2>BD-rate against {html.escape(report.anchor)}</h2>", _html_bd_table(bd_wide(report, "rate"), "rate"),
             f"<h2>BD-quality against {html.escape(report.anchor)}</h2>",
             _html_bd_table(bd_wide(report, "quality"), "quality")]
    matched = matched_wide(report)
    if not matched.empty:
        parts += [f"<h2>Matched quality: rate ratio to {html.escape(report.anchor)}</h2>", table(matched)]
    parts += ["<h2>Codecs</h2>", table(summary_display(report))]
    for path in figures:
        if Path(path).suffix.lower() == ".png" and Path(path).exists():
            data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
            parts.append(f'<figure><img alt="{html.escape(Path(path).stem)}" src="data:image/png;base64,{data}">'
                         f"<figcaption>{html.escape(Path(path).name)}</figcaption></figure>")
    parts += ["<h2>Diagnostics</h2>", _diagnostics(report).to_html(index=False, border=0, na_rep="n/a",
                                                                   float_format=lambda v: f"{v:.4g}"),
              "</body></html>"]
    return "\n".join(parts)


def to_rich(report: Report) -> Any:
    """A rich renderable: BD-rate, BD-quality, matched quality and codec tables."""
    from rich import box
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    def table(frame: pd.DataFrame, title: str, signed: str | None = None) -> Table:
        # Headers such as "encode [s/MP]" would read as rich markup; Text keeps them literal.
        t = Table(title=Text(title), title_justify="left", header_style="bold", min_width=len(title) + 2,
                  box=box.SIMPLE_HEAD)
        t.add_column(Text(frame.index.name or ""), justify="left", no_wrap=True)
        for col in frame.columns:
            # Values keep their line (headers may wrap): a number split over two lines misreads.
            width = max([len(str(v)) for v in frame[col]] + [1])
            t.add_column(Text(str(col)), justify="right", min_width=width)
        for idx, row in frame.iterrows():
            cells = []
            for col, cell in row.items():
                text = str(cell)
                style = ""
                if signed and text not in ("anchor",) and not text.startswith("n/a"):
                    try:
                        v = float(text.split()[0])
                        better = v < 0 if signed == "rate" else (v > 0) == ("lower is better" not in str(col))
                        style = "green" if better else "red"
                    except ValueError:
                        pass
                elif text.startswith("n/a"):
                    style = "dim"
                cells.append(Text(text, style=style))
            t.add_row(Text(str(idx)), *cells)
        return t

    items: list[Any] = [table(bd_wide(report, "rate"), f"BD-rate vs {report.anchor} ({report.method}, {report.pooling})",
                              "rate"),
                        table(bd_wide(report, "quality"), f"BD-quality vs {report.anchor}", "quality")]
    matched = matched_wide(report)
    if not matched.empty:
        items.append(table(matched, f"Matched quality: geometric-mean {report.rate_column} ratio to {report.anchor} "
                                    "(images)"))
    # Versions are long; in a terminal they go below the table instead of squeezing it.
    summary = summary_display(report)
    items.append(table(summary.drop(columns=["version"]), "Codecs"))
    items += [Text(f"{codec}: {version}", style="dim") for codec, version in summary["version"].items()]
    missing = pd.concat([report.bd_rate, report.bd_quality])
    missing = missing[missing["reason"].astype(str) != ""]
    for _, row in missing.iterrows():
        items.append(Text(f"{row['codec']} {row['metric']} BD-{row['kind']}: {row['reason']}", style="dim"))
    items += [Text(line, style="dim") for line in _legend_lines(report)]
    return Group(*items)


def write_report(report: Report, out_dir: str | Path, formats: Sequence[str] = ("md", "csv", "html"),
                 figures: Sequence[Path] = ()) -> dict[str, Path]:
    """Write the report files; returns name -> path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    for fmt in formats:
        if fmt == "md":
            files["md"] = out / "report.md"
            files["md"].write_text(to_markdown(report))
        elif fmt == "csv":
            tables = {"bd": pd.concat([report.bd_rate, report.bd_quality], ignore_index=True),
                      "bd_per_image": report.bd_per_image, "matched": report.matched,
                      "matched_per_image": report.matched_per_image, "summary": report.summary}
            for name, frame in tables.items():
                files[f"csv:{name}"] = out / f"{name}.csv"
                frame.to_csv(files[f"csv:{name}"], index=False)
        elif fmt == "html":
            files["html"] = out / "report.html"
            files["html"].write_text(to_html(report, figures))
        else:
            raise ReportError(f"unknown report format {fmt!r} (known: md, csv, html)")
    report.files.update(files)
    return files


def report_run(run_dir: str | Path, anchor: str, metrics: Sequence[str] | None = None, *, method: str = "pchip",
               pooling: str = "per-image", rate_column: str = "bpp",
               min_overlap: float = bdrate.DEFAULT_MIN_OVERLAP, out_dir: str | Path | None = None,
               formats: Sequence[str] = ("md", "csv", "html"), console: Any = None,
               targets: dict[str, Sequence[float]] | None = None, figures: Sequence[Path] | None = None) -> Report:
    """Make the report of a run, write it (default: ``RUN/report/``) and print it to ``console`` if given.

    Figures already in ``RUN/figures/`` (from :func:`harness.render.plots.plot_run`) are embedded in the HTML.
    """
    df = load_run(run_dir)
    report = make_report(df, anchor, metrics, run=run_name(run_dir), method=method, pooling=pooling,
                         rate_column=rate_column, min_overlap=min_overlap, targets=targets)
    base = Path(run_dir).parent if Path(run_dir).is_file() else Path(run_dir)
    if figures is None:
        figures = sorted((base / "figures").glob("*.png")) if (base / "figures").is_dir() else []
    write_report(report, Path(out_dir) if out_dir else base / "report", formats, figures)
    if console is not None:
        console.print(to_rich(report))
    return report
