"""The one row schema of a run: what one job (image x codec x operating point) produced.

A row keeps the codec's outcome and the metrics' outcomes apart:

- ``status`` / ``error`` are the **codec's** outcome: ``ok``, or ``failed`` with its one-line message
  (encoder crash, timeout, unreadable original, implausible decode...). A failed codec row has no rate.
- ``values`` holds one value per metric column (``psnr_rgb``...; ``None`` means "no value", e.g. text
  error on an image without text), and ``metric_errors`` one message per metric that failed
  (``{"lpips": "..."}``). A failed metric never hides the row or another metric's value.

Rows are written to the journal (``rows.jsonl``) as JSON with ``"schema": SCHEMA_VERSION``; the parquet
table (:func:`rows_to_frame`) has the fixed fields below as typed columns, then one float64 column per
metric column, then one string column ``error_<metric>`` per metric that failed somewhere.
Journals written before the schema existed (no ``"schema"`` key: metric columns at the top level, a failed
metric marking the whole row failed) and schema-2 rows (padding and rate-search trials inside ``params``,
no codec identity) are migrated when read; a journal from a newer harness is refused. A migrated row has
no ``codec_config``: it is a row of an older build until a resume finds its recorded parameters equal to
the codec's current configuration (:func:`harness.run.plan.adopt_legacy_rows`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from harness.codecs.identity import CodecIdentity
from harness.core.hashing import sha256_bytes
from harness.run.migrate import from_json_value as _from_json
from harness.run.migrate import migrate_v1, migrate_v2

SCHEMA_VERSION = 3
METRIC_ERROR_PREFIX = "error_"


class RowError(ValueError):
    """A stored row cannot be read (newer schema, not a row); str() is one line."""


@dataclass
class Row:
    """One finished job. Field order is the parquet column order."""

    job_key: str
    dataset: str
    image: str
    image_path: str
    image_sha256: str
    codec: str
    status: str = "ok"  # the codec's outcome: "ok", "failed", or "absent" (no published reconstruction)
    error: str | None = None  # the codec's one-line message when it failed
    width: int | None = None
    height: int | None = None
    codec_name: str | None = None
    codec_version: str | None = None
    codec_options: str | None = None  # every option of the codec, defaults spelled out (JSON object)
    codec_config: str | None = None  # digest of options, colour chain and exact arguments (CodecIdentity)
    knob: str | None = None
    point: float | None = None  # the operating point the codec actually used (after clamping to its range)
    requested_point: float | None = None  # the point asked for, when it differs from ``point``
    target_bpp: float | None = None
    search_encodes: int | None = None
    search_trials: tuple[tuple[float, float], ...] | None = None  # the rate search's (point, bpp) encodes
    # "search": an encode the rate search made beside a target, kept as a point of the codec's own RD
    # curve so that metrics can be read at exactly the target rate (interpolated), not only at the
    # nearest encode. "quality-search": an encode of a search for a quality (--target-quality, or a --match
    # reference's metric values), kept likewise. None for the points asked for.
    role: str | None = None
    file_bytes: int | None = None
    payload_bytes: int | None = None
    bpp: float | None = None
    bpp_payload: float | None = None
    rate_source: str | None = None  # "measured", or "published" (the authors' stated rate)
    padded_from: str | None = None  # a published reconstruction's size before cropping codec padding ("720x440")
    colour_matrix: str | None = None
    colour_range: str | None = None
    bit_depth: int | None = None
    chroma_subsampling: str | None = None
    encode_seconds: float | None = None
    decode_seconds: float | None = None
    # What the seconds measure (Codec.timing): "wall" (in process), "ffmpeg-benchmark" (ffmpeg's own CPU
    # seconds, without its start-up), "process" (a program's run, start-up included); ", median of N" with repeats.
    timing: str | None = None
    params: str | None = None  # the exact encoder parameters, JSON
    padded_height: int | None = None  # the size the codec coded, when padded beyond the image's
    padded_width: int | None = None
    bitstream: str | None = None  # kept bitstream, relative to the run folder (content-addressed)
    bitstream_sha256: str | None = None
    reconstruction: str | None = None  # kept reconstruction PNG, relative to the run folder
    reconstruction_sha256: str | None = None  # sha256 of the decoded pixels (HxWx3 uint8, C order)
    values: dict[str, float | None] = field(default_factory=dict)
    metric_errors: dict[str, str] = field(default_factory=dict)
    # Per metric label, the digest of what computed its values (options, version, weights' sha256:
    # harness.metrics.base.MetricIdentity); a resume computes again a metric whose digest changed. Journal
    # only; rows of schema 2 and older have none (their values are kept).
    metric_identities: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def identity(self) -> CodecIdentity | None:
        """The codec identity the row was made with; None for a row of schema 2 or older not adopted yet."""
        if not (self.codec_name and self.codec_options and self.codec_config):
            return None
        from harness.codecs import codec_class

        options = tuple(sorted(json.loads(self.codec_options).items()))
        try:
            cls = codec_class(self.codec_name)
            defaults, positional = tuple(sorted(cls.option_defaults.items())), cls.positional_option
        except Exception:  # noqa: BLE001 - a codec no longer registered: its options are all explicit
            defaults, positional = (), None
        return CodecIdentity(self.codec_name, options, defaults, self.codec_version or "", self.codec_config,
                             positional)

    @property
    def failed(self) -> bool:
        """The codec failed. A row "absent" (nothing published for this image) is a gap, not a failure."""
        return self.status == "failed"

    # --- metrics --------------------------------------------------------------------------------
    def missing_metrics(self, names: Iterable[str], retry_failed: bool = False) -> list[str]:
        """Of ``names`` (metric specs such as ``lpips`` or ``cvvdp:display=...``), the metrics this row still
        needs: never computed, or failed when ``retry_failed``."""
        missing = []
        for name in names:
            label, columns, digest = _metric_columns(name)
            if label in self.metric_errors:
                if retry_failed:
                    missing.append(name)
            elif not all(c in self.values for c in columns):
                missing.append(name)
            elif self.metric_identities.get(label, digest) != digest:  # another version, options or weights
                missing.append(name)
        return missing

    def set_metric_outcome(self, name: str, values: Mapping[str, float | None], error: str | None) -> None:
        """Record one metric's outcome, replacing an earlier value or error."""
        label, columns, digest = _metric_columns(name)
        for column in columns:
            self.values.pop(column, None)
        self.metric_errors.pop(label, None)
        self.metric_identities.pop(label, None)
        if error is not None:
            self.metric_errors[label] = error
        else:
            self.values.update(values)
            self.metric_identities[label] = digest

    def copy(self, **changes: Any) -> Row:
        """A copy whose metric dictionaries are its own (rows from a store are shared: change a copy)."""
        return dataclasses.replace(self, values=dict(self.values), metric_errors=dict(self.metric_errors),
                                   metric_identities=dict(self.metric_identities), **changes)

    # --- serialisation ---------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["values"] = {k: _jsonable(v) for k, v in self.values.items()}
        return {"schema": SCHEMA_VERSION, **data}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Row:
        """A row from its journal form; rows written before the schema existed are migrated."""
        if not isinstance(data, Mapping) or not isinstance(data.get("job_key"), str):
            raise RowError("not a row (no job_key)")
        version = data.get("schema")
        if version is None:
            return _migrate_v1(data)
        if version == 2:
            data = migrate_v2(data)
        elif version != SCHEMA_VERSION:
            raise RowError(f"row schema {version!r} is not {SCHEMA_VERSION}: written by another harness version; "
                           f"use that version or start a new run")
        fixed = {k: v for k, v in data.items() if k in _FIXED_NAMES}
        if fixed.get("search_trials") is not None:
            fixed["search_trials"] = _trials(fixed["search_trials"])
        values = {str(k): _from_json(v) for k, v in (data.get("values") or {}).items()}
        errors = {str(k): str(v) for k, v in (data.get("metric_errors") or {}).items()}
        identities = {str(k): str(v) for k, v in (data.get("metric_identities") or {}).items()}
        try:
            return cls(**fixed, values=values, metric_errors=errors, metric_identities=identities)
        except TypeError as exc:
            raise RowError(f"not a row ({exc})") from None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Row:
        """A row from a flat mapping such as a results-table row (``df.iloc[i]``): fixed fields, metric
        columns and ``error_<metric>`` columns; pandas' missing values become ``None``."""
        names = {f.name for f in FIELDS}
        fixed: dict[str, Any] = {}
        values: dict[str, float | None] = {}
        errors: dict[str, str] = {}
        for key, value in dict(data).items():
            value = None if _is_missing(value) else value
            if key in names:
                fixed[key] = value
            elif key.startswith(METRIC_ERROR_PREFIX):
                if value is not None:
                    errors[key[len(METRIC_ERROR_PREFIX):]] = str(value)
            elif key != "schema":
                values[key] = None if value is None else float(value)
        # A flat table has a column for every metric of any row: a missing value there means "not computed".
        values = {k: v for k, v in values.items() if v is not None}
        for key in _INT_NAMES:
            if fixed.get(key) is not None:
                fixed[key] = int(fixed[key])
        if isinstance(fixed.get("search_trials"), str):
            fixed["search_trials"] = _trials(json.loads(fixed["search_trials"]))
        return cls(**fixed, values=values, metric_errors=errors)


@functools.lru_cache(maxsize=256)
def _metric_columns(spec: str) -> tuple[str, tuple[str, ...], str]:
    """A metric spec's label, value columns and identity digest (asked once per spec and process: a resume
    asks for every row)."""
    from harness.metrics import get_metric

    metric = get_metric(spec)
    return metric.label, tuple(c.name for c in metric.output_columns()), metric.identity().digest


FIELDS = tuple(f for f in dataclasses.fields(Row) if f.name not in ("values", "metric_errors", "metric_identities"))
_FIXED_NAMES = frozenset(f.name for f in FIELDS)

_ARROW_TYPES = {"str": pa.string(), "int": pa.int64(), "float": pa.float64()}

# The typed fixed columns of the parquet table, derived from :class:`Row`; structured fields (the search
# trials) are JSON strings there.
ROW_SCHEMA: dict[str, pa.DataType] = {
    f.name: _ARROW_TYPES.get(str(f.type).split(" | ")[0], pa.string()) for f in FIELDS
}
_INT_NAMES = tuple(f.name for f in FIELDS if str(f.type).startswith("int"))
_JSON_NAMES = frozenset(f.name for f in FIELDS if str(f.type).split(" | ")[0] not in _ARROW_TYPES)


def _trials(value: Any) -> tuple[tuple[float, float], ...]:
    return tuple((float(p), float(b)) for p, b in value)


def metric_error_column(metric: str) -> str:
    """The parquet column holding metric ``metric``'s error messages (``error_lpips``)."""
    return METRIC_ERROR_PREFIX + metric


def is_metric_error_column(column: str) -> bool:
    return column.startswith(METRIC_ERROR_PREFIX) and column not in ROW_SCHEMA


def _jsonable(value: Any) -> Any:
    # JSON has no infinity; PSNR of identical images is +inf, so keep it as a string token.
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def job_key(image_sha256: str, image_name: str, codec: CodecIdentity, point: float | None,
            target_bpp: float | None, tolerance: float) -> str:
    """The content key of a job: what determines its result. The image's name is part of it, so the same
    pixels under two names are two rows of the table, not one row that silently stands for both. The codec
    is its whole identity (every option with defaults spelled out, build, digest of its configuration), so
    a changed default or fixed argument gives new keys, whatever the codec string said."""
    identity = {
        "image": image_sha256,
        "name": image_name,
        "codec": codec.key_fields(),
        "point": point,
        "target_bpp": target_bpp,
        "tolerance": tolerance if target_bpp is not None else None,
    }
    return sha256_bytes(json.dumps(identity, sort_keys=True).encode())[:32]


def _migrate_v1(data: Mapping[str, Any]) -> Row:
    """A row of the first journal format (see :func:`harness.run.migrate.migrate_v1`)."""
    fixed, values, errors = migrate_v1(data, _FIXED_NAMES)
    if fixed.get("search_trials") is not None:
        fixed["search_trials"] = _trials(fixed["search_trials"])
    try:
        return Row(**fixed, values=values, metric_errors=errors)
    except TypeError as exc:
        raise RowError(f"not a row ({exc})") from None


def rows_to_frame(rows: Iterable[Row]) -> pd.DataFrame:
    """Rows -> the results table: fixed columns (typed, in :class:`Row` order), metric columns (float64,
    sorted), then ``error_<metric>`` columns (string, sorted); sorted stably by codec, image and point."""
    rows = list(rows)
    metric_columns = sorted({k for row in rows for k in row.values})
    error_columns = sorted({metric_error_column(m) for row in rows for m in row.metric_errors})
    records = []
    for row in rows:
        record = {f.name: printable(getattr(row, f.name)) for f in FIELDS}
        for name in _JSON_NAMES:
            if record[name] is not None:
                record[name] = json.dumps(record[name])
        record.update(row.values)
        record.update({metric_error_column(m): printable(e) for m, e in row.metric_errors.items()})
        records.append(record)
    frame = pd.DataFrame(records, columns=[*ROW_SCHEMA, *metric_columns, *error_columns])
    for name, dtype in ROW_SCHEMA.items():
        if pa.types.is_integer(dtype):
            frame[name] = frame[name].astype("Int64")
        elif pa.types.is_floating(dtype):
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
        else:
            frame[name] = frame[name].astype("string")
    for name in metric_columns:
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    for name in error_columns:
        frame[name] = frame[name].astype("string")
    if len(frame):
        frame = frame.sort_values(["codec", "image", "point", "target_bpp", "job_key"], na_position="last")
    return frame.reset_index(drop=True)


def printable(text: Any) -> Any:
    """``text`` as valid UTF-8 for the parquet table: a file name that is not UTF-8 (its undecodable bytes
    are lone surrogates in Python) keeps its bytes as ``\\xNN`` escapes instead of failing every write."""
    if not isinstance(text, str):
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        try:
            return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:
            return text.encode("utf-8", "backslashreplace").decode("utf-8")


def file_path(text: str) -> Path:
    """The file a row's path names: ``text`` itself, or, when that is not a file and ``text`` came through
    :func:`printable`, the path whose undecodable bytes its ``\\xNN`` escapes stand for."""
    path = Path(text)
    if "\\x" not in text or path.exists():
        return path
    raw = re.sub(rb"\\x([0-9a-fA-F]{2})", lambda m: bytes([int(m.group(1), 16)]), text.encode("utf-8", "surrogateescape"))
    return Path(os.fsdecode(raw))


def table_schema(columns: Iterable[str]) -> pa.Schema:
    """The parquet schema of a results table with these columns."""
    return pa.schema([(c, ROW_SCHEMA.get(c, pa.string() if is_metric_error_column(c) else pa.float64()))
                      for c in columns])


def row_json_line(row: Row) -> str:
    return json.dumps(row.to_json(), sort_keys=True) + "\n"
