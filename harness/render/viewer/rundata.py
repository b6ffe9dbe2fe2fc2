"""Reading a run for its site: a row's values as JSON, where its pixels are kept, what a --match run matched,
the run's rate tolerance."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


class ViewerError(ValueError):
    """The site cannot be made (no run, nothing to show); str() is one line."""


def json_number(value: Any) -> Any:
    """A table value as JSON: NaN/None -> null, +-inf -> "inf"/"-inf" (JSON has no infinity)."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    return value


def text(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def make_slug(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "image"
    slug, n = base, 2
    while slug.lower() in taken:
        slug, n = f"{base}-{n}", n + 1
    taken.add(slug.lower())
    return slug


def metric_columns(df: pd.DataFrame) -> list[str]:
    """Columns of the table that a registered metric produces, in table order."""
    from harness.metrics import column_info

    return [c for c in df.columns if column_info(str(c)) is not None]


def _params(row: dict[str, Any]) -> dict[str, Any]:
    try:
        params = json.loads(text(row.get("params")) or "{}")
    except json.JSONDecodeError:
        return {}
    return params if isinstance(params, dict) else {}


def kept_file(run_dir: Path, row: dict[str, Any]) -> Path | None:
    """A file holding the row's decoded pixels as they are (its kept reconstruction PNG, or the published
    file it was measured on), if there is one."""
    kept = text(row.get("reconstruction"))
    if kept and (run_dir / kept).is_file():
        return run_dir / kept
    source = _params(row).get("source_file") if text(row.get("rate_source")) == "published" else None
    if source and Path(source).is_file():
        return Path(source)
    return None


def why_no_pixels(run_dir: Path, row: dict[str, Any]) -> str | None:
    """None when the run kept what a row's pixels are made from (a reconstruction, a bitstream, a published
    file), else why it did not. Nothing is decoded here."""
    if kept_file(run_dir, row) is not None:
        return None
    stream = text(row.get("bitstream"))
    if stream:
        return None if (run_dir / stream).is_file() else f"kept bitstream {run_dir / stream} is missing"
    if text(row.get("rate_source")) == "published":
        source = _params(row).get("source_file")
        return f"published file {source} is missing" if source else "the published row names no file"
    return "the run kept neither bitstream nor reconstruction (--no-keep-bitstreams)"


def match_reference(df: pd.DataFrame) -> str | None:
    """The codec a ``--match`` run matched the others to: the codec without targets whose (image, bpp)
    pairs are the targets of the others' rows; None for other runs."""
    if "target_bpp" not in df or df["target_bpp"].isna().all():
        return None
    targets = {(str(i), round(float(t), 9)) for i, t in zip(df["image"], df["target_bpp"]) if pd.notna(t)}
    best, hits = None, 0
    for codec, rows in df[df["target_bpp"].isna()].groupby("codec"):
        count = sum((str(i), round(float(b), 9)) in targets for i, b in zip(rows["image"], rows["bpp"]) if pd.notna(b))
        if count > hits:
            best, hits = str(codec), count
    return best


def run_tolerance(run_dir: Path) -> float:
    """The rate tolerance the run's rate-targeted rows were searched with (its ``--tolerance``; the
    smallest over its invocations, the default when none named one): two sides within it count as at the
    same rate."""
    from harness.run.ratecontrol import DEFAULT_RATE_TOLERANCE

    try:
        info = json.loads((run_dir / "run.json").read_text())
    except (OSError, ValueError):
        return DEFAULT_RATE_TOLERANCE
    found = []
    for invocation in info.get("invocations", []) if isinstance(info, dict) else []:
        argv = [str(a) for a in invocation.get("command") or []] if isinstance(invocation, dict) else []
        for i, arg in enumerate(argv):
            value = arg.split("=", 1)[1] if arg.startswith("--tolerance=") else (
                argv[i + 1] if arg == "--tolerance" and i + 1 < len(argv) else None)
            try:
                found.append(float(value)) if value is not None else None
            except ValueError:
                pass
    return min(found) if found else DEFAULT_RATE_TOLERANCE
