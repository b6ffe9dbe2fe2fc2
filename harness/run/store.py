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

import contextlib
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

from harness.core.hashing import sha256_file
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
        self.hashes_path = self.run_dir / "originals-sha256.json"
        self._lock_fd: int | None = None
        # The journal parsed once: (size, mtime) it had when read -> latest row per job key.
        self._parsed: tuple[tuple[int, int], dict[str, Row]] | None = None
        self._hashes: dict[str, list[Any]] | None = None
        self._hashes_changed = False

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
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
                os.close(fd)
                raise RunLocked(f"{self.run_dir}: another harness process (pid {holder}) is writing to this run; "
                                f"wait for it to finish or use another --run name") from None
            # The holder removes the file when it is done: a lock on a removed file is no lock.
            try:
                if os.stat(path).st_ino == os.fstat(fd).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._lock_fd = fd

    def unlock(self) -> None:
        """Release the run folder; the lock file goes with it (a finished run leaves no ``.lock``)."""
        if self._lock_fd is not None:
            with contextlib.suppress(FileNotFoundError):
                (self.run_dir / ".lock").unlink()
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
            before = self._parsed[0] if self._parsed is not None else None
            if before is not None and before != _stamp(os.fstat(fd)):
                self._parsed = None  # changed behind our back: parse again when asked
            os.write(fd, line.encode())
            os.fsync(fd)
            if self._parsed is not None:  # keep the parsed journal in step, without reading it again
                self._parsed[1][row.job_key] = row
                self._parsed = (_stamp(os.fstat(fd)), self._parsed[1])
        finally:
            os.close(fd)

    def _ends_with_newline(self) -> bool:
        with self.journal.open("rb") as handle:
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) == b"\n"

    def rows(self) -> list[Row]:
        """The journal's rows, the last one per job key (a retried job replaces its failure). Lines that are
        not rows (torn by a kill, garbage) are skipped with one warning naming them: their jobs are redone.
        The journal is parsed once per store while its size and mtime stay the same; the rows returned are
        shared with that cache, so change a copy (``dataclasses.replace``), never a returned row."""
        try:
            stamp = _stamp(self.journal.stat())
        except FileNotFoundError:
            return []
        if self._parsed is not None and self._parsed[0] == stamp:
            return list(self._parsed[1].values())
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
        self._parsed = (stamp, latest)
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
        self._parsed = None

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

    def parquet_is_current(self) -> bool:
        """The parquet was written after the journal's last change, with the current schema."""
        try:
            return (self.parquet.stat().st_mtime_ns > self.journal.stat().st_mtime_ns
                    and _current_schema(self.parquet))
        except FileNotFoundError:
            return False

    def write_parquet(self, force: bool = False) -> Path:
        """Rebuild the parquet from the journal, unless it is current (a resumed run that ran nothing)."""
        if not force and self.parquet_is_current():
            return self.parquet
        frame = self.table()
        table = pa.Table.from_pandas(frame, schema=table_schema(frame.columns), preserve_index=False)
        tmp = self.parquet.with_name(f"{self.parquet.name}.{os.getpid()}.tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, self.parquet)
        return self.parquet

    # --- originals ---------------------------------------------------------------------------------
    def original_sha256(self, path: str | Path) -> str:
        """The sha256 of an original file, cached in the run folder by (path, size, mtime): a resume hashes
        only originals that changed. Call :meth:`save_original_hashes` to keep new ones."""
        if self._hashes is None:
            try:
                self._hashes = json.loads(self.hashes_path.read_text())
            except (FileNotFoundError, ValueError):
                self._hashes = {}
        key = str(Path(path).resolve())
        st = os.stat(key)
        known = self._hashes.get(key)
        if known is not None and known[:2] == [st.st_size, st.st_mtime_ns]:
            return str(known[2])
        digest = sha256_file(key)
        self._hashes[key] = [st.st_size, st.st_mtime_ns, digest]
        self._hashes_changed = True
        return digest

    def save_original_hashes(self) -> None:
        if self._hashes is not None and self._hashes_changed:
            tmp = self.hashes_path.with_name(f"{self.hashes_path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(self._hashes, sort_keys=True) + "\n")
            os.replace(tmp, self.hashes_path)
            self._hashes_changed = False

    # --- run description -------------------------------------------------------------------------
    def read_info(self) -> dict[str, Any]:
        if self.info_path.exists():
            return json.loads(self.info_path.read_text())
        return {}

    def write_info(self, info: dict[str, Any]) -> None:
        tmp = self.info_path.with_name(f"run.json.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(info, indent=2, sort_keys=True, default=str) + "\n")
        os.replace(tmp, self.info_path)


def _stamp(st: os.stat_result) -> tuple[int, int]:
    return st.st_size, st.st_mtime_ns


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
