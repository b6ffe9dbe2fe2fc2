"""Rows of earlier journal formats in the current one: the first format (no schema) and schema 2.

Pure functions on the journal's JSON objects; :meth:`harness.run.rows.Row.from_json` calls them. A
migrated row keeps the key of its time (:func:`v2_key`) and has no codec identity until a resume adopts it
(:mod:`harness.run.adopt`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from harness.core.hashing import sha256_bytes


def from_json_value(value: Any) -> float | None:
    if value == "inf":
        return math.inf
    if value == "-inf":
        return -math.inf
    return None if value is None else float(value)


def v2_key(image_sha256: str, image_name: str, codec_label: str, codec_version: str, point: float | None,
            target_bpp: float | None, tolerance: float) -> str:
    """The key of schema 1-2 (the codec string as given and the build): what migrated rows carry."""
    identity = {"image": image_sha256, "name": image_name, "codec": codec_label, "version": codec_version,
                "point": point, "target_bpp": target_bpp, "tolerance": tolerance if target_bpp is not None else None}
    return sha256_bytes(json.dumps(identity, sort_keys=True).encode())[:32]


def _v1_key(fixed: Mapping[str, Any], tolerance: float) -> str:
    target = fixed.get("target_bpp")
    identity = {"image": fixed.get("image_sha256"), "codec": fixed.get("codec"), "version": fixed.get("codec_version"),
                "point": None if target is not None else fixed.get("point"), "target_bpp": target,
                "tolerance": tolerance if target is not None else None}
    return sha256_bytes(json.dumps(identity, sort_keys=True).encode())[:32]


def _migrate_key(fixed: dict[str, Any]) -> None:
    # First-format keys left the image name out; a row whose key is provably such a key (default
    # tolerance) gets the current key, so resuming an old run redoes nothing.
    if _v1_key(fixed, 0.02) == fixed["job_key"]:
        target = fixed.get("target_bpp")
        fixed["job_key"] = v2_key(fixed.get("image_sha256") or "", fixed.get("image") or "", fixed.get("codec") or "",
                                   fixed.get("codec_version") or "", None if target is not None else fixed.get("point"),
                                   target, 0.02)


def migrate_v2(data: Mapping[str, Any]) -> dict[str, Any]:
    """A schema-2 row in schema-3 form: its padding and rate-search trials move from ``params`` to their
    fields; it has no codec identity (``codec_config`` None) until a resume adopts it."""
    out = {k: v for k, v in data.items() if k not in ("codec_options", "codec_config")}
    try:
        params = json.loads(data["params"]) if isinstance(data.get("params"), str) else None
    except ValueError:
        params = None
    if isinstance(params, dict):
        padded = params.pop("padded_to", None)
        if isinstance(padded, list) and len(padded) == 2:
            out["padded_height"], out["padded_width"] = int(padded[0]), int(padded[1])
        trials = params.pop("rate_search", None)
        if trials:
            out["search_trials"] = trials
        out["params"] = json.dumps(params, sort_keys=True, default=str)
    return out


def migrate_v1(data: Mapping[str, Any], names: frozenset[str]) -> tuple[dict[str, Any], dict[str, float | None],
                                                                     dict[str, str]]:
    """A row of the first journal format as (fixed fields, metric values, metric errors): metric columns at
    the top level, and a metric failure recorded as the whole row failing (``error`` = ``"metric NAME:
    message; ..."``). The codec succeeded when the row has a rate; its metric failures move to the metric
    errors and the row becomes ok. ``names``: the fixed fields of the current row."""
    fixed = {k: v for k, v in data.items() if k in names}
    values = {k: from_json_value(v) for k, v in data.items() if k not in names and k not in ("schema", "metric_identities")}
    _migrate_key(fixed)
    fixed = {k: v for k, v in migrate_v2(fixed).items() if k in names}
    errors: dict[str, str] = {}
    error = fixed.get("error")
    if fixed.get("status") != "ok" and fixed.get("bpp") is not None and isinstance(error, str):
        parts = [p.strip() for p in error.split("; metric ")]
        parts = [parts[0], *(f"metric {p}" for p in parts[1:])]
        if all(p.startswith("metric ") and ": " in p for p in parts):
            for part in parts:
                name, message = part[len("metric "):].split(": ", 1)
                errors[name] = message
            fixed.update(status="ok", error=None)
    return fixed, values, errors
