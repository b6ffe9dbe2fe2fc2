"""Persistence of a run: every finished job is appended to a journal at once, and the typed parquet table
is rebuilt from the journal.

Layout of ``results/<run>/``: ``rows.jsonl`` (the journal, one JSON row per finished job, fsynced),
``results.parquet`` (the table), ``run.json`` (environment and command lines), ``reconstructions/``
(kept reconstructions as PNG). A run killed at any moment loses at most the job that was being written:
a torn last line of the journal is ignored when read and the job is redone.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

# The columns every row has, with their types; metric columns (float64) follow them.
ROW_SCHEMA: dict[str, pa.DataType] = {
    "job_key": pa.string(),
    "status": pa.string(),
    "error": pa.string(),
    "dataset": pa.string(),
    "image": pa.string(),
    "image_path": pa.string(),
    "image_sha256": pa.string(),
    "width": pa.int64(),
    "height": pa.int64(),
    "codec": pa.string(),
    "codec_name": pa.string(),
    "codec_version": pa.string(),
    "knob": pa.string(),
    "point": pa.float64(),
    "target_bpp": pa.float64(),
    "search_encodes": pa.int64(),
    "file_bytes": pa.int64(),
    "payload_bytes": pa.int64(),
    "bpp": pa.float64(),
    "bpp_payload": pa.float64(),
    "rate_source": pa.string(),
    "colour_matrix": pa.string(),
    "colour_range": pa.string(),
    "bit_depth": pa.int64(),
    "chroma_subsampling": pa.string(),
    "encode_seconds": pa.float64(),
    "decode_seconds": pa.float64(),
    "params": pa.string(),
    "reconstruction": pa.string(),
}


def _jsonable(value: Any) -> Any:
    # JSON has no infinity; PSNR of identical images is +inf, so keep it as a string token.
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def _from_json(value: Any) -> Any:
    if value == "inf":
        return math.inf
    if value == "-inf":
        return -math.inf
    return value


class RunStore:
    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.journal = self.run_dir / "rows.jsonl"
        self.parquet = self.run_dir / "results.parquet"
        self.info_path = self.run_dir / "run.json"

    def create(self) -> None:
        (self.run_dir / "reconstructions").mkdir(parents=True, exist_ok=True)

    # --- journal ---------------------------------------------------------------------------------
    def append(self, row: dict[str, Any]) -> None:
        """Persist one finished job now (a single write of one line, then fsync)."""
        line = json.dumps({k: _jsonable(v) for k, v in row.items()}, sort_keys=True) + "\n"
        fd = os.open(self.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            # A line torn by a kill leaves no newline; start on a fresh line so the next row stays whole.
            if os.fstat(fd).st_size and not self._ends_with_newline():
                line = "\n" + line
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def _ends_with_newline(self) -> bool:
        with self.journal.open("rb") as handle:
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) == b"\n"

    def rows(self) -> list[dict[str, Any]]:
        """The journal's rows, the last one per job key (a retried job replaces its failure)."""
        if not self.journal.exists():
            return []
        latest: dict[str, dict[str, Any]] = {}
        with self.journal.open() as handle:
            for line in handle:
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue  # torn by a kill: that job is simply redone
                latest[row["job_key"]] = {k: _from_json(v) for k, v in row.items()}
        return list(latest.values())

    def rewrite(self, rows: list[dict[str, Any]]) -> None:
        """Replace the journal with ``rows`` atomically (used when columns are added to finished rows)."""
        tmp = self.journal.with_name(self.journal.name + ".tmp")
        with tmp.open("w") as handle:
            for row in rows:
                handle.write(json.dumps({k: _jsonable(v) for k, v in row.items()}, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.journal)

    def finished(self) -> dict[str, str]:
        """job key -> status of every finished job."""
        return {row["job_key"]: row["status"] for row in self.rows()}

    def save_reconstruction(self, relative: str, png: bytes) -> None:
        path = self.run_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(png)
        os.replace(tmp, path)

    # --- table -------------------------------------------------------------------------------------
    def table(self) -> pd.DataFrame:
        return rows_to_frame(self.rows())

    def write_parquet(self) -> Path:
        frame = self.table()
        table = pa.Table.from_pandas(frame, schema=table_schema(frame.columns), preserve_index=False)
        tmp = self.parquet.with_name(self.parquet.name + ".tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, self.parquet)
        return self.parquet

    # --- run description -------------------------------------------------------------------------
    def read_info(self) -> dict[str, Any]:
        if self.info_path.exists():
            return json.loads(self.info_path.read_text())
        return {}

    def write_info(self, info: dict[str, Any]) -> None:
        tmp = self.info_path.with_name("run.json.tmp")
        tmp.write_text(json.dumps(info, indent=2, sort_keys=True, default=str) + "\n")
        os.replace(tmp, self.info_path)


def table_schema(columns: Any) -> pa.Schema:
    return pa.schema([(c, ROW_SCHEMA.get(c, pa.float64())) for c in columns])


def rows_to_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows -> a DataFrame with the fixed columns first (typed), then metric columns, sorted stably."""
    metric_columns = sorted({k for row in rows for k in row} - set(ROW_SCHEMA))
    columns = [*ROW_SCHEMA, *metric_columns]
    frame = pd.DataFrame(rows, columns=columns)
    for name, dtype in ROW_SCHEMA.items():
        if pa.types.is_integer(dtype):
            frame[name] = frame[name].astype("Int64")
        elif pa.types.is_floating(dtype):
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
        else:
            frame[name] = frame[name].astype("string")
    for name in metric_columns:
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    if len(frame):
        frame = frame.sort_values(["codec", "image", "point", "target_bpp", "job_key"], na_position="last")
    return frame.reset_index(drop=True)


def read_results(run_dir: str | Path) -> pd.DataFrame:
    """The results table of a run (the parquet, or the journal if the run never reached its end)."""
    store = RunStore(run_dir)
    if store.parquet.exists():
        return pd.read_parquet(store.parquet)
    if store.journal.exists():
        return store.table()
    raise FileNotFoundError(f"{run_dir}: no results.parquet or rows.jsonl (not a run directory?)")
