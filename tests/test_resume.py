"""A resume does no needless work: the journal is parsed once, the parquet is kept when the rows did not
change, and originals are hashed again only when their file changed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from harness.codecs import get_codec
from harness.datasets import resolve_dataset
from harness.run.store import RunStore, read_results
from harness.run.sweep import run_sweep
from tests.runs import write_crops


def _sweep(store: RunStore, crops: Path, points: list[float]) -> None:
    run_sweep(store, resolve_dataset(str(crops)), [get_codec("jpeg")], points=points, metrics=("psnr",))


def test_resume_keeps_a_current_parquet_and_rewrites_a_changed_one(tmp_path):
    crops = write_crops(tmp_path / "crops")
    store = RunStore(tmp_path / "run")
    _sweep(store, crops, [30.0, 60.0])
    first = store.parquet.stat().st_mtime_ns
    table = read_results(store.run_dir)
    assert len(table) == 4 and table["psnr_rgb"].between(20, 45).all()

    _sweep(RunStore(tmp_path / "run"), crops, [30.0, 60.0])  # nothing to do
    assert store.parquet.stat().st_mtime_ns == first

    _sweep(RunStore(tmp_path / "run"), crops, [30.0, 60.0, 90.0])  # two new rows
    after = read_results(store.run_dir)
    assert store.parquet.stat().st_mtime_ns > first
    assert len(after) == 6 and sorted(after["point"].unique()) == [30.0, 60.0, 90.0]
    # The rows already there are the same rows, untouched.
    same = after[after["point"] < 90].sort_values("job_key").reset_index(drop=True)
    pd.testing.assert_frame_equal(same[["job_key", "bpp", "psnr_rgb"]],
                                  table.sort_values("job_key").reset_index(drop=True)[["job_key", "bpp", "psnr_rgb"]])


def test_parquet_from_an_older_schema_is_rewritten_even_if_newer(tmp_path):
    crops = write_crops(tmp_path / "crops")
    store = RunStore(tmp_path / "run")
    _sweep(store, crops, [50.0])
    pd.DataFrame({"job_key": ["x"], "bpp": [1.0]}).to_parquet(store.parquet)  # no schema stamp, newest file
    assert not store.parquet_is_current()
    _sweep(RunStore(tmp_path / "run"), crops, [50.0])
    assert len(read_results(store.run_dir)) == 2


def test_original_hashes_are_cached_by_path_size_and_mtime(tmp_path):
    crops = write_crops(tmp_path / "crops")
    store = RunStore(tmp_path / "run")
    _sweep(store, crops, [50.0])
    cache = json.loads(store.hashes_path.read_text())
    assert len(cache) == 2
    image = crops / "kodim23.png"
    size, mtime, digest = cache[str(image.resolve())]
    assert (size, mtime) == (image.stat().st_size, image.stat().st_mtime_ns)

    # A cached digest is believed while the file's size and mtime are unchanged (that is the point of it) ...
    cache[str(image.resolve())][2] = "0" * 64
    store.hashes_path.write_text(json.dumps(cache))
    assert RunStore(tmp_path / "run").original_sha256(image) == "0" * 64
    # ... and a file rewritten since is hashed again: its rows are new jobs, not the old ones resumed.
    os.utime(image, ns=(mtime + 10**9, mtime + 10**9))
    fresh = RunStore(tmp_path / "run")
    assert fresh.original_sha256(image) == digest
    _sweep(fresh, crops, [50.0])
    assert json.loads(store.hashes_path.read_text())[str(image.resolve())][1] == mtime + 10**9
    assert len(read_results(store.run_dir)) == 2  # same bytes, same keys: nothing redone


def test_rows_parsed_once_and_kept_in_step_with_appends(tmp_path):
    crops = write_crops(tmp_path / "crops")
    store = RunStore(tmp_path / "run")
    _sweep(store, crops, [40.0, 70.0])
    reader = RunStore(tmp_path / "run")
    rows = reader.rows()
    assert len(rows) == 4
    assert all(a is b for a, b in zip(reader.rows(), rows, strict=True))  # the same objects: not parsed again

    # Another process appends: the journal's size and mtime change, so the next read parses it again.
    other = RunStore(tmp_path / "run")
    extra = rows[0].__class__.from_json({**rows[0].to_json(), "job_key": "another-key"})
    other.append(extra)
    assert {r.job_key for r in reader.rows()} == {r.job_key for r in rows} | {"another-key"}

    # Our own append updates the parsed rows in place and matches what a fresh reader parses.
    again = reader.rows()[1].__class__.from_json({**rows[1].to_json(), "job_key": "third-key"})
    reader.append(again)
    assert {r.job_key for r in reader.rows()} == {r.job_key for r in RunStore(tmp_path / "run").rows()}
