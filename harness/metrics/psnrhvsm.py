"""PSNR-HVS-M and PSNR-HVS (Ponomarenko et al. 2006/2007) on BT.709 luma, through the ``psnr-hvsm`` package.

``psnr_hvs_m_y`` and ``psnr_hvs_y`` (dB): the package's ``hvs_hvsm_mse`` (8x8 DCT blocks stepping 8, the CSF
weights and, for -M, the contrast-masking model of the original MATLAB ``psnrhvsm.m``) on the full-range
BT.709 Y' rounded to 8 bits, in [0, 1], each plane first padded to a multiple of 8 by repeating its last
row and column, as the JPEG AI quality framework does. Identical images give +inf (the package returns a
capped 100 dB; as for PSNR the harness stores no cap). Checked against a separate loop-per-block
implementation of ``psnrhvsm.m`` (scripts/jpegai_calibration.py, tests/test_jpegai_metrics.py).
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from harness.metrics import register
from harness.metrics.base import Column
from harness.metrics.jpegai_luma import LumaMetric


@functools.cache
def _hvs_hvsm_mse() -> Callable[[np.ndarray, np.ndarray], tuple[Any, Any]]:
    with contextlib.redirect_stdout(io.StringIO()):  # the package prints which optional backends it lacks
        from psnr_hvsm.numpy import hvs_hvsm_mse
    return hvs_hvsm_mse


def pad8(plane: np.ndarray) -> np.ndarray:
    height, width = plane.shape
    return np.pad(plane, ((0, -height % 8), (0, -width % 8)), mode="edge")


def _db(mse: float) -> float:
    return math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse)


def psnr_hvs_of_planes(reference: np.ndarray, distorted: np.ndarray) -> tuple[float, float]:
    """(PSNR-HVS-M, PSNR-HVS) of two 8-bit code planes (0..255 floats)."""
    with np.errstate(divide="ignore", invalid="ignore"):  # flat blocks: the package's own 0/0, masked by np.where
        hvs, hvsm = _hvs_hvsm_mse()(pad8(reference) / 255.0, pad8(distorted) / 255.0)
    return _db(float(hvsm)), _db(float(hvs))


@register
class PsnrHvsM(LumaMetric):
    name = "psnr_hvs_m"
    description = "PSNR-HVS-M and PSNR-HVS (psnr-hvsm package) on BT.709 luma rounded to 8 bits; +inf when identical"
    columns = (Column("psnr_hvs_m_y", "PSNR-HVS-M (Y')", "dB"), Column("psnr_hvs_y", "PSNR-HVS (Y')", "dB"))

    def values(self, reference, reconstruction):
        return psnr_hvs_of_planes(reference, reconstruction)
