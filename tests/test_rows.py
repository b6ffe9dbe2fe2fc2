"""Runs you can extend: codec and metric outcomes apart, bitstreams kept, metrics added without encoding."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from harness.run.reconstruct import ReconstructionError, reconstruction
from harness.run.rows import Row, RowError
from harness.run.store import RunStore, StoreError, read_results
from tests.conftest import SHARED
from tests.runs import write_crops


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd, capture_output=True, text=True, check=False,
                          env={**os.environ, **(env or {})}, timeout=600)


def _bitstream_files(run: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime_ns for p in (run / "bitstreams").iterdir()}


@pytest.mark.slow  # several command-line runs that load torch
def test_rerun_with_more_metrics_adds_them_without_encoding(tmp_path):
    crops = write_crops(tmp_path / "crops", (("kodim23", 100, 200), ("kodim13", 150, 250)), height=176, width=192)
    run = ["run", "--codecs", "jpeg,avif", "--points", "30,60", "--dataset", str(crops), "--results", "r"]
    first = cli(*run, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    store = RunStore(tmp_path / "r" / "crops")
    kept = _bitstream_files(store.run_dir)
    assert len(kept) == 8  # kept by default, one file per distinct stream
    second = cli(*run, "--metrics", "psnr,ms_ssim", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "8 jobs: 0 encoded, 0 already done, 8 completed without encoding" in second.stderr
    assert "8 rows gained ms_ssim (no encode)" in second.stderr
    assert _bitstream_files(store.run_dir) == kept  # nothing written again
    table = read_results(store.run_dir)
    assert table["ms_ssim_rgb"].notna().all() and (table["ms_ssim_rgb"] > 0.5).all()
    # The same values as a run that asked for MS-SSIM from the start.
    fresh = cli(*run, "--metrics", "psnr,ms_ssim", "--run", "fresh", cwd=tmp_path)
    assert fresh.returncode == 0, fresh.stderr
    reference = read_results(tmp_path / "r" / "fresh")
    columns = ["job_key", "bpp", "psnr_rgb", "ms_ssim_rgb", "ms_ssim_y"]
    pd.testing.assert_frame_equal(table[columns], reference[columns])
    third = cli(*run, "--metrics", "psnr,ms_ssim", cwd=tmp_path)
    assert "0 encoded, 8 already done" in third.stderr


def test_reconstruction_of_a_row_equals_the_decoded_image_measured(tmp_path):
    crops = write_crops(tmp_path / "crops")
    result = cli("run", "--codecs", "jpeg,avif,vvenc-yuv", "--points", "40", "--dataset", str(crops),
                 "--results", "r", "--keep-reconstructions", cwd=tmp_path)
    run = tmp_path / "r" / "crops"
    table = read_results(run)
    assert (table["status"] == "ok").all(), result.stderr
    for _, row in table.iterrows():
        kept_png = np.asarray(Image.open(run / row["reconstruction"]).convert("RGB"))
        assert row["bitstream"] == f"bitstreams/{row['bitstream_sha256']}{Path(row['bitstream']).suffix}"
        decoded = reconstruction(run, row.drop(labels=["reconstruction"]))  # from the bitstream alone
        assert np.array_equal(decoded, kept_png)
        original = np.asarray(Image.open(row["image_path"]).convert("RGB")).astype(float)
        psnr = 10 * np.log10(255**2 / np.mean((decoded - original) ** 2))
        assert psnr == pytest.approx(row["psnr_rgb"], abs=1e-9)
    # A stream changed on disk is refused, not decoded into other numbers.
    row = table.iloc[0].drop(labels=["reconstruction"])
    (run / row["bitstream"]).write_bytes(b"garbage")
    with pytest.raises(ReconstructionError, match="does not match the sha256"):
        reconstruction(run, row)


@pytest.mark.slow  # several command-line runs that load torch
def test_failed_metric_keeps_the_row_and_retry_computes_it_without_encoding(tmp_path):
    crops = write_crops(tmp_path / "crops")
    empty = tmp_path / "empty-torch-home"
    empty.mkdir()
    run = ["run", "--codecs", "jpeg,jpeg-444", "--points", "20,50,80", "--dataset", str(crops), "--results", "r",
           "--metrics", "psnr,lpips"]
    first = cli(*run, cwd=tmp_path, env={"TORCH_HOME": str(empty)})
    assert first.returncode == 12, first.stderr  # every row has a metric error
    assert "12 rows have no lpips" in first.stderr
    table = read_results(tmp_path / "r" / "crops")
    assert len(table) == 12 and (table["status"] == "ok").all() and table["psnr_rgb"].notna().all()
    assert table["error_lpips"].notna().all() and table["lpips_alex"].isna().all() if "lpips_alex" in table else True
    assert all("weight" in e or "TORCH_HOME" in e or "not found" in e.lower() for e in table["error_lpips"])
    report = cli("report", "r/crops", "--anchor", "jpeg", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    markdown = (tmp_path / "r" / "crops" / "report" / "report.md").read_text()
    assert "psnr_rgb" in markdown or "PSNR" in markdown
    assert "jpeg-444" in markdown
    bitstreams = _bitstream_files(tmp_path / "r" / "crops")
    retry = cli(*run, "--retry-failed", cwd=tmp_path, env={"TORCH_HOME": str(SHARED / "weights" / "torch_home")})
    assert retry.returncode == 0, retry.stderr
    assert "0 encoded" in retry.stderr and "12 rows gained lpips (no encode)" in retry.stderr
    assert _bitstream_files(tmp_path / "r" / "crops") == bitstreams
    after = read_results(tmp_path / "r" / "crops")
    assert after["lpips_alex"].notna().all() and "error_lpips" not in after.columns
    assert list(after["psnr_rgb"]) == list(table["psnr_rgb"])


@pytest.mark.slow  # several command-line runs that load torch
def test_metrics_add_on_a_default_run_and_on_a_run_without_bitstreams(tmp_path):
    crops = write_crops(tmp_path / "crops")
    assert cli("run", "--codecs", "jpeg", "--points", "30,70", "--dataset", str(crops), "--results", "r",
               cwd=tmp_path).returncode == 0
    added = cli("metrics", "r/crops", "--add", "lpips", cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    assert "4 rows gained lpips (no encode)" in added.stderr
    table = read_results(tmp_path / "r" / "crops")
    assert table["lpips_alex"].between(0.0, 1.0).all() and table["lpips_alex"].notna().all()
    again = cli("metrics", "r/crops", "--add", "lpips", cwd=tmp_path)
    assert "every successful row already has lpips" in again.stderr

    assert cli("run", "--codecs", "jpeg", "--points", "30", "--dataset", str(crops), "--results", "r", "--run",
               "thin", "--no-keep-bitstreams", cwd=tmp_path).returncode == 0
    assert not (tmp_path / "r" / "thin" / "bitstreams").exists() or not any((tmp_path / "r" / "thin" / "bitstreams").iterdir())
    refused = cli("metrics", "r/thin", "--add", "ms_ssim", cwd=tmp_path)
    assert refused.returncode == 2
    assert "--no-keep-bitstreams" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1


def test_first_format_journal_is_migrated_and_resumes_without_work(tmp_path):
    crops = write_crops(tmp_path / "crops")
    from harness.codecs import get_codec
    from harness.datasets import resolve_dataset
    from harness.run.sweep import run_sweep

    store = RunStore(tmp_path / "run")
    run_sweep(store, resolve_dataset(str(crops)), [get_codec("jpeg")], points=[40], metrics=("psnr",))
    # Write the journal as the first format did: flat metric columns, no schema, image name not in the key,
    # and a metric failure recorded as the whole row failing.
    old_lines = []
    for row in store.rows():
        identity = {"image": row.image_sha256, "codec": row.codec, "version": row.codec_version,
                    "point": row.point, "target_bpp": None, "tolerance": None}
        import hashlib

        key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:32]
        flat = {k: v for k, v in row.to_json().items() if k not in ("values", "metric_errors", "schema",
                                                                   "bitstream", "bitstream_sha256",
                                                                   "reconstruction_sha256", "requested_point")}
        flat.update(row.values, job_key=key, status="failed", error="metric lpips: weights missing")
        old_lines.append(json.dumps(flat))
    store.journal.write_text("\n".join(old_lines) + "\n")
    rows = store.rows()
    assert all(r.ok and r.metric_errors == {"lpips": "weights missing"} and r.values["psnr_rgb"] > 20 for r in rows)
    again = run_sweep(store, resolve_dataset(str(crops)), [get_codec("jpeg")], points=[40], metrics=("psnr",))
    assert (again.ran, again.skipped) == (0, 2)
    # A journal from a newer harness is refused in one line.
    store.journal.write_text(json.dumps({"schema": 99, "job_key": "x"}) + "\n")
    with pytest.raises(StoreError, match="line 1: row schema 99"):
        store.rows()
    with pytest.raises(RowError):
        Row.from_json({"schema": 2})
