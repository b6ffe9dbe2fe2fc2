"""The run spine: real JPEG encodes on real Kodak images, persistence, failures and resume after SIGKILL."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from harness.codecs import get_codec
from harness.datasets import resolve_dataset
from harness.run.store import RunStore, read_results
from harness.run.sweep import run_sweep
from tests.conftest import KODAK

TIMING = ["encode_seconds", "decode_seconds"]


@pytest.fixture()
def crops(tmp_path) -> Path:
    """Three small real images (Kodak crops), plus one with spaces and quotes in its name."""
    folder = tmp_path / "crops"
    folder.mkdir()
    for i, name in enumerate(["kodim03", "kodim15", "kodim23"]):
        pixels = np.asarray(Image.open(KODAK / f"{name}.png"))[100:228, 200:392]
        Image.fromarray(pixels).save(folder / (f"{name}.png" if i else "kodim03 'crop' \"x\".png"))
    return folder


def test_run_writes_typed_rows_with_real_values(crops, tmp_path):
    store = RunStore(tmp_path / "run")
    codecs = [get_codec("jpeg"), get_codec("jpeg-444")]
    summary = run_sweep(store, resolve_dataset(str(crops)), codecs, points=[10, 50, 90], keep_reconstructions=True)
    assert (summary.total, summary.ran, summary.failed) == (18, 18, 0)
    table = read_results(store.run_dir)
    assert len(table) == 18 and set(table["status"]) == {"ok"}
    assert table["bpp"].dtype == "float64" and str(table["file_bytes"].dtype) == "Int64"
    # bpp counts the whole file on the original pixel count.
    assert np.allclose(table["bpp"], table["file_bytes"] * 8 / (128 * 192))
    for _, curve in table.groupby(["codec", "image"]):
        curve = curve.sort_values("point")
        assert curve["bpp"].is_monotonic_increasing and curve["psnr_rgb"].is_monotonic_increasing
    q90 = table[(table.point == 90) & (table.codec == "jpeg-444")]
    assert (q90["psnr_rgb"] > 36).all()
    # Kept reconstructions are the decoded images: their PSNR matches the row.
    row = table.iloc[0]
    recon = np.asarray(Image.open(store.run_dir / row["reconstruction"]))
    original = np.asarray(Image.open(row["image_path"]))
    mse = np.mean((recon.astype(float) - original) ** 2)
    assert abs(10 * np.log10(255**2 / mse) - row["psnr_rgb"]) < 1e-9
    info = json.loads((store.run_dir / "run.json").read_text())
    assert info["invocations"][0]["codecs"]["jpeg"]["version"].startswith("libjpeg-turbo")
    # A second identical run redoes nothing.
    again = run_sweep(store, resolve_dataset(str(crops)), codecs, points=[10, 50, 90])
    assert (again.ran, again.skipped) == (0, 18)


def test_bad_image_becomes_failed_rows_and_run_goes_on(crops, tmp_path):
    (crops / "broken.png").write_bytes((crops / "kodim15.png").read_bytes()[:500])
    store = RunStore(tmp_path / "run")
    summary = run_sweep(store, resolve_dataset(str(crops)), [get_codec("jpeg")], points=[30, 60])
    assert summary.failed == 2 and summary.ran == 8
    table = read_results(store.run_dir)
    failed = table[table.status == "failed"]
    assert set(failed["image"]) == {"broken"}
    assert all("broken.png" in e and "truncated" in e for e in failed["error"])
    assert (table[table.status == "ok"]["psnr_rgb"] > 20).all()


def test_target_bpp_rows_record_target_and_achieved(crops, tmp_path):
    store = RunStore(tmp_path / "run")
    run_sweep(store, resolve_dataset(str(crops)), [get_codec("jpeg")], target_bpps=[0.5, 1.0])
    table = read_results(store.run_dir)
    assert len(table) == 6 and set(table["status"]) == {"ok"}
    err = (table["bpp"] / table["target_bpp"] - 1).abs()
    assert (err < 0.12).all()  # JPEG's quality steps are coarse; the closest step is taken
    assert (table["search_encodes"] >= 2).all()


def _journal_lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


@pytest.mark.slow
def test_sigkill_resume_equals_uninterrupted_run(tmp_path):
    data = tmp_path / "kodak4"
    data.mkdir()
    for i in (1, 8, 19, 23):
        shutil.copy(KODAK / f"kodim{i:02d}.png", data)
    args = ["run", "--codecs", "jpeg,jpeg-444", "--dataset", str(data), "--results", str(tmp_path / "results"),
            "--points", "20,50,80", "--jobs", "2"]
    journal = tmp_path / "results" / "kodak4" / "rows.jsonl"
    kills = 0
    for threshold in (3, 8, 14):  # SIGKILL the whole process group after some rows landed
        proc = subprocess.Popen([sys.executable, "-m", "harness.cli", *args], cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 120
        while _journal_lines(journal) < threshold and proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
    assert kills >= 2
    assert _journal_lines(journal) < 24
    final = subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=tmp_path, capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    resumed = read_results(tmp_path / "results" / "kodak4")

    clean = subprocess.run([sys.executable, "-m", "harness.cli", *args[:-2], "--run", "clean", "--jobs", "1"],
                           cwd=tmp_path, capture_output=True, text=True)
    assert clean.returncode == 0, clean.stderr
    reference = read_results(tmp_path / "results" / "clean")
    assert len(resumed) == len(reference) == 4 * 2 * 3
    assert resumed["job_key"].is_unique
    pd.testing.assert_frame_equal(resumed.drop(columns=TIMING), reference.drop(columns=TIMING))


def test_cli_exit_status_counts_failures(crops, tmp_path):
    (crops / "zero.png").write_bytes(b"")
    result = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--codecs", "jpeg", "--points", "50,80",
                             "--dataset", str(crops), "--results", str(tmp_path / "r")], capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    assert "zero.png: empty file" in result.stderr
