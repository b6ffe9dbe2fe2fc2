"""``harness report --jpeg-ai`` on two Kodak crops: the seven-metric BD-rate table and its mean equal a
computation by hand from the rows (FAU's bjontegaard package per image, plain means)."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings

import bjontegaard
import numpy as np
import pandas as pd
import pytest

from tests.runs import write_crops

# Seven metrics on 16 reconstructions: about 70 s of CPU, so with the slow tests (python3 -m pytest -m slow).
pytestmark = pytest.mark.slow

COLUMNS = ("ms_ssim_y709", "vif_y", "fsimc", "nlpd_y", "iw_ssim_y", "vmaf", "psnr_hvs_m_y")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from harness.codecs import get_codec
    from harness.datasets import resolve_dataset
    from harness.run.store import RunStore
    from harness.run.sweep import run_sweep

    root = tmp_path_factory.mktemp("jpegai")
    crops = write_crops(root / "crops", height=168, width=168)  # MS-SSIM and IW-SSIM need 161 px
    store = RunStore(root / "run")
    metrics = ("ms_ssim_y709", "vif", "fsim", "nlpd", "iw_ssim", "vmaf", "psnr_hvs_m")
    run_sweep(store, resolve_dataset(str(crops)), [get_codec("jpeg")], points=(20, 40, 60, 80), metrics=metrics)
    run_sweep(store, resolve_dataset(str(crops)), [get_codec("webp")], points=(20, 40, 60, 80), metrics=metrics)
    return store.run_dir


def _by_hand(rows: pd.DataFrame, column: str) -> float:
    """Per image, FAU's pchip BD-rate of webp against jpeg (MS-SSIM in dB, NLPD negated: lower is better), then
    the mean over the images."""
    values = []
    for _, g in rows[rows["status"] == "ok"].groupby("image"):
        curves = []
        for codec in ("jpeg", "webp"):
            c = g[g["codec"] == codec].sort_values("bpp")
            quality = c[column].to_numpy(dtype=float)
            if column == "ms_ssim_y709":
                quality = -10 * np.log10(1 - quality)
            if column == "nlpd_y":
                quality = -quality
            curves += [c["bpp"].to_numpy(dtype=float), quality]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values.append(float(bjontegaard.bd_rate(*curves, method="pchip", require_matching_points=False)))
    return float(np.mean(values))


def test_jpeg_ai_mean_equals_a_computation_by_hand(run_dir, tmp_path):
    from harness.analysis.selection import load_run
    from harness.render.jpegai import jpegai_report

    rows = load_run(run_dir)
    assert rows["image"].nunique() == 2
    table, text, files = jpegai_report(run_dir, "jpeg", out_dir=tmp_path)
    got = table.set_index("codec").loc["webp"]
    hand = {column: _by_hand(rows, column) for column in COLUMNS}
    for column, value in hand.items():
        assert math.isfinite(value)
        assert got[column] == pytest.approx(value, abs=1e-6), column
    assert got["mean"] == pytest.approx(sum(hand.values()) / 7, abs=1e-6)
    assert files["jpeg_ai_md"].read_text() == text and "PSNR-HVS-M" in text and f"{got['mean']:+.2f}%" in text
    assert pd.read_csv(files["jpeg_ai_csv"]).set_index("codec").loc["webp", "mean"] == pytest.approx(got["mean"])


def test_the_command_names_the_missing_metrics(run_dir, tmp_path):
    from harness.analysis.jpegai import jpegai_table
    from harness.analysis.selection import ReportError, load_run

    rows = load_run(run_dir).drop(columns=["vif_y"])
    with pytest.raises(ReportError, match="vif_y.*--add vif"):
        jpegai_table(rows, "jpeg")
    done = subprocess.run([sys.executable, "-m", "harness.cli", "report", str(run_dir), "--anchor", "jpeg", "--jpeg-ai",
                           "--out", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "| webp |" in done.stdout and (tmp_path / "jpeg_ai.csv").is_file()
