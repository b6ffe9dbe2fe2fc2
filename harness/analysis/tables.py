"""The tables of a codec comparison, computed from a run's results table (no formatting here).

Pure functions turn a results DataFrame into tidy DataFrames (BD-rate / BD-quality against an anchor,
per-image BD with diagnostics, matched-quality size ratios, a per-codec summary), collected in a
:class:`Report`; :func:`bd_grid` and :func:`matched_grid` lay them out as typed grids (codecs by metrics)
that the renderers of :mod:`harness.render.report` turn into Markdown, HTML and terminal tables.

Rows that failed, and points whose quality or rate is not finite (PSNR = inf for a lossless decode),
never enter a BD computation; how many were left out is part of the diagnostics.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.analysis import bdrate
from harness.core.errors import one_line
from harness.metrics import Column, column_info

RATE_COLUMNS = ("bpp", "bpp_payload")
POOLINGS = ("per-image", "pooled")
KINDS = ("rate", "quality")


class ReportError(ValueError):
    """A report cannot be made (no such run, anchor or metric); str() is one line."""


# --- loading and selection ------------------------------------------------------------------------------

def load_run(run: str | Path) -> pd.DataFrame:
    """The results of a run directory, or of a ``results.parquet`` path given directly: the rows of each
    codec's latest build (:func:`current_builds`)."""
    path = Path(run)
    if path.is_file():
        try:
            table = pd.read_parquet(path)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a file that is not parquet
            raise ReportError(f"{path}: not a readable parquet file ({one_line(exc)})") from None
        return current_builds(table, latest_versions(path.parent))
    if not path.is_dir():
        raise ReportError(f"{path}: no such run directory or parquet file")
    from harness.run.store import StoreError, read_results

    try:
        df = read_results(path)
    except (FileNotFoundError, StoreError) as exc:
        raise ReportError(str(exc)) from None
    return current_builds(df, latest_versions(path))


def latest_versions(run_dir: str | Path) -> dict[str, str]:
    """Per codec label, the build (version string) the run's latest invocation with that codec recorded
    in run.json."""
    try:
        info = json.loads((Path(run_dir) / "run.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}
    versions: dict[str, str] = {}
    for invocation in info.get("invocations") or []:
        for label, described in (invocation.get("codecs") or {}).items():
            # An invocation where the codec was unavailable says nothing about its build.
            if isinstance(described, dict) and described.get("version") and described.get("available", True):
                versions[label] = str(described["version"])
    return versions


def current_builds(df: pd.DataFrame, versions: dict[str, str]) -> pd.DataFrame:
    """The rows of each codec's current build. A run resumed after a codec's build changed (a newer
    encoder, published data replaced) keeps the older build's rows in its journal under their own keys;
    curves mixing two builds would be wrong, so analyses use the latest build's rows. The rows left out are
    counted per codec in ``df.attrs["superseded"]`` (label -> (rows, older versions))."""
    if not versions or df.empty or "codec_version" not in df.columns:
        return df
    current = df["codec"].astype(str).map(versions)
    stale = current.notna() & df["codec_version"].notna() & (df["codec_version"].astype(str) != current)
    if not stale.any():
        return df
    kept = df[~stale].reset_index(drop=True)
    old = df[stale]
    kept.attrs["superseded"] = {
        str(codec): (len(g), sorted(g["codec_version"].astype(str).unique()))
        for codec, g in old.groupby(old["codec"].astype(str))}
    return kept


def superseded_note(df: pd.DataFrame) -> str | None:
    """One line naming the rows of older builds an analysis left out, if any."""
    superseded = df.attrs.get("superseded") or {}
    if not superseded:
        return None
    parts = [f"{codec} {n} (build {', '.join(versions)})" for codec, (n, versions) in sorted(superseded.items())]
    return ("Rows of older builds left out (the run was resumed after these codecs changed; the tables use each "
            "codec's latest build): " + "; ".join(parts) + ".")


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


def default_anchor(df: pd.DataFrame) -> str:
    """VVC when the run has it (the usual anchor of image-coding papers), else the first codec by name."""
    codecs = codec_order(df)
    for candidate in codecs:
        if candidate == "vvc" or candidate.split(":")[0] == "vvc":
            return candidate
    if not codecs:
        raise ReportError("the results table has no rows, so there is no codec to compare against")
    return codecs[0]


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


MISSING_REASONS = ("not published", "codec failed", "no rate", "metric failed", "not computed", "not finite")


def missing_values(df: pd.DataFrame, metric: str, rate_column: str = "bpp") -> pd.DataFrame:
    """Why rows have no usable value of metric column ``metric``: one row per (codec, reason) with the
    number of rows and the first message. Reasons: ``not published`` (a published codec has no
    reconstruction of that image), ``codec failed`` (the row's encode/decode failed),
    ``no rate``, ``metric failed`` (its ``error_<metric>`` message), ``not computed`` (the metric was not
    asked for on that row, or has no value there, e.g. MS-SSIM on an image below 161 px), ``not finite``
    (PSNR = inf of a lossless decode)."""
    from harness.metrics import metric_of_column
    from harness.run.rows import metric_error_column

    columns = ["codec", "reason", "rows", "example"]
    if df.empty:
        return pd.DataFrame(columns=columns)
    codec_ok = (df["status"] == "ok").to_numpy(dtype=bool, na_value=False) if "status" in df else np.ones(len(df), bool)
    rate = pd.to_numeric(df[rate_column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    value = (pd.to_numeric(df[metric], errors="coerce").to_numpy(dtype=float, na_value=np.nan) if metric in df
             else np.full(len(df), np.nan))
    name = metric_of_column(metric) or metric
    error_column = metric_error_column(name)
    metric_error = (df[error_column].notna().to_numpy(dtype=bool) if error_column in df
                    else np.zeros(len(df), bool))
    rate_ok = np.isfinite(rate) & (rate > 0)
    absent = (df["status"] == "absent").to_numpy(dtype=bool, na_value=False) if "status" in df else np.zeros(len(df), bool)
    reason = np.select(
        [absent, ~codec_ok, ~rate_ok, metric_error, np.isnan(value), ~np.isfinite(value)],
        list(MISSING_REASONS), default="",
    )
    frame = pd.DataFrame({"codec": df["codec"].astype(str).to_numpy(), "reason": reason})
    frame["message"] = np.where(np.isin(reason, ["codec failed", "not published"]), df["error"].astype(object).to_numpy() if "error" in df else None,
                                df[error_column].astype(object).to_numpy() if error_column in df else None)
    frame = frame[frame["reason"] != ""]
    rows = []
    for (codec, why), g in frame.groupby(["codec", "reason"], sort=True):
        messages = [str(m) for m in g["message"] if isinstance(m, str) and m]
        rows.append({"codec": codec, "reason": why, "rows": len(g), "example": messages[0] if messages else ""})
    return pd.DataFrame(rows, columns=columns)


def missing_note(df: pd.DataFrame, metric: str, rate_column: str = "bpp") -> str | None:
    """One line saying how many rows have no usable ``metric`` value and why, or None when none lack it."""
    missing = missing_values(df, metric, rate_column)
    if missing.empty:
        return None
    parts = []
    for why in MISSING_REASONS:
        g = missing[missing["reason"] == why]
        if g.empty:
            continue
        by_codec = ", ".join(f"{c} {n}" for c, n in zip(g["codec"], g["rows"]))
        example = next((e for e in g["example"] if e), "")
        parts.append(f"{why} {int(g['rows'].sum())} ({by_codec})" + (f': "{example}"' if example else ""))
    return f"{metric}: {int(missing['rows'].sum())} of {len(df)} rows have no usable value: " + "; ".join(parts)


def _metric_frames(df: pd.DataFrame, metrics: Sequence[str], rate_column: str,
                   transforms: dict[str, str] | None) -> Iterator[tuple[str, Column, str, pd.DataFrame]]:
    """Per metric: its description, the BD transform used for it, and the rows BD may use (:func:`usable`)."""
    for metric in metrics:
        transform = (transforms or {}).get(metric, bdrate.default_transform(metric))
        yield metric, metric_info(metric), transform, usable(df, metric, rate_column, transform)


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
    for metric, info, transform, frame in _metric_frames(df, metrics, rate_column, transforms):
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
        for metric, info, transform, frame in _metric_frames(df, metrics, rate_column, transforms):
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
    for metric, info, transform, frame in _metric_frames(df, metrics, rate_column, transforms):
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
        failed = g[g["status"] == "failed"]
        absent = g[g["status"] == "absent"]
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
                     "points_per_image": float(ok.groupby(ok["image"].astype(str))["bpp"].nunique().median())
                     if len(ok) else 0.0,
                     "failed": len(failed), "absent": len(absent),
                     "first_error": errors.iloc[0] if len(errors) else "",
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
    # Anchors with one point per image (published reconstructions): every codec at the anchor's own rates,
    # the comparison that exists when BD-rate does not (analysis.equal_rate.EqualRate).
    equal_rate: Any = None

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
    notes = [note for metric in metrics if (note := missing_note(df, metric, rate_column))]
    if (superseded := superseded_note(df)) is not None:
        notes.append(superseded)
    report = Report(run, anchor, method, pooling, rate_column, list(metrics), rate, quality, per_image, matched,
                    matched_per, codec_summary(df, rate_column), notes)
    if one_point_per_image(df, anchor, rate_column):
        from harness.analysis.equal_rate import equal_rate

        report.equal_rate = equal_rate(df, anchor, metrics, run=run)
    return report


def one_point_per_image(df: pd.DataFrame, anchor: str, rate_column: str = "bpp") -> bool:
    """Whether the anchor has at most one rate per image (so no BD value against it can exist)."""
    ok = df[(df["status"] == "ok") & (df["codec"].astype(str) == anchor)]
    return bool(len(ok)) and int(ok.groupby(ok["image"].astype(str))[rate_column].nunique().max()) <= 1


# --- typed grids for the renderers ----------------------------------------------------------------------

@dataclass(frozen=True)
class MetricAxis:
    """A metric as a table axis: its label and unit after the BD transform, and its direction."""

    metric: str
    label: str
    unit: str
    transform: str
    higher_is_better: bool


def metric_axis(metric: str, transform: str) -> MetricAxis:
    info = metric_info(metric)
    label, unit = bdrate.transformed_label(info.label, info.unit, transform)
    return MetricAxis(metric, label, unit, transform, info.higher_is_better)


@dataclass(frozen=True)
class BDCell:
    """One codec's BD value for one metric; ``value`` is None when missing (the reason is in the table)."""

    value: float | None
    n_valid: int = 0
    n_images: int = 0
    non_monotonic: bool = False
    is_anchor: bool = False
    better: bool | None = None  # beats the anchor; None for the anchor itself and for missing values


@dataclass(frozen=True)
class BDGrid:
    """Codecs down, metrics across: ``cells[i][j]`` is ``codecs[i]`` on ``metrics[j]``."""

    kind: str
    anchor: str
    codecs: list[str]
    metrics: list[MetricAxis]
    cells: list[list[BDCell]]


def _beats_anchor(value: float, kind: str, higher_is_better: bool) -> bool:
    # BD-rate: fewer bits is better whatever the metric; BD-quality: the metric's own direction.
    return value < 0 if kind == "rate" else (value > 0) == higher_is_better


def bd_grid(report: Report, kind: str = "rate") -> BDGrid:
    """The BD-rate (or BD-quality) table of a report as a typed grid; the anchor has its own row."""
    table = report.bd_rate if kind == "rate" else report.bd_quality
    codecs = [str(c) for c in report.summary["codec"]]
    axes, columns = [], []
    for metric in report.metrics:
        sub = table[table["metric"] == metric].set_index("codec")
        transform = str(sub["transform"].iloc[0]) if len(sub) else bdrate.default_transform(metric)
        axis = metric_axis(metric, transform)
        axes.append(axis)
        column = []
        for codec in codecs:
            if codec == report.anchor:
                column.append(BDCell(None, is_anchor=True))
            elif codec not in sub.index:
                column.append(BDCell(None))
            else:
                row = sub.loc[codec]
                value = None if pd.isna(row["value"]) else float(row["value"])
                column.append(BDCell(value, int(row["n_valid"]), int(row["n_images"]), bool(row["non_monotonic"]),
                                     better=None if value is None else
                                     _beats_anchor(value, kind, axis.higher_is_better)))
        columns.append(column)
    cells = [[columns[j][i] for j in range(len(axes))] for i in range(len(codecs))]
    return BDGrid(kind, report.anchor, codecs, axes, cells)


@dataclass(frozen=True)
class MatchedCell:
    """Geometric-mean rate ratio to the anchor over the ``n_images`` images where both reach the target."""

    ratio: float | None
    n_images: int = 0


@dataclass(frozen=True)
class MatchedRow:
    axis: MetricAxis
    target: float
    cells: list[MatchedCell]


@dataclass(frozen=True)
class MatchedGrid:
    """One row per (metric, target quality), one column per codec other than the anchor (whose ratio is 1)."""

    anchor: str
    codecs: list[str]
    rows: list[MatchedRow]


def matched_grid(report: Report) -> MatchedGrid:
    codecs = [str(c) for c in report.summary["codec"] if c != report.anchor]
    rows = []
    if not report.matched.empty:
        for (metric, target), g in report.matched.groupby(["metric", "target"], sort=False):
            sub = g.set_index("codec")
            cells = [MatchedCell(None) if c not in sub.index or pd.isna(sub.loc[c, "geomean_ratio"]) else
                     MatchedCell(float(sub.loc[c, "geomean_ratio"]), int(sub.loc[c, "n_images"])) for c in codecs]
            rows.append(MatchedRow(metric_axis(str(metric), str(g["transform"].iloc[0])), float(target), cells))
    return MatchedGrid(report.anchor, codecs, rows)
