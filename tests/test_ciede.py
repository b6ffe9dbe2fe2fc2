"""CIEDE2000: libvmaf's number against a numpy/scikit-image computation of its definition, and the plain mean
dE00 against colour-science (a second code base)."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image

from tests.conftest import KODAK

# libvmaf's ciede (libvmaf/src/feature/ciede.c): BT.709 limited 8-bit Y'CbCr decoded with its own matrix,
# sRGB curve with threshold 10/255, XYZ (D65) -> CIELAB, CIEDE2000 with kL = 0.65, kC = 1, kH = 4.
_XYZ = np.array([[0.4124564390896921, 0.357576077643909, 0.18043748326639894],
                 [0.21267285140562248, 0.715152155287818, 0.07217499330655958],
                 [0.019333895582329317, 0.119192025881303, 0.9503040785363677]])


def _lab_as_libvmaf(rgb: np.ndarray) -> np.ndarray:
    from skimage.color import xyz2lab

    from harness.core.colour import quantize_ycbcr, rgb_to_ycbcr

    codes = quantize_ycbcr(rgb_to_ycbcr(rgb / 255.0, "bt709"), 8, full_range=False).astype(np.float64)
    y, u, v = (codes[..., 0] - 16) / 219, (codes[..., 1] - 128) / 224, (codes[..., 2] - 128) / 224
    rgb_prime = np.stack([y + 1.28033 * v, y - 0.21482 * u - 0.38059 * v, y + 2.12798 * u], axis=-1)
    linear = np.where(rgb_prime > 10 / 255, ((np.maximum(rgb_prime, 0) + 0.055) / 1.055) ** 2.4, rgb_prime / 12.92)
    return xyz2lab(linear @ _XYZ.T)


def _jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


@pytest.fixture(scope="module")
def crop() -> np.ndarray:
    return np.asarray(Image.open(KODAK / "kodim23.png").convert("RGB"))[100:292, 200:456].copy()


@pytest.mark.parametrize("quality", [20, 80])
def test_libvmaf_ciede_equals_its_definition_and_the_mean_equals_colour_science(crop, quality):
    colour = pytest.importorskip("colour")
    from skimage.color import deltaE_ciede2000

    from harness.metrics import get_metric

    metric = get_metric("ciede2000")
    dist = _jpeg(crop, quality)
    got = metric.compute(crop, dist, metric.prepare(crop))
    mean_de = deltaE_ciede2000(_lab_as_libvmaf(crop), _lab_as_libvmaf(dist), kL=0.65, kC=1, kH=4).mean()
    assert got["ciede2000"] == pytest.approx(45 - 20 * math.log10(mean_de), abs=1e-4)  # measured: 4e-6 dB

    def lab(rgb: np.ndarray) -> np.ndarray:
        white = colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]["D65"]
        return colour.XYZ_to_Lab(colour.sRGB_to_XYZ(rgb / 255.0), white)

    # The dE00 formula itself: scikit-image and colour-science on the same Lab values.
    lab_ref, lab_dist = lab(crop), lab(dist)
    assert np.abs(deltaE_ciede2000(lab_ref, lab_dist) - colour.delta_E(lab_ref, lab_dist, method="CIE 2000")).max() < 1e-9
    # The whole chain (their sRGB -> Lab differ in the matrix's last digits): measured 2.9e-4 at quality 20.
    assert got["ciede2000_mean"] == pytest.approx(colour.delta_E(lab_ref, lab_dist, method="CIE 2000").mean(), abs=1e-3)


def test_ciede_orders_qualities_and_identical_images(crop):
    from harness.metrics import get_metric

    metric = get_metric("ciede2000")
    low = metric.compute(crop, _jpeg(crop, 20), None)
    high = metric.compute(crop, _jpeg(crop, 80), None)
    assert low["ciede2000"] < high["ciede2000"] and low["ciede2000_mean"] > high["ciede2000_mean"] > 0
    assert metric.compute(crop, crop.copy(), None) == {"ciede2000": math.inf, "ciede2000_mean": 0.0}
