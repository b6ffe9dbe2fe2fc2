"""SSIMULACRA2, Butteraugli and ColorVideoVDP against the official tools' values on the 24 calibration pairs
of ../shared/metrics-calibration/perceptual-extra (see its README for how each value was made).

The default run checks the six pairs of one reference (kodim15: its flat areas make SSIMULACRA2 most
sensitive to the official tool's float32 arithmetic); the slow run checks all 24."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harness.metrics import MetricError, get_metric
from tests.conftest import REPO, SHARED

CALIBRATION = SHARED / "metrics-calibration" / "perceptual-extra"
# column -> (metric, tolerance, relative?)
TOLERANCES = {
    "ssimulacra2": ("ssimulacra2", 0.05, False),
    "butteraugli_max": ("butteraugli", 1e-3, True),
    "butteraugli_pnorm3": ("butteraugli", 1e-3, True),
    "cvvdp_jod": ("cvvdp", 0.01, False),
}


def official_rows() -> list[dict[str, str]]:
    with open(CALIBRATION / "results.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@cache
def pixels(name: str) -> np.ndarray:
    return np.asarray(Image.open(CALIBRATION / name).convert("RGB"))


def max_error(metric_name: str, rows: list[dict[str, str]]) -> dict[str, float]:
    metric = get_metric(metric_name)
    worst: dict[str, float] = {}
    for row in rows:
        reference, distorted = pixels(row["reference"]), pixels(row["distorted"])
        values = metric.compute(reference, distorted, metric.prepare(reference))
        for column, value in values.items():
            official = float(row[column])
            _, tolerance, relative = TOLERANCES[column]
            error = abs(value - official) / (abs(official) if relative and official else 1.0)
            assert error <= tolerance, f"{row['distorted']} {column}: {value} vs official {official}"
            worst[column] = max(worst.get(column, 0.0), error)
    return worst


@pytest.mark.parametrize("metric_name", ["ssimulacra2", "butteraugli"])
def test_matches_official_on_one_reference(metric_name):
    rows = [row for row in official_rows() if "kodim15" in row["reference"]]
    assert len(rows) == 6
    worst = max_error(metric_name, rows)
    assert worst, "no column compared"


def test_cvvdp_matches_official_on_two_pairs():
    rows = [row for row in official_rows() if row["distorted"] in ("dist_kodim05_jpeg30.png", "dist_kodim05_identical.png")]
    worst = max_error("cvvdp", rows)
    assert worst["cvvdp_jod"] <= 0.01


@pytest.mark.slow
@pytest.mark.parametrize("metric_name", ["ssimulacra2", "butteraugli", "cvvdp"])
def test_matches_official_on_all_24_pairs(metric_name):
    rows = official_rows()
    assert len(rows) == 24
    worst = max_error(metric_name, rows)
    print(metric_name, worst)


def test_ssimulacra2_is_far_better_than_the_pypi_port():
    """The PyPI port's values are in the calibration folder: ours must be much closer to the official."""
    with open(CALIBRATION / "pypi_ssimulacra2_0.3.0.csv", newline="") as handle:
        port = list(csv.DictReader(handle))
    assert port, "empty port file"
    row = next(r for r in official_rows() if r["distorted"] == "dist_kodim01_jpeg10.png")
    metric = get_metric("ssimulacra2")
    ours = metric.compute(pixels(row["reference"]), pixels(row["distorted"]), None)["ssimulacra2"]
    assert abs(ours - float(row["ssimulacra2"])) < 0.05  # the port is 7.39 off on this pair


def test_colour_chunks_are_not_read(tmp_path: Path):
    """Butteraugli sees the harness's pixels as bare PNGs, so a gAMA chunk in the input file changes nothing."""
    from harness.core.images import load_image

    source = CALIBRATION / "ref_kodim01.png"
    with_gamma = tmp_path / "gamma.png"
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add(b"gAMA", (45455).to_bytes(4, "big"))
    Image.open(source).save(with_gamma, pnginfo=info)
    assert b"gAMA" in with_gamma.read_bytes()
    reference = load_image(with_gamma).pixels
    distorted = pixels("dist_kodim01_jpeg30.png")
    value = get_metric("butteraugli").compute(reference, distorted, None)["butteraugli_max"]
    assert value == pytest.approx(3.9098455906, rel=1e-6)  # the chunk-free official value, not 3.9212


def test_ssimulacra2_small_images_and_errors():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    noisy = np.clip(image.astype(int) + rng.integers(-20, 21, image.shape), 0, 255).astype(np.uint8)
    metric = get_metric("ssimulacra2")
    assert metric.compute(image, image, None)["ssimulacra2"] == 100.0
    assert metric.compute(image, noisy, None)["ssimulacra2"] < 90.0
    with pytest.raises(MetricError, match="differs"):
        metric.compute(image, image[:10], None)
    with pytest.raises(MetricError, match="8x8"):
        metric.compute(image[:7], image[:7], None)
    odd = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)  # odd sizes: edge rows repeat when halving
    value = metric.compute(odd, np.clip(odd.astype(int) + 3, 0, 255).astype(np.uint8), None)["ssimulacra2"]
    assert np.isfinite(value) and value < 100


def test_metric_options_are_parsed():
    assert get_metric("cvvdp").column == "cvvdp_jod"
    other = get_metric("cvvdp:display=standard_fhd")
    assert other.column == "cvvdp_jod_standard_fhd" and other.columns[0].name == other.column
    with pytest.raises(MetricError, match="does not take"):
        get_metric("psnr:display=x")
    with pytest.raises(MetricError, match="key=value"):
        get_metric("cvvdp:standard_fhd")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, timeout=600,
                          cwd=REPO, check=False)


def test_compare_prints_the_official_numbers():
    row = next(r for r in official_rows() if r["distorted"] == "dist_kodim23_jpeg60.png")
    ref, dist = str(CALIBRATION / row["reference"]), str(CALIBRATION / row["distorted"])
    done = _cli("compare", ref, dist, "--metrics", "ssimulacra2,butteraugli,psnr", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["errors"] == [] and (result["width"], result["height"]) == (256, 256)
    values = result["values"]
    assert values["ssimulacra2"] == pytest.approx(float(row["ssimulacra2"]), abs=0.05)
    assert values["butteraugli_max"] == pytest.approx(float(row["butteraugli_max"]), rel=1e-3)
    assert values["butteraugli_pnorm3"] == pytest.approx(float(row["butteraugli_pnorm3"]), rel=1e-3)
    assert result["better"]["butteraugli_max"] == "lower" and result["better"]["ssimulacra2"] == "higher"
    # The table shows the same numbers (10 significant digits).
    table = _cli("compare", ref, dist, "--metrics", "ssimulacra2,butteraugli")
    assert table.returncode == 0, table.stderr
    assert f"{values['ssimulacra2']:.10g}" in table.stdout
    assert f"{values['butteraugli_max']:.10g}" in table.stdout
    # identical images: PSNR is +inf, written as a string in JSON
    same = json.loads(_cli("compare", ref, ref, "--metrics", "psnr", "--json").stdout)
    assert same["values"]["psnr_rgb"] == "inf"


def test_compare_errors_are_one_line(tmp_path: Path):
    ref = str(CALIBRATION / "ref_kodim01.png")
    small = tmp_path / "small.png"
    Image.fromarray(pixels("ref_kodim01.png")[:128]).save(small)
    done = _cli("compare", ref, str(small), "--metrics", "psnr")
    assert done.returncode == 2 and "differs" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    done = _cli("compare", ref, ref, "--metrics", "nosuch")
    assert done.returncode == 2 and "unknown metric" in done.stderr


def test_metric_device_choice(monkeypatch):
    import torch

    from harness.core.torchsetup import DEVICE_VARIABLE, metric_device

    monkeypatch.delenv(DEVICE_VARIABLE, raising=False)
    assert metric_device("cpu") == "cpu"
    assert metric_device() == ("cuda" if torch.cuda.is_available() else "cpu")
    monkeypatch.setenv(DEVICE_VARIABLE, "cpu")
    assert metric_device() == "cpu"
    with pytest.raises(ValueError, match="not one of"):
        metric_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            metric_device("cuda")


def test_compare_on_cpu_device_gives_the_same_lpips():
    ref, dist = str(CALIBRATION / "ref_kodim05.png"), str(CALIBRATION / "dist_kodim05_jpeg30.png")
    default = json.loads(_cli("compare", ref, dist, "--metrics", "lpips", "--json").stdout)
    on_cpu = json.loads(_cli("compare", ref, dist, "--metrics", "lpips", "--json", "--device", "cpu").stdout)
    assert on_cpu["errors"] == [] and on_cpu["values"]["lpips_alex"] == pytest.approx(default["values"]["lpips_alex"], abs=1e-6)
