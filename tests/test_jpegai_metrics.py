"""The JPEG AI metric set (VIF, FSIMc, NLPD, IW-SSIM, PSNR-HVS-M): each against its reference on the calibration
pairs, and through the registry on a Kodak crop.

References: VIF, FSIMc and NLPD against the official MATLAB values shipped with the calibration pairs (computed
there on MATLAB's BT.601 grey, so the harness functions are handed that plane here); IW-SSIM and PSNR-HVS-M
against the separate implementations of scripts/jpegai_calibration.py (values in tests/data/jpegai_calibration.json).
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import KODAK, REPO, SHARED

CALIBRATION = SHARED / "metrics-calibration"
FILES = ("I03.bmp", "I04.bmp", "I06.bmp", "I08.bmp", "I19.bmp")
# Two pairs (a strong and a faint distortion) in the default run, all five with -m slow.
PAIRS = [name if name in ("I03.bmp", "I06.bmp") else pytest.param(name, marks=pytest.mark.slow) for name in FILES]
# Stated tolerances (absolute): the official values are printed to 4 significant decimals.
TOLERANCE = {"vif": 5e-4, "fsim": 2e-4, "nlpd": 1.5e-3, "iw_ssim_y": 1e-4, "psnr_hvs_m_y": 1e-9, "psnr_hvs_y": 1e-9}


def _rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _pair(name: str) -> tuple[np.ndarray, np.ndarray]:
    return _rgb(CALIBRATION / "ref_dir" / name), _rgb(CALIBRATION / "dist_dir" / name)


def _grey601(rgb: np.ndarray) -> np.ndarray:
    """MATLAB's rgb2gray of uint8 RGB (the plane the official values were computed on)."""
    return np.rint(rgb.astype(np.float64) @ np.array([0.298936021293775, 0.587043074451121, 0.114020904255103]))


def _official() -> dict[str, dict[str, float]]:
    with (CALIBRATION / "results_official.csv").open() as handle:
        rows = list(csv.reader(handle))
    return {row[0]: dict(zip(rows[0][1:], map(float, row[1:]))) for row in rows[1:]}


def _committed() -> dict[str, dict[str, float]]:
    return json.loads((REPO / "tests" / "data" / "jpegai_calibration.json").read_text())["values"]


@pytest.mark.parametrize("name", PAIRS)
def test_vif_fsim_nlpd_equal_the_official_matlab_values(name):
    from harness.metrics.fsim import fsimc
    from harness.metrics.nlpd import nlpd_of_planes
    from harness.metrics.vif import vif_of_planes

    official = _official()
    ref, dist = _pair(name)
    got = {"vif": vif_of_planes(_grey601(ref), _grey601(dist)), "fsim": fsimc(ref, dist),
           "nlpd": nlpd_of_planes(_grey601(ref), _grey601(dist))}
    for metric, value in got.items():
        assert abs(value - official[metric][name]) <= TOLERANCE[metric], (metric, name, value, official[metric][name])


@pytest.mark.parametrize("name", PAIRS)
def test_iw_ssim_and_psnr_hvs_m_equal_the_separate_implementations(name):
    from harness.metrics.iwssim import iw_ssim_of_planes
    from harness.metrics.jpegai_luma import luma8
    from harness.metrics.psnrhvsm import psnr_hvs_of_planes

    committed = _committed()
    ref, dist = (luma8(image) for image in _pair(name))
    hvsm, hvs = psnr_hvs_of_planes(ref, dist)
    got = {"iw_ssim_y": iw_ssim_of_planes(ref, dist), "psnr_hvs_m_y": hvsm, "psnr_hvs_y": hvs}
    for column, value in got.items():
        assert abs(value - committed[column][name]) <= TOLERANCE[column], (column, name, value, committed[column][name])


def test_the_committed_references_recompute():
    """The script's implementations give the committed values (on the cheapest pair)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("jpegai_calibration", REPO / "scripts" / "jpegai_calibration.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from harness.metrics.jpegai_luma import luma8
    from harness.metrics.psnrhvsm import pad8

    committed = _committed()
    ref, dist = (luma8(image) for image in _pair("I06.bmp"))
    assert module.iw_ssim_reference(ref, dist) == pytest.approx(committed["iw_ssim_y"]["I06.bmp"], abs=1e-12)
    assert module.psnr_hvs_m_reference(pad8(ref), pad8(dist))[0] == pytest.approx(committed["psnr_hvs_m_y"]["I06.bmp"], abs=1e-9)


def _jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


def test_the_set_through_the_registry_orders_qualities_and_is_exact_on_identical_images():
    from harness.metrics import MetricSuite, column_info

    ref = _rgb(KODAK / "kodim23.png")[100:292, 200:456].copy()  # 192x256: IW-SSIM's five scales fit
    suite = MetricSuite(("vif", "fsim", "nlpd", "iw_ssim", "psnr_hvs_m"))
    low, _ = suite.evaluate("kodim23", ref, _jpeg(ref, 20))
    high, _ = suite.evaluate("kodim23", ref, _jpeg(ref, 80))
    same, errors = suite.evaluate("kodim23", ref, ref.copy())
    assert not errors
    for column in ("vif_y", "fsimc", "nlpd_y", "iw_ssim_y", "psnr_hvs_m_y", "psnr_hvs_y"):
        better = column_info(column).higher_is_better
        assert (high[column] > low[column]) == better, (column, low[column], high[column])
    assert same["vif_y"] == pytest.approx(1.0, abs=1e-5) and same["fsimc"] == pytest.approx(1.0, abs=1e-5)  # float32
    assert same["iw_ssim_y"] == pytest.approx(1.0, abs=1e-9) and same["nlpd_y"] == 0.0
    assert same["psnr_hvs_m_y"] == math.inf and same["psnr_hvs_y"] == math.inf
    assert 25 < low["psnr_hvs_m_y"] < high["psnr_hvs_m_y"] < 60


def test_small_images_have_no_iw_ssim():
    from harness.metrics import get_metric

    ref = _rgb(KODAK / "kodim23.png")[:128, :128].copy()
    assert get_metric("iw_ssim").compute(ref, ref, None) == {"iw_ssim_y": None}


def test_ms_ssim_y709_equals_ms_ssim_rgb_on_a_grey_image():
    from harness.metrics import get_metric

    grey = np.asarray(Image.open(KODAK / "kodim23.png").convert("L"))[100:292, 200:456]
    ref = np.repeat(grey[..., None], 3, axis=2)
    dist = _jpeg(ref, 30)
    dist = np.repeat(dist.mean(axis=2).round().astype(np.uint8)[..., None], 3, axis=2)  # grey again
    y709 = get_metric("ms_ssim_y709").compute(ref, dist, None)["ms_ssim_y709"]
    rgb = get_metric("ms_ssim").compute(ref, dist, None)["ms_ssim_rgb"]
    assert 0.8 < y709 < 1 and y709 == pytest.approx(rgb, abs=1e-6)
    assert get_metric("ms_ssim_y709").compute(ref[:128, :128], ref[:128, :128], None) == {"ms_ssim_y709": None}
