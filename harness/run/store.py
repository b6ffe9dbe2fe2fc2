"""Persistence of a run: every finished job is appended to a journal at once, and the typed parquet table
is rebuilt from the journal.

Layout of ``results/<run>/``: ``rows.jsonl`` (the journal, one JSON row per finished job, fsynced: the
source of truth), ``results.parquet`` (the table, rebuilt from the journal), ``run.json`` (environment and
command lines), ``bitstreams/`` (every encoder output, named by its sha256: a reconstruction can always be
decoded again), ``reconstructions/`` (decoded images as PNG, with ``--keep-reconstructions``). A run killed
at any moment loses at most the job that was being written: a torn line of the journal, like any line
that is not a row, is skipped with a warning naming it, and its job is redone.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from harness.run.rows import (
    ROW_SCHEMA,
    Row,
    RowError,
    row_json_line,
    rows_to_frame,
    table_schema,
)

__all__ = ["ROW_SCHEMA", "RunLocked", "RunStore", "StoreError", "read_results", "rows_to_frame", "table_schema"]


class StoreError(RuntimeError):
    """A run folder cannot be used (not writable, not a folder); str() is one line."""


class RunLocked(StoreError):
    """Another process is writing to the same run folder."""


class RunStore:
    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.journal = self.run_dir / "rows.jsonl"
        self.parquet = self.run_dir / "results.parquet"
        self.info_path = self.run_dir / "run.json"
        self._lock_fd: int | None = None

    def create(self) -> None:
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            probe = self.run_dir / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            if exc.errno in (errno.ENOTDIR, errno.EEXIST):
                reason = "a file is in the way"
            raise StoreError(f"{self.run_dir}: cannot write the run folder ({reason})") from None

    # --- exclusive use ---------------------------------------------------------------------------
    def lock(self) -> None:
        """Take the run folder for this process (released at exit or by :meth:`unlock`); a second
        process on the same folder gets :class:`RunLocked` instead of redoing the same jobs."""
        if self._lock_fd is not None:
            return
        self.create()
        path = self.run_dir / ".lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise RunLocked(f"{self.run_dir}: another harness process (pid {holder}) is writing to this run; "
                            f"wait for it to finish or use another --run name") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._lock_fd = fd

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # --- journal ---------------------------------------------------------------------------------
    def append(self, row: Row) -> None:
        """Persist one finished job now (a single write of one line, then fsync)."""
        line = row_json_line(row)
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

    def rows(self) -> list[Row]:
        """The journal's rows, the last one per job key (a retried job replaces its failure). Lines that are
        not rows (torn by a kill, garbage) are skipped with one warning naming them: their jobs are redone."""
        if not self.journal.exists():
            return []
        latest: dict[str, Row] = {}
        skipped: list[str] = []
        with self.journal.open("rb") as handle:
            for number, raw in enumerate(handle, 1):
                if not raw.strip():
                    continue
                try:
                    row = Row.from_json(json.loads(raw.decode("utf-8")))
                except RowError as exc:
                    if "schema" in str(exc):
                        raise StoreError(f"{self.journal} line {number}: {exc}") from None
                    skipped.append(f"{number} ({exc})")
                    continue
                except (UnicodeDecodeError, json.JSONDecodeError):
                    skipped.append(f"{number} (not JSON)")
                    continue
                latest[row.job_key] = row
        if skipped:
            warnings.warn(f"{self.journal}: skipped line {', '.join(skipped[:5])}"
                          + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
                          + ": not a row; those jobs are redone", stacklevel=2)
        return list(latest.values())

    def rewrite(self, rows: Iterable[Row]) -> None:
        """Replace the journal with ``rows`` atomically (used when metrics are added to finished rows)."""
        tmp = self.journal.with_name(self.journal.name + ".tmp")
        with tmp.open("w") as handle:
            for row in rows:
                handle.write(row_json_line(row))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.journal)

    def finished(self) -> dict[str, Row]:
        """job key -> row of every finished job."""
        return {row.job_key: row for row in self.rows()}

    # --- kept files --------------------------------------------------------------------------------
    def save_file(self, relative: str, data: bytes) -> None:
        path = self.run_dir / relative
        if path.is_file() and path.stat().st_size == len(data):
            return  # content-addressed: the same name holds the same bytes
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    save_reconstruction = save_file

    # --- table -------------------------------------------------------------------------------------
    def table(self) -> pd.DataFrame:
        return rows_to_frame(self.rows())

    def write_parquet(self) -> Path:
        frame = self.table()
        table = pa.Table.from_pandas(frame, schema=table_schema(frame.columns), preserve_index=False)
        tmp = self.parquet.with_name(f"{self.parquet.name}.{os.getpid()}.tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, self.parquet)
        return self.parquet

    # --- run description -------------------------------------------------------------------------
    def read_info(self) -> dict[str, Any]:
        if self.info_path.exists():
            return json.loads(self.info_path.read_text())
        return {}

    def write_info(self, info: dict[str, Any]) -> None:
        tmp = self.info_path.with_name(f"run.json.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(info, indent=2, sort_keys=True, default=str) + "\n")
        os.replace(tmp, self.info_path)


def read_results(run_dir: str | Path) -> pd.DataFrame:
    """The results table of a run: the parquet, unless the journal is newer (an interrupted run, or one
    still going), there is no parquet, or the parquet was written by a harness before the row schema
    (then the table is built from the journal, migrating its rows)."""
    store = RunStore(run_dir)
    if store.journal.exists() and (not store.parquet.exists()
                                   or store.journal.stat().st_mtime_ns > store.parquet.stat().st_mtime_ns
                                   or not _current_schema(store.parquet)):
        return store.table()
    if store.parquet.exists():
        if not _current_schema(store.parquet):
            raise StoreError(f"{store.parquet}: written by an older harness and there is no rows.jsonl to "
                             "migrate it from; run the same command again to rebuild it")
        return pd.read_parquet(store.parquet)
    raise FileNotFoundError(f"{run_dir}: no results.parquet or rows.jsonl (not a run directory?)")


def _current_schema(parquet: Path) -> bool:
    try:
        names = set(pq.read_schema(parquet).names)
    except Exception:  # noqa: BLE001 - pyarrow raises several types for a file that is not parquet
        return False
    return set(ROW_SCHEMA) <= names
