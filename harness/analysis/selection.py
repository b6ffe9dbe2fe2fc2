"""A run's rows as a DataFrame for analysis: loading each codec's current build, the metric columns, the
anchor, and the points a BD computation may use (and why the others are missing)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from harness.analysis import bdrate
from harness.core.errors import one_line
from harness.metrics import Column, column_info, metric_of_column
from harness.run.rows import metric_error_column
from harness.run.store import ROW_SCHEMA, StoreError, read_results

RATE_COLUMNS = ("bpp", "bpp_payload")


class ReportError(ValueError):
    """A report cannot be made (no such run, anchor or metric); str() is one line."""


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
    try:
        df = read_results(path)
    except (FileNotFoundError, StoreError) as exc:
        raise ReportError(str(exc)) from None
    return current_builds(df, latest_versions(path))


def latest_versions(run_dir: str | Path) -> dict[str, str]:
    """Per codec label, the build the run's latest invocation with that codec recorded in run.json: its
    version, and its configuration digest (options with defaults, colour chain, exact arguments) when
    recorded, as :func:`build_of` writes them."""
    try:
        info = json.loads((Path(run_dir) / "run.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}
    versions: dict[str, str] = {}
    for invocation in info.get("invocations") or []:
        for label, described in (invocation.get("codecs") or {}).items():
            # An invocation where the codec was unavailable says nothing about its build.
            if isinstance(described, dict) and described.get("version") and described.get("available", True):
                versions[label] = build_of(described["version"], described.get("config"))
    return versions


def build_of(version: object, config: object) -> str:
    """A codec build as analyses compare them: the version, and the configuration digest when known."""
    return f"{version} [config {config}]" if config else str(version)


def current_builds(df: pd.DataFrame, versions: dict[str, str]) -> pd.DataFrame:
    """The rows of each codec's current build. A run resumed after a codec's build changed (a newer
    encoder, published data replaced) keeps the older build's rows in its journal under their own keys;
    curves mixing two builds would be wrong, so analyses use the latest build's rows. The rows left out are
    counted per codec in ``df.attrs["superseded"]`` (label -> (rows, older versions))."""
    if not versions or df.empty or "codec_version" not in df.columns:
        return df
    current = df["codec"].astype(str).map(versions)
    configs = df["codec_config"] if "codec_config" in df.columns else pd.Series([None] * len(df), index=df.index)
    # A row is of the current build when its version, and its configuration where run.json records one,
    # match; a row made before configurations were recorded is of an older build then.
    builds = pd.Series([build_of(v, ("unknown" if _is_na(c) else c) if isinstance(cur, str) and "[config " in cur
                                 else None)
                        for v, c, cur in zip(df["codec_version"], configs, current, strict=True)], index=df.index)
    stale = current.notna() & df["codec_version"].notna() & (builds != current)
    if not stale.any():
        return df
    kept = df[~stale].reset_index(drop=True)
    old = df[stale]
    # Named by version; by version and configuration where only the configuration changed.
    named = pd.Series([str(v) if not str(cur).startswith(f"{v} [config ") else b
                       for v, b, cur in zip(df["codec_version"], builds, current, strict=True)], index=df.index)
    kept.attrs["superseded"] = {
        str(codec): (len(g), sorted(named[g.index].unique()))
        for codec, g in old.groupby(old["codec"].astype(str))}
    return kept


def _is_na(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def superseded_note(df: pd.DataFrame) -> str | None:
    """One line naming the rows of older builds an analysis left out, if any."""
    superseded = df.attrs.get("superseded") or {}
    if not superseded:
        return None
    parts = [f"{codec} {n} (build {', '.join(versions)})" for codec, (n, versions) in sorted(superseded.items())]
    return ("Rows of older builds left out (the run was resumed after these codecs changed; the tables use each "
            "codec's latest build): " + "; ".join(parts) + ".")


def _run_info(run_dir: str | Path) -> dict:
    path = (Path(run_dir).parent if Path(run_dir).is_file() else Path(run_dir)) / "run.json"
    try:
        info = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def run_quality_targets(run_dir: str | Path) -> list[str]:
    """The ``--target-quality`` targets a run searched for (``"ssimulacra2=90"``), from its run.json."""
    return [str(t) for t in _run_info(run_dir).get("target_quality", [])]


def run_match(run_dir: str | Path) -> str | None:
    """The ``--match`` reference of a rate-matched run (its reports' default anchor), from its run.json."""
    match = _run_info(run_dir).get("match")
    return str(match) if match else None


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


def _codec_names(df: pd.DataFrame) -> dict[str, str]:
    """Codec label -> codec name, from the rows (their typed identity), else from the label itself."""
    from harness.codecs import codec_name_of

    names = {label: codec_name_of(label) for label in codec_order(df)}
    if "codec_name" in df.columns:
        names.update({str(label): str(name) for label, name in zip(df["codec"], df["codec_name"], strict=True)
                      if isinstance(name, str) and isinstance(label, str)})
    return names


def resolve_anchor(df: pd.DataFrame, anchor: str) -> str:
    """The codec label an anchor names: a label exactly (options at their defaults may be spelled out), or
    a codec name that only one label has."""
    labels = codec_order(df)
    if anchor in labels:
        return anchor
    from harness.codecs import label_of

    if ":" in anchor and label_of(anchor) in labels:
        return label_of(anchor)
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
    names = _codec_names(df)
    for candidate in codecs:
        if names.get(candidate) == "vvc":
            return candidate
    if not codecs:
        raise ReportError("the results table has no rows, so there is no codec to compare against")
    return codecs[0]


def check_rate_column(df: pd.DataFrame, rate_column: str) -> None:
    if rate_column not in RATE_COLUMNS:
        raise ReportError(f"rate column {rate_column!r} is not one of {', '.join(RATE_COLUMNS)}")
    if rate_column not in df.columns:
        raise ReportError(f"the results table has no {rate_column!r} column")


def point_key(frame: pd.DataFrame) -> pd.Series:
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
    return frame.assign(key=point_key(frame))


MISSING_REASONS = ("not published", "codec failed", "no rate", "metric failed", "not computed", "not finite")


def missing_values(df: pd.DataFrame, metric: str, rate_column: str = "bpp") -> pd.DataFrame:
    """Why rows have no usable value of metric column ``metric``: one row per (codec, reason) with the
    number of rows and the first message. Reasons: ``not published`` (a published codec has no
    reconstruction of that image), ``codec failed`` (the row's encode/decode failed),
    ``no rate``, ``metric failed`` (its ``error_<metric>`` message), ``not computed`` (the metric was not
    asked for on that row, or has no value there, e.g. MS-SSIM on an image below 161 px), ``not finite``
    (PSNR = inf of a lossless decode)."""
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


def metric_frames(df: pd.DataFrame, metrics: Sequence[str], rate_column: str,
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



def one_point_per_image(df: pd.DataFrame, anchor: str, rate_column: str = "bpp") -> bool:
    """Whether the anchor has at most one rate per image (so no BD value against it can exist)."""
    ok = df[(df["status"] == "ok") & (df["codec"].astype(str) == anchor)]
    return bool(len(ok)) and int(ok.groupby(ok["image"].astype(str))[rate_column].nunique().max()) <= 1
